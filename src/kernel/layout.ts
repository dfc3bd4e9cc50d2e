// Struct layouts as data: where each field of a kernel struct lives, for encoders and decoders.

/** Where one field of a kernel struct lives: byte offset and byte size (arrays: total size). */
export interface FieldLayout {
  /** Byte offset from the start of the struct. */
  readonly offset: number;
  /** Size in bytes; for a bitfield, the size of the 32-bit word holding it (4). */
  readonly size: number;
  /** For a bitfield only: `[bit offset within the word at offset, width in bits]`. */
  readonly bits?: readonly [number, number];
}

/** A kernel struct's layout: total size and its fields by (flattened) name. */
export interface StructLayout {
  /** `sizeof` the struct, padding included. */
  readonly size: number;
  /**
   * Fields by name. Members of anonymous structs and unions are lifted into their parent;
   * members of named nested structs are prefixed with the member name (`'tcx.relative_fd'`).
   */
  readonly fields: Readonly<Record<string, FieldLayout>>;
}

/** The field names of a layout, as a string-literal union. */
export type FieldName<L extends StructLayout> = keyof L['fields'] & string;
