// Typed encoder/decoder for kernel structs: fields written and read by name from a StructLayout.
import { BpfkitError } from '../errors.js';
import type { FieldLayout, FieldName, StructLayout } from './layout.js';
import type { PointerDirection, PointerField } from './sys.js';

/** A field was written or read with the wrong width, or a value does not fit: a bpfkit bug. */
export class StructFieldError extends BpfkitError {
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super('ERR_STRUCT_FIELD', `field ${field}: ${detail}`);
  }
}

function field<L extends StructLayout>(layout: L, name: FieldName<L>, bytes: Uint8Array): FieldLayout {
  const f = layout.fields[name];
  if (f === undefined) throw new StructFieldError(name, 'not in layout');
  if (f.offset + f.size > bytes.length) throw new StructFieldError(name, `ends at ${f.offset + f.size}, past the ${bytes.length}-byte buffer`);
  return f;
}

/**
 * Builds a zeroed kernel struct field by field. Pointer fields are recorded, not resolved:
 * `ptr('key', key)` notes that the address of `key` belongs at that offset, and the Sys patches
 * it in at call time (see {@link PointerField}).
 *
 * ```ts
 * const attr = new StructWriter(MAP_ELEM_ATTR).u32('map_fd', fd).ptr('key', key).ptr('value', value, 'out');
 * sys.bpf(BpfCmd.MAP_LOOKUP_ELEM, attr.bytes, attr.pointers);
 * ```
 */
export class StructWriter<L extends StructLayout> {
  /** The struct's bytes (zeroed, then written). */
  readonly bytes: Uint8Array;
  /** Pointer fields recorded so far. */
  readonly pointers: PointerField[] = [];
  readonly #view: DataView;

  /** A zeroed struct of `layout.size` bytes (or `size`, e.g. to send a shorter attr). */
  constructor(
    readonly layout: L,
    size: number = layout.size,
  ) {
    this.bytes = new Uint8Array(size);
    this.#view = new DataView(this.bytes.buffer);
  }

  /** Writes a u32 (or s32: negative values are stored two's complement) field. */
  u32(name: FieldName<L>, value: number): this {
    const f = field(this.layout, name, this.bytes);
    if (f.size !== 4 || f.bits) throw new StructFieldError(name, `u32 write to a ${f.size}-byte field`);
    if (!Number.isInteger(value) || value < -0x8000_0000 || value > 0xffff_ffff) throw new StructFieldError(name, `${value} does not fit in 32 bits`);
    this.#view.setUint32(f.offset, value >>> 0, true);
    return this;
  }

  /** Writes a u64 field. */
  u64(name: FieldName<L>, value: bigint | number): this {
    const f = field(this.layout, name, this.bytes);
    if (f.size !== 8) throw new StructFieldError(name, `u64 write to a ${f.size}-byte field`);
    const v = BigInt(value);
    if (v < 0n || v > 0xffff_ffff_ffff_ffffn) throw new StructFieldError(name, `${v} does not fit in 64 bits`);
    this.#view.setBigUint64(f.offset, v, true);
    return this;
  }

  /** Copies `data` into a byte-array field (`map_name`), zero-padded; throws if too long. */
  bytesField(name: FieldName<L>, data: Uint8Array): this {
    const f = field(this.layout, name, this.bytes);
    if (data.length > f.size) throw new StructFieldError(name, `${data.length} bytes do not fit in ${f.size}`);
    this.bytes.set(data, f.offset);
    return this;
  }

  /** Writes a NUL-terminated string into a char-array field; at most size-1 bytes of UTF-8. */
  cstring(name: FieldName<L>, text: string): this {
    const f = field(this.layout, name, this.bytes);
    const data = new TextEncoder().encode(text);
    if (data.length >= f.size) throw new StructFieldError(name, `"${text}" is longer than ${f.size - 1} bytes`);
    return this.bytesField(name, data);
  }

  /**
   * Records that pointer field `name` points to `target` (an empty target stays NULL).
   * `nested` are pointer fields inside `target` itself.
   */
  ptr(name: FieldName<L>, target: Uint8Array, direction: PointerDirection = 'in', nested?: readonly PointerField[]): this {
    const f = field(this.layout, name, this.bytes);
    if (f.size !== 8) throw new StructFieldError(name, `pointer in a ${f.size}-byte field`);
    this.pointers.push({ offset: f.offset, target, direction, ...(nested && nested.length > 0 ? { pointers: nested } : {}) });
    return this;
  }
}

/** Reads fields by name from a kernel struct's bytes. Fields past the end read as zero. */
export class StructReader<L extends StructLayout> {
  readonly #view: DataView;

  constructor(
    readonly layout: L,
    readonly bytes: Uint8Array,
  ) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  #field(name: FieldName<L>): FieldLayout | undefined {
    const f = this.layout.fields[name];
    if (f === undefined) throw new StructFieldError(name, 'not in layout');
    // An older kernel fills a shorter struct: missing fields read as zero.
    return f.offset + f.size > this.bytes.length ? undefined : f;
  }

  /** A u32 field (a bitfield reads its bits only). */
  u32(name: FieldName<L>): number {
    const f = this.#field(name);
    if (!f) return 0;
    if (f.size !== 4) throw new StructFieldError(name, `u32 read of a ${f.size}-byte field`);
    const word = this.#view.getUint32(f.offset, true);
    if (!f.bits) return word;
    const [shift, width] = f.bits;
    return width >= 32 ? word : (word >>> shift) & ((1 << width) - 1);
  }

  /** A s32 field. */
  s32(name: FieldName<L>): number {
    return this.u32(name) | 0;
  }

  /** A u64 field. */
  u64(name: FieldName<L>): bigint {
    const f = this.#field(name);
    if (!f) return 0n;
    if (f.size !== 8) throw new StructFieldError(name, `u64 read of a ${f.size}-byte field`);
    return this.#view.getBigUint64(f.offset, true);
  }

  /** A copy of a byte-array field. */
  bytesField(name: FieldName<L>): Uint8Array {
    const f = this.#field(name);
    const size = this.layout.fields[name]?.size ?? 0;
    return f ? this.bytes.slice(f.offset, f.offset + f.size) : new Uint8Array(size);
  }

  /** A char-array field up to its first NUL, decoded as UTF-8. */
  cstring(name: FieldName<L>): string {
    const raw = this.bytesField(name);
    const end = raw.indexOf(0);
    return new TextDecoder().decode(end < 0 ? raw : raw.subarray(0, end));
  }
}

/** A NUL-terminated copy of `text` as UTF-8, for path and name pointers. */
export function cString(text: string): Uint8Array {
  const utf8 = new TextEncoder().encode(text);
  const out = new Uint8Array(utf8.length + 1);
  out.set(utf8);
  return out;
}
