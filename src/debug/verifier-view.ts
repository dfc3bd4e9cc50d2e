// What the verifier believed at each instruction: register and stack states merged over every path it explored.

import type { ObjectSpec, ProgramSpec } from '../elf/object-spec.js';
import { formatReg } from '../verifier/format-reg.js';
import { cloneReg, type Reg, regTypeStr } from '../verifier/reg-state.js';
import type { FuncState } from '../verifier/state.js';
import { type Tnum, tnumString } from '../verifier/tnum.js';
import { verifyProgram, type VerifierState, type VerifyOptions, type VerifyResult } from '../verifier/verify.js';

/** One register as the verifier saw it at an instruction, over every path that reached it. */
export interface RegisterView {
  /** The verifier log's spelling (`scalar(umax=255,var_off=(0x0; 0xff))`, `pkt(r=14)`); paths with different types joined by ` | `. */
  readonly text: string;
  /** The type (`scalar`, `pkt`, `map_value_or_null`...), or several joined by ` | `. */
  readonly type: string;
  /** Whether the register is live here (read before written on some path on); a dead one's state is what pruning ignored. */
  readonly live: boolean;
  /** Scalars (one type on every path): known bits as `(value; mask)`. */
  readonly tnum?: string;
  /** Scalars: signed 64-bit range. */
  readonly signed?: readonly [bigint, bigint];
  /** Scalars: unsigned 64-bit range. */
  readonly unsigned?: readonly [bigint, bigint];
  /** Scalars: signed 32-bit range of the low half. */
  readonly signed32?: readonly [bigint, bigint];
  /** Scalars: unsigned 32-bit range of the low half. */
  readonly unsigned32?: readonly [bigint, bigint];
}

/** The verifier's view at one instruction. */
export interface InsnView {
  /** How many times a path reached it (pruned paths are covered by an earlier one). */
  readonly visits: number;
  /** Call depth of the paths (frame number of the innermost frame). */
  readonly frame: number;
  /** r0..r10 (undefined: not initialised on any path). */
  readonly regs: readonly (RegisterView | undefined)[];
  /** Stack slots of the innermost frame by offset (`fp-8`): the byte types (`mmmmmmmm`, `0000`, a spilled register). */
  readonly stack: ReadonlyMap<number, string>;
}

function tnumUnion(a: Tnum, b: Tnum): Tnum {
  const mask = a.mask | b.mask | (a.value ^ b.value);
  return { value: a.value & ~mask, mask };
}

const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);
const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);

/** Joins b into a (same type and fixed offset): the least state covering both. */
function join(a: Reg, b: Reg): void {
  a.var = tnumUnion(a.var, b.var);
  a.smin = min(a.smin, b.smin);
  a.smax = max(a.smax, b.smax);
  a.umin = min(a.umin, b.umin);
  a.umax = max(a.umax, b.umax);
  a.s32min = min(a.s32min, b.s32min);
  a.s32max = max(a.s32max, b.s32max);
  a.u32min = min(a.u32min, b.u32min);
  a.u32max = max(a.u32max, b.u32max);
  a.range = Math.min(a.range, b.range);
  if (a.id !== b.id) a.id = 0;
  if (a.refObjId !== b.refObjId) a.refObjId = 0;
}

const kindOf = (r: Reg): string => `${regTypeStr(r)}/${r.type === 'scalar' ? 0 : r.off}/${r.btf}/${r.memSize}`;

class Slot {
  visits = 0;
  frame = 0;
  readonly regs: (Map<string, Reg> | undefined)[] = [];
  readonly stack = new Map<number, Set<string>>();
  live = 0;

  add(f: FuncState, live: number): void {
    this.visits++;
    this.live |= live;
    this.frame = f.frameno;
    f.regs.forEach((r, i) => {
      if (r.type === 'not_init') return;
      const kinds = (this.regs[i] ??= new Map());
      const k = kindOf(r);
      const have = kinds.get(k);
      if (have) join(have, r);
      else if (kinds.size < 6) kinds.set(k, cloneReg(r));
    });
    f.stack.forEach((slot, spi) => {
      if (!slot || slot.types.every((t) => t === 0)) return;
      const text = slot.types[7] === 1 ? `spill ${formatReg(slot.spilled)}` : slot.types.map((t) => '?rm0d'[t]).join('');
      const set = this.stack.get(-(spi + 1) * 8) ?? new Set<string>();
      if (set.size < 4) set.add(text);
      this.stack.set(-(spi + 1) * 8, set);
    });
  }

  view(): InsnView {
    const regs = Array.from({ length: 11 }, (_, i) => this.regs[i]).map((kinds, i): RegisterView | undefined => {
      if (!kinds || kinds.size === 0) return undefined;
      const all = [...kinds.values()];
      const live = (this.live & (1 << i)) !== 0;
      const text = all.map(formatReg).join(' | ') + (live ? '' : ' (dead here)');
      const type = all.map((r) => regTypeStr(r)).join(' | ');
      if (all.length !== 1 || all[0]!.type !== 'scalar') return { text, type, live };
      const r = all[0]!;
      return { text, type, live, tnum: tnumString(r.var), signed: [r.smin, r.smax], unsigned: [r.umin, r.umax], signed32: [r.s32min, r.s32max], unsigned32: [r.u32min, r.u32max] };
    });
    const stack = new Map<number, string>();
    for (const [off, set] of [...this.stack.entries()].sort((a, b) => b[0] - a[0])) stack.set(off, [...set].join(' | '));
    return { visits: this.visits, frame: this.frame, regs, stack };
  }
}

/** The verifier's verdict on a program and its view at each instruction it reached. */
export interface VerifierViews {
  /** The verdict (with the explanation and line of a rejection). */
  readonly result: VerifyResult;
  /** The view before each slot, undefined where no path reached it. */
  readonly at: readonly (InsnView | undefined)[];
}

/**
 * Verifies `program` with the opt-in per-instruction hook and merges, per instruction, the states
 * of every path that reached it (types kept apart, scalar ranges and known bits joined). What the
 * verifier did not track is not there either: after a path is pruned its own continuation is not
 * explored, and imprecise or dead registers were not compared at the prune.
 */
export function recordVerifierViews(program: ProgramSpec, object: ObjectSpec | undefined, options: Omit<VerifyOptions, 'onInsn' | 'logLevel'> = {}): VerifierViews {
  const slots: Slot[] = [];
  const result = verifyProgram(program, object, {
    ...options,
    onInsn: (insn: number, state: VerifierState, live: number) => {
      const f = state.frames[state.frames.length - 1];
      if (f) (slots[insn] ??= new Slot()).add(f, live);
    },
  });
  const at: (InsnView | undefined)[] = [];
  for (let i = 0; i < slots.length; i++) at.push(slots[i]?.view());
  return { result, at };
}
