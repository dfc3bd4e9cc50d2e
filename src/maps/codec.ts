// Key/value codecs: from BTF (ints, structs, arrays, enums, either byte order) or by hand, and typed() over any BpfMap.
import type { BpfMap, UpdateMode } from './bpf-map.js';
import type { BtfType } from '../btf/types.js';
import { BpfkitError } from '../errors.js';
import { InvalidKeySizeError, InvalidValueSizeError } from './errors.js';

/** A decoded BTF value: ints as numbers (64-bit: bigint), structs as objects, arrays as arrays. */
export type BtfValue = number | bigint | boolean | BtfValue[] | { [member: string]: BtfValue };

/** Converts between a JS value and the `size` bytes a map stores. */
export interface Codec<T> {
  /** Encoded size in bytes. */
  readonly size: number;
  /** T -> exactly `size` bytes. */
  encode(value: T): Uint8Array;
  /** `size` bytes -> T. */
  decode(bytes: Uint8Array): T;
}

/** A BTF type a codec cannot represent (a pointer-less forward declaration, a function, void...). */
export class CodecError extends BpfkitError {
  constructor(
    readonly typeId: number,
    detail: string,
  ) {
    super('ERR_CODEC', `BTF type ${typeId}: ${detail}`);
  }
}

/** What btfCodec needs of a BTF: the type table and its byte order (a parsed `Btf` is one). */
export interface BtfTypes {
  readonly types: readonly BtfType[];
  readonly littleEndian: boolean;
}

type Read = (view: DataView, at: number) => BtfValue;
type Write = (view: DataView, at: number, value: BtfValue) => void;
interface Node {
  size: number;
  read: Read;
  write: Write;
}

function num(v: BtfValue, id: number): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw new CodecError(id, `expected a number, got ${Array.isArray(v) ? 'an array' : typeof v}`);
}
function big(v: BtfValue, id: number): bigint {
  if (typeof v === 'bigint') return v;
  return BigInt(Math.trunc(num(v, id)));
}

function intNode(size: number, signed: boolean, le: boolean, id: number, asBool = false): Node {
  switch (size) {
    case 1:
      return { size, read: (d, a) => (asBool ? d.getUint8(a) !== 0 : signed ? d.getInt8(a) : d.getUint8(a)), write: (d, a, v) => d.setUint8(a, num(v, id) & 0xff) };
    case 2:
      return { size, read: (d, a) => (signed ? d.getInt16(a, le) : d.getUint16(a, le)), write: (d, a, v) => d.setUint16(a, num(v, id) & 0xffff, le) };
    case 4:
      return { size, read: (d, a) => (signed ? d.getInt32(a, le) : d.getUint32(a, le)), write: (d, a, v) => d.setUint32(a, num(v, id) >>> 0, le) };
    case 8:
      return { size, read: (d, a) => (signed ? d.getBigInt64(a, le) : d.getBigUint64(a, le)), write: (d, a, v) => d.setBigUint64(a, BigInt.asUintN(64, big(v, id)), le) };
    case 16:
      return {
        size,
        read: (d, a) => {
          const lo = d.getBigUint64(a + (le ? 0 : 8), le);
          const hi = d.getBigUint64(a + (le ? 8 : 0), le);
          const u = (hi << 64n) | lo;
          return signed ? BigInt.asIntN(128, u) : u;
        },
        write: (d, a, v) => {
          const u = BigInt.asUintN(128, big(v, id));
          d.setBigUint64(a + (le ? 0 : 8), u & 0xffffffffffffffffn, le);
          d.setBigUint64(a + (le ? 8 : 0), u >> 64n, le);
        },
      };
    default:
      throw new CodecError(id, `integer of ${size} bytes`);
  }
}

/** Reads a bitfield of `bits` bits at bit `bitOffset` from `at` (storage of `size` bytes). */
function bitfieldNode(base: Node & { signed: boolean }, size: number, bitOffset: number, bits: number, le: boolean): Node {
  const total = BigInt(size * 8);
  const loadAll = (d: DataView, at: number): bigint => {
    let x = 0n;
    for (let i = 0; i < size; i++) {
      const byte = BigInt(d.getUint8(at + i));
      x |= le ? byte << BigInt(8 * i) : byte << BigInt(8 * (size - 1 - i));
    }
    return x;
  };
  const storeAll = (d: DataView, at: number, x: bigint): void => {
    for (let i = 0; i < size; i++) d.setUint8(at + i, Number((x >> BigInt(le ? 8 * i : 8 * (size - 1 - i))) & 0xffn));
  };
  // Little-endian: bit offsets count from the least significant bit; big-endian from the most.
  const shift = le ? BigInt(bitOffset) : total - BigInt(bitOffset) - BigInt(bits);
  const mask = (1n << BigInt(bits)) - 1n;
  return {
    size,
    read: (d, a) => {
      const raw = (loadAll(d, a) >> shift) & mask;
      const v = base.signed ? BigInt.asIntN(bits, raw) : raw;
      return bits > 32 ? v : Number(v);
    },
    write: (d, a, v) => {
      const x = (loadAll(d, a) & ~(mask << shift)) | ((BigInt.asUintN(bits, big(v, 0)) & mask) << shift);
      storeAll(d, a, x);
    },
  };
}

function buildNode(btf: BtfTypes, id: number, depth: number): Node {
  if (depth > 64) throw new CodecError(id, 'types nest too deep');
  const t = btf.types[id];
  if (t === undefined) throw new CodecError(id, 'no such type');
  const le = btf.littleEndian;
  switch (t.kind) {
    case 'int':
      if (t.bitOffset !== 0 || t.bits !== t.size * 8) return bitfieldNode({ ...intNode(t.size, t.signed, le, id), signed: t.signed }, t.size, t.bitOffset, t.bits, le);
      return intNode(t.size, t.signed, le, id, t.bool);
    case 'enum':
      return intNode(t.size, t.signed, le, id);
    case 'enum64':
      return intNode(t.size, t.signed, le, id);
    case 'ptr':
      return intNode(8, false, le, id);
    case 'float':
      if (t.size === 4) return { size: 4, read: (d, a) => d.getFloat32(a, le), write: (d, a, v) => d.setFloat32(a, num(v, id), le) };
      if (t.size === 8) return { size: 8, read: (d, a) => d.getFloat64(a, le), write: (d, a, v) => d.setFloat64(a, num(v, id), le) };
      throw new CodecError(id, `float of ${t.size} bytes`);
    case 'typedef':
    case 'const':
    case 'volatile':
    case 'restrict':
    case 'type_tag':
      return buildNode(btf, t.type, depth + 1);
    case 'array': {
      const el = buildNode(btf, t.type, depth + 1);
      const n = t.nelems;
      return {
        size: el.size * n,
        read: (d, a) => Array.from({ length: n }, (_, i) => el.read(d, a + i * el.size)),
        write: (d, a, v) => {
          if (!Array.isArray(v)) throw new CodecError(id, 'expected an array');
          for (let i = 0; i < n; i++) el.write(d, a + i * el.size, v[i] ?? 0);
        },
      };
    }
    case 'struct':
    case 'union': {
      const members = t.members.map((m, i) => {
        const name = m.name || `_${i}`;
        const mt = buildNode(btf, m.type, depth + 1);
        const target = resolveInt(btf, m.type);
        if (m.bitfieldSize > 0 || m.bitOffset % 8 !== 0) {
          const bits = m.bitfieldSize > 0 ? m.bitfieldSize : mt.size * 8;
          const storage = Math.max(1, Math.ceil(((m.bitOffset % 8) + bits) / 8));
          const node = bitfieldNode({ ...mt, signed: target?.signed ?? false }, storage, m.bitOffset % 8, bits, le);
          return { name, offset: Math.floor(m.bitOffset / 8), node };
        }
        return { name, offset: m.bitOffset / 8, node: mt };
      });
      return {
        size: t.size,
        read: (d, a) => {
          const o: { [member: string]: BtfValue } = {};
          for (const m of members) o[m.name] = m.node.read(d, a + m.offset);
          return o;
        },
        write: (d, a, v) => {
          if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CodecError(id, `expected an object for ${t.kind} ${t.name || '(anon)'}`);
          for (const m of members) {
            const mv = v[m.name];
            if (mv !== undefined) m.node.write(d, a + m.offset, mv);
          }
        },
      };
    }
    default:
      throw new CodecError(id, `${t.kind} ${t.name} has no value representation`);
  }
}

function resolveInt(btf: BtfTypes, id: number): { signed: boolean } | undefined {
  for (let i = 0, t = btf.types[id]; t && i < 32; i++) {
    if (t.kind === 'int' || t.kind === 'enum' || t.kind === 'enum64') return { signed: t.signed };
    if (t.kind === 'typedef' || t.kind === 'const' || t.kind === 'volatile' || t.kind === 'restrict' || t.kind === 'type_tag') t = btf.types[t.type];
    else return undefined;
  }
  return undefined;
}

/**
 * A codec for BTF type `typeId`: ints become numbers (64-bit and wider: bigint; `_Bool`:
 * boolean), enums numbers, pointers bigint, structs and unions objects by member name
 * (anonymous members `_<index>`; bitfields included), arrays arrays. The BTF's byte order is
 * the data's byte order. Encoding leaves absent members zero.
 */
export function btfCodec<T = BtfValue>(btf: BtfTypes, typeId: number): Codec<T> {
  const node = buildNode(btf, typeId, 0);
  return {
    size: node.size,
    encode(value: T): Uint8Array {
      const out = new Uint8Array(node.size);
      node.write(new DataView(out.buffer), 0, value as BtfValue);
      return out;
    },
    decode(bytes: Uint8Array): T {
      if (bytes.length < node.size) throw new InvalidValueSizeError(bytes.length, node.size);
      return node.read(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0) as T;
    },
  };
}

/**
 * The codec for a map key or value: from BTF when the object describes it (`typeId` given and
 * its size matching), else raw bytes of `size` — what `bpftool map dump` falls back to.
 */
export function autoCodec(btf: BtfTypes | undefined, typeId: number | undefined, size: number): Codec<BtfValue | Uint8Array> {
  if (btf && typeId) {
    try {
      const c = btfCodec<BtfValue>(btf, typeId);
      if (c.size === size) return c;
    } catch (err) {
      if (!(err instanceof CodecError)) throw err;
    }
  }
  return codecs.bytes(size);
}

function fixed<T>(size: number, read: (d: DataView) => T, write: (d: DataView, v: T) => void): Codec<T> {
  return {
    size,
    encode(v) {
      const out = new Uint8Array(size);
      write(new DataView(out.buffer), v);
      return out;
    },
    decode(b) {
      if (b.length < size) throw new InvalidValueSizeError(b.length, size);
      return read(new DataView(b.buffer, b.byteOffset, b.byteLength));
    },
  };
}

/** Hand-written codecs for the common cases (little-endian, the host order of BPF on x86/arm64). */
export const codecs = {
  /** u8 as a number. */
  u8: fixed<number>(1, (d) => d.getUint8(0), (d, v) => d.setUint8(0, v)),
  /** u16 as a number. */
  u16: fixed<number>(2, (d) => d.getUint16(0, true), (d, v) => d.setUint16(0, v, true)),
  /** u32 as a number. */
  u32: fixed<number>(4, (d) => d.getUint32(0, true), (d, v) => d.setUint32(0, v >>> 0, true)),
  /** s32 as a number. */
  i32: fixed<number>(4, (d) => d.getInt32(0, true), (d, v) => d.setInt32(0, v, true)),
  /** u64 as a bigint. */
  u64: fixed<bigint>(8, (d) => d.getBigUint64(0, true), (d, v) => d.setBigUint64(0, BigInt.asUintN(64, v), true)),
  /** s64 as a bigint. */
  i64: fixed<bigint>(8, (d) => d.getBigInt64(0, true), (d, v) => d.setBigInt64(0, BigInt.asIntN(64, v), true)),
  /** Raw bytes of a fixed size. */
  bytes(size: number): Codec<Uint8Array> {
    return {
      size,
      encode: (v) => {
        if (v.length !== size) throw new InvalidValueSizeError(v.length, size);
        return v;
      },
      decode: (b) => b.slice(0, size),
    };
  },
} as const;

/** A BpfMap whose keys and values go through codecs. */
class TypedMap<K, V> implements BpfMap<K, V> {
  constructor(
    private readonly raw: BpfMap,
    private readonly k: Codec<K>,
    private readonly v: Codec<V>,
  ) {
    if (k.size !== raw.keySize) throw new InvalidKeySizeError(k.size, raw.keySize);
    if (v.size !== raw.valueSize) throw new InvalidValueSizeError(v.size, raw.valueSize);
  }
  get name(): string {
    return this.raw.name;
  }
  get type(): number {
    return this.raw.type;
  }
  get keySize(): number {
    return this.raw.keySize;
  }
  get valueSize(): number {
    return this.raw.valueSize;
  }
  get maxEntries(): number {
    return this.raw.maxEntries;
  }
  get flags(): number {
    return this.raw.flags;
  }
  get perCpu(): boolean {
    return this.raw.perCpu;
  }
  get cpus(): number {
    return this.raw.cpus;
  }
  get(key: K): V | undefined {
    const b = this.raw.get(this.k.encode(key));
    return b === undefined ? undefined : this.v.decode(b);
  }
  getPerCpu(key: K): V[] | undefined {
    return this.raw.getPerCpu(this.k.encode(key))?.map((b) => this.v.decode(b));
  }
  set(key: K, value: V, mode?: UpdateMode): void {
    this.raw.set(this.k.encode(key), this.v.encode(value), mode);
  }
  setPerCpu(key: K, values: readonly V[], mode?: UpdateMode): void {
    this.raw.setPerCpu(this.k.encode(key), values.map((x) => this.v.encode(x)), mode);
  }
  delete(key: K): boolean {
    return this.raw.delete(this.k.encode(key));
  }
  *keys(): IterableIterator<K> {
    for (const k of this.raw.keys()) yield this.k.decode(k);
  }
  *entries(): IterableIterator<[K, V]> {
    for (const [k, v] of this.raw.entries()) yield [this.k.decode(k), this.v.decode(v)];
  }
  *entriesPerCpu(): IterableIterator<[K, V[]]> {
    for (const [k, vs] of this.raw.entriesPerCpu()) yield [this.k.decode(k), vs.map((b) => this.v.decode(b))];
  }
}

/**
 * Wraps a raw map (userspace `RuntimeMap` or kernel `KernelMap`) with codecs:
 * `typed(stats, codecs.u32, btfCodec(btf, valueTypeId)).getPerCpu(0)` ->
 * `[{ packets: 3n, bytes: 180n }, ...]`. Codec sizes must equal the map's key/value sizes.
 */
export function typed<K, V>(map: BpfMap, keyCodec: Codec<K>, valueCodec: Codec<V>): BpfMap<K, V> {
  return new TypedMap(map, keyCodec, valueCodec);
}

/**
 * Sums per-CPU values into one: numbers and bigints add, objects and arrays add member by
 * member (booleans: or). `sumPerCpu(map.getPerCpu(0) ?? [])` -> `{ packets: 9n, bytes: 540n }`.
 */
export function sumPerCpu<V extends BtfValue>(values: readonly V[]): V | undefined {
  if (values.length === 0) return undefined;
  return values.reduce((a, b) => addValues(a, b) as V);
}

function addValues(a: BtfValue, b: BtfValue): BtfValue {
  if (typeof a === 'bigint' && typeof b === 'bigint') return a + b;
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return a || b;
  if (Array.isArray(a) && Array.isArray(b)) return a.map((x, i) => addValues(x, b[i] ?? x));
  if (typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const o: { [member: string]: BtfValue } = {};
    for (const [k, v] of Object.entries(a)) o[k] = b[k] === undefined ? v : addValues(v, b[k]);
    return o;
  }
  throw new BpfkitError('ERR_CODEC', `cannot add ${typeof a} and ${typeof b}`);
}
