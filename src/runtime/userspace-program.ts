// One program of a userspace object: prepared once, run on packets (Program.run) or as BPF_PROG_TEST_RUN.

import type { Btf } from '../btf/index.js';
import type { ProgramSpec } from '../elf/object-spec.js';
import { DEFAULT_BUDGET } from '../vm/interpreter.js';
import type { Engine } from '../vm/engine.js';
import { createEngine, type EngineKind } from '../jit/create-engine.js';
import { JitEngine } from '../jit/jit-engine.js';
import { BpfFuncId } from '../isa/uapi.generated.js';
import type { PreparedProgram, UnmodelledCall } from '../vm/program.js';
import type { TailCallHook } from '../vm/helpers.js';
import type { AddressSpace } from '../vm/address-space.js';
import type { RedirectTarget } from '../ctx/helpers/env.js';
import { InstantiateError, TestRunRefusedError } from './errors.js';
import { BpfAttachType, BpfProgType } from '../isa/uapi.generated.js';
import { createRunContext, type PacketOrigin, type RunContext } from './run-context.js';
import { batchable } from '../jit/batch-driver.js';
import { XdpContext } from '../ctx/xdp-buff.js';
import { PacketBatch } from './packet-batch.js';

/** Where a packet is run: the simulated CPU (per-CPU map slot, bpf_get_smp_processor_id) and its origin. */
export interface ProgramRunOptions {
  /** Simulated CPU, 0..cpus-1 (default 0). */
  cpu?: number;
  /** Interface index the packet arrived on (XDP `ingress_ifindex`; default 1, the loopback's). */
  ifindex?: number;
  /** Receive queue (XDP `rx_queue_index`; default 0). */
  rxQueue?: number;
}

/** Input of {@link UserspaceProgram.testRun}, as BPF_PROG_TEST_RUN's attributes. */
export interface TestRunInput {
  /** data_in: the packet. */
  data: Uint8Array;
  /** ctx_in, validated as the kernel does; default none. */
  ctxIn?: Uint8Array;
  /** Runs (default 1); each run continues on the previous run's packet and context, as the kernel's loop does. */
  repeat?: number;
  /** CPU to run on (BPF_F_TEST_RUN_ON_CPU); default 0. */
  cpu?: number;
}

/** Output of {@link UserspaceProgram.testRun}, as BPF_PROG_TEST_RUN reports it. */
export interface TestRunOutput {
  /** r0's low 32 bits after the last run. */
  readonly retval: number;
  /** The packet after the last run (after head/tail/meta adjustments). */
  readonly dataOut: Uint8Array;
  /** The context after the last run, in the kernel's layout. */
  readonly ctxOut: Uint8Array;
  /**
   * Wall time per run in the steady state, in nanoseconds: the runs are timed in up to 16 equal
   * chunks and this is the median chunk's mean, so the engine's warm-up (V8 compiling the code
   * on first use) is left out, as the kernel's average has none.
   */
  readonly durationNs: number;
  /** Instructions executed by the last run. */
  readonly instructions: number;
}

/** What a program needs from the object that owns it. */
export interface ProgramHost {
  /** The object's address space. */
  readonly space: AddressSpace;
  /** The object's BTF (the layout of kernel structs contexts hand out by pointer). */
  readonly objectBtf?: Btf;
  /** Number of simulated CPUs. */
  readonly cpus: number;
  /** Serves tail calls from the object's prog arrays. */
  readonly tailCalls: TailCallHook;
  /** Called before each run: the helpers read the current CPU and program from here. */
  enter(program: UserspaceProgram, cpu: number): void;
  /** Instruction budget per run. */
  readonly budget: number;
  /** True once the object is disposed: runs then throw. */
  readonly disposed: boolean;
  /** The execution backend asked for (the JIT falls back to the interpreter per program when it cannot compile one). */
  readonly engine: EngineKind;
  /** Where the last run asked to redirect its packet (bpf_redirect / bpf_redirect_map), if anywhere. */
  redirect?(): RedirectTarget | undefined;
  /** Called once at the start of each testRun of `program` (BPF_PROG_TEST_RUN gives each a fresh cgroup storage and socket). */
  beginTestRun?(program: UserspaceProgram): void;
}

type Clock = () => number;
const perf = (globalThis as unknown as { performance?: { now(): number } }).performance;
const nowMs: Clock = perf ? () => perf.now() : () => Date.now();

/** Helpers whose per-run state (the redirect target, cleared before each run) keeps the repeat loop in JavaScript. */
const REDIRECTS: readonly number[] = [BpfFuncId.redirect, BpfFuncId.redirect_map, BpfFuncId.redirect_peer, BpfFuncId.redirect_neigh];
/** Chunks a test run's repeat is timed in (durationNs is the median chunk's mean). */
const TIMING_CHUNKS = 16;

/** The interpreter's private entry state, reset between runs (see exec). */
const DEFAULT_ORIGIN: PacketOrigin = { ifindex: 1, rxQueue: 0 };

/**
 * A program instantiated in a userspace object. It has its own engine (call-frame stacks)
 * and context regions in the object's address space; maps are shared with every program of the
 * object. Runs allocate nothing but what the interpreter and context need.
 */
export class UserspaceProgram {
  /** The engine running it (r0, instruction count and pc of the last run): the JIT or the interpreter. */
  readonly engine: Engine;
  /** Which backend `engine` is. */
  readonly engineKind: EngineKind;
  /** Why the JIT was asked for but the interpreter runs this program (what the JIT cannot compile), if so. */
  readonly engineFallback: string | undefined;
  /** The context of its program type. */
  readonly context: RunContext;
  private readonly origin = { ifindex: 1, rxQueue: 0 };
  /** The engine when it is the JIT (per-CPU slots of inlined lookups; the repeat loop in Wasm). */
  private readonly jit: JitEngine | undefined;
  /** Whether testRun's repeat loop may run inside WebAssembly (no per-run state outside it). */
  private readonly wasmRepeat: boolean;

  constructor(
    /** The blueprint. */
    readonly spec: ProgramSpec,
    /**
     * Its number in the object: what a prog array stores to name it (the userspace stand-in for
     * a program fd). Starts at 1.
     */
    readonly id: number,
    /** The decoded program. */
    readonly prepared: PreparedProgram,
    private readonly host: ProgramHost,
  ) {
    const created = createEngine(host.engine, prepared, host.space, { tailCalls: host.tailCalls });
    this.engine = created.engine;
    this.engineKind = created.kind;
    this.engineFallback = created.fallback;
    this.context = createRunContext(spec.type, host.space, spec.name, host.objectBtf ? { btf: host.objectBtf } : {});
    this.jit = this.engine instanceof JitEngine ? this.engine : undefined;
    this.wasmRepeat = this.jit !== undefined && !prepared.helperIds.some((id) => REDIRECTS.includes(id));
  }

  /** The program's name. */
  get name(): string {
    return this.spec.name;
  }
  /** `enum bpf_prog_type`. */
  get type(): number {
    return this.spec.type;
  }
  /**
   * The calls of helpers and kfuncs the userspace runtime does not model, with the reason: a run
   * that reaches one faults there (UnmodelledCallError); every other path runs.
   */
  get unmodelledCalls(): readonly UnmodelledCall[] {
    return this.prepared.unmodelledCalls;
  }

  private checkCpu(cpu: number): number {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.host.cpus) throw new RangeError(`cpu ${cpu} is not in 0..${this.host.cpus - 1}`);
    return cpu;
  }

  /**
   * Runs once on `packet` as if it arrived on `options.ifindex` / `options.rxQueue` and was
   * processed on `options.cpu`; returns the retval (r0's low 32 bits). The packet after the run
   * is `dataOut()`. Throws MemoryFault, BudgetExceeded... when the program misbehaves; the
   * object stays usable.
   */
  run(packet: Uint8Array, options: ProgramRunOptions = {}): number {
    const r1 = this.deliver(packet, options);
    return this.execute(r1, options.cpu ?? 0);
  }

  /**
   * The first half of `run`: puts `packet` in the context as a NIC would deliver it and returns
   * the ctx pointer. Throws InvalidContextError / NotSupportedError for a packet the program
   * type cannot receive (shorter than an Ethernet header, an XDP frame larger than a page).
   */
  deliver(packet: Uint8Array, options: ProgramRunOptions = {}): number {
    const o = this.origin;
    o.ifindex = options.ifindex ?? DEFAULT_ORIGIN.ifindex;
    o.rxQueue = options.rxQueue ?? DEFAULT_ORIGIN.rxQueue;
    return this.context.setupPacket(packet, o);
  }

  /** The second half of `run`: runs on the delivered packet (`r1` from deliver) on `cpu`; returns the retval. */
  execute(r1: number, cpu = 0): number {
    return this.exec(r1, this.checkCpu(cpu));
  }

  private exec(r1: number, cpu: number): number {
    if (this.host.disposed) throw new InstantiateError(`program "${this.name}"`, 'its object was disposed');
    this.host.enter(this, cpu);
    const engine = this.engine;
    engine.skb = this.context.skb();
    if (this.jit) this.jit.cpu = cpu;
    engine.run(r1, this.host.budget);
    return engine.retLo >>> 0;
  }

  /** `n` runs on the same context; the JIT runs them in one call into WebAssembly when it can. */
  private execRepeat(r1: number, cpu: number, n: number): number {
    if (!this.wasmRepeat || n === 1) {
      let retval = 0;
      for (let i = 0; i < n; i++) retval = this.exec(r1, cpu);
      return retval;
    }
    if (this.host.disposed) throw new InstantiateError(`program "${this.name}"`, 'its object was disposed');
    this.host.enter(this, cpu);
    const jit = this.jit!;
    jit.skb = this.context.skb();
    jit.cpu = cpu;
    jit.runRepeat(r1, this.host.budget, n);
    return jit.retLo >>> 0;
  }

  /**
   * The batch entry of this program (src/runtime/packet-batch.ts), created on first use: an XDP
   * program on the JIT whose helper calls are all compiled in WebAssembly runs a batch of frames
   * in one call. Undefined for any other program (it runs packet by packet).
   */
  packetBatch(): PacketBatch | undefined {
    if (this.batch === undefined) {
      const ctx = this.context.instance;
      const jit = this.jit;
      this.batch =
        jit && this.spec.type === BpfProgType.XDP && ctx instanceof XdpContext && batchable(this.prepared, jit.compiled.inlinedLookups)
          ? new PacketBatch(this.host.space, jit, ctx, {
              enter: (cpu) => {
                if (this.host.disposed) throw new InstantiateError(`program "${this.name}"`, 'its object was disposed');
                this.host.enter(this, this.checkCpu(cpu));
              },
              budget: this.host.budget,
            })
          : null;
    }
    return this.batch ?? undefined;
  }
  private batch: PacketBatch | null | undefined;

  /** Where the last run asked to send its packet (bpf_redirect / bpf_redirect_map), or undefined. */
  redirectTarget(): RedirectTarget | undefined {
    return this.host.redirect?.();
  }

  /** The packet after the last run (a copy). */
  dataOut(): Uint8Array {
    return this.context.dataOut();
  }

  /** The context after the last run (a copy, the kernel's ctx_out layout). */
  ctxOut(): Uint8Array {
    return this.context.ctxOut();
  }

  /**
   * BPF_PROG_TEST_RUN in userspace: validates ctx_in as the kernel does, runs `repeat` times on
   * the same packet and context (so adjustments and map updates accumulate, as in the kernel's
   * loop) and reports the last retval, data_out, ctx_out and the mean duration.
   */
  testRun(input: TestRunInput): TestRunOutput {
    // bpf_prog_test_run_xdp: "if (prog->expected_attach_type == BPF_XDP_DEVMAP || ... BPF_XDP_CPUMAP) return -EINVAL".
    const eat = this.spec.expectedAttachType;
    if (this.spec.type === BpfProgType.XDP && (eat === BpfAttachType.XDP_DEVMAP || eat === BpfAttachType.XDP_CPUMAP)) {
      throw new TestRunRefusedError(this.name, `an XDP program for a ${eat === BpfAttachType.XDP_CPUMAP ? 'cpumap' : 'devmap'} entry has no test run (the kernel answers EINVAL); it runs as the entry's second stage in bpfkit run`);
    }
    const cpu = this.checkCpu(input.cpu ?? 0);
    const repeat = Math.max(1, input.repeat ?? 1);
    const r1 = this.context.setup(input.data, input.ctxIn);
    this.host.beginTestRun?.(this);
    let retval = 0;
    // Timed in chunks; the median chunk's mean leaves out the warm-up (and a chunk another process stole).
    const chunks = Math.min(TIMING_CHUNKS, repeat);
    const perChunk: number[] = [];
    for (let c = 0, done = 0; c < chunks; c++) {
      const n = Math.floor((repeat * (c + 1)) / chunks) - done;
      const t0 = nowMs();
      retval = this.execRepeat(r1, cpu, n);
      perChunk.push(((nowMs() - t0) * 1e6) / n);
      done += n;
    }
    perChunk.sort((a, b) => a - b);
    return {
      retval,
      dataOut: this.context.dataOut(),
      ctxOut: this.context.ctxOut(retval),
      durationNs: Math.round(perChunk[perChunk.length >> 1]!),
      instructions: this.engine.executed,
    };
  }
}

/** The default instruction budget per run. */
export const DEFAULT_RUN_BUDGET = DEFAULT_BUDGET;
