// Capture link types (LINKTYPE_* values of pcap/pcapng) and where each one's network payload starts.

/** Link-layer header types as stored in pcap and pcapng files (the LINKTYPE_* registry). */
export const LinkType = {
  /** BSD loopback: a 4-byte address family in the writer's byte order. */
  NULL: 0,
  /** Ethernet II / 802.3, with optional 802.1Q/802.1ad tags. */
  ETHERNET: 1,
  /** Raw IPv4 or IPv6, the version taken from the first nibble. */
  RAW: 101,
  /** Linux "cooked" capture v1 (16-byte pseudo header). */
  LINUX_SLL: 113,
  /** Raw IPv4 only. */
  IPV4: 228,
  /** Raw IPv6 only. */
  IPV6: 229,
  /** Linux "cooked" capture v2 (20-byte pseudo header). */
  LINUX_SLL2: 276,
} as const;

/** The numeric value of a {@link LinkType} (other values are allowed and read as opaque). */
export type LinkTypeValue = number;

/** Byte length of the Linux cooked v1 header. */
export const SLL_HEADER_LEN = 16;
/** Byte length of the Linux cooked v2 header. */
export const SLL2_HEADER_LEN = 20;

/** Human-readable name of a link type (`'ETHERNET'`), or `LINKTYPE_<n>` when unknown. */
export function captureLinkTypeName(linkType: number): string {
  for (const [name, value] of Object.entries(LinkType)) if (value === linkType) return name;
  return `LINKTYPE_${linkType}`;
}
