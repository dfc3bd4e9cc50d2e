// XSK maps (kernel/bpf/xskmap.c): AF_XDP sockets by index, the targets of bpf_redirect_map for zero-copy receive.
//
// A value is an AF_XDP socket fd. There are no sockets in userspace, so a user-side write
// stores the value as the socket's id (`socket(index)` reads it back): an XDP program sees the
// slot as filled and bpf_redirect_map to it returns XDP_REDIRECT with the runtime's redirect
// target naming the map and index — what a kernel xskmap does with a bound socket. The
// kernel's rules otherwise: update flags above BPF_EXIST are EINVAL, an index past
// max_entries E2BIG, BPF_NOEXIST on a filled slot EEXIST and BPF_EXIST on an empty one
// ENOENT; user-side lookups are EOPNOTSUPP (nothing to read); deletes past the end EINVAL,
// otherwise they empty the slot and succeed; get_next_key walks every index. Programs may look
// slots up (a non-NULL, read-only pointer when filled) and redirect to them, nothing else.

import { BpfMapFlags, BpfMapType, BpfUpdateFlags } from '../isa/uapi.generated.js';
import { MapErrno } from './errors.js';
import { allocMapRegions, checkFlags, ensure, ensureTableFits, nextIndexKey, readU32, type MapRegions } from './map-memory.js';
import type { MapDef, MapEnv, MapFamily, MapOps } from './map-ops.js';

/** A live BPF_MAP_TYPE_XSKMAP. */
export class XskMap implements MapOps {
  readonly address: number;
  readonly perCpu = false;
  private readonly regions: MapRegions;
  /** Socket id per slot (0 = empty). */
  private readonly sockets: Uint32Array;

  constructor(
    readonly def: MapDef,
    private readonly env: MapEnv,
  ) {
    ensureTableFits(def, def.maxEntries, 8);
    this.sockets = new Uint32Array(def.maxEntries);
    // One read-only 8-byte cell per slot: what a program's lookup points at (the kernel's struct xdp_sock *).
    this.regions = allocMapRegions(env, def, def.maxEntries * 8, false);
    this.address = this.regions.address;
  }

  /** The socket id stored at `index` (0 when empty or out of range). */
  socket(index: number): number {
    return index >= 0 && index < this.def.maxEntries ? this.sockets[index]! : 0;
  }

  private set(index: number, socket: number): void {
    this.sockets[index] = socket;
    this.env.space.memory.view.setUint32(this.regions.data.start + index * 8, socket, true);
  }

  /** A program's lookup: a pointer to the slot when a socket is there, else NULL. */
  lookup(key: Uint8Array, keyOffset: number): number {
    const index = readU32(key, keyOffset);
    if (index >= this.def.maxEntries || this.sockets[index] === 0) return 0;
    return this.regions.data.address(index * 8);
  }

  /** Programs cannot update an xskmap (the verifier refuses it): -EINVAL. */
  update(): number {
    return -MapErrno.EINVAL;
  }

  delete(key: Uint8Array, keyOffset: number): number {
    const index = readU32(key, keyOffset);
    if (index >= this.def.maxEntries) return -MapErrno.EINVAL;
    this.set(index, 0);
    return 0;
  }

  /** BPF_MAP_LOOKUP_ELEM on an xskmap is EOPNOTSUPP in the kernel: nothing to read. */
  read(): Uint8Array | undefined {
    return undefined;
  }

  /** Stores socket id `value` (a u32, non-zero) at index `key` with the kernel's flag rules; 0 or -errno. */
  write(key: Uint8Array, value: Uint8Array, flags: number): number {
    if (flags > BpfUpdateFlags.EXIST) return -MapErrno.EINVAL;
    const index = readU32(key, 0);
    if (index >= this.def.maxEntries) return -MapErrno.E2BIG;
    const socket = readU32(value, 0);
    if (socket === 0) return -MapErrno.EBADF; // fd 0 is never an AF_XDP socket here
    const old = this.sockets[index]!;
    if (old === socket) return 0;
    if (old !== 0 && flags === BpfUpdateFlags.NOEXIST) return -MapErrno.EEXIST;
    if (old === 0 && flags === BpfUpdateFlags.EXIST) return -MapErrno.ENOENT;
    this.set(index, socket);
    return 0;
  }

  nextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    return nextIndexKey(key, this.def.maxEntries);
  }

  count(): number {
    return this.sockets.reduce((n, s) => n + (s !== 0 ? 1 : 0), 0);
  }

  clear(): void {
    for (let i = 0; i < this.def.maxEntries; i++) if (this.sockets[i] !== 0) this.set(i, 0);
  }
}

/** BPF_MAP_TYPE_XSKMAP: key and value 4 bytes (the index and an AF_XDP socket fd). */
export const xskMapFamily: MapFamily = {
  types: [BpfMapType.XSKMAP],
  check(def) {
    checkFlags(def, BpfMapFlags.NUMA_NODE | BpfMapFlags.RDONLY | BpfMapFlags.WRONLY, 'an xskmap');
    ensure(def, def.keySize === 4, 'keySize', 'an xskmap key is a u32 index');
    ensure(def, def.valueSize === 4, 'valueSize', 'an xskmap value is a u32 socket fd');
    ensure(def, def.maxEntries > 0, 'maxEntries', 'max_entries must be at least 1');
  },
  create: (def, env) => new XskMap(def, env),
};
