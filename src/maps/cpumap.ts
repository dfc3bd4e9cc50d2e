// CPU maps (kernel/bpf/cpumap.c): one slot per CPU, the targets of bpf_redirect_map that move an XDP frame to another CPU.
//
// A value is `struct bpf_cpumap_val` — u32 qsize, then (value_size 8) the fd of an XDP program
// loaded for BPF_XDP_CPUMAP (section `xdp/cpumap`) that runs on the target CPU first, which
// reads back as the program's id — or a bare u32 qsize (value_size 4). The kernel's rules
// (cpu_map_alloc, cpu_map_update_elem): key 4 bytes, value 4 or 8, only BPF_F_NUMA_NODE,
// max_entries 1..NR_CPUS; an update with flags above BPF_EXIST is EINVAL, an index past
// max_entries E2BIG, BPF_NOEXIST always EEXIST, qsize above 16384 EOVERFLOW, an index that is
// no possible CPU (here: not below `env.cpus`) ENODEV; qsize 0 empties the slot; a program fd
// that is no cpumap XDP program makes the entry allocation fail (ENOMEM, as the kernel
// reports it). Deletes past the end are EINVAL, otherwise they empty the slot and succeed;
// user-side lookups of an empty slot are ENOENT; get_next_key walks every index. Programs can
// only redirect to a cpumap (the verifier allows nothing else); the redirect succeeds when the
// slot is filled, and the runtime then runs the frame on that CPU (src/runtime/pipeline.ts).

import { BpfMapFlags, BpfMapType, BpfUpdateFlags } from '../isa/uapi.generated.js';
import { MapErrno } from './errors.js';
import { allocMapRegions, checkFlags, ensure, ensureTableFits, nextIndexKey, readU32, u32Bytes, type MapRegions } from './map-memory.js';
import type { CpumapProgramRef, MapDef, MapEnv, MapFamily, MapOps } from './map-ops.js';

/** The kernel's sanity limit on a cpumap entry's queue size. */
export const CPUMAP_MAX_QSIZE = 16384;
/**
 * The largest max_entries: the kernel's NR_CPUS, a build option — 8192 on distribution kernels
 * (the value used here); a kernel built with fewer refuses more (E2BIG).
 */
export const CPUMAP_NR_CPUS = 8192;

/** One filled cpumap slot. */
export interface CpumapEntry {
  /** Queue size (1..16384). */
  readonly qsize: number;
  /** Id of the program run on the CPU before the frame goes on (0: none). */
  readonly progId: number;
  /** That program, as the runtime resolved it. */
  readonly program: CpumapProgramRef | undefined;
}

/** A live BPF_MAP_TYPE_CPUMAP. */
export class CpuMap implements MapOps {
  readonly address: number;
  readonly perCpu = false;
  private readonly regions: MapRegions;
  private readonly entries: (CpumapEntry | undefined)[];

  constructor(
    readonly def: MapDef,
    private readonly env: MapEnv,
  ) {
    ensureTableFits(def, def.maxEntries, 24);
    this.entries = new Array<CpumapEntry | undefined>(def.maxEntries).fill(undefined);
    // One read-only 8-byte cell per slot: qsize and program id (the kernel's rcpu->value).
    this.regions = allocMapRegions(env, def, def.maxEntries * 8, false);
    this.address = this.regions.address;
  }

  /** The entry of CPU `cpu` (what bpf_redirect_map sends to), or undefined when the slot is empty. */
  entry(cpu: number): CpumapEntry | undefined {
    return cpu >= 0 && cpu < this.def.maxEntries ? this.entries[cpu] : undefined;
  }

  private set(index: number, e: CpumapEntry | undefined): void {
    this.entries[index] = e;
    const v = this.env.space.memory.view;
    v.setUint32(this.regions.data.start + index * 8, e?.qsize ?? 0, true);
    v.setUint32(this.regions.data.start + index * 8 + 4, e?.progId ?? 0, true);
  }

  /** __cpu_map_lookup_elem (what bpf_redirect_map consults): the slot's address when filled, else NULL. */
  lookup(key: Uint8Array, keyOffset: number): number {
    const index = readU32(key, keyOffset);
    if (index >= this.def.maxEntries || this.entries[index] === undefined) return 0;
    return this.regions.data.address(index * 8);
  }

  /** Programs cannot update a cpumap (the verifier refuses it): -EINVAL. */
  update(_key?: Uint8Array, _keyOffset?: number, _value?: Uint8Array, _valueOffset?: number, _flags?: number, _cpu?: number): number {
    return -MapErrno.EINVAL;
  }

  /** cpu_map_update_elem: 0 or -errno, in the kernel's order of checks. */
  write(key: Uint8Array, value: Uint8Array, flags: number): number {
    const index = readU32(key, 0);
    const qsize = readU32(value, 0);
    const fd = this.def.valueSize >= 8 ? readU32(value, 4) | 0 : 0;
    if (flags > BpfUpdateFlags.EXIST) return -MapErrno.EINVAL;
    if (index >= this.def.maxEntries) return -MapErrno.E2BIG;
    if (flags === BpfUpdateFlags.NOEXIST) return -MapErrno.EEXIST;
    if (qsize > CPUMAP_MAX_QSIZE) return -MapErrno.EOVERFLOW;
    if (index >= this.env.cpus) return -MapErrno.ENODEV;
    if (qsize === 0) {
      this.set(index, undefined);
      return 0;
    }
    let program: CpumapProgramRef | undefined;
    if (fd > 0) {
      program = this.env.cpumapProgram?.(fd);
      if (program === undefined) return -MapErrno.ENOMEM; // __cpu_map_entry_alloc fails: the kernel reports ENOMEM
    }
    this.set(index, { qsize, progId: program?.id ?? 0, program });
    return 0;
  }

  delete(key: Uint8Array, keyOffset: number): number {
    const index = readU32(key, keyOffset);
    if (index >= this.def.maxEntries) return -MapErrno.EINVAL;
    this.set(index, undefined);
    return 0;
  }

  /** The slot's `struct bpf_cpumap_val` (qsize, program id), or undefined (ENOENT) when empty. */
  read(key: Uint8Array): Uint8Array | undefined {
    const e = this.entry(readU32(key, 0));
    if (!e) return undefined;
    const out = new Uint8Array(this.def.valueSize);
    out.set(u32Bytes(e.qsize), 0);
    if (this.def.valueSize >= 8) out.set(u32Bytes(e.progId), 4);
    return out;
  }

  nextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    return nextIndexKey(key, this.def.maxEntries);
  }

  count(): number {
    return this.entries.reduce<number>((n, e) => n + (e ? 1 : 0), 0);
  }

  clear(): void {
    for (let i = 0; i < this.def.maxEntries; i++) if (this.entries[i]) this.set(i, undefined);
  }
}

/** BPF_MAP_TYPE_CPUMAP: key a u32 CPU, value a u32 qsize or struct bpf_cpumap_val (8 bytes). */
export const cpumapFamily: MapFamily = {
  types: [BpfMapType.CPUMAP],
  check(def) {
    ensure(def, def.maxEntries > 0, 'maxEntries', 'needs max_entries > 0');
    ensure(def, def.keySize === 4, 'keySize', 'a cpumap key is a u32 CPU number (key_size 4)');
    ensure(def, def.valueSize === 4 || def.valueSize === 8, 'valueSize', 'values are a u32 qsize (4) or struct bpf_cpumap_val (8)');
    checkFlags(def, BpfMapFlags.NUMA_NODE, 'a cpumap');
    ensure(def, def.maxEntries <= CPUMAP_NR_CPUS, 'maxEntries', `at most NR_CPUS (${CPUMAP_NR_CPUS}) entries`, MapErrno.E2BIG);
  },
  create: (def, env) => new CpuMap(def, env),
};
