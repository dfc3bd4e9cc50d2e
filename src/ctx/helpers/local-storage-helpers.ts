// bpf_get_local_storage: the cgroup storage of the run (see src/maps/cgroup-storage.ts for the attach model).

import { BpfFuncId } from '../../isa/uapi.generated.js';
import { CgroupStorageMap } from '../../maps/cgroup-storage.js';
import { ExecutionError } from '../../vm/errors.js';
import type { HelperFn } from '../../vm/helpers.js';
import type { HelperEnv } from './env.js';
import { mapArg } from './map-helpers.js';

/**
 * `void *bpf_get_local_storage(map, u64 flags)`: the value of the storage the current run uses
 * (this CPU's slot for a per-CPU map) — the attached cgroup's when one was selected, else a
 * fresh test-run storage. The kernel ignores `flags` (reserved).
 */
export function localStorageHelpers(env: HelperEnv): Map<number, HelperFn> {
  return new Map<number, HelperFn>([
    [
      BpfFuncId.get_local_storage,
      (vm, mapAddr) => {
        const map = mapArg(vm, env, mapAddr, 'bpf_get_local_storage');
        if (!(map instanceof CgroupStorageMap)) throw new ExecutionError(vm.pc, `bpf_get_local_storage: map "${map.def.name}" is not a cgroup storage`);
        return map.localStorage(env.cpu);
      },
    ],
  ]);
}
