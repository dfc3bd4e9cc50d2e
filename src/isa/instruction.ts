// The Instruction value: a plain readonly object, one per instruction (lddw is ONE of width 2).

import { Class, Mode, Size, type OpcodeEntry, matchEntry } from './opcodes.js';

/** A register number, r0..r10. */
export type Reg = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10;

/** The registers, for the builder DSL: `alu64.add.imm(r1, 22)`. */
export const r0: Reg = 0, r1: Reg = 1, r2: Reg = 2, r3: Reg = 3, r4: Reg = 4, r5: Reg = 5;
export const r6: Reg = 6, r7: Reg = 7, r8: Reg = 8, r9: Reg = 9, r10: Reg = 10;
/** The read-only frame pointer. */
export const FP: Reg = 10;

/** A C source line attached to an instruction (from BTF line info). */
export interface SourceLine {
  /** Source file name as the compiler recorded it. */
  readonly file: string;
  /** 1-based line number. */
  readonly line: number;
  /** 1-based column, 0 when unknown. */
  readonly column: number;
  /** The text of the line, as recorded in BTF. */
  readonly text: string;
}

/**
 * One eBPF instruction. The encoding fields are kept raw (so every valid encoding
 * round-trips); metadata ties instructions to symbols:
 *
 * - `symbol`: this instruction starts the named label or function;
 * - `reference`: the instruction refers to a symbol — a jump or call target (resolved to an
 *   offset by `encode`), or a map / kfunc / global the loader patches.
 */
export interface Instruction {
  /** The opcode byte. */
  readonly code: number;
  /** Destination register (0..15 in the encoding; 0..10 valid). */
  readonly dst: number;
  /** Source register, or the pseudo-source of `lddw` and `call`. */
  readonly src: number;
  /** Signed 16-bit offset. */
  readonly off: number;
  /** Signed 32-bit immediate (the low half of `lddw`'s constant). */
  readonly imm: number;
  /** `lddw` only: the second slot's immediate, i.e. the upper 32 bits of the constant. */
  readonly imm2?: number;
  /** Label or function name that starts at this instruction. */
  readonly symbol?: string;
  /** Symbol this instruction refers to (jump/call target, map, kfunc). */
  readonly reference?: string;
  /** C source line, from BTF line info, when known. */
  readonly source?: SourceLine;
}

/** The `lddw` opcode byte (BPF_LD | BPF_IMM | BPF_DW). */
export const LDDW = Class.LD | Mode.IMM | Size.DW;

/** Whether the instruction is the 16-byte `lddw`. */
export const isLdImm64 = (insn: Pick<Instruction, 'code'>): boolean => insn.code === LDDW;

/** Number of 8-byte slots the instruction occupies (2 for `lddw`, else 1). */
export const slots = (insn: Pick<Instruction, 'code'>): 1 | 2 => (insn.code === LDDW ? 2 : 1);

/** The 64-bit constant of an `lddw` (imm | imm2 << 32), as a BigInt. */
export function ldImm64Value(insn: Instruction): bigint {
  return (BigInt(insn.imm2 ?? 0) << 32n) | BigInt(insn.imm >>> 0);
}

/** Splits a 64-bit constant into the signed 32-bit halves `imm` and `imm2` of an `lddw`. */
export function splitImm64(value: bigint | number): { imm: number; imm2: number } {
  const v = BigInt.asUintN(64, BigInt(value));
  return { imm: Number(BigInt.asIntN(32, v & 0xffffffffn)), imm2: Number(BigInt.asIntN(32, v >> 32n)) };
}

/** The opcode-table entry of an instruction, or undefined for an invalid encoding. */
export const entryOf = (insn: Instruction): OpcodeEntry | undefined => matchEntry(insn.code, insn.src, insn.off, insn.imm);

/** Raw slot offsets: `result[i]` is the slot index of `insns[i]`; `result[insns.length]` is the total. */
export function slotOffsets(insns: readonly Pick<Instruction, 'code'>[]): Uint32Array {
  const out = new Uint32Array(insns.length + 1);
  let slot = 0;
  for (let i = 0; i < insns.length; i++) {
    out[i] = slot;
    slot += slots(insns[i]!);
  }
  out[insns.length] = slot;
  return out;
}
