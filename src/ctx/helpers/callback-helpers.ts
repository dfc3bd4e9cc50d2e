// Helpers that call back into the program: bpf_loop (kernel/bpf/bpf_iter.c).

import { NotSupportedError } from '../../errors.js';
import { BpfFuncId } from '../../isa/uapi.generated.js';
import { InvalidProgramError } from '../../vm/errors.js';
import type { HelperContext, HelperFn } from '../../vm/helpers.js';
import { FUNC_TAG } from '../../vm/program.js';
import { BPF_MAX_LOOPS } from '../../vm/interpreter.js';

const TWO32 = 4294967296;
const EINVAL = 22;
const E2BIG = 7;

/** The slot a callback pointer (what `ld.func` loads: FUNC_TAG in the high word) names. */
function callbackSlot(vm: HelperContext, fn: number): number {
  if (Math.floor(fn / TWO32) !== FUNC_TAG) throw new InvalidProgramError(vm.pc, `callback argument 0x${fn.toString(16)} is not a function pointer (ld.func)`);
  return fn % TWO32;
}

function callback(vm: HelperContext): NonNullable<HelperContext['callFunction']> {
  if (!vm.callFunction) throw new NotSupportedError('callbacks (bpf_loop) in this execution engine', undefined, 'run the program with the interpreter');
  return vm.callFunction.bind(vm);
}

/**
 * `long bpf_loop(u32 nr_loops, void *callback_fn, void *callback_ctx, u64 flags)`: calls
 * callback_fn(i, callback_ctx) for i = 0.. until it returns non-zero or nr_loops calls were
 * made; returns the number of calls made. -EINVAL for flags, -E2BIG above BPF_MAX_LOOPS (1 << 23).
 */
export function callbackHelpers(): Map<number, HelperFn> {
  return new Map<number, HelperFn>([
    [
      BpfFuncId.loop,
      (vm, nrLoops, fn, ctx, flags) => {
        if (flags !== 0) return -EINVAL;
        const n = nrLoops >>> 0; // u32 argument
        if (n > BPF_MAX_LOOPS) return -E2BIG;
        if (n === 0) return 0;
        const slot = callbackSlot(vm, fn);
        const call = callback(vm);
        for (let i = 0; i < n; i++) {
          // The verifier restricts the callback's return to [0, 1]; the kernel tests it as a u64.
          if (call(slot, i, ctx, 0, 0, 0) !== 0) return i + 1;
        }
        return n;
      },
    ],
  ]);
}
