// Device maps: entries, RDONLY_PROG pointers, ifindex checks; random sequences against the kernel's devmap and devmap hash.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BpfMapType, BpfUpdateFlags } from '../../src/isa/uapi.generated.js';
import { DevMap } from '../../src/maps/devmap.js';
import { MapErrno } from '../../src/maps/errors.js';
import { createMap } from '../../src/maps/registry.js';
import { AddressSpace } from '../../src/vm/address-space.js';
import { kernelTest, u32, u64 } from '../kernel/harness.js';
import { prng } from '../support/mutate.js';
import { MapPair } from './kernel-diff.js';

test('devmap: entries by index, ifindex 0 empties, read-only pointers, unknown interfaces refused', () => {
  const space = new AddressSpace();
  const m = createMap({ name: 'tx', type: BpfMapType.DEVMAP, keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 }, { space, cpus: 1, ifindexExists: (i) => i === 1 || i === 7, devmapProgramId: (fd) => (fd === 42 ? 1234 : undefined) }) as DevMap;
  assert.equal(m.write(u32(2), u64(7), 0), 0);
  assert.deepEqual(m.entry(2), { ifindex: 7, progId: 0 });
  assert.equal(m.write(u32(1), u64(8), 0), -MapErrno.EINVAL, 'no interface 8');
  assert.equal(m.write(u32(1), new Uint8Array([1, 0, 0, 0, 42, 0, 0, 0]), 0), 0);
  assert.deepEqual(m.read(u32(1)), new Uint8Array([1, 0, 0, 0, 0xd2, 0x04, 0, 0]), 'the program fd reads back as its id');
  assert.equal(m.write(u32(3), new Uint8Array([0, 0, 0, 0, 42, 0, 0, 0]), 0), -MapErrno.EINVAL, 'a program without an interface');
  const p = m.lookup(u32(2), 0);
  assert.deepEqual(space.read(p, 4), u32(7));
  assert.throws(() => space.write(p, u32(1)), /read-only/);
  assert.equal(m.write(u32(2), u64(0), 0), 0);
  assert.equal(m.entry(2), undefined);
  assert.equal(m.delete(u32(2), 0), 0, 'delete of an empty slot still succeeds');
  assert.equal(m.write(u32(0), u64(1), BpfUpdateFlags.NOEXIST), -MapErrno.EEXIST);
});

for (const [label, type, valueSize] of [
  ['devmap', BpfMapType.DEVMAP, 4],
  ['devmap, struct bpf_devmap_val', BpfMapType.DEVMAP, 8],
  ['devmap hash', BpfMapType.DEVMAP_HASH, 4],
  ['devmap hash, struct bpf_devmap_val', BpfMapType.DEVMAP_HASH, 8],
] as const) {
  kernelTest(`differential: ${label}: random updates/deletes/lookups and key order match the kernel`, (sys) => {
    const rng = prng(0xde0 + type * 3 + valueSize);
    let ops = 0;
    for (const maxEntries of [1, 5, 32]) {
      using pair = new MapPair(sys, { name: 'dev', type, keySize: 4, valueSize, maxEntries, flags: 0 }, { ifindexExists: (i) => i === 1 });
      const key = () => u32(type === BpfMapType.DEVMAP ? rng.int(maxEntries + 2) : rng.int(maxEntries * 3));
      const value = () => {
        const v = new Uint8Array(valueSize);
        v.set(u32(rng.pick([1, 1, 1, 0, 99999])), 0);
        if (valueSize === 8 && rng.chance(0.1)) v.set(u32(rng.pick([-1 >>> 0, 0])), 4);
        return v;
      };
      for (let i = 0; i < 250; i++) {
        const r = rng.int(10);
        if (r < 5) pair.update(key(), value(), rng.pick([0, 0, BpfUpdateFlags.NOEXIST, BpfUpdateFlags.EXIST, 4]), `#${i}`);
        else if (r < 7) pair.delete(key(), `#${i}`);
        else if (r < 9) pair.lookup(key(), `#${i}`);
        else pair.nextKey(rng.chance(0.2) ? undefined : key(), `#${i}`);
      }
      pair.compareAll(true);
      ops += pair.ops;
    }
    process.stdout.write(`# ${label}: ${ops} operations agreed with the kernel, keys in the kernel's order\n`);
  });
}
