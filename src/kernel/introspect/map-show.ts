// Maps and links as `bpftool map show -j` / `bpftool link show -j` describe them.
import { attachTypeName, linkTypeName } from '../../isa/attach-types.js';
import { mapTypeName } from '../../isa/map-types.js';
import { programTypeName } from '../../isa/program-types.js';
import { linkInfo, mapInfo } from '../bpf/obj-info.js';
import type { Fd } from '../fd.js';
import type { Sys } from '../sys.js';
import { fdinfo, fdinfoNumber } from './fdinfo.js';
import { forEachObject } from './prog-show.js';

/** One map, with `bpftool map show -j`'s field names. */
export interface MapRecord {
  readonly id: number;
  /** bpftool's type name (`hash`, `percpu_array`...). */
  readonly type: string;
  readonly name?: string;
  readonly flags: number;
  readonly bytes_key: number;
  readonly bytes_value: number;
  readonly max_entries: number;
  /** From /proc/self/fdinfo. */
  readonly bytes_memlock?: number;
  /** 1 once BPF_MAP_FREEZE was called (fdinfo). */
  readonly frozen?: number;
  readonly btf_id?: number;
  readonly map_extra?: number;
  /** Prog arrays: the program type that owns it, once a program uses it (fdinfo). */
  readonly owner_prog_type?: string;
  /** Prog arrays: whether the owner is JITed. */
  readonly owner_jited?: boolean;
}

/** Describes the map behind `fd` the way `bpftool map show` does. */
export function describeMap(fd: Fd<'map'>): MapRecord {
  const info = mapInfo(fd);
  const fdi = fdinfo(fd);
  const memlock = fdinfoNumber(fdi, 'memlock');
  const frozen = fdinfoNumber(fdi, 'frozen');
  return {
    id: info.id,
    type: mapTypeName(info.type),
    ...(info.name ? { name: info.name } : {}),
    flags: info.flags,
    bytes_key: info.keySize,
    bytes_value: info.valueSize,
    max_entries: info.maxEntries,
    ...(memlock !== undefined ? { bytes_memlock: memlock } : {}),
    ...(frozen !== undefined ? { frozen } : {}),
    ...(info.btfId ? { btf_id: info.btfId } : {}),
    ...(info.mapExtra ? { map_extra: Number(info.mapExtra) } : {}),
    ...(fdi.has('owner_prog_type') ? { owner_prog_type: programTypeName(fdinfoNumber(fdi, 'owner_prog_type') ?? 0), owner_jited: fdi.get('owner_jited') === '1' } : {}),
  };
}

/** Every map in the kernel, in id order. */
export function listMaps(sys: Sys): MapRecord[] {
  return forEachObject(sys, 'map', describeMap);
}

/** One link, with `bpftool link show -j`'s common field names. */
export interface LinkRecord {
  readonly id: number;
  /** bpftool's link type name (`xdp`, `tcx`, `netkit`...). */
  readonly type: string;
  readonly prog_id: number;
  /** Interface index, for XDP, TCX and netkit links. */
  readonly ifindex?: number;
  /** Attach type name, for TCX, netkit, cgroup and netns links. */
  readonly attach_type?: string;
}

/** Describes the link behind `fd`. */
export function describeLink(fd: Fd<'link'>): LinkRecord {
  const info = linkInfo(fd);
  return {
    id: info.id,
    type: linkTypeName(info.type),
    prog_id: info.progId,
    ...(info.ifindex !== undefined ? { ifindex: info.ifindex } : {}),
    ...(info.attachType !== undefined ? { attach_type: attachTypeName(info.attachType) } : {}),
  };
}

/** Every link in the kernel, in id order. */
export function listLinks(sys: Sys): LinkRecord[] {
  return forEachObject(sys, 'link', describeLink);
}
