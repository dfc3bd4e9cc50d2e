// Helpers the userspace runtime refuses on purpose, each with the reason: a program calling one fails at prepare time, naming it.
//
// Every helper a program type may call (src/isa/helper-protos.ts) is either implemented in this
// folder or listed here; test/ctx/refused.test.ts keeps it so, and docs/helpers.md is generated
// from both (scripts/gen-helper-table.ts).

import { BpfkitError, type BpfkitErrorOptions } from '../../errors.js';
import type { HelperName } from '../../isa/helpers.js';

/** Why a helper has no userspace implementation. */
export const REFUSED_HELPERS: Readonly<Partial<Record<HelperName, string>>> = {
  get_current_task: 'returns a kernel pointer to the current task_struct: no userspace meaning',
  get_current_task_btf: 'returns a trusted BTF pointer to the current task_struct: no userspace meaning',
  get_current_ancestor_cgroup_id: "walks the current task's cgroup hierarchy: not modelled (bpf_get_current_cgroup_id is, from the task model)",
  get_ns_current_pid_tgid: 'checks a pid namespace by device and inode numbers: not modelled',
  probe_read_kernel: 'reads arbitrary kernel memory: no userspace meaning',
  probe_read_kernel_str: 'reads arbitrary kernel memory: no userspace meaning',
  probe_read_user: "reads the current task's user memory: no userspace meaning",
  probe_read_user_str: "reads the current task's user memory: no userspace meaning",
  strtol: 'not implemented yet',
  strtoul: 'not implemented yet',
  timer_init: 'BPF timers fire callbacks asynchronously after the run: not modelled',
  timer_set_callback: 'BPF timers fire callbacks asynchronously after the run: not modelled',
  timer_start: 'BPF timers fire callbacks asynchronously after the run: not modelled',
  timer_cancel: 'BPF timers fire callbacks asynchronously after the run: not modelled',
  get_netns_cookie: "the network namespace's cookie is a kernel-assigned counter value: not modelled",
  skb_under_cgroup: "tests skb->sk's cgroup against a cgroup array: cgroups are not modelled",
  skb_cgroup_id: "reports skb->sk's cgroup v2 id: cgroups are not modelled",
  skb_ancestor_cgroup_id: "walks skb->sk's cgroup hierarchy: cgroups are not modelled",
  tcp_check_syncookie: "validates a SYN cookie against the kernel's boot-time secret and clock: a userspace answer would be another cookie",
  tcp_gen_syncookie: "derives a SYN cookie from the kernel's boot-time secret and clock: a userspace answer would be another cookie",
  tcp_raw_gen_syncookie_ipv4: "derives a SYN cookie from the kernel's boot-time secret and clock: a userspace answer would be another cookie",
  tcp_raw_gen_syncookie_ipv6: "derives a SYN cookie from the kernel's boot-time secret and clock: a userspace answer would be another cookie",
  tcp_raw_check_syncookie_ipv4: "validates a SYN cookie against the kernel's boot-time secret and clock: a userspace answer would be another cookie",
  tcp_raw_check_syncookie_ipv6: "validates a SYN cookie against the kernel's boot-time secret and clock: a userspace answer would be another cookie",
  lwt_push_encap: 'encapsulates through the lightweight-tunnel subsystem: not implemented',
};

/** The reason `name` is refused, or undefined when it is not. */
export function refusedReason(name: string): string | undefined {
  return (REFUSED_HELPERS as Readonly<Record<string, string>>)[name];
}

/** A program calls a helper the userspace runtime refuses (see REFUSED_HELPERS), found when it is prepared. */
export class HelperRefusedError extends BpfkitError {
  constructor(
    /** The helper, with its bpf_ prefix (`bpf_tcp_gen_syncookie`). */
    readonly helper: string,
    /** Its id (BPF_FUNC_*). */
    readonly helperId: number,
    /** Why userspace cannot run it. */
    readonly reason: string,
    options?: BpfkitErrorOptions,
  ) {
    super('ERR_HELPER_REFUSED', `${helper} (${helperId}) cannot run in userspace: ${reason}`, options);
  }
}
