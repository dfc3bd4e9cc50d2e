// VerifierRejection: bpfkit's own verifier refused a program; same fields as a VerifyResult.
import { BpfkitError } from '../errors.js';

/** Where in the C source a rejection happened (from BTF line info). */
export interface RejectionLine {
  /** Source file. */
  readonly file: string;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column, 0 when unknown. */
  readonly column: number;
  /** The line's text. */
  readonly text: string;
}

/** Fields of a rejection. */
export interface RejectionFields {
  /** Instruction (slot) index the verifier stopped at. */
  readonly insn?: number;
  /** Source line of that instruction. */
  readonly line?: RejectionLine;
  /** The kernel's message, e.g. `R1 invalid mem access 'scalar'`. */
  readonly message: string;
  /** Plain-language explanation and fix, when one is known. */
  readonly hint?: string;
  /** The full log. */
  readonly log: string;
}

/**
 * bpfkit's verifier rejected a program (code `ERR_VERIFIER_REJECT`), for APIs that throw:
 * the instruction, the source line, the kernel-compatible message, a hint and the log.
 */
export class VerifierRejection extends BpfkitError {
  /** Instruction (slot) index of the rejection. */
  readonly insn: number | undefined;
  /** Source line, from BTF line info. */
  readonly line: RejectionLine | undefined;
  /** The kernel-compatible message. */
  readonly reason: string;
  /** Plain-language explanation. */
  readonly hint: string | undefined;
  /** The full verifier log. */
  readonly log: string;

  constructor(fields: RejectionFields) {
    const where = fields.insn === undefined ? '' : `insn ${fields.insn}${fields.line ? ` (${fields.line.file}:${fields.line.line})` : ''}: `;
    super('ERR_VERIFIER_REJECT', `verifier rejected the program: ${where}${fields.message}`);
    this.insn = fields.insn;
    this.line = fields.line;
    this.reason = fields.message;
    this.hint = fields.hint;
    this.log = fields.log;
  }
}
