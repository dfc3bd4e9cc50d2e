// What a disassembly syntax is: a table from opcode entry to template, and how each placeholder prints.

import type { Instruction } from '../isa/instruction.js';
import type { OpcodeEntry } from '../isa/opcodes.js';

/**
 * A syntax table. Templates are text with placeholders — `r{dst}`/`w{dst}` for registers,
 * `{imm}`, `{off}`, `{jmp}`... for numbers — and each syntax says how a placeholder prints.
 * The kernel's disasm.c works the same way (small tables of operator strings indexed by the
 * opcode), and so does the assembler, which reads the llvm table's templates back.
 */
export interface Syntax<O> {
  /** The template of a valid instruction, or undefined to use `unknown` instead. */
  template(entry: OpcodeEntry, insn: Instruction, options: O): string | undefined;
  /** Renders a number placeholder (`imm`, `off`, `jmp`, ...). */
  slot(name: string, insn: Instruction, options: O): string;
  /** The text printed for an encoding no entry matches (or the syntax cannot show). */
  unknown(insn: Instruction, options: O): string;
}

/** Width in bits of a conversion or access (`movsx8`, `be16`, `bswap64`). */
export const bits = (e: OpcodeEntry): number => (e.bytes ?? 8) * 8;

/**
 * Templates of the register-only operations, which llvm and the kernel spell the same
 * (`r1 += r2`, `w1 = -w1`, `r1 = (s8)r2`, `r1 = be16 r1`); undefined for other kinds.
 */
export function registerTemplate(e: OpcodeEntry): string | undefined {
  const R = e.width === 32 ? 'w' : 'r';
  switch (e.kind) {
    case 'alu':
      return e.fields.src === 'reg' ? `${R}{dst} ${e.sym} ${R}{src}` : `${R}{dst} ${e.sym} {imm}`;
    case 'neg':
      return `${R}{dst} = -${R}{dst}`;
    case 'movsx':
      return `${R}{dst} = (s${bits(e)})${R}{src}`;
    case 'addr_space_cast':
      return 'r{dst} = addr_space_cast(r{src}, {asdst}, {assrc})';
    case 'end':
      return `r{dst} = ${e.op}${bits(e)} r{dst}`;
    case 'bswap':
      return `r{dst} = bswap${bits(e)} r{dst}`;
    default:
      return undefined;
  }
}

/** Fills a template's placeholders from an instruction. */
export function render<O>(syntax: Syntax<O>, template: string, insn: Instruction, options: O): string {
  return template.replace(/\{(\w+)\}/g, (_m, name: string) => {
    if (name === 'dst') return String(insn.dst);
    if (name === 'src') return String(insn.src);
    return syntax.slot(name, insn, options);
  });
}

/** Formats a signed value the way LLVM's `formatImm` does: `0x4`, `-0x4` (hex) or `4`, `-4`. */
export function formatSigned(v: bigint | number, hex: boolean): string {
  const b = BigInt(v);
  if (!hex) return b.toString();
  return b < 0n ? `-0x${(-b).toString(16)}` : `0x${b.toString(16)}`;
}

/** Formats a value with an explicit sign (`+0x3`, `-0x3`, `+0`), like printf's `%+d`. */
export function formatWithSign(v: bigint | number, hex: boolean): string {
  const b = BigInt(v);
  return b < 0n ? formatSigned(b, hex) : `+${formatSigned(b, hex)}`;
}

/** The 64-bit constant of an `lddw` as a signed value. */
export function imm64Signed(insn: Instruction): bigint {
  return BigInt.asIntN(64, (BigInt(insn.imm2 ?? 0) << 32n) | BigInt(insn.imm >>> 0));
}
