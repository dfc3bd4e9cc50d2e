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

/**
 * A program type name that neither bpftool nor the kernel knows (code
 * `'ERR_UNKNOWN_PROGRAM_TYPE'`), given to `--type` or the `programType` option. `valid` lists the
 * names that are accepted (bpftool's section-style names and the kernel's type names).
 */
export class UnknownProgramTypeError extends BpfkitError {
  constructor(
    /** What was given. */
    readonly given: string | number,
    /** The accepted names. */
    readonly valid: readonly string[],
  ) {
    super('ERR_UNKNOWN_PROGRAM_TYPE', `unknown program type ${typeof given === 'number' ? given : `"${given}"`}; valid types: ${valid.join(', ')}`);
  }
}

/**
 * A per-program `programType` entry naming a program the object lacks (code
 * `'ERR_PROGRAM_TYPE_TARGET'`).
 */
export class ProgramTypeTargetError extends BpfkitError {
  constructor(
    /** The program named in the option. */
    readonly program: string,
    /** The object's programs. */
    readonly programs: readonly string[],
  ) {
    super('ERR_PROGRAM_TYPE_TARGET', `programType names program "${program}", which the object lacks (programs: ${programs.join(', ') || 'none'})`);
  }
}

/**
 * A program whose section name libbpf cannot type (`SEC("xdp_prog")`, `SEC("filter")`) asked to
 * be verified, run or loaded without a type (code `'ERR_PROGRAM_UNTYPED'`). The message says to
 * pass `--type` (CLI) or `programType` (API), with the type libbpf < 1.0 would have guessed when
 * there is one (`suggestion`).
 */
export class UntypedProgramError extends BpfkitError {
  constructor(
    /** The program. */
    readonly program: string,
    /** Its ELF section. */
    readonly section: string,
    /** The type libbpf < 1.0 derived from the section's prefix, if any (`'xdp'` for `xdp_prog`). */
    readonly suggestion?: string,
  ) {
    super(
      'ERR_PROGRAM_UNTYPED',
      `program "${program}": libbpf cannot tell the program type from section "${section}"; pass --type TYPE (CLI) or programType (API)` +
        (suggestion === undefined ? ', e.g. --type xdp' : `, e.g. --type ${suggestion} (libbpf < 1.0 read "${section}" as ${suggestion})`),
    );
  }
}
