// Runs one raw program in the Interpreter and in the JitEngine, each in its own address space, and compares everything.
import assert from 'node:assert/strict';
import type { RunnableProgramType } from '../../src/ctx/program-type-ops.js';
import { xdpOps } from '../../src/ctx/xdp.js';
import { BpfkitError } from '../../src/errors.js';
import type { Instruction } from '../../src/isa/index.js';
import { JitEngine } from '../../src/jit/jit-engine.js';
import type { CompileOptions } from '../../src/jit/compile.js';
import { AddressSpace } from '../../src/vm/address-space.js';
import type { Engine } from '../../src/vm/engine.js';
import { MemoryFault } from '../../src/vm/errors.js';
import { builtinHelpers, type HelperTable, type TailCallHook } from '../../src/vm/helpers.js';
import { DEFAULT_BUDGET, Interpreter, type SkbData } from '../../src/vm/interpreter.js';
import { prepareProgram, type PreparedProgram } from '../../src/vm/program.js';

/** What one run produced. */
export interface Result {
  retval?: number;
  r0?: bigint;
  executed?: number;
  packet: string;
  error?: string;
}

/** How to build each side. */
export interface SideOptions {
  helpers?: (space: AddressSpace) => HelperTable;
  tailCalls?: (space: AddressSpace, prepare: (insns: readonly Instruction[]) => PreparedProgram) => TailCallHook;
  budget?: number;
  programType?: RunnableProgramType;
  skb?: Omit<SkbData, 'region'>;
  /** JIT compile options (the JIT side only). */
  compile?: CompileOptions;
}

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** One engine kind with its own address space, context and prepared program. */
export function side(kind: 'interpreter' | 'jit', insns: readonly Instruction[], options: SideOptions = {}): (packet: Uint8Array) => Result {
  const space = new AddressSpace();
  const type = options.programType ?? xdpOps;
  const context = type.createContext(space, {});
  const helpers = options.helpers?.(space) ?? builtinHelpers();
  const prepare = (i: readonly Instruction[]): PreparedProgram => prepareProgram(i, { helpers });
  const prepared = prepare(insns);
  const tailCalls = options.tailCalls?.(space, prepare);
  const engine: Engine =
    kind === 'jit'
      ? new JitEngine(prepared, space, { ...(tailCalls ? { tailCalls } : {}), ...(options.compile ? { compile: options.compile } : {}) })
      : new Interpreter(prepared, space, tailCalls ? { tailCalls } : {});
  return (packet) => {
    const r1 = context.setup({ data: packet });
    const region = space.regions.find((r) => r.kind === 'packet');
    engine.skb = context.skb ? context.skb() : options.skb && region ? { ...options.skb, region } : undefined;
    try {
      engine.run(r1, options.budget ?? DEFAULT_BUDGET);
      return { retval: engine.retLo >>> 0, r0: engine.r0, executed: engine.executed, packet: hex(context.dataOut()) };
    } catch (e) {
      if (!(e instanceof BpfkitError)) throw e;
      const detail = e instanceof MemoryFault ? ` ${e.access} ${e.address.toString(16)} size ${e.size} ${e.region} ${e.offset} ${e.reason}` : '';
      const pc = (e as { pc?: number }).pc;
      const executed = e.code === 'ERR_BUDGET_EXCEEDED' || e.code === 'ERR_EXECUTION' ? ` executed ${engine.executed}` : '';
      return { error: `${e.code} pc ${pc} engine.pc ${engine.pc}${detail}${executed}: ${e.message}`, packet: hex(context.dataOut()) };
    }
  };
}

/** Runs `insns` on each packet in both engines and asserts identical results; returns the JIT's results. */
export function assertSameRuns(insns: readonly Instruction[], packets: readonly Uint8Array[], options: SideOptions = {}, label = ''): Result[] {
  const interp = side('interpreter', insns, options);
  const jit = side('jit', insns, options);
  const out: Result[] = [];
  for (const [i, p] of packets.entries()) {
    const a = interp(p);
    const b = jit(p);
    assert.deepEqual(b, a, `${label} packet ${i}`);
    out.push(b);
  }
  return out;
}
