// Array of maps / hash of maps: inner maps checked against the template, lookups return the inner map; random sequences vs the kernel.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BpfMapFlags, BpfMapType, BpfUpdateFlags } from '../../src/isa/uapi.generated.js';
import { createMap as createKernelMap } from '../../src/kernel/bpf/map-create.js';
import { deleteElem, keys, lookupElem, updateElem } from '../../src/kernel/bpf/map-elem.js';
import type { MapFd } from '../../src/kernel/bpf/map-fd.js';
import { mapInfo } from '../../src/kernel/bpf/obj-info.js';
import { KernelError } from '../../src/kernel/kernel-error.js';
import { MapAttributeError, MapErrno } from '../../src/maps/errors.js';
import type { MapInMapOps } from '../../src/maps/map-in-map.js';
import type { MapDef, MapOps } from '../../src/maps/map-ops.js';
import { createMap } from '../../src/maps/registry.js';
import { AddressSpace } from '../../src/vm/address-space.js';
import { kernelTest, u32 } from '../kernel/harness.js';
import { prng } from '../support/mutate.js';
import { kernelErrno } from './kernel-diff.js';

const inner: MapDef = { name: 'inner', type: BpfMapType.HASH, keySize: 4, valueSize: 8, maxEntries: 16, flags: 0 };

test('array of maps: lookup returns the inner map address; mismatched inner maps are EINVAL; a template is required', () => {
  const env = { space: new AddressSpace(), cpus: 1 };
  const outer = createMap({ name: 'outer', type: BpfMapType.ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 4, flags: 0, innerMap: inner }, env) as MapInMapOps;
  const a = createMap(inner, env);
  const bad = createMap({ ...inner, valueSize: 16 }, env);
  assert.equal(outer.setInner(u32(1), a, 77), 0);
  assert.equal(outer.setInner(u32(2), bad), -MapErrno.EINVAL);
  assert.equal(outer.setInner(u32(2), a, 0, BpfUpdateFlags.NOEXIST), -MapErrno.EINVAL, 'array of maps takes only BPF_ANY');
  assert.equal(outer.lookup(u32(1), 0, 0), a.address);
  assert.equal(outer.lookup(u32(0), 0, 0), 0);
  assert.equal(outer.inner(u32(1)), a);
  assert.deepEqual(outer.read(u32(1)), u32(77));
  assert.equal(outer.delete(u32(0), 0), -MapErrno.ENOENT);
  assert.equal(outer.delete(u32(1), 0), 0);
  assert.throws(() => createMap({ name: 'o', type: BpfMapType.HASH_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 4, flags: 0 }, env), (e: unknown) => e instanceof MapAttributeError && e.field === 'innerMap');
});

test('array of maps with a BPF_F_INNER_MAP array template accepts inner arrays of any size', () => {
  const env = { space: new AddressSpace(), cpus: 1 };
  const template: MapDef = { name: 't', type: BpfMapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, flags: BpfMapFlags.INNER_MAP };
  const outer = createMap({ name: 'outer', type: BpfMapType.ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, flags: 0, innerMap: template }, env) as MapInMapOps;
  assert.equal(outer.setInner(u32(0), createMap({ ...template, maxEntries: 100 }, env)), 0);
});

for (const type of [BpfMapType.ARRAY_OF_MAPS, BpfMapType.HASH_OF_MAPS]) {
  const label = type === BpfMapType.ARRAY_OF_MAPS ? 'array of maps' : 'hash of maps';
  kernelTest(`differential: ${label}: random set/delete/lookup with matching and mismatched inner maps match the kernel`, (sys) => {
    const rng = prng(0x313 + type);
    const kinners: MapFd[] = [];
    const ours: MapOps[] = [];
    const ids: number[] = [];
    const env = { space: new AddressSpace(), cpus: 2 };
    try {
      for (let i = 0; i < 6; i++) {
        const def = { ...inner, maxEntries: 16 + i, valueSize: i === 5 ? 16 : 8 };
        const k = createKernelMap(sys, { type: def.type, keySize: def.keySize, valueSize: def.valueSize, maxEntries: def.maxEntries });
        kinners.push(k);
        ids.push(mapInfo(k).id);
        ours.push(createMap(def, env));
      }
      const maxEntries = 8;
      using kouter = createKernelMap(sys, { type, keySize: 4, valueSize: 4, maxEntries, innerMap: kinners[0] });
      const outer = createMap({ name: 'outer', type, keySize: 4, valueSize: 4, maxEntries, flags: 0, innerMap: inner }, env) as MapInMapOps;
      let ops = 0;
      for (let i = 0; i < 300; i++) {
        const key = u32(rng.int(type === BpfMapType.ARRAY_OF_MAPS ? maxEntries + 2 : maxEntries * 3));
        const r = rng.int(10);
        if (r < 5) {
          const which = rng.int(6);
          const flags = rng.pick([0, 0, BpfUpdateFlags.NOEXIST, BpfUpdateFlags.EXIST]);
          const k = kernelErrno(() => updateElem(kouter, key, u32(kinners[which]!.raw), flags));
          assert.equal(outer.setInner(key, ours[which]!, ids[which], flags), k, `#${i} set ${which} flags ${flags}`);
        } else if (r < 7) {
          const k = kernelErrno(() => {
            if (!deleteElem(kouter, key)) throw new KernelError('delete', 2);
          });
          const o = outer.delete(key, 0);
          assert.equal(o === 0, k === 0, `#${i} delete`);
        } else {
          assert.deepEqual(outer.read(key), lookupElem(kouter, key), `#${i} lookup`);
        }
        ops++;
      }
      const kk = [...keys(kouter)].map((k) => new DataView(k.buffer).getUint32(0, true)).sort((a, b) => a - b);
      const ok: number[] = [];
      for (let k = outer.nextKey(undefined); k; k = outer.nextKey(k)) ok.push(new DataView(k.buffer).getUint32(0, true));
      assert.deepEqual(ok.sort((a, b) => a - b), kk);
      process.stdout.write(`# ${label}: ${ops} operations agreed with the kernel (inner map ids read back)\n`);
    } finally {
      for (const k of kinners) k.close();
    }
  });
}

test('array of maps: a plain array template pins max_entries', () => {
  const env = { space: new AddressSpace(), cpus: 1 };
  const template: MapDef = { name: 't', type: BpfMapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 4, flags: 0 };
  const outer = createMap({ name: 'outer', type: BpfMapType.ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, flags: 0, innerMap: template }, env) as MapInMapOps;
  assert.equal(outer.setInner(u32(0), createMap({ ...template, maxEntries: 5 }, env)), -MapErrno.EINVAL);
  assert.equal(outer.setInner(u32(0), createMap(template, env)), 0);
});

kernelTest('array inner maps: max_entries must match unless the template has BPF_F_INNER_MAP (as the kernel decides)', (sys) => {
  for (const templateFlags of [0, BpfMapFlags.INNER_MAP]) {
    using template = createKernelMap(sys, { type: BpfMapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 4, flags: templateFlags });
    using outerK = createKernelMap(sys, { type: BpfMapType.ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, innerMap: template });
    using other = createKernelMap(sys, { type: BpfMapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 5, flags: templateFlags });
    const env = { space: new AddressSpace(), cpus: 1 };
    const tdef: MapDef = { name: 't', type: BpfMapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 4, flags: templateFlags };
    const outer = createMap({ name: 'o', type: BpfMapType.ARRAY_OF_MAPS, keySize: 4, valueSize: 4, maxEntries: 2, flags: 0, innerMap: tdef }, env) as MapInMapOps;
    const k = kernelErrno(() => updateElem(outerK, u32(0), u32(other.raw)));
    assert.equal(outer.setInner(u32(0), createMap({ ...tdef, maxEntries: 5 }, env)), k, `template flags ${templateFlags}`);
  }
});
