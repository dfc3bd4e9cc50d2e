// Tunnel metadata as the kernel keeps it on an skb (struct ip_tunnel_info): what a collect_md tunnel device gives a received packet.
//
// bpf_skb_get_tunnel_key / _opt read it, bpf_skb_set_tunnel_key / _opt write it. The kernel's
// BPF_PROG_TEST_RUN skb carries none (no dst), so the default model is "no tunnel": the get
// helpers fail (-EINVAL, -ENOENT) until the program sets a key itself. A user models a packet
// received on a collect_md device (vxlan, geneve, gre... `external`) with a {@link TunnelModel}.

import { ModelError } from './model-error.js';

/** Bit numbers of the kernel's tunnel flags bitmap (IP_TUNNEL_*_BIT, include/uapi/linux/if_tunnel.h). */
export const TunnelFlagBit = {
  CSUM: 0,
  ROUTING: 1,
  KEY: 2,
  SEQ: 3,
  STRICT: 4,
  REC: 5,
  VERSION: 6,
  NO_KEY: 7,
  DONT_FRAGMENT: 8,
  OAM: 9,
  CRIT_OPT: 10,
  GENEVE_OPT: 11,
  VXLAN_OPT: 12,
  NOCACHE: 13,
  ERSPAN_OPT: 14,
  GTP_OPT: 15,
  VTI: 16,
  PFCP_OPT: 17,
} as const;

/** The "options present" bits (ip_tunnel_set_options_present): bpf_skb_set_tunnel_opt sets all of them. */
export const TUNNEL_OPTIONS_PRESENT = [TunnelFlagBit.GENEVE_OPT, TunnelFlagBit.VXLAN_OPT, TunnelFlagBit.ERSPAN_OPT, TunnelFlagBit.GTP_OPT, TunnelFlagBit.PFCP_OPT].reduce((m, b) => m | (1 << b), 0);

/** IP_TUNNEL_OPTS_MAX: options_len is a u8. */
export const TUNNEL_OPTS_MAX = 255;

/** struct ip_tunnel_info as the helpers see it (addresses in network order). */
export interface TunnelInfo {
  /** IP_TUNNEL_INFO_IPV6: the addresses are IPv6. */
  readonly ipv6: boolean;
  /** IP_TUNNEL_INFO_TX: set by bpf_skb_set_tunnel_key (the per-CPU metadata dst), not received. */
  readonly tx: boolean;
  /** key.tun_id (64 bits; the helpers expose the low 32). */
  readonly id: bigint;
  /** key.u.ipv{4,6}.src: on a received packet the remote end; bpf_skb_set_tunnel_key puts local_ipv* here. */
  readonly src: Uint8Array;
  /** key.u.ipv{4,6}.dst: on a received packet the local end; bpf_skb_set_tunnel_key puts remote_ipv* here. */
  readonly dst: Uint8Array;
  readonly tos: number;
  readonly ttl: number;
  /** key.label: the IPv6 flow label (host order, 20 bits). */
  readonly label: number;
  /** key.tun_flags: a bitmap of {@link TunnelFlagBit}. */
  readonly flags: number;
  /** The tunnel options (geneve TLVs, vxlan GBP...): options_len bytes. */
  readonly options: Uint8Array;
}

/** The metadata a received packet carries, as the user writes it. */
export interface TunnelModel {
  /** The tunnel id (VNI, GRE key...): key.tun_id. */
  readonly id: bigint | number;
  /** Outer source address of the received packet (4 bytes: IPv4, 16: IPv6), network order. */
  readonly remote: Uint8Array;
  /** Outer destination address (this host's tunnel endpoint), same family as `remote`. */
  readonly local: Uint8Array;
  /** Outer TOS (default 0). */
  readonly tos?: number;
  /** Outer TTL (default 64). */
  readonly ttl?: number;
  /** IPv6 flow label (default 0; IPv6 only). */
  readonly label?: number;
  /**
   * The TUNNEL_* flags bitmap as bpf_skb_get_tunnel_key reports it with BPF_F_TUNINFO_FLAGS
   * (bit n = IP_TUNNEL bit n). Default: KEY, plus GENEVE_OPT when `options` is given.
   */
  readonly flags?: number;
  /** Tunnel options (a multiple of 4 bytes, at most 252). */
  readonly options?: Uint8Array;
}

/** The TunnelInfo a received packet described by `model` carries; ModelError for an impossible one. */
export function tunnelInfoFromModel(model: TunnelModel): TunnelInfo {
  const size = model.remote.length;
  if (size !== 4 && size !== 16) throw new ModelError('tunnel', 'remote', `an address is 4 or 16 bytes, got ${size}`);
  if (model.local.length !== size) throw new ModelError('tunnel', 'local', `must be the same family as remote (${size} bytes), got ${model.local.length}`);
  const id = BigInt(model.id);
  if (id < 0n || id >= 1n << 64n) throw new ModelError('tunnel', 'id', `must fit 64 bits, got ${id}`);
  const byte = (name: string, v: number | undefined, fallback: number): number => {
    const x = v ?? fallback;
    if (!Number.isInteger(x) || x < 0 || x > 255) throw new ModelError('tunnel', name, `must be 0..255, got ${x}`);
    return x;
  };
  const label = model.label ?? 0;
  if (!Number.isInteger(label) || label < 0 || label > 0xfffff) throw new ModelError('tunnel', 'label', `a flow label is 20 bits, got ${label}`);
  if (size === 4 && label !== 0) throw new ModelError('tunnel', 'label', 'an IPv4 tunnel has no flow label');
  const options = model.options ?? new Uint8Array(0);
  if (options.length % 4 !== 0 || options.length > TUNNEL_OPTS_MAX) throw new ModelError('tunnel', 'options', `must be a multiple of 4 bytes, at most 252, got ${options.length}`);
  const flags = model.flags ?? ((1 << TunnelFlagBit.KEY) | (options.length > 0 ? 1 << TunnelFlagBit.GENEVE_OPT : 0));
  if (!Number.isInteger(flags) || flags < 0 || flags >= 1 << 18) throw new ModelError('tunnel', 'flags', `a bitmap of IP_TUNNEL_* bits 0..17, got ${flags}`);
  if (options.length > 0 && (flags & TUNNEL_OPTIONS_PRESENT) === 0) throw new ModelError('tunnel', 'flags', 'options are given but no options-present bit (GENEVE_OPT, VXLAN_OPT, ERSPAN_OPT, GTP_OPT, PFCP_OPT) is set');
  return {
    ipv6: size === 16,
    tx: false,
    id,
    src: Uint8Array.from(model.remote),
    dst: Uint8Array.from(model.local),
    tos: byte('tos', model.tos, 0),
    ttl: byte('ttl', model.ttl, 64),
    label,
    flags,
    options: Uint8Array.from(options),
  };
}
