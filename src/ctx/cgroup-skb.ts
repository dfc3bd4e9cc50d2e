// The cgroup_skb program type: __sk_buff access rules (cg_skb_is_valid_access), helper set, and test run.
//
// BPF_PROG_TEST_RUN builds the skb as for a socket filter (eth_type_trans pulls the Ethernet
// header, so skb->data is the network header and data_out has 14 zeroed bytes in front), with
// direct packet access: data/data_end load as packet pointers. Unlike tc, the socket fields of
// __sk_buff are readable: they read skb->sk, the test run's dummy socket (family and addresses
// from the IP header, ports 0).

import { helperAllowed } from '../isa/helpers.js';
import { BpfProgType } from '../isa/uapi.generated.js';
import type { AddressSpace } from '../vm/address-space.js';
import type { CtxAccessCheck, RunnableProgramType } from './program-type-ops.js';
import { invalidCtxAccess, SkBuff, SK_BUFF_SIZE, skbIsValidAccess } from './sk-buff.js';
import { SkbContext, type SkbContextOptions } from './skb-context.js';
import { BpfSock } from './test-run-sock.js';

const within = (off: number, start: number, width = 4): boolean => off >= start && off < start + width;

/** The __sk_buff fields a cgroup_skb program may store to (tstamp needs CAP_BPF, which a privileged loader has). */
const CG_SKB_WRITABLE: readonly (readonly [number, number])[] = [
  [SkBuff.mark, 4],
  [SkBuff.priority, 4],
  [SkBuff.cb, 20],
  [SkBuff.tstamp, 8],
];

/**
 * cg_skb_is_valid_access: tc_classid, data_meta and wire_len refused; stores only to mark,
 * priority, cb[] and tstamp; data and data_end load as packet pointers; the rest (the socket
 * fields included) as bpf_skb_is_valid_access. Without CAP_BPF (`privileged` false) data,
 * data_end and tstamp stores are refused too.
 */
export function cgroupSkbCheckAccess(off: number, size: number, write: boolean, signExtend = false, privileged = true): CtxAccessCheck {
  if (within(off, SkBuff.tc_classid) || within(off, SkBuff.data_meta) || within(off, SkBuff.wire_len)) return invalidCtxAccess(off, size);
  if (!privileged && (within(off, SkBuff.data) || within(off, SkBuff.data_end) || (write && within(off, SkBuff.tstamp, 8)))) return invalidCtxAccess(off, size);
  if (write && !CG_SKB_WRITABLE.some(([start, width]) => within(off, start, width))) return invalidCtxAccess(off, size);
  return skbIsValidAccess(off, size, write, { data: 'pkt', data_end: 'pkt_end' }, signExtend);
}

/**
 * The __sk_buff socket fields as bpf_convert_ctx_access reads them through skb->sk: family
 * (skc_family, u16), remote/local IPv4 and IPv6 addresses (skc_daddr, skc_rcv_saddr,
 * skc_v6_daddr, skc_v6_rcv_saddr), remote_port (skc_dport << 16) and local_port (skc_num).
 * The dummy socket of a test run is unbound: both ports read 0.
 */
const SOCK_FIELD: Readonly<Record<number, number>> = {
  [SkBuff.remote_ip4]: BpfSock.dst_ip4,
  [SkBuff.local_ip4]: BpfSock.src_ip4,
  [SkBuff.remote_ip6]: BpfSock.dst_ip6,
  [SkBuff.remote_ip6 + 4]: BpfSock.dst_ip6 + 4,
  [SkBuff.remote_ip6 + 8]: BpfSock.dst_ip6 + 8,
  [SkBuff.remote_ip6 + 12]: BpfSock.dst_ip6 + 12,
  [SkBuff.local_ip6]: BpfSock.src_ip6,
  [SkBuff.local_ip6 + 4]: BpfSock.src_ip6 + 4,
  [SkBuff.local_ip6 + 8]: BpfSock.src_ip6 + 8,
  [SkBuff.local_ip6 + 12]: BpfSock.src_ip6 + 12,
};

/**
 * An skb context whose __sk_buff socket fields read the test run's socket (cgroup_skb: the
 * kernel reads them through skb->sk without a NULL check; a test run always has one).
 */
export class SockFieldsSkbContext extends SkbContext {
  constructor(space: AddressSpace, options: SkbContextOptions = {}) {
    super(space, 'socket_filter', options);
    const inner = space.hooks[this.ctx.id];
    const view = (): DataView => space.memory.view;
    space.setLoadHook(this.ctx, (offset, size, out) => {
      if (offset >= SkBuff.family && offset < SkBuff.local_port + 4) {
        const field = offset & ~3;
        const sock = this.sock.region.start;
        let v = 0;
        if (field === SkBuff.family) {
          v = view().getUint32(sock + BpfSock.family, true) & 0xffff;
          // A load narrower than the u16 shifts and masks; one as wide or wider reads it whole.
          if (size < 2) v = (v >>> ((offset - field) * 8)) & 0xff;
        } else if (SOCK_FIELD[field] !== undefined) {
          v = view().getUint32(sock + SOCK_FIELD[field]!, true);
        }
        out[0] = v | 0;
        out[1] = 0;
        return true;
      }
      return inner ? inner(offset, size, out) : false;
    });
  }
}

/** BPF_PROG_TYPE_CGROUP_SKB (attached at cgroup inet ingress, the default expected attach type). */
export const cgroupSkbOps: RunnableProgramType & { createContext(space: AddressSpace, options?: SkbContextOptions): SkbContext } = {
  type: BpfProgType.CGROUP_SKB,
  name: 'cgroup_skb',
  ctxSize: SK_BUFF_SIZE,
  checkAccess: cgroupSkbCheckAccess,
  helperAllowed: (id) => helperAllowed(id, 'cgroup_skb'),
  createContext: (space, options) => new SockFieldsSkbContext(space, options),
};
