// Helper calls: the HelperTable interface, the context helpers see, and a tiny built-in set.

import { BpfFuncId } from '../isa/uapi.generated.js';
import type { AddressSpace } from './address-space.js';
import { type CalleeKind, UnmodelledCallError } from './errors.js';
import type { PreparedProgram } from './program.js';

/** What a helper sees of the running program. */
export interface HelperContext {
  /** The address space: read and write program memory through checked pointers. */
  readonly space: AddressSpace;
  /** Slot index of the call instruction. */
  readonly pc: number;
  /** Low 32 bits of register `i` (signed int32). */
  regLo(i: number): number;
  /** High 32 bits of register `i` (signed int32). */
  regHi(i: number): number;
  /** Register `i` as an unsigned 64-bit BigInt (exact; not for hot helpers). */
  reg(i: number): bigint;
  /**
   * Calls the BPF function at slot `target` of the running program as a callback (bpf_loop's
   * callback_fn) with r1..r5 = a1..a5, in a new call frame; returns its r0 (unsigned, exact
   * below 2^53). Optional: an engine without it makes callback helpers fail with NotSupportedError.
   */
  callFunction?(target: number, a1: number, a2: number, a3: number, a4: number, a5: number): number;
}

/**
 * A helper: gets the context and r1..r5 as unsigned numbers (exact below 2^53, which covers
 * pointers, sizes and ids; read `vm.regLo/regHi` for exact full-width values) and returns r0:
 * a number in [-2^53, 2^64) (negative errors such as -22 become their 64-bit two's complement)
 * or a BigInt (taken modulo 2^64).
 */
export type HelperFn = (vm: HelperContext, r1: number, r2: number, r3: number, r4: number, r5: number) => number | bigint;

/** Helper implementations by id. A `Map<number, HelperFn>` is one. */
export interface HelperTable {
  /** The helper with kernel id `id` (BpfFuncId), or undefined when not provided. */
  get(id: number): HelperFn | undefined;
}

/**
 * The hook for `bpf_tail_call(ctx, prog_array, index)`: given the prog-array pointer (r2) and
 * the index (r3), returns the program to continue in, or undefined when the slot is empty or
 * out of range (the call then falls through, as in the kernel). The interpreter enforces the
 * kernel's limit of MAX_TAIL_CALL_CNT (33) tail calls per run.
 */
export interface TailCallHook {
  /** Looks up the target of a tail call. */
  resolve(vm: HelperContext, progArray: number, index: number): PreparedProgram | undefined;
}

/** Injected sources of non-determinism for the built-in helpers. */
export interface BuiltinHelperOptions {
  /** `bpf_ktime_get_ns`: monotonic nanoseconds (default: a counter starting at 1e9, +1000 per call). */
  clock?: () => number | bigint;
  /** `bpf_get_prandom_u32`: a 32-bit random number (default: a seeded xorshift32). */
  random?: () => number;
  /** `bpf_get_smp_processor_id` (default 0). */
  cpu?: number;
  /** Seed of the default random source (default 1). */
  seed?: number;
}

/** A deterministic xorshift32 generator, as the default `random` source. */
export function xorshift32(seed = 1): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/**
 * The built-in helpers, enough for tests: `ktime_get_ns`, `get_prandom_u32`,
 * `get_smp_processor_id`. The full helper set with kernel semantics (maps, packet, checksums,
 * redirects, ring buffers, tail calls) is `createHelpers(env, type)` in src/ctx/helpers.
 */
export function builtinHelpers(options: BuiltinHelperOptions = {}): Map<number, HelperFn> {
  let t = 1e9;
  const clock = options.clock ?? (() => (t += 1000));
  const random = options.random ?? xorshift32(options.seed ?? 1);
  const cpu = options.cpu ?? 0;
  return new Map<number, HelperFn>([
    [BpfFuncId.ktime_get_ns, () => clock()],
    [BpfFuncId.get_prandom_u32, () => random() >>> 0],
    [BpfFuncId.get_smp_processor_id, () => cpu],
  ]);
}

/** A helper or kfunc the runtime does not model, and why. */
export interface UnmodelledCallee {
  /** Helper or kfunc. */
  readonly kind: CalleeKind;
  /** Its name, with the bpf_ prefix. */
  readonly name: string;
  /** Why userspace does not run it. */
  readonly reason: string;
  /** The helper id (BPF_FUNC_*); undefined for a kfunc. */
  readonly helperId?: number;
}

const unmodelled = new WeakMap<HelperFn, UnmodelledCallee>();

/**
 * A stand-in for a callee the runtime does not model: calling it throws UnmodelledCallError at
 * the call's pc (a fault of that run only), and `prepareProgram` lists it in `unmodelledCalls`.
 */
export function unmodelledCall(callee: UnmodelledCallee): HelperFn {
  const fn: HelperFn = (vm) => {
    throw new UnmodelledCallError(vm.pc, callee.kind, callee.name, callee.reason, callee.helperId);
  };
  unmodelled.set(fn, callee);
  return fn;
}

/** The callee `fn` stands in for when it was made by {@link unmodelledCall}; undefined otherwise. */
export function unmodelledCallee(fn: HelperFn): UnmodelledCallee | undefined {
  return unmodelled.get(fn);
}
