// A map value's numeric fields (from BTF, or u32/u64 words by size) and how to read them out of the value bytes.
import type { Btf } from '../index.js';
import type { SampleValue } from './prometheus.js';

/** One numeric leaf of a value: where it is and how to read it. `name` is its `field` label (`''` for a scalar value). */
export interface NumericField {
  /** `rx_packets`, `stats.drops`, `hist[3]`; `''` when the value is one number. */
  readonly name: string;
  /** Byte offset in the value. */
  readonly offset: number;
  /** Bytes of storage read (1, 2, 4, 8; a bitfield's covering bytes). */
  readonly size: number;
  /** Two's complement. */
  readonly signed: boolean;
  /** IEEE float (size 4 or 8). */
  readonly float: boolean;
  /** For bitfields: the first bit inside the storage read, and the width; width 0 for whole integers. */
  readonly bitOffset: number;
  /** Bitfield width in bits, 0 when not a bitfield. */
  readonly bits: number;
}

/** At most this many fields per value (a huge array value is cut; the series cap applies after). */
export const MAX_FIELDS = 4096;

/**
 * The numeric leaves of BTF type `id`: integers (bool as 0/1, bitfields extracted, up to 64
 * bits), enums (their numeric value) and floats; structs flattened with `.`, arrays with `[i]`
 * (char arrays are strings and left out), a union by its first member (the others alias it),
 * anonymous members lifted into their parent. Pointers and wider integers are left out.
 */
export function btfNumericFields(btf: Btf, id: number): NumericField[] {
  const out: NumericField[] = [];
  const walk = (typeId: number, name: string, offset: number, bitOffset: number, bitfield: number, depth: number): void => {
    if (depth > 32 || out.length >= MAX_FIELDS) return;
    const t = btf.typeById(typeId);
    switch (t.kind) {
      case 'typedef':
      case 'const':
      case 'volatile':
      case 'restrict':
      case 'type_tag':
        walk(t.type, name, offset, bitOffset, bitfield, depth + 1);
        return;
      case 'int':
      case 'enum':
      case 'enum64': {
        const intBits = t.kind === 'int' ? t.bits : t.size * 8;
        const intOffset = t.kind === 'int' ? t.bitOffset : 0;
        const width = bitfield || intBits;
        if (width > 64) return;
        const start = bitOffset + intOffset;
        const whole = start === 0 && width === t.size * 8;
        const signed = t.kind === 'int' ? t.signed && !t.bool : t.signed;
        if (whole) out.push({ name, offset, size: t.size, signed, float: false, bitOffset: 0, bits: 0 });
        else out.push({ name, offset, size: Math.min(16, Math.ceil((start + width) / 8)), signed, float: false, bitOffset: start, bits: width });
        return;
      }
      case 'float':
        if (t.size === 4 || t.size === 8) out.push({ name, offset, size: t.size, signed: true, float: true, bitOffset: 0, bits: 0 });
        return;
      case 'array': {
        const elem = btf.skipTypedefs(t.type);
        if (elem.kind === 'int' && elem.size === 1 && (elem.char || elem.name === 'char')) return;
        const size = btf.resolveSize(t.type);
        for (let i = 0; i < t.nelems && out.length < MAX_FIELDS; i++) walk(t.type, `${name}[${i}]`, offset + i * size, 0, 0, depth + 1);
        return;
      }
      case 'struct':
      case 'union': {
        const members = t.kind === 'union' ? t.members.slice(0, 1) : t.members;
        for (const m of members) {
          const child = m.name === '' ? name : name === '' ? m.name : `${name}.${m.name}`;
          const byte = Math.floor(m.bitOffset / 8);
          walk(m.type, child, offset + byte, m.bitfieldSize ? m.bitOffset % 8 : 0, m.bitfieldSize, depth + 1);
        }
        return;
      }
      default:
        return; // pointers, functions, void: not numbers
    }
  };
  walk(id, '', 0, 0, 0, 0);
  return out;
}

/**
 * Fields of a value without BTF, by its size: 4 bytes a u32, a multiple of 8 bytes u64 words
 * (`0`, `1`...; one word: a scalar), another multiple of 4 u32 words; undefined otherwise.
 */
export function sizedNumericFields(valueSize: number): NumericField[] | undefined {
  const word = valueSize % 8 === 0 ? 8 : valueSize % 4 === 0 ? 4 : 0;
  if (word === 0 || valueSize === 0) return undefined;
  const n = Math.min(valueSize / word, MAX_FIELDS);
  return Array.from({ length: n }, (_, i) => ({ name: n === 1 ? '' : String(i), offset: i * word, size: word, signed: false, float: false, bitOffset: 0, bits: 0 }));
}

/** Reads `field` from `bytes` (a little-endian value): bigint for integers, number for floats. */
export function readNumericField(bytes: Uint8Array, field: NumericField): SampleValue {
  return readWith(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), bytes, field);
}

/** Reads every field of `fields` from one value (one DataView for all). */
export function readNumericFields(bytes: Uint8Array, fields: readonly NumericField[]): SampleValue[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return fields.map((f) => readWith(dv, bytes, f));
}

function readWith(dv: DataView, bytes: Uint8Array, field: NumericField): SampleValue {
  if (field.float) return field.size === 4 ? dv.getFloat32(field.offset, true) : dv.getFloat64(field.offset, true);
  if (field.bits === 0) {
    switch (field.size) {
      case 1:
        return BigInt(field.signed ? dv.getInt8(field.offset) : dv.getUint8(field.offset));
      case 2:
        return BigInt(field.signed ? dv.getInt16(field.offset, true) : dv.getUint16(field.offset, true));
      case 4:
        return BigInt(field.signed ? dv.getInt32(field.offset, true) : dv.getUint32(field.offset, true));
      case 8:
        return field.signed ? dv.getBigInt64(field.offset, true) : dv.getBigUint64(field.offset, true);
    }
  }
  let raw = 0n;
  for (let i = field.size - 1; i >= 0; i--) raw = (raw << 8n) | BigInt(bytes[field.offset + i] ?? 0);
  const width = field.bits || field.size * 8;
  const v = (raw >> BigInt(field.bitOffset)) & ((1n << BigInt(width)) - 1n);
  return field.signed ? BigInt.asIntN(width, v) : v;
}

/** `a + b` keeping integers exact (bigint) and falling back to floats when either is a float. */
export function addValues(a: SampleValue, b: SampleValue): SampleValue {
  return typeof a === 'bigint' && typeof b === 'bigint' ? a + b : Number(a) + Number(b);
}
