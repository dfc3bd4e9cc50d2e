// Cgroup local storage (kernel/bpf/local_storage.c): one value (shared or per-CPU) per attached cgroup, read with bpf_get_local_storage.
//
// The kernel allocates a storage when a program using the map is attached to a cgroup, keyed
// by `struct bpf_cgroup_storage_key { u64 cgroup_inode_id; u32 attach_type; }` (key_size 16:
// one storage per cgroup and attach type) or by the bare u64 cgroup id (key_size 8: shared by
// every attach type of that cgroup); the program's bpf_get_local_storage returns the storage
// of the cgroup it runs for. BPF_PROG_TEST_RUN gives each test run a fresh zeroed storage that
// is linked into no map, so user space never sees it.
//
// The userspace model: `attach(cgroupId, attachType)` creates the storage a real attach would
// (zeroed; newest first in get_next_key order, as the kernel's list_add), `select(...)` says
// which storage the runs that follow use, and `testRunStorage()` starts a fresh unlinked one
// (the test-run model, also what a run uses when nothing was selected). User-side operations
// follow the kernel: lookup of an absent key ENOENT; update flags other than BPF_ANY/BPF_EXIST
// (shared: also BPF_F_LOCK) EINVAL, absent key ENOENT (storages are created only by attach);
// delete always EINVAL; per-CPU values in the padded syscall layout. Create rules: key_size 16
// or 8, value_size 1..65407 (per-CPU: ..32768; above: E2BIG), max_entries 0, flags only
// BPF_F_NUMA_NODE and the access flags.

import { BpfMapFlags, BpfMapType, BpfUpdateFlags } from '../isa/uapi.generated.js';
import type { Region } from '../vm/address-space.js';
import { PCPU_MIN_UNIT_SIZE } from './array.js';
import { MapErrno } from './errors.js';
import { ACCESS_MASK, allocMapRegions, checkFlags, ensure, stride8, type MapRegions } from './map-memory.js';
import type { MapDef, MapEnv, MapFamily, MapOps } from './map-ops.js';
import { LOCAL_STORAGE_MAX_VALUE_SIZE } from './sk-storage.js';

/** sizeof(struct bpf_cgroup_storage_key). */
export const CGROUP_STORAGE_KEY_SIZE = 16;
const BPF_F_LOCK = 4;

interface Storage {
  readonly cgroupId: bigint;
  readonly attachType: number;
  /** One value per CPU slot (1 for the shared map), each at stride8(valueSize). */
  readonly region: Region;
}

/** A live BPF_MAP_TYPE_CGROUP_STORAGE or BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE. */
export class CgroupStorageMap implements MapOps {
  readonly address: number;
  readonly perCpu: boolean;
  readonly cpus: number;
  /** True when the key is struct bpf_cgroup_storage_key (one storage per attach type). */
  readonly perAttachType: boolean;
  private readonly regions: MapRegions;
  /** Linked storages, newest first (the kernel's map->list order). */
  private readonly linked: Storage[] = [];
  private current: Storage | undefined;

  constructor(
    readonly def: MapDef,
    private readonly env: MapEnv,
  ) {
    this.perCpu = def.type === BpfMapType.PERCPU_CGROUP_STORAGE;
    this.cpus = this.perCpu ? env.cpus : 1;
    this.perAttachType = def.keySize === CGROUP_STORAGE_KEY_SIZE;
    this.regions = allocMapRegions(env, def, 0, false);
    this.address = this.regions.address;
  }

  private alloc(cgroupId: bigint, attachType: number): Storage {
    const region = this.env.space.addRegion(`map:${this.def.name}`, stride8(this.def.valueSize) * this.cpus, { kind: 'map', writable: (this.def.flags & BpfMapFlags.RDONLY_PROG) === 0, align: 8 });
    return { cgroupId, attachType: this.perAttachType ? attachType : 0, region };
  }

  private find(cgroupId: bigint, attachType: number): Storage | undefined {
    return this.linked.find((s) => s.cgroupId === cgroupId && (!this.perAttachType || s.attachType === attachType));
  }

  /**
   * A program using this map attached to cgroup `cgroupId` with `attachType`: creates that
   * storage (zeroed) unless it exists (key_size 8: one per cgroup whatever the attach type),
   * selects it for the runs that follow, and returns it as a key.
   */
  attach(cgroupId: bigint, attachType: number): Uint8Array {
    let s = this.find(cgroupId, attachType);
    if (!s) {
      s = this.alloc(cgroupId, attachType);
      this.linked.unshift(s);
    }
    this.current = s;
    return this.keyOf(s);
  }

  /** Unlinks the storage of `cgroupId`/`attachType` (its last program detached); false when absent. */
  detach(cgroupId: bigint, attachType: number): boolean {
    const s = this.find(cgroupId, attachType);
    if (!s) return false;
    this.linked.splice(this.linked.indexOf(s), 1);
    if (this.current === s) this.current = undefined;
    return true;
  }

  /** Runs that follow use the storage of `cgroupId`/`attachType` (attached first if needed). */
  select(cgroupId: bigint, attachType: number): void {
    this.attach(cgroupId, attachType);
  }

  /** Starts a fresh zeroed storage linked into no map for the runs that follow, as each BPF_PROG_TEST_RUN does. */
  testRunStorage(): void {
    this.current = this.alloc(0n, 0);
  }

  /** bpf_get_local_storage on `cpu`: the address of the current storage's value (this CPU's slot when per-CPU). */
  localStorage(cpu: number): number {
    if (!this.current) this.testRunStorage();
    return this.current!.region.address(this.perCpu ? cpu * stride8(this.def.valueSize) : 0);
  }

  private keyOf(s: Storage): Uint8Array {
    const k = new Uint8Array(this.def.keySize);
    const v = new DataView(k.buffer);
    v.setBigUint64(0, s.cgroupId, true);
    if (this.perAttachType) v.setUint32(8, s.attachType, true);
    return k;
  }

  private byKey(key: Uint8Array, offset = 0): Storage | undefined {
    const v = new DataView(key.buffer, key.byteOffset + offset, this.def.keySize);
    return this.find(v.getBigUint64(0, true), this.perAttachType ? v.getUint32(8, true) : 0);
  }

  /** Programs read the storage with bpf_get_local_storage, not bpf_map_lookup_elem (the verifier refuses it): NULL. */
  lookup(_key?: Uint8Array, _keyOffset?: number, _cpu?: number): number {
    return 0;
  }
  /** Programs cannot update it: -EINVAL. */
  update(_key?: Uint8Array, _keyOffset?: number, _value?: Uint8Array, _valueOffset?: number, _flags?: number, _cpu?: number): number {
    return -MapErrno.EINVAL;
  }
  /** cgroup_storage_delete_elem: always -EINVAL (storages go away with their attachment). */
  delete(_key?: Uint8Array, _keyOffset?: number): number {
    return -MapErrno.EINVAL;
  }

  read(key: Uint8Array): Uint8Array | undefined {
    const s = this.byKey(key);
    if (!s) return undefined;
    const mem = this.env.space.memory.bytes;
    if (!this.perCpu) return mem.slice(s.region.start, s.region.start + this.def.valueSize);
    return mem.slice(s.region.start, s.region.start + stride8(this.def.valueSize) * this.cpus);
  }

  write(key: Uint8Array, value: Uint8Array, flags: number): number {
    if (this.perCpu ? flags !== BpfUpdateFlags.ANY && flags !== BpfUpdateFlags.EXIST : (flags & ~(BPF_F_LOCK | BpfUpdateFlags.EXIST)) !== 0) return -MapErrno.EINVAL;
    if (!this.perCpu && (flags & BPF_F_LOCK) !== 0) return -MapErrno.EINVAL; // no bpf_spin_lock in the value (BTF-less model)
    const s = this.byKey(key);
    if (!s) return -MapErrno.ENOENT;
    const n = this.perCpu ? stride8(this.def.valueSize) * this.cpus : this.def.valueSize;
    this.env.space.memory.bytes.set(value.subarray(0, n), s.region.start);
    return 0;
  }

  /** Linked storages, newest first; from an absent key: none (ENOENT), as the kernel. */
  nextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    if (this.linked.length === 0) return undefined;
    if (key === undefined) return this.keyOf(this.linked[0]!);
    const s = this.byKey(key);
    if (!s) return undefined;
    const next = this.linked[this.linked.indexOf(s) + 1];
    return next ? this.keyOf(next) : undefined;
  }

  count(): number {
    return this.linked.length;
  }

  clear(): void {
    this.linked.length = 0;
    this.current = undefined;
  }
}

/** BPF_MAP_TYPE_CGROUP_STORAGE and BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE. */
export const cgroupStorageFamily: MapFamily = {
  types: [BpfMapType.CGROUP_STORAGE, BpfMapType.PERCPU_CGROUP_STORAGE],
  check(def) {
    const max = def.type === BpfMapType.PERCPU_CGROUP_STORAGE ? Math.min(LOCAL_STORAGE_MAX_VALUE_SIZE, PCPU_MIN_UNIT_SIZE) : LOCAL_STORAGE_MAX_VALUE_SIZE;
    ensure(def, def.keySize === CGROUP_STORAGE_KEY_SIZE || def.keySize === 8, 'keySize', 'the key is struct bpf_cgroup_storage_key (16) or a u64 cgroup id (8)');
    ensure(def, def.valueSize > 0, 'valueSize', 'needs a value');
    ensure(def, def.valueSize <= max, 'valueSize', `at most ${max} bytes`, MapErrno.E2BIG);
    checkFlags(def, BpfMapFlags.NUMA_NODE | ACCESS_MASK, 'cgroup storage');
    ensure(def, def.maxEntries === 0, 'maxEntries', 'cgroup storage takes max_entries 0 (one value per attached cgroup)');
  },
  create: (def, env) => new CgroupStorageMap(def, env),
};
