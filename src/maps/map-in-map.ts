// Map-in-map (kernel/bpf/map_in_map.c, arraymap.c, hashtab.c): array of maps and hash of maps.
//
// Values are inner maps that must match the inner map template the outer map was created with
// (same type, key size, value size and flags; for arrays also max_entries, unless the template
// was created with BPF_F_INNER_MAP) — otherwise -EINVAL, like bpf_map_meta_equal. A program's
// lookup returns the inner map's address (the kernel's `struct bpf_map *`), which the runtime
// resolves back to the map; a user-space lookup reads the inner map's id (what the kernel's
// syscall returns). User space stores inner maps with `setInner` (the kernel takes an inner map
// fd). Array of maps: only BPF_ANY updates, delete of an empty slot is ENOENT, get_next_key as
// arrays. Hash of maps: a hash map's flags, E2BIG and bucket order (see hash.ts).

import { BpfMapFlags, BpfMapType, BpfUpdateFlags } from '../isa/uapi.generated.js';
import { checkArrayAttributes } from './array.js';
import { MapErrno } from './errors.js';
import { checkHash, HashMap } from './hash.js';
import { allocMapRegions, ensure, ensureTableFits, readU32, u32Bytes, type MapRegions, nextIndexKey } from './map-memory.js';
import type { MapDef, MapEnv, MapFamily, MapOps } from './map-ops.js';

const MAP_IN_MAP = new Set<number>([BpfMapType.ARRAY_OF_MAPS, BpfMapType.HASH_OF_MAPS]);

/** bpf_map_meta_equal: whether `inner` may be stored in a map whose template is `template`. */
export function innerMatches(template: MapDef, inner: MapDef): boolean {
  // Only plain arrays compare max_entries (array_map_meta_equal), and not with BPF_F_INNER_MAP.
  const sameMax = template.type !== BpfMapType.ARRAY || (template.flags & BpfMapFlags.INNER_MAP) !== 0 || template.maxEntries === inner.maxEntries;
  return template.type === inner.type && template.keySize === inner.keySize && template.valueSize === inner.valueSize && template.flags === inner.flags && sameMax;
}

/** An inner map and the id user space reads back for it. */
interface InnerRef {
  readonly map: MapOps;
  readonly id: number;
}

/** Operations shared by both map-in-map types. */
export interface MapInMapOps extends MapOps {
  /** Stores `inner` at `key` (id: what a user-space lookup reads back). 0 or -errno (-EINVAL: not like the template). */
  setInner(key: Uint8Array, inner: MapOps, id?: number, flags?: number): number;
  /** The inner map at `key`, or undefined. */
  inner(key: Uint8Array): MapOps | undefined;
}

/** A live array of maps. */
export class ArrayOfMaps implements MapInMapOps {
  readonly address: number;
  readonly perCpu = false;
  private readonly slots: (InnerRef | undefined)[];
  private readonly regions: MapRegions;

  constructor(
    readonly def: MapDef,
    env: MapEnv,
  ) {
    ensureTableFits(def, def.maxEntries, 16);
    this.slots = new Array<InnerRef | undefined>(def.maxEntries).fill(undefined);
    this.regions = allocMapRegions(env, def, 0, false);
    this.address = this.regions.address;
  }

  setInner(key: Uint8Array, inner: MapOps, id = 0, flags: number = BpfUpdateFlags.ANY): number {
    if (flags !== BpfUpdateFlags.ANY) return -MapErrno.EINVAL;
    const index = readU32(key, 0);
    if (index >= this.def.maxEntries) return -MapErrno.E2BIG;
    if (!this.def.innerMap || !innerMatches(this.def.innerMap, inner.def)) return -MapErrno.EINVAL;
    this.slots[index] = { map: inner, id };
    return 0;
  }

  inner(key: Uint8Array): MapOps | undefined {
    const index = readU32(key, 0);
    return index < this.def.maxEntries ? this.slots[index]?.map : undefined;
  }

  lookup(key: Uint8Array, keyOffset: number): number {
    const index = readU32(key, keyOffset);
    return index < this.def.maxEntries ? (this.slots[index]?.map.address ?? 0) : 0;
  }

  /** Programs cannot update a map-in-map (the verifier refuses it): -EINVAL. */
  update(_key?: Uint8Array, _keyOffset?: number, _value?: Uint8Array, _valueOffset?: number, _flags?: number, _cpu?: number): number {
    return -MapErrno.EINVAL;
  }

  delete(key: Uint8Array, keyOffset: number): number {
    const index = readU32(key, keyOffset);
    if (index >= this.def.maxEntries) return -MapErrno.E2BIG;
    if (!this.slots[index]) return -MapErrno.ENOENT;
    this.slots[index] = undefined;
    return 0;
  }

  read(key: Uint8Array): Uint8Array | undefined {
    const index = readU32(key, 0);
    const ref = index < this.def.maxEntries ? this.slots[index] : undefined;
    return ref ? u32Bytes(ref.id) : undefined;
  }

  /** User space stores inner maps with setInner (a raw fd means nothing here): -EINVAL. */
  write(_key?: Uint8Array, _value?: Uint8Array, _flags?: number): number {
    return -MapErrno.EINVAL;
  }

  nextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    return nextIndexKey(key, this.def.maxEntries);
  }

  count(): number {
    return this.slots.reduce<number>((n, s) => n + (s ? 1 : 0), 0);
  }

  clear(): void {
    this.slots.fill(undefined);
  }
}

/** A live hash of maps: a hash map whose 4-byte values index a table of inner maps. */
export class HashOfMaps extends HashMap implements MapInMapOps {
  private readonly refs: (InnerRef | undefined)[] = [undefined];
  private readonly freeRefs: number[] = [];

  setInner(key: Uint8Array, inner: MapOps, id = 0, flags: number = BpfUpdateFlags.ANY): number {
    if (key.length !== this.def.keySize) return -MapErrno.EINVAL;
    if (!this.def.innerMap || !innerMatches(this.def.innerMap, inner.def)) return -MapErrno.EINVAL;
    const before = this.refIndexOf(key);
    let r = this.freeRefs.pop();
    if (r === undefined) {
      r = this.refs.length;
      this.refs.push(undefined);
    }
    this.refs[r] = { map: inner, id };
    const rc = super.write(key, u32Bytes(r), flags);
    if (rc < 0) {
      this.refs[r] = undefined;
      this.freeRefs.push(r);
      return rc;
    }
    if (before > 0) this.dropRef(before);
    return 0;
  }

  private refIndexOf(key: Uint8Array): number {
    const v = super.read(key);
    return v ? readU32(v, 0) : 0;
  }

  private dropRef(r: number): void {
    this.refs[r] = undefined;
    this.freeRefs.push(r);
  }

  inner(key: Uint8Array): MapOps | undefined {
    return this.refs[this.refIndexOf(key)]?.map;
  }

  override lookup(key: Uint8Array, keyOffset: number, cpu: number): number {
    const p = super.lookup(key, keyOffset, cpu);
    if (p === 0) return 0;
    const r = readU32(this.env.space.read(p, 4), 0);
    return this.refs[r]?.map.address ?? 0;
  }

  override update(): number {
    return -MapErrno.EINVAL;
  }

  override delete(key: Uint8Array, keyOffset: number): number {
    const k = key.slice(keyOffset, keyOffset + this.def.keySize);
    const r = this.refIndexOf(k);
    const rc = super.delete(k, 0);
    if (rc === 0 && r > 0) this.dropRef(r);
    return rc;
  }

  override read(key: Uint8Array): Uint8Array | undefined {
    const r = this.refIndexOf(key);
    const ref = r > 0 ? this.refs[r] : undefined;
    return ref ? u32Bytes(ref.id) : undefined;
  }

  override write(): number {
    return -MapErrno.EINVAL;
  }

  override clear(): void {
    super.clear();
    this.refs.length = 1;
    this.freeRefs.length = 0;
  }
}

function checkInner(def: MapDef): void {
  ensure(def, def.innerMap !== undefined, 'innerMap', 'a map-in-map needs an inner map template', MapErrno.EBADF);
  ensure(def, !MAP_IN_MAP.has(def.innerMap?.type ?? 0), 'innerMap', 'an inner map cannot itself be a map-in-map');
  ensure(def, def.valueSize === 4, 'valueSize', 'map-in-map values are u32 map fds (value_size 4)');
}

/** BPF_MAP_TYPE_ARRAY_OF_MAPS and BPF_MAP_TYPE_HASH_OF_MAPS. */
export const mapInMapFamily: MapFamily = {
  types: [BpfMapType.ARRAY_OF_MAPS, BpfMapType.HASH_OF_MAPS],
  check(def) {
    if (def.type === BpfMapType.ARRAY_OF_MAPS) {
      ensure(def, def.valueSize === 4, 'valueSize', 'map-in-map values are u32 map fds (value_size 4)');
      ensure(def, (def.flags & (BpfMapFlags.RDONLY_PROG | BpfMapFlags.WRONLY_PROG)) === 0, 'flags', 'program access flags are not supported on map-in-map');
      checkArrayAttributes(def);
    } else {
      ensure(def, def.valueSize === 4, 'valueSize', 'map-in-map values are u32 map fds (value_size 4)');
      checkHash(def);
    }
    checkInner(def);
  },
  create: (def, env) => (def.type === BpfMapType.ARRAY_OF_MAPS ? new ArrayOfMaps(def, env) : new HashOfMaps(def, env)),
};
