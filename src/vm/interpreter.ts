// The reference interpreter: every eBPF instruction with the Linux kernel's semantics.
//
// Registers are 64-bit values kept as two Int32Arrays of 32-bit halves (`lo`, `hi`); indexes
// 0..10 are r0..r10 and indexes from FIRST_CONST on hold the program's immediates, so an
// instruction reads its operand the same way whether it is a register or an immediate. No
// BigInt and no allocation on the execution path; 64-bit multiply and divide are in int64.ts.

import { BpfFuncId } from '../isa/uapi.generated.js';
import { type AddressSpace, REGION_HOOKED, REGION_WRITABLE, type Region, TAG_BASE } from './address-space.js';
import { BudgetExceeded, CallDepthExceeded, ExecutionError } from './errors.js';
import type { Engine } from './engine.js';
import type { TailCallHook } from './helpers.js';
import { divModS64, divModU64, mul64, splitU64, toBigUint64, toNumber } from './int64.js';
import { FIRST_CONST, type PreparedProgram, STRIDE } from './program.js';

/** The kernel's MAX_CALL_FRAMES: the main program plus seven nested BPF-to-BPF calls. */
export const MAX_CALL_FRAMES = 8;
/** Stack bytes per frame (the kernel's MAX_BPF_STACK). */
export const STACK_SIZE = 512;
/** The kernel's BPF_MAX_LOOPS: how many times a `may_goto` falls through per frame before it jumps. */
export const BPF_MAX_LOOPS = 8 * 1024 * 1024;
/** The kernel's MAX_TAIL_CALL_CNT. */
export const MAX_TAIL_CALL_CNT = 33;
/** Default instruction budget of one run. */
export const DEFAULT_BUDGET = 1_000_000;
/** Classic BPF's special offsets for LD_ABS/LD_IND: network header and link-layer header. */
export const SKF_NET_OFF = -0x100000;
/** See SKF_NET_OFF. */
export const SKF_LL_OFF = -0x200000;

const TWO32 = 4294967296;
const FRAME_WORDS = 12; // return pc, r6..r10 as lo/hi pairs

/**
 * Where LD_ABS / LD_IND read: the skb's data inside a packet region, and its headers. Offsets are
 * from the start of the region's window.
 */
export interface SkbData {
  /** The packet region. */
  readonly region: Region;
  /** Where skb->data is (offset 0 of LD_ABS), default 0. */
  readonly data?: number;
  /** Where the network header is (the SKF_NET_OFF base), default `data`. */
  readonly network?: number;
  /** Where the link-layer header is (the SKF_LL_OFF base), default `data - 14`. */
  readonly mac?: number;
}

/**
 * Called before each instruction runs when set on {@link Interpreter.stepHook} (the debugger's
 * hook, src/debug): `pc` is the slot about to run, `depth` the call depth (0 = entry frame),
 * `program` the program running (a tail call changes it). It may read registers and memory, and
 * throw to stop the run there.
 */
export type StepHook = (pc: number, depth: number, program: PreparedProgram) => void;

/** Options of an Interpreter. */
export interface InterpreterOptions {
  /** Serves `bpf_tail_call`; without it a tail call throws. */
  tailCalls?: TailCallHook;
  /**
   * Bytes at the top of stack frame 0 a run of the program can touch when it makes no call
   * (src/jit/stack-extent.ts's frameExtent): a run zeroes only those. Default: the whole frame.
   */
  frameExtent?: number;
}

interface RegisterFile {
  lo: Int32Array;
  hi: Int32Array;
}

function bswap32(x: number): number {
  return ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
}

/**
 * Runs a prepared program in an address space. Owns MAX_CALL_FRAMES stack regions of
 * STACK_SIZE bytes in that space (`stack[0]`...). One instance runs many times; `run` does
 * not allocate.
 */
export class Interpreter implements Engine {
  /** The address space the program runs in. */
  readonly space: AddressSpace;
  /** One stack region per call frame. */
  readonly stacks: readonly Region[];
  /** Slot index of the current instruction (meaningful inside helpers and after a fault). */
  pc = 0;
  /** Low word of r0 after the last run. */
  retLo = 0;
  /** High word of r0 after the last run. */
  retHi = 0;
  /** Instructions executed by the last run. */
  executed = 0;
  /** Where LD_ABS/LD_IND read from; unset means they fail (r0 = 0, exit). */
  skb: SkbData | undefined;
  /**
   * Called before every instruction while set (see {@link StepHook}); read when a run (or a
   * callback) starts. Unset, it costs nothing: the check shares the instruction budget's test.
   */
  stepHook: StepHook | undefined;

  private program: PreparedProgram;
  private regs: RegisterFile;
  private readonly files = new WeakMap<PreparedProgram, RegisterFile>();
  private readonly frames = new Int32Array(MAX_CALL_FRAMES * FRAME_WORDS);
  /** The program each frame's caller runs (a tail call in a callee switches programs). */
  private readonly callers: PreparedProgram[] = [];
  private readonly mayGoto = new Int32Array(MAX_CALL_FRAMES);
  private readonly scratch = new Int32Array(4);
  private readonly tailCalls: TailCallHook | undefined;
  /** The program every run starts in (`program` changes on a tail call). */
  private readonly entry: PreparedProgram;
  /** Tag (high word) and end of each frame's stack, the initial r10 per depth. */
  private readonly stackHi = new Int32Array(MAX_CALL_FRAMES);
  private readonly stackLo = new Int32Array(MAX_CALL_FRAMES);
  /** Run state shared by exec and the callbacks it re-enters for (see callFunction). */
  private depth = 0;
  private count = 0;
  private budget = DEFAULT_BUDGET;
  private tailCallCount = 0;
  private callbackDepth = 0;
  /** Bytes at the top of frame 0 a run without calls may have written (InterpreterOptions.frameExtent). */
  private readonly extent: number;
  /** Region of the last access `at` translated. */
  private hit = 0;
  /** Stack frames a run may have written (1 + deepest call depth reached), zeroed by the next run. */
  private dirtyFrames = MAX_CALL_FRAMES;

  constructor(program: PreparedProgram, space: AddressSpace, options: InterpreterOptions = {}) {
    this.program = program;
    this.entry = program;
    this.space = space;
    this.tailCalls = options.tailCalls;
    this.extent = Math.min(STACK_SIZE, Math.max(0, options.frameExtent ?? STACK_SIZE));
    this.regs = this.registerFile(program);
    const stacks: Region[] = [];
    for (let i = 0; i < MAX_CALL_FRAMES; i++) stacks.push(space.addRegion(`stack[${i}]`, STACK_SIZE, { kind: 'stack' }));
    this.stacks = stacks;
    for (let i = 0; i < MAX_CALL_FRAMES; i++) {
      this.stackHi[i] = TAG_BASE + stacks[i]!.id;
      this.stackLo[i] = stacks[i]!.end;
    }
  }

  private registerFile(p: PreparedProgram): RegisterFile {
    let f = this.files.get(p);
    if (!f) {
      const n = FIRST_CONST + p.constLo.length;
      f = { lo: new Int32Array(n), hi: new Int32Array(n) };
      f.lo.set(p.constLo, FIRST_CONST);
      f.hi.set(p.constHi, FIRST_CONST);
      this.files.set(p, f);
    }
    return f;
  }

  /** Low 32 bits of register i. */
  regLo(i: number): number {
    return this.regs.lo[i]!;
  }
  /** High 32 bits of register i. */
  regHi(i: number): number {
    return this.regs.hi[i]!;
  }
  /** Register i as an unsigned BigInt. */
  reg(i: number): bigint {
    return toBigUint64(this.regs.lo[i]!, this.regs.hi[i]!);
  }
  /** r0 of the last run as an unsigned BigInt. */
  get r0(): bigint {
    return toBigUint64(this.retLo, this.retHi);
  }

  /**
   * Runs the program from slot 0 with r1 = `r1` (the context pointer, as a number) and the
   * other registers zero, until the outermost `exit`. Stacks are zeroed first. Returns the
   * number of instructions executed; r0 is in `retLo`/`retHi`. Throws MemoryFault,
   * BudgetExceeded, CallDepthExceeded or ExecutionError, or whatever a helper throws.
   */
  run(r1: number, budget = DEFAULT_BUDGET): number {
    // Every run starts at the entry program, also after a run that ended in a tail-call target.
    if (this.program !== this.entry) {
      this.program = this.entry;
      this.regs = this.registerFile(this.entry);
    }
    const { lo, hi } = this.regs;
    // r0..r9 by hand: TypedArray.fill's call costs more than these stores.
    for (let i = 0; i < 10; i++) {
      lo[i] = 0;
      hi[i] = 0;
    }
    lo[1] = r1 >>> 0;
    hi[1] = Math.floor(r1 / TWO32) | 0;
    // Only frames the last run reached can hold its bytes (a frame is written only while active).
    const memBytes = this.space.memory.bytes;
    if (this.dirtyFrames === 1) {
      const st = this.stacks[0]!;
      const end = st.end;
      if (this.extent > 64) memBytes.fill(0, end - this.extent, end);
      else for (let at = end - this.extent; at < end; at++) memBytes[at] = 0;
    } else {
      for (let i = 0; i < this.dirtyFrames; i++) {
        const st = this.stacks[i]!;
        memBytes.fill(0, st.base, st.base + st.capacity);
      }
    }
    this.dirtyFrames = 1;
    lo[10] = this.stackLo[0]!;
    hi[10] = this.stackHi[0]!;
    this.mayGoto[0] = BPF_MAX_LOOPS;
    this.tailCallCount = 0;
    this.callbackDepth = 0;
    this.count = 0;
    this.budget = budget;
    this.exec(0, 0);
    this.retLo = this.regs.lo[0]!;
    this.retHi = this.regs.hi[0]!;
    this.executed = this.count;
    return this.count;
  }

  /**
   * Calls the BPF function at slot `target` of the running program with r1..r5 as a callback
   * from a helper (bpf_loop): a new call frame, as a BPF-to-BPF call makes; returns its r0 as
   * an unsigned number. r6..r9 of the helper's caller are preserved; r1..r5 are clobbered, as
   * by any helper call.
   */
  callFunction(target: number, a1: number, a2: number, a3: number, a4: number, a5: number): number {
    const depth = this.depth;
    if (depth + 1 >= MAX_CALL_FRAMES) throw new CallDepthExceeded(this.pc, MAX_CALL_FRAMES);
    const program = this.program;
    if (!Number.isInteger(target) || target < 0 || target >= program.slots) throw new ExecutionError(this.pc, `callback target ${target} is outside the program`);
    const { lo, hi } = this.regs;
    const frames = this.frames;
    const f = depth * FRAME_WORDS;
    frames[f] = this.pc + 1;
    this.callers[depth] = program;
    for (let r = 6, k = f + 1; r <= 10; r++, k += 2) {
      frames[k] = lo[r]!;
      frames[k + 1] = hi[r]!;
    }
    const args = [a1, a2, a3, a4, a5];
    for (let r = 1; r <= 5; r++) {
      const v = args[r - 1]!;
      lo[r] = v | 0;
      hi[r] = Math.floor(v / TWO32) | 0;
    }
    const inner = depth + 1;
    if (inner >= this.dirtyFrames) this.dirtyFrames = inner + 1;
    lo[10] = this.stackLo[inner]!;
    hi[10] = this.stackHi[inner]!;
    this.mayGoto[inner] = BPF_MAX_LOOPS;
    const pc = this.pc;
    this.callbackDepth++;
    try {
      this.exec(target, inner);
    } finally {
      this.callbackDepth--;
    }
    // Back in the helper's frame: r6..r10 restored, r0 is the callback's.
    const ret = toNumber(this.regs.lo[0]!, this.regs.hi[0]!);
    const now = this.regs;
    for (let r = 6, k = f + 1; r <= 10; r++, k += 2) {
      now.lo[r] = frames[k]!;
      now.hi[r] = frames[k + 1]!;
    }
    this.depth = depth;
    this.pc = pc;
    return ret;
  }

  /**
   * The main loop: runs from slot `startPc` at call depth `base` until that frame's `exit`.
   * Re-entered by callFunction for callbacks (one level deeper each time).
   */
  private exec(startPc: number, base: number): void {
    const space = this.space;
    const budget = this.budget;
    let program = this.program;
    let code = program.code;
    let fns = program.helperFns;
    let { lo, hi } = this.regs;
    const frames = this.frames;
    const callers = this.callers;
    const mayGoto = this.mayGoto;
    const out = this.scratch;
    const stackHi = this.stackHi;
    const stackLo = this.stackLo;
    let depth = base;
    let tailCalls = this.tailCallCount;

    let view = space.memory.view;
    let pc = startPc;
    let count = this.count;
    // With a step hook the limit is the current count, so every instruction takes the budget
    // test's slow path, which calls the hook; without one it is the budget (nothing added).
    const stepHook = this.stepHook;
    let limit = stepHook === undefined ? budget : count;

    run: for (;;) {
      if (++count > limit) {
        if (count > budget) {
          this.pc = pc;
          this.executed = this.count = count - 1;
          throw new BudgetExceeded(pc, budget);
        }
        this.pc = pc;
        this.count = count;
        stepHook!(pc, depth, program);
        limit = count;
      }
      const b = pc * STRIDE;
      const d = code[b + 1]!;
      const s = code[b + 2]!;
      switch (code[b]!) {
        // ---- ALU64 ----
        case 0: { // add64
          const a = (lo[d]! >>> 0) + (lo[s]! >>> 0);
          hi[d] = (hi[d]! + hi[s]! + (a > 0xffffffff ? 1 : 0)) | 0;
          lo[d] = a | 0;
          break;
        }
        case 1: { // sub64
          const a = (lo[d]! >>> 0) - (lo[s]! >>> 0);
          hi[d] = (hi[d]! - hi[s]! - (a < 0 ? 1 : 0)) | 0;
          lo[d] = a | 0;
          break;
        }
        case 2: // mul64
          mul64(lo, hi, d, s);
          break;
        case 3: // div64: x / 0 = 0
          if ((lo[s]! | hi[s]!) === 0) lo[d] = hi[d] = 0;
          else {
            divModU64(lo[d]!, hi[d]!, lo[s]!, hi[s]!, out);
            lo[d] = out[0]!;
            hi[d] = out[1]!;
          }
          break;
        case 4: // sdiv64
          if ((lo[s]! | hi[s]!) === 0) lo[d] = hi[d] = 0;
          else {
            divModS64(lo[d]!, hi[d]!, lo[s]!, hi[s]!, out);
            lo[d] = out[0]!;
            hi[d] = out[1]!;
          }
          break;
        case 5: // or64
          lo[d] = lo[d]! | lo[s]!;
          hi[d] = hi[d]! | hi[s]!;
          break;
        case 6: // and64
          lo[d] = lo[d]! & lo[s]!;
          hi[d] = hi[d]! & hi[s]!;
          break;
        case 7: { // lsh64, amount masked to 63
          const n = lo[s]! & 63;
          if (n >= 32) {
            hi[d] = lo[d]! << (n - 32);
            lo[d] = 0;
          } else if (n !== 0) {
            hi[d] = (hi[d]! << n) | (lo[d]! >>> (32 - n));
            lo[d] = lo[d]! << n;
          }
          break;
        }
        case 8: { // rsh64
          const n = lo[s]! & 63;
          if (n >= 32) {
            lo[d] = hi[d]! >>> (n - 32);
            hi[d] = 0;
          } else if (n !== 0) {
            lo[d] = (lo[d]! >>> n) | (hi[d]! << (32 - n));
            hi[d] = hi[d]! >>> n;
          }
          break;
        }
        case 9: // mod64: x % 0 = x
          if ((lo[s]! | hi[s]!) !== 0) {
            divModU64(lo[d]!, hi[d]!, lo[s]!, hi[s]!, out);
            lo[d] = out[2]!;
            hi[d] = out[3]!;
          }
          break;
        case 10: // smod64
          if ((lo[s]! | hi[s]!) !== 0) {
            divModS64(lo[d]!, hi[d]!, lo[s]!, hi[s]!, out);
            lo[d] = out[2]!;
            hi[d] = out[3]!;
          }
          break;
        case 11: // xor64
          lo[d] = lo[d]! ^ lo[s]!;
          hi[d] = hi[d]! ^ hi[s]!;
          break;
        case 12: // mov64
          lo[d] = lo[s]!;
          hi[d] = hi[s]!;
          break;
        case 13: { // arsh64
          const n = lo[s]! & 63;
          if (n >= 32) {
            lo[d] = hi[d]! >> (n - 32);
            hi[d] = hi[d]! >> 31;
          } else if (n !== 0) {
            lo[d] = (lo[d]! >>> n) | (hi[d]! << (32 - n));
            hi[d] = hi[d]! >> n;
          }
          break;
        }
        case 14: { // neg64
          const l = lo[d]!;
          lo[d] = -l | 0;
          hi[d] = (~hi[d]! + (l === 0 ? 1 : 0)) | 0;
          break;
        }
        case 15: { // movsx8_64
          const v = (lo[s]! << 24) >> 24;
          lo[d] = v;
          hi[d] = v >> 31;
          break;
        }
        case 16: { // movsx16_64
          const v = (lo[s]! << 16) >> 16;
          lo[d] = v;
          hi[d] = v >> 31;
          break;
        }
        case 17: { // movsx32_64
          const v = lo[s]!;
          lo[d] = v;
          hi[d] = v >> 31;
          break;
        }
        // ---- ALU32: the result zero-extends ----
        case 18: // add32
          lo[d] = (lo[d]! + lo[s]!) | 0;
          hi[d] = 0;
          break;
        case 19: // sub32
          lo[d] = (lo[d]! - lo[s]!) | 0;
          hi[d] = 0;
          break;
        case 20: // mul32
          lo[d] = Math.imul(lo[d]!, lo[s]!);
          hi[d] = 0;
          break;
        case 21: { // div32
          const v = lo[s]! >>> 0;
          lo[d] = v === 0 ? 0 : ((lo[d]! >>> 0) / v) | 0;
          hi[d] = 0;
          break;
        }
        case 22: { // sdiv32: INT_MIN / -1 = INT_MIN
          const v = lo[s]!;
          lo[d] = v === 0 ? 0 : (lo[d]! / v) | 0;
          hi[d] = 0;
          break;
        }
        case 23: // or32
          lo[d] = lo[d]! | lo[s]!;
          hi[d] = 0;
          break;
        case 24: // and32
          lo[d] = lo[d]! & lo[s]!;
          hi[d] = 0;
          break;
        case 25: // lsh32 (JS masks the count to 31, as the kernel does)
          lo[d] = lo[d]! << lo[s]!;
          hi[d] = 0;
          break;
        case 26: // rsh32
          lo[d] = lo[d]! >>> lo[s]!;
          hi[d] = 0;
          break;
        case 27: { // mod32: x % 0 = x, still zero-extended
          const v = lo[s]! >>> 0;
          if (v !== 0) lo[d] = (lo[d]! >>> 0) % v | 0;
          hi[d] = 0;
          break;
        }
        case 28: { // smod32
          const v = lo[s]!;
          if (v !== 0) lo[d] = lo[d]! % v | 0;
          hi[d] = 0;
          break;
        }
        case 29: // xor32
          lo[d] = lo[d]! ^ lo[s]!;
          hi[d] = 0;
          break;
        case 30: // mov32
          lo[d] = lo[s]!;
          hi[d] = 0;
          break;
        case 31: // arsh32
          lo[d] = lo[d]! >> lo[s]!;
          hi[d] = 0;
          break;
        case 32: // neg32
          lo[d] = -lo[d]! | 0;
          hi[d] = 0;
          break;
        case 33: // movsx8_32
          lo[d] = (lo[s]! << 24) >> 24;
          hi[d] = 0;
          break;
        case 34: // movsx16_32
          lo[d] = (lo[s]! << 16) >> 16;
          hi[d] = 0;
          break;
        // ---- byte order (little-endian host: le truncates, be swaps) ----
        case 35: // le16
          lo[d] = lo[d]! & 0xffff;
          hi[d] = 0;
          break;
        case 36: // le32
          hi[d] = 0;
          break;
        case 37: // le64
          break;
        case 38: // be16
        case 41: { // bswap16
          const v = lo[d]!;
          lo[d] = ((v & 0xff) << 8) | ((v >>> 8) & 0xff);
          hi[d] = 0;
          break;
        }
        case 39: // be32
        case 42: // bswap32
          lo[d] = bswap32(lo[d]!);
          hi[d] = 0;
          break;
        case 40: // be64
        case 43: { // bswap64
          const v = lo[d]!;
          lo[d] = bswap32(hi[d]!);
          hi[d] = bswap32(v);
          break;
        }
        // ---- JMP (64-bit compares) ----
        case 44: // ja
          pc = code[b + 6]!;
          continue;
        case 45: // jeq
          pc = lo[d] === lo[s] && hi[d] === hi[s] ? code[b + 6]! : pc + 1;
          continue;
        case 46: { // jgt
          const x = hi[d]! >>> 0, y = hi[s]! >>> 0;
          pc = x > y || (x === y && lo[d]! >>> 0 > lo[s]! >>> 0) ? code[b + 6]! : pc + 1;
          continue;
        }
        case 47: { // jge
          const x = hi[d]! >>> 0, y = hi[s]! >>> 0;
          pc = x > y || (x === y && lo[d]! >>> 0 >= lo[s]! >>> 0) ? code[b + 6]! : pc + 1;
          continue;
        }
        case 48: // jset
          pc = (lo[d]! & lo[s]!) !== 0 || (hi[d]! & hi[s]!) !== 0 ? code[b + 6]! : pc + 1;
          continue;
        case 49: // jne
          pc = lo[d] !== lo[s] || hi[d] !== hi[s] ? code[b + 6]! : pc + 1;
          continue;
        case 50: { // jsgt
          const x = hi[d]!, y = hi[s]!;
          pc = x > y || (x === y && lo[d]! >>> 0 > lo[s]! >>> 0) ? code[b + 6]! : pc + 1;
          continue;
        }
        case 51: { // jsge
          const x = hi[d]!, y = hi[s]!;
          pc = x > y || (x === y && lo[d]! >>> 0 >= lo[s]! >>> 0) ? code[b + 6]! : pc + 1;
          continue;
        }
        case 52: { // jlt
          const x = hi[d]! >>> 0, y = hi[s]! >>> 0;
          pc = x < y || (x === y && lo[d]! >>> 0 < lo[s]! >>> 0) ? code[b + 6]! : pc + 1;
          continue;
        }
        case 53: { // jle
          const x = hi[d]! >>> 0, y = hi[s]! >>> 0;
          pc = x < y || (x === y && lo[d]! >>> 0 <= lo[s]! >>> 0) ? code[b + 6]! : pc + 1;
          continue;
        }
        case 54: { // jslt
          const x = hi[d]!, y = hi[s]!;
          pc = x < y || (x === y && lo[d]! >>> 0 < lo[s]! >>> 0) ? code[b + 6]! : pc + 1;
          continue;
        }
        case 55: { // jsle
          const x = hi[d]!, y = hi[s]!;
          pc = x < y || (x === y && lo[d]! >>> 0 <= lo[s]! >>> 0) ? code[b + 6]! : pc + 1;
          continue;
        }
        // ---- JMP32 (compare the low halves) ----
        case 56: // gotol
          pc = code[b + 6]!;
          continue;
        case 57: // jeq32
          pc = lo[d] === lo[s] ? code[b + 6]! : pc + 1;
          continue;
        case 58: // jgt32
          pc = lo[d]! >>> 0 > lo[s]! >>> 0 ? code[b + 6]! : pc + 1;
          continue;
        case 59: // jge32
          pc = lo[d]! >>> 0 >= lo[s]! >>> 0 ? code[b + 6]! : pc + 1;
          continue;
        case 60: // jset32
          pc = (lo[d]! & lo[s]!) !== 0 ? code[b + 6]! : pc + 1;
          continue;
        case 61: // jne32
          pc = lo[d] !== lo[s] ? code[b + 6]! : pc + 1;
          continue;
        case 62: // jsgt32
          pc = lo[d]! > lo[s]! ? code[b + 6]! : pc + 1;
          continue;
        case 63: // jsge32
          pc = lo[d]! >= lo[s]! ? code[b + 6]! : pc + 1;
          continue;
        case 64: // jlt32
          pc = lo[d]! >>> 0 < lo[s]! >>> 0 ? code[b + 6]! : pc + 1;
          continue;
        case 65: // jle32
          pc = lo[d]! >>> 0 <= lo[s]! >>> 0 ? code[b + 6]! : pc + 1;
          continue;
        case 66: // jslt32
          pc = lo[d]! < lo[s]! ? code[b + 6]! : pc + 1;
          continue;
        case 67: // jsle32
          pc = lo[d]! <= lo[s]! ? code[b + 6]! : pc + 1;
          continue;
        // ---- control ----
        case 68: // may_goto: falls through BPF_MAX_LOOPS times per frame, then jumps
          if (mayGoto[depth] === 0) {
            pc = code[b + 6]!;
            continue;
          }
          mayGoto[depth]!--;
          break;
        case 69: { // call helper
          this.pc = pc;
          const k = code[b + 5]!;
          if (program.helperIds[k] === BpfFuncId.tail_call && this.tailCalls) {
            const next = this.tailCalls.resolve(this, toNumber(lo[2]!, hi[2]!), toNumber(lo[3]!, hi[3]!));
            if (next && tailCalls < MAX_TAIL_CALL_CNT) {
              if (this.callbackDepth > 0) throw new ExecutionError(pc, 'tail call inside a callback');
              // From a BPF-to-BPF callee too (the kernel allows it with the JIT since 5.10): the
              // target runs in the callee's frame and its exit returns to the callee's caller.
              tailCalls++;
              // The target may use more of the frame than the entry program: the next run zeroes them all.
              this.dirtyFrames = MAX_CALL_FRAMES;
              const file = this.registerFile(next);
              file.lo.set(lo.subarray(0, FIRST_CONST));
              file.hi.set(hi.subarray(0, FIRST_CONST));
              this.program = program = next;
              this.regs = file;
              code = next.code;
              fns = next.helperFns;
              lo = file.lo;
              hi = file.hi;
              pc = 0;
              continue;
            }
          } else {
            this.depth = depth;
            this.count = count;
            this.tailCallCount = tailCalls;
            const r = fns[k]!(this, toNumber(lo[1]!, hi[1]!), toNumber(lo[2]!, hi[2]!), toNumber(lo[3]!, hi[3]!), toNumber(lo[4]!, hi[4]!), toNumber(lo[5]!, hi[5]!));
            count = this.count; // callbacks ran instructions too
            if (this.regs.lo !== lo) throw new ExecutionError(pc, 'a callback switched programs (tail call inside a callback)');
            splitU64(r, out);
            lo[0] = out[0]!;
            hi[0] = out[1]!;
          }
          // A helper may have grown memory.
          view = space.memory.view;
          break;
        }
        case 70: { // call a BPF-to-BPF function: new frame, r6..r10 saved
          if (depth + 1 >= MAX_CALL_FRAMES) {
            this.pc = pc;
            throw new CallDepthExceeded(pc, MAX_CALL_FRAMES);
          }
          const f = depth * FRAME_WORDS;
          frames[f] = pc + 1;
          callers[depth] = program;
          for (let r = 6, k = f + 1; r <= 10; r++, k += 2) {
            frames[k] = lo[r]!;
            frames[k + 1] = hi[r]!;
          }
          depth++;
          if (depth >= this.dirtyFrames) this.dirtyFrames = depth + 1;
          lo[10] = stackLo[depth]!;
          hi[10] = stackHi[depth]!;
          mayGoto[depth] = BPF_MAX_LOOPS;
          pc = code[b + 6]!;
          continue;
        }
        case 71: // exit
          if (depth === base) break run;
          depth--;
          pc = this.popFrame(depth, program, lo, hi);
          if (this.program !== program) {
            program = this.program;
            code = program.code;
            fns = program.helperFns;
            lo = this.regs.lo;
            hi = this.regs.hi;
          }
          continue;
        case 72: // lddw
          lo[d] = code[b + 4]!;
          hi[d] = code[b + 5]!;
          pc += 2;
          continue;
        case 73: // ldabs
        case 74: { // ldind: r0 = ntoh(*(size *)(skb data + offset)); out of bounds: r0 = 0, exit
          const size = code[b + 5]!;
          const k = code[b] === 73 ? code[b + 4]! : (lo[s]! + code[b + 4]!) | 0;
          const p = this.skbOffset(k, size);
          if (p < 0) {
            lo[0] = hi[0] = 0;
            if (depth === base) break run;
            depth--;
            pc = this.popFrame(depth, program, lo, hi);
            if (this.program !== program) {
              program = this.program;
              code = program.code;
              fns = program.helperFns;
              lo = this.regs.lo;
              hi = this.regs.hi;
            }
            continue;
          }
          lo[0] = size === 1 ? view.getUint8(p) : size === 2 ? view.getUint16(p, false) : view.getInt32(p, false);
          hi[0] = 0;
          break;
        }
        // ---- loads ----
        case 75: { // ldx_b
          const p = this.at(lo, hi, s, code[b + 3]!, 1, false, pc);
          if (this.hooked(p, 1, d, lo, hi)) break;
          lo[d] = view.getUint8(p);
          hi[d] = 0;
          break;
        }
        case 76: { // ldx_h
          const p = this.at(lo, hi, s, code[b + 3]!, 2, false, pc);
          if (this.hooked(p, 2, d, lo, hi)) break;
          lo[d] = view.getUint16(p, true);
          hi[d] = 0;
          break;
        }
        case 77: { // ldx_w
          const p = this.at(lo, hi, s, code[b + 3]!, 4, false, pc);
          if (this.hooked(p, 4, d, lo, hi)) break;
          lo[d] = view.getInt32(p, true);
          hi[d] = 0;
          break;
        }
        case 78: { // ldx_dw
          const p = this.at(lo, hi, s, code[b + 3]!, 8, false, pc);
          if (this.hooked(p, 8, d, lo, hi)) break;
          lo[d] = view.getInt32(p, true);
          hi[d] = view.getInt32(p + 4, true);
          break;
        }
        case 79: { // ldxs_b
          const p = this.at(lo, hi, s, code[b + 3]!, 1, false, pc);
          if (this.hooked(p, 1, d, lo, hi)) {
            lo[d] = (lo[d]! << 24) >> 24; // a context field's value, sign-extended like the load
            hi[d] = lo[d]! >> 31;
            break;
          }
          const v = view.getInt8(p);
          lo[d] = v;
          hi[d] = v >> 31;
          break;
        }
        case 80: { // ldxs_h
          const p = this.at(lo, hi, s, code[b + 3]!, 2, false, pc);
          if (this.hooked(p, 2, d, lo, hi)) {
            lo[d] = (lo[d]! << 16) >> 16; // a context field's value, sign-extended like the load
            hi[d] = lo[d]! >> 31;
            break;
          }
          const v = view.getInt16(p, true);
          lo[d] = v;
          hi[d] = v >> 31;
          break;
        }
        case 81: { // ldxs_w
          const p = this.at(lo, hi, s, code[b + 3]!, 4, false, pc);
          if (this.hooked(p, 4, d, lo, hi)) {
            hi[d] = lo[d]! >> 31; // a context field's value, sign-extended like the load
            break;
          }
          const v = view.getInt32(p, true);
          lo[d] = v;
          hi[d] = v >> 31;
          break;
        }
        // ---- stores ----
        case 82: // st_b
          view.setUint8(this.at(lo, hi, d, code[b + 3]!, 1, true, pc), code[b + 4]! & 0xff);
          break;
        case 83: // st_h
          view.setUint16(this.at(lo, hi, d, code[b + 3]!, 2, true, pc), code[b + 4]! & 0xffff, true);
          break;
        case 84: // st_w
          view.setInt32(this.at(lo, hi, d, code[b + 3]!, 4, true, pc), code[b + 4]!, true);
          break;
        case 85: { // st_dw: the immediate sign-extends
          const p = this.at(lo, hi, d, code[b + 3]!, 8, true, pc);
          const v = code[b + 4]!;
          view.setInt32(p, v, true);
          view.setInt32(p + 4, v >> 31, true);
          break;
        }
        case 86: // stx_b
          view.setUint8(this.at(lo, hi, d, code[b + 3]!, 1, true, pc), lo[s]! & 0xff);
          break;
        case 87: // stx_h
          view.setUint16(this.at(lo, hi, d, code[b + 3]!, 2, true, pc), lo[s]! & 0xffff, true);
          break;
        case 88: // stx_w
          view.setInt32(this.at(lo, hi, d, code[b + 3]!, 4, true, pc), lo[s]!, true);
          break;
        case 89: { // stx_dw
          const p = this.at(lo, hi, d, code[b + 3]!, 8, true, pc);
          view.setInt32(p, lo[s]!, true);
          view.setInt32(p + 4, hi[s]!, true);
          break;
        }
        // ---- atomics ----
        case 90: { // atomic_w: fetched values zero-extend
          const p = this.at(lo, hi, d, code[b + 3]!, 4, true, pc);
          const old = view.getInt32(p, true);
          const op = code[b + 5]!;
          switch (op & 0xf0) {
            case 0x00: view.setInt32(p, (old + lo[s]!) | 0, true); break;
            case 0x40: view.setInt32(p, old | lo[s]!, true); break;
            case 0x50: view.setInt32(p, old & lo[s]!, true); break;
            case 0xa0: view.setInt32(p, old ^ lo[s]!, true); break;
            case 0xe0: view.setInt32(p, lo[s]!, true); break;
            case 0xf0: // cmpxchg: r0 = old; store when old == w0
              if (old === lo[0]) view.setInt32(p, lo[s]!, true);
              lo[0] = old;
              hi[0] = 0;
              break;
          }
          if ((op & 1) !== 0 && op !== 0xf1) {
            lo[s] = old;
            hi[s] = 0;
          }
          break;
        }
        case 91: { // atomic_dw
          const p = this.at(lo, hi, d, code[b + 3]!, 8, true, pc);
          const oldLo = view.getInt32(p, true);
          const oldHi = view.getInt32(p + 4, true);
          const op = code[b + 5]!;
          const vLo = lo[s]!, vHi = hi[s]!;
          switch (op & 0xf0) {
            case 0x00: {
              const a = (oldLo >>> 0) + (vLo >>> 0);
              view.setInt32(p, a | 0, true);
              view.setInt32(p + 4, (oldHi + vHi + (a > 0xffffffff ? 1 : 0)) | 0, true);
              break;
            }
            case 0x40: view.setInt32(p, oldLo | vLo, true); view.setInt32(p + 4, oldHi | vHi, true); break;
            case 0x50: view.setInt32(p, oldLo & vLo, true); view.setInt32(p + 4, oldHi & vHi, true); break;
            case 0xa0: view.setInt32(p, oldLo ^ vLo, true); view.setInt32(p + 4, oldHi ^ vHi, true); break;
            case 0xe0: view.setInt32(p, vLo, true); view.setInt32(p + 4, vHi, true); break;
            case 0xf0:
              if (oldLo === lo[0] && oldHi === hi[0]) {
                view.setInt32(p, vLo, true);
                view.setInt32(p + 4, vHi, true);
              }
              lo[0] = oldLo;
              hi[0] = oldHi;
              break;
          }
          if ((op & 1) !== 0 && op !== 0xf1) {
            lo[s] = oldLo;
            hi[s] = oldHi;
          }
          break;
        }
        case 92: { // load_acquire: dst = *(size *)(src + off), zero-extended
          const size = code[b + 5]!;
          const p = this.at(lo, hi, s, code[b + 3]!, size, false, pc);
          if (this.hooked(p, size, d, lo, hi)) break;
          lo[d] = size === 1 ? view.getUint8(p) : size === 2 ? view.getUint16(p, true) : view.getInt32(p, true);
          hi[d] = size === 8 ? view.getInt32(p + 4, true) : 0;
          break;
        }
        case 93: { // store_release: *(size *)(dst + off) = src
          const size = code[b + 5]!;
          const p = this.at(lo, hi, d, code[b + 3]!, size, true, pc);
          if (size === 1) view.setUint8(p, lo[s]! & 0xff);
          else if (size === 2) view.setUint16(p, lo[s]! & 0xffff, true);
          else {
            view.setInt32(p, lo[s]!, true);
            if (size === 8) view.setInt32(p + 4, hi[s]!, true);
          }
          break;
        }
        default:
          this.pc = pc;
          this.executed = this.count = count;
          throw new ExecutionError(pc, pc >= program.slots ? 'execution fell off the end of the program' : 'jumped into the second slot of an lddw');
      }
      pc++;
    }
    this.pc = pc;
    this.count = count;
    this.tailCallCount = tailCalls;
  }

  /**
   * Translates reg + off to a memory offset for an access of `size` bytes, or throws MemoryFault
   * naming `pc`; the region is left in `hit`. (A method, not a closure made per run: closures
   * over exec's locals would allocate per run and move those locals into a heap context.)
   */
  private at(lo: Int32Array, hi: Int32Array, reg: number, off: number, size: number, write: boolean, pc: number): number {
    let a = (lo[reg]! >>> 0) + off;
    let h = hi[reg]!;
    if (a < 0) {
      a += TWO32;
      h = (h - 1) | 0;
    } else if (a >= TWO32) {
      a -= TWO32;
      h = (h + 1) | 0;
    }
    const space = this.space;
    const id = h - TAG_BASE;
    if (id >= 0 && id < space.regions.length && a >= space.starts[id]! && a + size <= space.ends[id]! && (!write || (space.flags[id]! & REGION_WRITABLE) !== 0)) {
      this.hit = id;
      return a;
    }
    this.pc = pc;
    throw space.fault(pc, h, a, size, write ? 'write' : 'read');
  }

  /** Serves a load at `p` from the region `at` found when it is hooked (context rewriting) into register d; true when the hook handled it. */
  private hooked(p: number, size: number, d: number, lo: Int32Array, hi: Int32Array): boolean {
    const space = this.space;
    const id = this.hit;
    if ((space.flags[id]! & REGION_HOOKED) === 0) return false;
    const out = this.scratch;
    if (!space.hooks[id]!(p - space.starts[id]!, size, out)) return false;
    lo[d] = out[0]!;
    hi[d] = out[1]!;
    return true;
  }

  /**
   * Returns to the caller of frame `depth + 1`: restores r6..r10 and gives the return slot. When
   * a tail call inside the callee replaced its program (`program`), switches back to the caller's
   * program and register file (this.program, this.regs), as the JIT does: the tail-called
   * program's exit returns to the subprogram's caller.
   */
  private popFrame(depth: number, program: PreparedProgram, lo: Int32Array, hi: Int32Array): number {
    const caller = this.callers[depth]!;
    if (caller !== program) {
      const file = this.registerFile(caller);
      file.lo.set(lo.subarray(0, FIRST_CONST));
      file.hi.set(hi.subarray(0, FIRST_CONST));
      this.program = caller;
      this.regs = file;
      lo = file.lo;
      hi = file.hi;
    }
    const frames = this.frames;
    const f = depth * FRAME_WORDS;
    for (let r = 6, k = f + 1; r <= 10; r++, k += 2) {
      lo[r] = frames[k]!;
      hi[r] = frames[k + 1]!;
    }
    return frames[f]!;
  }

  /** Memory offset of an LD_ABS/LD_IND access of `size` bytes at skb offset `k`, or -1 (the kernel's load helpers). */
  private skbOffset(k: number, size: number): number {
    const skb = this.skb;
    if (!skb) return -1;
    const r = skb.region;
    const data = r.start + (skb.data ?? 0);
    let p: number;
    let low = data;
    if (k >= 0) p = data + k;
    else {
      // Negative offsets reach the headers through the classic SKF_* bases, anywhere from the block's start.
      low = r.base;
      if (k >= SKF_NET_OFF) p = r.start + (skb.network ?? skb.data ?? 0) + (k - SKF_NET_OFF);
      else if (k >= SKF_LL_OFF) p = r.start + (skb.mac ?? (skb.data ?? 0) - 14) + (k - SKF_LL_OFF);
      else return -1;
    }
    return p >= low && p + size <= r.end ? p : -1;
  }
}
