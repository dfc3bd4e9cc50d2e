// Arenas (kernel/bpf/arena.c): a sparse region of up to 4 GiB of pages shared by programs and a user-space mmap.
//
// The kernel's create rules (arena_map_alloc): key_size and value_size 0, max_entries (pages)
// > 0 and at most 4 GiB of them (E2BIG), BPF_F_MMAPABLE required, only it, BPF_F_SEGV_ON_FAULT
// and BPF_F_NO_USER_CONV; map_extra, the user address the region must be mapped at, page
// aligned (EINVAL) and not crossing a 4 GiB boundary (ERANGE). User-side operations: lookup
// EINVAL, update, delete and get_next_key EOPNOTSUPP. The userspace runtime creates the map so
// an object holding one loads; programs reach an arena only through address-space casts and the
// bpf_arena_alloc_pages/free_pages kfuncs, which it does not run (a program calling them fails
// at setup naming the kfunc).

import { BpfMapFlags, BpfMapType } from '../isa/uapi.generated.js';
import { MapErrno } from './errors.js';
import { allocMapRegions, checkFlags, ensure, type MapRegions } from './map-memory.js';
import type { MapDef, MapEnv, MapFamily, MapOps } from './map-ops.js';

const PAGE_SIZE = 4096;
const TWO32 = 2 ** 32;
/** ERANGE. */
const ERANGE = 34;

/** A live BPF_MAP_TYPE_ARENA (its pages are not modelled: see the file comment). */
export class ArenaMap implements MapOps {
  readonly address: number;
  readonly perCpu = false;
  private readonly regions: MapRegions;

  constructor(
    readonly def: MapDef,
    env: MapEnv,
  ) {
    this.regions = allocMapRegions(env, def, 0, false);
    this.address = this.regions.address;
  }

  /** The region's size in bytes (max_entries pages). */
  get byteSize(): number {
    return this.def.maxEntries * PAGE_SIZE;
  }

  lookup(_key?: Uint8Array, _keyOffset?: number, _cpu?: number): number {
    return 0;
  }
  update(_key?: Uint8Array, _keyOffset?: number, _value?: Uint8Array, _valueOffset?: number, _flags?: number, _cpu?: number): number {
    return -MapErrno.EOPNOTSUPP;
  }
  delete(_key?: Uint8Array, _keyOffset?: number): number {
    return -MapErrno.EOPNOTSUPP;
  }
  /** arena_map_lookup_elem is EINVAL: nothing to read. */
  read(_key?: Uint8Array): Uint8Array | undefined {
    return undefined;
  }
  write(_key?: Uint8Array, _value?: Uint8Array, _flags?: number): number {
    return -MapErrno.EOPNOTSUPP;
  }
  nextKey(_key?: Uint8Array): Uint8Array | undefined {
    return undefined;
  }
  count(): number {
    return 0;
  }
  clear(): void {}
}

/** BPF_MAP_TYPE_ARENA. */
export const arenaFamily: MapFamily = {
  types: [BpfMapType.ARENA],
  check(def) {
    ensure(def, def.keySize === 0, 'keySize', 'an arena has no keys (key_size 0)');
    ensure(def, def.valueSize === 0, 'valueSize', 'an arena has no values (value_size 0)');
    ensure(def, def.maxEntries > 0, 'maxEntries', 'max_entries is the number of pages, at least 1');
    ensure(def, (def.flags & BpfMapFlags.MMAPABLE) !== 0, 'flags', 'an arena needs BPF_F_MMAPABLE');
    checkFlags(def, BpfMapFlags.MMAPABLE | BpfMapFlags.SEGV_ON_FAULT | BpfMapFlags.NO_USER_CONV, 'an arena');
    const extra = def.mapExtra ?? 0;
    ensure(def, extra % PAGE_SIZE === 0, 'mapExtra', 'map_extra (the user address) must be page aligned');
    const range = def.maxEntries * PAGE_SIZE;
    ensure(def, range <= TWO32, 'maxEntries', 'at most 4 GiB of pages', MapErrno.E2BIG);
    ensure(def, Math.floor(extra / TWO32) === Math.floor((extra + range - 1) / TWO32), 'mapExtra', 'the user region must not cross a 4 GiB boundary', ERANGE);
  },
  create: (def, env) => new ArenaMap(def, env),
};
