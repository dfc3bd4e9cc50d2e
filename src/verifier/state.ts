// Verifier state: registers and stack per call frame, acquired references — the kernel's bpf_verifier_state.
import type { MapDef } from '../maps/map-ops.js';
import { cloneReg, notInit, pointer, type Reg } from './reg-state.js';

/** Stack byte types (the kernel's STACK_* slot types). */
export const StackType = { INVALID: 0, SPILL: 1, MISC: 2, ZERO: 3, DYNPTR: 4, ITER: 5 } as const;
/** A value of {@link StackType}. */
export type StackType = (typeof StackType)[keyof typeof StackType];

/**
 * One 8-byte stack slot: byte types (index i = byte at -(spi*8 + i + 1)) and the spilled register.
 * Slots are shared between a state and its copies (copy on write): only the frame whose `gen` the
 * slot carries may change it in place; any other gets its own copy first ({@link ownSlot}).
 */
export interface StackSlot {
  /** Per-byte type. */
  types: StackType[];
  /** The spilled register, when some bytes are SPILL. */
  spilled: Reg;
  /** The {@link FuncState.gen} of the frame that may change this slot in place. */
  gen: number;
}

/** One call frame. */
export interface FuncState {
  /** r0..r10; read freely, change only through {@link ownReg} (a register may be shared with copies of the state). */
  regs: Reg[];
  /** Bit r: this frame's register r is its own (not shared with a copy) and may be changed in place. */
  owned: number;
  /** Stack slots by spi (slot i covers fp-8*(i+1) .. fp-8*i-1); read freely, change only through {@link ownSlot}. */
  stack: (StackSlot | undefined)[];
  /** Ownership token of this frame's slots: renewed whenever the frame is copied (both sides then copy before a write). */
  gen: number;
  /** Instruction index of the call that created this frame (-1 for the main frame). */
  callsite: number;
  /** Frame number (0 = main). */
  frameno: number;
  /** Subprogram index. */
  subprog: number;
  /** A callback frame (bpf_loop): R0 must be in this range at exit, then the call is re-explored. */
  callback?: { readonly min: bigint; readonly max: bigint };
  /** Callback iterations entered from this frame's current callback call (callback_depth: bpf_loop stops at its nr_loops). */
  loopDepth: number;
}

/** An acquired reference (ring buffer record). */
export interface RefState {
  /** The reference id. */
  id: number;
  /** Instruction that acquired it. */
  insn: number;
}

/** The whole abstract state at one instruction. */
export interface VState {
  /** Frames, innermost last. */
  frames: FuncState[];
  /** Acquired, not yet released references. */
  refs: RefState[];
  /** Instruction index this state is at. */
  insn: number;
  /** How many may_goto fall-throughs this path took. */
  mayGotoDepth: number;
  /** How many callback iterations this path entered (callback_unroll_depth). */
  callbackDepth: number;
  /** Inside bpf_rcu_read_lock() (active_rcu_lock). */
  rcuLock?: boolean;
  /** The bpf_spin_lock held (active_lock): the map of the locked value and the value pointer's id (0: a global-data value). */
  activeLock?: ActiveLock | undefined;
}

/** A held bpf_spin_lock: its identity is the map and the id of the map value pointer it was taken through (reg_id_for_map_value). */
export interface ActiveLock {
  /** The map the locked value is in. */
  readonly map: MapDef;
  /** The map value pointer's id (0 for a direct value address: one value per map). */
  readonly id: number;
}

let lastGen = 0;
/** A fresh ownership token. */
const nextGen = (): number => ++lastGen;

/** A new empty stack slot owned by frame generation `gen`. */
export function newSlot(gen: number): StackSlot {
  return { types: [0, 0, 0, 0, 0, 0, 0, 0], spilled: notInit(), gen };
}

/** Slot `spi` of `f` for writing: created when missing, copied first when shared with another state. */
export function ownSlot(f: FuncState, spi: number): StackSlot {
  let s = f.stack[spi];
  if (!s) {
    s = newSlot(f.gen);
    f.stack[spi] = s;
  } else if (s.gen !== f.gen) {
    s = { types: s.types.slice(), spilled: cloneReg(s.spilled), gen: f.gen };
    f.stack[spi] = s;
  }
  return s;
}

/** A new frame: r1 (set by the caller), r10 = fp of this frame, others NOT_INIT. */
export function newFrame(callsite: number, frameno: number, subprog: number): FuncState {
  const regs: Reg[] = [];
  for (let i = 0; i <= 10; i++) regs.push(notInit());
  const fp = pointer('stack');
  fp.frameno = frameno;
  regs[10] = fp;
  return { regs, owned: ALL_REGS, stack: [], gen: nextGen(), callsite, frameno, subprog, callback: undefined, loopDepth: 0 };
}

const ALL_REGS = 0x7ff;

// Debug aid (tests): freeze what a copy shares, so a change in place that skipped ownReg/ownSlot throws.
let freezeShared = false;
/** Tests: make every register and stack slot shared by a state copy read-only (a missed copy-on-write then throws). */
export function setFreezeShared(on: boolean): void {
  freezeShared = on;
}

function freezeFrame(f: FuncState): void {
  for (const r of f.regs) Object.freeze(r);
  for (const s of f.stack) {
    if (!s) continue;
    Object.freeze(s.spilled);
    Object.freeze(s.types);
    Object.freeze(s);
  }
}

/** Register `r` of `f` for writing: copied first when shared with a copy of the state. */
export function ownReg(f: FuncState, r: number): Reg {
  const bit = 1 << r;
  if ((f.owned & bit) !== 0) return f.regs[r]!;
  const own = cloneReg(f.regs[r]!);
  f.regs[r] = own;
  f.owned |= bit;
  return own;
}

/** The registers of `f` in `mask` (bit r; all by default) for writing (instructions that change several: calls). */
export function ownRegs(f: FuncState, mask = ALL_REGS): void {
  if ((f.owned & mask) === mask) return;
  for (let r = 0; r <= 10; r++) if ((mask & (1 << r)) !== 0) ownReg(f, r);
}

/**
 * Copy of a frame (one object shape: this runs at every branch and checkpoint): registers and
 * stack slots shared — both sides then copy one before changing it ({@link ownReg}, {@link ownSlot}).
 */
export function cloneFrame(f: FuncState): FuncState {
  if (freezeShared) freezeFrame(f);
  f.owned = 0;
  if (f.stack.length > 0) f.gen = nextGen();
  return { regs: f.regs.slice(), owned: 0, stack: f.stack.slice(), gen: nextGen(), callsite: f.callsite, frameno: f.frameno, subprog: f.subprog, callback: f.callback, loopDepth: f.loopDepth };
}

/** Copy of a state (stack slots shared until written, see {@link cloneFrame}). */
export function cloneState(s: VState): VState {
  const frames: FuncState[] = [];
  for (let i = 0; i < s.frames.length; i++) frames.push(cloneFrame(s.frames[i]!));
  const refs: RefState[] = [];
  for (let i = 0; i < s.refs.length; i++) refs.push({ id: s.refs[i]!.id, insn: s.refs[i]!.insn });
  return { frames, refs, insn: s.insn, mayGotoDepth: s.mayGotoDepth, callbackDepth: s.callbackDepth, rcuLock: s.rcuLock ?? false, activeLock: s.activeLock };
}

/** The current (innermost) frame. */
export const curFrame = (s: VState): FuncState => s.frames[s.frames.length - 1]!;

/**
 * Calls `fn` for every register and spilled register in every frame that `match` accepts
 * (bpf_for_each_reg_in_vstate); `fn` may change the register (a shared slot is copied first).
 */
export function forEachReg(s: VState, match: (r: Reg) => boolean, fn: (r: Reg) => void): void {
  for (const f of s.frames) {
    for (let r = 0; r < f.regs.length; r++) if (match(f.regs[r]!)) fn(ownReg(f, r));
    for (let spi = 0; spi < f.stack.length; spi++) {
      const slot = f.stack[spi];
      if (slot && slot.types.includes(StackType.SPILL) && match(slot.spilled)) fn(ownSlot(f, spi).spilled);
    }
  }
}
