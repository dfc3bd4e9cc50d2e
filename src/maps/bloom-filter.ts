// Bloom filter maps (kernel/bpf/bloom_filter.c): the kernel's jhash bit array, bit for bit.
//
// nr_hash_funcs = map_extra & 0xf (0 -> 5). The bit array holds max_entries * nr_hash_funcs / 5
// * 7 bits (about n*k/ln 2) rounded up to a power of two, at least 64. Hash function i of a
// value is jhash(value, value_size, seed + i) & (nr_bits - 1). The seed is 0 with
// BPF_F_ZERO_SEED — then a bpfkit filter and a kernel filter fed the same values set the same
// bits and give the same answers, false positives included — else drawn from `env.random`
// (default 0). push sets the bits (flags must be BPF_ANY); peek tests them (-ENOENT: certainly
// absent); pop, delete, lookup and get_next_key are unsupported like the kernel's.

import { BpfMapFlags, BpfMapType, BpfUpdateFlags } from '../isa/uapi.generated.js';
import { NotSupportedError } from '../errors.js';
import { MapErrno } from './errors.js';
import { jhash } from './jhash.js';
import { ACCESS_MASK, allocMapRegions, checkFlags, ensure, type MapRegions } from './map-memory.js';
import type { MapDef, MapEnv, MapFamily, MapOps } from './map-ops.js';

/** Largest bit array bpfkit allocates (the kernel allows 2^32 bits = 512 MiB). */
const MAX_BITS = 2 ** 31;

/** The bit array geometry of a definition: hash count, bits (a power of two) and the mask. */
export function bloomGeometry(def: MapDef): { nrHashFuncs: number; nrBits: number } {
  let k = (def.mapExtra ?? 0) & 0xf;
  if (k === 0) k = 5;
  const product = def.maxEntries * k;
  let bits = Math.floor(product / 5) * 7;
  if (product > 0xffffffff || bits > 0xffffffff || bits > MAX_BITS) return { nrHashFuncs: k, nrBits: 2 ** 32 };
  if (bits <= 64) bits = 64;
  else {
    let p = 1;
    while (p < bits) p *= 2;
    bits = p;
  }
  return { nrHashFuncs: k, nrBits: bits };
}

/** A live bloom filter. */
export class BloomFilterMap implements MapOps {
  readonly address: number;
  readonly perCpu = false;
  /** Number of hash functions. */
  readonly nrHashFuncs: number;
  /** Number of bits (a power of two). */
  readonly nrBits: number;
  /** The hash seed (0 with BPF_F_ZERO_SEED). */
  readonly seed: number;
  private readonly bits: Uint8Array;
  private readonly regions: MapRegions;
  private pushes = 0;

  constructor(
    readonly def: MapDef,
    env: MapEnv,
  ) {
    const g = bloomGeometry(def);
    if (g.nrBits > MAX_BITS) throw new NotSupportedError(`bloom filter "${def.name}" of 2^32 bits (512 MiB; max_entries * hash functions too large)`, undefined, `bpfkit allocates at most ${MAX_BITS} bits`);
    this.nrHashFuncs = g.nrHashFuncs;
    this.nrBits = g.nrBits;
    this.seed = (def.flags & BpfMapFlags.ZERO_SEED) !== 0 || !env.random ? 0 : Math.floor(env.random() * 4294967296) >>> 0;
    // The bit array lives outside program memory: programs never address it directly.
    this.bits = new Uint8Array(Math.max(8, this.nrBits / 8));
    this.regions = allocMapRegions(env, def, 0, false);
    this.address = this.regions.address;
  }

  /** Bit index of hash function `i` for the value at `bytes[offset]`. */
  bitIndex(bytes: Uint8Array, offset: number, i: number): number {
    return jhash(bytes, offset, this.def.valueSize, (this.seed + i) >>> 0) & (this.nrBits - 1);
  }

  push(value: Uint8Array, valueOffset: number, flags: number): number {
    if (flags !== BpfUpdateFlags.ANY) return -MapErrno.EINVAL;
    for (let i = 0; i < this.nrHashFuncs; i++) {
      const h = this.bitIndex(value, valueOffset, i);
      this.bits[h >>> 3]! |= 1 << (h & 7);
    }
    this.pushes++;
    return 0;
  }

  /** peek: 0 when every bit of `value` is set (maybe present), -ENOENT when one is not. `remove` (pop): -EOPNOTSUPP. */
  pop(value: Uint8Array, valueOffset: number, remove: boolean): number {
    if (remove) return -MapErrno.EOPNOTSUPP;
    for (let i = 0; i < this.nrHashFuncs; i++) {
      const h = this.bitIndex(value, valueOffset, i);
      if ((this.bits[h >>> 3]! & (1 << (h & 7))) === 0) return -MapErrno.ENOENT;
    }
    return 0;
  }

  lookup(_key?: Uint8Array, _keyOffset?: number, _cpu?: number): number {
    return 0;
  }
  update(_key?: Uint8Array, _keyOffset?: number, _value?: Uint8Array, _valueOffset?: number, _flags?: number, _cpu?: number): number {
    return -MapErrno.EINVAL;
  }
  delete(_key?: Uint8Array, _keyOffset?: number): number {
    return -MapErrno.EOPNOTSUPP;
  }
  /** User-side "lookup" is a membership test of the value: see `pop(value, 0, false)`. */
  read(_key?: Uint8Array): Uint8Array | undefined {
    return undefined;
  }
  /** BPF_MAP_UPDATE_ELEM with no key: push. */
  write(_key: Uint8Array, value: Uint8Array, flags: number): number {
    return this.push(value, 0, flags);
  }
  nextKey(_key?: Uint8Array): Uint8Array | undefined {
    return undefined;
  }
  /** Number of pushes so far (a bloom filter cannot count distinct members). */
  count(): number {
    return this.pushes;
  }
  clear(): void {
    this.bits.fill(0);
    this.pushes = 0;
  }
}

/** BPF_MAP_TYPE_BLOOM_FILTER. */
export const bloomFilterFamily: MapFamily = {
  types: [BpfMapType.BLOOM_FILTER],
  check(def) {
    ensure(def, def.keySize === 0, 'keySize', 'a bloom filter has no keys (key_size 0)');
    ensure(def, def.valueSize > 0, 'valueSize', 'value_size must be > 0');
    ensure(def, def.maxEntries > 0, 'maxEntries', 'needs max_entries > 0');
    checkFlags(def, BpfMapFlags.NUMA_NODE | BpfMapFlags.ZERO_SEED | ACCESS_MASK, 'a bloom filter');
    ensure(def, ((def.mapExtra ?? 0) & ~0xf) === 0, 'mapExtra', 'only the low 4 bits (the number of hash functions) may be set');
  },
  create: (def, env) => new BloomFilterMap(def, env),
};
