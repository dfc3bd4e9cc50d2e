// Perf event arrays (kernel/bpf/arraymap.c + kernel/events): bpf_perf_event_output's target, with a ring per slot.
//
// In the kernel each slot holds a perf event fd; user space (libbpf's perf_buffer, bpfkit's
// PerfReader) opens one PERF_COUNT_SW_BPF_OUTPUT event per CPU, maps its ring and stores the fd
// at that CPU's index. Here `open(index)` plays that part: the slot gets a ring of `pages`
// pages bound to CPU `index`. A program's output goes to the slot its flags name (or the
// current CPU's); it fails with -E2BIG past max_entries, -ENOENT on an empty slot, -EOPNOTSUPP
// when the slot's event is bound to another CPU, and -ENOSPC when the ring is full (the sample
// is counted lost, as perf reports PERF_RECORD_LOST). A sample takes the perf record's room in
// the ring — 8 bytes of header, a u32 size and the data zero-padded to 8-byte alignment — and
// `consume()` returns the data as the reader sees it (padding included), oldest first per slot.
// Programs cannot look up or update the map (the verifier refuses it); user-side lookups are
// ENOTSUPP as in the kernel, deletes close the slot.

import { BpfMapFlags, BpfMapType } from '../isa/uapi.generated.js';
import { MapErrno } from './errors.js';
import { allocMapRegions, checkFlags, ensure, ensureTableFits, nextIndexKey, readU32, type MapRegions } from './map-memory.js';
import type { MapDef, MapEnv, MapFamily, MapOps } from './map-ops.js';

const PAGE_SIZE = 4096;
/** Room a sample of `len` bytes takes in a perf ring: perf_event_header, u32 size, data padded to 8. */
export function perfRecordSize(len: number): number {
  return 8 + ((4 + len + 7) & ~7);
}

/** One sample as a perf reader returns it. */
export interface PerfOutput {
  /** The slot (CPU) whose ring it was written to. */
  readonly cpu: number;
  /** The raw bytes: the program's data, then the context bytes it asked for, zero-padded. */
  readonly data: Uint8Array;
}

interface Ring {
  readonly cpu: number;
  readonly capacity: number;
  used: number;
  readonly samples: Uint8Array[];
}

/** A live BPF_MAP_TYPE_PERF_EVENT_ARRAY. */
export class PerfEventArray implements MapOps {
  readonly address: number;
  readonly perCpu = false;
  private readonly regions: MapRegions;
  private readonly rings: (Ring | undefined)[];
  /** Samples dropped because their ring was full (perf's lost count). */
  lost = 0;

  constructor(
    readonly def: MapDef,
    env: MapEnv,
  ) {
    ensureTableFits(def, def.maxEntries, 16);
    this.rings = new Array<Ring | undefined>(def.maxEntries).fill(undefined);
    this.regions = allocMapRegions(env, def, 0, false);
    this.address = this.regions.address;
  }

  /**
   * Opens slot `index` as perf_buffer does for CPU `index`: a ring of `pages` data pages (a
   * power of two, default 8). Reopening keeps nothing. Returns 0 or -E2BIG past the end.
   */
  open(index: number, pages = 8): number {
    if (!(Number.isInteger(pages) && pages >= 1 && (pages & (pages - 1)) === 0)) throw new RangeError(`pages must be a power of two, got ${pages}`);
    if (!(Number.isInteger(index) && index >= 0 && index < this.def.maxEntries)) return -MapErrno.E2BIG;
    this.rings[index] = { cpu: index, capacity: pages * PAGE_SIZE, used: 0, samples: [] };
    return 0;
  }

  /** Opens the first `cpus` slots (every simulated CPU), as a perf buffer reader does. */
  openAll(cpus: number, pages = 8): void {
    for (let i = 0; i < Math.min(cpus, this.def.maxEntries); i++) this.open(i, pages);
  }

  /**
   * bpf_perf_event_output's delivery: `index` is the slot (already resolved from
   * BPF_F_CURRENT_CPU), `cpu` the running CPU, `parts` the sample's bytes in order. Returns 0
   * or -errno.
   */
  output(index: number, cpu: number, parts: readonly Uint8Array[]): number {
    if (index >= this.def.maxEntries) return -MapErrno.E2BIG;
    const ring = this.rings[index];
    if (!ring) return -MapErrno.ENOENT;
    if (ring.cpu !== cpu) return -MapErrno.EOPNOTSUPP;
    let len = 0;
    for (const p of parts) len += p.length;
    const room = perfRecordSize(len);
    if (ring.used + room > ring.capacity) {
      this.lost++;
      return -MapErrno.ENOSPC;
    }
    const data = new Uint8Array(((4 + len + 7) & ~7) - 4);
    let at = 0;
    for (const p of parts) {
      data.set(p, at);
      at += p.length;
    }
    ring.samples.push(data);
    ring.used += room;
    return 0;
  }

  /** Takes every sample written so far, slot by slot, oldest first in each; frees their room. */
  consume(): PerfOutput[] {
    const out: PerfOutput[] = [];
    for (const ring of this.rings) {
      if (!ring) continue;
      for (const data of ring.samples) out.push({ cpu: ring.cpu, data });
      ring.samples.length = 0;
      ring.used = 0;
    }
    return out;
  }

  /** Programs cannot look a perf event array up (the verifier refuses it): NULL. */
  lookup(_key?: Uint8Array, _keyOffset?: number, _cpu?: number): number {
    return 0;
  }

  /** Programs cannot update it: -EINVAL. */
  update(): number {
    return -MapErrno.EINVAL;
  }

  /** Closes the slot: -E2BIG past the end, -ENOENT when empty. */
  delete(key: Uint8Array, keyOffset: number): number {
    const index = readU32(key, keyOffset);
    if (index >= this.def.maxEntries) return -MapErrno.E2BIG;
    if (!this.rings[index]) return -MapErrno.ENOENT;
    this.rings[index] = undefined;
    return 0;
  }

  /** BPF_MAP_LOOKUP_ELEM on a perf event array is ENOTSUPP in the kernel: nothing to read. */
  read(): Uint8Array | undefined {
    return undefined;
  }

  /** User space opens slots with `open` (there are no perf event fds here): a write opens slot `key` with the default ring. */
  write(key: Uint8Array): number {
    return this.open(readU32(key, 0));
  }

  nextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    return nextIndexKey(key, this.def.maxEntries);
  }

  count(): number {
    return this.rings.reduce<number>((n, r) => n + (r ? 1 : 0), 0);
  }

  clear(): void {
    this.rings.fill(undefined);
    this.lost = 0;
  }
}

/** BPF_MAP_TYPE_PERF_EVENT_ARRAY: key and value 4 bytes (the index and a perf event fd). */
export const perfEventArrayFamily: MapFamily = {
  types: [BpfMapType.PERF_EVENT_ARRAY],
  check(def) {
    // fd_array_map_alloc_check: no BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG for fd maps.
    checkFlags(def, BpfMapFlags.NUMA_NODE | BpfMapFlags.RDONLY | BpfMapFlags.WRONLY | BpfMapFlags.PRESERVE_ELEMS, 'a perf event array');
    ensure(def, def.keySize === 4, 'keySize', 'a perf event array key is a u32 index');
    ensure(def, def.valueSize === 4, 'valueSize', 'a perf event array value is a u32 perf event fd');
    ensure(def, def.maxEntries > 0, 'maxEntries', 'max_entries must be at least 1');
  },
  create: (def, env) => new PerfEventArray(def, env),
};
