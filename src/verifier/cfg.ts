// Control flow: subprograms, jump ranges, reachability, lddw halves, loops (the kernel's check_subprogs and check_cfg).
import { Class, classOf, opOf, PseudoCall, PseudoLd, JMP_CALL, JMP_EXIT, JMP_JA } from '../isa/opcodes.js';
import { isLdImm64, type Instruction } from '../isa/instruction.js';

/** The program as the kernel indexes it: one entry per 8-byte slot; the second half of an lddw is `undefined`. */
export type SlotProgram = readonly (Instruction | undefined)[];

/** A subprogram: instructions [start, end). */
export interface Subprog {
  /** First slot. */
  readonly start: number;
  /** One past the last slot. */
  readonly end: number;
}

/** What control-flow analysis learned. */
export interface CfgInfo {
  /** Subprograms in address order; [0] is the main program. */
  readonly subprogs: readonly Subprog[];
  /** Per slot: 1 where the kernel would check for state pruning. */
  readonly prunePoints: Uint8Array;
  /** Per slot: 1 where a back-edge arrives (loop headers). */
  readonly loopHeads: Uint8Array;
  /** Per slot: 1 at a jump's target (the kernel's jmp points: their visits enter the path history). */
  readonly jmpPoints: Uint8Array;
}

/** A control-flow rejection: the kernel's message and the instruction. */
export interface CfgError {
  /** Kernel message without trailing newline. */
  readonly message: string;
  /** Instruction it concerns. */
  readonly insn?: number;
  /** Log lines to print before the message (verbose_linfo). */
  readonly prefix?: string;
}

const isJmpClass = (code: number): boolean => classOf(code) === Class.JMP || classOf(code) === Class.JMP32;

/** Jump target of a jump at slot `i` (gotol uses imm). */
export function jumpTarget(insn: Instruction, i: number): number {
  if (insn.code === (Class.JMP32 | JMP_JA)) return i + insn.imm + 1;
  return i + insn.off + 1;
}

/** Whether `insn` is a BPF-to-BPF call. */
export const isPseudoCall = (insn: Instruction): boolean => insn.code === (Class.JMP | JMP_CALL) && insn.src === PseudoCall.CALL;
/** Whether `insn` is `lddw rX, func`. */
export const isPseudoFunc = (insn: Instruction): boolean => isLdImm64(insn) && insn.src === PseudoLd.FUNC;

/** Runs the kernel's subprogram and CFG checks. */
export function checkCfg(prog: SlotProgram, privileged: boolean): CfgInfo | CfgError {
  const len = prog.length;
  // add_subprog_and_kfunc
  const starts = new Set<number>([0]);
  for (let i = 0; i < len; i++) {
    const insn = prog[i];
    if (!insn) continue;
    if (isPseudoCall(insn) || isPseudoFunc(insn)) {
      const t = i + insn.imm + 1;
      if (t < 0 || t >= len) return { message: 'call to invalid destination', insn: i };
      starts.add(t);
    }
  }
  const sorted = [...starts].sort((a, b) => a - b);
  const subprogs: Subprog[] = sorted.map((s, k) => ({ start: s, end: sorted[k + 1] ?? len }));

  // check_subprogs
  for (const sp of subprogs) {
    for (let i = sp.start; i < sp.end; i++) {
      const insn = prog[i];
      const code = insn?.code ?? 0;
      if (insn && isJmpClass(code) && opOf(code) !== JMP_CALL && opOf(code) !== JMP_EXIT) {
        const off = jumpTarget(insn, i);
        if (off < sp.start || off >= sp.end) return { message: `jump out of range from insn ${i} to ${off}`, insn: i };
      }
      if (i === sp.end - 1) {
        if (code !== (Class.JMP | JMP_EXIT) && code !== (Class.JMP32 | JMP_JA) && code !== (Class.JMP | JMP_JA)) {
          return { message: 'last insn is not an exit or jmp', insn: i };
        }
      }
    }
  }

  // check_cfg: iterative DFS as the kernel does it.
  const DISCOVERED = 0x10;
  const EXPLORED = 0x20;
  const FALLTHROUGH = 1;
  const BRANCH = 2;
  const state = new Uint8Array(len);
  const prunePoints = new Uint8Array(len);
  const loopHeads = new Uint8Array(len);
  const jmpPoints = new Uint8Array(len);
  const stack: number[] = [0];
  state[0] = DISCOVERED;
  const push = (t: number, w: number, e: number): number | CfgError => {
    if (e === FALLTHROUGH && state[t]! >= (DISCOVERED | FALLTHROUGH)) return 0;
    if (e === BRANCH && state[t]! >= (DISCOVERED | BRANCH)) return 0;
    if (w < 0 || w >= len) return { message: `jump out of range from insn ${t} to ${w}`, insn: t };
    if (e === BRANCH) {
      prunePoints[w] = 1;
      jmpPoints[w] = 1;
    }
    if (state[w] === 0) {
      state[t] = DISCOVERED | e;
      state[w] = DISCOVERED;
      stack.push(w);
      return 1;
    }
    if ((state[w]! & 0xf0) === DISCOVERED) {
      loopHeads[w] = 1;
      if (privileged) return 0;
      return { message: `back-edge from insn ${t} to ${w}`, insn: t };
    }
    state[t] = DISCOVERED | e;
    return 0;
  };
  while (stack.length > 0) {
    const t = stack[stack.length - 1]!;
    const insn = prog[t];
    let ret: number | CfgError;
    const code = insn?.code ?? 0;
    if (!insn || !isJmpClass(code)) {
      ret = push(t, t + (insn && isLdImm64(insn) ? 2 : 1), FALLTHROUGH);
      if (ret === 0 && insn && isPseudoFunc(insn)) {
        prunePoints[t] = 1;
        ret = push(t, t + insn.imm + 1, BRANCH);
      }
    } else if (opOf(code) === JMP_EXIT) {
      ret = 0;
    } else if (opOf(code) === JMP_CALL) {
      ret = push(t, t + 1, FALLTHROUGH);
      prunePoints[t + 1 < len ? t + 1 : t] = 1;
      if (ret === 0 && isPseudoCall(insn)) {
        prunePoints[t] = 1;
        ret = push(t, t + insn.imm + 1, BRANCH);
      }
    } else if (opOf(code) === JMP_JA) {
      const w = jumpTarget(insn, t);
      ret = push(t, w, FALLTHROUGH);
      if (w >= 0 && w < len) {
        prunePoints[w] = 1;
        jmpPoints[w] = 1;
      }
    } else {
      prunePoints[t] = 1;
      ret = push(t, t + 1, FALLTHROUGH);
      if (ret === 0) ret = push(t, jumpTarget(insn, t), BRANCH);
    }
    if (typeof ret === 'object') return ret;
    if (ret === 0) {
      state[t] = EXPLORED;
      stack.pop();
    }
  }
  for (let i = 0; i < len; i++) {
    const insn = prog[i];
    if (state[i] !== EXPLORED) return { message: `unreachable insn ${i}`, insn: i };
    if (insn && isLdImm64(insn)) {
      if (state[i + 1] !== 0) return { message: `jump into the middle of ldimm64 insn ${i}`, insn: i };
      i++;
    }
  }
  return { subprogs, prunePoints, loopHeads, jmpPoints };
}

/** The subprogram index that starts at `start`, or -1. */
export function subprogAt(cfg: CfgInfo, start: number): number {
  return cfg.subprogs.findIndex((s) => s.start === start);
}
