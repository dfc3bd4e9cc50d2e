// The MapOps interface every userspace map family implements, and the shape of a map definition.
//
// Modelled on the kernel's `struct bpf_map_ops` (kernel/bpf/*.c): one ops object per family,
// a pure `check` of the attributes apart from allocation, and one code path serving both the
// program side (helpers, which pass keys and values by address in the program's memory) and the
// user side (the typed `BpfMap` API, which passes byte arrays). Values live in the address space
// of the runtime that owns the map, so a lookup hands the program a real pointer into them —
// exactly the kernel's contract — and a store through that pointer changes the map.
//
// Errors follow the kernel: the program side returns 0 or a negative errno (-ENOENT, -EEXIST,
// -E2BIG, -EINVAL...), exactly what the helper returns in r0; the user side throws typed errors
// (see errors.ts) carrying the same errno.

import type { AddressSpace } from '../vm/address-space.js';

/** The attributes a map is created with (a `MapSpec` or a kernel map's info reduce to this). */
export interface MapDef {
  /** Name, for messages and `map:NAME` region names. */
  readonly name: string;
  /** `enum bpf_map_type`. */
  readonly type: number;
  /** Key size in bytes (0 for queue, stack, ring buffer). */
  readonly keySize: number;
  /** Value size in bytes (per CPU for per-CPU maps). */
  readonly valueSize: number;
  /** Maximum number of entries (ring buffer: data size in bytes, a power of two of pages). */
  readonly maxEntries: number;
  /** `map_flags`: BPF_F_NO_PREALLOC, BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG, BPF_F_NO_COMMON_LRU... */
  readonly flags: number;
  /** `map_extra` (bloom filter: number of hash functions in the low 4 bits). */
  readonly mapExtra?: number;
  /** Inner map template (array of maps / hash of maps). */
  readonly innerMap?: MapDef;
  /** BTF type id of the key (0 or absent: none). Local storage maps require one, as the kernel does. */
  readonly btfKeyTypeId?: number;
  /** BTF type id of the value (0 or absent: none). */
  readonly btfValueTypeId?: number;
}

/** A socket of the socket model as a socket map holds it (MapEnv.socket). */
export interface MapSocket {
  /** The struct bpf_sock address a program's lookup returns. */
  readonly address: number;
  /** SO_COOKIE: what a u64 map reads back. */
  readonly cookie: bigint;
  /** sock_map_sk_state_allowed: TCP in LISTEN or ESTABLISHED, any UDP socket. */
  readonly storable: boolean;
}

/** What a map family needs from the runtime that owns it. */
export interface MapEnv {
  /** The address space values live in (the same one the programs run in). */
  readonly space: AddressSpace;
  /** Number of simulated CPUs: per-CPU maps keep this many value slots per key. */
  readonly cpus: number;
  /**
   * Resolves a map pointer a program or user passes as a value (array/hash of maps store map
   * references; prog arrays store programs, resolved by the runtime). Optional: only
   * map-in-map families use it.
   */
  readonly mapByAddress?: (address: number) => MapOps | undefined;
  /**
   * Resolves the socket a user-side write to a sockmap/sockhash names. The kernel takes a socket
   * fd; userspace has none, so the value is the socket's index in the socket model (`sockets`
   * of loadUserspace). Gives the struct bpf_sock address programs get, its cookie, and whether a
   * socket map may hold it (TCP listening or established, UDP); undefined for no such socket.
   * Optional: without it socket maps stay empty (a write throws SocketMapUpdateError).
   */
  readonly socket?: (index: number) => MapSocket | undefined;
  /** Source of randomness where the kernel uses it (bloom filter seed, LRU); default deterministic. */
  readonly random?: () => number;
  /**
   * Whether a network interface exists (devmap updates check it, as the kernel's
   * dev_get_by_index does). Optional: without it every non-zero ifindex is accepted.
   */
  readonly ifindexExists?: (ifindex: number) => boolean;
  /**
   * Resolves the program fd a devmap value names (`bpf_devmap_val.bpf_prog.fd`) to the
   * program's id, or undefined when it is no XDP program for a devmap (-EINVAL). Optional:
   * without it a program fd in a devmap value is refused.
   */
  readonly devmapProgramId?: (fd: number) => number | undefined;
  /**
   * Resolves the program fd a cpumap value names (`bpf_cpumap_val.bpf_prog.fd`) to the program
   * (an XDP program loaded for BPF_XDP_CPUMAP: section `xdp/cpumap`), or undefined when it is
   * none (the kernel then refuses the update). In the userspace runtime a program's "fd" is its
   * id in the object. Optional: without it a program fd in a cpumap value is refused.
   */
  readonly cpumapProgram?: (fd: number) => CpumapProgramRef | undefined;
}

/** A program a cpumap entry runs on its CPU: its id (what a lookup reads back) and the runtime's handle. */
export interface CpumapProgramRef {
  /** The program's id. */
  readonly id: number;
}

/**
 * Where a key or value is: `bytes[offset .. offset + size)`. The program side passes the whole
 * memory (`space.memory.bytes`) and an offset (no allocation per call); the user side passes
 * its own array and 0.
 */
export interface ByteRef {
  readonly bytes: Uint8Array;
  readonly offset: number;
}

/** One live map of a userspace runtime. Methods that a family does not support return -EOPNOTSUPP/-EINVAL like the kernel. */
export interface MapOps {
  /** The definition it was created from. */
  readonly def: MapDef;
  /**
   * The map's own region in the address space: its address is what `lddw rX, map` loads (the
   * kernel's `struct bpf_map *`), and helpers find the map again from it.
   */
  readonly address: number;
  /** True for per-CPU families (value slots per CPU). */
  readonly perCpu: boolean;
  /** CPU slots per value (per-CPU families: the env's CPU count; others 1 or absent). */
  readonly cpus?: number;

  /**
   * `bpf_map_lookup_elem` from a program running on `cpu`: the virtual address of the value
   * (the CPU's slot for per-CPU maps), or 0 (NULL) when there is none.
   */
  lookup(key: Uint8Array, keyOffset: number, cpu: number): number;
  /** `bpf_map_update_elem`: 0 or -errno (-E2BIG when full, -EEXIST/-ENOENT per flags, -EINVAL). */
  update(key: Uint8Array, keyOffset: number, value: Uint8Array, valueOffset: number, flags: number, cpu: number): number;
  /** `bpf_map_delete_elem`: 0 or -errno (-ENOENT; arrays: -EINVAL). */
  delete(key: Uint8Array, keyOffset: number): number;

  /**
   * User-side lookup (BPF_MAP_LOOKUP_ELEM): copies the value out. Per-CPU maps return every
   * CPU's value, each padded to a multiple of 8 bytes, concatenated — the kernel's syscall
   * layout. Returns undefined when absent.
   */
  read(key: Uint8Array): Uint8Array | undefined;
  /**
   * User-side update (BPF_MAP_UPDATE_ELEM); per-CPU maps take the padded per-CPU layout.
   * Returns 0 or -errno.
   */
  write(key: Uint8Array, value: Uint8Array, flags: number): number;
  /**
   * BPF_MAP_GET_NEXT_KEY: the key after `key` (the first key when `key` is undefined or not in
   * the map, as the kernel does for hash maps), or undefined at the end. Each family documents
   * its order.
   */
  nextKey(key: Uint8Array | undefined): Uint8Array | undefined;

  /** Queue/stack/bloom `push` (bpf_map_push_elem): 0 or -errno. Others: -EINVAL. */
  push?(value: Uint8Array, valueOffset: number, flags: number): number;
  /** Queue/stack pop/peek into `out` (bpf_map_pop_elem / peek_elem): 0 or -ENOENT. Bloom `peek` = contains. */
  pop?(out: Uint8Array, outOffset: number, remove: boolean): number;

  /** Number of live entries (for summaries). */
  count(): number;
  /** Drops every entry (arrays: zero every value). */
  clear(): void;
}

/** One map family: validates attributes, then creates maps of the types it serves. */
export interface MapFamily {
  /** The `enum bpf_map_type` values this family serves. */
  readonly types: readonly number[];
  /** Checks `def` the way the kernel's map_alloc_check does; throws a typed error naming what is wrong. */
  check(def: MapDef): void;
  /** Creates a live map in `env`. `check` has passed. */
  create(def: MapDef, env: MapEnv): MapOps;
}
