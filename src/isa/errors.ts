// Errors of the instruction layer: invalid encodings, unresolved references, bad builder input.

import { BpfkitError, type BpfkitErrorOptions } from '../errors.js';

/** An encoding the kernel would not accept: unknown opcode, reserved field set, torn `lddw`. */
export class InvalidInstructionError extends BpfkitError {
  constructor(
    /** Raw slot index of the offending instruction. */
    readonly index: number,
    /** Its opcode byte. */
    readonly opcode: number,
    /** What is wrong with it. */
    readonly reason: string,
    options?: BpfkitErrorOptions,
  ) {
    super('ERR_INVALID_INSTRUCTION', `instruction ${index} (opcode 0x${opcode.toString(16).padStart(2, '0')}): ${reason}`, options);
  }
}

/** A jump or call refers to a symbol that no instruction defines, or a symbol is defined twice. */
export class UnresolvedReferenceError extends BpfkitError {
  constructor(
    /** Index (in the instruction list) of the instruction holding the reference. */
    readonly index: number,
    /** The symbol name. */
    readonly symbol: string,
    reason = 'is not defined',
    options?: BpfkitErrorOptions,
  ) {
    super('ERR_UNRESOLVED_REFERENCE', `instruction ${index}: symbol "${symbol}" ${reason}`, options);
  }
}

/** An operand the builder or encoder cannot represent (register 11, offset out of s16...). */
export class InvalidOperandError extends BpfkitError {
  constructor(
    /** The instruction or builder name. */
    readonly instruction: string,
    /** What is wrong. */
    readonly reason: string,
    options?: BpfkitErrorOptions,
  ) {
    super('ERR_INVALID_OPERAND', `${instruction}: ${reason}`, options);
  }
}
