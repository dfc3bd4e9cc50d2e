// BpfMap: the user-facing map API shared by the userspace runtime and the kernel backend.
//
// The same test code reads `stats.getPerCpu(key)` whether `stats` lives in the interpreter's
// memory or in the kernel (cilium/ebpf's Map, aya's HashMap/PerCpuArray). This file is the
// contract only; `src/maps/runtime-map.ts` implements it over MapOps and
// `src/kernel/kernel-map.ts` over a map fd. Keys and values are raw bytes here; `typed()`
// wraps a map with codecs (from BTF or written by hand).

/** BPF_ANY / BPF_NOEXIST / BPF_EXIST (plus BPF_F_LOCK), as update flags. */
export type UpdateMode = 'any' | 'noexist' | 'exist';

/** The attributes every map exposes. */
export interface MapInfoBase {
  /** Map name (global data: `.data`, `.rodata`...). */
  readonly name: string;
  /** `enum bpf_map_type`. */
  readonly type: number;
  /** Key size in bytes. */
  readonly keySize: number;
  /** Value size in bytes (one CPU's slot for per-CPU maps). */
  readonly valueSize: number;
  /** Maximum number of entries. */
  readonly maxEntries: number;
  /** `map_flags`. */
  readonly flags: number;
  /** True for per-CPU map types. */
  readonly perCpu: boolean;
  /** Number of CPUs a per-CPU value has slots for (1 otherwise). */
  readonly cpus: number;
}

/**
 * A live map, userspace or kernel. Wrong key or value sizes throw `InvalidKeySizeError` /
 * `InvalidValueSizeError`; kernel-side failures keep the errno (`E2BIG` when full, `EEXIST` for
 * `noexist` on a present key...).
 */
export interface BpfMap<K = Uint8Array, V = Uint8Array> extends MapInfoBase {
  /** The value for `key` (per-CPU maps: CPU 0's slot — use getPerCpu), or undefined. */
  get(key: K): V | undefined;
  /** Every CPU's value for `key`, index = CPU, or undefined. Non-per-CPU maps: one element. */
  getPerCpu(key: K): V[] | undefined;
  /** Stores `value` (per-CPU maps: the same value on every CPU). */
  set(key: K, value: V, mode?: UpdateMode): void;
  /** Stores one value per CPU (length must equal `cpus`). */
  setPerCpu(key: K, values: readonly V[], mode?: UpdateMode): void;
  /** Deletes `key`; returns false when it was not there (arrays cannot delete: throws). */
  delete(key: K): boolean;
  /** Keys in the map's iteration order (the kernel's get_next_key order for that backend). */
  keys(): IterableIterator<K>;
  /** [key, value] pairs (per-CPU maps: CPU 0's value — use entriesPerCpu). */
  entries(): IterableIterator<[K, V]>;
  /** [key, values per CPU] pairs. */
  entriesPerCpu(): IterableIterator<[K, V[]]>;
}
