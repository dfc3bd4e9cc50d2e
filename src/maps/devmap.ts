// Device maps (kernel/bpf/devmap.c): devmap (an array of interfaces) and devmap hash, the targets of bpf_redirect_map.
//
// A value is `struct bpf_devmap_val` — u32 ifindex, then (value_size 8) the fd of an XDP
// program to run on the device before transmit, which reads back as that program's id — or a
// bare 4-byte ifindex. The kernel forces BPF_F_RDONLY_PROG (a lookup points straight at the
// entry), so programs can read but not store through the pointer. An ifindex that does not
// exist is EINVAL (`env.ifindexExists`); an empty devmap slot is ifindex 0.
//
// devmap: indexes 0..max_entries-1; update with ifindex 0 empties the slot; delete always
// succeeds; NOEXIST is EEXIST; get_next_key walks every index, empty or not (like arrays).
// devmap hash: keys in roundup_pow_of_two(max_entries) buckets by key & (n - 1), newest first
// per bucket, get_next_key in that order; ifindex 0 is EINVAL; BPF_EXIST does not require the
// key (the kernel only checks NOEXIST); a new key past max_entries is E2BIG.

import { BpfMapFlags, BpfMapType, BpfUpdateFlags } from '../isa/uapi.generated.js';
import { MapErrno } from './errors.js';
import { roundupPow2 } from './hash.js';
import { allocMapRegions, checkFlags, ensure, ensureTableFits, nextIndexKey, readU32, u32Bytes, type MapRegions } from './map-memory.js';
import type { MapDef, MapEnv, MapFamily, MapOps } from './map-ops.js';

/** One devmap entry: the interface and the id of the program attached to the entry (0 if none). */
export interface DevmapEntry {
  readonly ifindex: number;
  readonly progId: number;
}

/** A live devmap or devmap hash. */
export class DevMap implements MapOps {
  readonly address: number;
  readonly perCpu = false;
  /** True for BPF_MAP_TYPE_DEVMAP_HASH. */
  readonly isHash: boolean;
  private readonly regions: MapRegions;
  /** Slot per entry: ifindex (0 = empty) and program id. */
  private readonly ifindex: Uint32Array;
  private readonly progId: Uint32Array;
  /** Hash only: key per slot, chain links, bucket heads, free slots. */
  private readonly keys: Uint32Array;
  private readonly nextSlot: Int32Array;
  private readonly heads: Int32Array;
  private readonly free: number[] = [];
  private items = 0;
  private readonly nBuckets: number;

  constructor(
    readonly def: MapDef,
    private readonly env: MapEnv,
  ) {
    ensureTableFits(def, def.maxEntries + 1, 24);
    this.isHash = def.type === BpfMapType.DEVMAP_HASH;
    const slots = def.maxEntries + (this.isHash ? 1 : 0);
    this.ifindex = new Uint32Array(slots);
    this.progId = new Uint32Array(slots);
    this.keys = new Uint32Array(this.isHash ? slots : 0);
    this.nextSlot = new Int32Array(this.isHash ? slots : 0).fill(-1);
    this.nBuckets = this.isHash ? roundupPow2(def.maxEntries) : 0;
    this.heads = new Int32Array(this.nBuckets).fill(-1);
    for (let i = slots - 1; i >= 0 && this.isHash; i--) this.free.push(i);
    this.regions = allocMapRegions(env, def, slots * 8, false);
    this.address = this.regions.address;
  }

  private setSlot(s: number, ifindex: number, progId: number): void {
    this.ifindex[s] = ifindex;
    this.progId[s] = progId;
    const v = this.env.space.memory.view;
    v.setUint32(this.regions.data.start + s * 8, ifindex, true);
    v.setUint32(this.regions.data.start + s * 8 + 4, progId, true);
  }

  private findHash(key: number): number {
    for (let s = this.heads[key & (this.nBuckets - 1)]!; s >= 0; s = this.nextSlot[s]!) if (this.keys[s] === key) return s;
    return -1;
  }

  private slotOf(key: number): number {
    if (this.isHash) return this.findHash(key);
    return key < this.def.maxEntries && this.ifindex[key] !== 0 ? key : -1;
  }

  /** The entry for `key` (what bpf_redirect_map sends to), or undefined. */
  entry(key: number): DevmapEntry | undefined {
    const s = this.slotOf(key >>> 0);
    return s < 0 ? undefined : { ifindex: this.ifindex[s]!, progId: this.progId[s]! };
  }

  lookup(key: Uint8Array, keyOffset: number): number {
    const s = this.slotOf(readU32(key, keyOffset));
    return s < 0 ? 0 : this.regions.data.address(s * 8);
  }

  /** Validates a value (ifindex exists, program fd resolves); the entry or -errno. */
  private resolve(value: Uint8Array, valueOffset: number): DevmapEntry | number {
    const ifindex = readU32(value, valueOffset);
    const fd = this.def.valueSize >= 8 ? readU32(value, valueOffset + 4) | 0 : 0;
    if (ifindex === 0) return fd > 0 ? -MapErrno.EINVAL : { ifindex: 0, progId: 0 };
    if (this.env.ifindexExists && !this.env.ifindexExists(ifindex)) return -MapErrno.EINVAL;
    let progId = 0;
    if (fd > 0) {
      const id = this.env.devmapProgramId?.(fd);
      if (id === undefined) return -MapErrno.EINVAL;
      progId = id;
    }
    return { ifindex, progId };
  }

  /** Programs cannot update device maps (the verifier refuses it): -EINVAL. */
  update(_key?: Uint8Array, _keyOffset?: number, _value?: Uint8Array, _valueOffset?: number, _flags?: number, _cpu?: number): number {
    return -MapErrno.EINVAL;
  }

  write(key: Uint8Array, value: Uint8Array, flags: number): number {
    const k = readU32(key, 0);
    if (!this.isHash) {
      if (flags > BpfUpdateFlags.EXIST) return -MapErrno.EINVAL;
      if (k >= this.def.maxEntries) return -MapErrno.E2BIG;
      if (flags === BpfUpdateFlags.NOEXIST) return -MapErrno.EEXIST;
      const e = this.resolve(value, 0);
      if (typeof e === 'number') return e;
      this.setSlot(k, e.ifindex, e.progId);
      return 0;
    }
    if (flags > BpfUpdateFlags.EXIST || readU32(value, 0) === 0) return -MapErrno.EINVAL;
    const old = this.findHash(k);
    if (old >= 0 && (flags & BpfUpdateFlags.NOEXIST) !== 0) return -MapErrno.EEXIST;
    const e = this.resolve(value, 0);
    if (typeof e === 'number') return e;
    if (old < 0 && this.items >= this.def.maxEntries) return -MapErrno.E2BIG;
    const s = this.free.pop()!;
    this.keys[s] = k;
    this.setSlot(s, e.ifindex, e.progId);
    if (old >= 0) this.unlinkHash(old);
    else this.items++;
    const b = k & (this.nBuckets - 1);
    this.nextSlot[s] = this.heads[b]!;
    this.heads[b] = s;
    return 0;
  }

  private unlinkHash(s: number): void {
    const b = this.keys[s]! & (this.nBuckets - 1);
    let prev = -1;
    for (let t = this.heads[b]!; t >= 0; prev = t, t = this.nextSlot[t]!) {
      if (t !== s) continue;
      if (prev < 0) this.heads[b] = this.nextSlot[s]!;
      else this.nextSlot[prev] = this.nextSlot[s]!;
      break;
    }
    this.setSlot(s, 0, 0);
    this.free.push(s);
  }

  delete(key: Uint8Array, keyOffset: number): number {
    const k = readU32(key, keyOffset);
    if (!this.isHash) {
      if (k >= this.def.maxEntries) return -MapErrno.EINVAL;
      this.setSlot(k, 0, 0);
      return 0;
    }
    const s = this.findHash(k);
    if (s < 0) return -MapErrno.ENOENT;
    this.unlinkHash(s);
    this.items--;
    return 0;
  }

  read(key: Uint8Array): Uint8Array | undefined {
    const s = this.slotOf(readU32(key, 0));
    if (s < 0) return undefined;
    const out = new Uint8Array(this.def.valueSize);
    out.set(u32Bytes(this.ifindex[s]!), 0);
    if (this.def.valueSize >= 8) out.set(u32Bytes(this.progId[s]!), 4);
    return out;
  }

  nextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    if (!this.isHash) return nextIndexKey(key, this.def.maxEntries);
    let b = 0;
    if (key !== undefined) {
      const k = readU32(key, 0);
      const s = this.findHash(k);
      if (s >= 0) {
        const n = this.nextSlot[s]!;
        if (n >= 0) return u32Bytes(this.keys[n]!);
        b = (k & (this.nBuckets - 1)) + 1;
      }
    }
    for (; b < this.nBuckets; b++) if (this.heads[b]! >= 0) return u32Bytes(this.keys[this.heads[b]!]!);
    return undefined;
  }

  count(): number {
    if (this.isHash) return this.items;
    let n = 0;
    for (const i of this.ifindex) if (i !== 0) n++;
    return n;
  }

  clear(): void {
    if (!this.isHash) {
      for (let i = 0; i < this.def.maxEntries; i++) this.setSlot(i, 0, 0);
      return;
    }
    for (let b = 0; b < this.nBuckets; b++) while (this.heads[b]! >= 0) this.unlinkHash(this.heads[b]!);
    this.items = 0;
  }
}

/** BPF_MAP_TYPE_DEVMAP and BPF_MAP_TYPE_DEVMAP_HASH. */
export const devmapFamily: MapFamily = {
  types: [BpfMapType.DEVMAP, BpfMapType.DEVMAP_HASH],
  check(def) {
    ensure(def, def.maxEntries > 0, 'maxEntries', 'needs max_entries > 0');
    ensure(def, def.keySize === 4, 'keySize', 'device map keys are u32 (key_size 4)');
    ensure(def, def.valueSize === 4 || def.valueSize === 8, 'valueSize', 'values are a u32 ifindex (4) or struct bpf_devmap_val (8)');
    checkFlags(def, BpfMapFlags.NUMA_NODE | BpfMapFlags.RDONLY | BpfMapFlags.WRONLY, 'a device map');
    if (def.type === BpfMapType.DEVMAP_HASH) ensure(def, def.maxEntries <= 2 ** 31, 'maxEntries', 'at most 2^31 entries');
  },
  create: (def, env) => new DevMap(def, env),
};
