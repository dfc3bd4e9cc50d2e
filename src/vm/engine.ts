// The contract every execution backend meets (the reference interpreter, the Wasm JIT).

import type { AddressSpace } from './address-space.js';
import type { HelperContext } from './helpers.js';
import type { SkbData } from './interpreter.js';

/**
 * An execution engine for one prepared program in one address space: owns its call-frame stack
 * regions, runs many times, allocates nothing per run. The runtime (src/runtime) holds an Engine
 * and never needs to know which backend it is; the differential suite runs every backend on the
 * same programs and packets against the kernel.
 */
export interface Engine extends HelperContext {
  /** The address space the program runs in. */
  readonly space: AddressSpace;
  /** Slot index of the current instruction (meaningful inside helpers and after a fault). */
  readonly pc: number;
  /** Low word of r0 after the last run. */
  readonly retLo: number;
  /** High word of r0 after the last run. */
  readonly retHi: number;
  /** r0 of the last run as an unsigned BigInt (not for hot paths). */
  readonly r0: bigint;
  /** Instructions executed by the last run. */
  readonly executed: number;
  /** Where LD_ABS/LD_IND read from; unset means they fail (r0 = 0, exit), as in the kernel. */
  skb: SkbData | undefined;
  /**
   * Runs from the entry program's slot 0 with r1 = `r1` (the context pointer) and the other
   * registers zero, until the outermost `exit`; returns the instructions executed. Throws
   * MemoryFault, BudgetExceeded, CallDepthExceeded, ExecutionError, or what a helper throws.
   */
  run(r1: number, budget?: number): number;
}
