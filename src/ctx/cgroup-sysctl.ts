// The cgroup_sysctl program type for the verifier: struct bpf_sysctl access rules (sysctl_is_valid_access) and helper set (sysctl_func_proto).
//
// Runs when a process in the cgroup reads or writes a sysctl under /proc/sys; it may read the
// sysctl's name and values and replace the value written. No BPF_PROG_TEST_RUN: verified only.

import { BpfAttachType as A, BpfProgType } from '../isa/uapi.generated.js';
import { cgroupHelperAllowed } from './cgroup-helpers.js';
import type { CtxAccessCheck, ProgramTypeOps } from './program-type-ops.js';
import { invalidCtxAccess } from './sk-buff.js';

/** sizeof(struct bpf_sysctl): `write` and `file_pos`, u32 each. */
export const BPF_SYSCTL_SIZE = 8;

/**
 * sysctl_is_valid_access: `write` read-only and narrow; `file_pos` read narrow, written as 4
 * bytes; nothing else (the struct has no other field, and an 8-byte access spans both).
 */
export function sysctlCheckAccess(off: number, size: number, write: boolean): CtxAccessCheck {
  const deny = invalidCtxAccess(off, size);
  if (off < 0 || off + size > BPF_SYSCTL_SIZE || off % size !== 0 || size === 8) return deny;
  const narrow = size <= 4 && (size & (size - 1)) === 0;
  if (off < 4) return !write && narrow ? { field: 'write', type: 'scalar' } : deny;
  return (write ? size === 4 : narrow) ? { field: 'file_pos', type: 'scalar' } : deny;
}

/** BPF_PROG_TYPE_CGROUP_SYSCTL (cg_sysctl_verifier_ops; no test run). */
export const cgroupSysctlOps: ProgramTypeOps = {
  type: BpfProgType.CGROUP_SYSCTL,
  name: 'cgroup_sysctl',
  ctxSize: BPF_SYSCTL_SIZE,
  expectedAttachType: A.CGROUP_SYSCTL,
  checkAccess: sysctlCheckAccess,
  helperAllowed: (id, attachType) => cgroupHelperAllowed(id, 'cgroup_sysctl', attachType),
};
