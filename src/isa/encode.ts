// Instructions -> bytes, resolving jump and call references to symbols first.

import type { ByteOrder } from './decode.js';
import { invalidReason } from './decode.js';
import { InvalidInstructionError, InvalidOperandError, UnresolvedReferenceError } from './errors.js';
import { type Instruction, LDDW, slotOffsets } from './instruction.js';
import { matchEntry, type OpcodeEntry } from './opcodes.js';

/** Options for `encode`. */
export interface EncodeOptions {
  /** Byte order of the output (default `le`). */
  byteOrder?: ByteOrder;
}

/** Whether an entry's reference is a position in this instruction list (vs a map/kfunc name). */
function targetsCode(e: OpcodeEntry): boolean {
  return e.kind === 'jmp' || e.kind === 'ja' || e.kind === 'gotol' || e.kind === 'may_goto' || e.name === 'call.func' || e.name === 'ld.func';
}

/**
 * Replaces each code reference (jump target label, BPF-to-BPF callee, callback function) with
 * the relative slot offset to the instruction carrying that symbol. References to things that
 * are not code (maps, kfuncs, globals) are left for the loader. Throws
 * UnresolvedReferenceError for a missing or duplicate symbol.
 */
export function resolveReferences(insns: readonly Instruction[]): Instruction[] {
  const slotOf = slotOffsets(insns);
  const symbols = new Map<string, number>();
  insns.forEach((insn, i) => {
    if (insn.symbol === undefined) return;
    if (symbols.has(insn.symbol)) throw new UnresolvedReferenceError(i, insn.symbol, `is defined twice (instructions ${symbols.get(insn.symbol)} and ${i})`);
    symbols.set(insn.symbol, i);
  });
  return insns.map((insn, i) => {
    if (insn.reference === undefined) return insn;
    const entry = matchEntry(insn.code, insn.src, insn.off, insn.imm);
    if (!entry || !targetsCode(entry)) return insn;
    const target = symbols.get(insn.reference);
    if (target === undefined) throw new UnresolvedReferenceError(i, insn.reference);
    // Relative to the slot after the instruction's FIRST slot, as the kernel counts: a jump or
    // call at slot i targets i + off/imm + 1, and so does an lddw of a function (ld.func), even
    // though the lddw itself occupies two slots (verifier.c, add_subprog_and_kfunc).
    const delta = slotOf[target]! - (slotOf[i]! + 1);
    if (entry.kind === 'jmp' || entry.kind === 'ja' || entry.kind === 'may_goto') {
      if (delta < -32768 || delta > 32767) {
        throw new InvalidOperandError(entry.name, `jump to "${insn.reference}" is ${delta} instructions away, beyond a 16-bit offset; use gotol`);
      }
      return { ...insn, off: delta };
    }
    return { ...insn, imm: delta };
  });
}

function checkRange(name: string, field: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new InvalidOperandError(name, `${field} ${v} out of range [${min}, ${max}]`);
}

/**
 * Encodes instructions into the raw stream the kernel loads. Code references are resolved
 * first; every instruction is checked against the opcode table (an invalid one throws
 * InvalidInstructionError naming its slot index) and every field against its width (registers
 * r11..r15 are encoded: the verifier, as the kernel's, refuses them).
 * Immediates may be given signed or unsigned (0xffffffff and -1 encode the same).
 */
export function encode(insns: readonly Instruction[], options: EncodeOptions = {}): Uint8Array {
  const le = (options.byteOrder ?? 'le') === 'le';
  const resolved = resolveReferences(insns);
  const slotOf = slotOffsets(resolved);
  const out = new Uint8Array(slotOf[resolved.length]! * 8);
  const view = new DataView(out.buffer);
  resolved.forEach((insn, i) => {
    const name = `instruction ${slotOf[i]}`;
    checkRange(name, 'opcode', insn.code, 0, 0xff);
    checkRange(name, 'dst', insn.dst, 0, 15);
    checkRange(name, 'src', insn.src, 0, 15);
    checkRange(name, 'offset', insn.off, -0x8000, 0x7fff);
    checkRange(name, 'imm', insn.imm, -0x80000000, 0xffffffff);
    const norm = { ...insn, imm: insn.imm | 0 };
    // Registers r11..r15 fit the 4-bit fields: the kernel's verifier, not the encoding, refuses them ("R15 is invalid").
    const why = invalidReason(norm, undefined, true);
    if (why) throw new InvalidInstructionError(slotOf[i]!, insn.code, why);
    const at = slotOf[i]! * 8;
    out[at] = insn.code;
    out[at + 1] = le ? (insn.src << 4) | insn.dst : (insn.dst << 4) | insn.src;
    view.setInt16(at + 2, insn.off, le);
    view.setInt32(at + 4, insn.imm | 0, le);
    if (insn.code === LDDW) {
      const imm2 = insn.imm2 ?? 0;
      checkRange(name, 'imm2', imm2, -0x80000000, 0xffffffff);
      view.setInt32(at + 12, imm2 | 0, le);
    }
  });
  return out;
}
