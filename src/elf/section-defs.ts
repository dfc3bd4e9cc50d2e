// libbpf's SEC() naming conventions: section name -> program type, expected attach type, flags.
//
// Modelled on `section_defs[]` and `sec_def_matches()` in tools/lib/bpf/libbpf.c (libbpf 1.5+).
// A pattern is matched like libbpf matches it:
//   "xdp"        exact: only SEC("xdp");
//   "kprobe+"    SEC("kprobe") or SEC("kprobe/<anything>") (the '/' is required before extras);
//   "type/"      (none today, supported) SEC("type/<anything>") only, a suffix is required.
// The table is searched in order and the first match wins, so "xdp.frags/devmap" sits before
// "xdp.frags" and "tc/ingress" before "tc".
import { BpfAttachType, BpfProgType } from '../isa/uapi.generated.js';
import type { AttachTypeName } from '../isa/attach-types.js';
import type { ProgramTypeName } from '../isa/program-types.js';

/** libbpf's SEC_* flags of one section definition. */
export interface SectionFlags {
  /** SEC_EXP_ATTACH_OPT: the expected attach type is dropped on kernels that reject it. */
  readonly expectedAttachOptional: boolean;
  /** SEC_ATTACHABLE: attached with BPF_PROG_ATTACH / BPF_LINK_CREATE using the attach type. */
  readonly attachable: boolean;
  /** SEC_ATTACH_BTF: the suffix names a BTF type/function to attach to (fentry/..., lsm/...). */
  readonly attachBtf: boolean;
  /** SEC_SLEEPABLE: loaded with BPF_F_SLEEPABLE. */
  readonly sleepable: boolean;
  /** SEC_XDP_FRAGS: loaded with BPF_F_XDP_HAS_FRAGS (multi-buffer XDP). */
  readonly xdpFrags: boolean;
  /** SEC_USDT: a USDT probe (kprobe program type, attached through uprobes). */
  readonly usdt: boolean;
}

/** Whether a section name may or must carry a `/suffix` after the pattern. */
export type SuffixRule = 'none' | 'optional' | 'required';

/** One libbpf section definition. */
export interface SectionDef {
  /** The pattern as libbpf writes it: `'xdp'`, `'kprobe+'`, `'sk_skb/stream_parser'`. */
  readonly pattern: string;
  /** The name part of the pattern, without `+` or trailing `/`. */
  readonly prefix: string;
  /** Program type. */
  readonly progType: ProgramTypeName;
  /** Expected attach type, or undefined where libbpf leaves it 0 ("none"). */
  readonly attachType: AttachTypeName | undefined;
  /** libbpf's SEC_* flags. */
  readonly flags: SectionFlags;
  /** Whether a `/suffix` is allowed or required. */
  readonly suffix: SuffixRule;
}

/** The result of matching a section name. */
export interface SectionMatch {
  /** The definition that matched (the first in table order). */
  readonly def: SectionDef;
  /** Program type name (`'xdp'`). */
  readonly progType: ProgramTypeName;
  /** Program type value (BPF_PROG_TYPE_*). */
  readonly progTypeValue: number;
  /** Expected attach type name, undefined when none. */
  readonly attachType: AttachTypeName | undefined;
  /**
   * Expected attach type value as libbpf reports it from libbpf_prog_type_by_name(): 0 when
   * the definition has none (0 is also BPF_CGROUP_INET_INGRESS; libbpf makes no distinction).
   */
  readonly attachTypeValue: number;
  /** Loaded with BPF_F_SLEEPABLE. */
  readonly sleepable: boolean;
  /** Loaded with BPF_F_XDP_HAS_FRAGS. */
  readonly xdpFrags: boolean;
  /** What follows `<prefix>/` in the section name (`'eth0_xmit'` for `kprobe/eth0_xmit`), if any. */
  readonly target: string | undefined;
}

type FlagName = 'EXP_ATTACH_OPT' | 'ATTACHABLE' | 'ATTACHABLE_OPT' | 'ATTACH_BTF' | 'SLEEPABLE' | 'XDP_FRAGS' | 'USDT';

function def(pattern: string, progType: ProgramTypeName, attachType: AttachTypeName | undefined, ...flags: FlagName[]): SectionDef {
  const has = (f: FlagName) => flags.includes(f);
  const suffix: SuffixRule = pattern.endsWith('+') ? 'optional' : pattern.endsWith('/') ? 'required' : 'none';
  return Object.freeze({
    pattern,
    prefix: suffix === 'none' ? pattern : pattern.slice(0, -1),
    progType,
    attachType,
    flags: Object.freeze({
      expectedAttachOptional: has('EXP_ATTACH_OPT') || has('ATTACHABLE_OPT'),
      attachable: has('ATTACHABLE') || has('ATTACHABLE_OPT'),
      attachBtf: has('ATTACH_BTF'),
      sleepable: has('SLEEPABLE'),
      xdpFrags: has('XDP_FRAGS'),
      usdt: has('USDT'),
    }),
    suffix,
  });
}

/** libbpf's section definitions, in libbpf's order (first match wins). */
export const SECTION_DEFS: readonly SectionDef[] = Object.freeze([
  def('socket', 'socket_filter', undefined),
  def('sk_reuseport/migrate', 'sk_reuseport', 'sk_reuseport_select_or_migrate', 'ATTACHABLE'),
  def('sk_reuseport', 'sk_reuseport', 'sk_reuseport_select', 'ATTACHABLE'),
  def('kprobe+', 'kprobe', undefined),
  def('uprobe+', 'kprobe', undefined),
  def('uprobe.s+', 'kprobe', undefined, 'SLEEPABLE'),
  def('kretprobe+', 'kprobe', undefined),
  def('uretprobe+', 'kprobe', undefined),
  def('uretprobe.s+', 'kprobe', undefined, 'SLEEPABLE'),
  def('kprobe.multi+', 'kprobe', 'trace_kprobe_multi'),
  def('kretprobe.multi+', 'kprobe', 'trace_kprobe_multi'),
  def('kprobe.session+', 'kprobe', 'trace_kprobe_session'),
  def('uprobe.multi+', 'kprobe', 'trace_uprobe_multi'),
  def('uretprobe.multi+', 'kprobe', 'trace_uprobe_multi'),
  def('uprobe.session+', 'kprobe', 'trace_uprobe_session'),
  def('uprobe.multi.s+', 'kprobe', 'trace_uprobe_multi', 'SLEEPABLE'),
  def('uretprobe.multi.s+', 'kprobe', 'trace_uprobe_multi', 'SLEEPABLE'),
  def('uprobe.session.s+', 'kprobe', 'trace_uprobe_session', 'SLEEPABLE'),
  def('ksyscall+', 'kprobe', undefined),
  def('kretsyscall+', 'kprobe', undefined),
  def('usdt+', 'kprobe', undefined, 'USDT'),
  def('usdt.s+', 'kprobe', undefined, 'USDT', 'SLEEPABLE'),
  // tc/ingress and tc/egress are libbpf's aliases for TCX.
  def('tc/ingress', 'sched_cls', 'tcx_ingress'),
  def('tc/egress', 'sched_cls', 'tcx_egress'),
  def('tcx/ingress', 'sched_cls', 'tcx_ingress'),
  def('tcx/egress', 'sched_cls', 'tcx_egress'),
  def('tc', 'sched_cls', undefined),
  def('classifier', 'sched_cls', undefined),
  def('action', 'sched_act', undefined),
  def('netkit/primary', 'sched_cls', 'netkit_primary'),
  def('netkit/peer', 'sched_cls', 'netkit_peer'),
  def('tracepoint+', 'tracepoint', undefined),
  def('tp+', 'tracepoint', undefined),
  def('raw_tracepoint+', 'raw_tracepoint', undefined),
  def('raw_tp+', 'raw_tracepoint', undefined),
  def('raw_tracepoint.w+', 'raw_tracepoint_writable', undefined),
  def('raw_tp.w+', 'raw_tracepoint_writable', undefined),
  def('tp_btf+', 'tracing', 'trace_raw_tp', 'ATTACH_BTF'),
  def('fentry+', 'tracing', 'trace_fentry', 'ATTACH_BTF'),
  def('fmod_ret+', 'tracing', 'modify_return', 'ATTACH_BTF'),
  def('fexit+', 'tracing', 'trace_fexit', 'ATTACH_BTF'),
  def('fentry.s+', 'tracing', 'trace_fentry', 'ATTACH_BTF', 'SLEEPABLE'),
  def('fmod_ret.s+', 'tracing', 'modify_return', 'ATTACH_BTF', 'SLEEPABLE'),
  def('fexit.s+', 'tracing', 'trace_fexit', 'ATTACH_BTF', 'SLEEPABLE'),
  def('freplace+', 'ext', undefined, 'ATTACH_BTF'),
  def('lsm+', 'lsm', 'lsm_mac', 'ATTACH_BTF'),
  def('lsm.s+', 'lsm', 'lsm_mac', 'ATTACH_BTF', 'SLEEPABLE'),
  def('lsm_cgroup+', 'lsm', 'lsm_cgroup', 'ATTACH_BTF'),
  def('iter+', 'tracing', 'trace_iter', 'ATTACH_BTF'),
  def('iter.s+', 'tracing', 'trace_iter', 'ATTACH_BTF', 'SLEEPABLE'),
  def('syscall', 'syscall', undefined, 'SLEEPABLE'),
  def('xdp.frags/devmap', 'xdp', 'xdp_devmap', 'XDP_FRAGS'),
  def('xdp/devmap', 'xdp', 'xdp_devmap', 'ATTACHABLE'),
  def('xdp.frags/cpumap', 'xdp', 'xdp_cpumap', 'XDP_FRAGS'),
  def('xdp/cpumap', 'xdp', 'xdp_cpumap', 'ATTACHABLE'),
  def('xdp.frags', 'xdp', 'xdp', 'XDP_FRAGS'),
  def('xdp', 'xdp', 'xdp', 'ATTACHABLE_OPT'),
  def('perf_event', 'perf_event', undefined),
  def('lwt_in', 'lwt_in', undefined),
  def('lwt_out', 'lwt_out', undefined),
  def('lwt_xmit', 'lwt_xmit', undefined),
  def('lwt_seg6local', 'lwt_seg6local', undefined),
  def('sockops', 'sock_ops', 'cgroup_sock_ops', 'ATTACHABLE_OPT'),
  def('sk_skb/stream_parser', 'sk_skb', 'sk_skb_stream_parser', 'ATTACHABLE_OPT'),
  def('sk_skb/stream_verdict', 'sk_skb', 'sk_skb_stream_verdict', 'ATTACHABLE_OPT'),
  def('sk_skb/verdict', 'sk_skb', 'sk_skb_verdict', 'ATTACHABLE_OPT'),
  def('sk_skb', 'sk_skb', undefined),
  def('sk_msg', 'sk_msg', 'sk_msg_verdict', 'ATTACHABLE_OPT'),
  def('lirc_mode2', 'lirc_mode2', 'lirc_mode2', 'ATTACHABLE_OPT'),
  def('flow_dissector', 'flow_dissector', 'flow_dissector', 'ATTACHABLE_OPT'),
  def('cgroup_skb/ingress', 'cgroup_skb', 'cgroup_inet_ingress', 'ATTACHABLE_OPT'),
  def('cgroup_skb/egress', 'cgroup_skb', 'cgroup_inet_egress', 'ATTACHABLE_OPT'),
  def('cgroup/skb', 'cgroup_skb', undefined),
  def('cgroup/sock_create', 'cgroup_sock', 'cgroup_inet_sock_create', 'ATTACHABLE'),
  def('cgroup/sock_release', 'cgroup_sock', 'cgroup_inet_sock_release', 'ATTACHABLE'),
  def('cgroup/sock', 'cgroup_sock', 'cgroup_inet_sock_create', 'ATTACHABLE_OPT'),
  def('cgroup/post_bind4', 'cgroup_sock', 'cgroup_inet4_post_bind', 'ATTACHABLE'),
  def('cgroup/post_bind6', 'cgroup_sock', 'cgroup_inet6_post_bind', 'ATTACHABLE'),
  def('cgroup/bind4', 'cgroup_sock_addr', 'cgroup_inet4_bind', 'ATTACHABLE'),
  def('cgroup/bind6', 'cgroup_sock_addr', 'cgroup_inet6_bind', 'ATTACHABLE'),
  def('cgroup/connect4', 'cgroup_sock_addr', 'cgroup_inet4_connect', 'ATTACHABLE'),
  def('cgroup/connect6', 'cgroup_sock_addr', 'cgroup_inet6_connect', 'ATTACHABLE'),
  def('cgroup/connect_unix', 'cgroup_sock_addr', 'cgroup_unix_connect', 'ATTACHABLE'),
  def('cgroup/sendmsg4', 'cgroup_sock_addr', 'cgroup_udp4_sendmsg', 'ATTACHABLE'),
  def('cgroup/sendmsg6', 'cgroup_sock_addr', 'cgroup_udp6_sendmsg', 'ATTACHABLE'),
  def('cgroup/sendmsg_unix', 'cgroup_sock_addr', 'cgroup_unix_sendmsg', 'ATTACHABLE'),
  def('cgroup/recvmsg4', 'cgroup_sock_addr', 'cgroup_udp4_recvmsg', 'ATTACHABLE'),
  def('cgroup/recvmsg6', 'cgroup_sock_addr', 'cgroup_udp6_recvmsg', 'ATTACHABLE'),
  def('cgroup/recvmsg_unix', 'cgroup_sock_addr', 'cgroup_unix_recvmsg', 'ATTACHABLE'),
  def('cgroup/getpeername4', 'cgroup_sock_addr', 'cgroup_inet4_getpeername', 'ATTACHABLE'),
  def('cgroup/getpeername6', 'cgroup_sock_addr', 'cgroup_inet6_getpeername', 'ATTACHABLE'),
  def('cgroup/getpeername_unix', 'cgroup_sock_addr', 'cgroup_unix_getpeername', 'ATTACHABLE'),
  def('cgroup/getsockname4', 'cgroup_sock_addr', 'cgroup_inet4_getsockname', 'ATTACHABLE'),
  def('cgroup/getsockname6', 'cgroup_sock_addr', 'cgroup_inet6_getsockname', 'ATTACHABLE'),
  def('cgroup/getsockname_unix', 'cgroup_sock_addr', 'cgroup_unix_getsockname', 'ATTACHABLE'),
  def('cgroup/sysctl', 'cgroup_sysctl', 'cgroup_sysctl', 'ATTACHABLE'),
  def('cgroup/getsockopt', 'cgroup_sockopt', 'cgroup_getsockopt', 'ATTACHABLE'),
  def('cgroup/setsockopt', 'cgroup_sockopt', 'cgroup_setsockopt', 'ATTACHABLE'),
  def('cgroup/dev', 'cgroup_device', 'cgroup_device', 'ATTACHABLE_OPT'),
  def('struct_ops+', 'struct_ops', undefined),
  def('struct_ops.s+', 'struct_ops', undefined, 'SLEEPABLE'),
  def('sk_lookup', 'sk_lookup', 'sk_lookup', 'ATTACHABLE'),
  def('netfilter', 'netfilter', 'netfilter'),
]);

/** Whether `name` matches `d` by libbpf's sec_def_matches() rules. */
export function sectionDefMatches(d: SectionDef, name: string): boolean {
  switch (d.suffix) {
    case 'required':
      return name.startsWith(d.pattern);
    case 'optional':
      return name.startsWith(d.prefix) && (name.length === d.prefix.length || name[d.prefix.length] === '/');
    case 'none':
      return name === d.pattern;
  }
}

/**
 * The definition libbpf would pick for SEC(`name`) and what it implies, or undefined when
 * libbpf knows no such section (libbpf_prog_type_by_name() fails with -ESRCH).
 * `matchSection('xdp.frags')` -> xdp, attach type xdp, frags; `matchSection('kprobe/do_sys_open')`
 * -> kprobe with target `do_sys_open`.
 */
export function matchSection(name: string): SectionMatch | undefined {
  const d = SECTION_DEFS.find((candidate) => sectionDefMatches(candidate, name));
  if (d === undefined) return undefined;
  const progTypeValue = BpfProgType[d.progType.toUpperCase() as keyof typeof BpfProgType];
  const attachTypeValue = d.attachType === undefined ? 0 : BpfAttachType[d.attachType.toUpperCase() as keyof typeof BpfAttachType];
  const target = d.suffix === 'none' || name.length === d.prefix.length ? undefined : name.slice(d.prefix.length + (d.suffix === 'optional' ? 1 : 0));
  return {
    def: d,
    progType: d.progType,
    progTypeValue,
    attachType: d.attachType,
    attachTypeValue,
    sleepable: d.flags.sleepable,
    xdpFrags: d.flags.xdpFrags,
    target,
  };
}

/**
 * The section definitions libbpf before 1.0 matched by prefix alone (SEC_SLOPPY_PFX, outside
 * LIBBPF_STRICT_SEC_NAME): `SEC("xdp_prog")` was xdp, `SEC("classifier_ingress")` sched_cls.
 * libbpf 1.x dropped the rule — such sections are untyped and load only with an explicit type
 * (`bpftool prog load OBJ PIN type xdp`) — so bpfkit uses it for one thing only: to say, in the
 * error about an untyped program, which type the object was most likely written for.
 */
const LEGACY_PREFIX_SECTIONS: readonly string[] = Object.freeze([
  'socket',
  'sk_reuseport',
  'classifier',
  'action',
  'xdp',
  'perf_event',
  'lwt_in',
  'lwt_out',
  'lwt_xmit',
  'lwt_seg6local',
  'cgroup_skb/ingress',
  'cgroup_skb/egress',
  'cgroup/skb',
  'sockops',
  'sk_skb',
  'sk_msg',
  'lirc_mode2',
  'flow_dissector',
  'sk_lookup',
]);

/**
 * The type name (as `--type` takes it) that libbpf < 1.0 gave SEC(`name`) by its legacy prefix
 * rule, or undefined: `legacySectionType('xdp_prog') === 'xdp'`,
 * `legacySectionType('classifier_tc') === 'classifier'`. libbpf 1.x does not apply it.
 */
export function legacySectionType(name: string): string | undefined {
  return LEGACY_PREFIX_SECTIONS.find((p) => name.startsWith(p));
}
