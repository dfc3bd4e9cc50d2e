// The netfilter program type: struct bpf_nf_ctx access rules (nf_is_valid_access), helper set, and test run (bpf_prog_test_run_nf).
//
// The context is struct bpf_nf_ctx { const struct nf_hook_state *state; struct sk_buff *skb; }:
// both load as trusted pointers to kernel structs (PTR_TO_BTF_ID), which the verifier checks
// against the kernel's BTF. A test run takes an L3 packet (LOCAL_OUT, the default hook) or an
// Ethernet frame (the other hooks) and, as ctx_in, the hook state's `hook` and `pf`; it reports
// the verdict only (NF_DROP 0 / NF_ACCEPT 1). bpfkit models the hook state (hook, pf, `out` =
// the namespace's loopback as the test run sets it; in, sk, net, okfn NULL) and, laid out as the
// object's BTF declares them (programs run as compiled), the struct sk_buff the test run builds —
// len, protocol, dev (loopback once eth_type_trans ran, i.e. for hooks other than LOCAL_OUT;
// NULL for LOCAL_OUT), pkt_type, the header offsets, and the fields a fresh skb has zeroed —
// and struct net_device for loopback (ifindex 1, name "lo", mtu 65536, type ARPHRD_LOOPBACK,
// addr_len 6, hard_header_len 14). Any other field is live kernel state: a load of it faults
// with KernCtxFieldError naming it; without the structs in the object's BTF every load through
// those pointers fails with NotSupportedError rather than yielding made-up values.

import { NotSupportedError } from '../errors.js';
import { helperAllowed } from '../isa/helpers.js';
import { BpfAttachType, BpfProgType } from '../isa/uapi.generated.js';
import type { AddressSpace, Region } from '../vm/address-space.js';
import { InvalidContextError } from '../vm/errors.js';
import { structLayout, structView, type FieldGetter } from './btf-struct-view.js';
import { LOOPBACK } from './net-device.js';
import type { ContextInstance, ContextOptions, CtxAccessCheck, RunInput, RunnableProgramType } from './program-type-ops.js';
import { invalidCtxAccess } from './sk-buff.js';
import { ethTypeTrans, packetType, SKB_HEADROOM, SKB_MAX_DATA } from './skb-context.js';

/** sizeof(struct bpf_nf_ctx). */
export const BPF_NF_CTX_SIZE = 16;
/** sizeof(struct nf_hook_state) on x86-64 (u8 hook, u8 pf, then five pointers): what a test run's ctx_in is. */
export const NF_HOOK_STATE_SIZE = 48;

/** Field offsets of struct nf_hook_state (include/linux/netfilter.h). */
export const NfHookState = { hook: 0, pf: 1, in: 8, out: 16, sk: 24, net: 32, okfn: 40 } as const;
/** `enum nf_inet_hooks`. */
export const NfInetHook = { PRE_ROUTING: 0, LOCAL_IN: 1, FORWARD: 2, LOCAL_OUT: 3, POST_ROUTING: 4 } as const;
/** `NFPROTO_IPV4`, `NFPROTO_IPV6`. */
export const NfProto = { IPV4: 2, IPV6: 10 } as const;

const ETH_HLEN = 14;
const IPV4_HLEN = 20;
const IPV6_HLEN = 40;
/** htons(ETH_P_IP), htons(ETH_P_IPV6) as skb->protocol holds them, read little-endian. */
const PROTO_IP = 0x0008;
const PROTO_IPV6 = 0xdd86;

/**
 * nf_is_valid_access: aligned 8-byte loads of `state` (offset 0) and `skb` (offset 8), each
 * a trusted pointer to its kernel struct; nothing else.
 */
export function netfilterCheckAccess(off: number, size: number, write: boolean): CtxAccessCheck {
  const deny = invalidCtxAccess(off, size);
  if (off < 0 || off >= BPF_NF_CTX_SIZE || off % size !== 0 || write || size !== 8) return deny;
  return off < 8 ? { field: 'state', type: 'btf_id', btf: 'nf_hook_state' } : { field: 'skb', type: 'btf_id', btf: 'sk_buff' };
}

/** A region whose contents have no userspace layout: any load through it is refused, naming the struct. */
function opaqueRegion(space: AddressSpace, name: string, size: number): Region {
  const region = space.addRegion(name, size, { kind: 'other', writable: false });
  space.setLoadHook(region, (offset) => {
    throw new NotSupportedError(`reading struct ${name} at offset ${offset} in userspace`, undefined, 'bpfkit has no layout for this kernel struct (run the program with the kernel backend)');
  });
  return region;
}

/** The netfilter context of one address space: struct bpf_nf_ctx, the hook state, and opaque sk_buff / net_device stand-ins. */
export class NetfilterContext implements ContextInstance {
  /** struct bpf_nf_ctx (read-only). */
  readonly ctx: Region;
  /** struct nf_hook_state: hook and pf readable; the pointers lead to opaque structs. */
  readonly state: Region;
  /** The skb the program gets (opaque). */
  readonly skbRegion: Region;
  /** The loopback device the state's in/out point to (opaque). */
  readonly device: Region;
  /** The packet as the test run received it. */
  private frame = new Uint8Array(0);
  /** skb->protocol (network byte order read little-endian) after the test run's setup. */
  protocol = 0;

  /** The hook of the current run. */
  private hook: number = NfInetHook.LOCAL_OUT;

  constructor(
    private readonly space: AddressSpace,
    options: ContextOptions = {},
  ) {
    this.ctx = space.addRegion('ctx', BPF_NF_CTX_SIZE, { kind: 'ctx', writable: false });
    this.state = space.addRegion('nf_hook_state', NF_HOOK_STATE_SIZE, { kind: 'other', writable: false });
    const skbLayout = structLayout(options.btf, 'sk_buff');
    const devLayout = structLayout(options.btf, 'net_device');
    const via = 'the netfilter context';
    this.skbRegion = skbLayout ? structView(space, 'sk_buff', skbLayout, () => this.skbFields(), via) : opaqueRegion(space, 'sk_buff', 256);
    this.device = devLayout ? structView(space, 'net_device', devLayout, () => LOOPBACK_FIELDS, via) : opaqueRegion(space, 'net_device', 256);
    space.setLoadHook(this.state, (offset, size, out) => {
      // hook and pf are u8s; a wider load at 0 reads both, and the padding after them is 0.
      if (offset < NfHookState.in) {
        const v = space.memory.view;
        let x = 0;
        for (let i = 0; i < size && offset + i < NfHookState.in; i++) x |= v.getUint8(this.state.start + offset + i) << (8 * i);
        out[0] = x;
        out[1] = 0;
        return true;
      }
      return false;
    });
  }

  /**
   * Sets up a run as bpf_prog_test_run_nf does: an L3 packet of at least an IPv4 header (up to
   * the skb limit); ctx_in (struct nf_hook_state) with only hook and pf set, pf NFPROTO_IPV4 or
   * NFPROTO_IPV6; for hooks other than LOCAL_OUT an Ethernet frame whose EtherType matches pf
   * (else EINVAL, or EPROTO for a non-IP frame). Throws InvalidContextError otherwise.
   */
  setup(input: RunInput): number {
    const data = input.data;
    if (data.length < IPV4_HLEN) throw new InvalidContextError('data', `data_in of ${data.length} bytes is shorter than an IPv4 header`);
    if (data.length > SKB_MAX_DATA) throw new InvalidContextError('data', `data_in of ${data.length} bytes exceeds ${SKB_MAX_DATA}`);
    let hook: number = NfInetHook.LOCAL_OUT;
    let pf: number = NfProto.IPV4;
    if (input.ctxIn) {
      const c = new Uint8Array(Math.max(NF_HOOK_STATE_SIZE, input.ctxIn.length));
      c.set(input.ctxIn);
      if (c.subarray(NF_HOOK_STATE_SIZE).some((x) => x !== 0)) throw new InvalidContextError('(tail)', `bytes past sizeof(struct nf_hook_state) = ${NF_HOOK_STATE_SIZE} must be zero (E2BIG)`);
      if (c.subarray(NfHookState.in, NF_HOOK_STATE_SIZE).some((x) => x !== 0)) throw new InvalidContextError('in/out/sk/net/okfn', 'must be zero in ctx_in');
      pf = c[NfHookState.pf]!;
      if (pf !== NfProto.IPV4 && pf !== NfProto.IPV6) throw new InvalidContextError('pf', `${pf} is neither NFPROTO_IPV4 nor NFPROTO_IPV6`);
      hook = c[NfHookState.hook]!;
    }
    let protocol: number;
    if (hook !== NfInetHook.LOCAL_OUT) {
      if (data.length < ETH_HLEN + IPV4_HLEN) throw new InvalidContextError('data', `hook ${hook} takes an Ethernet frame of at least ${ETH_HLEN + IPV4_HLEN} bytes`);
      protocol = ethTypeTrans(data);
      if (protocol === PROTO_IP) {
        if (pf !== NfProto.IPV4) throw new InvalidContextError('pf', 'an IPv4 frame needs pf NFPROTO_IPV4');
      } else if (protocol === PROTO_IPV6) {
        if (data.length < ETH_HLEN + IPV6_HLEN) throw new InvalidContextError('data', `an IPv6 frame needs ${ETH_HLEN + IPV6_HLEN} bytes`);
        if (pf !== NfProto.IPV6) throw new InvalidContextError('pf', 'an IPv6 frame needs pf NFPROTO_IPV6');
      } else {
        throw new InvalidContextError('data', 'the frame is neither IPv4 nor IPv6 (EPROTO)');
      }
    } else {
      protocol = pf === NfProto.IPV4 ? PROTO_IP : PROTO_IPV6;
    }
    this.frame = data.slice();
    this.protocol = protocol;
    this.hook = hook;

    // The hook state: without ctx_in, { LOCAL_OUT, IPV4 } and no devices; with one,
    // verify_and_copy_hook_state picks in/out by the default hook (LOCAL_OUT: out = loopback),
    // then takes pf and hook from ctx_in.
    const mem = this.space.memory.bytes;
    const v = this.space.memory.view;
    const s = this.state.start;
    mem.fill(0, s, s + NF_HOOK_STATE_SIZE);
    v.setUint8(s + NfHookState.hook, hook);
    v.setUint8(s + NfHookState.pf, pf);
    if (input.ctxIn) {
      const dev = this.device.address();
      v.setUint32(s + NfHookState.out, dev >>> 0, true);
      v.setUint32(s + NfHookState.out + 4, Math.floor(dev / 4294967296), true);
    }
    const c = this.ctx.start;
    const st = this.state.address();
    const skb = this.skbRegion.address();
    v.setUint32(c, st >>> 0, true);
    v.setUint32(c + 4, Math.floor(st / 4294967296), true);
    v.setUint32(c + 8, skb >>> 0, true);
    v.setUint32(c + 12, Math.floor(skb / 4294967296), true);
    return this.ctx.address();
  }

  /** data_out: none (a netfilter test run reports the verdict only). */
  dataOut(): Uint8Array {
    return new Uint8Array(0);
  }

  /** ctx_out: none (the kernel does not write it back). */
  ctxOut(): Uint8Array {
    return new Uint8Array(0);
  }

  /** The packet the run was given. */
  packet(): Uint8Array {
    return this.frame;
  }

  /**
   * The test run's struct sk_buff (slab_build_skb, NET_SKB_PAD of headroom): for LOCAL_OUT the
   * L3 packet with no device and no header reset (network_header 0, mac_header unset); for the
   * other hooks eth_type_trans ran (dev = loopback, the MAC header at the headroom, pulled) and
   * the network header was reset after it.
   */
  private skbFields(): Record<string, FieldGetter> {
    const l2 = this.hook !== NfInetHook.LOCAL_OUT;
    const size = this.frame.length;
    const zero = (): number => 0;
    const fields: Record<string, FieldGetter> = {
      len: () => (l2 ? size - ETH_HLEN : size),
      protocol: () => this.protocol,
      dev: () => (l2 ? this.device.address() : 0),
      pkt_type: () => (l2 ? packetType(this.frame, LOOPBACK) : 0),
      mac_header: () => (l2 ? SKB_HEADROOM : 0xffff),
      network_header: () => (l2 ? SKB_HEADROOM + ETH_HLEN : 0),
      transport_header: () => 0xffff,
      tail: () => SKB_HEADROOM + size,
    };
    for (const f of ['data_len', 'mac_len', 'hdr_len', 'sk', 'mark', 'priority', 'hash', 'queue_mapping', 'vlan_tci', 'vlan_proto', 'tc_index', 'skb_iif', 'tstamp', 'ip_summed', 'csum_level', 'encapsulation', 'csum', 'csum_start', 'csum_offset', 'inner_protocol', 'inner_mac_header', 'inner_network_header', 'inner_transport_header']) fields[f] = zero;
    return fields;
  }
}

/** struct net_device of the namespace's loopback, the fields a test run can rely on. */
const LOOPBACK_FIELDS: Readonly<Record<string, FieldGetter>> = {
  ifindex: () => LOOPBACK.ifindex,
  // "lo" as char[IFNAMSIZ], little-endian.
  name: () => 0x6f6cn,
  mtu: () => LOOPBACK.mtu ?? 65536,
  type: () => 772,
  addr_len: () => 6,
  hard_header_len: () => 14,
};

/** BPF_PROG_TYPE_NETFILTER (loaded with expected attach type BPF_NETFILTER). */
export const netfilterOps: RunnableProgramType & { createContext(space: AddressSpace, options?: ContextOptions): NetfilterContext } = {
  type: BpfProgType.NETFILTER,
  name: 'netfilter',
  ctxSize: BPF_NF_CTX_SIZE,
  expectedAttachType: BpfAttachType.NETFILTER,
  checkAccess: netfilterCheckAccess,
  helperAllowed: (id) => helperAllowed(id, 'netfilter'),
  createContext: (space, options) => new NetfilterContext(space, options),
};
