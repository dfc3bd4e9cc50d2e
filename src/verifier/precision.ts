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
import { returnRange } from './return-code.js';


/** What may matter at one instruction: registers (bit r) and stack slots (bit spi of `stack`). */
export interface Needed {
  /** Bit 0..10: registers r0..r10. */
  readonly regs: Uint16Array;
  /** Per instruction, bit spi: the scalar spilled at fp-8*(spi+1). */
  readonly stack: BigUint64Array;
  /** Per instruction: registers that may be read before they are written (liveness, any type). */
  readonly liveRegs: Uint16Array;
  /** Per instruction, bit spi: stack slots that may be read before they are written. */
  readonly liveStack: BigUint64Array;
  /** {@link Needed.stack}'s low 32 bits per instruction (the pruning loop reads numbers: no BigInt per read). */
  readonly stackLo: Uint32Array;
  /** {@link Needed.stack}'s high 32 bits. */
  readonly stackHi: Uint32Array;
  /** {@link Needed.liveStack}'s low 32 bits. */
  readonly liveLo: Uint32Array;
  /** {@link Needed.liveStack}'s high 32 bits. */
  readonly liveHi: Uint32Array;
}

/** The low and high 32-bit halves of each 64-bit mask. */
function halves(m: BigUint64Array): [Uint32Array, Uint32Array] {
  const lo = new Uint32Array(m.length);
  const hi = new Uint32Array(m.length);
  for (let i = 0; i < m.length; i++) {
    lo[i] = Number(m[i]! & 0xffffffffn);
    hi[i] = Number(m[i]! >> 32n);
  }
  return [lo, hi];
}

const ALL_STACK = (1n << 64n) - 1n;
const bit = (r: number): number => (r <= 10 ? 1 << r : 0);
const slotBit = (off: number): bigint => {
  const spi = Math.floor((-off - 1) / 8);
  return spi >= 0 && spi < 64 ? 1n << BigInt(spi) : 0n;
};

/** Per instruction (at entry): registers that may hold any pointer, and a stack pointer. */
interface MayPtr {
  readonly ptr: Uint16Array;
  readonly stack: Uint16Array;
  /** Per instruction and register (i * 11 + r): the constant offset from r10, or NaN. */
  readonly fpOff: Float64Array;
}

/** A forward may-analysis of which registers can hold pointers (and stack pointers). */
function mayHoldPointers(prog: SlotProgram, cfg: CfgInfo, typeName: string): MayPtr {
  const n = prog.length;
  const ptr = new Uint16Array(n);
  const stk = new Uint16Array(n);
  const ctx = new Uint16Array(n);
  const seen = new Uint8Array(n);
  const fpOff = new Float64Array(n * 11).fill(NaN);
  const work: number[] = [];
  let fo = new Float64Array(11);
  const scratch = new Float64Array(11);
  const flow = (j: number, p: number, s: number, c: number): void => {
    if (j < 0 || j >= n) return;
    const np = ptr[j]! | p, ns = stk[j]! | s, nc = ctx[j]! | c;
    let offChanged = false;
    for (let r = 0; r < 11; r++) {
      const cur = fpOff[j * 11 + r]!;
      const inc = fo[r]!;
      const merged = !seen[j] ? inc : cur === inc ? cur : NaN;
      if (merged !== cur && !(Number.isNaN(merged) && Number.isNaN(cur))) {
        fpOff[j * 11 + r] = merged;
        offChanged = true;
      }
    }
    if (seen[j] && np === ptr[j] && ns === stk[j] && nc === ctx[j] && !offChanged) return;
    seen[j] = 1;
    ptr[j] = np;
    stk[j] = ns;
    ctx[j] = nc;
    work.push(j);
  };
  const entry = new Float64Array(11).fill(NaN);
  entry[10] = 0;
  cfg.subprogs.forEach((sp, k) => {
    fo = entry;
    if (k === 0) flow(sp.start, bit(1) | bit(10), bit(10), bit(1));
    else flow(sp.start, 0x3e | bit(10), 0x3e | bit(10), 0x3e);
  });
  let budget = n * 64;
  // The working masks of the instruction being visited; `set` is created once (a closure per
  // visit costs an allocation, and a __name call under tsx).
  let p = 0;
  let s = 0;
  let c = 0;
  const set = (reg: number, isPtr: boolean, isStack: boolean, isCtx: boolean): void => {
    p = isPtr ? p | reg : p & ~reg;
    s = isStack ? s | reg : s & ~reg;
    c = isCtx ? c | reg : c & ~reg;
  };
  while (work.length > 0 && budget-- > 0) {
    const i = work.pop()!;
    const insn = prog[i];
    if (!insn) continue;
    p = ptr[i]!;
    s = stk[i]!;
    c = ctx[i]!;
    // The offsets at entry, copied into one scratch array (no allocation per visit).
    fo = scratch;
    for (let r = 0; r < 11; r++) scratch[r] = fpOff[i * 11 + r]!;
    if (insn.dst <= 10 && insn.dst !== 10) {
      // Track r = r10 (+/- const); anything else written to dst forgets it.
      const cls0 = classOf(insn.code);
      const op0 = opOf(insn.code);
      const writes = cls0 === Class.ALU || cls0 === Class.ALU64 || cls0 === Class.LDX || isLdImm64(insn);
      if (writes) {
        let v = NaN;
        if (cls0 === Class.ALU64 && op0 === 0xb0 && (insn.code & Source.X) !== 0 && insn.off === 0 && insn.src <= 10) v = fo[insn.src]!;
        else if (cls0 === Class.ALU64 && op0 === 0x00 && (insn.code & Source.X) === 0) v = fo[insn.dst]! + insn.imm;
        else if (cls0 === Class.ALU64 && op0 === 0x10 && (insn.code & Source.X) === 0) v = fo[insn.dst]! - insn.imm;
        fo[insn.dst] = v;
      }
    }
    if (classOf(insn.code) === Class.JMP && opOf(insn.code) === JMP_CALL) for (let r = 0; r <= 5; r++) fo[r] = NaN;
    if (classOf(insn.code) === Class.STX && modeOf(insn.code) === Mode.ATOMIC && (insn.imm & 1) !== 0) fo[insn.imm === 0xf1 ? 0 : insn.src] = NaN;
    if (classOf(insn.code) === Class.LD && !isLdImm64(insn)) for (let r = 0; r <= 5; r++) fo[r] = NaN;
    const code = insn.code;
    const cls = classOf(code);
    const d = bit(insn.dst);
    const sb = bit(insn.src);
    if (cls === Class.JMP || cls === Class.JMP32) {
      const op = opOf(code);
      if (op === JMP_EXIT) continue;
      if (op === JMP_CALL) {
        let r0Ptr = true;
        if (insn.src === PseudoCall.HELPER) {
          const proto = helperProto(insn.imm, typeName);
          r0Ptr = proto === undefined || proto.ret.base !== 'RET_INTEGER';
        }
        p &= ~0x3f;
        s &= ~0x3f;
        c &= ~0x3f;
        if (r0Ptr) p |= 1;
        flow(i + 1, p, s, c);
        continue;
      }
      if (op === 0x00) {
        flow(jumpTarget(insn, i), p, s, c);
        continue;
      }
      flow(i + 1, p, s, c);
      flow(jumpTarget(insn, i), p, s, c);
      continue;
    }
    let next = i + 1;
    if (cls === Class.ALU || cls === Class.ALU64) {
      const op = opOf(code);
      const isX = (code & Source.X) !== 0;
      const alu64 = cls === Class.ALU64;
      if (op === 0xb0) {
        if (isX && alu64 && insn.off === 0) set(d, (p & sb) !== 0, (s & sb) !== 0, (c & sb) !== 0);
        else set(d, false, false, false);
      } else if ((op === 0x00 || op === 0x10) && alu64) {
        const src = isX ? sb : 0;
        set(d, ((p & d) | (p & src)) !== 0, ((s & d) | (s & src)) !== 0, ((c & d) | (c & src)) !== 0);
      } else set(d, false, false, false);
    } else if (cls === Class.LDX) {
      // Only the stack (spilled pointers) and the context (packet, socket pointers) yield pointers.
      const size = code & 0x18;
      const fromCtx = (c & sb) !== 0;
      const fromStack = (s & sb) !== 0;
      set(d, (fromStack && size === 0x18) || (fromCtx && (size === 0x00 || size === 0x18)), fromStack && size === 0x18, false);
    } else if (cls === Class.STX && modeOf(code) === Mode.ATOMIC) {
      const dst = insn.imm === 0xf1 ? 1 : sb;
      if ((insn.imm & 1) !== 0) set(dst, (code & 0x18) === 0x18, (code & 0x18) === 0x18, false);
    } else if (isLdImm64(insn)) {
      next = i + 2;
      set(d, insn.src !== 0, false, false);
    } else if (cls === Class.LD) {
      p &= ~0x3f;
      s &= ~0x3f;
      c &= ~0x3f;
    }
    flow(next, p, s, c);
  }
  if (work.length > 0) {
    ptr.fill(0x7ff);
    stk.fill(0x7ff);
    fpOff.fill(NaN);
  }
  return { ptr, stack: stk, fpOff };
}

/** Slots covering [off, off + size) relative to r10 (bit spi). */
function slotsOf(off: number, size: number): bigint {
  // Only [-512, 0) is stack; clamp first so a huge offset costs nothing.
  const lo = Math.max(off, -512);
  const hi = Math.min(off + size, 0);
  if (!(lo < hi)) return 0n;
  let b = 0n;
  for (let spi = Math.floor((-hi) / 8); spi <= Math.floor((-lo - 1) / 8) && spi < 64; spi++) b |= 1n << BigInt(spi);
  return b;
}

/** Slots from `off` up to the frame pointer (a helper buffer of unknown size starting there). */
const slotsAbove = (off: number): bigint => (Number.isNaN(off) ? ALL_STACK : slotsOf(off, -off));

/** Backward liveness over registers and stack slots (the kernel's REG_LIVE_READ, computed statically). */
function computeLiveness(prog: SlotProgram, cfg: CfgInfo, typeName: string, may: MayPtr): { regs: Uint16Array; stack: BigUint64Array } {
  const n = prog.length;
  const lr = new Uint16Array(n);
  const ls = new BigUint64Array(n);
  const subOf = new Int32Array(n);
  cfg.subprogs.forEach((sp, k) => {
    for (let i = sp.start; i < sp.end; i++) subOf[i] = k;
  });
  const R = (j: number): number => (j >= 0 && j < n ? lr[j]! : 0);
  const S = (j: number): bigint => (j >= 0 && j < n ? ls[j]! : 0n);
  const stackRead = (i: number, regno: number, off: number, size: number): bigint => {
    if (regno === 10) return slotsOf(off, size);
    const fo = may.fpOff[i * 11 + regno]!;
    if (!Number.isNaN(fo)) return slotsOf(fo + off, size);
    return (may.stack[i]! & bit(regno)) !== 0 ? ALL_STACK : 0n;
  };
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
      const d = bit(insn.dst);
      const sb = bit(insn.src);
      const isX = (code & Source.X) !== 0;
      let r: number;
      let st: bigint;
      if (cls === Class.JMP || cls === Class.JMP32) {
        const op = opOf(code);
        if (op === JMP_EXIT) {
          r = bit(0);
          st = 0n;
        } else if (op === JMP_CALL) {
          r = R(i + 1) & ~0x3f;
          st = S(i + 1);
          if (insn.src === PseudoCall.HELPER) {
            const proto = helperProto(insn.imm, typeName);
            const nargs = proto ? proto.args.length : 5;
            if (proto && hasFuncArg(proto.args)) st = ALL_STACK;
            for (let k = 1; k <= nargs; k++) {
              r |= bit(k);
              if ((may.stack[i]! & bit(k)) !== 0) st |= slotsAbove(may.fpOff[i * 11 + k]!);
            }
          } else {
            r |= 0x3e;
            st = ALL_STACK;
          }
        } else if (op === 0x00 || op === 0xe0) {
          const t = jumpTarget(insn, i);
          r = R(t) | (op === 0xe0 ? R(i + 1) : 0);
          st = S(t) | (op === 0xe0 ? S(i + 1) : 0n);
        } else {
          const t = jumpTarget(insn, i);
          r = R(i + 1) | R(t) | d | (isX ? sb : 0);
          st = S(i + 1) | S(t);
        }
      } else {
        const next = i + (isLdImm64(insn) ? 2 : 1);
        r = R(next);
        st = S(next);
        const size = SIZE[(code >> 3) & 3]!;
        if (cls === Class.ALU || cls === Class.ALU64) {
          const op = opOf(code);
          r &= ~d;
          if (op !== 0xb0) r |= d;
          // NEG and END have no source register (END's X bit means "to big-endian").
          if (isX && op !== 0x80 && op !== 0xd0) r |= sb;
        } else if (cls === Class.LDX) {
          r = (r & ~d) | sb;
          st |= stackRead(i, insn.src, insn.off, size);
        } else if (cls === Class.ST || cls === Class.STX) {
          const atomic = cls === Class.STX && modeOf(code) === Mode.ATOMIC;
          if (insn.dst === 10 && !atomic && size === 8 && insn.off % 8 === 0) st &= ~slotBit(insn.off);
          if (atomic) {
            if ((insn.imm & 1) !== 0) r &= ~(insn.imm === 0xf1 ? 1 : sb);
            st |= stackRead(i, insn.dst, insn.off, size);
            if (insn.imm === 0xf1) r |= 1;
          }
          r |= d | (cls === Class.STX ? sb : 0);
        } else if (isLdImm64(insn)) {
          r &= ~d;
        } else {
          r = (r & ~0x3f) | bit(6) | ((code & 0xe0) === 0x40 ? sb : 0);
        }
      }
      r |= bit(10);
      if ((r | lr[i]!) !== lr[i] || (st | ls[i]!) !== ls[i]) {
        lr[i] = r | lr[i]!;
        ls[i] = st | ls[i]!;
        changed = true;
      }
    }
  }
  if (changed) {
    lr.fill(0x7ff);
    ls.fill(ALL_STACK);
  }
  void subOf;
  return { regs: lr, stack: ls };
}

const SIZE = [4, 2, 1, 8];

/** Whether a helper takes a callback (ARG_PTR_TO_FUNC). */
function hasFuncArg(args: readonly { readonly base: string }[]): boolean {
  for (const a of args) if (a.base === 'ARG_PTR_TO_FUNC') return true;
  return false;
}

/**
 * Per instruction: the registers and stack slots whose scalar value may matter from there on.
 * Computed backwards to a fixpoint inside each subprogram. `branchOperands`: whether the register
 * compared with a constant by a conditional jump counts (false when the caller tracks the jumps
 * that were decided by a value, see check.ts). `dynamic`: the caller marks every demand along
 * the path (backtrack.ts, the kernel's mark_chain_precision): no register or slot is needed
 * statically, only liveness is computed.
 */
export function computeNeeded(prog: SlotProgram, cfg: CfgInfo, progType: number, branchOperands = true, attachType?: number, dynamic = false): Needed {
  // check_return_code range-checks R0 at the main program's exit for these types.
  const exitChecked = returnRange(progType, attachType) !== undefined;
  const n = prog.length;
  const need = new Uint16Array(n);
  const needStack = new BigUint64Array(n);
  const typeName = programTypeName(progType);
  const subOf = new Int32Array(n);
  cfg.subprogs.forEach((sp, k) => {
    for (let i = sp.start; i < sp.end; i++) subOf[i] = k;
  });
  const may = mayHoldPointers(prog, cfg, typeName);
  // Per subprogram: whether a caller needs its R0; callbacks (lddw func targets) always do.
  const exitNeedsR0 = cfg.subprogs.map(() => false);
  for (let i = 0; i < n; i++) {
    const insn = prog[i];
    if (insn && isLdImm64(insn) && insn.src === 4) {
      const k = subOf[i + insn.imm + 1];
      if (k !== undefined) exitNeedsR0[k] = true;
    }
  }
  const succ = (j: number): number => (j >= 0 && j < n ? need[j]! : 0);
  const succS = (j: number): bigint => (j >= 0 && j < n ? needStack[j]! : 0n);
  // Dynamic precision (privileged, check.ts): nothing is needed statically; every demand is
  // marked along the path where the verifier relies on a scalar's value, as the kernel does.
  let changed = !dynamic;
  let rounds = 0;
  while (changed && rounds < 64) {
    changed = false;
    rounds++;
    for (let i = n - 1; i >= 0; i--) {
      const insn = prog[i];
      if (!insn) continue;
      const code = insn.code;
      const cls = classOf(code);
      let out: number;
      let outS: bigint;
      let inn: number;
      let innS: bigint;
      if (cls === Class.JMP || cls === Class.JMP32) {
        const op = opOf(code);
        if (op === JMP_EXIT) {
          // A subprogram's result matters only if some caller needs R0 after the call; callbacks'
          // results are range-checked. The frame's own stack dies here.
          inn = subOf[i] === 0 ? (exitChecked ? bit(0) : 0) : exitNeedsR0[subOf[i]!] ? bit(0) : 0;
          innS = 0n;
        } else if (op === JMP_CALL) {
          out = succ(i + 1);
          outS = succS(i + 1);
          if (insn.src === PseudoCall.HELPER) {
            const proto = helperProto(insn.imm, typeName);
            let args = 0;
            if (proto) {
              for (let k = 0; k < proto.args.length; k++) if (proto.args[k]!.base !== 'ARG_ANYTHING') args |= bit(k + 1);
            } else args = 0x3e;
            inn = (out & ~0x3f) | args;
            // A constant array key on the stack decides whether the lookup may return NULL.
            innS = outS;
            // A callback (bpf_loop) runs as a subprogram: its arguments and the caller's stack matter.
            if (proto && hasFuncArg(proto.args)) {
              inn |= 0x3e;
              innS = ALL_STACK;
            }
            if (proto) {
              for (let k = 0; k < proto.args.length; k++) {
                if (proto.args[k]!.base !== 'ARG_PTR_TO_MAP_KEY') continue;
                const off = may.fpOff[i * 11 + k + 1]!;
                innS |= Number.isNaN(off) ? ALL_STACK : slotBit(off);
              }
            }
          } else {
            inn = (out & ~0x3f) | 0x3e;
            innS = ALL_STACK;
            const callee = subOf[i + insn.imm + 1];
            if (callee !== undefined && (out & 1) !== 0 && !exitNeedsR0[callee]) {
              exitNeedsR0[callee] = true;
              changed = true;
            }
          }
        } else if (op === 0x00 || op === 0xe0) {
          // ja / gotol / may_goto
          const t = jumpTarget(insn, i);
          inn = succ(t) | (op === 0xe0 ? succ(i + 1) : 0);
          innS = succS(t) | (op === 0xe0 ? succS(i + 1) : 0n);
        } else {
          const t = jumpTarget(insn, i);
          // `if rX op rY`: both operands refine each other, both matter. `if rX op K` matters only
          // when the branch was decided by rX's value: with `branchOperands` false the caller
          // marks that dynamically (check.ts, as the kernel's mark_chain_precision).
          if ((code & Source.X) !== 0) inn = succ(i + 1) | succ(t) | bit(insn.dst) | bit(insn.src);
          else inn = succ(i + 1) | succ(t) | (branchOperands ? bit(insn.dst) : 0);
          innS = succS(i + 1) | succS(t);
        }
      } else {
        const next = i + (isLdImm64(insn) ? 2 : 1);
        out = succ(next);
        outS = succS(next);
        innS = outS;
        if (cls === Class.ALU || cls === Class.ALU64) {
          const op = opOf(code);
          // NEG and END have no source register (END's X bit means "to big-endian").
          const isX = (code & Source.X) !== 0 && op !== 0x80 && op !== 0xd0;
          const d = bit(insn.dst);
          if (op === 0xb0) {
            inn = out & ~d;
            if (out & d && isX) inn |= bit(insn.src);
          } else if ((op === 0x00 || op === 0x10) && isX && (may.ptr[i]! & (d | bit(insn.src))) !== 0) {
            // dst or src may be a pointer: the other operand is then its offset.
            inn = out | d | bit(insn.src);
          } else {
            inn = out;
            if (out & d) inn |= d | (isX ? bit(insn.src) : 0);
          }
        } else if (cls === Class.LDX) {
          inn = (out & ~bit(insn.dst)) | bit(insn.src);
          if (out & bit(insn.dst)) innS |= insn.src === 10 ? slotBit(insn.off) : (may.stack[i]! & bit(insn.src)) !== 0 ? ALL_STACK : 0n;
        } else if (cls === Class.STX || cls === Class.ST) {
          inn = out | bit(insn.dst);
          const atomic = cls === Class.STX && modeOf(code) === Mode.ATOMIC;
          const mayStack = (may.stack[i]! & bit(insn.dst)) !== 0;
          if (cls === Class.STX && (atomic || (insn.dst === 10 ? (outS & slotBit(insn.off)) !== 0n : mayStack && outS !== 0n))) inn |= bit(insn.src);
          if (atomic) inn |= bit(0);
          if (insn.dst === 10 && !atomic && (code & 0x18) === 0x18 && insn.off % 8 === 0) innS = outS & ~slotBit(insn.off);
        } else if (isLdImm64(insn)) {
          inn = out & ~bit(insn.dst);
        } else {
          // LD_ABS / LD_IND: r0..r5 clobbered; r6 must be the context.
          inn = (out & ~0x3f) | bit(6);
        }
      }
      if ((inn | need[i]!) !== need[i] || (innS | needStack[i]!) !== needStack[i]) {
        need[i] = inn | need[i]!;
        needStack[i] = innS | needStack[i]!;
        changed = true;
      }
    }
  }
  if (changed) {
    need.fill(0x7ff);
    needStack.fill(ALL_STACK);
  }
  const live = computeLiveness(prog, cfg, typeName, may);
  const [stackLo, stackHi] = halves(needStack);
  const [liveLo, liveHi] = halves(live.stack);
  return { regs: need, stack: needStack, liveRegs: live.regs, liveStack: live.stack, stackLo, stackHi, liveLo, liveHi };
}
