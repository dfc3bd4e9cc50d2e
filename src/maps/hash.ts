// Hash maps (kernel/bpf/hashtab.c): hash and per-CPU hash, laid out like the kernel's buckets.
//
// n_buckets = roundup_pow_of_two(max_entries); a key's bucket is jhash(key, key_size, seed) &
// (n_buckets - 1) and new elements go to the head of their bucket's list — the kernel's
// structure, so get_next_key walks buckets in index order and each bucket newest first. With
// BPF_F_ZERO_SEED the seed is 0 in both, and the iteration order equals the kernel's exactly;
// otherwise the seed comes from `env.random` (default 0 too — deterministic).
//
// Values are preallocated slots in one region (max_entries + 1 of them: the kernel's spare
// "extra element"), so a pointer from `lookup` stays valid. Like the kernel, updating an existing
// key of a (non-per-CPU) hash writes a fresh slot, puts it at the head of the bucket and frees
// the old one — a program still holding the old pointer sees the old value; per-CPU hashes update
// in place. A new key on a full map is E2BIG; an existing key can always be updated.

import { BpfMapFlags, BpfMapType, BpfUpdateFlags } from '../isa/uapi.generated.js';
import { PCPU_MIN_UNIT_SIZE } from './array.js';
import { MapAttributeError, MapErrno } from './errors.js';
import { jhash } from './jhash.js';
import { ACCESS_MASK, allocMapRegions, bytesEqual, ensureTableFits, checkFlags, ensure, stride8, type MapRegions } from './map-memory.js';
import type { MapDef, MapEnv, MapFamily, MapOps } from './map-ops.js';
import type { InlineHashLookup } from '../vm/program.js';

const HTAB_FLAGS = BpfMapFlags.NO_PREALLOC | BpfMapFlags.NO_COMMON_LRU | BpfMapFlags.NUMA_NODE | ACCESS_MASK | BpfMapFlags.ZERO_SEED;
/** KMALLOC_MAX_SIZE on x86-64 (4 MiB pages << 10) less sizeof(struct htab_elem); key + value must stay below. */
const HTAB_KV_LIMIT = (1 << 22) - 48;

/** Smallest power of two >= n (n >= 1). */
export function roundupPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** htab_map_alloc_check for the four hash types. */
export function checkHash(def: MapDef): void {
  const percpu = def.type === BpfMapType.PERCPU_HASH || def.type === BpfMapType.LRU_PERCPU_HASH;
  const lru = def.type === BpfMapType.LRU_HASH || def.type === BpfMapType.LRU_PERCPU_HASH;
  checkFlags(def, HTAB_FLAGS, 'a hash map');
  ensure(def, lru || (def.flags & BpfMapFlags.NO_COMMON_LRU) === 0, 'flags', 'BPF_F_NO_COMMON_LRU is for LRU hashes');
  ensure(def, !lru || (def.flags & BpfMapFlags.NO_PREALLOC) === 0, 'flags', 'LRU hashes are always preallocated (BPF_F_NO_PREALLOC)', MapErrno.ENOTSUPP);
  ensure(def, !(percpu || (def.flags & BpfMapFlags.NO_COMMON_LRU) !== 0) || (def.flags & BpfMapFlags.NUMA_NODE) === 0, 'flags', 'per-CPU maps cannot be pinned to a NUMA node');
  ensure(def, def.maxEntries > 0, 'maxEntries', 'a hash map needs max_entries > 0');
  ensure(def, def.keySize > 0, 'keySize', 'a hash map needs key_size > 0');
  ensure(def, def.valueSize > 0, 'valueSize', 'a hash map needs value_size > 0');
  ensure(def, def.keySize + def.valueSize < HTAB_KV_LIMIT, 'valueSize', 'key_size + value_size too big for one element', MapErrno.E2BIG);
  if (percpu) ensure(def, stride8(def.valueSize) <= PCPU_MIN_UNIT_SIZE, 'valueSize', `per-CPU values are at most ${PCPU_MIN_UNIT_SIZE} bytes`, MapErrno.E2BIG);
}

/**
 * A live hash table with the kernel's bucket layout. Subclasses (LRU) override the slot
 * allocation and recency hooks.
 */
export class HashMap implements MapOps {
  readonly address: number;
  readonly perCpu: boolean;
  /** Bytes per value slot (value size rounded up to 8). */
  readonly stride: number;
  /** Value slots per element (CPUs for per-CPU maps, else 1). */
  readonly cpus: number;
  /** roundup_pow_of_two(max_entries). */
  readonly nBuckets: number;
  /** The hash seed (0 with BPF_F_ZERO_SEED). */
  readonly seed: number;
  /** Element slots: max_entries plus the spare. */
  protected readonly capacity: number;
  /**
   * Memory offsets of the tables a compiled lookup walks, in the address space's memory (outside
   * every region, so programs cannot reach them): bucket heads (i32, -1 = empty), next links
   * (i32 per slot), hashes (u32 per slot), keys (key_size bytes per slot).
   */
  readonly tables: { readonly heads: number; readonly next: number; readonly hashes: number; readonly keys: number };
  // Views of the tables, re-made when the memory grows (its buffer is then replaced).
  private boundTo: ArrayBufferLike | undefined;
  private headsView!: Int32Array;
  private nextView!: Int32Array;
  private hashesView!: Uint32Array;
  private keysView!: Uint8Array;
  protected readonly freeList: Int32Array;
  protected freeTop = 0;
  protected live = 0;
  protected readonly regions: MapRegions;
  /** Effective max_entries (LRU with BPF_F_NO_COMMON_LRU rounds it to the CPU count). */
  readonly maxEntries: number;

  constructor(
    readonly def: MapDef,
    protected readonly env: MapEnv,
    maxEntries = def.maxEntries,
    /** Element slots beyond max_entries (the kernel's extra elements; LRU maps have none). */
    spare = 1,
  ) {
    this.maxEntries = maxEntries;
    this.perCpu = def.type === BpfMapType.PERCPU_HASH || def.type === BpfMapType.LRU_PERCPU_HASH;
    this.cpus = this.perCpu ? env.cpus : 1;
    this.stride = stride8(def.valueSize);
    this.nBuckets = roundupPow2(maxEntries);
    this.seed = (def.flags & BpfMapFlags.ZERO_SEED) !== 0 || !env.random ? 0 : Math.floor(env.random() * 4294967296) >>> 0;
    this.capacity = maxEntries + spare;
    // Values first: a map too big for the address space is refused before the tables are built.
    ensureTableFits(def, this.capacity, def.keySize + 12);
    // The tables live in the same 4 GiB memory as the values: refused (ENOMEM) before either is allocated.
    const tableBytes = this.nBuckets * 4 + this.capacity * (8 + def.keySize) + 32;
    const valueBytes = this.capacity * this.stride * this.cpus;
    if (tableBytes + valueBytes > 2 ** 32 - env.space.memory.used - 128) {
      throw new MapAttributeError(def.name, 'maxEntries', def.maxEntries, `${valueBytes} bytes of values and ${tableBytes} bytes of hash tables do not fit in the 4 GiB address space`, MapErrno.ENOMEM);
    }
    this.regions = allocMapRegions(env, def, this.capacity * this.stride * this.cpus);
    this.address = this.regions.address;
    const memory = env.space.memory;
    const heads = memory.alloc(this.nBuckets * 4, 8);
    const next = memory.alloc(this.capacity * 4, 8);
    const hashes = memory.alloc(this.capacity * 4, 8);
    const keys = memory.alloc(this.capacity * def.keySize, 8);
    this.tables = { heads, next, hashes, keys };
    this.heads.fill(-1);
    this.next.fill(-1);
    this.freeList = new Int32Array(this.capacity);
    this.resetFreeList();
  }

  private bind(): void {
    const buffer = this.env.space.memory.bytes.buffer;
    const t = this.tables;
    this.headsView = new Int32Array(buffer, t.heads, this.nBuckets);
    this.nextView = new Int32Array(buffer, t.next, this.capacity);
    this.hashesView = new Uint32Array(buffer, t.hashes, this.capacity);
    this.keysView = new Uint8Array(buffer, t.keys, this.capacity * this.def.keySize);
    this.boundTo = buffer;
  }
  /** Bucket heads: the first slot of each bucket's list, -1 when empty. */
  protected get heads(): Int32Array {
    if (this.env.space.memory.bytes.buffer !== this.boundTo) this.bind();
    return this.headsView;
  }
  /** The slot after each slot in its bucket, -1 at the end. */
  protected get next(): Int32Array {
    if (this.env.space.memory.bytes.buffer !== this.boundTo) this.bind();
    return this.nextView;
  }
  /** Each slot's key hash. */
  protected get hashes(): Uint32Array {
    if (this.env.space.memory.bytes.buffer !== this.boundTo) this.bind();
    return this.hashesView;
  }
  /** Each slot's key, key_size bytes apiece. */
  protected get keyStore(): Uint8Array {
    if (this.env.space.memory.bytes.buffer !== this.boundTo) this.bind();
    return this.keysView;
  }

  /**
   * This map's lookup for a compiler to generate (walks `tables` as `find` does): the value
   * pointer of slot s is tag:dataOffset + s * slotStride + cpu * cpuStride.
   */
  inlineLookup(): InlineHashLookup {
    const data = this.regions.data;
    return {
      kind: 'hash', dataOffset: data.start, tag: Math.floor(data.address() / 4294967296), ...this.tables,
      keySize: this.def.keySize, nBuckets: this.nBuckets, seed: this.seed, slotStride: this.stride * this.cpus, cpuStride: this.perCpu ? this.stride : 0, valueSize: this.def.valueSize, writable: data.writable,
    };
  }

  private resetFreeList(): void {
    // Pop order: slot 0 first.
    for (let i = 0; i < this.capacity; i++) this.freeList[i] = this.capacity - 1 - i;
    this.freeTop = this.capacity;
  }

  /** The hash of a key, as htab_map_hash computes it. */
  hashOf(key: Uint8Array, offset: number): number {
    return jhash(key, offset, this.def.keySize, this.seed);
  }

  /** The slot holding `key`, or -1. */
  protected find(key: Uint8Array, offset: number, hash: number): number {
    const ks = this.def.keySize;
    for (let s = this.heads[hash & (this.nBuckets - 1)]!; s >= 0; s = this.next[s]!) {
      if (this.hashes[s] === hash && bytesEqual(this.keyStore, s * ks, key, offset, ks)) return s;
    }
    return -1;
  }

  /** Memory offset of slot `s`'s value for `cpu`. */
  protected valueOffset(s: number, cpu: number): number {
    return this.regions.data.start + (s * this.cpus + cpu) * this.stride;
  }

  /** Removes slot `s` from its bucket (it must be linked). */
  protected unlink(s: number): void {
    const b = this.hashes[s]! & (this.nBuckets - 1);
    let prev = -1;
    for (let t = this.heads[b]!; t >= 0; prev = t, t = this.next[t]!) {
      if (t !== s) continue;
      if (prev < 0) this.heads[b] = this.next[s]!;
      else this.next[prev] = this.next[s]!;
      this.next[s] = -1;
      return;
    }
  }

  /** A free slot for a new element, or -1 when the map is full (LRU: evicts instead). */
  protected allocSlot(): number {
    if (this.live >= this.maxEntries || this.freeTop === 0) return -1;
    return this.freeList[--this.freeTop]!;
  }

  /** Returns slot `s` to the free list. */
  protected freeSlot(s: number): void {
    this.freeList[this.freeTop++] = s;
  }

  /** Called when a program looks an element up (LRU marks it referenced). */
  protected touch(_s: number): void {}
  /** Called when an element is linked in. */
  protected inserted(_s: number): void {}
  /** Called when an element is unlinked for good. */
  protected removed(_s: number): void {}

  lookup(key: Uint8Array, keyOffset: number, cpu: number): number {
    const s = this.find(key, keyOffset, this.hashOf(key, keyOffset));
    if (s < 0) return 0;
    this.touch(s);
    return this.regions.data.address((s * this.cpus + (this.perCpu ? cpu : 0)) * this.stride);
  }

  update(key: Uint8Array, keyOffset: number, value: Uint8Array, valueOffset: number, flags: number, cpu: number): number {
    return this.store(key, keyOffset, value, valueOffset, flags, this.perCpu ? cpu : -1);
  }

  /**
   * The update path of both sides. `cpu` >= 0: a program's update of one CPU's slot (new
   * per-CPU elements get zeros on the other CPUs); -1: a user update (per-CPU: the padded layout).
   */
  protected store(key: Uint8Array, keyOffset: number, value: Uint8Array, valueOffset: number, flags: number, cpu: number): number {
    if ((flags & ~BpfUpdateFlags.F_LOCK) > BpfUpdateFlags.EXIST || (flags & BpfUpdateFlags.F_LOCK) !== 0) return -MapErrno.EINVAL;
    const hash = this.hashOf(key, keyOffset);
    const old = this.find(key, keyOffset, hash);
    if (old >= 0 && flags === BpfUpdateFlags.NOEXIST) return -MapErrno.EEXIST;
    if (old < 0 && flags === BpfUpdateFlags.EXIST) return -MapErrno.ENOENT;
    if (this.perCpu && old >= 0) {
      this.writeValue(old, value, valueOffset, cpu, false);
      this.touch(old);
      return 0;
    }
    let s: number;
    if (old >= 0) {
      // The spare slot: an existing key can be replaced even when the map is full.
      if (this.freeTop === 0) return -MapErrno.E2BIG;
      s = this.freeList[--this.freeTop]!;
    } else {
      s = this.allocSlot();
      if (s < 0) return -MapErrno.E2BIG;
    }
    const ks = this.def.keySize;
    for (let i = 0, at = s * ks; i < ks; i++) this.keyStore[at + i] = key[keyOffset + i]!;
    this.hashes[s] = hash;
    this.writeValue(s, value, valueOffset, cpu, true);
    const b = hash & (this.nBuckets - 1);
    this.next[s] = this.heads[b]!;
    this.heads[b] = s;
    this.inserted(s);
    if (old >= 0) {
      this.unlink(old);
      this.removed(old);
      this.freeSlot(old);
    } else {
      this.live++;
    }
    return 0;
  }

  /** Writes a value into slot `s` (see store for `cpu`); `fresh` zeroes other CPUs of a new per-CPU element. */
  protected writeValue(s: number, value: Uint8Array, valueOffset: number, cpu: number, fresh: boolean): void {
    const mem = this.env.space.memory.bytes;
    const vs = this.def.valueSize;
    if (!this.perCpu) {
      // A program's value is already in this memory: copy without a view object per call.
      if (value.buffer === mem.buffer) mem.copyWithin(this.valueOffset(s, 0), valueOffset, valueOffset + vs);
      else mem.set(value.subarray(valueOffset, valueOffset + vs), this.valueOffset(s, 0));
      return;
    }
    if (cpu >= 0) {
      if (fresh) mem.fill(0, this.valueOffset(s, 0), this.valueOffset(s, 0) + this.stride * this.cpus);
      mem.set(value.subarray(valueOffset, valueOffset + vs), this.valueOffset(s, cpu));
      return;
    }
    for (let c = 0; c < this.cpus; c++) {
      const at = valueOffset + c * this.stride;
      mem.set(value.subarray(at, at + vs), this.valueOffset(s, c));
    }
  }

  delete(key: Uint8Array, keyOffset: number): number {
    const s = this.find(key, keyOffset, this.hashOf(key, keyOffset));
    if (s < 0) return -MapErrno.ENOENT;
    this.unlink(s);
    this.removed(s);
    this.freeSlot(s);
    this.live--;
    return 0;
  }

  read(key: Uint8Array): Uint8Array | undefined {
    const s = this.find(key, 0, this.hashOf(key, 0));
    if (s < 0) return undefined;
    const mem = this.env.space.memory.bytes;
    const at = this.valueOffset(s, 0);
    if (!this.perCpu) return mem.slice(at, at + this.def.valueSize);
    const out = mem.slice(at, at + this.stride * this.cpus);
    for (let c = 0; c < this.cpus; c++) out.fill(0, c * this.stride + this.def.valueSize, (c + 1) * this.stride);
    return out;
  }

  write(key: Uint8Array, value: Uint8Array, flags: number): number {
    return this.store(key, 0, value, 0, flags, -1);
  }

  nextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    let b = 0;
    if (key !== undefined) {
      const hash = this.hashOf(key, 0);
      const s = this.find(key, 0, hash);
      if (s >= 0) {
        const n = this.next[s]!;
        if (n >= 0) return this.keyOf(n);
        b = (hash & (this.nBuckets - 1)) + 1;
      }
    }
    for (; b < this.nBuckets; b++) {
      const s = this.heads[b]!;
      if (s >= 0) return this.keyOf(s);
    }
    return undefined;
  }

  /** A copy of slot `s`'s key. */
  protected keyOf(s: number): Uint8Array {
    const ks = this.def.keySize;
    return this.keyStore.slice(s * ks, (s + 1) * ks);
  }

  count(): number {
    return this.live;
  }

  clear(): void {
    this.heads.fill(-1);
    this.next.fill(-1);
    this.live = 0;
    this.resetFreeList();
    this.regions.data.bytes().fill(0);
    this.cleared();
  }

  /** Called after clear() (LRU resets its lists). */
  protected cleared(): void {}
}

/** BPF_MAP_TYPE_HASH and BPF_MAP_TYPE_PERCPU_HASH. */
export const hashFamily: MapFamily = {
  types: [BpfMapType.HASH, BpfMapType.PERCPU_HASH],
  check: checkHash,
  create: (def, env) => new HashMap(def, env),
};
