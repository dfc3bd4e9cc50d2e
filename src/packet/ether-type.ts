// EtherType and IP protocol numbers the parser and builders understand.

/** EtherType values (IEEE 802). */
export const EtherType = {
  IPV4: 0x0800,
  ARP: 0x0806,
  /** 802.1Q customer VLAN tag (C-tag). */
  VLAN: 0x8100,
  /** 802.1ad service VLAN tag (S-tag, QinQ outer tag). */
  QINQ: 0x88a8,
  /** Pre-standard QinQ outer tag some switches still send. */
  QINQ_OLD: 0x9100,
  IPV6: 0x86dd,
} as const;

/** IP protocol / IPv6 next-header numbers (IANA). */
export const IpProto = {
  /** IPv6 hop-by-hop options (only valid first in the chain). */
  HOPOPTS: 0,
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  /** IPv6 routing header. */
  ROUTING: 43,
  /** IPv6 fragment header. */
  FRAGMENT: 44,
  /** Encapsulating security payload (not walked: its payload is encrypted). */
  ESP: 50,
  /** Authentication header (length in 4-octet units, minus 2). */
  AH: 51,
  ICMPV6: 58,
  /** No next header. */
  NONE: 59,
  /** IPv6 destination options. */
  DSTOPTS: 60,
} as const;

/** TCP header flag bits, as in byte 13 of the TCP header (plus NS from byte 12). */
export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;
