// Map keys and values formatted through BTF the way bpftool's btf_dumper prints them in JSON (`"formatted"`).
import type { Btf, BtfType } from '../../btf/index.js';

/** A 64-bit integer kept exact: {@link stringifyFormatted} prints it as a bare JSON number. */
export class ExactInt {
  constructor(readonly value: bigint) {}
}

/** A formatted value: numbers, strings, booleans, arrays and objects (ints wider than 2^53 as ExactInt). */
export type Formatted = number | string | boolean | ExactInt | null | Formatted[] | { [k: string]: Formatted };

function readInt(bytes: Uint8Array, off: number, size: number, signed: boolean): bigint {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[off + i] ?? 0);
  return signed ? BigInt.asIntN(size * 8, v) : v;
}

function num(v: bigint): number | ExactInt {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : new ExactInt(v);
}

const isPrint = (c: number): boolean => c >= 0x20 && c < 0x7f;

/** bpftool's is_str: a char array holding printable characters up to a NUL. */
function charArrayString(bytes: Uint8Array, off: number, n: number): string | undefined {
  let s = '';
  for (let i = 0; i < n; i++) {
    const c = bytes[off + i] ?? 0;
    if (c === 0) return s;
    if (!isPrint(c)) return undefined;
    s += String.fromCharCode(c);
  }
  return undefined;
}

/**
 * Formats `bytes[off..]` as type `id` of `btf`, as bpftool's btf_dumper does: integers as
 * numbers (bool as true/false, a printable char as a one-character string), char arrays holding a
 * NUL-terminated printable string as that string, other arrays as arrays, structs and unions as
 * objects, enums by enumerator name (number when none matches), pointers as numbers, bitfields
 * extracted, DATASEC as `{ name: [{ var: value }...] }`. Throws for kinds bpftool cannot dump.
 */
export function formatBtfValue(btf: Btf, id: number, bytes: Uint8Array, off = 0, bitOffset = 0, bitfieldSize = 0, depth = 0): Formatted {
  if (depth > 64) throw new Error('type nesting too deep');
  const t: BtfType = btf.typeById(id);
  switch (t.kind) {
    case 'typedef':
    case 'const':
    case 'volatile':
    case 'restrict':
    case 'type_tag':
      return formatBtfValue(btf, t.type, bytes, off, bitOffset, bitfieldSize, depth + 1);
    case 'int': {
      if (bitfieldSize > 0 || t.bitOffset > 0 || t.bits !== t.size * 8) {
        const bits = bitfieldSize || t.bits;
        const start = bitOffset + t.bitOffset;
        const raw = readInt(bytes, off, Math.min(16, Math.ceil((start + bits) / 8)), false);
        const v = (raw >> BigInt(start)) & ((1n << BigInt(bits)) - 1n);
        return num(t.signed ? BigInt.asIntN(bits, v) : v);
      }
      if (t.bool) return (bytes[off] ?? 0) !== 0;
      if (t.char && t.size === 1) {
        const c = bytes[off] ?? 0;
        return isPrint(c) ? String.fromCharCode(c) : c;
      }
      if (t.size > 8) return `0x${readInt(bytes, off, t.size, false).toString(16)}`;
      return num(readInt(bytes, off, t.size, t.signed));
    }
    case 'enum':
    case 'enum64': {
      const v = bitfieldSize > 0 ? (readInt(bytes, off, t.size, false) >> BigInt(bitOffset)) & ((1n << BigInt(bitfieldSize)) - 1n) : readInt(bytes, off, t.size, t.signed);
      const values: readonly { name: string; value: number | bigint }[] = t.values;
      const hit = values.find((e) => BigInt(e.value) === v || (typeof e.value === 'number' && BigInt(e.value >>> 0) === BigInt.asUintN(32, v)));
      return hit ? hit.name : num(v);
    }
    case 'ptr':
      return num(readInt(bytes, off, 8, false));
    case 'float':
      return t.size === 4 ? new DataView(bytes.buffer, bytes.byteOffset + off, 4).getFloat32(0, true) : new DataView(bytes.buffer, bytes.byteOffset + off, 8).getFloat64(0, true);
    case 'array': {
      const elem = btf.skipTypedefs(t.type);
      if (elem.kind === 'int' && elem.size === 1 && (elem.char || elem.name === 'char')) {
        const s = charArrayString(bytes, off, t.nelems);
        if (s !== undefined) return s;
      }
      const size = btf.resolveSize(t.type);
      return Array.from({ length: t.nelems }, (_, i) => formatBtfValue(btf, t.type, bytes, off + i * size, 0, 0, depth + 1));
    }
    case 'struct':
    case 'union': {
      const out: { [k: string]: Formatted } = {};
      for (const m of t.members) {
        const byte = Math.floor(m.bitOffset / 8);
        // bpftool names anonymous members "" too (btf__name_by_offset of 0).
        out[m.name] = formatBtfValue(btf, m.type, bytes, off + byte, m.bitfieldSize ? m.bitOffset % 8 : 0, m.bitfieldSize, depth + 1);
      }
      return out;
    }
    case 'var':
      return { [t.name]: formatBtfValue(btf, t.type, bytes, off, 0, 0, depth + 1) };
    case 'datasec':
      return { [t.name]: t.vars.map((v) => formatBtfValue(btf, v.type, bytes, off + v.offset, 0, 0, depth + 1)) };
    default:
      throw new Error(`cannot format BTF kind ${t.kind}`);
  }
}

/** JSON text of a document holding formatted values: ExactInt as bare integers (bpftool prints u64 in full). */
export function stringifyFormatted(doc: unknown, pretty = false): string {
  const text = JSON.stringify(doc, (_k, v: unknown) => (v instanceof ExactInt ? `\u0000INT:${v.value}` : typeof v === 'bigint' ? v.toString() : v), pretty ? 2 : undefined);
  return text.replace(/"\\u0000INT:(-?\d+)"/g, '$1');
}
