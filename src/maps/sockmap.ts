// Socket maps (net/core/sock_map.c): sockmap (sockets by index) and sockhash (sockets by key), for sk_msg/sk_skb redirects.
//
// A value is a socket: user space stores one by passing its fd (u32, or u64 for value_size 8),
// and a u64 map reads back the socket's cookie. The userspace runtime has no sockets, so its
// socket maps stay empty: a user-side update throws SocketMapUpdateError (a NotSupportedError
// naming the family and why) after the kernel's own first check (an fd above INT_MAX is
// EINVAL). Everything else answers as the kernel answers for an empty map: lookups ENOENT
// (value_size 4: ENOSPC, nothing readable — both read as absent here), sockmap deletes EINVAL
// (an empty slot, or past the end), sockhash deletes ENOENT, sockmap get_next_key walks every
// index like an array, sockhash get_next_key has no key to give. The kernel's create rules:
// sockmap key 4, value 4 or 8, max_entries 1..INT_MAX; sockhash any key size 1..512 (E2BIG
// above MAX_BPF_STACK), value 4 or 8, max_entries > 0; both only BPF_F_NUMA_NODE, BPF_F_RDONLY,
// BPF_F_WRONLY. Programs may look sockets up (NULL here) and redirect to them only from socket
// program types, which the userspace runtime does not run.

import { NotSupportedError } from '../errors.js';
import { mapTypeName } from '../isa/map-types.js';
import { BpfMapFlags, BpfMapType } from '../isa/uapi.generated.js';
import { MapErrno } from './errors.js';
import { allocMapRegions, checkFlags, ensure, nextIndexKey, readU32, type MapRegions } from './map-memory.js';
import type { MapDef, MapEnv, MapFamily, MapOps } from './map-ops.js';

/** Largest sockhash key: MAX_BPF_STACK. */
export const SOCKHASH_MAX_KEY_SIZE = 512;
const INT_MAX = 0x7fffffff;

/** A socket-holding map (sockmap, sockhash) was asked to store a socket in the userspace runtime, which has none. */
export class SocketMapUpdateError extends NotSupportedError {
  constructor(
    /** The map's name. */
    readonly map: string,
    /** `enum bpf_map_type`. */
    readonly type: number,
  ) {
    super(`storing a socket in ${mapTypeName(type)} "${map}" in the userspace runtime`, undefined, 'a value is a socket fd, and userspace has no sockets (load the object into the kernel to fill it)');
  }
}

/** A live BPF_MAP_TYPE_SOCKMAP or BPF_MAP_TYPE_SOCKHASH (always empty in userspace). */
export class SocketMap implements MapOps {
  readonly address: number;
  readonly perCpu = false;
  /** True for BPF_MAP_TYPE_SOCKHASH. */
  readonly isHash: boolean;
  private readonly regions: MapRegions;

  constructor(
    readonly def: MapDef,
    env: MapEnv,
  ) {
    this.isHash = def.type === BpfMapType.SOCKHASH;
    this.regions = allocMapRegions(env, def, 0, false);
    this.address = this.regions.address;
  }

  /** bpf_map_lookup_elem / bpf_sk_lookup from a program: no socket is ever stored, NULL. */
  lookup(_key?: Uint8Array, _keyOffset?: number, _cpu?: number): number {
    return 0;
  }

  /** bpf_sock_map_update / bpf_sock_hash_update need a socket the program holds: none here (-EINVAL, as for a NULL socket). */
  update(_key?: Uint8Array, _keyOffset?: number, _value?: Uint8Array, _valueOffset?: number, _flags?: number, _cpu?: number): number {
    return -MapErrno.EINVAL;
  }

  /** sockmap: -EINVAL (the slot is empty, or past the end); sockhash: -ENOENT. */
  delete(_key?: Uint8Array, _keyOffset?: number): number {
    return this.isHash ? -MapErrno.ENOENT : -MapErrno.EINVAL;
  }

  /** Nothing is stored: undefined (the kernel: ENOENT, or ENOSPC for a 4-byte value). */
  read(_key?: Uint8Array): Uint8Array | undefined {
    return undefined;
  }

  /**
   * sock_map_update_elem_sys: an fd above INT_MAX is -EINVAL; any other names a socket, which
   * userspace cannot have: throws SocketMapUpdateError.
   */
  write(_key: Uint8Array, value: Uint8Array, _flags: number): number {
    const fd = this.def.valueSize === 8 ? readU32(value, 0) + readU32(value, 4) * 2 ** 32 : readU32(value, 0);
    if (fd > INT_MAX) return -MapErrno.EINVAL;
    throw new SocketMapUpdateError(this.def.name, this.def.type);
  }

  nextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    return this.isHash ? undefined : nextIndexKey(key, this.def.maxEntries);
  }

  count(): number {
    return 0;
  }

  clear(): void {}
}

/** BPF_MAP_TYPE_SOCKMAP and BPF_MAP_TYPE_SOCKHASH. */
export const socketMapFamily: MapFamily = {
  types: [BpfMapType.SOCKMAP, BpfMapType.SOCKHASH],
  check(def) {
    const hash = def.type === BpfMapType.SOCKHASH;
    ensure(def, def.maxEntries > 0, 'maxEntries', 'needs max_entries > 0');
    if (!hash) ensure(def, def.maxEntries <= INT_MAX, 'maxEntries', 'at most INT_MAX entries');
    ensure(def, hash ? def.keySize > 0 : def.keySize === 4, 'keySize', hash ? 'a sockhash needs a key' : 'a sockmap key is a u32 index (key_size 4)');
    ensure(def, def.valueSize === 4 || def.valueSize === 8, 'valueSize', 'a value is a socket fd (u32) or a socket fd / cookie (u64)');
    checkFlags(def, BpfMapFlags.NUMA_NODE | BpfMapFlags.RDONLY | BpfMapFlags.WRONLY, `a ${hash ? 'sockhash' : 'sockmap'}`);
    if (hash) ensure(def, def.keySize <= SOCKHASH_MAX_KEY_SIZE, 'keySize', `at most ${SOCKHASH_MAX_KEY_SIZE} bytes (MAX_BPF_STACK)`, MapErrno.E2BIG);
  },
  create: (def, env) => new SocketMap(def, env),
};
