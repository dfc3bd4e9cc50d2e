// Stack extent: how many bytes below r10 a run of the entry frame can touch, so a run zeroes only those.
//
// A forward dataflow over the blocks tracks, per register, whether it holds r10 plus a known
// constant (FP(k)), certainly no stack pointer (NOT_FP: constants, loads, map and context
// pointers, helper results), or anything else (TOP). Every load, store and atomic through an
// FP(k) base touches k + off; a helper argument FP(k) lets the helper touch k and above. The
// analysis gives up (the whole frame) when the program has BPF-to-BPF calls or callbacks, when a
// stack pointer may escape to memory, when a TOP register is an access base or may be a helper
// argument, or when the fixpoint does not settle. Tail-call targets use the frame too: the engine
// marks every frame dirty when a tail call runs.

import { STACK_SIZE } from '../vm/interpreter.js';
import { FIRST_CONST, type PreparedProgram, STRIDE } from '../vm/program.js';
import { type Cfg, Hd } from './cfg.js';

const NOT_FP = Infinity;
const TOP = NaN;
type State = Float64Array; // r0..r10

function join(a: number, b: number): number {
  if (a === b) return a;
  return TOP; // different offsets, FP with NOT_FP, or TOP
}

class GiveUp extends Error {}

/**
 * Bytes at the top of stack frame 0 (just below r10) that a run of `p` may read or write,
 * rounded up to 8; STACK_SIZE when that cannot be shown.
 */
export function frameExtent(p: PreparedProgram, cfg: Cfg): number {
  if (cfg.funcs.length !== 1 || cfg.callbacks.length > 0) return STACK_SIZE;
  try {
    const low = lowestOffset(p, cfg, undefined);
    if (low >= 0) return 0;
    return Math.min(STACK_SIZE, (-low + 7) & ~7);
  } catch (e) {
    if (e instanceof GiveUp) return STACK_SIZE;
    throw e;
  }
}

/**
 * The stack accesses whose bounds need no run-time check: by pc, each load, store or atomic
 * whose base register certainly holds the frame pointer plus k, with the whole access inside
 * the 512-byte frame (and, at a helper call, r2's offset for a key pointer of up to 512 bytes
 * there: see frameSafe). From the dataflow above when it settles (one function, no callbacks);
 * otherwise, when no instruction writes r10, the accesses through r10 itself. The frame is the
 * engine's, r10 always its end, so an access there never faults.
 */
export function stackBases(p: PreparedProgram, cfg: Cfg): ReadonlyMap<number, number> {
  const bases = new Map<number, number>();
  if (cfg.funcs.length === 1 && cfg.callbacks.length === 0) {
    try {
      lowestOffset(p, cfg, bases);
      return bases;
    } catch (e) {
      if (!(e instanceof GiveUp)) throw e;
      bases.clear();
    }
  }
  const code = p.code;
  for (let pc = 0; pc < p.slots; pc++) {
    const b = pc * STRIDE;
    const h = code[b]!;
    const d = code[b + 1]!;
    if ((h <= 43 || h === Hd.lddw || (h >= 75 && h <= 81) || h === 92) && d === 10) return new Map();
    if ((h === 90 || h === 91) && code[b + 2] === 10) return new Map();
  }
  for (let pc = 0; pc < p.slots; pc++) {
    const b = pc * STRIDE;
    const h = code[b]!;
    if (((h >= 75 && h <= 81) || h === 92) && code[b + 2] === 10) bases.set(pc, 0);
    else if (((h >= 82 && h <= 91) || h === 93) && code[b + 1] === 10) bases.set(pc, 0);
  }
  return bases;
}

/** Whether `size` bytes at frame pointer + `at` lie inside the frame. */
export function frameSafe(at: number, size: number): boolean {
  return at >= -STACK_SIZE && at + size <= 0;
}

function lowestOffset(p: PreparedProgram, cfg: Cfg, bases: Map<number, number> | undefined): number {
  const code = p.code;
  const n = cfg.blocks.length;
  const entry: (State | undefined)[] = new Array<State | undefined>(n).fill(undefined);
  const start = new Float64Array(11).fill(NOT_FP);
  start[10] = 0;
  entry[0] = start;
  let low = 0;
  const touch = (base: number, off: number): void => {
    if (Number.isNaN(base)) throw new GiveUp();
    if (base !== NOT_FP) low = Math.min(low, base + off);
  };
  // Records the base of the access at `pc` (the last round's, the settled one, wins).
  const note = (pc: number, base: number): void => {
    if (!bases) return;
    if (base !== NOT_FP && !Number.isNaN(base)) bases.set(pc, base);
    else bases.delete(pc);
  };
  const value = (st: State, s: number): number => (s >= FIRST_CONST ? NOT_FP : st[s]!);
  const isFpOrTop = (v: number): boolean => v !== NOT_FP;
  const constOf = (s: number): number => p.constLo[s - FIRST_CONST]!;
  const flow = (to: number, st: State): boolean => {
    const cur = entry[to];
    if (!cur) {
      entry[to] = Float64Array.from(st);
      return true;
    }
    let changed = false;
    for (let r = 0; r <= 10; r++) {
      const j = join(cur[r]!, st[r]!);
      if (!Object.is(j, cur[r])) {
        cur[r] = j;
        changed = true;
      }
    }
    return changed;
  };
  for (let round = 0; round < 64; round++) {
    let changed = false;
    for (let bi = 0; bi < n; bi++) {
      const blk = cfg.blocks[bi]!;
      const init = entry[bi];
      if (!init) continue;
      const st = Float64Array.from(init);
      for (const pc of blk.pcs) {
        const b = pc * STRIDE;
        const h = code[b]!;
        const d = code[b + 1]!;
        const s = code[b + 2]!;
        const off = code[b + 3]!;
        if (h <= 43) {
          const dv = st[d]!;
          const sv = h === 12 || h === 30 || (h >= 14 && h <= 17) || h === 32 || h === 33 || h === 34 ? NOT_FP : value(st, s);
          if (h === 12) st[d] = value(st, s); // mov64
          else if ((h === 0 || h === 1) && s >= FIRST_CONST && dv !== NOT_FP && !Number.isNaN(dv)) st[d] = dv + (h === 0 ? constOf(s) : -constOf(s));
          else if (h === 30 || (h >= 14 && h <= 17) || h === 33 || h === 34) st[d] = isFpOrTop(value(st, s)) || (h === 14 && isFpOrTop(dv)) ? TOP : NOT_FP;
          else st[d] = isFpOrTop(dv) || isFpOrTop(sv) ? TOP : NOT_FP;
        } else if (h === Hd.lddw) st[d] = NOT_FP;
        else if ((h >= 75 && h <= 81) || h === 92) {
          touch(st[s]!, off);
          note(pc, st[s]!);
          st[d] = NOT_FP;
        } else if (h >= 82 && h <= 85) {
          touch(st[d]!, off);
          note(pc, st[d]!);
        } else if ((h >= 86 && h <= 89) || h === 93 || h === 90 || h === 91) {
          touch(st[d]!, off);
          note(pc, st[d]!);
          if (isFpOrTop(st[s]!)) throw new GiveUp(); // a stack pointer stored to memory
          if (h === 90 || h === 91) {
            st[0] = NOT_FP; // cmpxchg's r0
            st[s] = NOT_FP; // fetch results
          }
        } else if (h === Hd.callHelper) {
          for (let r = 1; r <= 5; r++) touch(st[r]!, 0);
          note(pc, st[2]!);
          st[0] = NOT_FP;
        } else if (h === Hd.ldabs || h === Hd.ldind) st[0] = NOT_FP;
        else if ((h >= Hd.ja && h <= Hd.mayGoto) || h === Hd.exit || h === Hd.trap) {
          // no register changes
        } else throw new GiveUp();
      }
      const last = blk.pcs.length ? blk.pcs[blk.pcs.length - 1]! : -1;
      if (last >= 0 && code[last * STRIDE] === Hd.exit) continue;
      if (blk.fallsThrough && cfg.blockAt[blk.end]! >= 0) changed = flow(cfg.blockAt[blk.end]!, st) || changed;
      if (blk.target >= 0) changed = flow(cfg.blockAt[blk.target]!, st) || changed;
    }
    if (!changed) return low;
  }
  throw new GiveUp();
}
