// The cgroup_sock program type for the verifier: struct bpf_sock access rules per attach type (sock_filter_is_valid_access) and helper set.
//
// Runs when a socket is created, released or bound (cgroup/sock_create, sock_release,
// post_bind4/6). The kernel has no BPF_PROG_TEST_RUN for the type: verified only.

import { helperAllowed } from '../isa/helpers.js';
import { BpfAttachType, BpfProgType } from '../isa/uapi.generated.js';
import type { CtxAccessCheck, ProgramTypeOps } from './program-type-ops.js';
import { invalidCtxAccess } from './sk-buff.js';
import { BpfSock, BPF_SOCK_SIZE } from './test-run-sock.js';

const narrow = (size: number, width: number): boolean => size <= width && (size & (size - 1)) === 0;

/** bpf_sock_is_valid_access: narrow loads of most u32 fields, dst_port as its __be16 (or all 4 bytes), nothing in its padding. */
function bpfSockValid(off: number, size: number): boolean {
  const S = BpfSock;
  if (off < 0 || off >= BPF_SOCK_SIZE || off % size !== 0) return false;
  if ([S.state, S.family, S.type, S.protocol, S.src_port, S.rx_queue_mapping].includes(off as never)) return narrow(size, 4);
  if ((off >= S.src_ip4 && off < S.src_port) || (off >= S.dst_ip4 && off < S.state)) return narrow(size, 4);
  if (off >= S.dst_port && off < S.dst_port + 2) return size === 4 ? off === S.dst_port : narrow(size, 2);
  if (off >= S.dst_port + 2 && off < S.dst_ip4) return false;
  return size === 4;
}

/**
 * sock_filter_is_valid_access: bpf_sock's rules, then per attach type: bound_dev_if, mark and
 * priority readable and writable at socket create/release only; src_ip4 at post_bind4,
 * src_ip6 at post_bind6, src_port at either (read-only); everything else read-only. With no
 * attach type the kernel assumes cgroup/sock_create.
 */
export function cgroupSockCheckAccess(off: number, size: number, write: boolean, _signExtend = false, _privileged = true, attachType?: number): CtxAccessCheck {
  const deny = invalidCtxAccess(off, size);
  if (!bpfSockValid(off, size)) return deny;
  const S = BpfSock;
  const at = attachType || BpfAttachType.CGROUP_INET_SOCK_CREATE;
  const field = { field: `+${off}`, type: 'scalar' } as const;
  if (off === S.bound_dev_if || off === S.mark || off === S.priority) return at === BpfAttachType.CGROUP_INET_SOCK_CREATE || at === BpfAttachType.CGROUP_INET_SOCK_RELEASE ? field : deny;
  if (off >= S.src_ip4 && off < S.src_ip6) return at === BpfAttachType.CGROUP_INET4_POST_BIND && !write ? field : deny;
  if (off >= S.src_ip6 && off < S.src_port) return at === BpfAttachType.CGROUP_INET6_POST_BIND && !write ? field : deny;
  if (off >= S.src_port && off < S.src_port + 4) return (at === BpfAttachType.CGROUP_INET4_POST_BIND || at === BpfAttachType.CGROUP_INET6_POST_BIND) && !write ? field : deny;
  return write ? deny : field;
}

/** BPF_PROG_TYPE_CGROUP_SOCK (cg_sock_verifier_ops; no test run). */
export const cgroupSockOps: ProgramTypeOps = {
  type: BpfProgType.CGROUP_SOCK,
  name: 'cgroup_sock',
  ctxSize: BPF_SOCK_SIZE,
  checkAccess: cgroupSockCheckAccess,
  helperAllowed: (id) => helperAllowed(id, 'cgroup_sock'),
};
