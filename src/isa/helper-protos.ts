// Helper prototypes as data: the kernel's bpf_func_proto structs and *_func_proto() switches.
//
// Each row is one kernel `struct bpf_func_proto` (the same helper id may have several: the
// skb and the XDP flavour of bpf_redirect, say) and the program types whose get_func_proto()
// returns it. Sources, read in Linux 6.18: kernel/bpf/helpers.c (bpf_base_func_proto and the
// map, time, string, spin lock and timer protos), kernel/bpf/ringbuf.c, kernel/trace/bpf_trace.c
// (bpf_tracing_func_proto), net/core/filter.c (xdp_func_proto, tc_cls_act_func_proto,
// sk_filter_func_proto, bpf_sk_base_func_proto and the packet protos; cg_skb_func_proto,
// lwt_*_func_proto, flow_dissector_func_proto, sk_lookup_func_proto, sk_reuseport_func_proto, sk_skb/sk_msg/sock_ops_func_proto), net/netfilter/nf_bpf_link.c
// (bpf_nf_func_proto).
//
// Argument and return types are written as the kernel writes them ("ARG_PTR_TO_MEM |
// MEM_RDONLY"); helpers.ts parses and checks every name against the kernel's own enums
// (bpf_arg_type, bpf_return_type, bpf_type_flag in uapi.generated.ts). A fixed size
// (`.argN_size`) is written after a colon: "ARG_PTR_TO_FIXED_SIZE_MEM | MEM_WRITE:4".
//
// Privilege gates (CAP_BPF / CAP_PERFMON in bpf_base_func_proto) are not modelled: the
// program-type lists are those a privileged loader gets.
import type { ProgramTypeName } from './program-types.js';

/** One row of the prototype table, before parsing. */
export interface RawHelperProto {
  /** Helper name without `bpf_` (`'map_lookup_elem'`). */
  readonly helper: string;
  /** The kernel's proto variable (`'bpf_map_lookup_elem_proto'`). */
  readonly proto: string;
  /** `.ret_type`. */
  readonly ret: string;
  /** `.arg1_type` ... `.arg5_type`, in order. */
  readonly args: readonly string[];
  /** `.gpl_only`. */
  readonly gpl?: boolean;
  /** `.pkt_access`: packet pointers may be passed as memory arguments. */
  readonly pkt?: boolean;
  /** `.might_sleep`. */
  readonly sleep?: boolean;
  /** `.ret_btf_id` of a RET_PTR_TO_BTF_ID return: the kernel struct (`task_struct`). */
  readonly retBtf?: string;
  /** Program types whose get_func_proto() returns this proto. */
  readonly progs: readonly ProgramTypeName[];
}

const XDP: readonly ProgramTypeName[] = ['xdp'];
const TC: readonly ProgramTypeName[] = ['sched_cls', 'sched_act'];
const SOCKET: readonly ProgramTypeName[] = ['socket_filter'];
const NET: readonly ProgramTypeName[] = [...XDP, ...TC, ...SOCKET];
/** cg_skb_func_proto(): cgroup_common_func_proto, its own cases, then sk_filter_func_proto. */
const CG_SKB: readonly ProgramTypeName[] = ['cgroup_skb'];
/** lwt_out_func_proto() and the lwt types that fall back to it. */
const LWT: readonly ProgramTypeName[] = ['lwt_in', 'lwt_out', 'lwt_xmit', 'lwt_seg6local'];
const LWT_XMIT: readonly ProgramTypeName[] = ['lwt_xmit'];
const FLOW: readonly ProgramTypeName[] = ['flow_dissector'];
const SK_LOOKUP: readonly ProgramTypeName[] = ['sk_lookup'];
/** sk_reuseport_func_proto(): its own cases, then bpf_base_func_proto(). */
const SK_REUSEPORT: readonly ProgramTypeName[] = ['sk_reuseport'];
/** sk_skb_func_proto(), sk_msg_func_proto(), sock_ops_func_proto(): their own cases, then bpf_sk_base_func_proto(). */
const SK_SKB: readonly ProgramTypeName[] = ['sk_skb'];
const SK_MSG: readonly ProgramTypeName[] = ['sk_msg'];
const SOCK_OPS: readonly ProgramTypeName[] = ['sock_ops'];
const SOCKMAP_PROGS: readonly ProgramTypeName[] = [...SK_SKB, ...SK_MSG, ...SOCK_OPS];
/** sock_filter_func_proto(): cgroup_common and cgroup_current protos, its own cases, then bpf_base_func_proto(). */
const CG_SOCK: readonly ProgramTypeName[] = ['cgroup_sock'];
/** sock_addr_func_proto(): cgroup_common and cgroup_current protos, its own cases, then bpf_sk_base_func_proto(). */
const CG_SOCK_ADDR: readonly ProgramTypeName[] = ['cgroup_sock_addr'];
/** sysctl_func_proto(), cg_sockopt_func_proto(), cgroup_dev_func_proto() (kernel/bpf/cgroup.c): cgroup_common and cgroup_current protos, their own cases, then bpf_base_func_proto(). */
const CG_SYSCTL: readonly ProgramTypeName[] = ['cgroup_sysctl'];
const CG_SOCKOPT: readonly ProgramTypeName[] = ['cgroup_sockopt'];
const CG_DEVICE: readonly ProgramTypeName[] = ['cgroup_device'];
/** The cgroup types whose get_func_proto starts with cgroup_current_func_proto() (the hook runs in the process's context). */
const CG_CURRENT: readonly ProgramTypeName[] = [...CG_SOCK, ...CG_SOCK_ADDR, ...CG_SYSCTL, ...CG_SOCKOPT, ...CG_DEVICE];
/** bpf_nf_func_proto() is bpf_base_func_proto() alone. */
const NETFILTER: readonly ProgramTypeName[] = ['netfilter'];
/** sk_filter_func_proto() users: socket filters and (after their own cases) cgroup_skb. */
const SK_FILTER: readonly ProgramTypeName[] = [...SOCKET, ...CG_SKB];
/** bpf_sk_base_func_proto() users: every networking type but netfilter. */
const SK_BASE: readonly ProgramTypeName[] = [...NET, ...CG_SKB, ...LWT, ...FLOW, ...SK_LOOKUP, ...SOCKMAP_PROGS, ...CG_SOCK_ADDR];
/** raw_tp_prog_func_proto() users: raw tracepoints (writable too), and through tracing_prog_func_proto() the BTF-typed tracing programs and syscall programs. */
const RAW_TP: readonly ProgramTypeName[] = ['raw_tracepoint', 'raw_tracepoint_writable', 'tracing', 'syscall'];
/** bpf_tracing_func_proto() users: kprobe, tracepoint, perf_event and the raw_tp_prog_func_proto() users. */
const TRACING: readonly ProgramTypeName[] = ['kprobe', 'tracepoint', 'perf_event', ...RAW_TP];
/** bpf_base_func_proto(): reachable from every program type modelled here. */
const BASE: readonly ProgramTypeName[] = [...SK_BASE, ...NETFILTER, ...TRACING, ...SK_REUSEPORT, ...CG_SOCK, ...CG_SYSCTL, ...CG_SOCKOPT, ...CG_DEVICE];
/** Types whose get_smp_processor_id / get_cgroup_classid come from bpf_base_func_proto (not an skb-specific case). */
const BASE_ONLY_NET: readonly ProgramTypeName[] = [...SK_FILTER, ...FLOW, ...SK_LOOKUP, ...NETFILTER, ...SK_REUSEPORT, ...SOCKMAP_PROGS, ...CG_CURRENT];

const CTX = 'ARG_PTR_TO_CTX';
const ANY = 'ARG_ANYTHING';
const MAP = 'ARG_CONST_MAP_PTR';
const SIZE = 'ARG_CONST_SIZE';
const SIZE0 = 'ARG_CONST_SIZE_OR_ZERO';
const RO_MEM = 'ARG_PTR_TO_MEM | MEM_RDONLY';
const UNINIT = 'ARG_PTR_TO_UNINIT_MEM';
const INT = 'RET_INTEGER';

/** The prototype table. Order: base helpers, tracing, then packet helpers by family. */
export const RAW_HELPER_PROTOS: readonly RawHelperProto[] = [
  // --- kernel/bpf/helpers.c, bpf_base_func_proto() -------------------------------------
  { helper: 'map_lookup_elem', proto: 'bpf_map_lookup_elem_proto', ret: 'RET_PTR_TO_MAP_VALUE_OR_NULL', args: [MAP, 'ARG_PTR_TO_MAP_KEY'], pkt: true, progs: BASE },
  { helper: 'map_update_elem', proto: 'bpf_map_update_elem_proto', ret: INT, args: [MAP, 'ARG_PTR_TO_MAP_KEY', 'ARG_PTR_TO_MAP_VALUE', ANY], pkt: true, progs: BASE },
  { helper: 'map_delete_elem', proto: 'bpf_map_delete_elem_proto', ret: INT, args: [MAP, 'ARG_PTR_TO_MAP_KEY'], pkt: true, progs: BASE },
  { helper: 'map_push_elem', proto: 'bpf_map_push_elem_proto', ret: INT, args: [MAP, 'ARG_PTR_TO_MAP_VALUE', ANY], pkt: true, progs: BASE },
  { helper: 'map_pop_elem', proto: 'bpf_map_pop_elem_proto', ret: INT, args: [MAP, 'ARG_PTR_TO_MAP_VALUE | MEM_UNINIT | MEM_WRITE'], progs: BASE },
  { helper: 'map_peek_elem', proto: 'bpf_map_peek_elem_proto', ret: INT, args: [MAP, 'ARG_PTR_TO_MAP_VALUE | MEM_UNINIT | MEM_WRITE'], progs: BASE },
  { helper: 'map_lookup_percpu_elem', proto: 'bpf_map_lookup_percpu_elem_proto', ret: 'RET_PTR_TO_MAP_VALUE_OR_NULL', args: [MAP, 'ARG_PTR_TO_MAP_KEY', ANY], pkt: true, progs: BASE },
  { helper: 'get_prandom_u32', proto: 'bpf_get_prandom_u32_proto', ret: INT, args: [], progs: BASE },
  { helper: 'get_smp_processor_id', proto: 'bpf_get_smp_processor_id_proto', ret: INT, args: [], progs: [...XDP, ...TC, ...LWT] },
  { helper: 'get_smp_processor_id', proto: 'bpf_get_raw_smp_processor_id_proto', ret: INT, args: [], progs: [...BASE_ONLY_NET, ...TRACING] },
  { helper: 'get_numa_node_id', proto: 'bpf_get_numa_node_id_proto', ret: INT, args: [], progs: BASE },
  { helper: 'tail_call', proto: 'bpf_tail_call_proto', ret: 'RET_VOID', args: [CTX, MAP, ANY], progs: BASE },
  { helper: 'ktime_get_ns', proto: 'bpf_ktime_get_ns_proto', ret: INT, args: [], progs: BASE },
  { helper: 'ktime_get_boot_ns', proto: 'bpf_ktime_get_boot_ns_proto', ret: INT, args: [], progs: BASE },
  { helper: 'ktime_get_tai_ns', proto: 'bpf_ktime_get_tai_ns_proto', ret: INT, args: [], progs: BASE },
  // bpf_tracing_func_proto() returns NULL for ktime_get_coarse_ns: not NMI safe; bpf_sk_base_func_proto() has it.
  { helper: 'ktime_get_coarse_ns', proto: 'bpf_ktime_get_coarse_ns_proto', ret: INT, args: [], progs: [...SK_BASE, ...SK_REUSEPORT, ...CG_SOCK, ...CG_SYSCTL] },
  { helper: 'jiffies64', proto: 'bpf_jiffies64_proto', ret: INT, args: [], progs: BASE },
  { helper: 'get_current_pid_tgid', proto: 'bpf_get_current_pid_tgid_proto', ret: INT, args: [], progs: BASE },
  { helper: 'get_current_uid_gid', proto: 'bpf_get_current_uid_gid_proto', ret: INT, args: [], progs: BASE },
  { helper: 'get_current_comm', proto: 'bpf_get_current_comm_proto', ret: INT, args: [UNINIT, SIZE], progs: BASE },
  { helper: 'get_current_cgroup_id', proto: 'bpf_get_current_cgroup_id_proto', ret: INT, args: [], progs: BASE },
  { helper: 'get_current_ancestor_cgroup_id', proto: 'bpf_get_current_ancestor_cgroup_id_proto', ret: INT, args: [ANY], progs: BASE },
  { helper: 'get_current_task', proto: 'bpf_get_current_task_proto', ret: INT, args: [], gpl: true, progs: BASE },
  // tracing_prog_func_proto (tracing programs, and syscall programs through syscall_prog_func_proto) has it too.
  { helper: 'get_current_task_btf', proto: 'bpf_get_current_task_btf_proto', ret: 'RET_PTR_TO_BTF_ID_TRUSTED', retBtf: 'task_struct', args: [], gpl: true, progs: [...BASE, 'tracing', 'syscall'] },
  { helper: 'get_ns_current_pid_tgid', proto: 'bpf_get_ns_current_pid_tgid_proto', ret: INT, args: [ANY, ANY, UNINIT, SIZE], progs: BASE },
  { helper: 'spin_lock', proto: 'bpf_spin_lock_proto', ret: 'RET_VOID', args: ['ARG_PTR_TO_SPIN_LOCK'], progs: BASE },
  { helper: 'spin_unlock', proto: 'bpf_spin_unlock_proto', ret: 'RET_VOID', args: ['ARG_PTR_TO_SPIN_LOCK'], progs: BASE },
  { helper: 'strtol', proto: 'bpf_strtol_proto', ret: INT, args: [RO_MEM, SIZE, ANY, 'ARG_PTR_TO_FIXED_SIZE_MEM | MEM_UNINIT | MEM_WRITE | MEM_ALIGNED:8'], progs: BASE },
  { helper: 'strtoul', proto: 'bpf_strtoul_proto', ret: INT, args: [RO_MEM, SIZE, ANY, 'ARG_PTR_TO_FIXED_SIZE_MEM | MEM_UNINIT | MEM_WRITE | MEM_ALIGNED:8'], progs: BASE },
  { helper: 'strncmp', proto: 'bpf_strncmp_proto', ret: INT, args: [RO_MEM, SIZE, 'ARG_PTR_TO_CONST_STR'], progs: BASE },
  { helper: 'snprintf', proto: 'bpf_snprintf_proto', ret: INT, args: ['ARG_PTR_TO_MEM_OR_NULL', SIZE0, 'ARG_PTR_TO_CONST_STR', 'ARG_PTR_TO_MEM | PTR_MAYBE_NULL | MEM_RDONLY', SIZE0], gpl: true, progs: BASE },
  { helper: 'trace_printk', proto: 'bpf_trace_printk_proto', ret: INT, args: [RO_MEM, SIZE], gpl: true, progs: BASE },
  { helper: 'trace_vprintk', proto: 'bpf_trace_vprintk_proto', ret: INT, args: [RO_MEM, SIZE, 'ARG_PTR_TO_MEM | PTR_MAYBE_NULL | MEM_RDONLY', SIZE0], gpl: true, progs: BASE },
  { helper: 'probe_read_kernel', proto: 'bpf_probe_read_kernel_proto', ret: INT, args: [UNINIT, SIZE0, ANY], gpl: true, progs: BASE },
  { helper: 'probe_read_kernel_str', proto: 'bpf_probe_read_kernel_str_proto', ret: INT, args: [UNINIT, SIZE0, ANY], gpl: true, progs: BASE },
  { helper: 'probe_read_user', proto: 'bpf_probe_read_user_proto', ret: INT, args: [UNINIT, SIZE0, ANY], gpl: true, progs: BASE },
  { helper: 'probe_read_user_str', proto: 'bpf_probe_read_user_str_proto', ret: INT, args: [UNINIT, SIZE0, ANY], gpl: true, progs: BASE },
  { helper: 'for_each_map_elem', proto: 'bpf_for_each_map_elem_proto', ret: INT, args: [MAP, 'ARG_PTR_TO_FUNC', 'ARG_PTR_TO_STACK_OR_NULL', ANY], progs: BASE },
  { helper: 'loop', proto: 'bpf_loop_proto', ret: INT, args: [ANY, 'ARG_PTR_TO_FUNC', 'ARG_PTR_TO_STACK_OR_NULL', ANY], progs: BASE },
  { helper: 'timer_init', proto: 'bpf_timer_init_proto', ret: INT, args: ['ARG_PTR_TO_TIMER', MAP, ANY], gpl: true, progs: BASE },
  { helper: 'timer_set_callback', proto: 'bpf_timer_set_callback_proto', ret: INT, args: ['ARG_PTR_TO_TIMER', 'ARG_PTR_TO_FUNC'], gpl: true, progs: BASE },
  { helper: 'timer_start', proto: 'bpf_timer_start_proto', ret: INT, args: ['ARG_PTR_TO_TIMER', ANY, ANY], gpl: true, progs: BASE },
  { helper: 'timer_cancel', proto: 'bpf_timer_cancel_proto', ret: INT, args: ['ARG_PTR_TO_TIMER'], gpl: true, progs: BASE },
  { helper: 'dynptr_from_mem', proto: 'bpf_dynptr_from_mem_proto', ret: INT, args: [UNINIT, SIZE0, ANY, 'ARG_PTR_TO_DYNPTR | DYNPTR_TYPE_LOCAL | MEM_UNINIT | MEM_WRITE'], progs: BASE },
  { helper: 'dynptr_read', proto: 'bpf_dynptr_read_proto', ret: INT, args: [UNINIT, SIZE0, 'ARG_PTR_TO_DYNPTR | MEM_RDONLY', ANY, ANY], progs: BASE },
  { helper: 'dynptr_write', proto: 'bpf_dynptr_write_proto', ret: INT, args: ['ARG_PTR_TO_DYNPTR | MEM_RDONLY', ANY, RO_MEM, SIZE0, ANY], progs: BASE },
  { helper: 'dynptr_data', proto: 'bpf_dynptr_data_proto', ret: 'RET_PTR_TO_DYNPTR_MEM_OR_NULL', args: ['ARG_PTR_TO_DYNPTR | MEM_RDONLY', ANY, 'ARG_CONST_ALLOC_SIZE_OR_ZERO'], progs: BASE },
  // --- kernel/bpf/ringbuf.c ---------------------------------------------------------------
  { helper: 'ringbuf_output', proto: 'bpf_ringbuf_output_proto', ret: INT, args: [MAP, RO_MEM, SIZE0, ANY], progs: BASE },
  { helper: 'ringbuf_reserve', proto: 'bpf_ringbuf_reserve_proto', ret: 'RET_PTR_TO_RINGBUF_MEM_OR_NULL', args: [MAP, 'ARG_CONST_ALLOC_SIZE_OR_ZERO', ANY], progs: BASE },
  { helper: 'ringbuf_submit', proto: 'bpf_ringbuf_submit_proto', ret: 'RET_VOID', args: ['ARG_PTR_TO_RINGBUF_MEM | OBJ_RELEASE', ANY], progs: BASE },
  { helper: 'ringbuf_discard', proto: 'bpf_ringbuf_discard_proto', ret: 'RET_VOID', args: ['ARG_PTR_TO_RINGBUF_MEM | OBJ_RELEASE', ANY], progs: BASE },
  { helper: 'ringbuf_query', proto: 'bpf_ringbuf_query_proto', ret: INT, args: [MAP, ANY], progs: BASE },
  { helper: 'ringbuf_reserve_dynptr', proto: 'bpf_ringbuf_reserve_dynptr_proto', ret: INT, args: [MAP, ANY, ANY, 'ARG_PTR_TO_DYNPTR | DYNPTR_TYPE_RINGBUF | MEM_UNINIT | MEM_WRITE'], progs: BASE },
  { helper: 'ringbuf_submit_dynptr', proto: 'bpf_ringbuf_submit_dynptr_proto', ret: 'RET_VOID', args: ['ARG_PTR_TO_DYNPTR | DYNPTR_TYPE_RINGBUF | OBJ_RELEASE', ANY], progs: BASE },
  { helper: 'ringbuf_discard_dynptr', proto: 'bpf_ringbuf_discard_dynptr_proto', ret: 'RET_VOID', args: ['ARG_PTR_TO_DYNPTR | DYNPTR_TYPE_RINGBUF | OBJ_RELEASE', ANY], progs: BASE },
  { helper: 'user_ringbuf_drain', proto: 'bpf_user_ringbuf_drain_proto', ret: INT, args: [MAP, 'ARG_PTR_TO_FUNC', 'ARG_PTR_TO_STACK_OR_NULL', ANY], progs: BASE },
  // --- kernel/trace/bpf_trace.c, bpf_tracing_func_proto() ---------------------------------
  { helper: 'perf_event_output', proto: 'bpf_perf_event_output_proto', ret: INT, args: [CTX, MAP, ANY, RO_MEM, SIZE0], gpl: true, progs: ['kprobe'] },
  { helper: 'perf_event_output', proto: 'bpf_perf_event_output_proto_tp', ret: INT, args: [CTX, MAP, ANY, RO_MEM, SIZE0], gpl: true, progs: ['tracepoint'] },
  { helper: 'get_stackid', proto: 'bpf_get_stackid_proto', ret: INT, args: [CTX, MAP, ANY], gpl: true, progs: ['kprobe'] },
  { helper: 'get_stackid', proto: 'bpf_get_stackid_proto_tp', ret: INT, args: [CTX, MAP, ANY], gpl: true, progs: ['tracepoint'] },
  // raw_tp_prog_func_proto().
  { helper: 'perf_event_output', proto: 'bpf_perf_event_output_proto_raw_tp', ret: INT, args: [CTX, MAP, ANY, RO_MEM, SIZE0], gpl: true, progs: RAW_TP },
  { helper: 'get_stackid', proto: 'bpf_get_stackid_proto_raw_tp', ret: INT, args: [CTX, MAP, ANY], gpl: true, progs: RAW_TP },
  // bpf_get_stack: the program's stack into a buffer (r0 refined to [-MAX_ERRNO, size]); per context flavour.
  { helper: 'get_stack', proto: 'bpf_get_stack_proto', ret: INT, args: [CTX, UNINIT, SIZE0, ANY], gpl: true, progs: ['kprobe'] },
  { helper: 'get_stack', proto: 'bpf_get_stack_proto_tp', ret: INT, args: [CTX, UNINIT, SIZE0, ANY], gpl: true, progs: ['tracepoint'] },
  { helper: 'get_stack', proto: 'bpf_get_stack_proto_raw_tp', ret: INT, args: [CTX, UNINIT, SIZE0, ANY], gpl: true, progs: RAW_TP },
  { helper: 'get_stack', proto: 'bpf_get_stack_proto_pe', ret: INT, args: [CTX, UNINIT, SIZE0, ANY], gpl: true, progs: ['perf_event'] },
  { helper: 'probe_read', proto: 'bpf_probe_read_compat_proto', ret: INT, args: [UNINIT, SIZE0, ANY], gpl: true, progs: TRACING },
  { helper: 'probe_read_str', proto: 'bpf_probe_read_compat_str_proto', ret: INT, args: [UNINIT, SIZE0, ANY], gpl: true, progs: TRACING },
  // --- net/core/filter.c: XDP (xdp_func_proto) -------------------------------------------
  { helper: 'perf_event_output', proto: 'bpf_xdp_event_output_proto', ret: INT, args: [CTX, MAP, ANY, RO_MEM, SIZE0], gpl: true, progs: XDP },
  { helper: 'xdp_adjust_head', proto: 'bpf_xdp_adjust_head_proto', ret: INT, args: [CTX, ANY], progs: XDP },
  { helper: 'xdp_adjust_tail', proto: 'bpf_xdp_adjust_tail_proto', ret: INT, args: [CTX, ANY], progs: XDP },
  { helper: 'xdp_adjust_meta', proto: 'bpf_xdp_adjust_meta_proto', ret: INT, args: [CTX, ANY], progs: XDP },
  { helper: 'redirect', proto: 'bpf_xdp_redirect_proto', ret: INT, args: [ANY, ANY], progs: XDP },
  { helper: 'redirect_map', proto: 'bpf_xdp_redirect_map_proto', ret: INT, args: [MAP, ANY, ANY], progs: XDP },
  { helper: 'xdp_get_buff_len', proto: 'bpf_xdp_get_buff_len_proto', ret: INT, args: [CTX], progs: XDP },
  { helper: 'xdp_load_bytes', proto: 'bpf_xdp_load_bytes_proto', ret: INT, args: [CTX, ANY, UNINIT, SIZE], progs: XDP },
  { helper: 'xdp_store_bytes', proto: 'bpf_xdp_store_bytes_proto', ret: INT, args: [CTX, ANY, RO_MEM, SIZE], progs: XDP },
  { helper: 'fib_lookup', proto: 'bpf_xdp_fib_lookup_proto', ret: INT, args: [CTX, 'ARG_PTR_TO_MEM', SIZE, ANY], gpl: true, progs: XDP },
  { helper: 'check_mtu', proto: 'bpf_xdp_check_mtu_proto', ret: INT, args: [CTX, ANY, 'ARG_PTR_TO_FIXED_SIZE_MEM | MEM_WRITE | MEM_ALIGNED:4', ANY, ANY], progs: XDP },
  { helper: 'sk_lookup_tcp', proto: 'bpf_xdp_sk_lookup_tcp_proto', ret: 'RET_PTR_TO_SOCKET_OR_NULL', args: [CTX, RO_MEM, SIZE, ANY, ANY], pkt: true, progs: XDP },
  { helper: 'sk_lookup_udp', proto: 'bpf_xdp_sk_lookup_udp_proto', ret: 'RET_PTR_TO_SOCKET_OR_NULL', args: [CTX, RO_MEM, SIZE, ANY, ANY], pkt: true, progs: XDP },
  { helper: 'skc_lookup_tcp', proto: 'bpf_xdp_skc_lookup_tcp_proto', ret: 'RET_PTR_TO_SOCK_COMMON_OR_NULL', args: [CTX, RO_MEM, SIZE, ANY, ANY], pkt: true, progs: XDP },
  // --- shared by XDP and TC ------------------------------------------------------------------
  { helper: 'csum_diff', proto: 'bpf_csum_diff_proto', ret: INT, args: ['ARG_PTR_TO_MEM | PTR_MAYBE_NULL | MEM_RDONLY', SIZE0, 'ARG_PTR_TO_MEM | PTR_MAYBE_NULL | MEM_RDONLY', SIZE0, ANY], pkt: true, progs: [...XDP, ...TC, ...LWT] },
  // bpf_sk_base_func_proto (CAP_PERFMON): a socket's BTF-typed view as a TCP socket, NULL when it is not one.
  { helper: 'skc_to_tcp_sock', proto: 'bpf_skc_to_tcp_sock_proto', ret: 'RET_PTR_TO_BTF_ID_OR_NULL', retBtf: 'tcp_sock', args: ['ARG_PTR_TO_BTF_ID_SOCK_COMMON'], progs: SK_BASE },
  { helper: 'sk_release', proto: 'bpf_sk_release_proto', ret: INT, args: ['ARG_PTR_TO_BTF_ID_SOCK_COMMON | OBJ_RELEASE'], progs: [...XDP, ...TC, ...CG_SKB, ...SK_LOOKUP, ...SK_SKB, ...CG_SOCK_ADDR] },
  { helper: 'tcp_check_syncookie', proto: 'bpf_tcp_check_syncookie_proto', ret: INT, args: ['ARG_PTR_TO_BTF_ID_SOCK_COMMON', RO_MEM, SIZE, RO_MEM, SIZE], gpl: true, pkt: true, progs: [...XDP, ...TC] },
  { helper: 'tcp_gen_syncookie', proto: 'bpf_tcp_gen_syncookie_proto', ret: INT, args: ['ARG_PTR_TO_BTF_ID_SOCK_COMMON', RO_MEM, SIZE, RO_MEM, SIZE], gpl: true, pkt: true, progs: [...XDP, ...TC] },
  { helper: 'tcp_raw_gen_syncookie_ipv4', proto: 'bpf_tcp_raw_gen_syncookie_ipv4_proto', ret: INT, args: ['ARG_PTR_TO_FIXED_SIZE_MEM | MEM_RDONLY:20', RO_MEM, SIZE0], gpl: true, pkt: true, progs: [...XDP, ...TC] },
  { helper: 'tcp_raw_gen_syncookie_ipv6', proto: 'bpf_tcp_raw_gen_syncookie_ipv6_proto', ret: INT, args: ['ARG_PTR_TO_FIXED_SIZE_MEM | MEM_RDONLY:40', RO_MEM, SIZE0], gpl: true, pkt: true, progs: [...XDP, ...TC] },
  { helper: 'tcp_raw_check_syncookie_ipv4', proto: 'bpf_tcp_raw_check_syncookie_ipv4_proto', ret: INT, args: ['ARG_PTR_TO_FIXED_SIZE_MEM | MEM_RDONLY:20', 'ARG_PTR_TO_FIXED_SIZE_MEM | MEM_RDONLY:20'], gpl: true, pkt: true, progs: [...XDP, ...TC] },
  { helper: 'tcp_raw_check_syncookie_ipv6', proto: 'bpf_tcp_raw_check_syncookie_ipv6_proto', ret: INT, args: ['ARG_PTR_TO_FIXED_SIZE_MEM | MEM_RDONLY:40', 'ARG_PTR_TO_FIXED_SIZE_MEM | MEM_RDONLY:20'], gpl: true, pkt: true, progs: [...XDP, ...TC] },
  // --- net/core/filter.c: TC (tc_cls_act_func_proto) -------------------------------------
  { helper: 'perf_event_output', proto: 'bpf_skb_event_output_proto', ret: INT, args: [CTX, MAP, ANY, RO_MEM, SIZE0], gpl: true, progs: [...TC, ...SK_FILTER, ...LWT, ...SK_SKB] },
  { helper: 'skb_store_bytes', proto: 'bpf_skb_store_bytes_proto', ret: INT, args: [CTX, ANY, RO_MEM, SIZE, ANY], progs: [...TC, ...LWT_XMIT, ...SK_SKB] },
  { helper: 'skb_load_bytes', proto: 'bpf_skb_load_bytes_proto', ret: INT, args: [CTX, ANY, UNINIT, SIZE], progs: [...TC, ...SK_FILTER, ...LWT, ...SK_SKB] },
  { helper: 'skb_load_bytes_relative', proto: 'bpf_skb_load_bytes_relative_proto', ret: INT, args: [CTX, ANY, UNINIT, SIZE, ANY], progs: [...TC, ...SK_FILTER] },
  { helper: 'skb_pull_data', proto: 'bpf_skb_pull_data_proto', ret: INT, args: [CTX, ANY], progs: [...TC, ...LWT] },
  { helper: 'csum_update', proto: 'bpf_csum_update_proto', ret: INT, args: [CTX, ANY], progs: [...TC, ...LWT_XMIT] },
  { helper: 'csum_level', proto: 'bpf_csum_level_proto', ret: INT, args: [CTX, ANY], progs: [...TC, ...LWT_XMIT] },
  { helper: 'l3_csum_replace', proto: 'bpf_l3_csum_replace_proto', ret: INT, args: [CTX, ANY, ANY, ANY, ANY], progs: [...TC, ...LWT_XMIT] },
  { helper: 'l4_csum_replace', proto: 'bpf_l4_csum_replace_proto', ret: INT, args: [CTX, ANY, ANY, ANY, ANY], progs: [...TC, ...LWT_XMIT] },
  { helper: 'clone_redirect', proto: 'bpf_clone_redirect_proto', ret: INT, args: [CTX, ANY, ANY], progs: [...TC, ...LWT_XMIT] },
  { helper: 'get_cgroup_classid', proto: 'bpf_get_cgroup_classid_proto', ret: INT, args: [CTX], progs: [...TC, ...LWT] },
  { helper: 'get_cgroup_classid', proto: 'bpf_get_cgroup_classid_curr_proto', ret: INT, args: [], progs: [...XDP, ...BASE_ONLY_NET, ...TRACING] },
  { helper: 'skb_vlan_push', proto: 'bpf_skb_vlan_push_proto', ret: INT, args: [CTX, ANY, ANY], progs: TC },
  { helper: 'skb_vlan_pop', proto: 'bpf_skb_vlan_pop_proto', ret: INT, args: [CTX], progs: TC },
  { helper: 'skb_change_proto', proto: 'bpf_skb_change_proto_proto', ret: INT, args: [CTX, ANY, ANY], progs: TC },
  { helper: 'skb_change_type', proto: 'bpf_skb_change_type_proto', ret: INT, args: [CTX, ANY], progs: TC },
  { helper: 'skb_adjust_room', proto: 'bpf_skb_adjust_room_proto', ret: INT, args: [CTX, ANY, ANY, ANY], progs: TC },
  { helper: 'skb_change_tail', proto: 'bpf_skb_change_tail_proto', ret: INT, args: [CTX, ANY, ANY], progs: [...TC, ...LWT_XMIT] },
  { helper: 'skb_change_head', proto: 'bpf_skb_change_head_proto', ret: INT, args: [CTX, ANY, ANY], progs: [...TC, ...LWT_XMIT] },
  { helper: 'skb_get_tunnel_key', proto: 'bpf_skb_get_tunnel_key_proto', ret: INT, args: [CTX, UNINIT, SIZE, ANY], progs: [...TC, ...LWT_XMIT] },
  { helper: 'skb_set_tunnel_key', proto: 'bpf_skb_set_tunnel_key_proto', ret: INT, args: [CTX, RO_MEM, SIZE, ANY], progs: [...TC, ...LWT_XMIT] },
  { helper: 'skb_get_tunnel_opt', proto: 'bpf_skb_get_tunnel_opt_proto', ret: INT, args: [CTX, UNINIT, SIZE], progs: [...TC, ...LWT_XMIT] },
  { helper: 'skb_set_tunnel_opt', proto: 'bpf_skb_set_tunnel_opt_proto', ret: INT, args: [CTX, RO_MEM, SIZE], progs: [...TC, ...LWT_XMIT] },
  { helper: 'redirect', proto: 'bpf_redirect_proto', ret: INT, args: [ANY, ANY], progs: [...TC, ...LWT_XMIT] },
  { helper: 'redirect_neigh', proto: 'bpf_redirect_neigh_proto', ret: INT, args: [ANY, 'ARG_PTR_TO_MEM | PTR_MAYBE_NULL | MEM_RDONLY', SIZE0, ANY], progs: TC },
  { helper: 'redirect_peer', proto: 'bpf_redirect_peer_proto', ret: INT, args: [ANY, ANY], progs: TC },
  { helper: 'get_route_realm', proto: 'bpf_get_route_realm_proto', ret: INT, args: [CTX], progs: [...TC, ...LWT] },
  { helper: 'get_hash_recalc', proto: 'bpf_get_hash_recalc_proto', ret: INT, args: [CTX], progs: [...TC, ...LWT] },
  { helper: 'set_hash_invalid', proto: 'bpf_set_hash_invalid_proto', ret: INT, args: [CTX], progs: [...TC, ...LWT_XMIT] },
  { helper: 'set_hash', proto: 'bpf_set_hash_proto', ret: INT, args: [CTX, ANY], progs: TC },
  { helper: 'skb_under_cgroup', proto: 'bpf_skb_under_cgroup_proto', ret: INT, args: [CTX, MAP, ANY], progs: [...TC, ...LWT] },
  { helper: 'get_socket_cookie', proto: 'bpf_get_socket_cookie_proto', ret: INT, args: [CTX], progs: [...TC, ...SK_FILTER, ...SK_SKB] },
  { helper: 'get_netns_cookie', proto: 'bpf_get_netns_cookie_proto', ret: INT, args: ['ARG_PTR_TO_CTX_OR_NULL'], progs: [...TC, ...SK_FILTER] },
  { helper: 'get_socket_uid', proto: 'bpf_get_socket_uid_proto', ret: INT, args: [CTX], progs: [...TC, ...SK_FILTER, ...SK_SKB] },
  { helper: 'fib_lookup', proto: 'bpf_skb_fib_lookup_proto', ret: INT, args: [CTX, 'ARG_PTR_TO_MEM', SIZE, ANY], gpl: true, progs: TC },
  { helper: 'check_mtu', proto: 'bpf_skb_check_mtu_proto', ret: INT, args: [CTX, ANY, 'ARG_PTR_TO_FIXED_SIZE_MEM | MEM_WRITE | MEM_ALIGNED:4', ANY, ANY], progs: TC },
  { helper: 'sk_fullsock', proto: 'bpf_sk_fullsock_proto', ret: 'RET_PTR_TO_SOCKET_OR_NULL', args: ['ARG_PTR_TO_SOCK_COMMON'], progs: [...TC, ...CG_SKB] },
  { helper: 'skb_cgroup_classid', proto: 'bpf_skb_cgroup_classid_proto', ret: INT, args: [CTX], progs: TC },
  { helper: 'skb_cgroup_id', proto: 'bpf_skb_cgroup_id_proto', ret: INT, args: [CTX], progs: [...TC, ...CG_SKB] },
  { helper: 'skb_ancestor_cgroup_id', proto: 'bpf_skb_ancestor_cgroup_id_proto', ret: INT, args: [CTX, ANY], progs: [...TC, ...CG_SKB] },
  { helper: 'sk_lookup_tcp', proto: 'bpf_tc_sk_lookup_tcp_proto', ret: 'RET_PTR_TO_SOCKET_OR_NULL', args: [CTX, RO_MEM, SIZE, ANY, ANY], pkt: true, progs: TC },
  { helper: 'sk_lookup_udp', proto: 'bpf_tc_sk_lookup_udp_proto', ret: 'RET_PTR_TO_SOCKET_OR_NULL', args: [CTX, RO_MEM, SIZE, ANY, ANY], pkt: true, progs: TC },
  { helper: 'skc_lookup_tcp', proto: 'bpf_tc_skc_lookup_tcp_proto', ret: 'RET_PTR_TO_SOCK_COMMON_OR_NULL', args: [CTX, RO_MEM, SIZE, ANY, ANY], pkt: true, progs: TC },
  { helper: 'tcp_sock', proto: 'bpf_tcp_sock_proto', ret: 'RET_PTR_TO_TCP_SOCK_OR_NULL', args: ['ARG_PTR_TO_SOCK_COMMON'], progs: [...TC, ...CG_SKB, ...SOCK_OPS, ...CG_SOCKOPT] },
  { helper: 'get_listener_sock', proto: 'bpf_get_listener_sock_proto', ret: 'RET_PTR_TO_SOCKET_OR_NULL', args: ['ARG_PTR_TO_SOCK_COMMON'], progs: [...TC, ...CG_SKB] },
  { helper: 'skb_ecn_set_ce', proto: 'bpf_skb_ecn_set_ce_proto', ret: INT, args: [CTX], progs: [...TC, ...CG_SKB] },
  { helper: 'sk_assign', proto: 'bpf_sk_assign_proto', ret: INT, args: [CTX, 'ARG_PTR_TO_BTF_ID_SOCK_COMMON', ANY], progs: TC },
  // --- net/core/bpf_sk_storage.c: socket local storage (tc_cls_act and cg_skb_func_proto) -----
  { helper: 'sk_storage_get', proto: 'bpf_sk_storage_get_proto', ret: 'RET_PTR_TO_MAP_VALUE_OR_NULL', args: [MAP, 'ARG_PTR_TO_BTF_ID_SOCK_COMMON', 'ARG_PTR_TO_MAP_VALUE_OR_NULL', ANY], progs: [...TC, ...CG_SKB, ...SK_MSG, ...SOCK_OPS, ...CG_SOCK_ADDR, ...CG_SOCKOPT] },
  { helper: 'sk_storage_delete', proto: 'bpf_sk_storage_delete_proto', ret: INT, args: [MAP, 'ARG_PTR_TO_BTF_ID_SOCK_COMMON'], progs: [...TC, ...CG_SKB, ...SK_MSG, ...SOCK_OPS, ...CG_SOCK_ADDR, ...CG_SOCKOPT] },
  // --- kernel/bpf/cgroup.c: cgroup_common_func_proto (cgroup program types) ----------------------
  { helper: 'get_local_storage', proto: 'bpf_get_local_storage_proto', ret: 'RET_PTR_TO_MAP_VALUE', args: [MAP, ANY], progs: [...CG_SKB, ...SOCK_OPS, ...CG_CURRENT] },
  // --- net/core/filter.c: cgroup_skb (cg_skb_func_proto): the non-tc socket lookups ---------
  { helper: 'sk_lookup_tcp', proto: 'bpf_sk_lookup_tcp_proto', ret: 'RET_PTR_TO_SOCKET_OR_NULL', args: [CTX, RO_MEM, SIZE, ANY, ANY], pkt: true, progs: [...CG_SKB, ...SK_SKB] },
  { helper: 'sk_lookup_udp', proto: 'bpf_sk_lookup_udp_proto', ret: 'RET_PTR_TO_SOCKET_OR_NULL', args: [CTX, RO_MEM, SIZE, ANY, ANY], pkt: true, progs: [...CG_SKB, ...SK_SKB] },
  { helper: 'skc_lookup_tcp', proto: 'bpf_skc_lookup_tcp_proto', ret: 'RET_PTR_TO_SOCK_COMMON_OR_NULL', args: [CTX, RO_MEM, SIZE, ANY, ANY], pkt: true, progs: [...CG_SKB, ...SK_SKB] },
  { helper: 'sk_cgroup_id', proto: 'bpf_sk_cgroup_id_proto', ret: INT, args: ['ARG_PTR_TO_BTF_ID_SOCK_COMMON'], progs: CG_SKB },
  { helper: 'sk_ancestor_cgroup_id', proto: 'bpf_sk_ancestor_cgroup_id_proto', ret: INT, args: ['ARG_PTR_TO_BTF_ID_SOCK_COMMON', ANY], progs: CG_SKB },
  // --- net/core/filter.c: lwt (lwt_in/out/xmit_func_proto) -----------------------------------
  { helper: 'lwt_push_encap', proto: 'bpf_lwt_in_push_encap_proto', ret: INT, args: [CTX, ANY, RO_MEM, SIZE], progs: ['lwt_in'] },
  { helper: 'lwt_push_encap', proto: 'bpf_lwt_xmit_push_encap_proto', ret: INT, args: [CTX, ANY, RO_MEM, SIZE], progs: LWT_XMIT },
  // --- net/core/filter.c: flow dissector (flow_dissector_func_proto) -------------------------
  { helper: 'skb_load_bytes', proto: 'bpf_flow_dissector_load_bytes_proto', ret: INT, args: [CTX, ANY, UNINIT, SIZE], progs: FLOW },
  // --- net/core/filter.c: sk_lookup (sk_lookup_func_proto) -----------------------------------
  { helper: 'perf_event_output', proto: 'bpf_event_output_data_proto', ret: INT, args: [CTX, MAP, ANY, RO_MEM, SIZE0], gpl: true, progs: [...SK_LOOKUP, ...SK_MSG, ...SOCK_OPS, ...CG_CURRENT] },
  { helper: 'sk_assign', proto: 'bpf_sk_lookup_assign_proto', ret: INT, args: [CTX, 'ARG_PTR_TO_SOCKET | PTR_MAYBE_NULL', ANY], progs: SK_LOOKUP },
  { helper: 'skb_set_tstamp', proto: 'bpf_skb_set_tstamp_proto', ret: INT, args: [CTX, ANY, ANY], progs: TC },
  // tc_cls_act_func_proto() with CONFIG_XFRM.
  { helper: 'skb_get_xfrm_state', proto: 'bpf_skb_get_xfrm_state_proto', ret: INT, args: [CTX, ANY, UNINIT, SIZE, ANY], progs: TC },
  // --- net/core/filter.c: sk_reuseport (sk_reuseport_func_proto) -----------------------------
  { helper: 'sk_select_reuseport', proto: 'sk_select_reuseport_proto', ret: INT, args: [CTX, MAP, 'ARG_PTR_TO_MAP_KEY', ANY], progs: SK_REUSEPORT },
  { helper: 'skb_load_bytes', proto: 'sk_reuseport_load_bytes_proto', ret: INT, args: [CTX, ANY, UNINIT, SIZE], progs: SK_REUSEPORT },
  { helper: 'skb_load_bytes_relative', proto: 'sk_reuseport_load_bytes_relative_proto', ret: INT, args: [CTX, ANY, UNINIT, SIZE, ANY], progs: SK_REUSEPORT },
  { helper: 'get_socket_cookie', proto: 'bpf_get_socket_ptr_cookie_proto', ret: INT, args: ['ARG_PTR_TO_BTF_ID_SOCK_COMMON | PTR_MAYBE_NULL'], progs: SK_REUSEPORT },
  // --- net/core/filter.c: sk_skb (sk_skb_func_proto) -----------------------------------------
  { helper: 'skb_pull_data', proto: 'sk_skb_pull_data_proto', ret: INT, args: [CTX, ANY], progs: SK_SKB },
  { helper: 'skb_change_tail', proto: 'sk_skb_change_tail_proto', ret: INT, args: [CTX, ANY, ANY], progs: SK_SKB },
  { helper: 'skb_change_head', proto: 'sk_skb_change_head_proto', ret: INT, args: [CTX, ANY, ANY], progs: SK_SKB },
  { helper: 'skb_adjust_room', proto: 'sk_skb_adjust_room_proto', ret: INT, args: [CTX, ANY, ANY, ANY], progs: SK_SKB },
  { helper: 'sk_redirect_map', proto: 'bpf_sk_redirect_map_proto', ret: INT, args: [CTX, MAP, ANY, ANY], progs: SK_SKB },
  { helper: 'sk_redirect_hash', proto: 'bpf_sk_redirect_hash_proto', ret: INT, args: [CTX, MAP, 'ARG_PTR_TO_MAP_KEY', ANY], progs: SK_SKB },
  // --- net/core/filter.c: sk_msg (sk_msg_func_proto) -----------------------------------------
  { helper: 'msg_redirect_map', proto: 'bpf_msg_redirect_map_proto', ret: INT, args: [CTX, MAP, ANY, ANY], progs: SK_MSG },
  { helper: 'msg_redirect_hash', proto: 'bpf_msg_redirect_hash_proto', ret: INT, args: [CTX, MAP, 'ARG_PTR_TO_MAP_KEY', ANY], progs: SK_MSG },
  { helper: 'msg_apply_bytes', proto: 'bpf_msg_apply_bytes_proto', ret: INT, args: [CTX, ANY], progs: SK_MSG },
  { helper: 'msg_cork_bytes', proto: 'bpf_msg_cork_bytes_proto', ret: INT, args: [CTX, ANY], progs: SK_MSG },
  { helper: 'msg_pull_data', proto: 'bpf_msg_pull_data_proto', ret: INT, args: [CTX, ANY, ANY, ANY], progs: SK_MSG },
  { helper: 'msg_push_data', proto: 'bpf_msg_push_data_proto', ret: INT, args: [CTX, ANY, ANY, ANY], progs: SK_MSG },
  { helper: 'msg_pop_data', proto: 'bpf_msg_pop_data_proto', ret: INT, args: [CTX, ANY, ANY, ANY], progs: SK_MSG },
  { helper: 'get_netns_cookie', proto: 'bpf_get_netns_cookie_sk_msg_proto', ret: INT, args: ['ARG_PTR_TO_CTX_OR_NULL'], progs: SK_MSG },
  // --- net/core/filter.c: sock_ops (sock_ops_func_proto) ---------------------------------------
  { helper: 'setsockopt', proto: 'bpf_sock_ops_setsockopt_proto', ret: INT, args: [CTX, ANY, ANY, RO_MEM, SIZE], progs: SOCK_OPS },
  { helper: 'getsockopt', proto: 'bpf_sock_ops_getsockopt_proto', ret: INT, args: [CTX, ANY, ANY, UNINIT, SIZE], progs: SOCK_OPS },
  { helper: 'sock_ops_cb_flags_set', proto: 'bpf_sock_ops_cb_flags_set_proto', ret: INT, args: [CTX, ANY], progs: SOCK_OPS },
  { helper: 'sock_map_update', proto: 'bpf_sock_map_update_proto', ret: INT, args: [CTX, MAP, 'ARG_PTR_TO_MAP_KEY', ANY], pkt: true, progs: SOCK_OPS },
  { helper: 'sock_hash_update', proto: 'bpf_sock_hash_update_proto', ret: INT, args: [CTX, MAP, 'ARG_PTR_TO_MAP_KEY', ANY], pkt: true, progs: SOCK_OPS },
  { helper: 'get_socket_cookie', proto: 'bpf_get_socket_cookie_sock_ops_proto', ret: INT, args: [CTX], progs: SOCK_OPS },
  { helper: 'get_netns_cookie', proto: 'bpf_get_netns_cookie_sock_ops_proto', ret: INT, args: ['ARG_PTR_TO_CTX_OR_NULL'], progs: SOCK_OPS },
  { helper: 'load_hdr_opt', proto: 'bpf_sock_ops_load_hdr_opt_proto', ret: INT, args: [CTX, 'ARG_PTR_TO_MEM | MEM_WRITE', SIZE, ANY], progs: SOCK_OPS },
  { helper: 'store_hdr_opt', proto: 'bpf_sock_ops_store_hdr_opt_proto', ret: INT, args: [CTX, RO_MEM, SIZE, ANY], progs: SOCK_OPS },
  { helper: 'reserve_hdr_opt', proto: 'bpf_sock_ops_reserve_hdr_opt_proto', ret: INT, args: [CTX, ANY, ANY], progs: SOCK_OPS },
  // --- net/core/filter.c: cgroup_sock (sock_filter_func_proto): the context is the socket -------
  { helper: 'get_socket_cookie', proto: 'bpf_get_socket_cookie_sock_proto', ret: INT, args: [CTX], progs: CG_SOCK },
  { helper: 'get_netns_cookie', proto: 'bpf_get_netns_cookie_sock_proto', ret: INT, args: ['ARG_PTR_TO_CTX_OR_NULL'], progs: CG_SOCK },
  { helper: 'sk_storage_get', proto: 'bpf_sk_storage_get_cg_sock_proto', ret: 'RET_PTR_TO_MAP_VALUE_OR_NULL', args: [MAP, CTX, 'ARG_PTR_TO_MAP_VALUE_OR_NULL', ANY], progs: CG_SOCK },
  // --- kernel/bpf/cgroup.c: cgroup_common_func_proto (bpf_get_retval/set_retval: the ops gate them by attach type) and cgroup_current_func_proto
  { helper: 'get_retval', proto: 'bpf_get_retval_proto', ret: INT, args: [], progs: CG_CURRENT },
  { helper: 'set_retval', proto: 'bpf_set_retval_proto', ret: INT, args: [ANY], progs: CG_CURRENT },
  { helper: 'current_task_under_cgroup', proto: 'bpf_current_task_under_cgroup_proto', ret: INT, args: [MAP, ANY], progs: CG_CURRENT },
  // --- net/core/filter.c: cgroup_sock_addr (sock_addr_func_proto; bind, setsockopt and getsockopt gated by attach type in the ops)
  { helper: 'bind', proto: 'bpf_bind_proto', ret: INT, args: [CTX, RO_MEM, SIZE], progs: CG_SOCK_ADDR },
  { helper: 'get_socket_cookie', proto: 'bpf_get_socket_cookie_sock_addr_proto', ret: INT, args: [CTX], progs: CG_SOCK_ADDR },
  { helper: 'get_netns_cookie', proto: 'bpf_get_netns_cookie_sock_addr_proto', ret: INT, args: ['ARG_PTR_TO_CTX_OR_NULL'], progs: CG_SOCK_ADDR },
  { helper: 'sk_lookup_tcp', proto: 'bpf_sock_addr_sk_lookup_tcp_proto', ret: 'RET_PTR_TO_SOCKET_OR_NULL', args: [CTX, RO_MEM, SIZE0, ANY, ANY], progs: CG_SOCK_ADDR },
  { helper: 'sk_lookup_udp', proto: 'bpf_sock_addr_sk_lookup_udp_proto', ret: 'RET_PTR_TO_SOCKET_OR_NULL', args: [CTX, RO_MEM, SIZE0, ANY, ANY], progs: CG_SOCK_ADDR },
  { helper: 'skc_lookup_tcp', proto: 'bpf_sock_addr_skc_lookup_tcp_proto', ret: 'RET_PTR_TO_SOCK_COMMON_OR_NULL', args: [CTX, RO_MEM, SIZE0, ANY, ANY], progs: CG_SOCK_ADDR },
  { helper: 'setsockopt', proto: 'bpf_sock_addr_setsockopt_proto', ret: INT, args: [CTX, ANY, ANY, RO_MEM, SIZE], progs: CG_SOCK_ADDR },
  { helper: 'getsockopt', proto: 'bpf_sock_addr_getsockopt_proto', ret: INT, args: [CTX, ANY, ANY, UNINIT, SIZE], progs: CG_SOCK_ADDR },
  // --- kernel/bpf/cgroup.c: cgroup_sysctl (sysctl_func_proto)
  { helper: 'sysctl_get_name', proto: 'bpf_sysctl_get_name_proto', ret: INT, args: [CTX, 'ARG_PTR_TO_MEM', SIZE, ANY], progs: CG_SYSCTL },
  { helper: 'sysctl_get_current_value', proto: 'bpf_sysctl_get_current_value_proto', ret: INT, args: [CTX, UNINIT, SIZE], progs: CG_SYSCTL },
  { helper: 'sysctl_get_new_value', proto: 'bpf_sysctl_get_new_value_proto', ret: INT, args: [CTX, UNINIT, SIZE], progs: CG_SYSCTL },
  { helper: 'sysctl_set_new_value', proto: 'bpf_sysctl_set_new_value_proto', ret: INT, args: [CTX, RO_MEM, SIZE], progs: CG_SYSCTL },
  // --- kernel/bpf/cgroup.c: cgroup_sockopt (cg_sockopt_func_proto; setsockopt/getsockopt on the socket at cgroup/setsockopt only, gated in the ops)
  { helper: 'get_netns_cookie', proto: 'bpf_get_netns_cookie_sockopt_proto', ret: INT, args: ['ARG_PTR_TO_CTX_OR_NULL'], progs: CG_SOCKOPT },
  { helper: 'setsockopt', proto: 'bpf_sk_setsockopt_proto', ret: INT, args: ['ARG_PTR_TO_BTF_ID_SOCK_COMMON', ANY, ANY, RO_MEM, SIZE], progs: CG_SOCKOPT },
  { helper: 'getsockopt', proto: 'bpf_sk_getsockopt_proto', ret: INT, args: ['ARG_PTR_TO_BTF_ID_SOCK_COMMON', ANY, ANY, UNINIT, SIZE], progs: CG_SOCKOPT },
];

/**
 * Helpers after whose call the verifier forgets every packet pointer: the kernel's
 * bpf_helper_changes_pkt_data() (net/core/filter.c). Keyed by id, not by proto.
 */
export const CHANGES_PKT_DATA: readonly string[] = [
  'clone_redirect', 'l3_csum_replace', 'l4_csum_replace', 'lwt_push_encap', 'lwt_seg6_action',
  'lwt_seg6_adjust_srh', 'lwt_seg6_store_bytes', 'msg_pop_data', 'msg_pull_data', 'msg_push_data',
  'skb_adjust_room', 'skb_change_head', 'skb_change_proto', 'skb_change_tail', 'skb_pull_data',
  'skb_store_bytes', 'skb_vlan_pop', 'skb_vlan_push', 'store_hdr_opt', 'xdp_adjust_head',
  'xdp_adjust_meta', 'xdp_adjust_tail', 'tail_call',
];
