// The cgroup_sock_addr program type for the verifier: struct bpf_sock_addr access rules per attach type (sock_addr_is_valid_access) and helper set (sock_addr_func_proto).
//
// Runs at bind, connect, sendmsg, recvmsg, getpeername and getsockname of a socket in the cgroup
// (cgroup/bind4, cgroup/connect6, cgroup/sendmsg_unix...), where it may rewrite the address. The
// kernel has no BPF_PROG_TEST_RUN for the type: verified only.

import { helperById } from '../isa/helpers.js';
import { BpfAttachType as A, BpfProgType } from '../isa/uapi.generated.js';
import { cgroupHelperAllowed } from './cgroup-helpers.js';
import type { CtxAccessCheck, ProgramTypeOps } from './program-type-ops.js';
import { invalidCtxAccess } from './sk-buff.js';

/** sizeof(struct bpf_sock_addr). */
export const BPF_SOCK_ADDR_SIZE = 72;

/** Field offsets of struct bpf_sock_addr (include/uapi/linux/bpf.h). */
export const BpfSockAddr = {
  user_family: 0,
  user_ip4: 4,
  user_ip6: 8,
  user_port: 24,
  family: 28,
  type: 32,
  protocol: 36,
  msg_src_ip4: 40,
  msg_src_ip6: 44,
  sk: 64,
} as const;

const IP4_TYPES: ReadonlySet<number> = new Set([A.CGROUP_INET4_BIND, A.CGROUP_INET4_CONNECT, A.CGROUP_INET4_GETPEERNAME, A.CGROUP_INET4_GETSOCKNAME, A.CGROUP_UDP4_SENDMSG, A.CGROUP_UDP4_RECVMSG]);
const IP6_TYPES: ReadonlySet<number> = new Set([A.CGROUP_INET6_BIND, A.CGROUP_INET6_CONNECT, A.CGROUP_INET6_GETPEERNAME, A.CGROUP_INET6_GETSOCKNAME, A.CGROUP_UDP6_SENDMSG, A.CGROUP_UDP6_RECVMSG]);

/** The attach types of cgroup_sock_addr, in enum order (each has rules of its own). */
export const SOCK_ADDR_ATTACH_TYPES: readonly number[] = [
  A.CGROUP_INET4_BIND, A.CGROUP_INET6_BIND, A.CGROUP_INET4_CONNECT, A.CGROUP_INET6_CONNECT, A.CGROUP_UDP4_SENDMSG, A.CGROUP_UDP6_SENDMSG,
  A.CGROUP_UDP4_RECVMSG, A.CGROUP_UDP6_RECVMSG, A.CGROUP_INET4_GETPEERNAME, A.CGROUP_INET6_GETPEERNAME, A.CGROUP_INET4_GETSOCKNAME,
  A.CGROUP_INET6_GETSOCKNAME, A.CGROUP_UNIX_CONNECT, A.CGROUP_UNIX_SENDMSG, A.CGROUP_UNIX_RECVMSG, A.CGROUP_UNIX_GETPEERNAME, A.CGROUP_UNIX_GETSOCKNAME,
];

const within = (off: number, start: number, width = 4): boolean => off >= start && off < start + width;

/** bpf_ctx_wide_access_ok: an aligned 8-byte access inside a u32 array field. */
const wide = (off: number, size: number, start: number, width: number): boolean => size === 8 && off >= start && off + 8 <= start + width && off % 8 === 0;

/**
 * sock_addr_is_valid_access: the address fields only of the attach type's family (user_ip4 for
 * the IPv4 hooks, user_ip6 for the IPv6 ones, msg_src_ip4/6 at sendmsg only); addresses and
 * user_port read narrow (1, 2, 4 bytes; 8 inside the ip6 arrays) and written as 4 bytes (8
 * inside the arrays); user_family, family, type and protocol read-only 4 bytes; sk read-only
 * as an 8-byte socket pointer that is never NULL.
 */
export function sockAddrCheckAccess(off: number, size: number, write: boolean, _signExtend = false, _privileged = true, attachType?: number): CtxAccessCheck {
  const deny = invalidCtxAccess(off, size);
  const S = BpfSockAddr;
  if (off < 0 || off >= BPF_SOCK_ADDR_SIZE || off % size !== 0) return deny;
  const at = attachType ?? -1;
  if (within(off, S.user_ip4) && !IP4_TYPES.has(at)) return deny;
  if (within(off, S.user_ip6, 16) && !IP6_TYPES.has(at)) return deny;
  if (within(off, S.msg_src_ip4) && at !== A.CGROUP_UDP4_SENDMSG) return deny;
  if (within(off, S.msg_src_ip6, 16) && at !== A.CGROUP_UDP6_SENDMSG) return deny;
  const field = (name: string): CtxAccessCheck => ({ field: name, type: 'scalar' });
  if (within(off, S.user_ip4, 24) || within(off, S.msg_src_ip4, 20)) {
    // user_ip4, user_ip6[4], user_port; msg_src_ip4, msg_src_ip6[4].
    if (wide(off, size, S.user_ip6, 16) || wide(off, size, S.msg_src_ip6, 16)) return field(`+${off}`);
    if (write ? size !== 4 : size > 4 || (size & (size - 1)) !== 0) return deny;
    return field(`+${off}`);
  }
  if (within(off, S.sk, 8)) return !write && size === 8 ? { field: 'sk', type: 'sock', notNull: true } : deny;
  // user_family, family, type, protocol; not the padding before sk.
  return !write && size === 4 && off < S.msg_src_ip4 ? field(`+${off}`) : deny;
}

/** sock_addr_func_proto's attach-type cases: bpf_bind at connect4/6 only; bpf_setsockopt/getsockopt at every hook but the unix getpeername/getsockname ones. */
function sockAddrHelperAllowed(id: number, attachType?: number): boolean {
  const name = helperById(id)?.name;
  if (name === 'bind') return attachType === A.CGROUP_INET4_CONNECT || attachType === A.CGROUP_INET6_CONNECT;
  if (name === 'setsockopt' || name === 'getsockopt') return attachType !== A.CGROUP_UNIX_GETPEERNAME && attachType !== A.CGROUP_UNIX_GETSOCKNAME;
  return cgroupHelperAllowed(id, 'cgroup_sock_addr', attachType);
}

/** BPF_PROG_TYPE_CGROUP_SOCK_ADDR (cg_sock_addr_verifier_ops; no test run). Loading needs an expected attach type: connect4 by default. */
export const cgroupSockAddrOps: ProgramTypeOps = {
  type: BpfProgType.CGROUP_SOCK_ADDR,
  name: 'cgroup_sock_addr',
  ctxSize: BPF_SOCK_ADDR_SIZE,
  expectedAttachType: A.CGROUP_INET4_CONNECT,
  checkAccess: sockAddrCheckAccess,
  helperAllowed: sockAddrHelperAllowed,
};
