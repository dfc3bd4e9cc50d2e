// The parsed .BTF section: `parseBtf` and the `Btf` object with lookups, sizes and C spelling.

import { encodeBtf } from './encode.js';
import { BtfError, BtfNotFoundError } from './errors.js';
import { formatType } from './format.js';
import { decodeBtf, type BtfHeader } from './parse.js';
import { lookupType, resolveSize, skipQualifiers, skipTypedefs, type TypeTable } from './resolve.js';
import type { StringTable } from './strings.js';
import type { BtfKind, BtfType, BtfTypeOf } from './types.js';

/**
 * Parses a raw .BTF section (an ELF object's `.BTF`, or `/sys/kernel/btf/vmlinux`), either
 * byte order. Validates everything cheaply up front — header, bounds, string offsets, type
 * references — and throws `BtfError` (code `ERR_BTF_MALFORMED`) on the first problem.
 */
export function parseBtf(bytes: Uint8Array): Btf {
  return new Btf(bytes);
}

/**
 * A parsed BTF blob: the type table (index = id, 0 = void) with name lookups, size resolution
 * and C-like formatting. Types are plain readonly objects; the raw bytes stay available.
 * To modify and re-marshal, copy into a `BtfBuilder` (`BtfBuilder.from(btf)`).
 */
export class Btf implements TypeTable {
  /** The section bytes this was parsed from. */
  readonly bytes: Uint8Array;
  /** The header fields. */
  readonly header: BtfHeader;
  /** Every type, index = type id; `types[0]` is void. */
  readonly types: readonly BtfType[];
  /** The string table. */
  readonly strings: StringTable;
  private readonly offsets: Uint32Array;
  private byName: Map<string, BtfType[]> | undefined;

  /** Use `parseBtf`. */
  constructor(bytes: Uint8Array) {
    const decoded = decodeBtf(bytes);
    this.bytes = bytes;
    this.header = decoded.header;
    this.types = decoded.types;
    this.strings = decoded.strings;
    this.offsets = decoded.offsets;
  }

  /** True when the section is little-endian. */
  get littleEndian(): boolean {
    return this.header.littleEndian;
  }

  /** The type with id `id`; throws `BtfNotFoundError` when there is none. */
  typeById(id: number): BtfType {
    return lookupType(this, id);
  }

  /** Byte offset of type `id`'s record in the section (0 for void). */
  typeOffset(id: number): number {
    return this.offsets[id] ?? 0;
  }

  /** All types named `name`, in id order (empty when none). */
  typesByName(name: string): readonly BtfType[] {
    if (!this.byName) {
      const map = new Map<string, BtfType[]>();
      for (const t of this.types) {
        if (t.name === '') continue;
        const list = map.get(t.name);
        if (list) list.push(t);
        else map.set(t.name, [t]);
      }
      this.byName = map;
    }
    return this.byName.get(name) ?? [];
  }

  /** The first type named `name` (of `kind`, when given); throws `BtfNotFoundError` when there is none. */
  typeByName<K extends BtfKind>(name: string, kind: K): BtfTypeOf<K>;
  typeByName(name: string): BtfType;
  typeByName(name: string, kind?: BtfKind): BtfType {
    const t = this.typesByName(name).find((c) => kind === undefined || c.kind === kind);
    if (!t) throw new BtfNotFoundError(name, kind);
    return t;
  }

  /** `sizeof` of type `id` (see `resolveSize` in resolve.ts for the rules and errors). */
  resolveSize(id: number): number {
    return resolveSize(this, id);
  }

  /** The type `id` with const/volatile/restrict/type_tag stripped. */
  skipQualifiers(id: number): BtfType {
    return skipQualifiers(this, id);
  }

  /** The type `id` with typedefs, qualifiers and type tags stripped: its underlying type. */
  skipTypedefs(id: number): BtfType {
    return skipTypedefs(this, id);
  }

  /** C spelling of type `id` around an optional declarator: `struct datarec`, `int (*)(void *)`. */
  format(id: number, declarator = ''): string {
    return formatType(this, id, declarator);
  }

  /** The string at byte `offset` of the string table; throws `BtfError` when out of range. */
  stringAt(offset: number): string {
    const s = this.strings.lookup(offset);
    if (s === undefined) {
      throw new BtfError('.BTF', this.header.hdrLen + this.header.strOff, `string offset ${offset} is outside the string section (${this.strings.length} bytes)`);
    }
    return s;
  }

  /**
   * Re-marshals the types in the original byte order, keeping the original string table
   * verbatim (so for clang's or the kernel's output this returns the same bytes).
   */
  encode(): Uint8Array {
    return encodeBtf(this.types, { littleEndian: this.header.littleEndian, strings: this.strings.bytes });
  }
}
