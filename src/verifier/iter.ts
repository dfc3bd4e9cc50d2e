// Open-coded iterators: the kernel's process_iter_arg, mark/unmark_stack_slots_iter and process_iter_next_call.
//
// An iterator (`struct bpf_iter_num`, `struct bpf_iter_bits`: sizeof / 8 slots) lives on the
// stack in slots marked STACK_ITER. The first slot's spilled register carries the reference the
// `_new` kfunc acquired (released by `_destroy`); every slot's spilled register names the
// iterator type (`btf`), its state ({@link ITER_ACTIVE} or {@link ITER_DRAINED}, in `subprog`)
// and its depth (how many `_next` calls returned an element on this path, in `memSize`; only the
// infinite-loop check reads it). A `_next` call forks: here the iterator is drained and returns
// NULL; a queued path gets an element, one more depth and its scalars widened against the
// previous visit of the call (the main loop's checkpoint there proves convergence).
import { type Env, reject } from './env.js';
import { releaseReference } from './helper-call.js';
import { checkMemAccess, stackFrameOf } from './memory.js';
import { copyReg, markKnown, markNotInit, markUnknown, pointer, type Reg } from './reg-state.js';
import { cloneState, curFrame, type FuncState, ownReg, ownSlot, StackType, type VState } from './state.js';
import { tnumIsConst } from './tnum.js';

/** BPF_ITER_STATE_ACTIVE. */
export const ITER_ACTIVE = 1;
/** BPF_ITER_STATE_DRAINED. */
export const ITER_DRAINED = 2;

const MAX_BPF_STACK = 512;

/** The iterator's state (ITER_ACTIVE / ITER_DRAINED) kept in an iterator slot's spilled register. */
export const iterState = (r: Reg): number => r.subprog;
/** The iterator's depth kept in an iterator slot's spilled register. */
export const iterDepth = (r: Reg): number => r.memSize;

/** Where a `_next` or `_destroy` call found its iterator. */
export interface IterArg {
  /** Frame of the stack the iterator is on. */
  readonly frameno: number;
  /** Its first slot. */
  readonly spi: number;
  /** The reference its `_new` call acquired. */
  readonly refObjId: number;
}

/** iter_type_str: `bpf_iter_num` -> `num`. */
const typeStr = (name: string): string => name.replace(/^bpf_iter_/, '');

/** iter_get_spi (stack_slot_obj_get_spi): the first slot, or -1 when beyond the allocated stack (-ERANGE). */
function iterSpi(env: Env, r: Reg, nrSlots: number): number {
  if (!tnumIsConst(r.var)) reject('iter has to be at a constant offset');
  const off = r.off + Number(BigInt.asIntN(64, r.var.value));
  if (off % 8 !== 0) reject(`cannot pass in iter at an offset=${off}`);
  const spi = (-off - 1) >> 3;
  if (spi + 1 < nrSlots || off < -MAX_BPF_STACK) reject(`cannot pass in iter at an offset=${off}`);
  const f = stackFrameOf(env, r);
  return spi - nrSlots + 1 >= 0 && spi < f.stack.length ? spi : -1;
}

/**
 * process_iter_arg for R`regno`, the iterator argument of a KF_ITER_* kfunc (`iterType`: the
 * struct without `struct `, `size`: its size). `_new` creates it (two checks: uninitialised
 * slots, then 8-byte writes), the others need an initialised one of the same type; `_destroy`
 * releases it. Returns the iterator for `_next` / `_destroy`.
 */
export function processIterArg(env: Env, regno: number, iterType: string, size: number, kind: 'new' | 'next' | 'destroy'): IterArg | undefined {
  const reg = curFrame(env.cur).regs[regno]!;
  if (reg.type !== 'stack') reject(`arg#${regno - 1} expected pointer to an iterator on stack`);
  const nrSlots = size >> 3;
  const f = stackFrameOf(env, reg);
  if (kind === 'new') {
    const spi0 = iterSpi(env, reg, nrSlots);
    if (spi0 >= 0) {
      for (let i = 0; i < nrSlots; i++) {
        if (f.stack[spi0 - i]?.types.includes(StackType.ITER)) reject(`expected uninitialized iter_${typeStr(iterType)} as arg #${regno - 1}`);
      }
    }
    for (let i = 0; i < nrSlots * 8; i += 8) checkMemAccess(env, regno, i, 8, true, undefined, undefined, undefined, false);
    const spi = iterSpi(env, reg, nrSlots);
    const id = env.nextId();
    env.cur.refs.push({ id, insn: env.insnIdx });
    for (let i = 0; i < nrSlots; i++) {
      const slot = ownSlot(f, spi - i);
      for (let j = 0; j < 8; j++) slot.types[j] = StackType.ITER;
      copyReg(slot.spilled, pointer('stack'));
      slot.spilled.refObjId = i === 0 ? id : 0;
      slot.spilled.btf = iterType;
      slot.spilled.subprog = ITER_ACTIVE;
      slot.spilled.memSize = 0;
    }
    return undefined;
  }
  const spi = iterSpi(env, reg, nrSlots);
  let ok = spi >= 0;
  for (let i = 0; ok && i < nrSlots; i++) {
    const s = f.stack[spi - i];
    if (!s || !s.types.every((t) => t === StackType.ITER) || s.spilled.btf !== iterType || (i === 0) !== (s.spilled.refObjId !== 0)) ok = false;
  }
  if (!ok) reject(`expected an initialized iter_${typeStr(iterType)} as arg #${regno - 1}`);
  const refObjId = f.stack[spi]!.spilled.refObjId;
  if (kind === 'destroy') {
    if (!releaseReference(env, refObjId)) reject(`verifier internal error: iterator reference ${refObjId} not held`);
    for (let i = 0; i < nrSlots; i++) {
      const slot = ownSlot(f, spi - i);
      for (let j = 0; j < 8; j++) slot.types[j] = StackType.INVALID;
      markNotInit(slot.spilled);
    }
  }
  return { frameno: f.frameno, spi, refObjId };
}

/**
 * The scalars of frame `frame` that matter (are precise) at a loop's entry: registers (bit r)
 * and stack slots (bit spi, as the low and high 32 bits). Widening keeps them.
 */
export type WidenKeep = (frame: number) => readonly [regs: number, lo: number, hi: number];

const slotBit = (lo: number, hi: number, spi: number): boolean => (spi < 32 ? (lo >>> spi) & 1 : spi < 64 ? (hi >>> (spi - 32)) & 1 : 0) !== 0;

/**
 * widen_imprecise_scalars: scalars of `cur` that differ from `old` become unknown, unless
 * `keep` says they matter (the kernel keeps precise ones), so a loop's iterations converge.
 */
export function widenScalars(old: VState, cur: VState, keep?: WidenKeep): void {
  if (old.frames.length !== cur.frames.length) return;
  cur.frames.forEach((f, i) => {
    const of = old.frames[i]!;
    const [kr, klo, khi] = keep ? keep(i) : [0, 0, 0];
    f.regs.forEach((r, k) => {
      const o = of.regs[k]!;
      if ((kr & (1 << k)) === 0 && r.type === 'scalar' && o.type === 'scalar' && !scalarsIdentical(o, r)) markUnknown(ownReg(f, k));
    });
    f.stack.forEach((slot, spi) => {
      const os = of.stack[spi];
      if (slotBit(klo, khi, spi)) return;
      if (slot && os && slot.types[7] === StackType.SPILL && os.types[7] === StackType.SPILL && slot.spilled.type === 'scalar' && os.spilled.type === 'scalar' && !scalarsIdentical(os.spilled, slot.spilled)) {
        markUnknown(ownSlot(f, spi).spilled);
      }
    });
  });
}

const scalarsIdentical = (a: Reg, b: Reg): boolean =>
  a.var.value === b.var.value && a.var.mask === b.var.mask && a.umin === b.umin && a.umax === b.umax && a.smin === b.smin && a.smax === b.smax && a.u32min === b.u32min && a.u32max === b.u32max && a.s32min === b.s32min && a.s32max === b.s32max;

/**
 * process_iter_next_call, after R0 was set from the prototype: an ACTIVE iterator forks a queued
 * path at the next instruction (iterator ACTIVE, depth + 1, R0 not NULL, scalars widened against
 * `loopEntry`, the previous visit of this call on the path); this path goes on DRAINED with R0 = 0.
 */
export function processIterNextCall(env: Env, it: IterArg, loopEntry: VState | undefined, keep?: WidenKeep): void {
  const slotOf = (s: VState): FuncState => s.frames[it.frameno]!;
  const cur = slotOf(env.cur).stack[it.spi]!;
  if (cur.spilled.subprog === ITER_ACTIVE) {
    const queued = cloneState(env.cur);
    const qf = slotOf(queued);
    const qs = ownSlot(qf, it.spi);
    qs.spilled.memSize++;
    if (loopEntry) widenScalars(loopEntry, queued, keep);
    ownReg(curFrame(queued), 0).maybeNull = false;
    env.pushState(queued, env.insnIdx + 1);
  }
  ownSlot(slotOf(env.cur), it.spi).spilled.subprog = ITER_DRAINED;
  const r0 = ownReg(curFrame(env.cur), 0);
  markUnknown(r0);
  markKnown(r0, 0n);
}

/** The iterator R1 points to at an iterator `_next` call, when it is ACTIVE (is_state_visited's convergence test). */
export function iterActiveAtR1(s: VState): boolean {
  const r1 = curFrame(s).regs[1]!;
  if (r1.type !== 'stack' || !tnumIsConst(r1.var)) return false;
  const off = r1.off + Number(BigInt.asIntN(64, r1.var.value));
  const f = s.frames[r1.frameno] ?? curFrame(s);
  const slot = f.stack[(-off - 1) >> 3];
  return slot !== undefined && slot.types[0] === StackType.ITER && slot.spilled.subprog === ITER_ACTIVE;
}

/** iter_active_depths_differ: an ACTIVE iterator of `old` is at another depth in `cur` (not an infinite loop: another iteration). */
export function iterActiveDepthsDiffer(old: VState, cur: VState): boolean {
  for (let fr = 0; fr < old.frames.length; fr++) {
    const of = old.frames[fr]!;
    for (let spi = 0; spi < of.stack.length; spi++) {
      const s = of.stack[spi];
      if (!s || s.types[0] !== StackType.ITER || s.spilled.subprog !== ITER_ACTIVE) continue;
      const c = cur.frames[fr]?.stack[spi];
      if (!c || c.spilled.memSize !== s.spilled.memSize) return true;
    }
  }
  return false;
}
