// The verifier log: what the kernel's verbose() prints, with its level-1 rule that a finished path's lines are dropped.
import { formatInstruction } from '../asm/format.js';
import type { Instruction } from '../isa/instruction.js';
import { formatReg } from './format-reg.js';
import { curFrame, type FuncState, StackType, type VState } from './state.js';

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

/** Level 2: each register's and stack slot's printed state, to find what an instruction changed. */
export function snapshot(s: VState): { regs: string[]; stack: Map<number, string>; frames: number } {
  const f = curFrame(s);
  const stack = new Map<number, string>();
  f.stack.forEach((slot, spi) => {
    if (slot) stack.set(spi, formatFrame({ ...f, regs: [], stack: [slot] }, 0, 1));
  });
  return { regs: f.regs.map((r) => (r.type === 'not_init' ? '' : formatReg(r))), stack, frames: s.frames.length };
}

/**
 * Level 2: the kernel's line for one instruction: the instruction, padded to the log alignment, then `; ` and the
 * registers and stack slots it touched (print_insn_state of the scratched ones).
 */
export function insnStateLine(text: string, before: ReturnType<typeof snapshot>, after: VState, insn: Instruction): string {
  const now = snapshot(after);
  const parts: string[] = [];
  const f = curFrame(after);
  if (now.frames === before.frames) {
    f.regs.forEach((r, i) => {
      if (r.type === 'not_init') return;
      const touched = i === insn.dst || ((insn.code & 0x07) !== 0 && (insn.code & 0x07) !== 0x05 && i === insn.src) || now.regs[i] !== before.regs[i];
      if (touched) parts.push(`R${i}=${now.regs[i]}`);
    });
    for (const [spi, text] of now.stack) if (before.stack.get(spi) !== text) parts.push(text.trim().replace(/^fp-8=/, `fp${-(spi + 1) * 8}=`));
  } else parts.push(formatState(after).trim());
  if (parts.length === 0) return `${text}\n`;
  const pad = Math.max(1, Math.ceil(Math.max(text.length + 4, 40) / 8) * 8 - text.length - 2);
  return `${text}${' '.repeat(pad)}; ${parts.join(' ')}\n`;
}
