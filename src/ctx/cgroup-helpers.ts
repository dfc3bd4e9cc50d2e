// The helpers every cgroup program type shares (cgroup_common_func_proto: bpf_get_retval/bpf_set_retval per attach type) on top of the type's own set.
import { helperAllowed, helperById } from '../isa/helpers.js';
import type { ProgramTypeName } from '../isa/program-types.js';
import { BpfAttachType as A } from '../isa/uapi.generated.js';

/** Hooks whose return value is not an errno (the program's verdict is the result): no bpf_get_retval / bpf_set_retval there. */
const NO_RETVAL: ReadonlySet<number> = new Set([
  A.CGROUP_INET_INGRESS, A.CGROUP_INET_EGRESS, A.CGROUP_SOCK_OPS, A.CGROUP_UDP4_RECVMSG, A.CGROUP_UDP6_RECVMSG, A.CGROUP_UNIX_RECVMSG,
  A.CGROUP_INET4_GETPEERNAME, A.CGROUP_INET6_GETPEERNAME, A.CGROUP_UNIX_GETPEERNAME, A.CGROUP_INET4_GETSOCKNAME, A.CGROUP_INET6_GETSOCKNAME,
  A.CGROUP_UNIX_GETSOCKNAME,
]);

/**
 * May a cgroup program of `type`, loaded for `attachType`, call helper `id`? cgroup_common_func_proto
 * first (bpf_get_retval / bpf_set_retval at every hook whose result is an errno), then the type's
 * rows of the prototype table.
 */
export function cgroupHelperAllowed(id: number, type: ProgramTypeName, attachType: number | undefined): boolean {
  const name = helperById(id)?.name;
  if (name === 'get_retval' || name === 'set_retval') return !NO_RETVAL.has(attachType ?? A.CGROUP_INET_INGRESS);
  return helperAllowed(id, type);
}
