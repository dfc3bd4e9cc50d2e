// The socket filter program type: __sk_buff access rules (sk_filter_is_valid_access), helper set, and test run.

import { helperAllowed } from '../isa/helpers.js';
import { BpfProgType } from '../isa/uapi.generated.js';
import type { AddressSpace } from '../vm/address-space.js';
import type { CtxAccessCheck, RunnableProgramType } from './program-type-ops.js';
import { invalidCtxAccess, SkBuff, SK_BUFF_SIZE, skbIsValidAccess } from './sk-buff.js';
import { SkbContext, type SkbContextOptions } from './skb-context.js';

const within = (off: number, start: number, width = 4): boolean => off >= start && off < start + width;

/**
 * sk_filter_is_valid_access: no direct packet access (data, data_meta, data_end refused —
 * socket filters read the packet with LD_ABS/LD_IND and bpf_skb_load_bytes), no tc_classid,
 * socket fields, tstamp, wire_len or hwtstamp; stores only to cb[]; the rest as
 * bpf_skb_is_valid_access.
 */
export function socketFilterCheckAccess(off: number, size: number, write: boolean, signExtend = false): CtxAccessCheck {
  const refused =
    within(off, SkBuff.tc_classid) ||
    within(off, SkBuff.data) ||
    within(off, SkBuff.data_meta) ||
    within(off, SkBuff.data_end) ||
    (off >= SkBuff.family && off < SkBuff.local_port + 4) ||
    within(off, SkBuff.tstamp, 8) ||
    within(off, SkBuff.wire_len) ||
    within(off, SkBuff.hwtstamp, 8);
  if (refused) return invalidCtxAccess(off, size);
  if (write && !within(off, SkBuff.cb, 20)) return invalidCtxAccess(off, size);
  return skbIsValidAccess(off, size, write, {}, signExtend);
}

/** BPF_PROG_TYPE_SOCKET_FILTER. */
export const socketFilterOps: RunnableProgramType & { createContext(space: AddressSpace, options?: SkbContextOptions): SkbContext } = {
  type: BpfProgType.SOCKET_FILTER,
  name: 'socket_filter',
  ctxSize: SK_BUFF_SIZE,
  checkAccess: socketFilterCheckAccess,
  helperAllowed: (id) => helperAllowed(id, 'socket_filter'),
  createContext: (space, options) => new SkbContext(space, 'socket_filter', options),
};
