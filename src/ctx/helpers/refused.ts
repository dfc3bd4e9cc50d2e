// Helpers the userspace runtime refuses on purpose, each with the reason: a run that reaches a call of one faults there (UnmodelledCallError), naming it.
//
// Every helper a program type may call (src/isa/helper-protos.ts) is either implemented in this
// folder or listed here; test/ctx/refused.test.ts keeps it so, and docs/helpers.md is generated
// from both (scripts/gen-helper-table.ts).

import { BpfkitError, type BpfkitErrorOptions } from '../../errors.js';
import type { HelperName } from '../../isa/helpers.js';

/** Why a helper has no userspace implementation. */
export const REFUSED_HELPERS: Readonly<Partial<Record<HelperName, string>>> = {
  get_current_task_btf: 'returns a trusted BTF pointer to the current task_struct: no userspace meaning',
  timer_init: 'BPF timers fire callbacks asynchronously after the run: not modelled',
  timer_set_callback: 'BPF timers fire callbacks asynchronously after the run: not modelled',
  timer_start: 'BPF timers fire callbacks asynchronously after the run: not modelled',
  timer_cancel: 'BPF timers fire callbacks asynchronously after the run: not modelled',
  get_netns_cookie: "the network namespace's cookie is a kernel-assigned counter value: not modelled",
  tcp_check_syncookie: "validates a SYN cookie against the kernel's boot-time secret and clock: a userspace answer would be another cookie",
  tcp_gen_syncookie: "derives a SYN cookie from the kernel's boot-time secret and clock: a userspace answer would be another cookie",
  tcp_raw_gen_syncookie_ipv4: "derives a SYN cookie from the kernel's boot-time secret and clock: a userspace answer would be another cookie",
  tcp_raw_gen_syncookie_ipv6: "derives a SYN cookie from the kernel's boot-time secret and clock: a userspace answer would be another cookie",
  tcp_raw_check_syncookie_ipv4: "validates a SYN cookie against the kernel's boot-time secret and clock: a userspace answer would be another cookie",
  tcp_raw_check_syncookie_ipv6: "validates a SYN cookie against the kernel's boot-time secret and clock: a userspace answer would be another cookie",
  // Helpers the 6.18 kernel lets xdp, tc or socket filters call for which bpfkit's verifier has
  // no prototype yet (src/isa/helper-protos.ts): a program calling one is refused at verify time.
  perf_event_read: 'reads a hardware perf counter: no userspace meaning (no prototype in bpfkit)',
  perf_event_read_value: 'reads a hardware perf counter: no userspace meaning (no prototype in bpfkit)',
  current_task_under_cgroup: "tests the current task's cgroup: cgroups are not modelled (no prototype in bpfkit)",
  send_signal: 'signals the current task: no userspace meaning (no prototype in bpfkit)',
  send_signal_thread: 'signals the current thread: no userspace meaning (no prototype in bpfkit)',
  skc_to_tcp6_sock: 'a BTF-typed cast of a kernel socket: no prototype in bpfkit',
  skc_to_tcp_sock: 'a BTF-typed cast of a kernel socket: the runtime has no kernel sockets',
  skc_to_tcp_timewait_sock: 'a BTF-typed cast of a kernel socket: no prototype in bpfkit',
  skc_to_tcp_request_sock: 'a BTF-typed cast of a kernel socket: no prototype in bpfkit',
  skc_to_udp6_sock: 'a BTF-typed cast of a kernel socket: no prototype in bpfkit',
  skc_to_unix_sock: 'a BTF-typed cast of a kernel socket: no prototype in bpfkit',
  skc_to_mptcp_sock: 'a BTF-typed cast of a kernel socket: no prototype in bpfkit',
  get_task_stack: "reads a task's kernel stack: no userspace meaning (no prototype in bpfkit)",
  copy_from_user: 'reads user memory (sleepable programs only): no userspace meaning (no prototype in bpfkit)',
  copy_from_user_task: "reads another task's user memory: no userspace meaning (no prototype in bpfkit)",
  snprintf_btf: 'formats a kernel object through BTF: not modelled (no prototype in bpfkit)',
  per_cpu_ptr: 'a per-CPU kernel variable (ksym): no userspace meaning (no prototype in bpfkit)',
  this_cpu_ptr: 'a per-CPU kernel variable (ksym): no userspace meaning (no prototype in bpfkit)',
  task_storage_get: 'task local storage: tasks are not modelled (no prototype in bpfkit)',
  task_storage_delete: 'task local storage: tasks are not modelled (no prototype in bpfkit)',
  cgrp_storage_get: 'cgroup local storage: cgroups are not modelled (no prototype in bpfkit)',
  cgrp_storage_delete: 'cgroup local storage: cgroups are not modelled (no prototype in bpfkit)',
  task_pt_regs: "a task's saved registers: no userspace meaning (no prototype in bpfkit)",
  get_branch_snapshot: 'reads the CPU branch records (LBR): no userspace meaning (no prototype in bpfkit)',
  find_vma: "walks the current task's memory map: no userspace meaning (no prototype in bpfkit)",
  kptr_xchg: 'referenced kernel pointers in map values: no prototype in bpfkit',
  dynptr_from_mem: 'a local dynptr over a map value: not implemented in userspace yet',
  ringbuf_reserve_dynptr: 'ring buffer records through a dynptr: not implemented in userspace yet',
  ringbuf_submit_dynptr: 'ring buffer records through a dynptr: not implemented in userspace yet',
  ringbuf_discard_dynptr: 'ring buffer records through a dynptr: not implemented in userspace yet',
};

/** The reason `name` is refused, or undefined when it is not. */
export function refusedReason(name: string): string | undefined {
  return (REFUSED_HELPERS as Readonly<Record<string, string>>)[name];
}

/**
 * A program calls a helper the userspace runtime refuses (see REFUSED_HELPERS). The runtime no
 * longer throws it (a run that reaches the call faults with UnmodelledCallError instead); kept
 * for callers that build it.
 */
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
