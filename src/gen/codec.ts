// Layout -> Codec: encodes and decodes exactly the bytes a Layout describes, in either byte order.

import type { Codec } from '../maps/codec.js';
import { InvalidValueSizeError } from '../maps/errors.js';
import { GenValueError } from './errors.js';
import { isBigint, layoutSize, type Layout, type MemberLayout } from './layout.js';

/** A decoded value of some Layout: what the generated interfaces describe. */
export type LayoutValue = number | bigint | boolean | string | Uint8Array | LayoutValue[] | { [member: string]: LayoutValue };

type Read = (d: DataView, at: number) => LayoutValue;
type Write = (d: DataView, at: number, v: unknown, path: string) => void;
interface Node {
  readonly size: number;
  readonly read: Read;
  readonly write: Write;
}

const utf8Decoder = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Uint8Array) return 'a Uint8Array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

/** An integer value as a bigint: numbers must be integers; booleans are 0/1. */
function toBigint(v: unknown, path: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'boolean') return v ? 1n : 0n;
  throw new GenValueError(path, `expected an integer, got ${describe(v)}`);
}

/** Reads `size` bytes at `at` as an unsigned integer in the given byte order. */
function loadUnsigned(d: DataView, at: number, size: number, le: boolean): bigint {
  let x = 0n;
  for (let i = 0; i < size; i++) x |= BigInt(d.getUint8(at + i)) << BigInt(8 * (le ? i : size - 1 - i));
  return x;
}

function storeUnsigned(d: DataView, at: number, size: number, le: boolean, x: bigint): void {
  for (let i = 0; i < size; i++) d.setUint8(at + i, Number((x >> BigInt(8 * (le ? i : size - 1 - i))) & 0xffn));
}

function intNode(size: number, signed: boolean, le: boolean, big: boolean): Node {
  const bits = size * 8;
  if (!big) {
    const read: Read =
      size === 1 ? (d, a) => (signed ? d.getInt8(a) : d.getUint8(a)) : size === 2 ? (d, a) => (signed ? d.getInt16(a, le) : d.getUint16(a, le)) : (d, a) => (signed ? d.getInt32(a, le) : d.getUint32(a, le));
    return { size, read, write: (d, a, v, p) => storeUnsigned(d, a, size, le, BigInt.asUintN(bits, toBigint(v, p))) };
  }
  return {
    size,
    read: (d, a) => {
      const u = loadUnsigned(d, a, size, le);
      return signed ? BigInt.asIntN(bits, u) : u;
    },
    write: (d, a, v, p) => storeUnsigned(d, a, size, le, BigInt.asUintN(bits, toBigint(v, p))),
  };
}

function scalarFromBigint(l: Layout, x: bigint, bits: number): LayoutValue {
  const signed = (l.kind === 'int' || l.kind === 'enum') && l.signed;
  const v = signed ? BigInt.asIntN(bits, x) : x;
  if (l.kind === 'bool') return v !== 0n;
  return isBigint(l) ? v : Number(v);
}

/** A bitfield of `bits` bits starting `bitOffset` bits into byte `at` (bits count from the LSB on little-endian, the MSB on big-endian). */
function bitfieldNode(m: MemberLayout, le: boolean): Node {
  const bits = m.bits!;
  const bitOffset = m.bitOffset ?? 0;
  const storage = Math.ceil((bitOffset + bits) / 8);
  const shift = BigInt(le ? bitOffset : storage * 8 - bitOffset - bits);
  const mask = (1n << BigInt(bits)) - 1n;
  return {
    size: storage,
    read: (d, a) => scalarFromBigint(m.layout, (loadUnsigned(d, a, storage, le) >> shift) & mask, bits),
    write: (d, a, v, p) => {
      const x = (loadUnsigned(d, a, storage, le) & ~(mask << shift)) | ((BigInt.asUintN(bits, toBigint(v, p)) & mask) << shift);
      storeUnsigned(d, a, storage, le, x);
    },
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function buildNode(l: Layout, le: boolean): Node {
  switch (l.kind) {
    case 'int':
    case 'enum':
      return intNode(l.size, l.signed, le, isBigint(l));
    case 'ptr':
      return intNode(8, false, le, true);
    case 'bool':
      return {
        size: l.size,
        read: (d, a) => loadUnsigned(d, a, l.size, le) !== 0n,
        write: (d, a, v, p) => storeUnsigned(d, a, l.size, le, toBigint(v, p) !== 0n ? 1n : 0n),
      };
    case 'float':
      return {
        size: l.size,
        read: (d, a) => (l.size === 4 ? d.getFloat32(a, le) : d.getFloat64(a, le)),
        write: (d, a, v, p) => {
          if (typeof v !== 'number') throw new GenValueError(p, `expected a number, got ${describe(v)}`);
          if (l.size === 4) d.setFloat32(a, v, le);
          else d.setFloat64(a, v, le);
        },
      };
    case 'string':
      return {
        size: l.length,
        read: (d, a) => {
          const bytes = new Uint8Array(d.buffer, d.byteOffset + a, l.length);
          const nul = bytes.indexOf(0);
          return utf8Decoder.decode(nul < 0 ? bytes : bytes.subarray(0, nul));
        },
        write: (d, a, v, p) => {
          if (typeof v !== 'string') throw new GenValueError(p, `expected a string, got ${describe(v)}`);
          const bytes = utf8Encoder.encode(v);
          if (bytes.length > l.length) throw new GenValueError(p, `"${v}" is ${bytes.length} bytes of UTF-8, longer than char[${l.length}]`);
          new Uint8Array(d.buffer, d.byteOffset + a, l.length).fill(0).set(bytes);
        },
      };
    case 'bytes':
    case 'opaque': {
      const n = layoutSize(l);
      return {
        size: n,
        read: (d, a) => new Uint8Array(d.buffer.slice(d.byteOffset + a, d.byteOffset + a + n)),
        write: (d, a, v, p) => {
          if (!(v instanceof Uint8Array)) throw new GenValueError(p, `expected a Uint8Array, got ${describe(v)}`);
          if (v.length > n) throw new GenValueError(p, `${v.length} bytes do not fit in ${n}`);
          new Uint8Array(d.buffer, d.byteOffset + a, n).fill(0).set(v);
        },
      };
    }
    case 'array': {
      const el = buildNode(l.element, le);
      const n = l.length;
      return {
        size: el.size * n,
        read: (d, a) => Array.from({ length: n }, (_, i) => el.read(d, a + i * el.size)),
        write: (d, a, v, p) => {
          if (!Array.isArray(v)) throw new GenValueError(p, `expected an array of ${n}, got ${describe(v)}`);
          if (v.length > n) throw new GenValueError(p, `${v.length} elements do not fit in [${n}]`);
          v.forEach((x, i) => el.write(d, a + i * el.size, x, `${p}[${i}]`));
        },
      };
    }
    case 'struct':
    case 'union': {
      const members = l.members.map((m) => ({ m, node: m.bits !== undefined ? bitfieldNode(m, le) : buildNode(m.layout, le) }));
      return {
        size: l.size,
        read: (d, a) => {
          const o: { [member: string]: LayoutValue } = {};
          for (const { m, node } of members) o[m.name] = node.read(d, a + m.offset);
          return o;
        },
        write: (d, a, v, p) => {
          if (!isRecord(v)) throw new GenValueError(p, `expected an object (${l.kind}${l.name ? ` ${l.name}` : ''}), got ${describe(v)}`);
          for (const key of Object.keys(v)) {
            if (v[key] !== undefined && !members.some(({ m }) => m.name === key)) throw new GenValueError(p, `${l.kind}${l.name ? ` ${l.name}` : ''} has no member "${key}"`);
          }
          // Members absent (or undefined) stay as they are: zero in a fresh value.
          for (const { m, node } of members) {
            const mv = v[m.name];
            if (mv !== undefined) node.write(d, a + m.offset, mv, p ? `${p}.${m.name}` : m.name);
          }
        },
      };
    }
  }
}

/**
 * The codec of `layout` in the given byte order: `decode` reads every member (union members
 * all, each a view of the same bytes); `encode` starts from zeros and writes the members given
 * (union members in declaration order), throwing GenValueError for a value that does not fit.
 */
export function layoutCodec<T = LayoutValue>(layout: Layout, littleEndian = true): Codec<T> {
  const node = buildNode(layout, littleEndian);
  return {
    size: node.size,
    encode(value: T): Uint8Array {
      const out = new Uint8Array(node.size);
      node.write(new DataView(out.buffer), 0, value, '');
      return out;
    },
    decode(bytes: Uint8Array): T {
      if (bytes.length < node.size) throw new InvalidValueSizeError(bytes.length, node.size);
      return node.read(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0) as T;
    },
  };
}

/** Writes `value` of `layout` over `target` at `offset` (a global variable inside its section's bytes; what it leaves out is zeroed). */
export function writeLayout(layout: Layout, target: Uint8Array, offset: number, value: unknown, littleEndian: boolean, path: string): void {
  const node = buildNode(layout, littleEndian);
  if (offset + node.size > target.length) throw new GenValueError(path, `${node.size} bytes at offset ${offset} overrun the ${target.length}-byte section`);
  // An assignment replaces the whole variable: members left out are zero, as in C.
  target.fill(0, offset, offset + node.size);
  node.write(new DataView(target.buffer, target.byteOffset, target.byteLength), offset, value, path);
}

/** Reads a value of `layout` from `source` at `offset`. */
export function readLayout(layout: Layout, source: Uint8Array, offset: number, littleEndian: boolean): LayoutValue {
  const node = buildNode(layout, littleEndian);
  if (offset + node.size > source.length) throw new InvalidValueSizeError(source.length, offset + node.size);
  return node.read(new DataView(source.buffer, source.byteOffset, source.byteLength), offset);
}
