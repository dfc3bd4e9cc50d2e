// createEngine(): the JIT when it can compile the program, the reference interpreter otherwise (never a silent difference).

import { NotSupportedError } from '../errors.js';
import type { AddressSpace } from '../vm/address-space.js';
import type { Engine } from '../vm/engine.js';
import type { TailCallHook } from '../vm/helpers.js';
import { Interpreter } from '../vm/interpreter.js';
import type { PreparedProgram } from '../vm/program.js';
import { analyze } from './cfg.js';
import { JitEngine } from './jit-engine.js';
import { frameExtent } from './stack-extent.js';

const extents = new WeakMap<PreparedProgram, number>();

/** The interpreter with the program's frame extent (a run zeroes only the stack bytes it can touch). */
function interpreter(program: PreparedProgram, space: AddressSpace, tail: { tailCalls?: TailCallHook }): Interpreter {
  let extent = extents.get(program);
  if (extent === undefined) {
    extent = frameExtent(program, analyze(program));
    extents.set(program, extent);
  }
  return new Interpreter(program, space, { ...tail, frameExtent: extent });
}

/** Which execution backend runs a program. */
export type EngineKind = 'jit' | 'interpreter';

/** The engine kinds, for option parsing. */
export const ENGINE_KINDS: readonly EngineKind[] = ['jit', 'interpreter'];

/** An engine and what it turned out to be. */
export interface CreatedEngine {
  readonly engine: Engine;
  /** The backend actually used. */
  readonly kind: EngineKind;
  /** Why the JIT was asked for but the interpreter runs the program (a NotSupportedError's message). */
  readonly fallback?: string;
}

/**
 * Creates the engine of `kind` for `program` in `space`. A program the JIT cannot compile
 * (NotSupportedError naming the pc and opcode) runs in the interpreter, and `fallback` says why.
 */
export function createEngine(kind: EngineKind, program: PreparedProgram, space: AddressSpace, options: { tailCalls?: TailCallHook } = {}): CreatedEngine {
  const tail = options.tailCalls ? { tailCalls: options.tailCalls } : {};
  if (kind === 'jit') {
    try {
      return { engine: new JitEngine(program, space, tail), kind: 'jit' };
    } catch (e) {
      if (!(e instanceof NotSupportedError)) throw e;
      return { engine: interpreter(program, space, tail), kind: 'interpreter', fallback: e.message };
    }
  }
  return { engine: interpreter(program, space, tail), kind: 'interpreter' };
}
