// Control-flow analysis for the JIT: basic blocks of a PreparedProgram and the functions (call targets) that own them.

import { BpfFuncId } from '../isa/uapi.generated.js';
import { NotSupportedError } from '../errors.js';
import { F_AUX, F_TARGET, FUNC_TAG, HANDLERS, type PreparedProgram, STRIDE } from '../vm/program.js';

/** Handler numbers the analysis and the emitter name (see HANDLERS). */
export const Hd = {
  ja: 44, jeqFirst: 45, jLast: 55, gotol: 56, j32First: 57, j32Last: 67, mayGoto: 68, callHelper: 69, callFunc: 70, exit: 71, lddw: 72, ldabs: 73,
  ldind: 74, trap: 94,
} as const;

/** A basic block: slots [start, end), `len` instructions (an lddw counts once). */
export interface Block {
  /** Index in `Cfg.blocks` (ordered by start). */
  readonly index: number;
  /** First slot. */
  readonly start: number;
  /** One past the last slot (the trap block at `slots` has end = slots + 1). */
  readonly end: number;
  /** Slots of its instructions, in order. */
  readonly pcs: readonly number[];
  /** Whether control can fall through from its last instruction to the block at `end`. */
  readonly fallsThrough: boolean;
  /** Jump target slot of its last instruction, or -1. */
  readonly target: number;
}

/** A Wasm function: the blocks reachable from `entry` without calls, ordered by start. */
export interface FuncInfo {
  /** Entry slot (0 or a BPF-to-BPF call target). */
  readonly entry: number;
  /** Global block indexes, ascending. */
  readonly blocks: readonly number[];
}

/** The analysis result. */
export interface Cfg {
  readonly blocks: readonly Block[];
  /** Block index by start slot (-1 elsewhere), length slots + 1. */
  readonly blockAt: Int32Array;
  readonly funcs: readonly FuncInfo[];
  /** Function index by entry slot. */
  readonly funcOf: ReadonlyMap<number, number>;
  /** Entry slots that ld.func loads (callbacks a helper may call). */
  readonly callbacks: readonly number[];
}

/** Whether slot `pc` calls bpf_tail_call (compiled as a transfer to another program). */
export function isTailCall(p: PreparedProgram, pc: number): boolean {
  const b = pc * STRIDE;
  return p.code[b] === Hd.callHelper && p.helperIds[p.code[b + 5]!] === BpfFuncId.tail_call;
}

function isJump(h: number): boolean {
  return (h >= Hd.ja && h <= Hd.j32Last) || h === Hd.mayGoto;
}

/** Whether the program loads a function pointer (ld.func): its helpers may run callbacks, which spend budget. */
export function hasCallbacks(p: PreparedProgram): boolean {
  for (let pc = 0; pc < p.slots; pc++) if (p.code[pc * STRIDE] === Hd.lddw && p.code[pc * STRIDE + F_AUX] === FUNC_TAG) return true;
  return false;
}

/**
 * Whether an instruction ends a block: control may leave the straight line after it, or
 * instructions run elsewhere before the next one (a BPF call; a helper of a program with
 * callbacks), which the budget must count first.
 */
export function endsBlock(p: PreparedProgram, pc: number, callbacks: boolean): boolean {
  const h = p.code[pc * STRIDE]!;
  return isJump(h) || h === Hd.callFunc || h === Hd.exit || h === Hd.ldabs || h === Hd.ldind || isTailCall(p, pc) || (callbacks && h === Hd.callHelper);
}

/**
 * Splits the program into basic blocks and groups them into functions: one per entry (slot 0
 * and every call target), each holding the blocks reachable from its entry by jumps and
 * fall-through (a block reachable from two entries is compiled in both). Throws
 * NotSupportedError for a handler the JIT does not compile.
 */
export function analyze(p: PreparedProgram): Cfg {
  const { code, slots } = p;
  const leader = new Uint8Array(slots + 1);
  const starts: number[] = [];
  leader[0] = 1;
  const entries = [0];
  const callbacks: number[] = [];
  const withCallbacks = hasCallbacks(p);
  for (let pc = 0; pc < slots; ) {
    starts.push(pc);
    const h = code[pc * STRIDE]!;
    if (h < 0 || h >= Hd.trap) throw new NotSupportedError(`JIT compilation of ${HANDLERS[h] ?? `handler ${h}`}`, undefined, `pc ${pc}`);
    // Callbacks (bpf_loop, for_each_map_elem): a helper re-enters the program at an ld.func target.
    if (h === Hd.lddw && code[pc * STRIDE + F_AUX] === FUNC_TAG) {
      const t = code[pc * STRIDE + 4]!;
      leader[t] = 1;
      if (!entries.includes(t)) entries.push(t);
      if (!callbacks.includes(t)) callbacks.push(t);
    }
    const next = pc + (h === Hd.lddw ? 2 : 1);
    if (isJump(h)) leader[code[pc * STRIDE + F_TARGET]!] = 1;
    if (h === Hd.callFunc) {
      const t = code[pc * STRIDE + F_TARGET]!;
      leader[t] = 1;
      if (!entries.includes(t)) entries.push(t);
    }
    if (endsBlock(p, pc, withCallbacks)) leader[next] = 1;
    pc = next;
  }
  leader[slots] = 1;
  const blocks: Block[] = [];
  const blockAt = new Int32Array(slots + 1).fill(-1);
  let i = 0;
  while (i < starts.length) {
    const start = starts[i]!;
    const pcs: number[] = [start];
    i++;
    while (i < starts.length && !leader[starts[i]!] && !endsBlock(p, pcs[pcs.length - 1]!, withCallbacks)) pcs.push(starts[i++]!);
    const last = pcs[pcs.length - 1]!;
    const h = code[last * STRIDE]!;
    const end = i < starts.length ? starts[i]! : slots;
    const fallsThrough = h !== Hd.ja && h !== Hd.gotol && h !== Hd.exit;
    blockAt[start] = blocks.length;
    blocks.push({ index: blocks.length, start, end, pcs, fallsThrough, target: isJump(h) ? code[last * STRIDE + F_TARGET]! : -1 });
  }
  // The trap slot after the last instruction: reaching it is an ExecutionError.
  blockAt[slots] = blocks.length;
  blocks.push({ index: blocks.length, start: slots, end: slots + 1, pcs: [slots], fallsThrough: false, target: -1 });

  const funcs: FuncInfo[] = [];
  const funcOf = new Map<number, number>();
  for (const entry of entries) {
    const seen = new Uint8Array(blocks.length);
    const work = [blockAt[entry]!];
    seen[work[0]!] = 1;
    while (work.length > 0) {
      const b = blocks[work.pop()!]!;
      const succ: number[] = [];
      if (b.fallsThrough && b.start < slots) succ.push(blockAt[b.end]!);
      if (b.target >= 0) succ.push(blockAt[b.target]!);
      for (const s of succ) {
        if (s < 0) throw new NotSupportedError('JIT compilation of a jump into no block', undefined, `pc ${b.start}`);
        if (!seen[s]) {
          seen[s] = 1;
          work.push(s);
        }
      }
    }
    const list: number[] = [];
    for (let k = 0; k < blocks.length; k++) if (seen[k]) list.push(k);
    funcOf.set(entry, funcs.length);
    funcs.push({ entry, blocks: list });
  }
  return { blocks, blockAt, funcs, funcOf, callbacks };
}
