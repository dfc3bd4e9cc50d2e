// The sock_ops program type for the verifier: struct bpf_sock_ops access rules (sock_ops_is_valid_access) and helper set.
//
// TCP runs the program at points of a connection's life (BPF_SOCK_OPS_*_CB) to read its state
// and set options. The kernel has no BPF_PROG_TEST_RUN for the type: verified only.

import { helperAllowed } from '../isa/helpers.js';
import { BpfProgType } from '../isa/uapi.generated.js';
import type { CtxAccessCheck, ProgramTypeOps } from './program-type-ops.js';
import { invalidCtxAccess } from './sk-buff.js';

/** sizeof(struct bpf_sock_ops). */
export const BPF_SOCK_OPS_SIZE = 224;

/** Offsets of struct bpf_sock_ops fields with rules of their own (include/uapi/linux/bpf.h). */
export const BpfSockOps = {
  op: 0,
  reply: 4,
  sk_txhash: 164,
  bytes_received: 168,
  bytes_acked: 176,
  sk: 184,
  skb_data: 192,
  skb_data_end: 200,
  skb_len: 208,
  skb_tcp_flags: 212,
  skb_hwtstamp: 216,
} as const;

/**
 * sock_ops_is_valid_access: stores only to `reply` and `sk_txhash` (4 bytes); loads of the
 * u64 byte counters and skb_hwtstamp as 8 bytes, `sk` as a socket that may be NULL,
 * skb_data/skb_data_end as packet pointers, skb_tcp_flags narrow, every other field as 4 bytes.
 */
export function sockOpsCheckAccess(off: number, size: number, write: boolean): CtxAccessCheck {
  const deny = invalidCtxAccess(off, size);
  const S = BpfSockOps;
  if (off < 0 || off >= BPF_SOCK_OPS_SIZE || off % size !== 0) return deny;
  if (write) return (off === S.reply || off === S.sk_txhash) && size === 4 ? { field: off === S.reply ? 'reply' : 'sk_txhash', type: 'scalar' } : deny;
  const inRange = (start: number, width: number): boolean => off >= start && off < start + width;
  if (inRange(S.bytes_received, 16)) return size === 8 ? { field: off < S.bytes_acked ? 'bytes_received' : 'bytes_acked', type: 'scalar' } : deny;
  if (inRange(S.sk, 8)) return size === 8 ? { field: 'sk', type: 'sock' } : deny;
  if (inRange(S.skb_data, 8)) return size === 8 ? { field: 'skb_data', type: 'pkt' } : deny;
  if (inRange(S.skb_data_end, 8)) return size === 8 ? { field: 'skb_data_end', type: 'pkt_end' } : deny;
  if (off === S.skb_tcp_flags) return size <= 4 && (size & (size - 1)) === 0 ? { field: 'skb_tcp_flags', type: 'scalar' } : deny;
  if (inRange(S.skb_hwtstamp, 8)) return size === 8 ? { field: 'skb_hwtstamp', type: 'scalar' } : deny;
  return size === 4 ? { field: `+${off}`, type: 'scalar' } : deny;
}

/** BPF_PROG_TYPE_SOCK_OPS (sock_ops_verifier_ops; no test run). */
export const sockOpsOps: ProgramTypeOps = {
  type: BpfProgType.SOCK_OPS,
  name: 'sock_ops',
  ctxSize: BPF_SOCK_OPS_SIZE,
  checkAccess: sockOpsCheckAccess,
  helperAllowed: (id) => helperAllowed(id, 'sock_ops'),
};
