// Socket local storage (net/core/bpf_sk_storage.c over kernel/bpf/bpf_local_storage.c): one value per socket, created on demand.
//
// The kernel keys a user-side operation by a socket fd (key_size 4, an int) and a program's
// bpf_sk_storage_get/delete by the socket itself. The userspace runtime has no sockets or fds:
// user-side lookups find nothing, deletes answer EBADF (the fd names no open file, what
// sockfd_lookup says), get_next_key is ENOTSUPP as in the kernel (nothing to walk), and an
// update throws SocketStorageUpdateError (a NotSupportedError naming the map and why). For the
// program side the map keeps storages by owner (`storage(owner, create)`: the address of the
// owner's value, zeroed when created), which a helper serving bpf_sk_storage_get can use with
// any stand-in for the socket. The kernel's create rules (bpf_local_storage_map_alloc_check):
// BPF_F_NO_PREALLOC required, only it and BPF_F_CLONE; max_entries 0; key_size 4; value_size
// 1..65407 (above: E2BIG); key and value BTF type ids required.

import { NotSupportedError } from '../errors.js';
import { BpfMapFlags, BpfMapType } from '../isa/uapi.generated.js';
import { MapAttributeError, MapErrno } from './errors.js';
import { allocMapRegions, checkFlags, ensure, type MapRegions } from './map-memory.js';
import type { MapDef, MapEnv, MapFamily, MapOps } from './map-ops.js';
import type { Region } from '../vm/address-space.js';

/** BPF_LOCAL_STORAGE_MAX_VALUE_SIZE: U16_MAX less sizeof(struct bpf_local_storage_elem) (128 on x86-64). */
export const LOCAL_STORAGE_MAX_VALUE_SIZE = 0xffff - 128;

/** A user-side update of socket storage in the userspace runtime, which has no socket fds. */
export class SocketStorageUpdateError extends NotSupportedError {
  constructor(
    /** The map's name. */
    readonly map: string,
  ) {
    super(`updating sk_storage "${map}" from user space in the userspace runtime`, undefined, 'the key is a socket fd, and userspace has no sockets (a program creates the storage with bpf_sk_storage_get)');
  }
}

/** A live BPF_MAP_TYPE_SK_STORAGE. */
export class SkStorageMap implements MapOps {
  readonly address: number;
  readonly perCpu = false;
  private readonly regions: MapRegions;
  private readonly byOwner = new Map<number, Region>();

  constructor(
    readonly def: MapDef,
    private readonly env: MapEnv,
  ) {
    this.regions = allocMapRegions(env, def, 0, false);
    this.address = this.regions.address;
  }

  /**
   * The address of `owner`'s value (a socket's stand-in, any number), created zeroed (or from
   * `init`) when absent and `create` is set; 0 when absent otherwise. What bpf_sk_storage_get
   * returns.
   */
  storage(owner: number, create: boolean, init?: Uint8Array): number {
    let r = this.byOwner.get(owner);
    if (!r && create) {
      r = this.env.space.addRegion(`map:${this.def.name}`, this.def.valueSize, { kind: 'map', writable: true, align: 8 });
      if (init) this.env.space.memory.bytes.set(init.subarray(0, this.def.valueSize), r.start);
      this.byOwner.set(owner, r);
    }
    return r ? r.address() : 0;
  }

  /** bpf_sk_storage_delete: 0, or -ENOENT when `owner` has no storage. */
  remove(owner: number): number {
    return this.byOwner.delete(owner) ? 0 : -MapErrno.ENOENT;
  }

  /** Programs use bpf_sk_storage_get, not bpf_map_lookup_elem (the verifier refuses it): NULL. */
  lookup(_key?: Uint8Array, _keyOffset?: number, _cpu?: number): number {
    return 0;
  }
  /** Programs cannot bpf_map_update_elem local storage: -EINVAL. */
  update(_key?: Uint8Array, _keyOffset?: number, _value?: Uint8Array, _valueOffset?: number, _flags?: number, _cpu?: number): number {
    return -MapErrno.EINVAL;
  }
  /** A user-side delete names a socket fd: none is open here, -EBADF. */
  delete(_key?: Uint8Array, _keyOffset?: number): number {
    return -MapErrno.EBADF;
  }
  /** A user-side lookup names a socket fd: none here, nothing to read. */
  read(_key?: Uint8Array): Uint8Array | undefined {
    return undefined;
  }
  /** Throws SocketStorageUpdateError: the key would be a socket fd. */
  write(_key?: Uint8Array, _value?: Uint8Array, _flags?: number): number {
    throw new SocketStorageUpdateError(this.def.name);
  }
  /** get_next_key is ENOTSUPP for socket storage: nothing to walk. */
  nextKey(_key?: Uint8Array): Uint8Array | undefined {
    return undefined;
  }
  /** Storages programs created. */
  count(): number {
    return this.byOwner.size;
  }
  clear(): void {
    this.byOwner.clear();
  }
}

/** BPF_MAP_TYPE_SK_STORAGE. */
export const skStorageFamily: MapFamily = {
  types: [BpfMapType.SK_STORAGE],
  check(def) {
    checkFlags(def, BpfMapFlags.NO_PREALLOC | BpfMapFlags.CLONE, 'socket storage');
    ensure(def, (def.flags & BpfMapFlags.NO_PREALLOC) !== 0, 'flags', 'socket storage needs BPF_F_NO_PREALLOC');
    ensure(def, def.maxEntries === 0, 'maxEntries', 'socket storage takes max_entries 0 (one value per socket)');
    ensure(def, def.keySize === 4, 'keySize', 'the key is a socket fd (key_size 4)');
    ensure(def, def.valueSize > 0, 'valueSize', 'needs a value');
    if (!def.btfKeyTypeId) throw new MapAttributeError(def.name, 'btfKeyTypeId', 0, 'socket storage needs BTF for its key and value (the kernel enforces it for dumping)');
    if (!def.btfValueTypeId) throw new MapAttributeError(def.name, 'btfValueTypeId', 0, 'socket storage needs BTF for its key and value (the kernel enforces it for dumping)');
    ensure(def, def.valueSize <= LOCAL_STORAGE_MAX_VALUE_SIZE, 'valueSize', `at most ${LOCAL_STORAGE_MAX_VALUE_SIZE} bytes`, MapErrno.E2BIG);
  },
  create: (def, env) => new SkStorageMap(def, env),
};
