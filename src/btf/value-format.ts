// Bytes formatted through BTF exactly as bpftool's btf_dumper prints them: `map dump` text and its JSON "formatted" member.

import { BpfkitError } from '../errors.js';
import { BpftoolJsonWriter } from './json-writer.js';
import type { TypeTable } from './resolve.js';
import { resolveSize } from './resolve.js';
import type { BtfType, IntType } from './types.js';

/** A 64-bit integer kept exact: {@link stringifyFormatted} prints it as a bare JSON number. */
export class ExactInt {
  constructor(readonly value: bigint) {}
}

/** A formatted value: numbers, strings, booleans, arrays and objects (ints beyond 2^53 as ExactInt). */
export type Formatted = number | string | boolean | ExactInt | null | Formatted[] | { [k: string]: Formatted };

/** What the formatter needs of a BTF: its type table (a `Btf` is one). */
export type ValueBtf = TypeTable;

/**
 * bpftool's two renderings: `json` is the `"formatted"` member of `map dump -j` (bitfields and
 * 128-bit ints as `"0x.."` strings, pointers as numbers); `plain` is the text `map dump`
 * prints for a map with BTF (the same tokens unquoted, pointers as `%p`: `0x1000`, `(nil)`).
 */
export type ValueFormatMode = 'json' | 'plain';

/** The value could not be formatted: a kind bpftool's btf_dumper does not print (float, func...). */
export class BtfValueFormatError extends BpfkitError {
  constructor(
    /** The type id whose value could not be printed. */
    readonly typeId: number,
    /** Why. */
    readonly detail: string,
  ) {
    super('ERR_BTF_VALUE_FORMAT', `cannot format a value of BTF type ${typeId}: ${detail}`);
  }
}

/** Where the walker sends what it prints: bpftool's JSON writer, or a tree builder. */
interface ValueSink {
  startObject(): void;
  endObject(): void;
  startArray(): void;
  endArray(): void;
  name(n: string): void;
  /** A scalar: `value` for trees, `token` (when set) the exact text bpftool prints, else `value` printed as JSON. */
  scalar(value: Formatted, token?: string): void;
}

const MAX_DEPTH = 64;
const MAX_RESOLVE_DEPTH = 32;

/** Unsigned little-endian integer of `size` bytes at `off` (missing bytes read as 0). */
function readLe(bytes: Uint8Array, off: number, size: number): bigint {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[off + i] ?? 0);
  return v;
}

function exact(v: bigint): number | ExactInt {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : new ExactInt(v);
}

/** glibc's isprint in the C locale. */
const isPrint = (c: number): boolean => c >= 0x20 && c < 0x7f;

/** BTF_INT_ENCODING as a number: SIGNED 1, CHAR 2, BOOL 4 (combinations are not printable). */
function intEncoding(t: IntType): number {
  return (t.signed ? 1 : 0) | (t.char ? 2 : 0) | (t.bool ? 4 : 0);
}

class Walker {
  constructor(
    private readonly btf: ValueBtf,
    private readonly sink: ValueSink,
    private readonly mode: ValueFormatMode,
    private readonly bytes: Uint8Array,
  ) {}

  private type(id: number): BtfType | undefined {
    return this.btf.types[id];
  }

  /** bpftool's btf_int128_print of an unsigned value: `0x...` (quoted in JSON). */
  private hex128(v: bigint): void {
    const text = `0x${v.toString(16)}`;
    if (this.mode === 'json') this.sink.scalar(text);
    else this.sink.scalar(text, text);
  }

  /** btf_dumper_bitfield: `nrBits` bits from bit `bitOffset` of the bytes at `off`, printed in hex. */
  private bitfield(nrBits: number, bitOffset: number, off: number): void {
    const nbytes = Math.min(16, Math.ceil((bitOffset + nrBits) / 8));
    const raw = readLe(this.bytes, off, nbytes);
    this.hex128((raw >> BigInt(bitOffset)) & ((1n << BigInt(nrBits)) - 1n));
  }

  private int(t: IntType, bitOffset: number, off: number): boolean {
    if (bitOffset !== 0 || t.bitOffset !== 0 || t.bits % 8 !== 0) {
      const total = bitOffset + t.bitOffset;
      this.bitfield(t.bits, total % 8, off + Math.floor(total / 8));
      return true;
    }
    if (t.bits === 128) {
      this.hex128(readLe(this.bytes, off, 16));
      return true;
    }
    const enc = intEncoding(t);
    if (enc === 0 || enc === 1) {
      if (![8, 16, 32, 64].includes(t.bits)) {
        this.bitfield(t.bits, 0, off);
        return true;
      }
      const u = readLe(this.bytes, off, t.bits / 8);
      const v = enc === 1 ? BigInt.asIntN(t.bits, u) : u;
      this.sink.scalar(exact(v), v.toString());
      return true;
    }
    if (enc === 2) {
      const c = this.bytes[off] ?? 0;
      if (isPrint(c)) this.sink.scalar(String.fromCharCode(c), `"${String.fromCharCode(c)}"`);
      else if (this.mode === 'plain') this.sink.scalar(c, `0x${c.toString(16)}`);
      else this.sink.scalar(String.fromCharCode(c), `"\\u00${c.toString(16).padStart(2, '0')}"`);
      return true;
    }
    if (enc === 4) {
      const b = (this.bytes[off] ?? 0) !== 0;
      this.sink.scalar(b, String(b));
      return true;
    }
    return false; // bpftool: "shouldn't happen", -EINVAL with nothing printed
  }

  /** btf__resolve_type: through typedefs, modifiers (type tags included) and vars; undefined for void or a loop. */
  private resolve(id: number): number | undefined {
    let cur = id;
    for (let depth = 0; depth < MAX_RESOLVE_DEPTH; depth++) {
      const t = this.type(cur);
      if (!t || t.kind === 'void') return undefined;
      if (!['typedef', 'const', 'volatile', 'restrict', 'type_tag', 'var'].includes(t.kind)) return cur;
      cur = (t as { type: number }).type;
    }
    return undefined;
  }

  /** btf_dumper_do_type: prints the value of type `id` at `off`; false where bpftool fails. */
  walk(id: number, bitOffset: number, off: number, depth: number): boolean {
    if (depth > MAX_DEPTH) return false;
    const t = this.type(id);
    if (!t) return false;
    switch (t.kind) {
      case 'int':
        return this.int(t, bitOffset, off);
      case 'struct':
      case 'union': {
        this.sink.startObject();
        let ok = true;
        for (const m of t.members) {
          this.sink.name(m.name);
          const at = off + Math.floor(m.bitOffset / 8);
          if (m.bitfieldSize) this.bitfield(m.bitfieldSize, m.bitOffset % 8, at);
          else if (!this.walk(m.type, m.bitOffset % 8, at, depth + 1)) {
            ok = false;
            break;
          }
        }
        this.sink.endObject();
        return ok;
      }
      case 'array': {
        const s = this.charArray(t.type, t.nelems, off);
        if (s !== undefined) {
          this.sink.scalar(s);
          return true;
        }
        let size: number;
        try {
          size = resolveSize(this.btf, t.type);
        } catch {
          return false;
        }
        this.sink.startArray();
        let ok = true;
        for (let i = 0; i < t.nelems && ok; i++) ok = this.walk(t.type, 0, off + i * size, depth + 1);
        this.sink.endArray();
        return ok;
      }
      case 'enum': {
        if (![1, 2, 4, 8].includes(t.size)) return false;
        const v = BigInt.asIntN(t.size * 8, readLe(this.bytes, off, t.size));
        // btf_enum.val is an __s32: compare sign-extended.
        const hit = t.values.find((e) => BigInt(e.value | 0) === v);
        if (hit) this.sink.scalar(hit.name);
        else this.sink.scalar(exact(v), v.toString());
        return true;
      }
      case 'enum64': {
        const u = readLe(this.bytes, off, 8);
        const hit = t.values.find((e) => BigInt.asUintN(64, e.value) === u);
        const v = BigInt.asIntN(64, u);
        if (hit) this.sink.scalar(hit.name);
        else this.sink.scalar(exact(v), v.toString());
        return true;
      }
      case 'ptr': {
        const v = readLe(this.bytes, off, 8);
        if (this.mode === 'json') this.sink.scalar(exact(v), v.toString());
        else this.sink.scalar(v === 0n ? '(nil)' : `0x${v.toString(16)}`, v === 0n ? '(nil)' : `0x${v.toString(16)}`);
        return true;
      }
      case 'void':
        this.sink.scalar('(unknown)', '(unknown)');
        return true;
      case 'fwd':
        this.sink.scalar('(fwd-kind-invalid)', '(fwd-kind-invalid)');
        return false;
      case 'typedef':
      case 'volatile':
      case 'const':
      case 'restrict': {
        const r = this.resolve(id);
        return r === undefined ? false : this.walk(r, bitOffset, off, depth + 1);
      }
      case 'var': {
        this.sink.startObject();
        this.sink.name(t.name);
        const ok = this.walk(t.type, bitOffset, off, depth + 1);
        this.sink.endObject();
        return ok;
      }
      case 'datasec': {
        this.sink.startObject();
        this.sink.name(t.name);
        this.sink.startArray();
        let ok = true;
        for (const v of t.vars) {
          if (!this.walk(v.type, 0, off + v.offset, depth + 1)) {
            ok = false;
            break;
          }
        }
        this.sink.endArray();
        this.sink.endObject();
        return ok;
      }
      default:
        this.sink.scalar('(unsupported-kind', '(unsupported-kind');
        return false;
    }
  }

  /** bpftool's is_str_array: a char array holding printable characters up to a NUL, as that string. */
  private charArray(elemId: number, nelems: number, off: number): string | undefined {
    if (nelems === 0) return undefined;
    let elem = this.type(elemId);
    for (let i = 0; elem && ['const', 'volatile', 'restrict', 'type_tag'].includes(elem.kind) && i < MAX_RESOLVE_DEPTH; i++) elem = this.type((elem as { type: number }).type);
    if (!elem || elem.kind !== 'int' || elem.size !== 1) return undefined;
    if (intEncoding(elem) !== 2 && elem.name !== 'char') return undefined;
    let s = '';
    for (let i = 0; i < nelems; i++) {
      const c = this.bytes[off + i] ?? 0;
      if (c === 0) return s;
      if (c <= 0x1f || c >= 0x7f) return undefined;
      s += String.fromCharCode(c);
    }
    return undefined;
  }
}

/** A sink that prints through bpftool's JSON writer. */
function writerSink(w: BpftoolJsonWriter): ValueSink {
  return {
    startObject: () => w.startObject(),
    endObject: () => w.endObject(),
    startArray: () => w.startArray(),
    endArray: () => w.endArray(),
    name: (n) => w.name(n),
    scalar: (value, token) => {
      if (token !== undefined) w.raw(token);
      else if (typeof value === 'string') w.string(value);
      else w.raw(value instanceof ExactInt ? value.value.toString() : JSON.stringify(value));
    },
  };
}

/**
 * Writes the value of BTF type `typeId` held in `bytes` (from `offset`) to `w`, token for
 * token as bpftool's btf_dumper does in `mode`. Returns false where bpftool fails (float, func,
 * decl/type tags, fwd, unprintable int encodings), after writing what bpftool writes before
 * giving up, so even the broken output matches.
 */
export function writeBtfValue(w: BpftoolJsonWriter, btf: ValueBtf, typeId: number, bytes: Uint8Array, mode: ValueFormatMode, offset = 0): boolean {
  return new Walker(btf, writerSink(w), mode, bytes).walk(typeId, 0, offset, 0);
}

/**
 * The value of BTF type `typeId` in `bytes` (from `offset`) as a plain tree, equal to what
 * `JSON.parse` gives of bpftool's `"formatted"` member (mode `json`): integers as numbers
 * (ExactInt beyond 2^53), bool as true/false, enums by name (number when none matches),
 * printable char arrays as strings, bitfields and 128-bit ints as `"0x.."`, pointers as
 * numbers, structs/unions as objects, DATASEC as `{ ".data": [{ var: value }...] }`.
 * Throws `BtfValueFormatError` for what bpftool cannot print.
 */
export function formatBtfValue(btf: ValueBtf, typeId: number, bytes: Uint8Array, offset = 0, mode: ValueFormatMode = 'json'): Formatted {
  const stack: (Formatted[] | { [k: string]: Formatted })[] = [];
  let pendingName: string | undefined;
  let root: Formatted = null;
  const put = (v: Formatted): void => {
    const top = stack[stack.length - 1];
    if (top === undefined) root = v;
    else if (Array.isArray(top)) top.push(v);
    else top[pendingName ?? ''] = v;
  };
  const sink: ValueSink = {
    startObject: () => {
      const o: { [k: string]: Formatted } = {};
      put(o);
      stack.push(o);
    },
    endObject: () => void stack.pop(),
    startArray: () => {
      const a: Formatted[] = [];
      put(a);
      stack.push(a);
    },
    endArray: () => void stack.pop(),
    name: (n) => {
      pendingName = n;
    },
    scalar: (v) => put(v),
  };
  const t = btf.types[typeId];
  if (!new Walker(btf, sink, mode, bytes).walk(typeId, 0, offset, 0)) throw new BtfValueFormatError(typeId, `bpftool's btf_dumper cannot print ${t ? `a ${t.kind}` : 'a missing type'} here`);
  return root;
}

/** JSON text of a document holding formatted values: ExactInt as bare integers (bpftool prints u64 in full). */
export function stringifyFormatted(doc: unknown, pretty = false): string {
  const text = JSON.stringify(doc, (_k, v: unknown) => (v instanceof ExactInt ? `\u0000INT:${v.value}` : typeof v === 'bigint' ? v.toString() : v), pretty ? 2 : undefined);
  return text.replace(/"\\u0000INT:(-?\d+)"/g, '$1');
}
