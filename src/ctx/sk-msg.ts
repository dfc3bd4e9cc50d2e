// The sk_msg and sk_skb program types for the verifier: struct sk_msg_md and __sk_buff access rules (sk_msg_is_valid_access, sk_skb_is_valid_access) and helper sets.
//
// Programs attached to a sockmap/sockhash: sk_msg sees each sendmsg, sk_skb each received skb
// (stream parser and verdict). The kernel has no BPF_PROG_TEST_RUN for either: verified only.

import { helperAllowed } from '../isa/helpers.js';
import { BpfProgType } from '../isa/uapi.generated.js';
import type { CtxAccessCheck, ProgramTypeOps } from './program-type-ops.js';
import { invalidCtxAccess, SkBuff, SK_BUFF_SIZE, skbIsValidAccess } from './sk-buff.js';

/** sizeof(struct sk_msg_md). */
export const SK_MSG_MD_SIZE = 80;

/** Field offsets of struct sk_msg_md (include/uapi/linux/bpf.h). */
export const SkMsgMd = {
  data: 0,
  data_end: 8,
  family: 16,
  remote_ip4: 20,
  local_ip4: 24,
  remote_ip6: 28,
  local_ip6: 44,
  remote_port: 60,
  local_port: 64,
  size: 68,
  sk: 72,
} as const;

/**
 * sk_msg_is_valid_access: loads only, aligned; data/data_end as 8-byte packet pointers, sk as
 * an 8-byte socket (never NULL), the u32 fields (family..size) as whole 4-byte loads.
 */
export function skMsgCheckAccess(off: number, size: number, write: boolean): CtxAccessCheck {
  const deny = invalidCtxAccess(off, size);
  if (write || off % size !== 0 || off < 0 || off >= SK_MSG_MD_SIZE) return deny;
  const M = SkMsgMd;
  if (off < M.data_end) return size === 8 ? { field: 'data', type: 'pkt' } : deny;
  if (off < M.family) return size === 8 ? { field: 'data_end', type: 'pkt_end' } : deny;
  if (off >= M.sk) return size === 8 ? { field: 'sk', type: 'sock', notNull: true } : deny;
  return size === 4 ? { field: `+${off}`, type: 'scalar' } : deny;
}

const within = (off: number, start: number, width = 4): boolean => off >= start && off < start + width;

/**
 * sk_skb_is_valid_access: tc_classid, data_meta, tstamp, wire_len and hwtstamp refused; stores
 * only to tc_index and priority; mark refused; data/data_end as packet pointers; the rest as
 * bpf_skb_is_valid_access.
 */
export function skSkbCheckAccess(off: number, size: number, write: boolean, signExtend = false): CtxAccessCheck {
  if (within(off, SkBuff.tc_classid) || within(off, SkBuff.data_meta) || within(off, SkBuff.tstamp, 8) || within(off, SkBuff.wire_len) || within(off, SkBuff.hwtstamp, 8)) return invalidCtxAccess(off, size);
  if (write && !within(off, SkBuff.tc_index) && !within(off, SkBuff.priority)) return invalidCtxAccess(off, size);
  if (within(off, SkBuff.mark)) return invalidCtxAccess(off, size);
  return skbIsValidAccess(off, size, write, { data: 'pkt', data_end: 'pkt_end' }, signExtend);
}

/** BPF_PROG_TYPE_SK_MSG (sk_msg_verifier_ops; no test run). */
export const skMsgOps: ProgramTypeOps = {
  type: BpfProgType.SK_MSG,
  name: 'sk_msg',
  ctxSize: SK_MSG_MD_SIZE,
  checkAccess: skMsgCheckAccess,
  helperAllowed: (id) => helperAllowed(id, 'sk_msg'),
};

/** BPF_PROG_TYPE_SK_SKB (sk_skb_verifier_ops; no test run). */
export const skSkbOps: ProgramTypeOps = {
  type: BpfProgType.SK_SKB,
  name: 'sk_skb',
  ctxSize: SK_BUFF_SIZE,
  checkAccess: skSkbCheckAccess,
  helperAllowed: (id) => helperAllowed(id, 'sk_skb'),
};
