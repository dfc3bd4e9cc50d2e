// Queue and stack maps: ring semantics, BPF_EXIST overwrite, and random push/pop/peek sequences against the kernel.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BpfMapType, BpfUpdateFlags } from '../../src/isa/uapi.generated.js';
import { createMap as createKernelMap } from '../../src/kernel/bpf/map-create.js';
import { lookupAndDeleteElem, lookupElem, updateElem } from '../../src/kernel/bpf/map-elem.js';
import { MapErrno } from '../../src/maps/errors.js';
import { createMap } from '../../src/maps/registry.js';
import { RuntimeMap } from '../../src/maps/runtime-map.js';
import { AddressSpace } from '../../src/vm/address-space.js';
import { kernelTest, u32 } from '../kernel/harness.js';
import { prng } from '../support/mutate.js';
import { kernelErrno } from './kernel-diff.js';

const NOKEY = new Uint8Array(0);

test('queue: FIFO, full is E2BIG, BPF_EXIST drops the oldest; empty pops ENOENT and zeroes', () => {
  const q = createMap({ name: 'q', type: BpfMapType.QUEUE, keySize: 0, valueSize: 4, maxEntries: 2, flags: 0 }, { space: new AddressSpace(), cpus: 1 });
  assert.equal(q.push!(u32(1), 0, 0), 0);
  assert.equal(q.push!(u32(2), 0, 0), 0);
  assert.equal(q.push!(u32(3), 0, 0), -MapErrno.E2BIG);
  assert.equal(q.push!(u32(3), 0, BpfUpdateFlags.NOEXIST), -MapErrno.EINVAL);
  assert.equal(q.push!(u32(3), 0, BpfUpdateFlags.EXIST), 0);
  const out = new Uint8Array(4);
  assert.equal(q.pop!(out, 0, false), 0);
  assert.deepEqual(out, u32(2), 'the oldest (1) was overwritten');
  assert.equal(q.pop!(out, 0, true), 0);
  assert.equal(q.pop!(out, 0, true), 0);
  assert.deepEqual(out, u32(3));
  out.fill(9);
  assert.equal(q.pop!(out, 0, true), -MapErrno.ENOENT);
  assert.deepEqual(out, new Uint8Array(4));
  assert.equal(q.nextKey(undefined), undefined);
  assert.equal(q.lookup(NOKEY, 0, 0), 0);
});

test('stack: LIFO through RuntimeMap push/pop/peek', () => {
  const s = new RuntimeMap(createMap({ name: 's', type: BpfMapType.STACK, keySize: 0, valueSize: 4, maxEntries: 3, flags: 0 }, { space: new AddressSpace(), cpus: 1 }));
  s.push(u32(1));
  s.push(u32(2));
  assert.deepEqual(s.peek(), u32(2));
  assert.deepEqual(s.pop(), u32(2));
  assert.deepEqual(s.pop(), u32(1));
  assert.equal(s.pop(), undefined);
  assert.equal(s.size, 0);
});

for (const type of [BpfMapType.QUEUE, BpfMapType.STACK]) {
  const label = type === BpfMapType.QUEUE ? 'queue' : 'stack';
  kernelTest(`differential: ${label}: random push (each flag) / pop / peek sequences match the kernel in order`, (sys) => {
    const rng = prng(0x9e + type);
    let ops = 0;
    for (const maxEntries of [1, 3, 17]) {
      using kmap = createKernelMap(sys, { type, keySize: 0, valueSize: 6, maxEntries });
      const ours = createMap({ name: label, type, keySize: 0, valueSize: 6, maxEntries, flags: 0 }, { space: new AddressSpace(), cpus: 1 });
      for (let i = 0; i < 400; i++) {
        const r = rng.int(3);
        if (r === 0) {
          const v = new Uint8Array(6).map(() => rng.int(256));
          const flags = rng.pick([0, 0, 0, BpfUpdateFlags.EXIST, BpfUpdateFlags.NOEXIST, 3]);
          assert.equal(ours.push!(v, 0, flags), kernelErrno(() => updateElem(kmap, NOKEY, v, flags)), `#${i} push flags ${flags}`);
        } else {
          const remove = r === 1;
          const k = remove ? lookupAndDeleteElem(kmap, NOKEY) : lookupElem(kmap, NOKEY);
          const out = new Uint8Array(6);
          const rc = ours.pop!(out, 0, remove);
          assert.deepEqual(rc === 0 ? out : undefined, k, `#${i} ${remove ? 'pop' : 'peek'}`);
        }
        ops++;
      }
    }
    process.stdout.write(`# ${label}: ${ops} push/pop/peek operations agreed with the kernel\n`);
  });
}
