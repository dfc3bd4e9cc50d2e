// The sk_reuseport program type for the verifier: struct sk_reuseport_md access rules (sk_reuseport_is_valid_access) and helper set.
//
// An SO_REUSEPORT group runs the program to pick the socket of an incoming packet or
// connection request with bpf_sk_select_reuseport. The kernel has no BPF_PROG_TEST_RUN for
// the type, so bpfkit verifies it but does not run it.

import { helperAllowed } from '../isa/helpers.js';
import { BpfProgType } from '../isa/uapi.generated.js';
import type { CtxAccessCheck, ProgramTypeOps } from './program-type-ops.js';
import { invalidCtxAccess } from './sk-buff.js';

/** sizeof(struct sk_reuseport_md). */
export const SK_REUSEPORT_MD_SIZE = 56;

/** Field offsets of struct sk_reuseport_md (include/uapi/linux/bpf.h). */
export const SkReuseportMd = {
  data: 0,
  data_end: 8,
  len: 16,
  eth_protocol: 20,
  ip_protocol: 24,
  bind_inany: 28,
  hash: 32,
  sk: 40,
  migrating_sk: 48,
} as const;

/** bpf_ctx_narrow_access_ok for a u32 field: a power-of-two size up to 4. */
const narrow32 = (size: number): boolean => size <= 4 && (size & (size - 1)) === 0;

/**
 * sk_reuseport_is_valid_access: loads only; data/data_end as 8-byte packet pointers (read-only
 * direct packet access), sk as a socket, migrating_sk as a socket-common pointer that may be
 * NULL, hash as a whole u32, len/ip_protocol/bind_inany narrow, eth_protocol narrow but at
 * least 2 bytes (the skb's __be16 protocol).
 */
export function skReuseportCheckAccess(off: number, size: number, write: boolean): CtxAccessCheck {
  const deny = invalidCtxAccess(off, size);
  if (off < 0 || off >= SK_REUSEPORT_MD_SIZE || off % size !== 0 || write) return deny;
  const M = SkReuseportMd;
  switch (off) {
    case M.data:
      return size === 8 ? { field: 'data', type: 'pkt' } : deny;
    case M.data_end:
      return size === 8 ? { field: 'data_end', type: 'pkt_end' } : deny;
    case M.hash:
      return size === 4 ? { field: 'hash', type: 'scalar' } : deny;
    case M.sk:
      return size === 8 ? { field: 'sk', type: 'sock', notNull: true } : deny;
    case M.migrating_sk:
      return size === 8 ? { field: 'migrating_sk', type: 'sock_common' } : deny;
    default:
      break;
  }
  if (off >= M.eth_protocol && off < M.eth_protocol + 4) return size >= 2 && narrow32(size) ? { field: 'eth_protocol', type: 'scalar' } : deny;
  for (const name of ['len', 'ip_protocol', 'bind_inany'] as const) {
    if (off >= M[name] && off < M[name] + 4) return narrow32(size) ? { field: name, type: 'scalar' } : deny;
  }
  return deny;
}

/** BPF_PROG_TYPE_SK_REUSEPORT (sk_reuseport_verifier_ops; no test run). */
export const skReuseportOps: ProgramTypeOps = {
  type: BpfProgType.SK_REUSEPORT,
  name: 'sk_reuseport',
  ctxSize: SK_REUSEPORT_MD_SIZE,
  checkAccess: skReuseportCheckAccess,
  helperAllowed: (id) => helperAllowed(id, 'sk_reuseport'),
};
