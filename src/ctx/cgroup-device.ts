// The cgroup_device program type for the verifier: struct bpf_cgroup_dev_ctx access rules (cgroup_dev_is_valid_access) and helper set (cgroup_dev_func_proto).
//
// Runs when a process in the cgroup opens or creates a device node (mknod, open): the program
// allows (1) or denies (0) the access. No BPF_PROG_TEST_RUN: verified only.

import { BpfAttachType as A, BpfProgType } from '../isa/uapi.generated.js';
import { cgroupHelperAllowed } from './cgroup-helpers.js';
import type { CtxAccessCheck, ProgramTypeOps } from './program-type-ops.js';
import { invalidCtxAccess } from './sk-buff.js';

/** sizeof(struct bpf_cgroup_dev_ctx): access_type, major, minor (u32 each). */
export const BPF_CGROUP_DEV_CTX_SIZE = 12;

/** cgroup_dev_is_valid_access: loads only; access_type narrow (1, 2 or 4 bytes), major and minor as whole u32s. */
export function cgroupDevCheckAccess(off: number, size: number, write: boolean): CtxAccessCheck {
  const deny = invalidCtxAccess(off, size);
  if (write || off < 0 || off + size > BPF_CGROUP_DEV_CTX_SIZE || off % size !== 0) return deny;
  if (off < 4) return size <= 4 && (size & (size - 1)) === 0 ? { field: 'access_type', type: 'scalar' } : deny;
  return size === 4 ? { field: off === 4 ? 'major' : 'minor', type: 'scalar' } : deny;
}

/** BPF_PROG_TYPE_CGROUP_DEVICE (cg_dev_verifier_ops; no test run). */
export const cgroupDeviceOps: ProgramTypeOps = {
  type: BpfProgType.CGROUP_DEVICE,
  name: 'cgroup_device',
  ctxSize: BPF_CGROUP_DEV_CTX_SIZE,
  expectedAttachType: A.CGROUP_DEVICE,
  checkAccess: cgroupDevCheckAccess,
  helperAllowed: (id, attachType) => cgroupHelperAllowed(id, 'cgroup_device', attachType),
};
