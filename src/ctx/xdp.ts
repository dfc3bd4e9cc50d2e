// The XDP program type: struct xdp_md access rules (xdp_is_valid_access), helper set, and test run.

import { helperAllowed } from '../isa/helpers.js';
import { BpfAttachType, BpfProgType } from '../isa/uapi.generated.js';
import type { AddressSpace } from '../vm/address-space.js';
import type { CtxAccessCheck, RunnableProgramType } from './program-type-ops.js';
import { invalidCtxAccess } from './sk-buff.js';
import { XdpContext, type XdpContextOptions, XdpMd, XDP_MD_SIZE } from './xdp-buff.js';

const FIELD_NAMES = Object.fromEntries(Object.entries(XdpMd).map(([k, v]) => [v, k])) as Record<number, string>;

/**
 * xdp_is_valid_access: only aligned 4-byte loads (no narrow loads, no stores — stores are for
 * offloaded programs; no sign-extending loads of the packet pointers); egress_ifindex only for a
 * program attached to a devmap (expected attach type BPF_XDP_DEVMAP, libbpf's `xdp/devmap`
 * sections); data, data_meta and data_end load as packet pointers.
 */
export function xdpCheckAccess(off: number, size: number, write: boolean, signExtend = false, _privileged?: boolean, attachType?: number): CtxAccessCheck {
  const deny = invalidCtxAccess(off, size);
  if (signExtend && (off === XdpMd.data || off === XdpMd.data_end || off === XdpMd.data_meta)) return deny;
  if (off === XdpMd.egress_ifindex && attachType !== BpfAttachType.XDP_DEVMAP) return deny;
  if (write) return deny;
  if (off < 0 || off >= XDP_MD_SIZE || off % size !== 0 || size !== 4) return deny;
  const field = FIELD_NAMES[off] ?? `+${off}`;
  if (off === XdpMd.data) return { field, type: 'pkt' };
  if (off === XdpMd.data_end) return { field, type: 'pkt_end' };
  if (off === XdpMd.data_meta) return { field, type: 'pkt_meta' };
  return { field, type: 'scalar' };
}

/** BPF_PROG_TYPE_XDP. */
export const xdpOps: RunnableProgramType & { createContext(space: AddressSpace, options?: XdpContextOptions): XdpContext } = {
  type: BpfProgType.XDP,
  name: 'xdp',
  ctxSize: XDP_MD_SIZE,
  checkAccess: xdpCheckAccess,
  helperAllowed: (id) => helperAllowed(id, 'xdp'),
  createContext: (space, options) => new XdpContext(space, options),
};
