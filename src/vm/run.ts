// run(): a BPF_PROG_TEST_RUN-like entry point for a raw XDP program in the reference interpreter.

import type { Instruction } from '../isa/instruction.js';
import { AddressSpace } from './address-space.js';
import { builtinHelpers, type HelperTable, type TailCallHook } from './helpers.js';
import { DEFAULT_BUDGET, Interpreter, type SkbData } from './interpreter.js';
import { prepareProgram, type LdResolver, type PreparedProgram } from './program.js';
import { XdpContext } from './xdp-context.js';

/** Options of `createXdpVm` and `run`. */
export interface RunOptions {
  /** Helper table (default: the built-in test helpers). */
  helpers?: HelperTable;
  /** Resolves map `lddw` forms. */
  resolve?: LdResolver;
  /** Serves bpf_tail_call. */
  tailCalls?: TailCallHook;
  /** Instruction budget per run (default 1M). */
  budget?: number;
  /**
   * Lets LD_ABS/LD_IND read the packet as an skb: `data` is where skb->data is in the packet
   * (a socket filter's test run pulls the 14-byte Ethernet header: data = 14). Unset: they fail.
   */
  skb?: Omit<SkbData, 'region'>;
}

/** The outcome of one run, shaped like BPF_PROG_TEST_RUN's. */
export interface RunResult {
  /** r0's low 32 bits, unsigned — what the kernel reports as retval. */
  readonly retval: number;
  /** The full 64-bit r0. */
  readonly r0: bigint;
  /** The packet after the run (data_meta..data_end), like data_out. */
  readonly packet: Uint8Array;
  /** struct xdp_md after the run, like ctx_out. */
  readonly ctx: Uint8Array;
  /** Instructions executed. */
  readonly instructions: number;
}

/** A prepared XDP program with its own address space, run many times. */
export interface XdpVm {
  /** The address space (one WebAssembly.Memory). */
  readonly space: AddressSpace;
  /** The interpreter. */
  readonly interpreter: Interpreter;
  /** The XDP context regions. */
  readonly xdp: XdpContext;
  /** Runs once on `packet` with an optional `struct xdp_md` ctx_in. */
  run(ctx: Uint8Array | undefined, packet: Uint8Array): RunResult;
}

/** Prepares `program` once and returns a VM that runs it on packets. */
export function createXdpVm(program: readonly Instruction[] | PreparedProgram, options: RunOptions = {}): XdpVm {
  const prepared =
    'code' in program
      ? program
      : prepareProgram(program, {
          helpers: options.helpers ?? builtinHelpers(),
          ...(options.resolve ? { resolve: options.resolve } : {}),
        });
  const space = new AddressSpace();
  const xdp = new XdpContext(space);
  const interpreter = new Interpreter(prepared, space, options.tailCalls ? { tailCalls: options.tailCalls } : {});
  const budget = options.budget ?? DEFAULT_BUDGET;
  return {
    space,
    interpreter,
    xdp,
    run(ctx, packet) {
      const r1 = xdp.setup(packet, ctx);
      interpreter.skb = options.skb ? { ...options.skb, region: xdp.packet } : undefined;
      const instructions = interpreter.run(r1, budget);
      return { retval: interpreter.retLo >>> 0, r0: interpreter.r0, packet: xdp.packetOut(), ctx: xdp.ctxOut(), instructions };
    },
  };
}

/**
 * Runs a raw XDP program once on `packet`, like BPF_PROG_TEST_RUN: `ctx` is an optional
 * `struct xdp_md` ctx_in. Throws MemoryFault, BudgetExceeded... when the program misbehaves.
 */
export function run(program: readonly Instruction[] | PreparedProgram, ctx: Uint8Array | undefined, packet: Uint8Array, options: RunOptions = {}): RunResult {
  return createXdpVm(program, options).run(ctx, packet);
}
