// Hash and per-CPU hash maps: unit behaviour, and random operation sequences against the kernel's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BpfMapFlags, BpfMapType, BpfUpdateFlags } from '../../src/isa/uapi.generated.js';
import { MapErrno } from '../../src/maps/errors.js';
import { HashMap } from '../../src/maps/hash.js';
import { createMap } from '../../src/maps/registry.js';
import { AddressSpace } from '../../src/vm/address-space.js';
import { kernelTest, u32, u64 } from '../kernel/harness.js';
import { prng } from '../support/mutate.js';
import { MapPair } from './kernel-diff.js';

const FLAGS = [BpfUpdateFlags.ANY, BpfUpdateFlags.NOEXIST, BpfUpdateFlags.EXIST];

test('hash: lookup returns a pointer into the address space that loads and stores reach', () => {
  const space = new AddressSpace();
  const map = createMap({ name: 'h', type: BpfMapType.HASH, keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 }, { space, cpus: 1 });
  assert.equal(map.write(u32(7), u64(42), 0), 0);
  const p = map.lookup(u32(7), 0, 0);
  assert.notEqual(p, 0);
  assert.deepEqual(space.read(p, 8), u64(42));
  space.write(p, u64(43));
  assert.deepEqual(map.read(u32(7)), u64(43), 'a store through the pointer changes the map');
  assert.equal(map.lookup(u32(8), 0, 0), 0, 'absent: NULL');
  assert.equal(space.regionOf(Math.floor(p / 2 ** 32))?.name, 'map:h');
});

test('hash: flags, full map, delete, spare slot for replacing a key of a full map', () => {
  const map = createMap({ name: 'h', type: BpfMapType.HASH, keySize: 4, valueSize: 4, maxEntries: 2, flags: 0 }, { space: new AddressSpace(), cpus: 1 });
  assert.equal(map.write(u32(1), u32(1), BpfUpdateFlags.EXIST), -MapErrno.ENOENT);
  assert.equal(map.write(u32(1), u32(1), BpfUpdateFlags.NOEXIST), 0);
  assert.equal(map.write(u32(1), u32(2), BpfUpdateFlags.NOEXIST), -MapErrno.EEXIST);
  assert.equal(map.write(u32(2), u32(2), 0), 0);
  assert.equal(map.write(u32(3), u32(3), 0), -MapErrno.E2BIG);
  assert.equal(map.write(u32(1), u32(9), 0), 0, 'a full map still updates an existing key');
  assert.equal(map.write(u32(2), u32(9), 3), -MapErrno.EINVAL);
  assert.equal(map.write(u32(2), u32(9), BpfUpdateFlags.F_LOCK), -MapErrno.EINVAL, 'F_LOCK needs a bpf_spin_lock in the value');
  assert.deepEqual(map.read(u32(1)), u32(9));
  assert.equal(map.delete(u32(1), 0), 0);
  assert.equal(map.delete(u32(1), 0), -MapErrno.ENOENT);
  assert.equal(map.count(), 1);
  map.clear();
  assert.equal(map.count(), 0);
  assert.equal(map.nextKey(undefined), undefined);
});

test('hash: an update moves the key to a fresh slot; the old pointer keeps the old value (as the kernel frees the old element)', () => {
  const space = new AddressSpace();
  const map = createMap({ name: 'h', type: BpfMapType.HASH, keySize: 4, valueSize: 4, maxEntries: 4, flags: 0 }, { space, cpus: 1 });
  map.write(u32(1), u32(1), 0);
  const before = map.lookup(u32(1), 0, 0);
  map.write(u32(1), u32(2), 0);
  const after = map.lookup(u32(1), 0, 0);
  assert.notEqual(after, before);
  assert.deepEqual(space.read(before, 4), u32(1));
  assert.deepEqual(space.read(after, 4), u32(2));
});

test('per-CPU hash: a program update writes its CPU and zeroes the others on insert; user reads get padded slots', () => {
  const space = new AddressSpace();
  const map = createMap({ name: 'pc', type: BpfMapType.PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 4, flags: 0 }, { space, cpus: 3 });
  assert.equal(map.perCpu, true);
  const k = u32(5);
  assert.equal(map.update(k, 0, u32(0xaabbccdd), 0, 0, 1), 0);
  assert.deepEqual(map.read(k), new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0xdd, 0xcc, 0xbb, 0xaa, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
  const p2 = map.lookup(k, 0, 2);
  space.write(p2, u32(7));
  assert.deepEqual(map.read(k)?.subarray(16, 20), u32(7));
  assert.equal(map.update(k, 0, u32(1), 0, 0, 0), 0, 'in place');
  assert.equal(map.lookup(k, 0, 2), p2, 'per-CPU hashes update in place');
  assert.deepEqual(map.read(k)?.subarray(8, 12), u32(0xaabbccdd), 'other CPUs untouched');
});

test('hash: get_next_key walks buckets in order, newest first in a bucket; a missing key restarts', () => {
  const map = createMap({ name: 'h', type: BpfMapType.HASH, keySize: 4, valueSize: 4, maxEntries: 2, flags: BpfMapFlags.ZERO_SEED }, { space: new AddressSpace(), cpus: 1 }) as HashMap;
  assert.equal(map.nBuckets, 2);
  const ks: number[] = [];
  for (let i = 0; ks.length < 2; i++) if ((map.hashOf(u32(i), 0) & 1) === 0) ks.push(i);
  map.write(u32(ks[0]!), u32(0), 0);
  map.write(u32(ks[1]!), u32(0), 0);
  assert.deepEqual(map.nextKey(undefined), u32(ks[1]!));
  assert.deepEqual(map.nextKey(u32(ks[1]!)), u32(ks[0]!));
  assert.equal(map.nextKey(u32(ks[0]!)), undefined);
  assert.deepEqual(map.nextKey(u32(12345)), u32(ks[1]!));
});

for (const [label, type, zeroSeed] of [
  ['hash, BPF_F_ZERO_SEED (keys in order)', BpfMapType.HASH, true],
  ['hash (keys as a set)', BpfMapType.HASH, false],
  ['per-CPU hash, BPF_F_ZERO_SEED', BpfMapType.PERCPU_HASH, true],
  ['hash, NO_PREALLOC, 6-byte keys', BpfMapType.HASH, false],
] as const) {
  kernelTest(`differential: ${label}: random update/delete/lookup sequences match the kernel`, (sys) => {
    const rng = prng(0x5eed + type * 31 + label.length);
    const keySize = label.includes('6-byte') ? 6 : 4;
    const valueSize = 12;
    const flags = (zeroSeed ? BpfMapFlags.ZERO_SEED : 0) | (label.includes('NO_PREALLOC') ? BpfMapFlags.NO_PREALLOC : 0);
    let ops = 0;
    let keysSeen = 0;
    for (const maxEntries of [1, 7, 64]) {
      using pair = new MapPair(sys, { name: 'diff', type, keySize, valueSize, maxEntries, flags });
      const stride = type === BpfMapType.PERCPU_HASH ? 16 * pair.cpus : valueSize;
      const key = (): Uint8Array => {
        const k = new Uint8Array(keySize);
        const n = rng.int(maxEntries * 2 + 2);
        k[0] = n & 0xff;
        k[keySize - 1] = n >> 8;
        return k;
      };
      const value = (): Uint8Array => {
        const v = new Uint8Array(stride);
        for (let i = 0; i < stride; i++) v[i] = type === BpfMapType.PERCPU_HASH && i % 16 >= valueSize ? 0 : rng.int(256);
        return v;
      };
      for (let i = 0; i < 600; i++) {
        const r = rng.int(10);
        if (r < 5) pair.update(key(), value(), rng.pick(FLAGS), `#${i}`);
        else if (r < 7) pair.delete(key(), `#${i}`);
        else if (r < 9) pair.lookup(key(), `#${i}`);
        else pair.nextKey(rng.chance(0.3) ? undefined : key(), `#${i}`, zeroSeed);
        if (i % 100 === 99) keysSeen += pair.compareAll(zeroSeed, `#${i} (max ${maxEntries})`);
      }
      ops += pair.ops;
    }
    assert.ok(ops > 1000 && keysSeen > 50);
    process.stdout.write(`# ${label}: ${ops} operations agreed with the kernel (${keysSeen} keys compared)\n`);
  });
}
