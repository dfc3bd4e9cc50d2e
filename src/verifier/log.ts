// The verifier log: what the kernel's verbose() prints, with its level-1 rule that a finished path's lines are dropped.
import { formatInstruction } from '../asm/format.js';
import type { Instruction } from '../isa/instruction.js';
import { formatReg } from './format-reg.js';
import { Class, classOf, SIZE_BYTES, sizeOf } from '../isa/opcodes.js';
import { curFrame, type FuncState, type StackSlot, StackType, type VState } from './state.js';

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

const STACK_CHARS = ['?', 'r', 'm', '0', 'd'];

/**
 * One stack slot as print_verifier_state prints it (empty when every byte is invalid): a spill
 * as the byte types below the spilled part (`???????`) then the register, else the 8 byte
 * types, in slot_type order (byte i is fp-(8 * spi + i + 1)).
 */
function formatSlot(slot: StackSlot, spi: number): string {
  if (slot.types.every((t) => t === StackType.INVALID)) return '';
  const off = -(spi + 1) * 8;
  if (slot.types[7] === StackType.SPILL) {
    let prefix = '';
    for (let j = 0; j < 8 && slot.types[j] !== StackType.SPILL; j++) prefix += STACK_CHARS[slot.types[j]!];
    return ` fp${off}=${prefix}${formatReg(slot.spilled)}`;
  }
  return ` fp${off}=${slot.types.map((t) => STACK_CHARS[t]).join('')}`;
}

/**
 * One frame's state as print_verifier_state prints it: ` R1=ctx() R10=fp0 fp-8=mmmmmmmm`,
 * prefixed ` frame1:` in a callee.
 */
export function formatFrame(f: FuncState): string {
  let out = f.frameno !== 0 ? ` frame${f.frameno}:` : '';
  f.regs.forEach((r, i) => {
    if (r.type === 'not_init') return;
    out += ` R${i}=${formatReg(r)}`;
  });
  f.stack.forEach((slot, spi) => {
    if (slot) out += formatSlot(slot, spi);
  });
  return out;
}

/** The state as print_verifier_state prints it: the current frame, then the references held. */
export function formatState(s: VState): string {
  let out = formatFrame(curFrame(s));
  if (s.refs.length > 0) out += ` refs=${s.refs.map((r) => r.id).join(',')}`;
  if (curFrame(s).callback) out += ' cb';
  return out;
}

/** Level 2: the current frame's registers and stack slots as printed before an instruction, and the slot it accesses. */
export interface Snapshot {
  readonly regs: string[];
  readonly stack: Map<number, string>;
  readonly frames: number;
  /** The current frame as printed (for "returning from callee"). */
  readonly frame: string;
  /** The call instruction of the current frame (its return goes to callsite + 1). */
  readonly callsite: number;
}

/**
 * The slot index a load or store addressed through a stack pointer of the current frame with a
 * constant offset (the accesses the kernel marks scratched: check_stack_read/write_fixed_off),
 * read from the state after it — or -1, also when a load overwrote its own base register.
 */
function accessedSlot(insn: Instruction, s: VState): number {
  const cls = classOf(insn.code);
  if (cls !== Class.LDX && cls !== Class.ST && cls !== Class.STX) return -1;
  const base = cls === Class.LDX ? insn.src : insn.dst;
  if (cls === Class.LDX && insn.src === insn.dst) return -1;
  const f = curFrame(s);
  const reg = f.regs[base];
  if (!reg || reg.type !== 'stack' || reg.frameno !== f.frameno || reg.var.mask !== 0n) return -1;
  const off = reg.off + Number(BigInt.asIntN(64, reg.var.value)) + insn.off;
  const size = SIZE_BYTES[sizeOf(insn.code)] ?? 8;
  if (off >= 0 || off + size > 0) return -1;
  return Math.floor((-off - 1) / 8);
}

/** Level 2: what the state prints like before an instruction (compared after it to find what it changed). */
export function snapshot(s: VState): Snapshot {
  const f = curFrame(s);
  const stack = new Map<number, string>();
  f.stack.forEach((slot, spi) => {
    if (slot) stack.set(spi, formatSlot(slot, spi).trim());
  });
  return { regs: f.regs.map((r) => (r.type === 'not_init' ? '' : formatReg(r))), stack, frames: s.frames.length, frame: formatFrame(f), callsite: f.callsite };
}

/** Whether `insn` reads its src field as a register (BPF_X ALU/JMP forms, LDX, STX, atomics). */
function srcIsRegister(insn: Instruction): boolean {
  const cls = classOf(insn.code);
  if (cls === Class.LDX || cls === Class.STX) return true;
  if (cls === Class.ALU || cls === Class.ALU64 || cls === Class.JMP || cls === Class.JMP32) {
    const op = insn.code & 0xf0;
    // END (0xd0) uses the X bit for the byte order; CALL (0x80) and EXIT (0x90) have no register operand.
    if ((cls === Class.JMP || cls === Class.JMP32) && (op === 0x80 || op === 0x90)) return false;
    if ((cls === Class.ALU || cls === Class.ALU64) && op === 0xd0) return false;
    return (insn.code & 0x08) !== 0;
  }
  return false;
}

/**
 * Level 2: the kernel's line for one instruction (print_insn_state): the instruction, padded
 * to the log alignment, then `; ` and the registers and stack slots it scratched — its
 * destination and register source, whatever it changed, the stack slot it loaded or stored —
 * or nothing after an exit (the path ends there).
 */
export function insnStateLine(text: string, before: Snapshot, after: VState, insn: Instruction): string {
  const f = curFrame(after);
  const idx = after.insn;
  if (after.frames.length > before.frames) {
    // Into a subprogram: both frames whole, then the callee's state as the next line's prefix.
    const caller = after.frames[after.frames.length - 2]!;
    return `${text}\ncaller:\n${formatFrame(caller)}\ncallee:\n${formatFrame(f)}\n${idx + insn.imm + 1}:${formatFrame(f)}\n`;
  }
  if (after.frames.length < before.frames) {
    // Back from a subprogram (prepare_func_exit), then the path goes on at the return address.
    const ret = before.callsite + 1;
    return `${text}\nreturning from callee:\n${before.frame}\nto caller at ${ret}:\n${formatFrame(f)}\n\nfrom ${idx} to ${ret}:${formatFrame(f)}\n`;
  }
  const parts: string[] = [];
  if ((insn.code & 0xf7) !== 0x95) {
    const now = snapshot(after);
    const cls = classOf(insn.code);
    // Scratched registers (check_reg_arg): dst and a register source; a call's r0 (its dst
    // field is 0); LD_ABS/LD_IND's r0 and implicit r6. Registers changed as a side effect
    // (packet ranges, null checks propagated to copies) are not scratched and not printed.
    const ldAbs = cls === Class.LD && insn.code !== 0x18;
    f.regs.forEach((r, i) => {
      if (r.type === 'not_init') return;
      const touched = ldAbs ? i === 0 || i === 6 || ((insn.code & 0xe0) === 0x40 && i === insn.src) : i === insn.dst || (srcIsRegister(insn) && i === insn.src);
      if (touched) parts.push(`R${i}=${now.regs[i]}`);
    });
    const accessed = accessedSlot(insn, after);
    for (const [spi, slotText] of now.stack) if (slotText !== '' && (spi === accessed || before.stack.get(spi) !== slotText)) parts.push(slotText);
    if (parts.length > 0 && f.frameno !== 0) parts.unshift(`frame${f.frameno}:`);
  }
  if (parts.length === 0) return `${text}\n`;
  const pad = Math.max(1, Math.ceil(Math.max(text.length + 4, 40) / 8) * 8 - text.length - 2);
  return `${text}${' '.repeat(pad)}; ${parts.join(' ')}\n`;
}
