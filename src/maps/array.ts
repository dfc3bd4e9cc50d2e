// Array maps (kernel/bpf/arraymap.c): array, per-CPU array, prog array — one table per type, shared code.
//
// Every index in [0, max_entries) exists and starts zeroed; values sit back to back in one
// region, each slot rounded up to 8 bytes (per-CPU: one slot per CPU, CPU-major within an index),
// so `lookup` returns a pointer that stays valid for the map's life. Elements cannot be deleted
// (EINVAL); an index past the end is E2BIG on update and NULL on lookup. get_next_key walks 0, 1,
// ..., max_entries - 1; a missing or out-of-range key restarts at 0.

import { BpfMapFlags, BpfMapType, BpfUpdateFlags } from '../isa/uapi.generated.js';
import { MapErrno } from './errors.js';
import { ACCESS_MASK, allocMapRegions, ensureTableFits, checkFlags, ensure, readU32, stride8, u32Bytes, type MapRegions, nextIndexKey } from './map-memory.js';
import type { MapDef, MapEnv, MapFamily, MapOps } from './map-ops.js';
import type { InlineArrayLookup } from '../vm/program.js';

const ARRAY_FLAGS = BpfMapFlags.NUMA_NODE | BpfMapFlags.MMAPABLE | ACCESS_MASK | BpfMapFlags.PRESERVE_ELEMS | BpfMapFlags.INNER_MAP;
/** PCPU_MIN_UNIT_SIZE: the largest per-CPU value. */
export const PCPU_MIN_UNIT_SIZE = 32768;
const INT_MAX = 0x7fffffff;

/** array_map_alloc_check, shared by the array types (and array of maps). */
export function checkArrayAttributes(def: MapDef): void {
  const percpu = def.type === BpfMapType.PERCPU_ARRAY;
  ensure(def, def.maxEntries > 0, 'maxEntries', 'an array needs at least one entry');
  ensure(def, def.keySize === 4, 'keySize', 'array keys are u32 indexes (key_size 4)');
  ensure(def, def.valueSize > 0, 'valueSize', 'value_size must be > 0');
  checkFlags(def, ARRAY_FLAGS, 'an array map');
  if (percpu) ensure(def, (def.flags & BpfMapFlags.NUMA_NODE) === 0, 'flags', 'a per-CPU array cannot be pinned to a NUMA node');
  if (def.type !== BpfMapType.ARRAY) ensure(def, (def.flags & (BpfMapFlags.MMAPABLE | BpfMapFlags.INNER_MAP)) === 0, 'flags', 'BPF_F_MMAPABLE and BPF_F_INNER_MAP are for plain arrays');
  ensure(def, (def.flags & BpfMapFlags.PRESERVE_ELEMS) === 0, 'flags', 'BPF_F_PRESERVE_ELEMS is for perf event arrays');
  ensure(def, def.valueSize <= INT_MAX, 'valueSize', 'value_size above INT_MAX', MapErrno.E2BIG);
  if (percpu) ensure(def, stride8(def.valueSize) <= PCPU_MIN_UNIT_SIZE, 'valueSize', `per-CPU values are at most ${PCPU_MIN_UNIT_SIZE} bytes`, MapErrno.E2BIG);
}

/** A live array or per-CPU array. */
export class ArrayMap implements MapOps {
  readonly address: number;
  readonly perCpu: boolean;
  /** Bytes per CPU slot (value size rounded up to 8). */
  readonly stride: number;
  /** CPU slots per index. */
  readonly cpus: number;
  protected readonly regions: MapRegions;

  constructor(
    readonly def: MapDef,
    protected readonly env: MapEnv,
  ) {
    this.perCpu = def.type === BpfMapType.PERCPU_ARRAY;
    this.cpus = this.perCpu ? env.cpus : 1;
    this.stride = stride8(def.valueSize);
    this.regions = allocMapRegions(env, def, def.maxEntries * this.stride * this.cpus);
    this.address = this.regions.address;
  }

  /** Memory offset of index `i`'s slot for `cpu`. */
  slotOffset(index: number, cpu: number): number {
    return this.regions.data.start + (index * this.cpus + (this.perCpu ? cpu : 0)) * this.stride;
  }

  /** The virtual address of index `i`'s value on `cpu` (what lookup returns), for global data. */
  valueAddress(index: number, cpu = 0): number {
    return this.regions.data.address((index * this.cpus + (this.perCpu ? cpu : 0)) * this.stride);
  }

  /**
   * This map's lookup as address arithmetic (a compiler inlines it as the kernel's
   * map_gen_lookup does): value pointer = tag:dataOffset + index * indexStride + cpu * cpuStride.
   */
  inlineLookup(): InlineArrayLookup {
    const data = this.regions.data;
    return { kind: 'array', dataOffset: data.start, tag: Math.floor(data.address() / 4294967296), maxEntries: this.def.maxEntries, indexStride: this.stride * this.cpus, cpuStride: this.perCpu ? this.stride : 0, valueSize: this.def.valueSize, writable: data.writable };
  }

  lookup(key: Uint8Array, keyOffset: number, cpu: number): number {
    const index = readU32(key, keyOffset);
    if (index >= this.def.maxEntries) return 0;
    return this.valueAddress(index, cpu);
  }

  update(key: Uint8Array, keyOffset: number, value: Uint8Array, valueOffset: number, flags: number, cpu: number): number {
    const index = readU32(key, keyOffset);
    const err = this.checkUpdate(index, flags, false);
    if (err !== 0) return err;
    this.env.space.memory.bytes.set(value.subarray(valueOffset, valueOffset + this.def.valueSize), this.slotOffset(index, cpu));
    return 0;
  }

  /**
   * array_map_update_elem's checks, in its order. A program's BPF_F_LOCK fails last (no
   * bpf_spin_lock in the value); the syscall refuses BPF_F_LOCK before the map sees it (`user`).
   */
  private checkUpdate(index: number, flags: number, user: boolean): number {
    if ((flags & ~BpfUpdateFlags.F_LOCK) > BpfUpdateFlags.EXIST || (user && (flags & BpfUpdateFlags.F_LOCK) !== 0)) return -MapErrno.EINVAL;
    if (index >= this.def.maxEntries) return -MapErrno.E2BIG;
    if ((flags & BpfUpdateFlags.NOEXIST) !== 0) return -MapErrno.EEXIST;
    if ((flags & BpfUpdateFlags.F_LOCK) !== 0) return -MapErrno.EINVAL;
    return 0;
  }

  /** Array elements cannot be deleted: -EINVAL. */
  delete(_key?: Uint8Array, _keyOffset?: number): number {
    return -MapErrno.EINVAL;
  }

  read(key: Uint8Array): Uint8Array | undefined {
    const index = readU32(key, 0);
    if (index >= this.def.maxEntries) return undefined;
    const mem = this.env.space.memory.bytes;
    if (!this.perCpu) {
      const at = this.slotOffset(index, 0);
      return mem.slice(at, at + this.def.valueSize);
    }
    // Syscall layout: one 8-byte-padded slot per CPU (our slots are already padded).
    const at = this.slotOffset(index, 0);
    const out = mem.slice(at, at + this.stride * this.cpus);
    for (let c = 0; c < this.cpus; c++) out.fill(0, c * this.stride + this.def.valueSize, (c + 1) * this.stride);
    return out;
  }

  write(key: Uint8Array, value: Uint8Array, flags: number): number {
    const index = readU32(key, 0);
    const err = this.checkUpdate(index, flags, true);
    if (err !== 0) return err;
    const mem = this.env.space.memory.bytes;
    if (!this.perCpu) {
      mem.set(value.subarray(0, this.def.valueSize), this.slotOffset(index, 0));
      return 0;
    }
    for (let c = 0; c < this.cpus; c++) mem.set(value.subarray(c * this.stride, c * this.stride + this.def.valueSize), this.slotOffset(index, c));
    return 0;
  }

  nextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    return nextIndexKey(key, this.def.maxEntries);
  }

  count(): number {
    return this.def.maxEntries;
  }

  clear(): void {
    this.regions.data.bytes().fill(0);
  }
}

/** The handle a prog array slot holds: whatever the runtime stores there (a prepared program). */
export type ProgramHandle = unknown;

/**
 * A prog array: `bpf_tail_call` targets. Slots hold opaque program handles the runtime resolves
 * (the kernel stores program references, set from user space by prog fd); from user space a
 * slot reads back as the program's id, as BPF_MAP_LOOKUP_ELEM returns it.
 */
export class ProgArrayOps implements MapOps {
  readonly address: number;
  readonly perCpu = false;
  private readonly handles: ProgramHandle[];
  private readonly ids: Uint32Array;
  private readonly regions: MapRegions;

  constructor(
    readonly def: MapDef,
    env: MapEnv,
  ) {
    ensureTableFits(def, def.maxEntries, 16);
    this.handles = new Array<ProgramHandle>(def.maxEntries).fill(undefined);
    this.ids = new Uint32Array(def.maxEntries);
    this.regions = allocMapRegions(env, def, 0, false);
    this.address = this.regions.address;
  }

  /** The program in slot `index`, or undefined (empty or out of range: the tail call falls through). */
  program(index: number): ProgramHandle | undefined {
    return index >= 0 && index < this.def.maxEntries ? this.handles[index] : undefined;
  }

  /**
   * Puts `handle` in slot `index` (undefined empties it); `id` is what a user-side lookup reads
   * back (the kernel reports the program's id). Returns 0, or -E2BIG past the end.
   */
  setProgram(index: number, handle: ProgramHandle | undefined, id = 0): number {
    if (!(index >= 0 && index < this.def.maxEntries)) return -MapErrno.E2BIG;
    this.handles[index] = handle;
    this.ids[index] = handle === undefined ? 0 : id;
    return 0;
  }

  /** Programs cannot look a prog array up (the verifier refuses it): always NULL. */
  lookup(_key?: Uint8Array, _keyOffset?: number, _cpu?: number): number {
    return 0;
  }

  /** Programs cannot update a prog array: -EINVAL (user space uses setProgram). */
  update(): number {
    return -MapErrno.EINVAL;
  }

  delete(key: Uint8Array, keyOffset: number): number {
    const index = readU32(key, keyOffset);
    if (index >= this.def.maxEntries) return -MapErrno.E2BIG;
    if (this.handles[index] === undefined) return -MapErrno.ENOENT;
    this.setProgram(index, undefined);
    return 0;
  }

  read(key: Uint8Array): Uint8Array | undefined {
    const index = readU32(key, 0);
    if (index >= this.def.maxEntries || this.handles[index] === undefined) return undefined;
    return u32Bytes(this.ids[index]!);
  }

  /** User space stores programs with setProgram; a raw fd means nothing here: -EINVAL. */
  write(): number {
    return -MapErrno.EINVAL;
  }

  nextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    return nextIndexKey(key, this.def.maxEntries);
  }

  count(): number {
    return this.handles.reduce<number>((n, h) => n + (h === undefined ? 0 : 1), 0);
  }

  clear(): void {
    this.handles.fill(undefined);
    this.ids.fill(0);
  }
}

/** BPF_MAP_TYPE_ARRAY and BPF_MAP_TYPE_PERCPU_ARRAY. */
export const arrayFamily: MapFamily = {
  types: [BpfMapType.ARRAY, BpfMapType.PERCPU_ARRAY],
  check: checkArrayAttributes,
  create: (def, env) => new ArrayMap(def, env),
};

/** BPF_MAP_TYPE_PROG_ARRAY (fd_array_map_alloc_check: u32 values, no program access flags). */
export const progArrayFamily: MapFamily = {
  types: [BpfMapType.PROG_ARRAY],
  check(def) {
    ensure(def, def.valueSize === 4, 'valueSize', 'prog array values are u32 program fds (value_size 4)');
    ensure(def, (def.flags & (BpfMapFlags.RDONLY_PROG | BpfMapFlags.WRONLY_PROG)) === 0, 'flags', 'program access flags are not supported on prog arrays');
    checkArrayAttributes(def);
  },
  create: (def, env) => new ProgArrayOps(def, env),
};
