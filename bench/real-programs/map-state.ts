// Map contents after the test runs, kernel vs userspace: the data maps of a program compared entry by entry.

import type { MapSpec } from '../../src/index.js';

/** What both a kernel map and a userspace map offer for reading (the shared BpfMap API). */
export interface ReadableMap {
  entries(): IterableIterator<[Uint8Array, Uint8Array]>;
  entriesPerCpu(): IterableIterator<[Uint8Array, Uint8Array[]]>;
}

/** Map families whose contents are plain data both sides hold alike: hash, array, their per-CPU and LRU kinds, LPM trie. */
const DATA_MAPS = new Set([1, 2, 5, 6, 9, 10, 11]);
const PER_CPU = new Set([5, 6, 10]);
/** Larger maps are not read back (an array of millions of entries costs more than it tells). */
const MAX_ENTRIES = 65_536;

/** The maps of `maps` whose contents are compared. */
export function comparableMaps(maps: readonly MapSpec[]): MapSpec[] {
  return maps.filter((m) => DATA_MAPS.has(m.type) && m.maxEntries <= MAX_ENTRIES);
}

function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/**
 * Per-CPU values summed over the CPUs, 8 bytes at a time (4 when the value size is not a multiple
 * of 8): the kernel runs each test run on whichever CPU the caller is on, userspace on CPU 0, so
 * only the sum is comparable (counters, the common case).
 */
function sumPerCpu(values: readonly Uint8Array[]): Uint8Array {
  const size = values[0]?.length ?? 0;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  const wide = size % 8 === 0;
  for (const v of values) {
    const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
    for (let i = 0; i + (wide ? 8 : 4) <= size; i += wide ? 8 : 4) {
      if (wide) view.setBigUint64(i, view.getBigUint64(i, true) + dv.getBigUint64(i, true), true);
      else view.setUint32(i, (view.getUint32(i, true) + dv.getUint32(i, true)) >>> 0, true);
    }
  }
  return out;
}

/** A map's contents as key hex -> value hex (per-CPU values summed). */
export function snapshot(map: ReadableMap, spec: MapSpec): Map<string, string> {
  const out = new Map<string, string>();
  if (PER_CPU.has(spec.type)) for (const [k, vs] of map.entriesPerCpu()) out.set(hex(k), hex(sumPerCpu(vs)));
  else for (const [k, v] of map.entries()) out.set(hex(k), hex(v));
  return out;
}

/** The first difference between two snapshots of map `name`, or undefined when equal. */
export function mapDifference(name: string, kernel: ReadonlyMap<string, string>, user: ReadonlyMap<string, string>, equalValues?: (kernel: string, user: string) => boolean): string | undefined {
  for (const [k, v] of kernel) {
    const u = user.get(k);
    if (u === undefined) return `map ${name}: key ${k} in the kernel only`;
    if (u !== v && !equalValues?.(v, u)) return `map ${name}: key ${k}: kernel ${v}, bpfkit ${u}`;
  }
  for (const k of user.keys()) if (!kernel.has(k)) return `map ${name}: key ${k} in bpfkit only`;
  return undefined;
}
