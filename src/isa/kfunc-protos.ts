// Kfunc prototypes as data: the kernel's __bpf_kfunc declarations, BTF_ID_FLAGS and register_btf_kfunc_id_set.
//
// Each row is one kernel function a BPF program may call with `call kfunc` (src_reg 2), written
// as the kernel declares it — parameter names included, because the verifier reads their
// suffixes (`__sz`: the size of the memory argument before it; `__szk`: a constant size;
// `__uninit`: a dynptr the call initialises; `__opt`: a buffer that may be NULL) — with its
// BTF_ID_FLAGS and the program types whose kfunc id set contains it. Sources, read in Linux
// 6.12 and checked against the 6.18 kernel's BTF and BPF_PROG_LOAD: net/netfilter/
// nf_conntrack_bpf.c and nf_nat_bpf.c (conntrack, registered for XDP and SCHED_CLS),
// net/core/xdp.c (XDP RX metadata, XDP only), net/core/filter.c (bpf_dynptr_from_skb for the
// skb program types, bpf_dynptr_from_xdp for XDP), kernel/bpf/helpers.c (common_btf_ids:
// every program type; generic_btf_ids: TRACING, SCHED_CLS, XDP, STRUCT_OPS, SYSCALL,
// CGROUP_SKB...).
//
// The pure core reads prototypes from this table; when the running kernel's BTF is at hand
// (src/verifier/kfunc-resolve.ts) the table is checked against it and its BTF ids are used.
import type { ProgramTypeName } from './program-types.js';

/** BTF_ID_FLAGS of a kfunc (include/linux/btf.h). */
export type KfuncFlag = 'KF_ACQUIRE' | 'KF_RELEASE' | 'KF_RET_NULL' | 'KF_TRUSTED_ARGS' | 'KF_SLEEPABLE' | 'KF_DESTRUCTIVE' | 'KF_RCU' | 'KF_ITER_NEW' | 'KF_ITER_NEXT' | 'KF_ITER_DESTROY';

/** One parameter as the kernel declares it. */
export interface KfuncParam {
  /** The parameter name (its suffix selects the argument kind: `__sz`, `__szk`, `__uninit`, `__opt`). */
  readonly name: string;
  /** The C type: `u32`, `struct xdp_md *`, `const struct bpf_dynptr *`, `void *`. */
  readonly type: string;
}

/** One kfunc. */
export interface KfuncProto {
  /** The function name (`bpf_xdp_ct_lookup`). */
  readonly name: string;
  /** Return type in C (`struct nf_conn *`, `int`, `void`). */
  readonly ret: string;
  /** Parameters in order. */
  readonly params: readonly KfuncParam[];
  /** BTF_ID_FLAGS. */
  readonly flags: readonly KfuncFlag[];
  /** Program types whose registered kfunc set contains it. */
  readonly progs: readonly ProgramTypeName[];
  /** The kernel file that defines it. */
  readonly source: string;
}

/**
 * Sizes of the kernel structs these prototypes point to, for when the kernel's BTF is not
 * given (6.18 layouts; with BTF the sizes come from it). `scalar`: the struct is made of
 * scalars only (__btf_type_is_scalar_struct), so a kfunc may take it as memory.
 */
export const KFUNC_STRUCTS: Readonly<Record<string, { readonly size: number; readonly scalar: boolean }>> = {
  'struct bpf_sock_tuple': { size: 36, scalar: true },
  'struct bpf_ct_opts': { size: 16, scalar: true },
  'union nf_inet_addr': { size: 16, scalar: true },
  'struct bpf_dynptr': { size: 16, scalar: true },
  'struct bpf_xfrm_state_opts': { size: 36, scalar: true },
  'struct xfrm_state': { size: 816, scalar: false },
  'struct nf_conn': { size: 248, scalar: false },
  'struct nf_conn___init': { size: 248, scalar: false },
  'struct xdp_md': { size: 24, scalar: false },
  'struct __sk_buff': { size: 192, scalar: false },
  'struct task_struct': { size: 9792, scalar: false },
  'struct cgroup': { size: 2048, scalar: false },
  'struct bpf_cpumask': { size: 24, scalar: false },
  'struct cpumask': { size: 16, scalar: true },
  'struct bpf_iter_num': { size: 8, scalar: true },
  'struct bpf_iter_bits': { size: 16, scalar: true },
};

/**
 * The struct at offset 0 of a kernel struct, for btf_struct_ids_match without the kernel's BTF
 * (with it, the first members are read from it): a `struct bpf_cpumask *` is a `struct cpumask *`.
 */
export const KFUNC_FIRST_MEMBER: Readonly<Record<string, string>> = {
  bpf_cpumask: 'cpumask',
};

/** Sizes of the scalar types the prototypes use. */
export const KFUNC_SCALAR_SIZES: Readonly<Record<string, number>> = {
  u8: 1, u16: 2, __be16: 2, u32: 4, __u32: 4, s32: 4, int: 4, u64: 8, __u64: 8, bool: 1,
  'enum xdp_rss_hash_type': 4, 'enum nf_nat_manip_type': 4, 'unsigned long long': 8,
};

const XDP: readonly ProgramTypeName[] = ['xdp'];
const CT: readonly ProgramTypeName[] = ['xdp', 'sched_cls'];
/** bpf_kfunc_set_skb (net/core/filter.c). */
const SKB: readonly ProgramTypeName[] = ['sched_cls', 'sched_act', 'sk_skb', 'socket_filter', 'cgroup_skb', 'lwt_out', 'lwt_in', 'lwt_xmit', 'lwt_seg6local', 'netfilter', 'tracing'];
/** common_btf_ids: registered for BPF_PROG_TYPE_UNSPEC, so every program type. */
const ALL: readonly ProgramTypeName[] = ['socket_filter', 'kprobe', 'sched_cls', 'sched_act', 'tracepoint', 'xdp', 'perf_event', 'cgroup_skb', 'cgroup_sock', 'lwt_in', 'lwt_out', 'lwt_xmit', 'sock_ops', 'sk_skb', 'cgroup_device', 'sk_msg', 'raw_tracepoint', 'cgroup_sock_addr', 'lwt_seg6local', 'lirc_mode2', 'sk_reuseport', 'flow_dissector', 'cgroup_sysctl', 'raw_tracepoint_writable', 'cgroup_sockopt', 'tracing', 'struct_ops', 'ext', 'lsm', 'sk_lookup', 'syscall', 'netfilter'];

/**
 * generic_btf_ids (kernel/bpf/helpers.c): registered for TRACING, SCHED_CLS, XDP, STRUCT_OPS,
 * SYSCALL and CGROUP_SKB; the kernel's bpf_prog_type_to_kfunc_hook shares the TRACING hook with
 * tracepoint, perf_event and lsm programs and the CGROUP hook with every cgroup type (6.18 adds
 * sock_ops). Checked against the 6.18 kernel with probeKfunc: the same list.
 */
const GENERIC: readonly ProgramTypeName[] = ['sched_cls', 'xdp', 'cgroup_skb', 'cgroup_sock', 'sock_ops', 'cgroup_device', 'cgroup_sock_addr', 'cgroup_sysctl', 'cgroup_sockopt', 'tracepoint', 'perf_event', 'tracing', 'lsm', 'struct_ops', 'syscall'];
/** cpumask_kfunc_set (kernel/bpf/cpumask.c): TRACING (with tracepoint, perf_event, lsm), STRUCT_OPS, SYSCALL. */
const CPUMASK: readonly ProgramTypeName[] = ['tracepoint', 'perf_event', 'tracing', 'lsm', 'struct_ops', 'syscall'];

const p = (name: string, type: string): KfuncParam => ({ name, type });
const CT_SRC = 'net/netfilter/nf_conntrack_bpf.c';
const META_SRC = 'net/core/xdp.c';
const HELPERS_SRC = 'kernel/bpf/helpers.c';
const FILTER_SRC = 'net/core/filter.c';
const CPUMASK_SRC = 'kernel/bpf/cpumask.c';

const ctLookup = (name: string, ctx: string, ret: string, flags: readonly KfuncFlag[]): KfuncProto => ({
  name,
  ret,
  params: [p(ctx === 'struct xdp_md *' ? 'xdp_ctx' : 'skb_ctx', ctx), p('bpf_tuple', 'struct bpf_sock_tuple *'), p('tuple__sz', 'u32'), p('opts', 'struct bpf_ct_opts *'), p('opts__sz', 'u32')],
  flags,
  progs: CT,
  source: CT_SRC,
});

/** The kfunc table. */
export const KFUNC_PROTOS: readonly KfuncProto[] = [
  // --- net/core/xdp.c: XDP RX metadata (KF_TRUSTED_ARGS), XDP only ------------------------
  { name: 'bpf_xdp_metadata_rx_timestamp', ret: 'int', params: [p('ctx', 'const struct xdp_md *'), p('timestamp', 'u64 *')], flags: ['KF_TRUSTED_ARGS'], progs: XDP, source: META_SRC },
  { name: 'bpf_xdp_metadata_rx_hash', ret: 'int', params: [p('ctx', 'const struct xdp_md *'), p('hash', 'u32 *'), p('rss_type', 'enum xdp_rss_hash_type *')], flags: ['KF_TRUSTED_ARGS'], progs: XDP, source: META_SRC },
  { name: 'bpf_xdp_metadata_rx_vlan_tag', ret: 'int', params: [p('ctx', 'const struct xdp_md *'), p('vlan_proto', '__be16 *'), p('vlan_tci', 'u16 *')], flags: ['KF_TRUSTED_ARGS'], progs: XDP, source: META_SRC },
  // --- net/netfilter/nf_conntrack_bpf.c: conntrack, XDP and SCHED_CLS -------------------------
  ctLookup('bpf_xdp_ct_alloc', 'struct xdp_md *', 'struct nf_conn___init *', ['KF_ACQUIRE', 'KF_RET_NULL']),
  ctLookup('bpf_xdp_ct_lookup', 'struct xdp_md *', 'struct nf_conn *', ['KF_ACQUIRE', 'KF_RET_NULL']),
  ctLookup('bpf_skb_ct_alloc', 'struct __sk_buff *', 'struct nf_conn___init *', ['KF_ACQUIRE', 'KF_RET_NULL']),
  ctLookup('bpf_skb_ct_lookup', 'struct __sk_buff *', 'struct nf_conn *', ['KF_ACQUIRE', 'KF_RET_NULL']),
  { name: 'bpf_ct_insert_entry', ret: 'struct nf_conn *', params: [p('nfct_i', 'struct nf_conn___init *')], flags: ['KF_ACQUIRE', 'KF_RET_NULL', 'KF_RELEASE'], progs: CT, source: CT_SRC },
  { name: 'bpf_ct_release', ret: 'void', params: [p('nfct', 'struct nf_conn *')], flags: ['KF_RELEASE'], progs: CT, source: CT_SRC },
  { name: 'bpf_ct_set_timeout', ret: 'void', params: [p('nfct', 'struct nf_conn___init *'), p('timeout', 'u32')], flags: ['KF_TRUSTED_ARGS'], progs: CT, source: CT_SRC },
  { name: 'bpf_ct_change_timeout', ret: 'int', params: [p('nfct', 'struct nf_conn *'), p('timeout', 'u32')], flags: ['KF_TRUSTED_ARGS'], progs: CT, source: CT_SRC },
  { name: 'bpf_ct_set_status', ret: 'int', params: [p('nfct', 'const struct nf_conn___init *'), p('status', 'u32')], flags: ['KF_TRUSTED_ARGS'], progs: CT, source: CT_SRC },
  { name: 'bpf_ct_change_status', ret: 'int', params: [p('nfct', 'struct nf_conn *'), p('status', 'u32')], flags: ['KF_TRUSTED_ARGS'], progs: CT, source: CT_SRC },
  // net/netfilter/nf_nat_bpf.c
  { name: 'bpf_ct_set_nat_info', ret: 'int', params: [p('nfct', 'struct nf_conn___init *'), p('addr', 'union nf_inet_addr *'), p('port', 'int'), p('manip', 'enum nf_nat_manip_type')], flags: ['KF_TRUSTED_ARGS'], progs: CT, source: 'net/netfilter/nf_nat_bpf.c' },
  // --- net/core/filter.c: dynptrs over the packet ------------------------------------------------
  { name: 'bpf_dynptr_from_skb', ret: 'int', params: [p('s', 'struct __sk_buff *'), p('flags', 'u64'), p('ptr__uninit', 'struct bpf_dynptr *')], flags: ['KF_TRUSTED_ARGS'], progs: SKB, source: FILTER_SRC },
  { name: 'bpf_dynptr_from_xdp', ret: 'int', params: [p('x', 'struct xdp_md *'), p('flags', 'u64'), p('ptr__uninit', 'struct bpf_dynptr *')], flags: [], progs: XDP, source: FILTER_SRC },
  // --- net/xfrm/xfrm_state_bpf.c: IPsec states, XDP only ----------------------------------------
  { name: 'bpf_xdp_get_xfrm_state', ret: 'struct xfrm_state *', params: [p('ctx', 'struct xdp_md *'), p('opts', 'struct bpf_xfrm_state_opts *'), p('opts__sz', 'u32')], flags: ['KF_RET_NULL', 'KF_ACQUIRE'], progs: XDP, source: 'net/xfrm/xfrm_state_bpf.c' },
  { name: 'bpf_xdp_xfrm_state_release', ret: 'void', params: [p('x', 'struct xfrm_state *')], flags: ['KF_RELEASE'], progs: XDP, source: 'net/xfrm/xfrm_state_bpf.c' },
  // --- kernel/bpf/helpers.c, common_btf_ids (every program type) ----------------------------
  { name: 'bpf_cast_to_kern_ctx', ret: 'void *', params: [p('obj', 'void *')], flags: [], progs: ALL, source: HELPERS_SRC },
  { name: 'bpf_rcu_read_lock', ret: 'void', params: [], flags: [], progs: ALL, source: HELPERS_SRC },
  { name: 'bpf_rcu_read_unlock', ret: 'void', params: [], flags: [], progs: ALL, source: HELPERS_SRC },
  { name: 'bpf_dynptr_slice', ret: 'void *', params: [p('p', 'const struct bpf_dynptr *'), p('offset', 'u32'), p('buffer__opt', 'void *'), p('buffer__szk', 'u32')], flags: ['KF_RET_NULL'], progs: ALL, source: HELPERS_SRC },
  { name: 'bpf_dynptr_slice_rdwr', ret: 'void *', params: [p('p', 'const struct bpf_dynptr *'), p('offset', 'u32'), p('buffer__opt', 'void *'), p('buffer__szk', 'u32')], flags: ['KF_RET_NULL'], progs: ALL, source: HELPERS_SRC },
  { name: 'bpf_dynptr_adjust', ret: 'int', params: [p('p', 'const struct bpf_dynptr *'), p('start', 'u32'), p('end', 'u32')], flags: [], progs: ALL, source: HELPERS_SRC },
  { name: 'bpf_dynptr_is_null', ret: 'bool', params: [p('p', 'const struct bpf_dynptr *')], flags: [], progs: ALL, source: HELPERS_SRC },
  { name: 'bpf_dynptr_is_rdonly', ret: 'bool', params: [p('p', 'const struct bpf_dynptr *')], flags: [], progs: ALL, source: HELPERS_SRC },
  { name: 'bpf_dynptr_size', ret: '__u32', params: [p('p', 'const struct bpf_dynptr *')], flags: [], progs: ALL, source: HELPERS_SRC },
  // bpf_rdonly_cast: an untrusted read-only view of any kernel struct (id 0: of plain memory).
  { name: 'bpf_rdonly_cast', ret: 'void *', params: [p('obj__ign', 'const void *'), p('btf_id__k', 'u32')], flags: [], progs: ALL, source: HELPERS_SRC },
  // Open-coded iterators: state on the stack, new/next/destroy (process_iter_arg, process_iter_next_call).
  { name: 'bpf_iter_num_new', ret: 'int', params: [p('it', 'struct bpf_iter_num *'), p('start', 'int'), p('end', 'int')], flags: ['KF_ITER_NEW'], progs: ALL, source: HELPERS_SRC },
  { name: 'bpf_iter_num_next', ret: 'int *', params: [p('it', 'struct bpf_iter_num *')], flags: ['KF_ITER_NEXT', 'KF_RET_NULL'], progs: ALL, source: HELPERS_SRC },
  { name: 'bpf_iter_num_destroy', ret: 'void', params: [p('it', 'struct bpf_iter_num *')], flags: ['KF_ITER_DESTROY'], progs: ALL, source: HELPERS_SRC },
  { name: 'bpf_iter_bits_new', ret: 'int', params: [p('it', 'struct bpf_iter_bits *'), p('unsafe_ptr__ign', 'const u64 *'), p('nr_words', 'u32')], flags: ['KF_ITER_NEW'], progs: ALL, source: HELPERS_SRC },
  { name: 'bpf_iter_bits_next', ret: 'int *', params: [p('it', 'struct bpf_iter_bits *')], flags: ['KF_ITER_NEXT', 'KF_RET_NULL'], progs: ALL, source: HELPERS_SRC },
  { name: 'bpf_iter_bits_destroy', ret: 'void', params: [p('it', 'struct bpf_iter_bits *')], flags: ['KF_ITER_DESTROY'], progs: ALL, source: HELPERS_SRC },
  // --- kernel/bpf/helpers.c, generic_btf_ids: tasks and cgroups ------------------------------
  { name: 'bpf_task_acquire', ret: 'struct task_struct *', params: [p('p', 'struct task_struct *')], flags: ['KF_ACQUIRE', 'KF_RCU', 'KF_RET_NULL'], progs: GENERIC, source: HELPERS_SRC },
  { name: 'bpf_task_release', ret: 'void', params: [p('p', 'struct task_struct *')], flags: ['KF_RELEASE'], progs: GENERIC, source: HELPERS_SRC },
  { name: 'bpf_task_from_pid', ret: 'struct task_struct *', params: [p('pid', 's32')], flags: ['KF_ACQUIRE', 'KF_RET_NULL'], progs: GENERIC, source: HELPERS_SRC },
  { name: 'bpf_cgroup_acquire', ret: 'struct cgroup *', params: [p('cgrp', 'struct cgroup *')], flags: ['KF_ACQUIRE', 'KF_RCU', 'KF_RET_NULL'], progs: GENERIC, source: HELPERS_SRC },
  { name: 'bpf_cgroup_release', ret: 'void', params: [p('cgrp', 'struct cgroup *')], flags: ['KF_RELEASE'], progs: GENERIC, source: HELPERS_SRC },
  { name: 'bpf_cgroup_ancestor', ret: 'struct cgroup *', params: [p('cgrp', 'struct cgroup *'), p('level', 'int')], flags: ['KF_ACQUIRE', 'KF_RCU', 'KF_RET_NULL'], progs: GENERIC, source: HELPERS_SRC },
  { name: 'bpf_cgroup_from_id', ret: 'struct cgroup *', params: [p('cgid', 'u64')], flags: ['KF_ACQUIRE', 'KF_RET_NULL'], progs: GENERIC, source: HELPERS_SRC },
  // --- kernel/bpf/cpumask.c: cpumask_kfunc_set ---------------------------------------------------
  { name: 'bpf_cpumask_create', ret: 'struct bpf_cpumask *', params: [], flags: ['KF_ACQUIRE', 'KF_RET_NULL'], progs: CPUMASK, source: CPUMASK_SRC },
  { name: 'bpf_cpumask_release', ret: 'void', params: [p('cpumask', 'struct bpf_cpumask *')], flags: ['KF_RELEASE'], progs: CPUMASK, source: CPUMASK_SRC },
  { name: 'bpf_cpumask_acquire', ret: 'struct bpf_cpumask *', params: [p('cpumask', 'struct bpf_cpumask *')], flags: ['KF_ACQUIRE', 'KF_TRUSTED_ARGS'], progs: CPUMASK, source: CPUMASK_SRC },
  { name: 'bpf_cpumask_first', ret: 'u32', params: [p('cpumask', 'const struct cpumask *')], flags: ['KF_RCU'], progs: CPUMASK, source: CPUMASK_SRC },
  { name: 'bpf_cpumask_set_cpu', ret: 'void', params: [p('cpu', 'u32'), p('cpumask', 'struct bpf_cpumask *')], flags: ['KF_RCU'], progs: CPUMASK, source: CPUMASK_SRC },
  { name: 'bpf_cpumask_clear_cpu', ret: 'void', params: [p('cpu', 'u32'), p('cpumask', 'struct bpf_cpumask *')], flags: ['KF_RCU'], progs: CPUMASK, source: CPUMASK_SRC },
  { name: 'bpf_cpumask_test_cpu', ret: 'bool', params: [p('cpu', 'u32'), p('cpumask', 'const struct cpumask *')], flags: ['KF_RCU'], progs: CPUMASK, source: CPUMASK_SRC },
  { name: 'bpf_cpumask_setall', ret: 'void', params: [p('cpumask', 'struct bpf_cpumask *')], flags: ['KF_RCU'], progs: CPUMASK, source: CPUMASK_SRC },
  { name: 'bpf_cpumask_clear', ret: 'void', params: [p('cpumask', 'struct bpf_cpumask *')], flags: ['KF_RCU'], progs: CPUMASK, source: CPUMASK_SRC },
  { name: 'bpf_cpumask_empty', ret: 'bool', params: [p('cpumask', 'const struct cpumask *')], flags: ['KF_RCU'], progs: CPUMASK, source: CPUMASK_SRC },
  { name: 'bpf_cpumask_weight', ret: 'u32', params: [p('cpumask', 'const struct cpumask *')], flags: ['KF_RCU'], progs: CPUMASK, source: CPUMASK_SRC },
];

const byName = new Map(KFUNC_PROTOS.map((k) => [k.name, k] as const));

/** The table's row for `name`, or undefined when bpfkit does not model that kfunc. */
export function kfuncProto(name: string): KfuncProto | undefined {
  return byName.get(name);
}

/** Whether program type `prog` may call kfunc `k` (its id set is registered for the type). */
export function kfuncAllowed(k: KfuncProto, prog: string): boolean {
  return (k.progs as readonly string[]).includes(prog);
}
