// BPF_MAP_CREATE: a new map from its attributes.
import { MAP_CREATE_ATTR } from '../bpf-attr.generated.js';
import type { Fd } from '../fd.js';
import { StructWriter } from '../struct-codec.js';
import type { Sys } from '../sys.js';
import { BpfCmd } from './constants.js';
import { InvalidArgumentError } from './input-errors.js';
import { MapFd } from './map-fd.js';
import { checkObjectName } from './object-name.js';

/** What BPF_MAP_CREATE needs to make a map. */
export interface MapCreateOptions {
  /** `enum bpf_map_type` (MapType.HASH...). */
  type: number;
  /** Key size in bytes. */
  keySize: number;
  /** Value size in bytes (per CPU for per-CPU maps). */
  valueSize: number;
  /** Maximum number of entries. */
  maxEntries: number;
  /** `map_flags` (MapFlags.NO_PREALLOC, MMAPABLE...). */
  flags?: number;
  /** Name shown by bpftool, at most 15 characters of [A-Za-z0-9_.]. */
  name?: string;
  /** Inner map template, for map-in-map types. */
  innerMap?: Fd<'map'>;
  /** NUMA node (sets BPF_F_NUMA_NODE). */
  numaNode?: number;
  /** Interface index for offloaded maps. */
  ifindex?: number;
  /** BTF describing key and value. */
  btf?: Fd<'btf'>;
  /** BTF type id of the key. */
  btfKeyTypeId?: number;
  /** BTF type id of the value. */
  btfValueTypeId?: number;
  /** BTF type id of a struct_ops value in vmlinux BTF. */
  btfVmlinuxValueTypeId?: number;
  /** Type-specific extra (bloom filter hash count...). */
  mapExtra?: bigint;
}

const BPF_F_NUMA_NODE = 1 << 2;

/** Creates a map; the caller owns the returned fd. */
export function createMap(sys: Sys, options: MapCreateOptions): MapFd {
  for (const key of ['type', 'keySize', 'valueSize', 'maxEntries'] as const) {
    const v = options[key];
    if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) throw new InvalidArgumentError(`map ${key}`, `${v} is not a u32`);
  }
  let flags = options.flags ?? 0;
  const attr = new StructWriter(MAP_CREATE_ATTR)
    .u32('map_type', options.type)
    .u32('key_size', options.keySize)
    .u32('value_size', options.valueSize)
    .u32('max_entries', options.maxEntries);
  if (options.name) attr.cstring('map_name', checkObjectName('map name', options.name));
  if (options.innerMap) attr.u32('inner_map_fd', options.innerMap.raw);
  if (options.numaNode !== undefined) {
    flags |= BPF_F_NUMA_NODE;
    attr.u32('numa_node', options.numaNode);
  }
  attr.u32('map_flags', flags);
  if (options.ifindex) attr.u32('map_ifindex', options.ifindex);
  if (options.btf) attr.u32('btf_fd', options.btf.raw);
  if (options.btfKeyTypeId) attr.u32('btf_key_type_id', options.btfKeyTypeId);
  if (options.btfValueTypeId) attr.u32('btf_value_type_id', options.btfValueTypeId);
  if (options.btfVmlinuxValueTypeId) attr.u32('btf_vmlinux_value_type_id', options.btfVmlinuxValueTypeId);
  if (options.mapExtra) attr.u64('map_extra', options.mapExtra);
  const raw = sys.bpf(BpfCmd.MAP_CREATE, attr.bytes, attr.pointers);
  return new MapFd(sys, raw, { type: options.type, keySize: options.keySize, valueSize: options.valueSize, maxEntries: options.maxEntries, flags });
}
