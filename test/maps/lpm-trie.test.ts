// LPM trie: longest-prefix lookups, the kernel's post-order get_next_key, and random sequences against the kernel.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BpfMapFlags, BpfMapType, BpfUpdateFlags } from '../../src/isa/uapi.generated.js';
import { MapErrno } from '../../src/maps/errors.js';
import { createMap } from '../../src/maps/registry.js';
import { AddressSpace } from '../../src/vm/address-space.js';
import { kernelTest, u32 } from '../kernel/harness.js';
import { prng } from '../support/mutate.js';
import { MapPair } from './kernel-diff.js';

/** An LPM key: u32 prefix length (host order) + the address bytes. */
function key(prefixlen: number, ...bytes: number[]): Uint8Array {
  const k = new Uint8Array(4 + bytes.length);
  k.set(u32(prefixlen), 0);
  k.set(bytes, 4);
  return k;
}

test('LPM trie: longest prefix wins; exact delete; ENOSPC when full; EINVAL past the max prefix', () => {
  const space = new AddressSpace();
  const t = createMap({ name: 'lpm', type: BpfMapType.LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 3, flags: BpfMapFlags.NO_PREALLOC }, { space, cpus: 1 });
  assert.equal(t.write(key(16, 192, 168, 0, 0), u32(16), 0), 0);
  assert.equal(t.write(key(24, 192, 168, 1, 0), u32(24), 0), 0);
  assert.equal(t.write(key(8, 10, 0, 0, 0), u32(8), 0), 0);
  assert.equal(t.write(key(32, 1, 2, 3, 4), u32(0), 0), -MapErrno.ENOSPC);
  assert.equal(t.write(key(33, 1, 2, 3, 4), u32(0), 0), -MapErrno.EINVAL);
  assert.equal(t.write(key(16, 192, 168, 9, 9), u32(0), BpfUpdateFlags.NOEXIST), -MapErrno.EEXIST, 'same prefix, other host bits: the same element');
  assert.deepEqual(t.read(key(32, 192, 168, 1, 7)), u32(24));
  assert.deepEqual(t.read(key(32, 192, 168, 2, 7)), u32(16));
  assert.equal(t.read(key(32, 11, 0, 0, 1)), undefined);
  const p = t.lookup(key(32, 10, 9, 9, 9), 0, 0);
  assert.deepEqual(space.read(p, 4), u32(8));
  assert.equal(t.delete(key(24, 192, 168, 0, 0), 0), -MapErrno.ENOENT);
  assert.equal(t.delete(key(24, 192, 168, 1, 0), 0), 0);
  assert.deepEqual(t.read(key(32, 192, 168, 1, 7)), u32(16));
});

test('LPM trie: get_next_key is post-order (the kernel comment\'s example)', () => {
  const t = createMap({ name: 'lpm', type: BpfMapType.LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 8, flags: BpfMapFlags.NO_PREALLOC }, { space: new AddressSpace(), cpus: 1 });
  for (const k of [key(16, 192, 168, 0, 0), key(24, 192, 168, 0, 0), key(24, 192, 168, 1, 0), key(24, 192, 168, 128, 0)]) t.write(k, u32(0), 0);
  const order: string[] = [];
  for (let k = t.nextKey(undefined); k; k = t.nextKey(k)) order.push(`${k[4]}.${k[5]}.${k[6]}.${k[7]}/${k[0]}`);
  assert.deepEqual(order, ['192.168.0.0/24', '192.168.1.0/24', '192.168.128.0/24', '192.168.0.0/16']);
});

for (const dataSize of [4, 16, 3]) {
  kernelTest(`differential: LPM trie with ${dataSize}-byte data: random updates/deletes, lookups of random addresses and key order match the kernel`, (sys) => {
    const rng = prng(0x1b + dataSize);
    const maxPrefix = dataSize * 8;
    let ops = 0;
    for (const maxEntries of [4, 64]) {
      using pair = new MapPair(sys, { name: 'lpm', type: BpfMapType.LPM_TRIE, keySize: 4 + dataSize, valueSize: 8, maxEntries, flags: BpfMapFlags.NO_PREALLOC });
      // Addresses from a few clusters so prefixes nest and branch.
      const bases = Array.from({ length: 4 }, () => Array.from({ length: dataSize }, () => rng.int(256)));
      const addr = (): number[] => {
        const a = [...rng.pick(bases)];
        for (let i = 0; i < 2; i++) {
          const at = rng.int(dataSize);
          a[at] = a[at]! ^ (1 << rng.int(8));
        }
        return a;
      };
      const prefix = (): Uint8Array => key(rng.chance(0.03) ? maxPrefix + 1 : rng.int(maxPrefix + 1), ...addr());
      for (let i = 0; i < 500; i++) {
        const r = rng.int(10);
        if (r < 4) pair.update(prefix(), new Uint8Array(8).map(() => rng.int(256)), rng.pick([0, 0, BpfUpdateFlags.NOEXIST, BpfUpdateFlags.EXIST, 3]), `#${i}`);
        else if (r < 6) pair.delete(prefix(), `#${i}`);
        else if (r < 9) pair.lookup(key(maxPrefix, ...addr()), `#${i}`);
        else pair.nextKey(rng.chance(0.2) ? undefined : prefix(), `#${i}`);
        if (i % 100 === 99) pair.compareAll(true, `#${i}`);
      }
      ops += pair.ops;
    }
    process.stdout.write(`# LPM trie (${dataSize}-byte data): ${ops} operations agreed with the kernel, keys in the kernel's order\n`);
  });
}
