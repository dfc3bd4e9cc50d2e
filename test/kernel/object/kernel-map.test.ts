// KernelMap against the kernel and bpftool: per-CPU values with padding, iteration, batch dump, typed errors.
import assert from 'node:assert/strict';
import { MapType } from '../../../src/kernel/bpf/constants.js';
import { createMap } from '../../../src/kernel/bpf/map-create.js';
import { possibleCpus } from '../../../src/kernel/bpf/map-fd.js';
import { mapInfo } from '../../../src/kernel/bpf/obj-info.js';
import { InvalidKeySizeError, InvalidValueSizeError } from '../../../src/kernel/bpf/input-errors.js';
import { KernelError } from '../../../src/kernel/kernel-error.js';
import { KernelMap } from '../../../src/kernel/kernel-map.js';
import { bpftool, kernelTest, u32 } from '../harness.js';

const hex = (b: Uint8Array) => [...b].map((x) => `0x${x.toString(16).padStart(2, '0')}`);

kernelTest('per-CPU array: a 12-byte value per CPU (padded to 16 in the syscall), as bpftool dumps it', (sys) => {
  using m = new KernelMap(createMap(sys, { type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 12, maxEntries: 4, name: 'kl_pcpu' }), 'kl_pcpu');
  const cpus = possibleCpus(sys);
  assert.equal(m.cpus, cpus);
  assert.equal(m.perCpu, true);
  const values = Array.from({ length: cpus }, (_, c) => new Uint8Array(12).map((_, i) => c * 16 + i + 1));
  m.setPerCpu(u32(2), values);
  assert.deepEqual(m.getPerCpu(u32(2)), values);
  assert.deepEqual(m.get(u32(2)), values[0]);
  const dump = bpftool('map', 'dump', 'id', String(mapInfo(m.fd).id)) as { key: string[]; values: { cpu: number; value: string[] }[] }[];
  const entry = dump.find((e) => e.key.join() === hex(u32(2)).join())!;
  assert.deepEqual(entry.values.map((v) => v.value), values.map(hex));
  m.set(u32(3), new Uint8Array(12).fill(7));
  assert.ok(m.getPerCpu(u32(3))!.every((v) => v.every((b) => b === 7)), 'set() writes every CPU');
  assert.throws(() => m.setPerCpu(u32(1), values.slice(1)), /CPU slots/);
  assert.throws(() => m.get(new Uint8Array(2)), InvalidKeySizeError);
  assert.throws(() => m.delete(u32(0)), (e: unknown) => e instanceof KernelError && e.errnoName === 'EINVAL', 'arrays cannot delete');
});

kernelTest('hash: keys(), entries() and the batch dump agree with each other and with bpftool', (sys) => {
  using m = new KernelMap(createMap(sys, { type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 1000, name: 'kl_hash' }), 'kl_hash');
  const want = new Map<number, number>();
  for (let i = 0; i < 700; i++) {
    const v = new Uint8Array(8);
    new DataView(v.buffer).setUint32(0, i * 3, true);
    m.set(u32(i * 7), v);
    want.set(i * 7, i * 3);
  }
  assert.throws(() => m.set(u32(7), new Uint8Array(8), 'noexist'), (e: unknown) => e instanceof KernelError && e.errnoName === 'EEXIST');
  assert.throws(() => m.set(u32(1), new Uint8Array(8), 'exist'), (e: unknown) => e instanceof KernelError && e.errnoName === 'ENOENT');
  assert.throws(() => m.set(u32(1), new Uint8Array(4)), InvalidValueSizeError);
  const k = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset).getUint32(0, true);
  const keys = [...m.keys()].map(k);
  assert.equal(keys.length, 700);
  assert.deepEqual(new Set(keys), new Set(want.keys()));
  const entries = [...m.entries()].map(([kk, v]) => [k(kk), k(v)] as const);
  assert.deepEqual(new Map(entries), want);
  const dump = m.dump(64).map(([kk, v]) => [k(kk), k(v[0]!)] as const);
  assert.deepEqual(new Map(dump), want, 'batch dump');
  const tool = bpftool('map', 'dump', 'id', String(mapInfo(m.fd).id)) as unknown[];
  assert.equal(tool.length, 700);
  assert.equal(m.delete(u32(7)), true);
  assert.equal(m.delete(u32(7)), false);
  assert.equal(m.get(u32(7)), undefined);
});

kernelTest('per-CPU hash: batch dump splits every CPU value', (sys) => {
  using m = new KernelMap(createMap(sys, { type: MapType.PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 16 }), 'kl_pch');
  for (let i = 0; i < 10; i++) m.setPerCpu(u32(i), Array.from({ length: m.cpus }, (_, c) => u32(i * 100 + c)));
  const dump = m.dump(3);
  assert.equal(dump.length, 10);
  for (const [key, vals] of dump) {
    const i = new DataView(key.buffer).getUint32(0, true);
    assert.deepEqual(vals, Array.from({ length: m.cpus }, (_, c) => u32(i * 100 + c)));
  }
});

kernelTest('batch dump grows its batch when a hash bucket holds more than it (the kernel answers ENOSPC)', (sys) => {
  // 64 keys in 64 buckets: some bucket holds two or more (the chance of none is ~1e-27), and a
  // batch of 1 cannot take a whole bucket.
  using m = new KernelMap(createMap(sys, { type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 64 }), 'kl_enospc');
  for (let i = 0; i < 64; i++) m.set(u32(i), u32(i * 3));
  const dump = m.dump(1);
  assert.equal(dump.length, 64);
  assert.deepEqual(new Set(dump.map(([k]) => new DataView(k.buffer, k.byteOffset).getUint32(0, true))), new Set(Array.from({ length: 64 }, (_, i) => i)));
});
