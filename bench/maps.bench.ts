// Benchmark: map operations from JS — bpfkit's userspace maps vs the kernel's map syscalls, same keys, one run.
//
// `node --import tsx bench/maps.bench.ts` (about 10 s). For each map type a table of N keys is
// filled, then looked up and updated in a shuffled order, both through bpfkit's MapOps (what a
// program's helper call reaches: key and value in linear memory, no allocation) and its user API
// (RuntimeMap: byte arrays in and out), and through BPF_MAP_LOOKUP_ELEM / BPF_MAP_UPDATE_ELEM
// on a kernel map of the same definition (src/kernel/bpf/map-elem.ts over koffi). Each figure
// is the best ns/op of 5 rounds over the same keys; ratios are kernel / bpfkit (how many times
// faster bpfkit is from JS). The kernel's in-kernel cost (a BPF program's helper call) is far
// lower than its syscall path; this compares what JS code pays.

import { BpfMapType } from '../src/isa/uapi.generated.js';
import { createMap as createKernelMap } from '../src/kernel/bpf/map-create.js';
import { lookupElem, updateElem } from '../src/kernel/bpf/map-elem.js';
import { createKernelSys } from '../src/kernel/koffi-sys.js';
import type { MapOps } from '../src/maps/map-ops.js';
import { createMap } from '../src/maps/registry.js';
import { RuntimeMap } from '../src/maps/runtime-map.js';
import { AddressSpace } from '../src/vm/address-space.js';

const N = 4096;
const ROUNDS = 5;

function best(fn: () => void, ops: number): number {
  let min = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    const dt = Number(process.hrtime.bigint() - t0) / ops;
    if (dt < min) min = dt;
  }
  return min;
}

function keyBytes(keySize: number, i: number): Uint8Array {
  const k = new Uint8Array(keySize);
  new DataView(k.buffer).setUint32(0, (i * 2654435761) >>> 0, true);
  k[keySize - 1] = (k[keySize - 1] ?? 0) ^ (i & 0xff);
  return k;
}

const sys = createKernelSys();
const rows: string[][] = [['map', 'operation', 'bpfkit MapOps ns', 'bpfkit RuntimeMap ns', 'kernel syscall ns', 'kernel / MapOps', 'kernel / RuntimeMap']];
let sink = 0;

for (const [label, type, keySize, valueSize] of [
  ['hash 4/8', BpfMapType.HASH, 4, 8],
  ['hash 16/64', BpfMapType.HASH, 16, 64],
  ['array 4/8', BpfMapType.ARRAY, 4, 8],
  ['lru hash 4/8', BpfMapType.LRU_HASH, 4, 8],
] as const) {
  const def = { name: 'bench', type, keySize, valueSize, maxEntries: N, flags: 0 };
  const space = new AddressSpace();
  const ops: MapOps = createMap(def, { space, cpus: 1 });
  const rt = new RuntimeMap(ops);
  using kmap = createKernelMap(sys, { type, keySize, valueSize, maxEntries: N });
  const keys = Array.from({ length: N }, (_, i) => (type === BpfMapType.ARRAY ? new Uint8Array(new Uint32Array([i]).buffer) : keyBytes(keySize, i)));
  const order = keys.map((_, i) => i).sort((a, b) => ((a * 7919) % N) - ((b * 7919) % N));
  const value = new Uint8Array(valueSize).fill(7);
  // Keys and value in linear memory, as a program's stack holds them for a helper call.
  const keyRegion = space.addRegion('keys', N * keySize);
  const valRegion = space.addRegion('value', valueSize, { init: value });
  keys.forEach((k, i) => space.memory.bytes.set(k, keyRegion.start + i * keySize));
  const mem = () => space.memory.bytes;
  for (const k of keys) {
    ops.write(k, value, 0);
    updateElem(kmap, k, value, 0);
  }
  const lookupOps = best(() => {
    const m = mem();
    for (const i of order) sink += ops.lookup(m, keyRegion.start + i * keySize, 0) > 0 ? 1 : 0;
  }, N);
  const lookupRt = best(() => {
    for (const i of order) sink += rt.get(keys[i]!)?.length ?? 0;
  }, N);
  const lookupK = best(() => {
    for (const i of order) sink += lookupElem(kmap, keys[i]!)?.length ?? 0;
  }, N);
  const updateOps = best(() => {
    const m = mem();
    for (const i of order) sink += ops.update(m, keyRegion.start + i * keySize, m, valRegion.start, 0, 0);
  }, N);
  const updateRt = best(() => {
    for (const i of order) rt.set(keys[i]!, value);
  }, N);
  const updateK = best(() => {
    for (const i of order) updateElem(kmap, keys[i]!, value, 0);
  }, N);
  const f = (x: number) => x.toFixed(0);
  const r = (x: number) => `${x.toFixed(1)}x`;
  rows.push([label, 'lookup', f(lookupOps), f(lookupRt), f(lookupK), r(lookupK / lookupOps), r(lookupK / lookupRt)]);
  rows.push([label, 'update', f(updateOps), f(updateRt), f(updateK), r(updateK / updateOps), r(updateK / updateRt)]);
}

const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
for (const row of rows) process.stdout.write(row.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ') + '\n');
process.stdout.write(`(${N} keys, best of ${ROUNDS} rounds; checksum ${sink % 997})\n`);
