// Cgroup ids from the task model: bpf_get_current_ancestor_cgroup_id, bpf_skb_cgroup_id, bpf_skb_ancestor_cgroup_id.
//
// A test run's skb carries a socket the calling task allocated (sk_alloc charges it to the task's
// cgroup), so the skb's cgroup is the task's: the same model answers both families.

import { BpfFuncId } from '../../isa/uapi.generated.js';
import type { HelperFn } from '../../vm/helpers.js';
import type { HelperEnv } from './env.js';
import { argS32 } from './memory.js';

/** cgroup_ancestor(task cgroup, level)'s id, 0 when there is none (level < 0 or deeper than the task's cgroup). */
function ancestor(env: HelperEnv, level: number): bigint {
  const chain = env.task?.cgroupAncestors;
  if (!chain || level < 0 || level >= chain.length) return 0n;
  return chain[level]!;
}

/** The three helpers, bound to `env.task`. */
export function cgroupIdHelpers(env: HelperEnv): Map<number, HelperFn> {
  return new Map<number, HelperFn>([
    [BpfFuncId.get_current_ancestor_cgroup_id, (vm) => ancestor(env, argS32(vm, 1))],
    [BpfFuncId.skb_cgroup_id, () => env.task?.cgroupId ?? env.task?.cgroupAncestors?.at(-1) ?? 0n],
    [BpfFuncId.skb_ancestor_cgroup_id, (vm) => ancestor(env, argS32(vm, 2))],
  ]);
}
