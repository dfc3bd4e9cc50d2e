// Precision marks along the current path: the kernel's jmp_history, backtrack_insn and
// mark_chain_precision, for the one demand the static analysis (precision.ts) leaves to the walk —
// a conditional jump against a constant whose outcome the register's value decided.
import { isLdImm64, type Instruction } from '../isa/instruction.js';
import { Class, classOf, Mode, modeOf, opOf, SIZE_BYTES, sizeOf, Source } from '../isa/opcodes.js';
import { type FuncState, StackType, type VState } from './state.js';

/** All 64 stack slots. */
const ALL_STACK = (1n << 64n) - 1n;
/** Every register. */
const ALL_REGS = 0x7ff;
const BPF_FUNC_LOOP = 181;
const BPF_FUNC_FOR_EACH_MAP_ELEM = 164;
const BPF_FUNC_USER_RINGBUF_DRAIN = 209;
/** histSpi: the instruction does not access the stack. */
const NOT_STACK = -1;
/** histSpi: a stack access whose slot is not known (variable offset, another frame, two slots). */
const SOME_STACK = -2;

/** What a checkpoint carries for precision: where it sits in the path and what is marked precise. */
export interface PreciseMarks {
  /** Length of the path history when the checkpoint was taken (its state is at entry of hist[histPos]). */
  readonly histPos: number;
  /** Registers of the innermost frame whose scalar value mattered below this state. */
  preciseRegs: number;
  /** Stack slots (bit spi) of the innermost frame whose spilled scalar mattered below it. */
  preciseStack: bigint;
  /** The previous checkpoint of the path. */
  readonly parent: PreciseMarks | undefined;
  /** The checkpoint's state. */
  readonly state: VState;
}

/** The slots (bit spi) of `f` holding a spilled scalar (is_spilled_scalar_reg). */
function scalarSlots(f: FuncState): bigint {
  let m = 0n;
  const n = Math.min(f.stack.length, 64);
  for (let spi = 0; spi < n; spi++) {
    const st = f.stack[spi];
    if (st !== undefined && st.types[7] === StackType.SPILL && st.spilled.type === 'scalar') m |= 1n << BigInt(spi);
  }
  return m;
}

/**
 * The instructions of the path being walked (the kernel's jmp_history, with every instruction
 * rather than only jumps), with the stack slot each memory access used.
 */
export class PathHistory {
  private readonly insns: number[] = [];
  private readonly spis: number[] = [];
  /** Number of recorded instructions. */
  length = 0;

  constructor(private readonly prog: readonly (Instruction | undefined)[]) {}

  /** Records instruction `idx`, about to run in `cur` (before it changes anything). */
  record(idx: number, insn: Instruction, cur: VState): void {
    this.insns[this.length] = idx;
    this.spis[this.length] = stackSlotOf(insn, cur);
    this.length++;
  }

  /**
   * mark_chain_precision: the scalars `regs` and stack slots `stack` of the state at entry of
   * hist[start] (or after the last one when start = length) mattered; walks the path back and
   * marks what they came from in every checkpoint up to the first that already had them.
   */
  markPrecise(parent: PreciseMarks | undefined, start: number, regs: number, stack: bigint): void {
    let r = regs;
    let s = stack;
    let q = start - 1;
    for (let cp = parent; cp && (r !== 0 || s !== 0n); cp = cp.parent) {
      for (; q >= cp.histPos && (r !== 0 || s !== 0n); q--) {
        const insn = this.prog[this.insns[q]!];
        if (!insn || !backtrackInsn(insn, r, s, this.spis[q]!)) {
          // Unknown here: everything at this checkpoint is precise (the rest of its segment
          // could only say less), and the walk goes on from there.
          r = ALL_REGS;
          s = ALL_STACK;
          break;
        }
        r = btRegs;
        s = btStack;
      }
      if (r === 0 && s === 0n) return;
      // What this checkpoint already had marked was walked back from it then: only the new
      // marks go on (__mark_chain_precision clears already-precise registers from its set).
      r &= ~cp.preciseRegs;
      s &= ~cp.preciseStack;
      // Only scalars carry precision: a pointer register or slot there is dropped from the walk.
      if (r !== 0 || s !== 0n) {
        const f = cp.state.frames[cp.state.frames.length - 1]!;
        for (let k = 0; k <= 10; k++) if ((r & (1 << k)) !== 0 && f.regs[k]!.type !== 'scalar') r &= ~(1 << k);
        if (s !== 0n) s &= scalarSlots(f);
      }
      if (r === 0 && s === 0n) return;
      cp.preciseRegs |= r;
      cp.preciseStack |= s;
      q = cp.histPos - 1;
    }
  }
}

/** The stack slot a load/store is about to access in `cur`'s innermost frame, or NOT_STACK / SOME_STACK. */
function stackSlotOf(insn: Instruction, cur: VState): number {
  const cls = classOf(insn.code);
  if (cls !== Class.LDX && cls !== Class.ST && cls !== Class.STX) return NOT_STACK;
  const base = cls === Class.LDX ? insn.src : insn.dst;
  if (base > 10) return NOT_STACK;
  const frame = cur.frames[cur.frames.length - 1]!;
  const reg = frame.regs[base]!;
  if (reg.type !== 'stack') return NOT_STACK;
  if (reg.frameno !== frame.frameno || reg.var.mask !== 0n) return SOME_STACK;
  const off = reg.off + Number(BigInt.asIntN(64, reg.var.value)) + insn.off;
  const size = SIZE_BYTES[sizeOf(insn.code)] ?? 8;
  const spi = Math.floor((-off - 1) / 8);
  if (off >= 0 || spi >= 64 || Math.floor((-(off + size - 1) - 1) / 8) !== spi) return SOME_STACK;
  return spi;
}

// backtrackInsn's results (module scratch: no allocation per instruction).
let btRegs = 0;
let btStack = 0n;

const bit = (r: number): number => (r <= 10 ? 1 << r : 0);

/**
 * backtrack_insn: from the precise registers/slots after `insn` to those before it (into btRegs,
 * btStack). Conservative: false when it cannot tell (calls into subprograms, callbacks, exits,
 * atomics on the stack) — the caller then marks everything.
 */
function backtrackInsn(insn: Instruction, regs: number, stack: bigint, spi: number): boolean {
  const code = insn.code;
  const cls = classOf(code);
  const d = bit(insn.dst);
  const sb = bit(insn.src);
  let r = regs;
  let s = stack;
  switch (cls) {
    case Class.ALU:
    case Class.ALU64: {
      const op = opOf(code);
      const isX = (code & Source.X) !== 0 && op !== 0x80 && op !== 0xd0;
      if ((r & d) !== 0) {
        // dst = src / dst = K: dst's value came from src (or nowhere); dst op= src: from both.
        if (op === 0xb0) r &= ~d;
        if (isX && insn.src !== 10) r |= sb;
      }
      break;
    }
    case Class.LDX:
      if ((r & d) !== 0) {
        r &= ~d;
        if (spi === SOME_STACK) return false;
        if (spi >= 0) s |= 1n << BigInt(spi);
      }
      break;
    case Class.ST:
    case Class.STX: {
      if (cls === Class.STX && modeOf(code) === Mode.ATOMIC) {
        if (spi !== NOT_STACK) return (r & (sb | 1)) === 0 && s === 0n;
        // A fetch loads the old memory value (an imprecise source) into src (r0 for cmpxchg).
        if ((insn.imm & 1) !== 0) r &= ~(insn.imm === 0xf1 ? 1 : sb);
        break;
      }
      if (spi === NOT_STACK) break;
      if (spi === SOME_STACK) {
        if (s !== 0n && cls === Class.STX) r |= sb;
        break;
      }
      const slot = 1n << BigInt(spi);
      if ((s & slot) === 0n) break;
      if (cls === Class.STX) r |= sb;
      // A store into one slot replaces what it held: a register spill (any size) becomes its
      // spilled value, any other write makes it unknown data (MISC) or zeros whose store was
      // made precise then. What was there before does not matter (backtrack_insn clears it).
      s &= ~slot;
      break;
    }
    case Class.LD:
      if (isLdImm64(insn)) r &= ~d;
      else r &= ~0x3f;
      break;
    default: {
      // JMP / JMP32
      const op = opOf(code);
      if (op === 0x90) return false;
      if (op === 0x80) {
        // Helpers and kfuncs set r0 and clobber r1-r5 (backtrack_insn); BPF-to-BPF calls are not walked.
        if (insn.src !== 0 && insn.src !== 2) return false;
        if (insn.src === 0 && (insn.imm === BPF_FUNC_LOOP || insn.imm === BPF_FUNC_FOR_EACH_MAP_ELEM || insn.imm === BPF_FUNC_USER_RINGBUF_DRAIN)) return false;
        // r1-r5 are dead after a call and r0 is the helper's result: no earlier source.
        r &= ~0x3f;
        break;
      }
      if (op === 0x00 || op === 0xe0) break;
      // `if dst op src`: each refines the other.
      if ((code & Source.X) !== 0 && (r & (d | sb)) !== 0) r |= d | sb;
      break;
    }
  }
  btRegs = r;
  btStack = s;
  return true;
}
