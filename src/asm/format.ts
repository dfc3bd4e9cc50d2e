// The one instruction printer: picks the syntax table, looks the encoding up in OPCODES, renders.

import type { Instruction } from '../isa/instruction.js';
import { matchEntry } from '../isa/opcodes.js';
import { type KernelSyntaxOptions, kernelSyntax } from './kernel-syntax.js';
import { type LlvmSyntaxOptions, llvmSyntax } from './llvm-syntax.js';
import { render, type Syntax } from './syntax.js';

/** Options of `formatInstruction`. */
export interface FormatOptions extends LlvmSyntaxOptions, KernelSyntaxOptions {
  /**
   * `llvm` (default): what llvm-objdump prints (`r1 += 0x16`); `kernel`: what the verifier
   * log prints (`(07) r1 += 22`), kernel/bpf/disasm.c's format.
   */
  syntax?: 'llvm' | 'kernel';
}

/**
 * Formats one instruction. The entry comes from the opcode table; its template from the
 * syntax's table. An encoding that no entry matches (or, in llvm syntax, one with reserved
 * fields set or a torn `lddw`) prints the syntax's explicit fallback — `<unknown>` as
 * llvm-objdump prints, `BUG_...` as the kernel prints — never a guess.
 *
 * A jump or call that carries a `reference` (a builder instruction not yet encoded) prints
 * the label name in llvm syntax: `goto out`.
 */
export function formatInstruction(insn: Instruction, options: FormatOptions = {}): string {
  if (options.syntax === 'kernel') {
    return formatWith(kernelSyntax, insn, { callbacks: options.callbacks, allowPtrLeaks: options.allowPtrLeaks ?? true });
  }
  return formatWith(llvmSyntax, insn, { hex: options.hex ?? true, alu32: options.alu32 ?? false, llvm16: options.llvm16 ?? false });
}

function formatWith<O>(syntax: Syntax<O>, insn: Instruction, options: O): string {
  const entry = matchEntry(insn.code, insn.src, insn.off, insn.imm);
  const template = entry && syntax.template(entry, insn, options);
  return template === undefined ? syntax.unknown(insn, options) : render(syntax, template, insn, options);
}
