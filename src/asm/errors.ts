// Errors of the text assembler.

import { BpfkitError, type BpfkitErrorOptions } from '../errors.js';

/** Assembly text that cannot be read: `line 3: unknown register 'r11'`. */
export class AsmSyntaxError extends BpfkitError {
  constructor(
    /** 1-based line number in the input. */
    readonly line: number,
    /** 1-based column of the offending token (1 when the whole line is at fault). */
    readonly column: number,
    /** The text of the line. */
    readonly text: string,
    /** What is wrong, without the position. */
    readonly reason: string,
    options?: BpfkitErrorOptions,
  ) {
    super('ERR_ASM_SYNTAX', `line ${line}: ${reason}`, options);
  }
}
