// bpf_tail_call through prog arrays: the TailCallHook the interpreter calls, over the maps' ProgArrayOps.

import { ProgArrayOps } from '../../maps/array.js';
import type { TailCallHook } from '../../vm/helpers.js';
import type { PreparedProgram } from '../../vm/program.js';
import type { HelperEnv } from './env.js';

const isPrepared = (h: unknown): h is PreparedProgram => typeof h === 'object' && h !== null && 'code' in h && 'helperFns' in h;

/**
 * A TailCallHook that finds the prog array from its pointer through `env.mapByAddress` and
 * continues in the PreparedProgram stored in slot `index` (`ProgArrayOps.setProgram`). An
 * empty slot, an index past max_entries (a u32 compare, as the kernel's), or a pointer that is
 * not a prog array falls through, as in the kernel; the interpreter enforces the limit of 33.
 */
export function progArrayTailCalls(env: HelperEnv): TailCallHook {
  return {
    resolve(vm, progArray) {
      const map = env.mapByAddress(progArray);
      if (!(map instanceof ProgArrayOps)) return undefined;
      // The index is r3's low 32 bits (the number the interpreter passes is rounded past 2^53).
      const handle = map.program(vm.regLo(3) >>> 0);
      return isPrepared(handle) ? handle : undefined;
    },
  };
}
