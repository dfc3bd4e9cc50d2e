// Socket maps (net/core/sock_map.c): sockmap (sockets by index) and sockhash (sockets by key), for sk_msg/sk_skb redirects and sk_lookup selection.
//
// A value is a socket: user space stores one by passing its fd (u32, or u64 for value_size 8),
// and a u64 map reads back the socket's cookie. The userspace runtime has no fds: a user-side
// write names a socket of the socket model by its index (`sockets` of loadUserspace; MapEnv.socket
// resolves it), and programs looking the key up get that socket's struct bpf_sock, as sk_lookup
// programs do before bpf_sk_assign. Without a socket model a write throws SocketMapUpdateError (a
// NotSupportedError naming the family and why) after the kernel's own first check (an fd above
// INT_MAX is EINVAL). Otherwise the kernel's answers: lookups of an empty key ENOENT (value_size 4:
// ENOSPC, nothing readable — both read as absent here), sockmap deletes EINVAL (an empty slot, or
// past the end), sockhash deletes ENOENT, sockmap get_next_key walks every index like an array.
// The kernel's create rules: sockmap key 4, value 4 or 8, max_entries 1..INT_MAX; sockhash any key
// size 1..512 (E2BIG above MAX_BPF_STACK), value 4 or 8, max_entries > 0; both only
// BPF_F_NUMA_NODE, BPF_F_RDONLY, BPF_F_WRONLY. Program-side updates (bpf_map_update_elem with a
// socket a lookup gave, sock_map_update_elem) store a socket of the socket model found by its
// struct bpf_sock address; any other pointer is -EINVAL (the kernel: not a full socket).

import { NotSupportedError } from '../errors.js';
import { mapTypeName } from '../isa/map-types.js';
import { BpfMapFlags, BpfMapType, BpfUpdateFlags } from '../isa/uapi.generated.js';
import { MapErrno } from './errors.js';
import { allocMapRegions, checkFlags, ensure, nextIndexKey, readU32, type MapRegions } from './map-memory.js';
import type { MapDef, MapEnv, MapFamily, MapOps, MapSocket } from './map-ops.js';

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

/** A live BPF_MAP_TYPE_SOCKMAP or BPF_MAP_TYPE_SOCKHASH, holding sockets of the socket model. */
export class SocketMap implements MapOps {
  readonly address: number;
  readonly perCpu = false;
  /** True for BPF_MAP_TYPE_SOCKHASH. */
  readonly isHash: boolean;
  private readonly regions: MapRegions;
  /** The stored sockets, by key (hex). */
  private readonly held = new Map<string, { readonly key: Uint8Array; readonly socket: MapSocket }>();

  constructor(
    readonly def: MapDef,
    private readonly env: MapEnv,
  ) {
    this.isHash = def.type === BpfMapType.SOCKHASH;
    this.regions = allocMapRegions(env, def, 0, false);
    this.address = this.regions.address;
  }

  private keyOf(key: Uint8Array, keyOffset = 0): string {
    let s = '';
    for (let i = 0; i < this.def.keySize; i++) s += key[keyOffset + i]!.toString(16).padStart(2, '0');
    return s;
  }

  /** bpf_map_lookup_elem / bpf_sk_lookup from a program: the stored socket's struct bpf_sock, or NULL. */
  lookup(key?: Uint8Array, keyOffset = 0, _cpu?: number): number {
    if (!key) return 0;
    return this.held.get(this.keyOf(key, keyOffset))?.socket.address ?? 0;
  }

  /**
   * sock_map_update_elem (bpf_map_update_elem from a program; `valueOffset` is where the struct
   * bpf_sock a lookup returned lies in memory): a pointer that is no socket of the model -EINVAL (not a full socket), a
   * socket a socket map may not hold -EOPNOTSUPP, then the user-side rules (flags, E2BIG, EEXIST,
   * ENOENT) of sock_map_update_common / sock_hash_update_common.
   */
  update(key?: Uint8Array, keyOffset = 0, _value?: Uint8Array, valueOffset = 0, flags = 0, _cpu?: number): number {
    const socket = key ? this.socketAt(valueOffset) : undefined;
    if (!key || !socket) return -MapErrno.EINVAL;
    if (!socket.storable) return -MapErrno.EOPNOTSUPP;
    return this.store(key.subarray(keyOffset, keyOffset + this.def.keySize), socket, flags);
  }

  /** The socket of the model whose struct bpf_sock is at memory offset `at` (a helper's translated pointer). */
  private socketAt(at: number): MapSocket | undefined {
    if (!this.env.socket) return undefined;
    for (let i = 0; ; i++) {
      const s = this.env.socket(i);
      if (!s) return undefined;
      if (this.env.space.translateNumber(s.address, 1, false) === at) return s;
    }
  }

  private store(key: Uint8Array, socket: MapSocket, flags: number): number {
    if (flags > BpfUpdateFlags.EXIST) return -MapErrno.EINVAL;
    if (!this.isHash && readU32(key, 0) >= this.def.maxEntries) return -MapErrno.E2BIG;
    const k = this.keyOf(key);
    const held = this.held.has(k);
    if (flags === BpfUpdateFlags.NOEXIST && held) return -MapErrno.EEXIST;
    if (flags === BpfUpdateFlags.EXIST && !held) return -MapErrno.ENOENT;
    if (!held && this.isHash && this.held.size >= this.def.maxEntries) return -MapErrno.E2BIG;
    this.held.set(k, { key: key.slice(0, this.def.keySize), socket });
    return 0;
  }

  /** sockmap: -EINVAL for an empty slot or past the end; sockhash: -ENOENT for a missing key. */
  delete(key?: Uint8Array, keyOffset = 0): number {
    if (!key || !this.held.delete(this.keyOf(key, keyOffset))) return this.isHash ? -MapErrno.ENOENT : -MapErrno.EINVAL;
    return 0;
  }

  /** A u64 map reads back the socket's cookie; a u32 map has nothing readable (the kernel: ENOSPC); undefined when absent. */
  read(key?: Uint8Array): Uint8Array | undefined {
    const e = key ? this.held.get(this.keyOf(key)) : undefined;
    if (!e || this.def.valueSize !== 8) return undefined;
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, e.socket.cookie, true);
    return out;
  }

  /**
   * sock_map_update_elem_sys: an fd above INT_MAX is -EINVAL; the value names socket `value` of
   * the socket model (see MapEnv.socket): none there -EBADF, one a socket map may not hold
   * (TCP neither listening nor established) -EOPNOTSUPP; flags above BPF_EXIST -EINVAL,
   * BPF_NOEXIST on a held key -EEXIST, BPF_EXIST on a free one -ENOENT; a sockmap index past
   * the end -E2BIG. Without a socket model: SocketMapUpdateError.
   */
  write(key: Uint8Array, value: Uint8Array, flags: number): number {
    const fd = this.def.valueSize === 8 ? readU32(value, 0) + readU32(value, 4) * 2 ** 32 : readU32(value, 0);
    if (fd > INT_MAX) return -MapErrno.EINVAL;
    if (!this.env.socket) throw new SocketMapUpdateError(this.def.name, this.def.type);
    if (flags > BpfUpdateFlags.EXIST) return -MapErrno.EINVAL;
    if (!this.isHash && readU32(key, 0) >= this.def.maxEntries) return -MapErrno.E2BIG;
    const socket = this.env.socket(fd);
    if (!socket) return -MapErrno.EBADF;
    if (!socket.storable) return -MapErrno.EOPNOTSUPP;
    return this.store(key, socket, flags);
  }

  nextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    if (!this.isHash) return nextIndexKey(key, this.def.maxEntries);
    const keys = [...this.held.values()].map((e) => e.key);
    if (!key) return keys[0];
    const at = keys.findIndex((k) => this.keyOf(k) === this.keyOf(key));
    return at < 0 ? keys[0] : keys[at + 1];
  }

  count(): number {
    return this.held.size;
  }

  clear(): void {
    this.held.clear();
  }
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
