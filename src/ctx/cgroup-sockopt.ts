// The cgroup_sockopt program type for the verifier: struct bpf_sockopt access rules per attach type (cg_sockopt_is_valid_access) and helper set (cg_sockopt_func_proto).
//
// Runs at getsockopt(2) / setsockopt(2) of a socket in the cgroup (cgroup/getsockopt,
// cgroup/setsockopt): the option's buffer is optval..optval_end, which the program reads and
// writes like a packet. No BPF_PROG_TEST_RUN: verified only.

import { helperById } from '../isa/helpers.js';
import { BpfAttachType as A, BpfProgType } from '../isa/uapi.generated.js';
import { cgroupHelperAllowed } from './cgroup-helpers.js';
import type { CtxAccessCheck, ProgramTypeOps } from './program-type-ops.js';
import { invalidCtxAccess } from './sk-buff.js';

/** sizeof(struct bpf_sockopt). */
export const BPF_SOCKOPT_SIZE = 40;

/** Field offsets of struct bpf_sockopt (include/uapi/linux/bpf.h). */
export const BpfSockopt = {
  sk: 0,
  optval: 8,
  optval_end: 16,
  level: 24,
  optname: 28,
  optlen: 32,
  retval: 36,
} as const;

/**
 * cg_sockopt_is_valid_access: sk (a socket, never NULL), optval and optval_end (the option
 * buffer as packet pointers) read as 8 bytes; level, optname, optlen read as 4 bytes; stores of
 * 4 bytes to optlen, to level and optname at setsockopt, to retval at getsockopt; retval
 * readable at getsockopt only.
 */
export function sockoptCheckAccess(off: number, size: number, write: boolean, _signExtend = false, _privileged = true, attachType?: number): CtxAccessCheck {
  const deny = invalidCtxAccess(off, size);
  const S = BpfSockopt;
  if (off < 0 || off >= BPF_SOCKOPT_SIZE || off % size !== 0) return deny;
  const get = attachType === A.CGROUP_GETSOCKOPT;
  const set = attachType === A.CGROUP_SETSOCKOPT;
  const field = (name: string): CtxAccessCheck => ({ field: name, type: 'scalar' });
  if (write) {
    if (size !== 4) return deny;
    if (off === S.retval) return get ? field('retval') : deny;
    if (off === S.level || off === S.optname) return set ? field(off === S.level ? 'level' : 'optname') : deny;
    return off === S.optlen ? field('optlen') : deny;
  }
  if (off < S.optval) return size === 8 ? { field: 'sk', type: 'sock', notNull: true } : deny;
  if (off < S.optval_end) return size === 8 ? { field: 'optval', type: 'pkt' } : deny;
  if (off < S.level) return size === 8 ? { field: 'optval_end', type: 'pkt_end' } : deny;
  if (off >= S.retval) return size === 4 && get ? field('retval') : deny;
  return size === 4 ? field(off === S.level ? 'level' : off === S.optname ? 'optname' : 'optlen') : deny;
}

/** cg_sockopt_func_proto's attach-type cases: bpf_setsockopt / bpf_getsockopt (on ctx->sk) at cgroup/setsockopt only. */
function sockoptHelperAllowed(id: number, attachType?: number): boolean {
  const name = helperById(id)?.name;
  if (name === 'setsockopt' || name === 'getsockopt') return attachType === A.CGROUP_SETSOCKOPT;
  return cgroupHelperAllowed(id, 'cgroup_sockopt', attachType);
}

/** BPF_PROG_TYPE_CGROUP_SOCKOPT (cg_sockopt_verifier_ops; no test run). Loading needs an expected attach type: getsockopt by default. */
export const cgroupSockoptOps: ProgramTypeOps = {
  type: BpfProgType.CGROUP_SOCKOPT,
  name: 'cgroup_sockopt',
  ctxSize: BPF_SOCKOPT_SIZE,
  expectedAttachType: A.CGROUP_GETSOCKOPT,
  checkAccess: sockoptCheckAccess,
  helperAllowed: sockoptHelperAllowed,
};
