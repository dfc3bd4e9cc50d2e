// Object ids: walk the ids of loaded programs, maps, links and BTF, and open an fd from an id.
import { GET_ID_ATTR } from '../bpf-attr.generated.js';
import { Errno } from '../errno.js';
import { Fd } from '../fd.js';
import { isErrno } from '../kernel-error.js';
import { StructReader, StructWriter } from '../struct-codec.js';
import type { Sys } from '../sys.js';
import { BpfCmd } from './constants.js';
import type { MapFd } from './map-fd.js';
import { toMapFd } from './obj-info.js';
import type { PinnableKind } from './obj-pin.js';

const NEXT_ID: Record<PinnableKind, number> = {
  prog: BpfCmd.PROG_GET_NEXT_ID,
  map: BpfCmd.MAP_GET_NEXT_ID,
  link: BpfCmd.LINK_GET_NEXT_ID,
  btf: BpfCmd.BTF_GET_NEXT_ID,
};

const FD_BY_ID: Record<PinnableKind, number> = {
  prog: BpfCmd.PROG_GET_FD_BY_ID,
  map: BpfCmd.MAP_GET_FD_BY_ID,
  link: BpfCmd.LINK_GET_FD_BY_ID,
  btf: BpfCmd.BTF_GET_FD_BY_ID,
};

/** The smallest id of a `kind` object greater than `startId`, or undefined when there is none. */
export function nextId(sys: Sys, kind: PinnableKind, startId = 0): number | undefined {
  const attr = new StructWriter(GET_ID_ATTR).u32('start_id', startId);
  try {
    sys.bpf(NEXT_ID[kind], attr.bytes, attr.pointers);
  } catch (err) {
    if (isErrno(err, Errno.ENOENT)) return undefined;
    throw err;
  }
  return new StructReader(GET_ID_ATTR, attr.bytes).u32('next_id');
}

/** Every id of `kind` currently loaded, ascending (a snapshot: objects come and go). */
export function* ids(sys: Sys, kind: PinnableKind): Generator<number> {
  for (let id = nextId(sys, kind); id !== undefined; id = nextId(sys, kind, id)) yield id;
}

/**
 * Opens an fd for the `kind` object with `id`; ENOENT (no such id) is thrown as a KernelError.
 * `openFlags`: ObjFlags.RDONLY / WRONLY for maps.
 */
export function fdById<K extends PinnableKind>(sys: Sys, kind: K, id: number, openFlags = 0): Fd<K> {
  const attr = new StructWriter(GET_ID_ATTR).u32('start_id', id).u32('open_flags', openFlags);
  const raw = sys.bpf(FD_BY_ID[kind], attr.bytes, attr.pointers);
  return new Fd(sys, raw, kind);
}

/** Opens the map with `id`, attributes included. */
export function mapFdById(sys: Sys, id: number, openFlags = 0): MapFd {
  return toMapFd(fdById(sys, 'map', id, openFlags));
}
