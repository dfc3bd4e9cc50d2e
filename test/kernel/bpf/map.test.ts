// Maps against the real kernel: element ops, iteration, per-CPU values, batches, freeze, ids, pins — checked with bpftool.
import assert from 'node:assert/strict';
import diagnosticsChannel from 'node:diagnostics_channel';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpfCmd, MapType, UpdateFlags } from '../../../src/kernel/bpf/constants.js';
import { InvalidKeySizeError, InvalidValueSizeError } from '../../../src/kernel/bpf/input-errors.js';
import { lookupBatch, lookupAndDeleteBatch, updateBatch, deleteBatch } from '../../../src/kernel/bpf/map-batch.js';
import { createMap } from '../../../src/kernel/bpf/map-create.js';
import { deleteElem, freezeMap, keys, lookupAndDeleteElem, lookupElem, nextKey, updateElem } from '../../../src/kernel/bpf/map-elem.js';
import { joinPerCpu, parseCpuList, possibleCpus, splitPerCpu } from '../../../src/kernel/bpf/map-fd.js';
import { fdById, ids, mapFdById, nextId } from '../../../src/kernel/bpf/obj-id.js';
import { mapInfo } from '../../../src/kernel/bpf/obj-info.js';
import { getPinnedObject, openPinnedMap, pinObject } from '../../../src/kernel/bpf/obj-pin.js';
import { readFileSync } from 'node:fs';
import { KernelError } from '../../../src/kernel/kernel-error.js';
import { bpftool, kernelTest, u32, u64 } from '../harness.js';

interface DumpEntry {
  key: string[];
  value?: string[];
  values?: { cpu: number; value: string[] }[];
}

const hexBytes = (b: Uint8Array): string[] => [...b].map((x) => `0x${x.toString(16).padStart(2, '0')}`);

kernelTest('hash map: update / lookup / delete / iterate, compared with bpftool map dump', (sys) => {
  using map = createMap(sys, { type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 64, name: 'bk_hash' });
  for (let i = 1; i <= 10; i++) updateElem(map, u32(i), u64(BigInt(i) * 1000n));
  assert.deepEqual(lookupElem(map, u32(3)), u64(3000));
  assert.equal(lookupElem(map, u32(99)), undefined, 'a missing key is undefined, not an error');
  assert.equal(deleteElem(map, u32(10)), true);
  assert.equal(deleteElem(map, u32(10)), false);

  const info = mapInfo(map);
  assert.equal(info.name, 'bk_hash');
  assert.equal(info.type, MapType.HASH);
  const dump = bpftool('map', 'dump', 'id', String(info.id)) as DumpEntry[];
  const ours = [...keys(map)].map((k) => ({ key: hexBytes(k), value: hexBytes(lookupElem(map, k) as Uint8Array) }));
  const sort = (xs: { key: string[] }[]) => [...xs].sort((a, b) => a.key.join().localeCompare(b.key.join()));
  assert.equal(ours.length, 9);
  assert.deepEqual(sort(ours), sort(dump.map((e) => ({ key: e.key, value: e.value ?? [] }))));
});

kernelTest('update flags: NOEXIST on a present key is EEXIST, EXIST on an absent one ENOENT', (sys) => {
  using map = createMap(sys, { type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 4 });
  updateElem(map, u32(1), u32(1), UpdateFlags.NOEXIST);
  assert.throws(() => updateElem(map, u32(1), u32(2), UpdateFlags.NOEXIST), (e: unknown) => e instanceof KernelError && e.errnoName === 'EEXIST' && e.op === 'bpf(BPF_MAP_UPDATE_ELEM)');
  assert.throws(() => updateElem(map, u32(2), u32(2), UpdateFlags.EXIST), (e: unknown) => e instanceof KernelError && e.errnoName === 'ENOENT');
  updateElem(map, u32(1), u32(7), UpdateFlags.EXIST);
  assert.deepEqual(lookupElem(map, u32(1)), u32(7));
  assert.deepEqual(lookupAndDeleteElem(map, u32(1)), u32(7));
  assert.equal(lookupElem(map, u32(1)), undefined);
  assert.equal(lookupAndDeleteElem(map, u32(1)), undefined);
});

kernelTest('array map: every index exists, out of range is E2BIG on update and undefined on lookup', (sys) => {
  using map = createMap(sys, { type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 4, name: 'bk_array' });
  assert.deepEqual(lookupElem(map, u32(3)), u32(0));
  assert.equal(lookupElem(map, u32(4)), undefined);
  updateElem(map, u32(2), u32(0xdeadbeef));
  assert.throws(() => updateElem(map, u32(4), u32(1)), (e: unknown) => e instanceof KernelError && e.errnoName === 'E2BIG');
  assert.throws(() => deleteElem(map, u32(0)), (e: unknown) => e instanceof KernelError && e.errnoName === 'EINVAL', 'array elements cannot be deleted');
  assert.deepEqual([...keys(map)].map((k) => new DataView(k.buffer).getUint32(0, true)), [0, 1, 2, 3]);
  assert.equal(nextKey(map, u32(3)), undefined);
  const dump = bpftool('map', 'dump', 'id', String(mapInfo(map).id)) as DumpEntry[];
  assert.deepEqual(dump[2]?.value, hexBytes(u32(0xdeadbeef)));
});

kernelTest('wrong key or value size is a typed error before any syscall', (sys) => {
  using map = createMap(sys, { type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 4 });
  const before = sys.count(BpfCmd.MAP_UPDATE_ELEM) + sys.count(BpfCmd.MAP_LOOKUP_ELEM);
  assert.throws(() => lookupElem(map, new Uint8Array(3)), (e: unknown) => e instanceof InvalidKeySizeError && e.size === 3 && e.expected === 4 && e.code === 'ERR_INVALID_KEY_SIZE');
  assert.throws(() => updateElem(map, u32(1), u32(1)), (e: unknown) => e instanceof InvalidValueSizeError && e.size === 4 && e.expected === 8);
  assert.equal(sys.count(BpfCmd.MAP_UPDATE_ELEM) + sys.count(BpfCmd.MAP_LOOKUP_ELEM), before);
});

kernelTest('per-CPU array: one 8-byte-padded slot per possible CPU', (sys) => {
  const text = readFileSync('/sys/devices/system/cpu/possible', 'utf8');
  const ncpu = parseCpuList(text);
  assert.equal(possibleCpus(sys), ncpu);
  using map = createMap(sys, { type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, name: 'bk_percpu' });
  assert.equal(map.syscallValueSize(), 8 * ncpu);
  const perCpu = Array.from({ length: ncpu }, (_, cpu) => u32(0x100 + cpu));
  updateElem(map, u32(1), joinPerCpu(perCpu, 4));
  const got = splitPerCpu(lookupElem(map, u32(1)) as Uint8Array, 4);
  assert.deepEqual(got, perCpu);
  assert.throws(() => updateElem(map, u32(1), u32(1)), InvalidValueSizeError);
  const dump = bpftool('map', 'dump', 'id', String(mapInfo(map).id)) as DumpEntry[];
  assert.deepEqual(dump[1]?.values?.map((v) => v.value), perCpu.map(hexBytes));
});

kernelTest('batch ops: update, lookup in pages, lookup-and-delete, delete', (sys) => {
  using map = createMap(sys, { type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 128 });
  const ks = Array.from({ length: 50 }, (_, i) => u32(i + 1));
  const vs = ks.map((_, i) => u32((i + 1) * 3));
  assert.equal(updateBatch(map, ks, vs), 50);
  assert.equal(sys.count(BpfCmd.MAP_UPDATE_BATCH), 1);
  const seen = new Map<number, number>();
  let cursor;
  let pages = 0;
  do {
    const page = lookupBatch(map, 16, cursor);
    page.keys.forEach((k, i) => seen.set(new DataView(k.buffer).getUint32(0, true), new DataView((page.values[i] as Uint8Array).buffer).getUint32(0, true)));
    cursor = page.next;
    pages++;
  } while (cursor);
  assert.equal(seen.size, 50);
  for (let i = 1; i <= 50; i++) assert.equal(seen.get(i), i * 3);
  assert.ok(pages >= 4, `50 elements in pages of 16 took ${pages} calls`);
  assert.equal(deleteBatch(map, ks.slice(0, 10)), 10);
  const drained = lookupAndDeleteBatch(map, 128);
  assert.equal(drained.keys.length, 40);
  assert.equal(drained.next, undefined);
  assert.equal(nextKey(map), undefined, 'the map is empty');
  assert.throws(() => updateBatch(map, [u32(1), new Uint8Array(2)], [u32(1), u32(1)]), /key 1: key is 2 bytes/);
});

kernelTest('freeze: a frozen map refuses updates from user space with EPERM', (sys) => {
  using map = createMap(sys, { type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
  updateElem(map, u32(0), u32(5));
  freezeMap(map);
  assert.throws(
    () => updateElem(map, u32(0), u32(6)),
    (e: unknown) => e instanceof KernelError && e.errnoName === 'EPERM' && e.op === 'bpf(BPF_MAP_UPDATE_ELEM)' && /frozen/.test(e.message),
  );
  assert.deepEqual(lookupElem(map, u32(0)), u32(5));
  const show = bpftool('map', 'show', 'id', String(mapInfo(map).id)) as { frozen?: number };
  assert.equal(show.frozen, 1);
});

kernelTest('get next id / get fd by id round trip; a missing id is ENOENT', (sys) => {
  using map = createMap(sys, { type: MapType.HASH, keySize: 8, valueSize: 2, maxEntries: 3, name: 'bk_byid' });
  const { id } = mapInfo(map);
  assert.ok([...ids(sys, 'map')].includes(id));
  assert.ok((nextId(sys, 'map', id - 1) ?? Infinity) <= id);
  updateElem(map, u64(1), new Uint8Array([1, 2]));
  using again = mapFdById(sys, id);
  assert.deepEqual(again.attributes, map.attributes);
  assert.notEqual(again.raw, map.raw);
  assert.deepEqual(lookupElem(again, u64(1)), new Uint8Array([1, 2]));
  assert.throws(() => fdById(sys, 'map', 0x7fff_fff0), (e: unknown) => e instanceof KernelError && e.errnoName === 'ENOENT' && e.op === 'bpf(BPF_MAP_GET_FD_BY_ID)');
  assert.equal(nextId(sys, 'map', 0x7fff_fff0), undefined);
  assert.throws(() => nextId(sys, 'map', 0xffff_fff0), (e: unknown) => e instanceof KernelError && e.errnoName === 'EINVAL', 'ids >= INT_MAX are EINVAL');
});

kernelTest('pin to a private bpffs and reopen with obj get', (sys) => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-bpffs-'));
  execFileSync('mount', ['-t', 'bpf', 'bpf', dir]);
  try {
    using map = createMap(sys, { type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, name: 'bk_pinned' });
    updateElem(map, u32(1), u32(77));
    const path = join(dir, 'm');
    pinObject(map, path);
    assert.throws(() => pinObject(map, path), (e: unknown) => e instanceof KernelError && e.errnoName === 'EEXIST' && e.message.startsWith(`pin map fd ${map.raw} at ${path}: `));
    using reopened = openPinnedMap(sys, path);
    assert.equal(mapInfo(reopened).id, mapInfo(map).id);
    assert.deepEqual(lookupElem(reopened, u32(1)), u32(77));
    using generic = getPinnedObject(sys, path, 'map');
    assert.equal(generic.kind, 'map');
    assert.throws(() => getPinnedObject(sys, join(dir, 'nope'), 'map'), (e: unknown) => e instanceof KernelError && e.errnoName === 'ENOENT');
  } finally {
    execFileSync('umount', [dir]);
    rmSync(dir, { recursive: true });
  }
});

kernelTest('EINVAL: an impossible map is a KernelError naming the command', (sys) => {
  assert.throws(
    () => createMap(sys, { type: MapType.HASH, keySize: 0, valueSize: 4, maxEntries: 1 }),
    (e: unknown) => e instanceof KernelError && e.errnoName === 'EINVAL' && e.message === 'bpf(BPF_MAP_CREATE): EINVAL: invalid argument',
  );
});

kernelTest('bpfkit:map:update publishes each successful update (diagnostics_channel), not failed ones', (sys) => {
  using map = createMap(sys, { type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 1, name: 'bk_trace' });
  const seen: { fd: number; key: Uint8Array; value: Uint8Array; flags: number }[] = [];
  const onUpdate = (msg: unknown) => seen.push(msg as (typeof seen)[number]);
  diagnosticsChannel.subscribe('bpfkit:map:update', onUpdate);
  try {
    updateElem(map, new Uint8Array([1, 0, 0, 0]), new Uint8Array([9, 0, 0, 0]));
    assert.throws(() => updateElem(map, new Uint8Array([2, 0, 0, 0]), new Uint8Array(4))); // full: E2BIG
  } finally {
    diagnosticsChannel.unsubscribe('bpfkit:map:update', onUpdate);
  }
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.fd, map.raw);
  assert.deepEqual([...seen[0]!.value], [9, 0, 0, 0]);
  assert.equal(seen[0]!.flags, 0);
});
