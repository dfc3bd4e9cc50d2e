// LRU hash maps: eviction instead of E2BIG, reference bits, and the kernel's exact eviction order (pinned child processes).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { BpfMapFlags, BpfMapType, BpfUpdateFlags } from '../../src/isa/uapi.generated.js';
import { MapErrno } from '../../src/maps/errors.js';
import { LruHashMap, lruMaxEntries } from '../../src/maps/lru.js';
import { createMap } from '../../src/maps/registry.js';
import { AddressSpace } from '../../src/vm/address-space.js';
import { kernelTest, u32, u64 } from '../kernel/harness.js';

const lru = (maxEntries: number, flags = 0, cpus = 2, type: number = BpfMapType.LRU_HASH): LruHashMap =>
  createMap({ name: 'lru', type, keySize: 4, valueSize: 8, maxEntries, flags }, { space: new AddressSpace(), cpus }) as LruHashMap;

const keysOf = (m: LruHashMap): number[] => {
  const out: number[] = [];
  for (let k = m.nextKey(undefined); k; k = m.nextKey(k)) out.push(new DataView(k.buffer).getUint32(0, true));
  return out.sort((a, b) => a - b);
};

test('LRU hash: a full map evicts instead of failing; count never exceeds max_entries', () => {
  const m = lru(8);
  for (let i = 0; i < 100; i++) assert.equal(m.write(u32(i), u64(i), 0), 0);
  assert.ok(m.count() <= 8 && m.count() > 0);
  assert.deepEqual(m.read(u32(99)), u64(99), 'the newest key is present');
  assert.equal(m.write(u32(1000), u64(0), BpfUpdateFlags.F_LOCK), -MapErrno.EINVAL);
});

test('LRU hash: a failed NOEXIST update still takes a node (and may evict), as the kernel does', () => {
  const m = lru(4, 0, 1);
  for (let i = 0; i < 4; i++) m.write(u32(i), u64(i), 0);
  const before = keysOf(m);
  assert.equal(m.write(u32(3), u64(9), BpfUpdateFlags.NOEXIST), -MapErrno.EEXIST);
  assert.ok(keysOf(m).length <= before.length);
});

test('LRU hash: keys a program looks up (reference bit) outlive keys nobody looks up', () => {
  const m = lru(256, 0, 1);
  for (let i = 0; i < 256; i++) m.write(u32(i), u64(i), 0);
  // A program on CPU 0 keeps looking up keys 0..15 while new keys stream in.
  for (let round = 0; round < 60; round++) {
    for (let i = 0; i < 16; i++) m.lookup(u32(i), 0, 0);
    for (let j = 0; j < 8; j++) m.write(u32(1000 + round * 8 + j), u64(0), 0);
  }
  const kept = keysOf(m);
  assert.equal(kept.filter((k) => k < 16).length, 16, 'every referenced key survived');
  assert.ok(kept.filter((k) => k >= 16 && k < 256).length < 16, 'most unreferenced old keys were evicted');
});

test('LRU: BPF_F_NO_COMMON_LRU rounds max_entries to a multiple of the CPU count', () => {
  const def = { name: 'x', type: BpfMapType.LRU_HASH, keySize: 4, valueSize: 8, maxEntries: 5, flags: BpfMapFlags.NO_COMMON_LRU };
  assert.equal(lruMaxEntries(def, 4), 8);
  assert.equal(lruMaxEntries({ ...def, flags: 0 }, 4), 5);
  assert.equal(lru(5, BpfMapFlags.NO_COMMON_LRU, 4).maxEntries, 8);
});

test('LRU per-CPU hash: in-place updates, per-CPU slots', () => {
  const m = lru(4, 0, 2, BpfMapType.LRU_PERCPU_HASH);
  assert.equal(m.update(u32(1), 0, u64(5), 0, 0, 1), 0);
  assert.deepEqual(m.read(u32(1)), new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0]));
  assert.equal(m.write(u32(2), new Uint8Array(16), BpfUpdateFlags.EXIST), -MapErrno.ENOENT);
});

const CASES: [string, number, number, number, number][] = [
  ['LRU hash, common LRU, 16 entries', BpfMapType.LRU_HASH, BpfMapFlags.ZERO_SEED, 16, 400],
  ['LRU hash, common LRU, 300 entries', BpfMapType.LRU_HASH, BpfMapFlags.ZERO_SEED, 300, 1200],
  ['LRU hash, BPF_F_NO_COMMON_LRU, 30 entries', BpfMapType.LRU_HASH, BpfMapFlags.ZERO_SEED | BpfMapFlags.NO_COMMON_LRU, 30, 600],
  ['LRU per-CPU hash, 16 entries', BpfMapType.LRU_PERCPU_HASH, BpfMapFlags.ZERO_SEED, 16, 400],
  ['LRU per-CPU hash, BPF_F_NO_COMMON_LRU, 40 entries', BpfMapType.LRU_PERCPU_HASH, BpfMapFlags.ZERO_SEED | BpfMapFlags.NO_COMMON_LRU, 40, 600],
];

kernelTest('differential: LRU eviction order equals the kernel\'s, user updates/deletes/lookups and program lookups (reference bits) mixed (process pinned to one CPU; every key compared in order after every operation)', () => {
  let ops = 0;
  for (const cpu of [0, 1]) {
    const specs = CASES.map(([, type, flags, maxEntries, n], i) => `${type}:${flags}:${maxEntries}:${100 + i * 2 + cpu}:${n}`);
    const out = execFileSync('taskset', ['-c', String(cpu), process.execPath, '--import', 'tsx', 'test/maps/lru-diff-child.ts', ...specs], {
      encoding: 'utf8',
      env: { ...process.env, BPFKIT_CPU: String(cpu), BPFKIT_PROGRAM_LOOKUPS: '1' },
    });
    const r = JSON.parse(out) as { ops: number; mismatches: string[] };
    assert.deepEqual(r.mismatches, [], `on CPU ${cpu}`);
    ops += r.ops;
  }
  process.stdout.write(`# LRU: ${ops} operations (program lookups under BPF_PROG_TEST_RUN included) on ${CASES.length * 2} pinned runs; key sets and order equal to the kernel's after every one\n`);
});
