// Array, per-CPU array and prog array maps: unit behaviour and random sequences against the kernel's arrays.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BpfMapType, BpfUpdateFlags } from '../../src/isa/uapi.generated.js';
import { ArrayMap, ProgArrayOps } from '../../src/maps/array.js';
import { MapErrno } from '../../src/maps/errors.js';
import { createMap } from '../../src/maps/registry.js';
import { AddressSpace } from '../../src/vm/address-space.js';
import { kernelTest, u32 } from '../kernel/harness.js';
import { prng } from '../support/mutate.js';
import { MapPair } from './kernel-diff.js';

test('array: zeroed values, pointers into one region, E2BIG/EEXIST/EINVAL like the kernel', () => {
  const space = new AddressSpace();
  const map = createMap({ name: 'a', type: BpfMapType.ARRAY, keySize: 4, valueSize: 5, maxEntries: 3, flags: 0 }, { space, cpus: 2 }) as ArrayMap;
  assert.deepEqual(map.read(u32(2)), new Uint8Array(5));
  assert.equal(map.read(u32(3)), undefined);
  assert.equal(map.lookup(u32(3), 0, 0), 0);
  const p1 = map.lookup(u32(1), 0, 0);
  assert.equal(map.lookup(u32(2), 0, 0) - p1, 8, 'slots are rounded up to 8 bytes');
  space.write(p1, new Uint8Array([1, 2, 3, 4, 5]));
  assert.deepEqual(map.read(u32(1)), new Uint8Array([1, 2, 3, 4, 5]));
  assert.equal(map.write(u32(3), new Uint8Array(5), 0), -MapErrno.E2BIG);
  assert.equal(map.write(u32(0), new Uint8Array(5), BpfUpdateFlags.NOEXIST), -MapErrno.EEXIST);
  assert.equal(map.write(u32(0), new Uint8Array([9, 9, 9, 9, 9]), BpfUpdateFlags.EXIST), 0);
  assert.equal(map.delete(u32(0), 0), -MapErrno.EINVAL);
  assert.equal(map.valueAddress(1), p1);
  map.clear();
  assert.deepEqual(map.read(u32(1)), new Uint8Array(5));
  assert.deepEqual([map.nextKey(undefined), map.nextKey(u32(0)), map.nextKey(u32(2)), map.nextKey(u32(99))], [u32(0), u32(1), undefined, u32(0)]);
});

test('per-CPU array: each CPU its own slot; the user layout is one 8-byte-padded slot per CPU', () => {
  const space = new AddressSpace();
  const map = createMap({ name: 'pa', type: BpfMapType.PERCPU_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, flags: 0 }, { space, cpus: 3 });
  assert.equal(map.update(u32(1), 0, u32(11), 0, 0, 2), 0);
  space.write(map.lookup(u32(1), 0, 0), u32(5));
  assert.deepEqual(map.read(u32(1)), new Uint8Array([5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11, 0, 0, 0, 0, 0, 0, 0]));
  const all = new Uint8Array(24);
  all.set(u32(1), 0);
  all.set(u32(2), 8);
  all.set(u32(3), 16);
  all.set([0xff], 4); // padding is ignored
  assert.equal(map.write(u32(0), all, 0), 0);
  assert.deepEqual(space.read(map.lookup(u32(0), 0, 1), 4), u32(2));
  assert.equal(map.read(u32(0))?.[4], 0);
});

test('prog array: opaque handles per slot, ids read back, delete empties', () => {
  const map = createMap({ name: 'jmp', type: BpfMapType.PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4, flags: 0 }, { space: new AddressSpace(), cpus: 1 }) as ProgArrayOps;
  const prog = { name: 'tail' };
  assert.equal(map.setProgram(2, prog, 77), 0);
  assert.equal(map.setProgram(4, prog), -MapErrno.E2BIG);
  assert.equal(map.program(2), prog);
  assert.equal(map.program(3), undefined);
  assert.equal(map.program(-1), undefined);
  assert.deepEqual(map.read(u32(2)), u32(77));
  assert.equal(map.read(u32(1)), undefined);
  assert.equal(map.count(), 1);
  assert.equal(map.delete(u32(1), 0), -MapErrno.ENOENT);
  assert.equal(map.delete(u32(2), 0), 0);
  assert.equal(map.program(2), undefined);
  assert.equal(map.lookup(), 0);
});

for (const type of [BpfMapType.ARRAY, BpfMapType.PERCPU_ARRAY]) {
  kernelTest(`differential: ${type === BpfMapType.ARRAY ? 'array' : 'per-CPU array'}: random sequences match the kernel, keys in order`, (sys) => {
    const rng = prng(0xa77a + type);
    let ops = 0;
    for (const [maxEntries, valueSize] of [[1, 4], [5, 3], [33, 16]] as const) {
      using pair = new MapPair(sys, { name: 'diff', type, keySize: 4, valueSize, maxEntries, flags: 0 });
      const size = type === BpfMapType.PERCPU_ARRAY ? ((valueSize + 7) & ~7) * pair.cpus : valueSize;
      const value = (): Uint8Array => {
        const v = new Uint8Array(size);
        for (let i = 0; i < size; i++) v[i] = type === BpfMapType.PERCPU_ARRAY && i % ((valueSize + 7) & ~7) >= valueSize ? 0 : rng.int(256);
        return v;
      };
      const key = (): Uint8Array => u32(rng.chance(0.05) ? 0xffffffff : rng.int(maxEntries + 2));
      for (let i = 0; i < 300; i++) {
        const r = rng.int(8);
        if (r < 4) pair.update(key(), value(), rng.int(5) === 4 ? BpfUpdateFlags.F_LOCK : rng.int(4), `#${i}`);
        else if (r < 5) pair.delete(key(), `#${i}`);
        else if (r < 7) pair.lookup(key(), `#${i}`);
        else pair.nextKey(rng.chance(0.2) ? undefined : key(), `#${i}`);
      }
      pair.compareAll(true);
      ops += pair.ops;
    }
    process.stdout.write(`# ${type === BpfMapType.ARRAY ? 'array' : 'per-CPU array'}: ${ops} operations agreed with the kernel\n`);
  });
}
