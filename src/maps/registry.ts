// The one list of userspace map families: createMap validates a definition and builds the live map.
//
// createMap runs the checks the kernel's map_create() makes before any family sees the
// attributes (known type, map_extra only where a family reads it, inner map only for map-in-map,
// not both BPF_F_RDONLY and BPF_F_WRONLY), then the family's own `check` (its map_alloc_check),
// then `create`. A definition the kernel would refuse throws MapAttributeError naming the field
// and the errno the kernel returns; a type without a family throws UnsupportedMapTypeError.

import { mapTypeName } from '../isa/map-types.js';
import { BpfMapFlags, BpfMapType, BpfMapTypeBounds } from '../isa/uapi.generated.js';
import { arenaFamily } from './arena.js';
import { arrayFamily, progArrayFamily } from './array.js';
import { bloomFilterFamily } from './bloom-filter.js';
import { cgroupArrayFamily } from './cgroup-array.js';
import { cgroupStorageFamily } from './cgroup-storage.js';
import { cpumapFamily } from './cpumap.js';
import { devmapFamily } from './devmap.js';
import { MapAttributeError, UnsupportedMapTypeError } from './errors.js';
import { hashFamily } from './hash.js';
import { lpmTrieFamily } from './lpm-trie.js';
import { lruHashFamily } from './lru.js';
import { mapInMapFamily } from './map-in-map.js';
import type { MapDef, MapEnv, MapFamily, MapOps } from './map-ops.js';
import { perfEventArrayFamily } from './perf-event-array.js';
import { queueStackFamily } from './queue-stack.js';
import { ringbufFamily } from './ringbuf.js';
import { skStorageFamily } from './sk-storage.js';
import { socketMapFamily } from './sockmap.js';
import { userRingbufFamily } from './user-ringbuf.js';
import { xskMapFamily } from './xskmap.js';

const FAMILIES: MapFamily[] = [
  arrayFamily,
  progArrayFamily,
  hashFamily,
  lruHashFamily,
  lpmTrieFamily,
  queueStackFamily,
  bloomFilterFamily,
  ringbufFamily,
  devmapFamily,
  mapInMapFamily,
  perfEventArrayFamily,
  xskMapFamily,
  cpumapFamily,
  socketMapFamily,
  skStorageFamily,
  cgroupStorageFamily,
  userRingbufFamily,
  arenaFamily,
  cgroupArrayFamily,
];

const BY_TYPE = new Map<number, MapFamily>();

/** Adds a family to the registry (each family file registers itself in registry order). */
function register(family: MapFamily): void {
  for (const t of family.types) BY_TYPE.set(t, family);
}
for (const f of FAMILIES) register(f);

/** The kernel's name of a map type (`percpu_hash`), or `type N` (re-exported from isa/map-types). */
export { mapTypeName };

/** The family serving `type`, or undefined when the userspace runtime has none. */
export function findMapFamily(type: number): MapFamily | undefined {
  return BY_TYPE.get(type);
}

/** The family serving `type`; throws UnsupportedMapTypeError when there is none. */
export function mapFamily(type: number): MapFamily {
  const family = BY_TYPE.get(type);
  if (!family) throw new UnsupportedMapTypeError(type, mapTypeName(type));
  return family;
}

/** The map types the userspace runtime implements. */
export function supportedMapTypes(): number[] {
  return [...BY_TYPE.keys()].sort((a, b) => a - b);
}

const MAP_EXTRA_TYPES = new Set<number>([BpfMapType.BLOOM_FILTER, BpfMapType.ARENA]);
const MAP_IN_MAP_TYPES = new Set<number>([BpfMapType.ARRAY_OF_MAPS, BpfMapType.HASH_OF_MAPS]);

const PAGE_SIZE = 4096;

/**
 * libbpf's adjust_ringbuf_sz: a ring buffer size that is not a power-of-two number of pages
 * becomes the smallest such size above it (0 stays 0, so the kernel refuses it).
 */
export function adjustRingbufSize(size: number): number {
  if (size === 0) return 0;
  const pages = size / PAGE_SIZE;
  if (Number.isInteger(pages) && (pages & (pages - 1)) === 0) return size;
  for (let mul = 1; mul <= Math.floor(0xffffffff / PAGE_SIZE); mul *= 2) if (mul * PAGE_SIZE > size) return mul * PAGE_SIZE;
  return size;
}

/**
 * max_entries as libbpf creates a map from an object: a perf event array declared with 0
 * entries gets one per possible CPU (`cpus`: the host's for the kernel, the runtime's simulated
 * CPUs in userspace), ring buffers and user ring buffers are rounded up to a power-of-two
 * number of pages; anything else as declared.
 */
export function libbpfMaxEntries(type: number, maxEntries: number, cpus: number): number {
  if (type === BpfMapType.PERF_EVENT_ARRAY && maxEntries === 0) return cpus;
  if (type === BpfMapType.RINGBUF || type === BpfMapType.USER_RINGBUF) return adjustRingbufSize(maxEntries);
  return maxEntries;
}

/** The checks map_create() makes before the family's own; throws MapAttributeError. */
function checkCommon(def: MapDef): void {
  for (const field of ['keySize', 'valueSize', 'maxEntries', 'flags'] as const) {
    const v = def[field];
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new MapAttributeError(def.name, field, v, 'not a u32');
  }
  if (!Number.isInteger(def.type) || def.type <= BpfMapType.UNSPEC || def.type >= BpfMapTypeBounds.__MAX_BPF_MAP_TYPE) throw new MapAttributeError(def.name, 'type', def.type, 'unknown map type');
  if ((def.mapExtra ?? 0) !== 0 && !MAP_EXTRA_TYPES.has(def.type)) throw new MapAttributeError(def.name, 'mapExtra', def.mapExtra ?? 0, `${mapTypeName(def.type)} maps take no map_extra`);
  if (def.innerMap && !MAP_IN_MAP_TYPES.has(def.type)) throw new MapAttributeError(def.name, 'innerMap', def.innerMap.type, `${mapTypeName(def.type)} maps take no inner map`);
  if ((def.flags & BpfMapFlags.RDONLY) !== 0 && (def.flags & BpfMapFlags.WRONLY) !== 0) throw new MapAttributeError(def.name, 'flags', def.flags, 'BPF_F_RDONLY and BPF_F_WRONLY together');
}

/** Validates `def` like BPF_MAP_CREATE without creating anything; throws MapAttributeError / UnsupportedMapTypeError. */
export function checkMapDef(def: MapDef): MapFamily {
  checkCommon(def);
  const family = mapFamily(def.type);
  family.check(def);
  return family;
}

/**
 * Creates a live userspace map of `def` in `env` (values in `env.space`). Throws
 * MapAttributeError for a definition the kernel would refuse (naming the field), or
 * UnsupportedMapTypeError for a type the runtime does not implement.
 */
export function createMap(def: MapDef, env: MapEnv): MapOps {
  const family = checkMapDef(def);
  return family.create(def, env);
}
