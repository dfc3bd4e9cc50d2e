// Cgroup ids from the task model: bpf_get_current_ancestor_cgroup_id, bpf_skb_cgroup_id, bpf_skb_ancestor_cgroup_id, bpf_sk_cgroup_id, bpf_sk_ancestor_cgroup_id, bpf_skb_under_cgroup.
//
// A test run's skb carries a socket the calling task allocated (sk_alloc charges it to the task's
// cgroup), so the skb's cgroup is the task's: the same model answers both families. A socket a
// program holds (skb->sk, or one a lookup found in the socket model: sockets of the process under
// test) is charged to the task's cgroup too; a time-wait or request socket has no full socket, so
// bpf_sk_cgroup_id / bpf_sk_ancestor_cgroup_id give 0 for it (__bpf_sk_cgroup_id's sk_fullsock).
// bpf_skb_under_cgroup(skb, cgroup array, index): -E2BIG past max_entries, -EAGAIN for an empty
// slot, else 1 when the slot's cgroup id is the task's cgroup or one of its ancestors, 0 otherwise
// (default, no task model: no cgroup chain, so 0).

import { BpfFuncId } from '../../isa/uapi.generated.js';
import type { HelperContext, HelperFn } from '../../vm/helpers.js';
import { TcpState } from '../socket-model.js';
import { BpfSock, BPF_SOCK_SIZE } from '../test-run-sock.js';
import type { HelperEnv } from './env.js';
import { CgroupArray } from '../../maps/cgroup-array.js';
import { MapErrno } from '../../maps/errors.js';
import { argS32, helperPtr } from './memory.js';
import { mapArg } from './map-helpers.js';

/** cgroup_ancestor(task cgroup, level)'s id, 0 when there is none (level < 0 or deeper than the task's cgroup). */
function ancestor(env: HelperEnv, level: number): bigint {
  const chain = env.task?.cgroupAncestors;
  if (!chain || level < 0 || level >= chain.length) return 0n;
  return chain[level]!;
}

/** sk_to_full_sk + sk_fullsock: false for a time-wait or request socket (its bpf_sock state). */
function fullSock(vm: HelperContext, sk: number): boolean {
  const at = helperPtr(vm, sk, BPF_SOCK_SIZE, false);
  const state = vm.space.memory.view.getUint32(at + BpfSock.state, true);
  return state !== TcpState.time_wait && state !== TcpState.new_syn_recv;
}

/** The task's cgroup id (the model's cgroupId, else the last of its ancestors), 0 without a model. */
const taskCgroup = (env: HelperEnv): bigint => env.task?.cgroupId ?? env.task?.cgroupAncestors?.at(-1) ?? 0n;

/** bpf_skb_under_cgroup: whether the skb's cgroup (the task's) descends from the array's cgroup at `index`. */
function skbUnderCgroup(env: HelperEnv): HelperFn {
  return (vm, _skb, mapAddr, index) => {
    const map = mapArg(vm, env, mapAddr, 'bpf_skb_under_cgroup');
    if (!(map instanceof CgroupArray)) return BigInt.asUintN(64, -BigInt(MapErrno.EINVAL));
    const id = map.cgroup(index >>> 0);
    if (id === undefined) return BigInt.asUintN(64, -BigInt(MapErrno.E2BIG));
    if (id === 0) return BigInt.asUintN(64, -BigInt(MapErrno.EAGAIN));
    const chain = [...(env.task?.cgroupAncestors ?? []), ...(env.task?.cgroupId !== undefined ? [env.task.cgroupId] : [])];
    return chain.includes(BigInt(id)) ? 1n : 0n;
  };
}

/** The six helpers, bound to `env.task`. */
export function cgroupIdHelpers(env: HelperEnv): Map<number, HelperFn> {
  return new Map<number, HelperFn>([
    [BpfFuncId.sk_cgroup_id, (vm, r1) => (fullSock(vm, r1) ? taskCgroup(env) : 0n)],
    [BpfFuncId.sk_ancestor_cgroup_id, (vm, r1) => (fullSock(vm, r1) ? ancestor(env, argS32(vm, 2)) : 0n)],
    [BpfFuncId.get_current_ancestor_cgroup_id, (vm) => ancestor(env, argS32(vm, 1))],
    [BpfFuncId.skb_cgroup_id, () => taskCgroup(env)],
    [BpfFuncId.skb_ancestor_cgroup_id, (vm) => ancestor(env, argS32(vm, 2))],
    [BpfFuncId.skb_under_cgroup, skbUnderCgroup(env)],
  ]);
}
