// Shared plumbing of the map families: the map's regions in the address space, byte helpers, flag checks.
import type { AddressSpace, Region } from '../vm/address-space.js';
import { BpfMapFlags } from '../isa/uapi.generated.js';
import { MapAttributeError, MapErrno } from './errors.js';
import type { MapDef, MapEnv } from './map-ops.js';

/** BPF_F_ACCESS_MASK: the four access flags every family accepts. */
export const ACCESS_MASK = BpfMapFlags.RDONLY | BpfMapFlags.RDONLY_PROG | BpfMapFlags.WRONLY | BpfMapFlags.WRONLY_PROG;

/** Bytes per CPU slot in the syscall layout of per-CPU values: the value size rounded up to 8. */
export function stride8(size: number): number {
  return (size + 7) & ~7;
}

/** Little-endian u32 at `bytes[offset]`. */
export function readU32(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>> 0;
}

/** Little-endian u32 bytes. */
export function u32Bytes(n: number): Uint8Array {
  return new Uint8Array([n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff]);
}

/** Whether `a[ao .. ao+n)` equals `b[bo .. bo+n)`. */
export function bytesEqual(a: Uint8Array, ao: number, b: Uint8Array, bo: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}

/**
 * Checks `map_flags` against the flags a family accepts (`allowed`), and the kernel's
 * bpf_map_flags_access_ok (not both RDONLY_PROG and WRONLY_PROG).
 */
export function checkFlags(def: MapDef, allowed: number, what: string): void {
  const extra = def.flags & ~allowed;
  if (extra !== 0) throw new MapAttributeError(def.name, 'flags', def.flags, `${what} does not accept flag bits 0x${(extra >>> 0).toString(16)}`);
  if ((def.flags & BpfMapFlags.RDONLY_PROG) !== 0 && (def.flags & BpfMapFlags.WRONLY_PROG) !== 0) {
    throw new MapAttributeError(def.name, 'flags', def.flags, 'BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG together');
  }
}

/**
 * get_next_key of the array-like families (array, prog/perf event/xsk arrays, array of maps):
 * index 0 after no key or an index past the end, then every index in order, none after the last.
 */
export function nextIndexKey(key: Uint8Array | undefined, maxEntries: number): Uint8Array | undefined {
  const index = key === undefined ? 0xffffffff : readU32(key, 0);
  if (index >= maxEntries) return u32Bytes(0);
  if (index === maxEntries - 1) return undefined;
  return u32Bytes(index + 1);
}

/** Throws a MapAttributeError (EINVAL unless `errno` says otherwise) when `bad`. */
export function ensure(def: MapDef, ok: boolean, field: 'keySize' | 'valueSize' | 'maxEntries' | 'flags' | 'mapExtra' | 'innerMap', reason: string, errno: number = MapErrno.EINVAL): void {
  if (ok) return;
  const value = field === 'innerMap' ? (def.innerMap?.type ?? 0) : field === 'mapExtra' ? (def.mapExtra ?? 0) : def[field];
  throw new MapAttributeError(def.name, field, value, reason, errno);
}

/**
 * A map's place in the address space: an empty read-only header region whose address is the
 * map pointer (`lddw rX, map` — the kernel's `struct bpf_map *`, which a program cannot
 * dereference), and a data region holding its values.
 */
export interface MapRegions {
  /** The map pointer. */
  readonly address: number;
  /** The values (kind 'map', name `map:NAME`). */
  readonly data: Region;
}

/** Largest JS-side table (handles, slots) a map may need, in bytes (the kernel would vmalloc it). */
const MAX_TABLE_BYTES = 2 ** 30;

/** Refuses (ENOMEM) a map whose JS-side tables of `entries` x `bytesPerEntry` would not fit. */
export function ensureTableFits(def: MapDef, entries: number, bytesPerEntry: number): void {
  if (entries * bytesPerEntry > MAX_TABLE_BYTES) throw new MapAttributeError(def.name, 'maxEntries', def.maxEntries, `${entries} entries need more than ${MAX_TABLE_BYTES} bytes of tables`, MapErrno.ENOMEM);
}

/** Allocates a map's header and `dataSize` bytes of zeroed value storage in `env.space`. */
export function allocMapRegions(env: MapEnv, def: MapDef, dataSize: number, writable = true): MapRegions {
  // WebAssembly memory stops at 4 GiB; a map that cannot fit is refused before anything is allocated.
  const room = 2 ** 32 - env.space.memory.used - 64;
  if (dataSize > room) throw new MapAttributeError(def.name, 'maxEntries', def.maxEntries, `${dataSize} bytes of values do not fit in the 4 GiB address space`, MapErrno.ENOMEM);
  const header = env.space.addRegion(`map:${def.name}`, 0, { kind: 'map', writable: false, align: 8 });
  let data: Region;
  try {
    data = env.space.addRegion(`map:${def.name}`, dataSize, { kind: 'map', writable: writable && (def.flags & BpfMapFlags.RDONLY_PROG) === 0, align: 8 });
  } catch (err) {
    throw new MapAttributeError(def.name, 'maxEntries', def.maxEntries, `cannot allocate ${dataSize} bytes of values (${(err as Error).message})`, MapErrno.ENOMEM);
  }
  return { address: header.address(), data };
}

/** The live byte view of `space`'s memory (re-read after anything that may allocate). */
export function memoryOf(space: AddressSpace): Uint8Array {
  return space.memory.bytes;
}

/** The number of CPUs a definition's values are kept for. */
export function cpuSlots(perCpu: boolean, env: MapEnv): number {
  return perCpu ? env.cpus : 1;
}
