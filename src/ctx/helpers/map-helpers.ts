// Map helpers: bpf_map_lookup/update/delete/push/pop/peek_elem and lookup_percpu_elem over MapOps.

import { BpfFuncId, BpfMapType } from '../../isa/uapi.generated.js';
import type { MapOps } from '../../maps/map-ops.js';
import { ExecutionError } from '../../vm/errors.js';
import type { HelperContext, HelperFn } from '../../vm/helpers.js';
import type { HelperEnv } from './env.js';
import { argU32, Errno, helperPtr } from './memory.js';

/** The map a program passed in r1, or an ExecutionError naming the address (no map lives there). */
export function mapArg(vm: HelperContext, env: HelperEnv, address: number, helper: string): MapOps {
  const map = env.mapByAddress(address);
  if (!map) throw new ExecutionError(vm.pc, `${helper}: no map at 0x${address.toString(16)}`);
  return map;
}

/** The map helpers, bound to `env`. */
export function mapHelpers(env: HelperEnv): Map<number, HelperFn> {
  const mem = (vm: HelperContext) => vm.space.memory.bytes;
  return new Map<number, HelperFn>([
    [
      BpfFuncId.map_lookup_elem,
      (vm, r1, r2) => {
        const map = mapArg(vm, env, r1, 'bpf_map_lookup_elem');
        return map.lookup(mem(vm), helperPtr(vm, r2, map.def.keySize, false), env.cpu);
      },
    ],
    [
      BpfFuncId.map_lookup_percpu_elem,
      (vm, r1, r2) => {
        const map = mapArg(vm, env, r1, 'bpf_map_lookup_percpu_elem');
        const cpu = argU32(vm, 3);
        // The kernel returns NULL for a CPU past nr_cpu_ids, and for maps that are not per-CPU.
        if (!map.perCpu || cpu >= env.cpus) return 0;
        return map.lookup(mem(vm), helperPtr(vm, r2, map.def.keySize, false), cpu);
      },
    ],
    [
      BpfFuncId.map_update_elem,
      (vm, r1, r2, r3) => {
        const map = mapArg(vm, env, r1, 'bpf_map_update_elem');
        const key = helperPtr(vm, r2, map.def.keySize, false);
        const value = helperPtr(vm, r3, map.def.valueSize, false);
        return map.update(mem(vm), key, mem(vm), value, Number(vm.reg(4) & 0xffffffffn), env.cpu);
      },
    ],
    [
      BpfFuncId.map_delete_elem,
      (vm, r1, r2) => {
        const map = mapArg(vm, env, r1, 'bpf_map_delete_elem');
        return map.delete(mem(vm), helperPtr(vm, r2, map.def.keySize, false));
      },
    ],
    [
      BpfFuncId.map_push_elem,
      (vm, r1, r2) => {
        const map = mapArg(vm, env, r1, 'bpf_map_push_elem');
        if (!map.push) return -Errno.EINVAL;
        return map.push(mem(vm), helperPtr(vm, r2, map.def.valueSize, false), Number(vm.reg(3) & 0xffffffffn));
      },
    ],
    [
      BpfFuncId.map_pop_elem,
      (vm, r1, r2) => {
        const map = mapArg(vm, env, r1, 'bpf_map_pop_elem');
        if (!map.pop) return -Errno.EINVAL;
        return map.pop(mem(vm), helperPtr(vm, r2, map.def.valueSize, true), true);
      },
    ],
    [
      BpfFuncId.map_peek_elem,
      (vm, r1, r2) => {
        const map = mapArg(vm, env, r1, 'bpf_map_peek_elem');
        if (!map.pop) return -Errno.EINVAL;
        // Bloom filters take the value to test as input.
        return map.pop(mem(vm), helperPtr(vm, r2, map.def.valueSize, map.def.type !== BpfMapType.BLOOM_FILTER), false);
      },
    ],
  ]);
}
