// The contract between compiled code and JitEngine: scratch-area layout, imports, trap kinds.

/** Scratch offsets (bytes from the engine's scratch base): r0..r10 as little-endian i64. */
export const S_REGS = 0;
/** Instructions the run may still execute (i32; negative never stored). */
export const S_LEFT = 88;
/** Stack frames the run may have written (1 + deepest depth reached). */
export const S_DIRTY = 92;
/** High word of a value an import returns (the low word is the return value). */
export const S_HI = 96;
/** LD_ABS/LD_IND result flag: 1 = loaded, 0 = out of bounds (r0 = 0, exit). */
export const S_FLAG = 100;
/** Initial r10 per call depth (i64 each, MAX_CALL_FRAMES of them). */
export const S_R10 = 104;
/** Memory offset of stack frame 0 (frames are contiguous, STACK_SIZE bytes each). */
export const S_STACK0 = 168;
/** Block index `step` replays (set just before calling it). */
export const S_BLOCK = 172;
/** The simulated CPU of the run (i32): per-CPU slots of inlined array lookups. */
export const S_CPU = 176;
/** Bytes of the scratch area. */
export const SCRATCH_SIZE = 192;

/** Trap kinds passed to the `trap` import. */
export const TRAP_BUDGET = 0;
/** A BPF-to-BPF call beyond MAX_CALL_FRAMES. */
export const TRAP_CALL_DEPTH = 1;
/** Execution reached the slot after the last instruction. */
export const TRAP_FELL_OFF = 2;

/** Import names (module "b"). */
export const IMPORT_MODULE = 'b';

/**
 * The functions compiled code imports, in function-index order. All take and return i32 only
 * (no BigInt crosses the boundary): 64-bit values travel through the scratch area.
 */
export interface JitImports {
  /** Slow load: a hooked region or a fault. Returns the low word, writes the high word to S_HI. */
  load(pc: number, hi: number, lo: number, size: number, signed: number): number;
  /** A store (or atomic) that failed the inline check: throws MemoryFault. */
  storeFault(pc: number, hi: number, lo: number, size: number): void;
  /**
   * Calls helper `k` at call depth `depth` with r1..r5 from the scratch (all registers in a
   * program with callbacks); returns r0's low word, high word in S_HI.
   */
  helper(pc: number, k: number, depth: number): number;
  /** bpf_tail_call with r0..r10 in the scratch: 1 = the target ran (r0..r5 in the scratch), 0 = fell through (r0 in the scratch). */
  tail(pc: number, k: number, depth: number, mayGoto: number): number;
  /** Throws the error of `kind` (TRAP_*) at `pc`. */
  trap(kind: number, pc: number): void;
  /** LD_ABS/LD_IND of `size` bytes at skb offset `k`: the value; S_FLAG says whether it was in bounds. */
  ldabs(pc: number, k: number, size: number): number;
}

/** Import order (function indexes 0..5). */
export const IMPORT_NAMES = ['load', 'storeFault', 'helper', 'tail', 'trap', 'ldabs'] as const satisfies readonly (keyof JitImports)[];
