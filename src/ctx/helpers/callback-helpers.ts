// Helpers that call back into the program: bpf_loop (kernel/bpf/bpf_iter.c) and bpf_for_each_map_elem.

import { NotSupportedError } from '../../errors.js';
import { BpfFuncId, BpfMapType } from '../../isa/uapi.generated.js';
import type { MapOps } from '../../maps/map-ops.js';
import type { Region } from '../../vm/address-space.js';
import { InvalidProgramError } from '../../vm/errors.js';
import type { HelperContext, HelperFn } from '../../vm/helpers.js';
import { FUNC_TAG } from '../../vm/program.js';
import { BPF_MAX_LOOPS } from '../../vm/interpreter.js';
import type { HelperEnv } from './env.js';
import { mapArg } from './map-helpers.js';

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

/** Map families with a `map_for_each_callback` in the kernel (arraymap.c, hashtab.c). */
const FOR_EACH_TYPES = new Set<number>([BpfMapType.ARRAY, BpfMapType.PERCPU_ARRAY, BpfMapType.HASH, BpfMapType.PERCPU_HASH, BpfMapType.LRU_HASH, BpfMapType.LRU_PERCPU_HASH]);

/**
 * `long bpf_loop(u32 nr_loops, void *callback_fn, void *callback_ctx, u64 flags)`: calls
 * callback_fn(i, callback_ctx) for i = 0.. until it returns non-zero or nr_loops calls were
 * made; returns the number of calls made. -EINVAL for flags, -E2BIG above BPF_MAX_LOOPS (1 << 23).
 *
 * `long bpf_for_each_map_elem(map, callback_fn, callback_ctx, u64 flags)`: calls
 * callback_fn(map, &key, &value, callback_ctx) for each element — arrays by index, hashes in
 * their iteration order (the get_next_key order) — until it returns non-zero; returns the
 * number of elements visited. The key is a read-only copy, the value the element itself (this
 * CPU's slot for per-CPU maps), as the kernel passes them. -EINVAL for flags.
 */
export function callbackHelpers(env: HelperEnv): Map<number, HelperFn> {
  /** One read-only key buffer per map, made on the first bpf_for_each_map_elem over it. */
  const keyRegions = new WeakMap<MapOps, Region>();
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
    [
      BpfFuncId.for_each_map_elem,
      (vm, mapAddr, fn, ctx, flags) => {
        const map = mapArg(vm, env, mapAddr, 'bpf_for_each_map_elem');
        if (flags !== 0) return -EINVAL;
        if (!FOR_EACH_TYPES.has(map.def.type)) throw new NotSupportedError(`bpf_for_each_map_elem over map type ${map.def.type}`, undefined, 'the kernel has no map_for_each_callback for it');
        const slot = callbackSlot(vm, fn);
        const call = callback(vm);
        let region = keyRegions.get(map);
        if (!region) {
          region = vm.space.addRegion(`for_each_key:${map.def.name}`, Math.max(map.def.keySize, 1), { kind: 'other', writable: false });
          keyRegions.set(map, region);
        }
        const keyAddr = region.address();
        // Keys first: a callback may delete the element it is given (hashes), which must not
        // restart the walk.
        const keys: Uint8Array[] = [];
        for (let k = map.nextKey(undefined); k; k = map.nextKey(k)) keys.push(k);
        let visited = 0;
        for (const key of keys) {
          const mem = vm.space.memory.bytes;
          mem.set(key, region.start);
          // (A lookup: for LRU maps it also marks the element used, which the kernel's walk does not.)
          const value = map.lookup(mem, region.start, env.cpu);
          if (value === 0) continue; // deleted by an earlier callback
          visited++;
          if (call(slot, mapAddr, keyAddr, value, ctx, 0) !== 0) break;
        }
        return visited;
      },
    ],
  ]);
}
