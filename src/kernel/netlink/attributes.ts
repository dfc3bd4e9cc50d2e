// Netlink attributes (struct nlattr TLVs): a writer that builds them and a strict, bounds-checked reader.
//
//   0               2               4
//   +---------------+---------------+-----------------------+.....+
//   | nla_len (u16) | nla_type (u16)| payload               | pad |
//   +---------------+---------------+-----------------------+.....+
//   nla_len counts header + payload (not the padding); each attribute starts 4-byte aligned.
//   nla_type's top bits are flags: NLA_F_NESTED (0x8000), NLA_F_NET_BYTEORDER (0x4000).
import { NetlinkParseError } from './netlink-error.js';

/** Size of `struct nlattr`. */
export const NLA_HDRLEN = 4;
/** Flag bit: the payload is itself a stream of attributes. */
export const NLA_F_NESTED = 0x8000;
/** Flag bit: the payload is in network byte order. */
export const NLA_F_NET_BYTEORDER = 0x4000;
/** Mask of the type proper, without the flag bits. */
export const NLA_TYPE_MASK = 0x3fff;

/** Rounds up to the netlink alignment (4 bytes). */
export const nlaAlign = (n: number): number => (n + 3) & ~3;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Builds a stream of attributes, little-endian host order (x86_64, arm64). Every method
 * returns the writer, so calls chain; `finish()` gives the bytes.
 */
export class AttrWriter {
  #buf = new Uint8Array(64);
  #view = new DataView(this.#buf.buffer);
  #len = 0;

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < this.#len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  /** Writes a header and `size` payload bytes via `fill(view, at)`, then pads. */
  #put(type: number, size: number, fill: (view: DataView, at: number) => void): this {
    if (!Number.isInteger(type) || type < 0 || type > 0xffff) throw new RangeError(`netlink attribute type ${type} out of range`);
    const total = NLA_HDRLEN + size;
    if (total > 0xffff) throw new RangeError(`netlink attribute ${type} too long (${size} bytes)`);
    this.#reserve(nlaAlign(total));
    const at = this.#len;
    this.#view.setUint16(at, total, true);
    this.#view.setUint16(at + 2, type, true);
    fill(this.#view, at + NLA_HDRLEN);
    this.#buf.fill(0, at + total, at + nlaAlign(total));
    this.#len = at + nlaAlign(total);
    return this;
  }

  /** A u8 attribute. */
  u8(type: number, value: number): this {
    return this.#put(type, 1, (v, at) => v.setUint8(at, value));
  }

  /** A u16 attribute (host order). */
  u16(type: number, value: number): this {
    return this.#put(type, 2, (v, at) => v.setUint16(at, value, true));
  }

  /** A u16 attribute in network byte order (sets NLA_F_NET_BYTEORDER only if `flag`). */
  be16(type: number, value: number, flag = false): this {
    return this.#put(type | (flag ? NLA_F_NET_BYTEORDER : 0), 2, (v, at) => v.setUint16(at, value, false));
  }

  /** A u32 attribute (host order). */
  u32(type: number, value: number): this {
    return this.#put(type, 4, (v, at) => v.setUint32(at, value >>> 0, true));
  }

  /** A u64 attribute (host order). */
  u64(type: number, value: bigint): this {
    return this.#put(type, 8, (v, at) => v.setBigUint64(at, BigInt.asUintN(64, value), true));
  }

  /** An s32 attribute (host order). */
  s32(type: number, value: number): this {
    return this.#put(type, 4, (v, at) => v.setInt32(at, value, true));
  }

  /** A NUL-terminated string attribute. */
  string(type: number, value: string): this {
    const bytes = encoder.encode(value);
    if (bytes.includes(0)) throw new RangeError(`netlink string attribute ${type} contains a NUL byte`);
    return this.#put(type, bytes.length + 1, (_v, at) => {
      this.#buf.set(bytes, at);
      this.#buf[at + bytes.length] = 0;
    });
  }

  /** An attribute with raw bytes as payload. */
  bytes(type: number, value: Uint8Array): this {
    return this.#put(type, value.length, (_v, at) => this.#buf.set(value, at));
  }

  /** A flag attribute (no payload: present means true). */
  flag(type: number): this {
    return this.#put(type, 0, () => undefined);
  }

  /** A nested attribute (NLA_F_NESTED set) whose payload `build` writes. */
  nested(type: number, build: (w: AttrWriter) => void): this {
    const inner = new AttrWriter();
    build(inner);
    return this.bytes(type | NLA_F_NESTED, inner.finish());
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#len;
  }

  /** The attribute stream (a copy). */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

/** One parsed attribute: its type without flags, the flag bits, and the payload (a view, no copy). */
export interface Attr {
  /** `nla_type & NLA_TYPE_MASK`. */
  readonly type: number;
  /** The NLA_F_* bits of `nla_type`. */
  readonly flags: number;
  /** The payload bytes (without header and padding). */
  readonly payload: Uint8Array;
  /** Offset of the attribute's header in the parsed buffer. */
  readonly offset: number;
}

/**
 * A parsed attribute stream. Lookups by type ignore the flag bits; when a type repeats,
 * `get` and the typed getters return the last one (as the kernel's nla_parse does) and `all`
 * returns every one in order. Typed getters return undefined when the attribute is absent and
 * throw {@link NetlinkParseError} when its payload is too short for the type.
 */
export class Attrs implements Iterable<[number, Uint8Array]> {
  /** Every attribute, in order. */
  readonly list: readonly Attr[];

  constructor(list: readonly Attr[]) {
    this.list = list;
  }

  /** Payload of the last attribute of `type`. */
  get(type: number): Uint8Array | undefined {
    for (let i = this.list.length - 1; i >= 0; i--) {
      const a = this.list[i] as Attr;
      if (a.type === type) return a.payload;
    }
    return undefined;
  }

  /** Payloads of every attribute of `type`, in order. */
  all(type: number): Uint8Array[] {
    return this.list.filter((a) => a.type === type).map((a) => a.payload);
  }

  /** True when an attribute of `type` is present (a flag attribute's value). */
  has(type: number): boolean {
    return this.list.some((a) => a.type === type);
  }

  #fixed(type: number, size: number): DataView | undefined {
    const p = this.get(type);
    if (!p) return undefined;
    if (p.length < size) {
      const at = [...this.list].reverse().find((a) => a.type === type)?.offset ?? 0;
      throw new NetlinkParseError(at, `attribute ${type}: ${p.length}-byte payload, expected ${size}`);
    }
    return new DataView(p.buffer, p.byteOffset, p.length);
  }

  /** u8 value of `type`. */
  u8(type: number): number | undefined {
    return this.#fixed(type, 1)?.getUint8(0);
  }

  /** u16 value of `type` (host order). */
  u16(type: number): number | undefined {
    return this.#fixed(type, 2)?.getUint16(0, true);
  }

  /** u16 value of `type` in network byte order. */
  be16(type: number): number | undefined {
    return this.#fixed(type, 2)?.getUint16(0, false);
  }

  /** u32 value of `type` (host order). */
  u32(type: number): number | undefined {
    return this.#fixed(type, 4)?.getUint32(0, true);
  }

  /** s32 value of `type` (host order). */
  s32(type: number): number | undefined {
    return this.#fixed(type, 4)?.getInt32(0, true);
  }

  /** u64 value of `type` (host order). */
  u64(type: number): bigint | undefined {
    return this.#fixed(type, 8)?.getBigUint64(0, true);
  }

  /** String value of `type`, up to the first NUL. */
  string(type: number): string | undefined {
    const p = this.get(type);
    if (!p) return undefined;
    const nul = p.indexOf(0);
    return decoder.decode(nul < 0 ? p : p.subarray(0, nul));
  }

  /** The attributes nested in `type`. */
  nested(type: number): Attrs | undefined {
    const p = this.get(type);
    return p ? parseAttrs(p) : undefined;
  }

  /** `[type, payload]` pairs, in order. */
  *[Symbol.iterator](): Iterator<[number, Uint8Array]> {
    for (const a of this.list) yield [a.type, a.payload];
  }

  /** Number of attributes. */
  get size(): number {
    return this.list.length;
  }
}

/**
 * Parses the attributes in `bytes[offset, end)`. Strict: an attribute shorter than its header,
 * one running past `end`, or 1-3 stray bytes at the end throw {@link NetlinkParseError}. The
 * padding after the last attribute may be missing.
 */
export function parseAttrs(bytes: Uint8Array, offset = 0, end = bytes.length): Attrs {
  if (offset < 0 || end > bytes.length || offset > end) {
    throw new NetlinkParseError(offset, `attribute range [${offset}, ${end}) outside a ${bytes.length}-byte buffer`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const list: Attr[] = [];
  let at = offset;
  while (at < end) {
    if (end - at < NLA_HDRLEN) throw new NetlinkParseError(at, `${end - at} stray bytes after the last attribute`);
    const len = view.getUint16(at, true);
    const rawType = view.getUint16(at + 2, true);
    if (len < NLA_HDRLEN) throw new NetlinkParseError(at, `attribute length ${len} shorter than its header`);
    if (at + len > end) throw new NetlinkParseError(at, `attribute ${rawType & NLA_TYPE_MASK} of length ${len} runs past the end (${end - at} bytes left)`);
    list.push({ type: rawType & NLA_TYPE_MASK, flags: rawType & ~NLA_TYPE_MASK, payload: bytes.subarray(at + NLA_HDRLEN, at + len), offset: at });
    at = Math.min(end, at + nlaAlign(len));
  }
  return new Attrs(list);
}
