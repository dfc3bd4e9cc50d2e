// Bloom filter: geometry, push/peek, and with BPF_F_ZERO_SEED the kernel's answers bit for bit (false positives too).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BpfMapFlags, BpfMapType } from '../../src/isa/uapi.generated.js';
import { MAP_ELEM_ATTR } from '../../src/kernel/bpf-attr.generated.js';
import { BpfCmd } from '../../src/kernel/bpf/constants.js';
import { createMap as createKernelMap } from '../../src/kernel/bpf/map-create.js';
import { updateElem } from '../../src/kernel/bpf/map-elem.js';
import type { MapFd } from '../../src/kernel/bpf/map-fd.js';
import { StructWriter } from '../../src/kernel/struct-codec.js';
import { BloomFilterMap, bloomGeometry } from '../../src/maps/bloom-filter.js';
import { MapErrno } from '../../src/maps/errors.js';
import { createMap } from '../../src/maps/registry.js';
import { RuntimeMap } from '../../src/maps/runtime-map.js';
import { AddressSpace } from '../../src/vm/address-space.js';
import { kernelTest } from '../kernel/harness.js';
import { prng } from '../support/mutate.js';
import { kernelErrno } from './kernel-diff.js';

/** BPF_MAP_LOOKUP_ELEM on a bloom filter: no key, the value is the probe (an input). true = maybe present. */
function kernelContains(map: MapFd, probe: Uint8Array): boolean {
  const attr = new StructWriter(MAP_ELEM_ATTR).u32('map_fd', map.raw).ptr('value', probe).u64('flags', 0);
  return kernelErrno(() => map.sys.bpf(BpfCmd.MAP_LOOKUP_ELEM, attr.bytes, attr.pointers)) === 0;
}

test('bloom filter: geometry as the kernel computes it', () => {
  const g = (maxEntries: number, extra = 0) => bloomGeometry({ name: 'b', type: BpfMapType.BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries, flags: 0, mapExtra: extra });
  assert.deepEqual(g(1), { nrHashFuncs: 5, nrBits: 64 });
  assert.deepEqual(g(100), { nrHashFuncs: 5, nrBits: 1024 }, '100*5/5*7 = 700 -> 1024');
  assert.deepEqual(g(100, 3), { nrHashFuncs: 3, nrBits: 512 }, '100*3/5*7 = 420 -> 512');
  assert.deepEqual(g(2 ** 30), { nrHashFuncs: 5, nrBits: 2 ** 32 });
});

test('bloom filter: inserted values are members; flags other than BPF_ANY are EINVAL; pop is EOPNOTSUPP', () => {
  const m = new RuntimeMap(createMap({ name: 'b', type: BpfMapType.BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries: 10, flags: 0 }, { space: new AddressSpace(), cpus: 1 }));
  m.push(new Uint8Array([1, 2, 3, 4]));
  assert.equal(m.has(new Uint8Array([1, 2, 3, 4])), true);
  assert.equal(m.has(new Uint8Array([4, 3, 2, 1])), false);
  assert.equal((m.ops as BloomFilterMap).push(new Uint8Array(4), 0, 1), -MapErrno.EINVAL);
  assert.equal(m.ops.pop!(new Uint8Array(4), 0, true), -MapErrno.EOPNOTSUPP);
});

kernelTest('differential: bloom filter with BPF_F_ZERO_SEED answers exactly like the kernel, false positives included', (sys) => {
  const rng = prng(0xb100);
  let probes = 0;
  let positives = 0;
  let falsePositives = 0;
  for (const [valueSize, maxEntries, extra] of [[4, 64, 0], [7, 50, 2], [16, 200, 7], [3, 1, 1]] as const) {
    using kmap = createKernelMap(sys, { type: BpfMapType.BLOOM_FILTER, keySize: 0, valueSize, maxEntries, flags: BpfMapFlags.ZERO_SEED, mapExtra: BigInt(extra) });
    const ours = createMap({ name: 'bloom', type: BpfMapType.BLOOM_FILTER, keySize: 0, valueSize, maxEntries, flags: BpfMapFlags.ZERO_SEED, mapExtra: extra }, { space: new AddressSpace(), cpus: 1 });
    const inserted = new Set<string>();
    const rand = () => new Uint8Array(valueSize).map(() => rng.int(256));
    for (let i = 0; i < maxEntries * 2; i++) {
      const v = rand();
      inserted.add(v.join());
      updateElem(kmap, new Uint8Array(0), v, 0);
      assert.equal(ours.push!(v, 0, 0), 0);
    }
    for (let i = 0; i < 3000; i++) {
      const v = rand();
      const k = kernelContains(kmap, v);
      const o = ours.pop!(v, 0, false) === 0;
      assert.equal(o, k, `probe ${v.join()}`);
      probes++;
      if (k) positives++;
      if (k && !inserted.has(v.join())) falsePositives++;
    }
  }
  assert.ok(falsePositives > 10, `the probes should hit some false positives (got ${falsePositives})`);
  process.stdout.write(`# bloom filter: ${probes} probes agreed with the kernel (${positives} positives, ${falsePositives} of them false positives)\n`);
});

test('bloom filter: a 2^32-bit array (512 MiB) is a NotSupportedError, not an allocation failure', () => {
  assert.throws(
    () => createMap({ name: 'huge', type: BpfMapType.BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries: 2 ** 30, flags: 0 }, { space: new AddressSpace(), cpus: 1 }),
    (e: unknown) => e instanceof Error && (e as { code?: string }).code === 'ERR_NOT_SUPPORTED',
  );
});
