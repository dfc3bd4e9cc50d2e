// Cgroup arrays (BPF_MAP_TYPE_CGROUP_ARRAY): cgroups by index, tested by bpf_skb_under_cgroup against the task model.
//
// In the kernel a value written from userspace is a cgroup fd and the slot holds that cgroup.
// There are no cgroup fds in userspace, so a user-side write stores the value as the cgroup's id
// (the inode number of its cgroup2 directory, as bpf_skb_cgroup_id reports it); the helper then
// compares it with the task model's cgroup chain. The kernel's fd-array rules otherwise: update
// flags other than BPF_ANY are EINVAL, an index past max_entries E2BIG; a delete past the end is
// E2BIG, of an empty slot ENOENT; user-side lookups are ENOTSUPP (nothing to read back); programs
// may not look slots up (the verifier allows only bpf_skb_under_cgroup on this map).

import { BpfMapFlags, BpfMapType, BpfUpdateFlags } from '../isa/uapi.generated.js';
import { MapErrno } from './errors.js';
import { allocMapRegions, checkFlags, ensure, ensureTableFits, nextIndexKey, readU32 } from './map-memory.js';
import type { MapDef, MapEnv, MapFamily, MapOps } from './map-ops.js';

/** A live BPF_MAP_TYPE_CGROUP_ARRAY holding cgroup ids (0 = empty). */
export class CgroupArray implements MapOps {
  readonly address: number;
  readonly perCpu = false;
  private readonly ids: Uint32Array;

  constructor(
    readonly def: MapDef,
    env: MapEnv,
  ) {
    ensureTableFits(def, def.maxEntries, 4);
    this.ids = new Uint32Array(def.maxEntries);
    // Programs only pass the map to helpers: a header region names it, no values.
    this.address = allocMapRegions(env, def, 0, false).address;
  }

  /** The cgroup id stored at `index`: 0 for an empty slot, undefined past max_entries. */
  cgroup(index: number): number | undefined {
    return index >= 0 && index < this.def.maxEntries ? this.ids[index]! : undefined;
  }

  /** Programs cannot look up a cgroup array (the verifier refuses it): NULL. */
  lookup(): number {
    return 0;
  }

  /** Programs cannot update a cgroup array (the verifier refuses it): -EINVAL. */
  update(): number {
    return -MapErrno.EINVAL;
  }

  delete(key: Uint8Array, keyOffset: number): number {
    const index = readU32(key, keyOffset);
    if (index >= this.def.maxEntries) return -MapErrno.E2BIG;
    if (this.ids[index] === 0) return -MapErrno.ENOENT;
    this.ids[index] = 0;
    return 0;
  }

  /** BPF_MAP_LOOKUP_ELEM on a cgroup array is ENOTSUPP in the kernel: nothing to read. */
  read(): Uint8Array | undefined {
    return undefined;
  }

  /** Stores cgroup id `value` (a u32, non-zero) at index `key` (BPF_ANY only); 0 or -errno. */
  write(key: Uint8Array, value: Uint8Array, flags: number): number {
    if (flags !== BpfUpdateFlags.ANY) return -MapErrno.EINVAL;
    const index = readU32(key, 0);
    if (index >= this.def.maxEntries) return -MapErrno.E2BIG;
    const id = readU32(value, 0);
    if (id === 0) return -MapErrno.EBADF; // no cgroup has id 0
    this.ids[index] = id;
    return 0;
  }

  nextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    return nextIndexKey(key, this.def.maxEntries);
  }

  count(): number {
    return this.ids.reduce((n, s) => n + (s !== 0 ? 1 : 0), 0);
  }

  clear(): void {
    this.ids.fill(0);
  }
}

/** BPF_MAP_TYPE_CGROUP_ARRAY: key and value 4 bytes (the index and, in userspace, a cgroup id). */
export const cgroupArrayFamily: MapFamily = {
  types: [BpfMapType.CGROUP_ARRAY],
  check(def) {
    // fd_array_map_alloc_check: no BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG on fd arrays.
    checkFlags(def, BpfMapFlags.NUMA_NODE | BpfMapFlags.RDONLY | BpfMapFlags.WRONLY, 'a cgroup array');
    ensure(def, def.keySize === 4, 'keySize', 'a cgroup array key is a u32 index');
    ensure(def, def.valueSize === 4, 'valueSize', 'a cgroup array value is a u32 cgroup fd (a cgroup id in userspace)');
    ensure(def, def.maxEntries > 0, 'maxEntries', 'max_entries must be at least 1');
  },
  create: (def, env) => new CgroupArray(def, env),
};
