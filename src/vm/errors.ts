// Errors of the userspace runtime: memory faults, budget exhaustion, call depth, bad programs.

import { BpfkitError, type BpfkitErrorOptions } from '../errors.js';
import { helperById } from '../isa/helpers.js';

/** Whether a faulting access was a load or a store. */
export type AccessKind = 'read' | 'write';

/** Why an access faulted. */
export type FaultReason = 'out-of-bounds' | 'read-only' | 'unmapped';

const hex = (v: bigint): string => `0x${v.toString(16)}`;

function describeOffset(region: string | undefined, offset: number, size: number, regionSize: number): string {
  if (region === undefined) return 'no region is mapped near it';
  if (offset < 0) return `${-offset} bytes before the start of "${region}"`;
  if (offset + size > regionSize) {
    const past = offset - regionSize;
    return past >= 0 ? `${past} bytes past the end of "${region}" (size ${regionSize})` : `crossing the end of "${region}" at offset ${offset} (size ${regionSize})`;
  }
  return `at offset ${offset} of "${region}"`;
}

/**
 * A load or store outside every region, crossing a region's end, or writing a read-only region.
 * The program stops at `pc`; no byte of any region was touched by the faulting access.
 */
export class MemoryFault extends BpfkitError {
  constructor(
    /** Slot index of the faulting instruction. */
    readonly pc: number,
    /** The 64-bit virtual address accessed. */
    readonly address: bigint,
    /** Access size in bytes. */
    readonly size: number,
    /** Load or store. */
    readonly access: AccessKind,
    /** Name of the region the address belongs to or is nearest to; undefined when none is mapped. */
    readonly region: string | undefined,
    /** Offset of the address from the start of that region's accessible window (may be negative). */
    readonly offset: number,
    /** Size of that region's accessible window. */
    readonly regionSize: number,
    /** What went wrong. */
    readonly reason: FaultReason,
    options?: BpfkitErrorOptions,
  ) {
    super(
      'ERR_MEMORY_FAULT',
      `pc ${pc}: invalid ${access} of ${size} bytes at ${hex(address)}: ${
        reason === 'read-only' ? `"${region}" is read-only` : describeOffset(region, offset, size, regionSize)
      }`,
      options,
    );
  }
}

/** The program ran more instructions than its budget allows (a runaway loop). */
export class BudgetExceeded extends BpfkitError {
  constructor(
    /** Slot index of the instruction that would have exceeded the budget. */
    readonly pc: number,
    /** The budget, in instructions. */
    readonly budget: number,
    options?: BpfkitErrorOptions,
  ) {
    super('ERR_BUDGET_EXCEEDED', `pc ${pc}: instruction budget of ${budget} exhausted`, options);
  }
}

/** A BPF-to-BPF call nested deeper than the kernel's MAX_CALL_FRAMES. */
export class CallDepthExceeded extends BpfkitError {
  constructor(
    /** Slot index of the call. */
    readonly pc: number,
    /** The frame limit. */
    readonly maxFrames: number,
    options?: BpfkitErrorOptions,
  ) {
    super('ERR_CALL_DEPTH_EXCEEDED', `pc ${pc}: call nests deeper than ${maxFrames} frames`, options);
  }
}

/** A program the runtime cannot prepare: a jump out of range, an unsupported instruction, an unresolved map. */
export class InvalidProgramError extends BpfkitError {
  constructor(
    /** Slot index of the offending instruction (-1 for the program as a whole). */
    readonly pc: number,
    /** What is wrong. */
    readonly reason: string,
    options?: BpfkitErrorOptions,
  ) {
    super('ERR_INVALID_PROGRAM', pc >= 0 ? `pc ${pc}: ${reason}` : reason, options);
  }
}

/** A call of a helper id the helper table does not provide. */
export class UnknownHelperError extends BpfkitError {
  constructor(
    /** Slot index of the call. */
    readonly pc: number,
    /** The helper id. */
    readonly helperId: number,
    options?: BpfkitErrorOptions,
  ) {
    const known = helperById(helperId);
    super('ERR_UNKNOWN_HELPER', `pc ${pc}: ${known ? `helper bpf_${known.name} (${helperId})` : `helper ${helperId}`} is not provided by this runtime`, options);
  }
}

/** Whether an unmodelled callee is a helper (BPF_FUNC_*) or a kfunc. */
export type CalleeKind = 'helper' | 'kfunc';

/**
 * A run reached a call of a helper or kfunc the userspace runtime does not model (it has no
 * userspace meaning, or is not implemented): the run stops at the call, as at any fault. A
 * program that contains such a call is prepared and runs normally on every path that does not
 * reach it; `PreparedProgram.unmodelledCalls` lists the calls up front.
 */
export class UnmodelledCallError extends BpfkitError {
  constructor(
    /** Slot index of the call. */
    readonly pc: number,
    /** Helper or kfunc. */
    readonly kind: CalleeKind,
    /** The callee's name (`bpf_tcp_gen_syncookie`, `bpf_ct_set_nat_info`). */
    readonly callee: string,
    /** Why userspace does not run it. */
    readonly reason: string,
    /** The helper id (BPF_FUNC_*); undefined for a kfunc. */
    readonly helperId?: number,
    options?: BpfkitErrorOptions,
  ) {
    super('ERR_UNMODELLED_CALL', `pc ${pc}: ${kind} ${callee}${helperId !== undefined ? ` (${helperId})` : ''} cannot run in userspace: ${reason}`, options);
  }
}

/** Execution reached an instruction it must not run (fell off the end, jumped into an lddw). */
export class ExecutionError extends BpfkitError {
  constructor(
    /** Slot index where execution stopped. */
    readonly pc: number,
    /** What happened. */
    readonly reason: string,
    options?: BpfkitErrorOptions,
  ) {
    super('ERR_EXECUTION', `pc ${pc}: ${reason}`, options);
  }
}

/** A context (`struct xdp_md`...) the kernel's test run would refuse with EINVAL. */
export class InvalidContextError extends BpfkitError {
  constructor(
    /** The offending field. */
    readonly field: string,
    /** Why it is refused. */
    readonly reason: string,
    options?: BpfkitErrorOptions,
  ) {
    super('ERR_INVALID_CONTEXT', `context field ${field}: ${reason}`, options);
  }
}
