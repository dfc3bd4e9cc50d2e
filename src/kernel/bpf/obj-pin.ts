// BPF_OBJ_PIN and BPF_OBJ_GET: name an object in a bpffs, and open it again by that name.
import { BpfkitError } from '../../errors.js';
import { OBJ_PIN_ATTR } from '../bpf-attr.generated.js';
import { Fd, type FdKind } from '../fd.js';
import { StructWriter, cString } from '../struct-codec.js';
import type { Sys } from '../sys.js';
import { BpfCmd } from './constants.js';
import type { MapFd } from './map-fd.js';
import { toMapFd } from './obj-info.js';

/** Kinds of bpf object that can be pinned. */
export type PinnableKind = Extract<FdKind, 'map' | 'prog' | 'link' | 'btf'>;

/** Pins the object behind `fd` at `path`, a new name inside a mounted bpffs. */
export function pinObject(fd: Fd<PinnableKind>, path: string): void {
  const attr = new StructWriter(OBJ_PIN_ATTR).ptr('pathname', cString(path)).u32('bpf_fd', fd.raw);
  try {
    fd.sys.bpf(BpfCmd.OBJ_PIN, attr.bytes, attr.pointers);
  } catch (err) {
    throw err instanceof BpfkitError ? err.withContext(`pin ${fd} at ${path}`) : err;
  }
}

/**
 * Opens the object pinned at `path` as a `kind` fd. `flags`: ObjFlags.RDONLY / WRONLY.
 * The kernel does not say what kind it is; for maps use `openPinnedMap`, which reads the attributes.
 */
export function getPinnedObject<K extends PinnableKind>(sys: Sys, path: string, kind: K, flags = 0): Fd<K> {
  const attr = new StructWriter(OBJ_PIN_ATTR).ptr('pathname', cString(path)).u32('file_flags', flags);
  let raw: number;
  try {
    raw = sys.bpf(BpfCmd.OBJ_GET, attr.bytes, attr.pointers);
  } catch (err) {
    throw err instanceof BpfkitError ? err.withContext(`open pinned ${path}`) : err;
  }
  return new Fd(sys, raw, kind);
}

/** Opens the map pinned at `path`, with its attributes read from the kernel. */
export function openPinnedMap(sys: Sys, path: string, flags = 0): MapFd {
  return toMapFd(getPinnedObject(sys, path, 'map', flags));
}
