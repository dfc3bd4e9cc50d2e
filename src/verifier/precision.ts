// Which scalars can matter: a static, conservative stand-in for the kernel's precision tracking
// (mark_chain_precision). A scalar register that no path from an instruction can use where its
// value decides safety (a pointer offset, a branch, a helper's size or constant argument, a
// subprogram's argument or result) is "imprecise" there, and state pruning may ignore its value
// the way the kernel ignores a scalar it never marked precise.
import { Class, classOf, JMP_CALL, JMP_EXIT, Mode, modeOf, opOf, PseudoCall, Source } from '../isa/opcodes.js';
import { helperProto } from '../isa/helpers.js';
import { programTypeName } from '../isa/program-types.js';
import { type CfgInfo, jumpTarget, type SlotProgram } from './cfg.js';
import { isLdImm64 } from '../isa/instruction.js';

/** Bit 0..10: registers; bit 11: the scalars spilled on this frame's stack. */
export type NeedMask = number;
const STACK = 1 << 11;
const ALL = (1 << 12) - 1;
const bit = (r: number): number => (r <= 10 ? 1 << r : 0);

/**
 * Per instruction: the registers (and stack) whose scalar value may matter from there on.
 * Computed backwards to a fixpoint inside each subprogram.
 */
export function computeNeeded(prog: SlotProgram, cfg: CfgInfo, progType: number): Uint16Array {
  const n = prog.length;
  const need = new Uint16Array(n);
  const typeName = programTypeName(progType);
  const subOf = new Int32Array(n);
  cfg.subprogs.forEach((sp, k) => {
    for (let i = sp.start; i < sp.end; i++) subOf[i] = k;
  });
  let changed = true;
  let rounds = 0;
  while (changed && rounds < 64) {
    changed = false;
    rounds++;
    for (let i = n - 1; i >= 0; i--) {
      const insn = prog[i];
      if (!insn) continue;
      const code = insn.code;
      const cls = classOf(code);
      const succ = (j: number): number => (j >= 0 && j < n ? need[j]! : 0);
      let out = 0;
      let inn: number;
      if (cls === Class.JMP || cls === Class.JMP32) {
        const op = opOf(code);
        if (op === JMP_EXIT) {
          inn = subOf[i] === 0 ? 0 : bit(0) | STACK;
        } else if (op === JMP_CALL) {
          out = succ(i + 1);
          if (insn.src === PseudoCall.HELPER) {
            const proto = helperProto(insn.imm, typeName);
            let args = 0;
            if (proto) proto.args.forEach((a, k) => (a.base !== 'ARG_ANYTHING' ? (args |= bit(k + 1)) : 0));
            else args = 0x3e;
            inn = (out & ~0x3f) | args;
          } else inn = (out & ~0x3f) | 0x3e | STACK;
        } else if (op === 0x00 || op === 0xe0) {
          // ja / gotol / may_goto
          out = succ(jumpTarget(insn, i)) | (op === 0xe0 ? succ(i + 1) : 0);
          inn = out;
        } else {
          out = succ(i + 1) | succ(jumpTarget(insn, i));
          inn = out | bit(insn.dst) | ((code & Source.X) !== 0 ? bit(insn.src) : 0);
        }
      } else {
        out = succ(i + (isLdImm64(insn) ? 2 : 1));
        if (cls === Class.ALU || cls === Class.ALU64) {
          const op = opOf(code);
          const isX = (code & Source.X) !== 0;
          const d = bit(insn.dst);
          if (op === 0xb0) {
            inn = out & ~d;
            if (out & d && isX) inn |= bit(insn.src);
          } else if (op === 0x00 || op === 0x10) {
            // dst or src may be a pointer: the other operand is then its offset.
            inn = out | d | (isX ? bit(insn.src) : 0);
          } else {
            inn = out;
            if (out & d) inn |= d | (isX ? bit(insn.src) : 0);
          }
        } else if (cls === Class.LDX) {
          inn = (out & ~bit(insn.dst)) | bit(insn.src);
          if (out & bit(insn.dst)) inn |= STACK;
        } else if (cls === Class.STX) {
          inn = out | bit(insn.dst) | (out & STACK || modeOf(code) === Mode.ATOMIC ? bit(insn.src) : 0);
          if (modeOf(code) === Mode.ATOMIC) inn |= bit(0);
        } else if (cls === Class.ST) {
          inn = out | bit(insn.dst);
        } else if (isLdImm64(insn)) {
          inn = out & ~bit(insn.dst);
        } else {
          // LD_ABS / LD_IND: r0..r5 clobbered; r6 must be the context.
          inn = (out & ~0x3f) | bit(6);
        }
      }
      inn &= ALL;
      if ((inn | need[i]!) !== need[i]) {
        need[i] = inn | need[i]!;
        changed = true;
      }
    }
  }
  if (changed) need.fill(ALL);
  return need;
}
