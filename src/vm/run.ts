// run(): a BPF_PROG_TEST_RUN-like entry point for a raw program in the reference interpreter.

import { xdpOps } from '../ctx/xdp.js';
import type { ContextInstance, ContextOptions, RunnableProgramType } from '../ctx/program-type-ops.js';
import type { Instruction } from '../isa/instruction.js';
import { AddressSpace } from './address-space.js';
import { builtinHelpers, type HelperTable, type TailCallHook } from './helpers.js';
import { DEFAULT_BUDGET, Interpreter, type SkbData } from './interpreter.js';
import { prepareProgram, type LdResolver, type PreparedProgram } from './program.js';
import type { XdpContext } from '../ctx/xdp-buff.js';
import { createHelpers, progArrayTailCalls } from '../ctx/helpers/index.js';
import type { HelperEnv, RedirectTarget } from '../ctx/helpers/env.js';

/** Options of `createVm`, `createXdpVm` and `run`. */
export interface RunOptions {
  /** Helper table (default: `createHelpers(env, programType)` with `env`, else the built-in test helpers). */
  helpers?: HelperTable;
  /**
   * The helper environment (src/ctx/helpers): maps by address, clock, CPU, trace sink. Each run
   * sets its `context` and clears its `redirect`.
   */
  env?: HelperEnv;
  /** Resolves map `lddw` forms. */
  resolve?: LdResolver;
  /** Serves bpf_tail_call (default with `env`: prog arrays found through `env.mapByAddress`). */
  tailCalls?: TailCallHook;
  /** Instruction budget per run (default 1M). */
  budget?: number;
  /**
   * The program type whose context the program runs with (default XDP): `xdpOps`, `tcOps`,
   * `socketFilterOps` from src/ctx, or `programTypeOps(type)`.
   */
  programType?: RunnableProgramType;
  /** The address space to run in (default: a new one) — pass the one maps were created in. */
  space?: AddressSpace;
  /** Devices a ctx_in may name (default: loopback only). */
  devices?: ContextOptions['devices'];
  /** Build-dependent behaviours of the kernel being reproduced (probe them with src/kernel's probeKernelTraits). */
  kernel?: ContextOptions['kernel'];
  /**
   * XDP only, for raw-packet tests: lets LD_ABS/LD_IND read the XDP packet as an skb whose
   * `data` is at this offset. Program types with an skb set this up themselves.
   */
  skb?: Omit<SkbData, 'region'>;
  /** Called after each run's setup with the context (helpers that need it bind here). */
  onSetup?: (context: ContextInstance) => void;
}

/** The outcome of one run, shaped like BPF_PROG_TEST_RUN's. */
export interface RunResult {
  /** r0's low 32 bits, unsigned — what the kernel reports as retval. */
  readonly retval: number;
  /** The full 64-bit r0. */
  readonly r0: bigint;
  /** data_out: the packet after the run. */
  readonly packet: Uint8Array;
  /** ctx_out: the context struct after the run. */
  readonly ctx: Uint8Array;
  /** Instructions executed. */
  readonly instructions: number;
  /** The redirect the program asked for (with `env`), if any. */
  readonly redirect?: RedirectTarget;
}

/** A prepared program with its own address space and context, run many times. */
export interface Vm<C extends ContextInstance = ContextInstance> {
  /** The address space (one WebAssembly.Memory). */
  readonly space: AddressSpace;
  /** The interpreter. */
  readonly interpreter: Interpreter;
  /** The program type's context. */
  readonly context: C;
  /** Runs once on `packet` with an optional ctx_in. Throws InvalidContextError where the kernel says EINVAL. */
  run(ctx: Uint8Array | undefined, packet: Uint8Array): RunResult;
}

/** An XDP VM (the context is the xdp_buff). */
export interface XdpVm extends Vm<XdpContext> {
  /** The XDP context regions (same as `context`). */
  readonly xdp: XdpContext;
}

/** Prepares `program` once and returns a VM that runs it with its program type's context. */
export function createVm(program: readonly Instruction[] | PreparedProgram, options: RunOptions = {}): Vm {
  const type = options.programType ?? xdpOps;
  const env = options.env;
  const prepared =
    'code' in program
      ? program
      : prepareProgram(program, {
          helpers: options.helpers ?? (env ? createHelpers(env, type) : builtinHelpers()),
          ...(options.resolve ? { resolve: options.resolve } : {}),
        });
  const space = options.space ?? new AddressSpace();
  const context = type.createContext(space, { ...(options.devices ? { devices: options.devices } : {}), ...(options.kernel ? { kernel: options.kernel } : {}) });
  const tailCalls = options.tailCalls ?? (env ? progArrayTailCalls(env) : undefined);
  const interpreter = new Interpreter(prepared, space, tailCalls ? { tailCalls } : {});
  const budget = options.budget ?? DEFAULT_BUDGET;
  const rawSkb = options.skb;
  return {
    space,
    interpreter,
    context,
    run(ctx, packet) {
      const r1 = context.setup(ctx ? { data: packet, ctxIn: ctx } : { data: packet });
      if (env) {
        env.context = context;
        env.redirect = undefined;
      }
      options.onSetup?.(context);
      const region = space.regions.find((r) => r.kind === 'packet');
      interpreter.skb = context.skb ? context.skb() : rawSkb && region ? { ...rawSkb, region } : undefined;
      const instructions = interpreter.run(r1, budget);
      const redirect = env?.redirect;
      return { retval: interpreter.retLo >>> 0, r0: interpreter.r0, packet: context.dataOut(), ctx: context.ctxOut(interpreter.retLo >>> 0), instructions, ...(redirect ? { redirect } : {}) };
    },
  };
}

/** Prepares an XDP program once and returns a VM that runs it on packets. */
export function createXdpVm(program: readonly Instruction[] | PreparedProgram, options: RunOptions = {}): XdpVm {
  const vm = createVm(program, { ...options, programType: xdpOps }) as Vm<XdpContext>;
  return { ...vm, xdp: vm.context, run: vm.run };
}

/**
 * Runs a raw program once on `packet`, like BPF_PROG_TEST_RUN: `ctx` is an optional ctx_in
 * (`struct xdp_md` by default; `__sk_buff` with `programType: tcOps`). Throws MemoryFault,
 * BudgetExceeded... when the program misbehaves, InvalidContextError for input the kernel refuses.
 */
export function run(program: readonly Instruction[] | PreparedProgram, ctx: Uint8Array | undefined, packet: Uint8Array, options: RunOptions = {}): RunResult {
  return createVm(program, options).run(ctx, packet);
}
