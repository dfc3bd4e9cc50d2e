// A mutable copy of a type table for fix-ups before loading (DATASEC sizes, sanitised kinds).

import { parseBtf, type Btf } from './btf.js';
import { encodeBtf } from './encode.js';
import { BtfEncodeError } from './errors.js';
import { formatType } from './format.js';
import { lookupType, resolveSize, type TypeTable } from './resolve.js';
import { VOID_TYPE, type BtfType, type BtfTypeInit } from './types.js';

/** Options of a fresh `BtfBuilder`. */
export interface BtfBuilderOptions {
  /** Byte order of `encode()`; default little-endian. */
  readonly littleEndian?: boolean;
  /** A string table to keep verbatim and extend (see `EncodeBtfOptions.strings`). */
  readonly strings?: Uint8Array;
}

/**
 * A mutable type table: add types, replace one by id (types themselves stay readonly values:
 * spread and change, `{ ...t, size: 16 }`), then `encode()` or `build()`. What the loader uses
 * to fix DATASEC sizes and VAR offsets as libbpf does, or to replace kinds an old kernel lacks.
 *
 * ```ts
 * const b = BtfBuilder.from(btf);
 * const sec = btf.typeByName('.data', 'datasec');
 * b.replace(sec.id, { ...sec, size: 16 });
 * const fixed = b.encode();
 * ```
 */
export class BtfBuilder implements TypeTable {
  /** Byte order of the output. */
  readonly littleEndian: boolean;
  private readonly list: BtfType[] = [VOID_TYPE];
  private readonly initialStrings: Uint8Array | undefined;

  constructor(options: BtfBuilderOptions = {}) {
    this.littleEndian = options.littleEndian ?? true;
    this.initialStrings = options.strings;
  }

  /** A builder holding a copy of `btf`'s types, its byte order and its string table. */
  static from(btf: Btf): BtfBuilder {
    const b = new BtfBuilder({ littleEndian: btf.littleEndian, strings: btf.strings.bytes });
    for (let id = 1; id < btf.types.length; id++) b.list.push(btf.types[id] as BtfType);
    return b;
  }

  /** The types, index = id. */
  get types(): readonly BtfType[] {
    return this.list;
  }

  /** Builders have no byte offsets: always 0 (used only in error messages). */
  typeOffset(_id: number): number {
    return 0;
  }

  /** The type with id `id`; throws `BtfNotFoundError` when there is none. */
  typeById(id: number): BtfType {
    return lookupType(this, id);
  }

  /** Appends `type` and returns its new id. */
  add(type: BtfTypeInit): number {
    const id = this.list.length;
    this.list.push(withId(type, id));
    return id;
  }

  /** Replaces type `id` (1..length-1) with `type`, which takes that id. */
  replace(id: number, type: BtfTypeInit): void {
    if (!Number.isInteger(id) || id < 1 || id >= this.list.length) throw new BtfEncodeError(id, `cannot replace: no type ${id} (ids 1..${this.list.length - 1})`);
    this.list[id] = withId(type, id);
  }

  /** `sizeof` type `id` within this table. */
  resolveSize(id: number): number {
    return resolveSize(this, id);
  }

  /** C spelling of type `id`. */
  format(id: number, declarator = ''): string {
    return formatType(this, id, declarator);
  }

  /** Marshals the table into .BTF bytes. */
  encode(): Uint8Array {
    return encodeBtf(this.list, { littleEndian: this.littleEndian, strings: this.initialStrings });
  }

  /** Marshals and parses back: a validated `Btf` of the current table. */
  build(): Btf {
    return parseBtf(this.encode());
  }
}

function withId(type: BtfTypeInit, id: number): BtfType {
  if (type.kind === 'void') throw new BtfEncodeError(id, 'void can only be type 0');
  return { ...type, id } as BtfType;
}
