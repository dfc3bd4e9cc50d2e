// Socket storage: bpf_sk_storage_get (create from an initial value, bad flags) and bpf_sk_storage_delete on a tc
// test run's socket, against the kernel's BPF_PROG_TEST_RUN (a new socket per test run, kept across its repeats);
// user-side operations in userspace (no socket fds).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHelperEnv } from '../../src/ctx/helpers/env.js';
import { skStorageHelpers } from '../../src/ctx/helpers/sk-storage-helpers.js';
import { loadObject } from '../../src/elf/index.js';
import { BpfMapFlags, BpfMapType } from '../../src/isa/uapi.generated.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import { MapErrno } from '../../src/maps/errors.js';
import { createMap } from '../../src/maps/registry.js';
import { SkStorageMap, SocketStorageUpdateError } from '../../src/maps/sk-storage.js';
import { buildUdp } from '../../src/packet/index.js';
import { loadUserspace, type UserspaceObject } from '../../src/runtime/index.js';
import { AddressSpace } from '../../src/vm/address-space.js';
import { kernelTest, u32 } from '../kernel/harness.js';
import { mapsMoreObject } from './maps-more.js';

/** tc_sk in userspace with the socket storage helpers supplied (the prototype table lacks them for tc: see the report). */
function userTcSk(): UserspaceObject {
  const holder: { obj?: UserspaceObject } = {};
  const env = createHelperEnv({ mapByAddress: (a) => holder.obj?.mapByAddress(a) });
  holder.obj = loadUserspace(loadObject(mapsMoreObject(), { objectName: 'maps_more' }), { programs: ['tc_sk'], verify: false, helpers: skStorageHelpers(env) });
  return holder.obj;
}

const s64 = (b: Uint8Array | undefined): bigint => (b ? new DataView(b.buffer, b.byteOffset).getBigInt64(0, true) : -999n);

kernelTest('bpf_sk_storage_get/delete on a tc test run\'s socket: created from the initial value, counted across repeats, deleted once, as the kernel', (sys) => {
  using kernel = loadKernelObject(sys, loadObject(mapsMoreObject(), { objectName: 'maps_more' }));
  using user = userTcSk();
  const small = buildUdp({ src: '10.5.0.1', dst: '10.5.0.2', sport: 1, dport: 2, payload: 'sk' });
  const big = buildUdp({ src: '10.5.0.1', dst: '10.5.0.2', sport: 1, dport: 2, payload: 'x'.repeat(300) });
  let runs = 0;
  for (const [data, repeat] of [[small, 1], [small, 1], [small, 4], [big, 1], [big, 3], [small, 2]] as const) {
    for (const key of [0, 1, 2, 3]) {
      kernel.map('sk_out').set(u32(key), new Uint8Array(8).fill(0xee));
      user.bpfMap('sk_out').set(u32(key), new Uint8Array(8).fill(0xee));
    }
    const k = kernel.program('tc_sk').testRun({ dataIn: data, repeat });
    const u = user.program('tc_sk').testRun({ data, repeat });
    assert.equal(u.retval, k.retval);
    for (const key of [0, 1, 2, 3]) assert.equal(s64(user.bpfMap('sk_out').get(u32(key))), s64(kernel.map('sk_out').get(u32(key))), `${data.length} bytes x${repeat}: sk_out[${key}]`);
    runs++;
  }
  assert.equal(s64(kernel.map('sk_out').get(u32(0))), 102n, 'a fresh socket per test run: 100 + 2 repeats');
  assert.equal(runs, 6);
});

test('socket storage from user space: nothing to read, deletes EBADF, updates a typed NotSupportedError; program-side storages by owner', () => {
  const m = createMap({ name: 'sk', type: BpfMapType.SK_STORAGE, keySize: 4, valueSize: 8, maxEntries: 0, flags: BpfMapFlags.NO_PREALLOC, btfKeyTypeId: 1, btfValueTypeId: 2 }, { space: new AddressSpace(), cpus: 1 }) as SkStorageMap;
  assert.equal(m.read(u32(3)), undefined);
  assert.equal(m.delete(u32(3), 0), -MapErrno.EBADF);
  assert.throws(() => m.write(u32(3), new Uint8Array(8), 0), (e: unknown) => e instanceof SocketStorageUpdateError && e.code === 'ERR_NOT_SUPPORTED' && /sk_storage "sk"/.test(e.message));
  assert.equal(m.nextKey(undefined), undefined);
  assert.equal(m.storage(0x1000, false), 0);
  const a = m.storage(0x1000, true, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
  assert.notEqual(a, 0);
  assert.equal(m.storage(0x1000, true), a, 'one value per socket');
  assert.equal(m.count(), 1);
  assert.equal(m.remove(0x1000), 0);
  assert.equal(m.remove(0x1000), -MapErrno.ENOENT);
});
