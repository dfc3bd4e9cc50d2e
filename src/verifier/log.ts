// The verifier log: what the kernel's verbose() prints, with its level-1 rule that a finished path's lines are dropped.
import { formatInstruction } from '../asm/format.js';
import type { Instruction } from '../isa/instruction.js';
import { formatReg } from './reg-state.js';
import { type FuncState, StackType, type VState } from './state.js';

/** An append-only text log that can be rolled back to an earlier position (bpf_vlog_reset). */
export class VerifierLog {
  private parts: string[] = [];
  private length = 0;

  /** 0: nothing but the verdict; 1: the failing path; 2: every instruction with its register state. */
  constructor(readonly level: 0 | 1 | 2) {}

  /** Appends text (the kernel's verbose()). At level 0 only the last error is kept. */
  print(text: string): void {
    this.parts.push(text);
    this.length++;
  }

  /** Current position, for {@link reset}. */
  get position(): number {
    return this.length;
  }

  /** Drops everything after `pos`. */
  reset(pos: number): void {
    if (pos < this.length) {
      this.parts.length = pos;
      this.length = pos;
    }
  }

  /** The whole text. */
  toString(): string {
    return this.parts.join('');
  }
}

/** The instruction as the verifier log prints it: `(bf) r2 = r1`. */
export function formatInsn(insn: Instruction): string {
  return formatInstruction(insn, { syntax: 'kernel' });
}

const STACK_CHARS = ['?', 'r', 'm', '0'];

/** One frame's state as print_verifier_state prints it: ` R1=ctx() R10=fp0 fp-8=mmmmmmmm`. */
export function formatFrame(f: FuncState, frameIndex: number, frameCount: number): string {
  let out = frameCount > 1 || frameIndex > 0 ? ` frame${frameIndex}:` : '';
  f.regs.forEach((r, i) => {
    if (r.type === 'not_init') return;
    out += ` R${i}=${formatReg(r)}`;
  });
  f.stack.forEach((slot, spi) => {
    if (!slot) return;
    const off = -(spi + 1) * 8;
    if (slot.types.every((t) => t === StackType.INVALID)) return;
    if (slot.types[7] === StackType.SPILL) {
      out += ` fp${off}=${formatReg(slot.spilled)}`;
      return;
    }
    out += ` fp${off}=${slot.types.slice().reverse().map((t) => STACK_CHARS[t]).join('')}`;
  });
  return out;
}

/** The whole state (every frame), as print_verifier_state prints the current frame. */
export function formatState(s: VState): string {
  let out = '';
  s.frames.forEach((f, i) => {
    out += formatFrame(f, i, s.frames.length);
  });
  if (s.refs.length > 0) out += ` refs=${s.refs.map((r) => r.id).join(',')}`;
  return out;
}
