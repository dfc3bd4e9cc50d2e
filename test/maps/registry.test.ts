// The registry's attribute checks against BPF_MAP_CREATE: the same definitions refused with the same errno, or accepted by both.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BpfMapFlags as F, BpfMapType as T } from '../../src/isa/uapi.generated.js';
import { createMap as createKernelMap } from '../../src/kernel/bpf/map-create.js';
import { MapAttributeError, UnsupportedMapTypeError } from '../../src/maps/errors.js';
import type { MapDef } from '../../src/maps/map-ops.js';
import { createMap, findMapFamily, mapFamily, mapTypeName } from '../../src/maps/registry.js';
import { AddressSpace } from '../../src/vm/address-space.js';
import { kernelTest } from '../kernel/harness.js';
import { kernelErrno } from './kernel-diff.js';

type Def = Omit<MapDef, 'name'>;
const d = (type: number, keySize: number, valueSize: number, maxEntries: number, flags = 0, mapExtra = 0): Def => ({ type, keySize, valueSize, maxEntries, flags, mapExtra });

/** Definitions with what they probe; the kernel says whether each is valid. */
export const ATTRIBUTE_CASES: [string, Def][] = [
  ['hash ok', d(T.HASH, 4, 8, 16)],
  ['hash key 0', d(T.HASH, 0, 8, 16)],
  ['hash value 0', d(T.HASH, 4, 0, 16)],
  ['hash max 0', d(T.HASH, 4, 8, 0)],
  ['hash huge value', d(T.HASH, 4, 1 << 22, 1)],
  ['hash mmapable', d(T.HASH, 4, 8, 4, F.MMAPABLE)],
  ['hash no_common_lru', d(T.HASH, 4, 8, 4, F.NO_COMMON_LRU)],
  ['hash rdonly_prog|wronly_prog', d(T.HASH, 4, 8, 4, F.RDONLY_PROG | F.WRONLY_PROG)],
  ['hash rdonly|wronly', d(T.HASH, 4, 8, 4, F.RDONLY | F.WRONLY)],
  ['hash map_extra', d(T.HASH, 4, 8, 4, 0, 3)],
  ['hash zero_seed no_prealloc', d(T.HASH, 4, 8, 4, F.ZERO_SEED | F.NO_PREALLOC)],
  ['percpu hash value 32768', d(T.PERCPU_HASH, 4, 32768, 4)],
  ['percpu hash value 32769', d(T.PERCPU_HASH, 4, 32769, 4)],
  ['percpu hash numa', d(T.PERCPU_HASH, 4, 8, 4, F.NUMA_NODE)],
  ['array ok', d(T.ARRAY, 4, 8, 4)],
  ['array key 8', d(T.ARRAY, 8, 8, 4)],
  ['array value 0', d(T.ARRAY, 4, 0, 4)],
  ['array max 0', d(T.ARRAY, 4, 8, 0)],
  ['array no_prealloc', d(T.ARRAY, 4, 8, 4, F.NO_PREALLOC)],
  ['array mmapable', d(T.ARRAY, 4, 8, 4, F.MMAPABLE)],
  ['array preserve_elems', d(T.ARRAY, 4, 8, 4, F.PRESERVE_ELEMS)],
  ['percpu array mmapable', d(T.PERCPU_ARRAY, 4, 8, 4, F.MMAPABLE)],
  ['percpu array value 40000', d(T.PERCPU_ARRAY, 4, 40000, 4)],
  ['prog array ok', d(T.PROG_ARRAY, 4, 4, 4)],
  ['prog array value 8', d(T.PROG_ARRAY, 4, 8, 4)],
  ['prog array rdonly_prog', d(T.PROG_ARRAY, 4, 4, 4, F.RDONLY_PROG)],
  ['lru ok', d(T.LRU_HASH, 4, 8, 16)],
  ['lru no_prealloc', d(T.LRU_HASH, 4, 8, 16, F.NO_PREALLOC)],
  ['lru percpu no_common_lru', d(T.LRU_PERCPU_HASH, 4, 8, 16, F.NO_COMMON_LRU)],
  ['lpm ok', d(T.LPM_TRIE, 8, 4, 16, F.NO_PREALLOC)],
  ['lpm prealloc', d(T.LPM_TRIE, 8, 4, 16)],
  ['lpm key 4', d(T.LPM_TRIE, 4, 4, 16, F.NO_PREALLOC)],
  ['lpm key 5', d(T.LPM_TRIE, 5, 4, 16, F.NO_PREALLOC)],
  ['lpm key 261', d(T.LPM_TRIE, 261, 4, 16, F.NO_PREALLOC)],
  ['lpm key 260', d(T.LPM_TRIE, 260, 4, 16, F.NO_PREALLOC)],
  ['lpm value 0', d(T.LPM_TRIE, 8, 0, 16, F.NO_PREALLOC)],
  ['queue ok', d(T.QUEUE, 0, 8, 16)],
  ['queue key 4', d(T.QUEUE, 4, 8, 16)],
  ['queue value 0', d(T.QUEUE, 0, 0, 16)],
  ['stack max 0', d(T.STACK, 0, 8, 0)],
  ['stack no_prealloc', d(T.STACK, 0, 8, 4, F.NO_PREALLOC)],
  ['ringbuf ok', d(T.RINGBUF, 0, 0, 4096)],
  ['ringbuf not pow2', d(T.RINGBUF, 0, 0, 4096 * 3)],
  ['ringbuf small', d(T.RINGBUF, 0, 0, 1024)],
  ['ringbuf key', d(T.RINGBUF, 4, 0, 4096)],
  ['ringbuf value', d(T.RINGBUF, 0, 4, 4096)],
  ['devmap ok', d(T.DEVMAP, 4, 4, 8)],
  ['devmap val 8', d(T.DEVMAP, 4, 8, 8)],
  ['devmap val 6', d(T.DEVMAP, 4, 6, 8)],
  ['devmap key 8', d(T.DEVMAP, 8, 4, 8)],
  ['devmap hash ok', d(T.DEVMAP_HASH, 4, 8, 8)],
  ['bloom ok', d(T.BLOOM_FILTER, 0, 4, 100)],
  ['bloom key', d(T.BLOOM_FILTER, 4, 4, 100)],
  ['bloom extra 15', d(T.BLOOM_FILTER, 0, 4, 100, 0, 15)],
  ['bloom extra 16', d(T.BLOOM_FILTER, 0, 4, 100, 0, 16)],
  ['bloom zero_seed', d(T.BLOOM_FILTER, 0, 8, 100, F.ZERO_SEED)],
  ['bloom no_prealloc', d(T.BLOOM_FILTER, 0, 8, 100, F.NO_PREALLOC)],
];

test('an unsupported map type is a NotSupportedError naming it', () => {
  assert.throws(
    () => createMap({ name: 'p', type: T.STACK_TRACE, keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 }, { space: new AddressSpace(), cpus: 1 }),
    (e: unknown) => e instanceof UnsupportedMapTypeError && e.code === 'ERR_NOT_SUPPORTED' && e.type === T.STACK_TRACE && /stack_trace/.test(e.message),
  );
  assert.throws(() => mapFamily(T.REUSEPORT_SOCKARRAY), UnsupportedMapTypeError);
  assert.equal(mapTypeName(T.LRU_PERCPU_HASH), 'lru_percpu_hash');
});

test('a bad attribute names the field, the value and the errno', () => {
  assert.throws(
    () => createMap({ name: 'h', type: T.HASH, keySize: 0, valueSize: 4, maxEntries: 4, flags: 0 }, { space: new AddressSpace(), cpus: 1 }),
    (e: unknown) => e instanceof MapAttributeError && e.field === 'keySize' && e.value === 0 && e.errno === 22 && e.message === 'map "h": key_size 0: a hash map needs key_size > 0 (kernel: EINVAL)',
  );
  assert.throws(
    () => createMap({ name: 'a', type: T.ARRAY, keySize: 4, valueSize: 4, maxEntries: 4, flags: F.NO_PREALLOC }, { space: new AddressSpace(), cpus: 1 }),
    (e: unknown) => e instanceof MapAttributeError && e.field === 'flags' && /map_flags 0x1/.test(e.message),
  );
});

kernelTest('createMap accepts and refuses the same definitions as BPF_MAP_CREATE, with the same errno', (sys) => {
  let compared = 0;
  const mismatches: string[] = [];
  for (const [label, def] of ATTRIBUTE_CASES) {
    if (!findMapFamily(def.type)) continue;
    const k = kernelErrno(() => {
      createKernelMap(sys, { type: def.type, keySize: def.keySize, valueSize: def.valueSize, maxEntries: def.maxEntries, flags: def.flags, ...(def.mapExtra ? { mapExtra: BigInt(def.mapExtra) } : {}) }).close();
    });
    let o = 0;
    try {
      createMap({ name: label, ...def }, { space: new AddressSpace(), cpus: 2 });
    } catch (err) {
      if (!(err instanceof MapAttributeError)) throw err;
      o = -err.errno;
    }
    compared++;
    if (o !== k) mismatches.push(`${label}: ours ${o}, kernel ${k}`);
  }
  assert.deepEqual(mismatches, []);
  process.stdout.write(`# map attribute checks: ${compared} definitions, verdict and errno equal to the kernel's\n`);
});

test('a map too big for the 4 GiB address space is a MapAttributeError (ENOMEM), not a RangeError', () => {
  assert.throws(
    () => createMap({ name: 'big', type: T.ARRAY, keySize: 4, valueSize: 4096, maxEntries: 2 ** 21, flags: 0 }, { space: new AddressSpace(), cpus: 1 }),
    (e: unknown) => e instanceof MapAttributeError && e.errno === 12 && e.field === 'maxEntries',
  );
});

test('a hash whose values fit in the 4 GiB address space but not with its tables (kept in the same memory) is refused before either is allocated', () => {
  const space = new AddressSpace();
  const used = space.memory.used;
  // 3.6 GB of values (they alone would fit), 0.77 GB of buckets, links, hashes and 200-byte keys.
  assert.throws(
    () => createMap({ name: 'both', type: T.HASH, keySize: 200, valueSize: 1000, maxEntries: 3_600_000, flags: 0 }, { space, cpus: 1 }),
    (e: unknown) => e instanceof MapAttributeError && e.errno === 12 && /hash tables/.test(e.message),
  );
  assert.equal(space.memory.used, used);
});

test('huge hash and LPM maps are refused before any table is built', () => {
  for (const def of [
    { name: 'h', type: T.HASH, keySize: 4, valueSize: 8, maxEntries: 2 ** 31, flags: 0 },
    { name: 'l', type: T.LPM_TRIE, keySize: 8, valueSize: 8, maxEntries: 2 ** 31, flags: F.NO_PREALLOC },
  ]) {
    assert.throws(() => createMap(def, { space: new AddressSpace(), cpus: 1 }), (e: unknown) => e instanceof MapAttributeError && e.errno === 12);
  }
});

test('huge prog arrays, map-in-maps, devmaps and wide-key hashes are refused (ENOMEM) instead of exhausting memory', () => {
  const inner = { name: 'i', type: T.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, flags: 0 };
  for (const def of [
    { name: 'p', type: T.PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 ** 31, flags: 0 },
    { name: 'aom', type: T.ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2 ** 31, flags: 0, innerMap: inner },
    { name: 'd', type: T.DEVMAP_HASH, keySize: 4, valueSize: 4, maxEntries: 2 ** 31, flags: 0 },
    { name: 'wide', type: T.HASH, keySize: 512, valueSize: 1, maxEntries: 2 ** 25, flags: 0 },
  ]) {
    assert.throws(() => createMap(def, { space: new AddressSpace(), cpus: 1 }), (e: unknown) => e instanceof MapAttributeError && e.errno === 12, def.name);
  }
});
