// Helpers whose answer depends on kernel state with no userspace meaning: the model each reads and its default.
//
// docs/helpers.md marks these "modelled" (scripts/gen-helper-table.ts); every other implemented
// helper computes its answer from the program's own memory, packet and maps.

import type { HelperName } from '../../isa/helpers.js';

/** Where a modelled helper's answer comes from. */
export interface HelperModel {
  /** The model and where the user supplies it. */
  readonly model: string;
  /** What the helper answers when the user supplies nothing. */
  readonly default: string;
}

const SOCKETS: HelperModel = {
  model: 'the socket table: `sockets` of loadUserspace/createHelperEnv, `"sockets"` of `--model FILE` (src/ctx/socket-model.ts)',
  default: 'no sockets: NULL, what a test run answers for a tuple nobody listens on or is connected to',
};
const TUNNEL_GET: HelperModel = {
  model: 'the tunnel metadata of received packets: `tunnel` of loadUserspace/createHelperEnv, `"tunnel"` of `--model FILE` (src/ctx/tunnel-model.ts); what the program set with bpf_skb_set_tunnel_key in the same run',
  default: "none, as a test run's skb (no dst): get_tunnel_key -EINVAL, get_tunnel_opt -ENOENT, the buffer zeroed",
};
const TASK: HelperModel = { model: 'the current task: `task` of loadUserspace/createHelperEnv, `"task"` of `--model FILE`', default: 'pid, tgid, uid, gid 0, comm "", cgroup id 0' };
const CLOCK: HelperModel = { model: 'the clocks: `clock` of loadUserspace/createHelperEnv', default: 'a deterministic counter from 1 s, +1 µs per read' };

const KERNEL_MEMORY: HelperModel = {
  model: "kernel memory is the program's own: its stack, packet, context and map values (src/ctx/helpers/probe-read.ts)",
  default: 'any other address: -ERANGE below the kernel half or non-canonical, -EFAULT in it; the buffer zeroed',
};
const USER_MEMORY: HelperModel = { model: 'no user memory is modelled', default: '-EFAULT with the buffer zeroed (a size of 0 at a user address: 0)' };

const CGROUP: HelperModel = { model: "the task's cgroup chain from the root: `task.cgroupAncestors` of createHelperEnv", default: 'unknown: 0 at every level' };

/** The modelled helpers. */
export const MODELLED_HELPERS: Readonly<Partial<Record<HelperName, HelperModel>>> = {
  fib_lookup: {
    model: 'the FIB (routes, neighbours, devices): `fib` of loadUserspace/createHelperEnv, `"fib"` of `--model FILE` (src/ctx/helpers/fib.ts)',
    default: 'an empty FIB: no input device is known, every lookup -ENODEV',
  },
  sk_lookup_tcp: SOCKETS,
  sk_lookup_udp: SOCKETS,
  skc_lookup_tcp: SOCKETS,
  tcp_sock: {
    model: "the socket's `tcp` fields in the socket table (struct bpf_tcp_sock: sequence numbers, RTT, counters are live kernel state)",
    default: "tcp_init_sock's values (snd_cwnd 10, rtt_min ~0, snd_ssthresh 0x7fffffff, mss_cache 536, the rest 0): what a listener reports",
  },
  sk_assign: {
    model: "tc: where the skb is (a test run's skb is not at tc ingress); sk_lookup: the socket model's sockets, found through a sockmap/sockhash whose user-side values are socket indexes (`sockets` of loadUserspace, `\"sockets\"` of `--model FILE`, with `reuseport` and `cookie`)",
    default: 'tc: -EOPNOTSUPP (-EINVAL for flags), as BPF_PROG_TEST_RUN answers; sk_lookup: no sockets, so socket maps stay empty and only NULL is selected',
  },
  skb_get_tunnel_key: TUNNEL_GET,
  skb_get_tunnel_opt: TUNNEL_GET,
  get_current_pid_tgid: TASK,
  get_current_uid_gid: TASK,
  get_current_comm: TASK,
  get_current_cgroup_id: TASK,
  get_current_task: {
    model: "the current task's struct task_struct as the object's BTF lays it out: `pid`, `tgid`, `comm` from `task` of loadUserspace/createHelperEnv (src/ctx/helpers/task-struct.ts)",
    default: 'pid, tgid 0, comm ""; a probe read of any other task_struct field faults (ERR_KERNEL_STRUCT_FIELD), an object without struct task_struct in its BTF faults at the call',
  },
  ktime_get_ns: CLOCK,
  ktime_get_boot_ns: CLOCK,
  ktime_get_coarse_ns: CLOCK,
  ktime_get_tai_ns: { model: 'the clocks: `clock` of loadUserspace/createHelperEnv', default: 'the monotonic counter + 37 s + 1.7e18 ns' },
  jiffies64: { model: 'the monotonic clock and `hz` of createHelperEnv', default: 'monotonic ns × 1000 / 1e9' },
  get_prandom_u32: { model: 'the random source: `random` / `seed` of loadUserspace/createHelperEnv', default: 'xorshift32 seeded with 1' },
  get_current_ancestor_cgroup_id: CGROUP,
  skb_cgroup_id: { model: "the task's cgroup (a test run's skb->sk is the caller's): `task.cgroupId` / `task.cgroupAncestors` of createHelperEnv", default: '0' },
  skb_ancestor_cgroup_id: CGROUP,
  sk_cgroup_id: { model: "the task's cgroup: skb->sk and the model's sockets are the caller's (`task.cgroupId` / `task.cgroupAncestors` of createHelperEnv); 0 for a time-wait or request socket", default: '0' },
  sk_ancestor_cgroup_id: CGROUP,
  skb_under_cgroup: { model: "a cgroup array holds cgroup ids in userspace (a user-side write stores the id, the kernel takes a cgroup fd); 1 when the slot's id is the task's cgroup or an ancestor (`task.cgroupId` / `task.cgroupAncestors` of createHelperEnv)", default: 'no task: 0; empty slot -EAGAIN, index past max_entries -E2BIG' },
  get_ns_current_pid_tgid: { model: 'the current task and its pid namespace: `task.pidNamespace` (st_dev, st_ino of /proc/PID/ns/pid) of createHelperEnv', default: 'no namespace: -EINVAL, the buffer zeroed' },
  probe_read_kernel: KERNEL_MEMORY,
  probe_read_kernel_str: KERNEL_MEMORY,
  probe_read_user: USER_MEMORY,
  probe_read_user_str: { model: 'no user memory is modelled', default: '-EFAULT with the buffer zeroed (size 0: 0)' },
  lwt_push_encap: {
    model: "BPF_LWT_ENCAP_IP: the route's device, which sets the headroom asked for (a test run's lwt_xmit skb routes to the IPv6 null entry on loopback) (src/ctx/helpers/lwt-encap.ts)",
    default: 'loopback; BPF_LWT_ENCAP_SEG6 / SEG6_INLINE (lwt_in) fault at the call (ERR_UNMODELLED_CALL): segment routing is not modelled',
  },
  skb_get_xfrm_state: { model: 'no packet carries IPsec state in userspace (no sec_path), as a test run\'s skb', default: '-EINVAL, the buffer zeroed' },
  get_smp_processor_id: { model: 'the simulated CPU a run is on (`cpu` of a run, `cpus` of loadUserspace)', default: 'CPU 0' },
};

/** The model behind `name`, or undefined when the helper does not depend on modelled kernel state. */
export function helperModel(name: string): HelperModel | undefined {
  return (MODELLED_HELPERS as Readonly<Record<string, HelperModel>>)[name];
}
