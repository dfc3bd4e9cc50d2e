// Cgroup storage: bpf_get_local_storage in a cgroup_skb program's test runs against the kernel's (each
// BPF_PROG_TEST_RUN a fresh storage, shared by its repeats), and the userspace attach model (one storage per
// cgroup and attach type, newest first, user-side reads and writes with the kernel's flag rules).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHelperEnv } from '../../src/ctx/helpers/env.js';
import { localStorageHelpers } from '../../src/ctx/helpers/local-storage-helpers.js';
import { loadObject } from '../../src/elf/index.js';
import { BpfMapType, BpfUpdateFlags } from '../../src/isa/uapi.generated.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import { CgroupStorageMap } from '../../src/maps/cgroup-storage.js';
import { MapErrno } from '../../src/maps/errors.js';
import { createMap } from '../../src/maps/registry.js';
import { buildUdp } from '../../src/packet/index.js';
import { loadUserspace, type UserspaceObject } from '../../src/runtime/index.js';
import { AddressSpace } from '../../src/vm/address-space.js';
import { kernelTest, u32, u64 } from '../kernel/harness.js';
import { mapsMoreObject } from './maps-more.js';

/** cg_count in userspace with bpf_get_local_storage supplied (the prototype table lacks it for cgroup_skb: see the report). */
function userCgCount(cpus = 1): UserspaceObject {
  const holder: { obj?: UserspaceObject } = {};
  const env = createHelperEnv({ mapByAddress: (a) => holder.obj?.mapByAddress(a) });
  Object.defineProperty(env, 'cpu', { get: () => holder.obj?.state.cpu ?? 0, set: () => {} });
  holder.obj = loadUserspace(loadObject(mapsMoreObject(), { objectName: 'maps_more' }), { cpus, programs: ['cg_count'], verify: false, helpers: localStorageHelpers(env) });
  return holder.obj;
}

const u64of = (b: Uint8Array | undefined): bigint => (b ? new DataView(b.buffer, b.byteOffset).getBigUint64(0, true) : -1n);

kernelTest('bpf_get_local_storage in cgroup_skb test runs: a fresh storage per BPF_PROG_TEST_RUN, kept across its repeats, as the kernel', (sys) => {
  using kernel = loadKernelObject(sys, loadObject(mapsMoreObject(), { objectName: 'maps_more' }));
  using user = userCgCount();
  const data = buildUdp({ src: '10.1.0.1', dst: '10.1.0.2', sport: 7, dport: 9, payload: 'cgroup storage' });
  let runs = 0;
  for (const repeat of [1, 1, 3, 1, 5]) {
    const k = kernel.program('cg_count').testRun({ dataIn: data, repeat });
    const u = user.program('cg_count').testRun({ data, repeat });
    assert.equal(u.retval, k.retval);
    for (const key of [0, 1]) assert.equal(u64of(user.bpfMap('cg_out').get(u32(key))), u64of(kernel.map('cg_out').get(u32(key))), `repeat ${repeat}: cg_out[${key}]`);
    assert.equal(u64of(user.bpfMap('cg_out').get(u32(0))), BigInt(repeat), 'packets counted in this test run only');
    // Test-run storages are linked into no map: user space sees none, on both sides.
    assert.equal([...kernel.map('cg_store').keys()].length, 0);
    assert.equal([...user.bpfMap('cg_store').keys()].length, 0);
    runs++;
  }
  assert.equal(runs, 5);
});

test('cgroup storage attach model: one storage per cgroup and attach type, newest first, the kernel flag rules', () => {
  const space = new AddressSpace();
  const m = createMap({ name: 'cg', type: BpfMapType.CGROUP_STORAGE, keySize: 16, valueSize: 8, maxEntries: 0, flags: 0 }, { space, cpus: 1 }) as CgroupStorageMap;
  const k1 = m.attach(100n, 0);
  const k2 = m.attach(100n, 1);
  const k3 = m.attach(200n, 0);
  assert.deepEqual(m.attach(100n, 0), k1, 'the same cgroup and attach type share one storage');
  assert.equal(m.count(), 3);
  assert.deepEqual([m.nextKey(undefined), m.nextKey(k3), m.nextKey(k2), m.nextKey(k1)], [k3, k2, k1, undefined], 'newest first');
  assert.equal(m.nextKey(new Uint8Array(16)), undefined, 'an absent key: ENOENT');
  m.select(100n, 1);
  const addr = m.localStorage(0);
  space.write(addr, u64(42));
  assert.deepEqual(m.read(k2), u64(42), 'the program wrote the selected storage');
  assert.deepEqual(m.read(k1), u64(0));
  assert.equal(m.write(k1, u64(7), BpfUpdateFlags.ANY), 0);
  assert.equal(m.write(k1, u64(7), BpfUpdateFlags.NOEXIST), -MapErrno.EINVAL);
  assert.equal(m.write(new Uint8Array(16), u64(7), BpfUpdateFlags.ANY), -MapErrno.ENOENT, 'storages come from attach only');
  assert.equal(m.delete(k1, 0), -MapErrno.EINVAL);
  assert.ok(m.detach(100n, 1));
  assert.equal(m.read(k2), undefined);
  // key_size 8: one storage per cgroup whatever the attach type.
  const shared = createMap({ name: 'cg8', type: BpfMapType.CGROUP_STORAGE, keySize: 8, valueSize: 4, maxEntries: 0, flags: 0 }, { space, cpus: 1 }) as CgroupStorageMap;
  assert.deepEqual(shared.attach(5n, 0), shared.attach(5n, 3));
  assert.equal(shared.count(), 1);
  // Per-CPU: one slot per CPU, 8-byte padded in the syscall layout; only BPF_ANY / BPF_EXIST.
  const pc = createMap({ name: 'pc', type: BpfMapType.PERCPU_CGROUP_STORAGE, keySize: 16, valueSize: 4, maxEntries: 0, flags: 0 }, { space, cpus: 3 }) as CgroupStorageMap;
  const pk = pc.attach(9n, 2);
  space.write(pc.localStorage(2), u32(0xabcd));
  assert.deepEqual(pc.read(pk), Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xcd, 0xab, 0, 0, 0, 0, 0, 0]));
  assert.equal(pc.write(pk, new Uint8Array(24), 4), -MapErrno.EINVAL, 'BPF_F_LOCK on a per-CPU storage');
  assert.equal(pc.write(pk, new Uint8Array(24), BpfUpdateFlags.EXIST), 0);
  // A fresh test-run storage is linked nowhere and starts zeroed.
  pc.testRunStorage();
  assert.deepEqual(space.read(pc.localStorage(2), 4), new Uint8Array(4));
  assert.equal(pc.count(), 1);
});
