// JitEngine: runs a PreparedProgram compiled to WebAssembly in the address space's own memory (an Engine).

import { type AddressSpace, REGION_HOOKED, type Region, TAG_BASE } from '../vm/address-space.js';
import type { Engine } from '../vm/engine.js';
import { BpfFuncId } from '../isa/uapi.generated.js';
import { BudgetExceeded, CallDepthExceeded, ExecutionError } from '../vm/errors.js';
import type { TailCallHook } from '../vm/helpers.js';
import { splitU64, toBigUint64, toNumber } from '../vm/int64.js';
import { BPF_MAX_LOOPS, DEFAULT_BUDGET, MAX_CALL_FRAMES, MAX_TAIL_CALL_CNT, SKF_LL_OFF, SKF_NET_OFF, STACK_SIZE, type SkbData } from '../vm/interpreter.js';
import type { PreparedProgram } from '../vm/program.js';
import { type CompiledProgram, type CompileOptions, compileProgram, type WasmModule } from './compile.js';
import {
  IMPORT_MODULE, type JitImports, S_CPU, S_DIRTY, S_FLAG, S_HI, S_LEFT, S_R10, S_STACK0, SCRATCH_SIZE, TRAP_BUDGET, TRAP_CALL_DEPTH,
} from './layout.js';

const TWO32 = 4294967296;
/** The largest budget compiled code counts (an i32); larger budgets are clamped to it. */
export const MAX_JIT_BUDGET = 0x7fffffff;

interface WasmInstanceApi {
  Instance: new (
    module: WasmModule,
    imports: Record<string, Record<string, unknown>>,
  ) => { exports: { enter: (depth: number, mayGoto: number) => void; run: (r1lo: number, r1hi: number, budget: number) => void; repeat: RepeatFn } };
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmInstanceApi }).WebAssembly;

type RepeatFn = (r1lo: number, r1hi: number, budget: number, n: number) => void;

const compiled = new WeakMap<PreparedProgram, CompiledProgram>();

interface ProgramRecord {
  program: PreparedProgram;
  /** `enter(depth, mayGoto)` of each callback entry, by slot. */
  readonly callbacks: Map<number, (depth: number, mayGoto: number) => void>;
}

/** Compiles `program` once (cached per PreparedProgram); throws NotSupportedError naming the pc of what it cannot compile. */
export function compileCached(program: PreparedProgram): CompiledProgram {
  let c = compiled.get(program);
  if (!c) {
    c = compileProgram(program);
    compiled.set(program, c);
  }
  return c;
}

/** Options of a JitEngine. */
export interface JitEngineOptions {
  /** Serves `bpf_tail_call`; without it a tail call calls the helper table's function (which throws by default). */
  tailCalls?: TailCallHook;
  /** Compiles the entry program with these options instead of using the shared cache (measurements). */
  compile?: CompileOptions;
}

/**
 * Runs a prepared program compiled to WebAssembly, in the same WebAssembly.Memory as its address
 * space: same semantics, faults, budget and `executed` count as the Interpreter (the reference),
 * a drop-in Engine. Owns MAX_CALL_FRAMES stack regions and a small scratch block. The module is
 * compiled once per PreparedProgram; tail-call targets are compiled on their first use. The
 * constructor throws NotSupportedError when the program has an instruction the JIT cannot
 * compile (callers fall back to the Interpreter).
 */
export class JitEngine implements Engine {
  /** The address space the program runs in. */
  readonly space: AddressSpace;
  /** One stack region per call frame. */
  readonly stacks: readonly Region[];
  /** Slot index of the current instruction (inside helpers and after a fault). */
  pc = 0;
  /** Low word of r0 after the last run. */
  retLo = 0;
  /** High word of r0 after the last run. */
  retHi = 0;
  /** Instructions executed by the last run. */
  executed = 0;
  /** Where LD_ABS/LD_IND read from; unset means they fail (r0 = 0, exit). */
  skb: SkbData | undefined;
  /** The compiled entry program. */
  readonly compiled: CompiledProgram;
  /**
   * Set while a batch driver runs (batch-driver.ts), which moves the packet's window in the
   * in-memory region table only: called before a load, store fault, helper or tail call reaches
   * JavaScript, it brings the JavaScript side (region tables, context) up to date.
   */
  beforeHost: (() => void) | undefined;
  /** Whether the entry program calls bpf_tail_call (its count restarts per run). */
  private readonly hasTailCalls: boolean;

  private readonly scratch: number;
  private readonly s: number; // scratch base in int32 words
  private words: Int32Array;
  private bytes: Uint8Array;
  private readonly tailCalls: TailCallHook | undefined;
  private readonly instances = new Map<PreparedProgram, (depth: number, mayGoto: number) => void>();
  private readonly enterEntry: (depth: number, mayGoto: number) => void;
  private readonly runEntry: (r1lo: number, r1hi: number, budget: number) => void;
  private runExport: ((r1lo: number, r1hi: number, budget: number) => void) | undefined;
  private repeatExport: RepeatFn | undefined;
  private readonly repeatEntry: RepeatFn;
  private readonly out = new Int32Array(2);
  private budget = DEFAULT_BUDGET;
  /** Call depth of the helper running now (callbacks go one deeper). */
  private depth = 0;
  /** The program whose helper is running now (a callback target is one of its ld.func slots). */
  private current: ProgramRecord | undefined;
  /** r6..r10 of each depth's frame, saved around a callback. */
  private readonly saved = new Int32Array(MAX_CALL_FRAMES * 10);
  private limit = DEFAULT_BUDGET;
  private tailCount = 0;

  constructor(program: PreparedProgram, space: AddressSpace, options: JitEngineOptions = {}) {
    this.compiled = options.compile ? compileProgram(program, options.compile) : compileCached(program);
    this.space = space;
    this.tailCalls = options.tailCalls;
    this.hasTailCalls = program.helperIds.includes(BpfFuncId.tail_call);
    space.enableRegionTable();
    const stacks: Region[] = [];
    for (let i = 0; i < MAX_CALL_FRAMES; i++) stacks.push(space.addRegion(`stack[${i}]`, STACK_SIZE, { kind: 'stack' }));
    this.stacks = stacks;
    this.scratch = space.memory.alloc(SCRATCH_SIZE, 16);
    this.s = this.scratch >> 2;
    this.bytes = space.memory.bytes;
    this.words = new Int32Array(this.bytes.buffer);
    const w = this.words;
    for (let i = 0; i < MAX_CALL_FRAMES; i++) {
      w[((this.scratch + S_R10) >> 2) + 2 * i] = stacks[i]!.end;
      w[((this.scratch + S_R10) >> 2) + 2 * i + 1] = TAG_BASE + stacks[i]!.id;
    }
    w[(this.scratch + S_DIRTY) >> 2] = MAX_CALL_FRAMES;
    for (let i = 1; i < MAX_CALL_FRAMES; i++) {
      if (stacks[i]!.base !== stacks[0]!.base + i * STACK_SIZE) throw new RangeError('JIT: stack frames are not contiguous');
    }
    w[(this.scratch + S_STACK0) >> 2] = stacks[0]!.base;
    this.enterEntry = this.instance(program, this.compiled);
    this.runEntry = this.runExport!;
    this.repeatEntry = this.repeatExport!;
  }

  /** The simulated CPU runs are on: the per-CPU slot an inlined array lookup returns (default 0). */
  get cpu(): number {
    return this.view()[(this.scratch + S_CPU) >> 2]!;
  }
  set cpu(cpu: number) {
    this.view()[(this.scratch + S_CPU) >> 2] = cpu;
  }

  /** The memory as int32 words (re-created when the memory has grown). */
  private view(): Int32Array {
    const b = this.space.memory.bytes;
    if (b !== this.bytes) {
      this.bytes = b;
      this.words = new Int32Array(b.buffer);
    }
    return this.words;
  }

  private instance(program: PreparedProgram, c: CompiledProgram): (depth: number, mayGoto: number) => void {
    const fns = program.helperFns;
    const space = this.space;
    const record: ProgramRecord = { program, callbacks: new Map() };
    const hiAt = (this.scratch + S_HI) >> 2;
    const s = this.s;
    const callHelper = (k: number): void => {
      let m = this.view();
      const r = fns[k]!(this, toNumber(m[s + 2]!, m[s + 3]!), toNumber(m[s + 4]!, m[s + 5]!), toNumber(m[s + 6]!, m[s + 7]!), toNumber(m[s + 8]!, m[s + 9]!), toNumber(m[s + 10]!, m[s + 11]!));
      splitU64(r, this.out);
      m = this.view();
      m[s] = this.out[0]!;
      m[s + 1] = this.out[1]!;
    };
    const imports: JitImports = {
      load: (pc, hi, lo, size, signed) => {
        this.beforeHost?.();
        return this.slowLoad(pc, hi, lo, size, signed);
      },
      storeFault: (pc, hi, lo, size) => {
        this.beforeHost?.();
        this.pc = pc;
        throw space.fault(pc, hi, lo >>> 0, size, 'write');
      },
      helper: (pc, k, depth) => {
        this.beforeHost?.();
        this.pc = pc;
        this.depth = depth;
        this.current = record;
        const m0 = this.view();
        const r = fns[k]!(this, toNumber(m0[s + 2]!, m0[s + 3]!), toNumber(m0[s + 4]!, m0[s + 5]!), toNumber(m0[s + 6]!, m0[s + 7]!), toNumber(m0[s + 8]!, m0[s + 9]!), toNumber(m0[s + 10]!, m0[s + 11]!));
        splitU64(r, this.out);
        this.view()[hiAt] = this.out[1]!;
        return this.out[0]!;
      },
      tail: (pc, k, depth, mayGoto) => {
        this.beforeHost?.();
        this.pc = pc;
        if (!this.tailCalls) {
          callHelper(k);
          return 0;
        }
        const m = this.view();
        const next = this.tailCalls.resolve(this, toNumber(m[s + 4]!, m[s + 5]!), toNumber(m[s + 6]!, m[s + 7]!));
        if (!next || this.tailCount >= MAX_TAIL_CALL_CNT) return 0;
        this.tailCount++;
        // The target may use more of the frame than the entry program: the next run zeroes them all.
        this.view()[(this.scratch + S_DIRTY) >> 2] = MAX_CALL_FRAMES;
        let enter = this.instances.get(next);
        if (!enter) enter = this.instance(next, compileCached(next));
        enter(depth, mayGoto);
        return 1;
      },
      trap: (kind, pc) => {
        this.pc = pc;
        if (kind === TRAP_BUDGET) {
          this.executed = this.limit;
          throw new BudgetExceeded(pc, this.budget);
        }
        if (kind === TRAP_CALL_DEPTH) throw new CallDepthExceeded(pc, MAX_CALL_FRAMES);
        this.executed = this.limit - this.view()[(this.scratch + S_LEFT) >> 2]!;
        throw new ExecutionError(pc, 'execution fell off the end of the program');
      },
      ldabs: (pc, k, size) => {
        this.pc = pc;
        const p = this.skbOffset(k, size);
        const m = this.view();
        m[(this.scratch + S_FLAG) >> 2] = p >= 0 ? 1 : 0;
        if (p < 0) return 0;
        const v = space.memory.view;
        return size === 1 ? v.getUint8(p) : size === 2 ? v.getUint16(p, false) : v.getInt32(p, false);
      },
    };
    const inst = new Wasm.Instance(c.module, { [IMPORT_MODULE]: { memory: space.memory.memory, scratch: this.scratch, ...imports } });
    const exports = inst.exports as unknown as Record<string, (depth: number, mayGoto: number) => void>;
    record.program = program;
    for (const slot of c.callbacks) record.callbacks.set(slot, exports[`callback${slot}`]!);
    const enter = inst.exports.enter;
    this.runExport = inst.exports.run;
    this.repeatExport = inst.exports.repeat;
    this.instances.set(program, enter);
    return enter;
  }

  /** A load the inline check rejected: a hooked region (context rewriting) or a fault. */
  private slowLoad(pc: number, hi: number, lo: number, size: number, signed: number): number {
    this.pc = pc;
    const space = this.space;
    const a = lo >>> 0;
    const id = hi - TAG_BASE;
    if (id < 0 || id >= space.regions.length || a < space.starts[id]! || a + size > space.ends[id]!) throw space.fault(pc, hi, a, size, 'read');
    const out = this.out;
    let vLo: number;
    let vHi: number;
    if ((space.flags[id]! & REGION_HOOKED) !== 0 && space.hooks[id]!(a - space.starts[id]!, size, out)) {
      vLo = out[0]!;
      vHi = out[1]!;
      if (signed) {
        if (size === 1) vLo = (vLo << 24) >> 24;
        else if (size === 2) vLo = (vLo << 16) >> 16;
        vHi = vLo >> 31;
      }
    } else {
      const v = space.memory.view;
      if (size === 8) {
        vLo = v.getInt32(a, true);
        vHi = v.getInt32(a + 4, true);
      } else {
        vLo = size === 1 ? (signed ? v.getInt8(a) : v.getUint8(a)) : size === 2 ? (signed ? v.getInt16(a, true) : v.getUint16(a, true)) : v.getInt32(a, true);
        vHi = signed ? vLo >> 31 : 0;
      }
    }
    this.view()[(this.scratch + S_HI) >> 2] = vHi;
    return vLo;
  }

  /** Memory offset of an LD_ABS/LD_IND access of `size` bytes at skb offset `k`, or -1 (as the Interpreter). */
  private skbOffset(k: number, size: number): number {
    const skb = this.skb;
    if (!skb) return -1;
    const r = skb.region;
    const data = r.start + (skb.data ?? 0);
    let p: number;
    let low = data;
    if (k >= 0) p = data + k;
    else {
      low = r.base;
      if (k >= SKF_NET_OFF) p = r.start + (skb.network ?? skb.data ?? 0) + (k - SKF_NET_OFF);
      else if (k >= SKF_LL_OFF) p = r.start + (skb.mac ?? (skb.data ?? 0) - 14) + (k - SKF_LL_OFF);
      else return -1;
    }
    return p >= low && p + size <= r.end ? p : -1;
  }

  /**
   * Runs the BPF function at slot `target` of the running program as a callback (bpf_loop,
   * for_each_map_elem): a new call frame with r1..r5 = a1..a5, sharing the run's budget; returns
   * its r0 (unsigned, exact below 2^53). r6..r10 are restored afterwards, as in the interpreter.
   */
  callFunction(target: number, a1: number, a2: number, a3: number, a4: number, a5: number): number {
    const depth = this.depth;
    const pc = this.pc;
    if (depth + 1 >= MAX_CALL_FRAMES) throw new CallDepthExceeded(pc, MAX_CALL_FRAMES);
    const rec = this.current;
    if (!rec || !Number.isInteger(target) || target < 0 || target >= rec.program.slots) throw new ExecutionError(pc, `callback target ${target} is outside the program`);
    const enter = rec.callbacks.get(target);
    if (!enter) throw new ExecutionError(pc, `callback target ${target} is not a function an ld.func loads`);
    let m = this.view();
    const s = this.s;
    const save = depth * 10;
    for (let i = 0; i < 10; i++) this.saved[save + i] = m[s + 12 + i]!;
    const args = [a1, a2, a3, a4, a5];
    for (let r = 1; r <= 5; r++) {
      const v = args[r - 1]!;
      m[s + 2 * r] = v | 0;
      m[s + 2 * r + 1] = Math.floor(v / TWO32) | 0;
    }
    const r10 = (this.scratch + S_R10) >> 2;
    m[s + 20] = m[r10 + 2 * (depth + 1)]!;
    m[s + 21] = m[r10 + 2 * (depth + 1) + 1]!;
    const dirtyAt = (this.scratch + S_DIRTY) >> 2;
    if (m[dirtyAt]! < depth + 2) m[dirtyAt] = depth + 2;
    enter(depth + 1, BPF_MAX_LOOPS);
    m = this.view();
    const ret = toNumber(m[s]!, m[s + 1]!);
    for (let i = 0; i < 10; i++) m[s + 12 + i] = this.saved[save + i]!;
    this.depth = depth;
    this.pc = pc;
    this.current = rec;
    return ret;
  }

  /**
   * What a driver looping in WebAssembly over many runs needs (src/jit/batch-driver.ts): the
   * entry program's `run(r1lo, r1hi, budget)` export, the scratch area's memory offset (r0 after
   * a run; the CPU cell) and the memory. Runs made that way leave `retLo`, `retHi` and `executed`
   * as they were; a run that traps throws out of the driver as out of `run`. Call it before each
   * batch with the budget every run of the batch gets: it returns the limit to pass to `run`.
   */
  batchEntry(budget: number): { readonly run: (r1lo: number, r1hi: number, budget: number) => void; readonly scratch: number; readonly memory: object; readonly limit: number } {
    const limit = budget > MAX_JIT_BUDGET ? MAX_JIT_BUDGET : budget;
    this.budget = budget;
    this.limit = limit;
    this.tailCount = 0;
    return { run: this.runEntry, scratch: this.scratch, memory: this.space.memory.memory, limit };
  }

  /** Low 32 bits of register i (r1..r5 inside a helper; r0 after a run). */
  regLo(i: number): number {
    return this.view()[this.s + 2 * i]!;
  }
  /** High 32 bits of register i. */
  regHi(i: number): number {
    return this.view()[this.s + 2 * i + 1]!;
  }
  /** Register i as an unsigned BigInt. */
  reg(i: number): bigint {
    return toBigUint64(this.regLo(i), this.regHi(i));
  }
  /** r0 of the last run as an unsigned BigInt. */
  get r0(): bigint {
    return toBigUint64(this.retLo, this.retHi);
  }

  /**
   * Runs from slot 0 with r1 = `r1` and the other registers zero, until the outermost exit;
   * returns the instructions executed. Budgets above MAX_JIT_BUDGET are clamped to it.
   */
  run(r1: number, budget = DEFAULT_BUDGET): number {
    const limit = budget > MAX_JIT_BUDGET ? MAX_JIT_BUDGET : budget;
    this.budget = budget;
    this.limit = limit;
    this.tailCount = 0;
    this.runEntry(r1 | 0, Math.floor(r1 / TWO32) | 0, limit);
    const m = this.view();
    const s = this.s;
    this.retLo = m[s]!;
    this.retHi = m[s + 1]!;
    this.executed = limit - m[s + (S_LEFT >> 2)]!;
    return this.executed;
  }

  /**
   * `n` runs as `run(r1, budget)` does, one after the other on the same context, in one call into
   * WebAssembly (BPF_PROG_TEST_RUN's repeat loop); r0 and `executed` are the last run's. A run
   * that throws stops the rest.
   */
  runRepeat(r1: number, budget: number, n: number): number {
    const limit = budget > MAX_JIT_BUDGET ? MAX_JIT_BUDGET : budget;
    this.budget = budget;
    this.limit = limit;
    this.tailCount = 0;
    if (n > 1 && this.hasTailCalls) {
      // Each run starts its own tail-call count: one JS -> Wasm call per run.
      for (let i = 0; i < n; i++) this.run(r1, budget);
      return this.executed;
    }
    this.repeatEntry(r1 | 0, Math.floor(r1 / TWO32) | 0, limit, n);
    const m = this.view();
    const s = this.s;
    this.retLo = m[s]!;
    this.retHi = m[s + 1]!;
    this.executed = limit - m[s + (S_LEFT >> 2)]!;
    return this.executed;
  }
}
