// Map value bounds: loads and stores through a pointer an inlined map lookup returned, past its NULL check, need no run-time check.
//
// A forward dataflow over the blocks of a one-function program without callbacks tracks, per
// register, nothing known, the value pointer an inlined bpf_map_lookup_elem returned (maybe
// NULL), or that pointer known non-NULL plus a constant k. A 64-bit `jeq`/`jne` of the register
// against 0 makes it non-NULL on the branch where it is not 0 (only that register: copies stay
// maybe-NULL). Copies (mov64) keep the state, adding or subtracting a constant moves k, any other
// write forgets it; joins keep only what both sides agree on. An access through a non-NULL value
// pointer with k + off >= 0 and k + off + size <= value_size is inside the map's value region
// (every slot and CPU of it lies there), and a store there is allowed when that region is
// writable (not .rodata, not BPF_F_RDONLY_PROG) — the verifier's own reasoning, the kernel JIT's
// reason to emit no check at all.

import { FIRST_CONST, type PreparedProgram, STRIDE } from '../vm/program.js';
import { type Cfg, Hd } from './cfg.js';
import type { Inlined } from './map-lookup.js';

/** What an access base is known to be. */
export interface ValueBase {
  /** Bytes from the value's start to the pointer. */
  readonly k: number;
  /** value_size. */
  readonly size: number;
  /** Whether programs may store to the values. */
  readonly writable: boolean;
}

const UNKNOWN = 0, MAYBE_NULL = 1, VALUE = 2;
// Per register r: [kind, k, size, writable] at 4 * r.
type State = Float64Array;

function same(a: State, b: State, r: number): boolean {
  for (let i = 4 * r; i < 4 * r + 4; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The accesses (by pc) whose base is a non-NULL value pointer of an inlined lookup; empty when the program has calls or callbacks. */
export function valueBases(p: PreparedProgram, cfg: Cfg, inline: ReadonlyMap<number, Inlined>): ReadonlyMap<number, ValueBase> {
  const bases = new Map<number, ValueBase>();
  if (inline.size === 0 || cfg.funcs.length !== 1 || cfg.callbacks.length > 0) return bases;
  const code = p.code;
  const n = cfg.blocks.length;
  const entry: (State | undefined)[] = new Array<State | undefined>(n).fill(undefined);
  entry[0] = new Float64Array(44);
  const forget = (st: State, r: number): void => void st.fill(0, 4 * r, 4 * r + 4);
  const note = (pc: number, st: State, r: number): void => {
    if (st[4 * r] === VALUE) bases.set(pc, { k: st[4 * r + 1]!, size: st[4 * r + 2]!, writable: st[4 * r + 3] === 1 });
    else bases.delete(pc);
  };
  const flow = (to: number, st: State): boolean => {
    const cur = entry[to];
    if (!cur) {
      entry[to] = Float64Array.from(st);
      return true;
    }
    let changed = false;
    for (let r = 0; r <= 10; r++) {
      if (cur[4 * r] !== UNKNOWN && !same(cur, st, r)) {
        forget(cur, r);
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
        if (h === 12 && s < FIRST_CONST) st.copyWithin(4 * d, 4 * s, 4 * s + 4); // mov64 reg
        else if ((h === 0 || h === 1) && s >= FIRST_CONST && st[4 * d] === VALUE) st[4 * d + 1] = st[4 * d + 1]! + (h === 0 ? 1 : -1) * p.constLo[s - FIRST_CONST]!;
        else if (h <= 43 || h === Hd.lddw) forget(st, d);
        else if ((h >= 75 && h <= 81) || h === 92) {
          note(pc, st, s);
          forget(st, d);
        } else if ((h >= 82 && h <= 89) || h === 93) note(pc, st, d);
        else if (h === 90 || h === 91) {
          note(pc, st, d);
          forget(st, s);
          forget(st, 0);
        } else if (h === Hd.callHelper) {
          const m = inline.get(pc)?.map;
          forget(st, 0);
          if (m) {
            st[0] = MAYBE_NULL;
            st[2] = m.valueSize;
            st[3] = m.writable ? 1 : 0;
          }
        } else if (h === Hd.ldabs || h === Hd.ldind) forget(st, 0);
        else if (!((h >= Hd.ja && h <= Hd.mayGoto) || h === Hd.exit || h === Hd.trap)) return new Map(); // a BPF-to-BPF call
      }
      const last = blk.pcs.length ? blk.pcs[blk.pcs.length - 1]! : -1;
      if (last >= 0 && code[last * STRIDE] === Hd.exit) continue;
      // A NULL check: the register is a value pointer on the side where it is not 0.
      let taken = st;
      let fall = st;
      if (last >= 0) {
        const b = last * STRIDE;
        const h = code[b]!;
        const d = code[b + 1]!;
        const s = code[b + 2]!;
        if ((h === 45 || h === 49) && s >= FIRST_CONST && p.constLo[s - FIRST_CONST] === 0 && p.constHi[s - FIRST_CONST] === 0 && st[4 * d] === MAYBE_NULL) {
          const nonNull = Float64Array.from(st);
          nonNull[4 * d] = VALUE;
          nonNull[4 * d + 1] = 0;
          const isNull = Float64Array.from(st);
          forget(isNull, d);
          taken = h === 45 ? isNull : nonNull;
          fall = h === 45 ? nonNull : isNull;
        }
      }
      if (blk.fallsThrough && cfg.blockAt[blk.end]! >= 0) changed = flow(cfg.blockAt[blk.end]!, fall) || changed;
      if (blk.target >= 0) changed = flow(cfg.blockAt[blk.target]!, taken) || changed;
    }
    if (!changed) return bases;
  }
  return new Map();
}
