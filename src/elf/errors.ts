// The errors the ELF reader throws: a malformed file, or a valid ELF variant bpfkit does not read.

import { BpfkitError, type BpfkitErrorOptions } from '../errors.js';

/** Where in the file an ELF error was found; every field is optional. */
export interface ElfErrorLocation {
  /** Section index the error is about. */
  sectionIndex?: number;
  /** Section name, when the section names have been read. */
  sectionName?: string;
  /** File offset of the offending bytes. */
  offset?: number;
}

/**
 * An ELF file that cannot be read (code `'ERR_ELF_MALFORMED'`): truncated, out-of-range
 * offsets, bad entry sizes, dangling indexes. The message says where
 * (`section 7 (".rel.text"): entry 3 at offset 0x4a8: symbol index 99 out of range (12 symbols)`);
 * the same facts are in the fields.
 */
export class ElfError extends BpfkitError {
  /** The section: its name when known, else its index; undefined for header-level errors. */
  readonly section: string | number | undefined;
  /** The section index, when the error is about a section. */
  readonly sectionIndex: number | undefined;
  /** File offset of the offending bytes, when known. */
  readonly offset: number | undefined;

  constructor(message: string, location: ElfErrorLocation = {}, options?: BpfkitErrorOptions, code = 'ERR_ELF_MALFORMED') {
    super(code, message, options);
    this.sectionIndex = location.sectionIndex;
    this.section = location.sectionName !== undefined && location.sectionName !== '' ? location.sectionName : location.sectionIndex;
    this.offset = location.offset;
  }
}

/**
 * A well-formed ELF file of a kind bpfkit does not read (code `'ERR_ELF_UNSUPPORTED'`), such as
 * a 32-bit (ELFCLASS32) object. It is an `ElfError`, so callers catching `ElfError` see it too.
 */
export class UnsupportedElfError extends ElfError {
  /** What is unsupported, e.g. `'ELFCLASS32'`. */
  readonly feature: string;

  constructor(feature: string, message: string, location: ElfErrorLocation = {}, options?: BpfkitErrorOptions) {
    super(message, location, options, 'ERR_ELF_UNSUPPORTED');
    this.feature = feature;
  }
}
