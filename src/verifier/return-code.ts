// The return values a program type (and expected attach type) may give: check_return_code's ranges.
import { BpfAttachType as A, BpfProgType as T } from '../isa/uapi.generated.js';

/** An inclusive range of return values (bpf_retval_range). */
export type ReturnRange = readonly [bigint, bigint];

const ZERO_ONE: ReturnRange = [0n, 1n];

/** cgroup_sock_addr hooks whose return value must be 1 (recvmsg, getpeername, getsockname). */
const MUST_RETURN_ONE: ReadonlySet<number> = new Set([
  A.CGROUP_UDP4_RECVMSG,
  A.CGROUP_UDP6_RECVMSG,
  A.CGROUP_UNIX_RECVMSG,
  A.CGROUP_INET4_GETPEERNAME,
  A.CGROUP_INET6_GETPEERNAME,
  A.CGROUP_UNIX_GETPEERNAME,
  A.CGROUP_INET4_GETSOCKNAME,
  A.CGROUP_INET6_GETSOCKNAME,
  A.CGROUP_UNIX_GETSOCKNAME,
]);

/**
 * check_return_code: the range R0 must be in at the main program's exit, or undefined when any
 * value goes. cgroup_sock_addr: [1, 1] for recvmsg/getpeername/getsockname, [0, 3] for bind
 * (bit 1: skip the port check), else [0, 1]; cgroup_skb egress [0, 3] (bit 1: congestion
 * notification); the other cgroup types, sock_ops, sk_lookup, netfilter and iterators [0, 1];
 * fentry/fexit [0, 0]; kprobe session programs [0, 1]. LSM hooks' ranges come from the hook's
 * BTF and are not modelled (any value goes).
 */
export function returnRange(progType: number, attachType: number | undefined): ReturnRange | undefined {
  switch (progType) {
    case T.CGROUP_SOCK_ADDR:
      if (attachType !== undefined && MUST_RETURN_ONE.has(attachType)) return [1n, 1n];
      if (attachType === A.CGROUP_INET4_BIND || attachType === A.CGROUP_INET6_BIND) return [0n, 3n];
      return ZERO_ONE;
    case T.CGROUP_SKB:
      return attachType === A.CGROUP_INET_EGRESS ? [0n, 3n] : ZERO_ONE;
    case T.CGROUP_SOCK:
    case T.SOCK_OPS:
    case T.CGROUP_DEVICE:
    case T.CGROUP_SYSCTL:
    case T.CGROUP_SOCKOPT:
    case T.SK_LOOKUP:
    case T.NETFILTER:
      return ZERO_ONE;
    case T.TRACING:
      if (attachType === A.TRACE_FENTRY || attachType === A.TRACE_FEXIT) return [0n, 0n];
      return attachType === A.TRACE_ITER ? ZERO_ONE : undefined;
    case T.KPROBE:
      return attachType === A.TRACE_KPROBE_SESSION || attachType === A.TRACE_UPROBE_SESSION ? ZERO_ONE : undefined;
    default:
      return undefined;
  }
}
