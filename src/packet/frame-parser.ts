// Walks a frame from the link layer to L4 into a reusable ParsedFrame of offsets and fields.
//
// No allocation per packet: the caller owns one ParsedFrame and passes it to every call. A
// short packet is not an error: `truncated` names the layer whose header did not fit, and the
// fields of the layers before it are filled. Header values that make no sense (an IHL below 5,
// a TCP data offset below 5) set `malformed` to a constant description.

import { EtherType, IpProto } from './ether-type.js';
import { LinkType, SLL2_HEADER_LEN, SLL_HEADER_LEN } from './link-type.js';

/** Where parsing stopped short (the value of {@link ParsedFrame.truncated}). */
export const Truncated = {
  /** Everything the headers describe was captured. */
  NONE: 0,
  /** The link-layer header (or a VLAN tag) did not fit. */
  L2: 2,
  /** The network header (IPv4 with options, IPv6 with extension headers, ARP) did not fit. */
  L3: 3,
  /** The transport header did not fit. */
  L4: 4,
  /** Headers fit but the payload the IP length announces was cut (snaplen). */
  PAYLOAD: 5,
} as const;

/** Maximum IPv6 extension headers walked before giving up (`malformed`). */
export const MAX_IPV6_EXTENSION_HEADERS = 16;

/**
 * Result of {@link parseFrame}: absolute offsets into the buffer that was parsed and the header
 * fields a packet program usually needs. Offsets are -1 when the layer is absent. Create one
 * per consumer and reuse it; every call resets every field.
 */
export class ParsedFrame {
  /** Link type the frame was parsed as. */
  linkType = 0;
  /** Offset of the first byte of the frame. */
  start = 0;
  /** Offset one past the last captured byte. */
  end = 0;
  /** Layer that did not fit ({@link Truncated}). */
  truncated = 0;
  /** Why a header is invalid, or '' (constant strings: no allocation). */
  malformed = '';

  /** Offset of the destination MAC (Ethernet), else -1. */
  dstMacOffset = -1;
  /** Offset of the source MAC (Ethernet), else -1. */
  srcMacOffset = -1;
  /** Number of 802.1Q/802.1ad tags walked. */
  vlanCount = 0;
  /** TPID of the outermost tag (0x8100, 0x88a8), or 0. */
  outerTpid = 0;
  /** TCI (PCP, DEI, VID) of the outermost tag, or -1. */
  outerTci = -1;
  /** TCI of the second tag (QinQ inner), or -1. */
  innerTci = -1;
  /** EtherType after the tags (or from the cooked header; derived from the version for raw IP). */
  etherType = 0;

  /** Offset of the network header, or -1. */
  l3Offset = -1;
  /** 4 or 6 for IP, else 0. */
  ipVersion = 0;
  /** IPv4 IHL * 4, or 40 + all IPv6 extension headers walked. */
  ipHeaderLength = 0;
  /** IPv4 total length, or 40 + IPv6 payload length (the datagram as sent). */
  ipTotalLength = 0;
  /** TOS / traffic class. */
  ipTos = 0;
  /** TTL / hop limit. */
  ipTtl = 0;
  /** IPv4 identification, or the IPv6 fragment header identification (else 0). */
  ipId = 0;
  /** IPv6 flow label. */
  ipFlowLabel = 0;
  /** Offset of the source address (4 or 16 bytes). */
  ipSrcOffset = -1;
  /** Offset of the destination address. */
  ipDstOffset = -1;
  /** Upper-layer protocol after IPv6 extension headers (IPv4: the protocol field). */
  ipProto = -1;
  /** IPv4 DF bit. */
  dontFragment = false;
  /** IPv4 MF bit or IPv6 fragment header M flag. */
  moreFragments = false;
  /** Fragment offset in bytes. */
  fragmentOffset = 0;
  /** True for any fragment (MF set or offset > 0, or an IPv6 fragment header). */
  isFragment = false;
  /** Number of IPv6 extension headers walked (AH included). */
  ipv6ExtensionCount = 0;
  /** Offset one past the IP datagram within the capture (min of announced and captured end). */
  l3End = -1;

  /** ARP operation (1 request, 2 reply), or 0. */
  arpOp = 0;
  /** Offset of the ARP sender protocol address (IPv4 over Ethernet only), else -1. */
  arpSenderIpOffset = -1;
  /** Offset of the ARP target protocol address, else -1. */
  arpTargetIpOffset = -1;

  /** Offset of the transport header, or -1 (absent, not first fragment, unknown protocol with no header). */
  l4Offset = -1;
  /** Source port (TCP/UDP), else 0. */
  srcPort = 0;
  /** Destination port (TCP/UDP), else 0. */
  dstPort = 0;
  /** TCP flags (FIN 0x01 ... CWR 0x80, NS 0x100). */
  tcpFlags = 0;
  /** TCP sequence number. */
  tcpSeq = 0;
  /** TCP acknowledgment number. */
  tcpAck = 0;
  /** TCP window. */
  tcpWindow = 0;
  /** TCP data offset * 4 (20 + options). */
  tcpHeaderLength = 0;
  /** UDP length field. */
  udpLength = 0;
  /** ICMP / ICMPv6 type, or -1. */
  icmpType = -1;
  /** ICMP / ICMPv6 code, or -1. */
  icmpCode = -1;
  /** Echo identifier (ICMP echo / ICMPv6 echo), else 0. */
  icmpId = 0;
  /** Echo sequence number. */
  icmpSeq = 0;
  /** The transport checksum field as captured. */
  l4Checksum = 0;
  /** Offset of the payload after the deepest parsed header. */
  payloadOffset = -1;
  /** Payload bytes captured (never past the IP datagram: Ethernet padding excluded). */
  payloadLength = 0;

  /** Whether this is an IPv4 or IPv6 packet whose L4 header was parsed. */
  get hasL4(): boolean {
    return this.l4Offset >= 0;
  }

  /** Resets every field to "absent" for a frame `[start, end)` of `linkType`. */
  reset(linkType: number, start: number, end: number): void {
    this.linkType = linkType; this.start = start; this.end = end;
    this.truncated = 0; this.malformed = '';
    this.dstMacOffset = -1; this.srcMacOffset = -1; this.vlanCount = 0; this.outerTpid = 0;
    this.outerTci = -1; this.innerTci = -1; this.etherType = 0;
    this.l3Offset = -1; this.ipVersion = 0; this.ipHeaderLength = 0; this.ipTotalLength = 0; this.ipTos = 0;
    this.ipTtl = 0; this.ipId = 0; this.ipFlowLabel = 0; this.ipSrcOffset = -1; this.ipDstOffset = -1;
    this.ipProto = -1; this.dontFragment = false; this.moreFragments = false; this.fragmentOffset = 0;
    this.isFragment = false; this.ipv6ExtensionCount = 0; this.l3End = -1;
    this.arpOp = 0; this.arpSenderIpOffset = -1; this.arpTargetIpOffset = -1;
    this.l4Offset = -1; this.srcPort = 0; this.dstPort = 0; this.tcpFlags = 0; this.tcpSeq = 0; this.tcpAck = 0;
    this.tcpWindow = 0; this.tcpHeaderLength = 0; this.udpLength = 0; this.icmpType = -1; this.icmpCode = -1;
    this.icmpId = 0; this.icmpSeq = 0; this.l4Checksum = 0; this.payloadOffset = -1; this.payloadLength = 0;
  }
}

const u16 = (b: Uint8Array, p: number): number => (b[p]! << 8) | b[p + 1]!;
const u32 = (b: Uint8Array, p: number): number => ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;

/**
 * Parses the frame `buf[offset .. offset+length)` captured with `linkType` into `out` and
 * returns `out`. Never throws on packet contents and allocates nothing.
 */
export function parseFrame(buf: Uint8Array, offset: number, length: number, linkType: number, out: ParsedFrame): ParsedFrame {
  const end = Math.min(offset + length, buf.length);
  out.reset(linkType, offset, end);
  let p = offset;
  let et: number;
  switch (linkType) {
    case LinkType.ETHERNET:
      if (end - p < 14) { out.truncated = Truncated.L2; return out; }
      out.dstMacOffset = p;
      out.srcMacOffset = p + 6;
      et = u16(buf, p + 12);
      p += 14;
      break;
    case LinkType.LINUX_SLL:
      if (end - p < SLL_HEADER_LEN) { out.truncated = Truncated.L2; return out; }
      et = u16(buf, p + 14);
      p += SLL_HEADER_LEN;
      break;
    case LinkType.LINUX_SLL2:
      if (end - p < SLL2_HEADER_LEN) { out.truncated = Truncated.L2; return out; }
      et = u16(buf, p);
      p += SLL2_HEADER_LEN;
      break;
    case LinkType.NULL: {
      if (end - p < 4) { out.truncated = Truncated.L2; return out; }
      // The family is in the capturing host's byte order; accept either.
      const fam = buf[p]! | buf[p + 3]!;
      et = fam === 2 ? EtherType.IPV4 : fam === 24 || fam === 28 || fam === 30 ? EtherType.IPV6 : 0;
      p += 4;
      break;
    }
    case LinkType.RAW:
    case LinkType.IPV4:
    case LinkType.IPV6:
      if (end - p < 1) { out.truncated = Truncated.L3; return out; }
      et = buf[p]! >> 4 === 6 ? EtherType.IPV6 : EtherType.IPV4;
      break;
    default:
      return out;
  }
  // 802.1Q / 802.1ad tags, stacked (also after a cooked header).
  while (et === EtherType.VLAN || et === EtherType.QINQ || et === EtherType.QINQ_OLD) {
    if (end - p < 4) { out.truncated = Truncated.L2; return out; }
    const tci = u16(buf, p);
    if (out.vlanCount === 0) { out.outerTpid = et; out.outerTci = tci; } else if (out.vlanCount === 1) out.innerTci = tci;
    out.vlanCount++;
    et = u16(buf, p + 2);
    p += 4;
  }
  out.etherType = et;
  out.l3Offset = p;
  if (et === EtherType.IPV4) parseIpv4(buf, p, end, out);
  else if (et === EtherType.IPV6) parseIpv6(buf, p, end, out);
  else if (et === EtherType.ARP) parseArp(buf, p, end, out);
  else { out.payloadOffset = p; out.payloadLength = end - p; }
  return out;
}

function parseIpv4(buf: Uint8Array, p: number, end: number, out: ParsedFrame): void {
  if (end - p < 20) { out.truncated = Truncated.L3; return; }
  const vhl = buf[p]!;
  out.ipVersion = vhl >> 4;
  if (out.ipVersion !== 4) { out.malformed = 'IPv4 header version is not 4'; return; }
  const ihl = (vhl & 15) * 4;
  out.ipHeaderLength = ihl;
  out.ipTos = buf[p + 1]!;
  const total = u16(buf, p + 2);
  out.ipTotalLength = total;
  out.ipId = u16(buf, p + 4);
  const frag = u16(buf, p + 6);
  out.dontFragment = (frag & 0x4000) !== 0;
  out.moreFragments = (frag & 0x2000) !== 0;
  out.fragmentOffset = (frag & 0x1fff) * 8;
  out.isFragment = out.moreFragments || out.fragmentOffset > 0;
  out.ipTtl = buf[p + 8]!;
  out.ipProto = buf[p + 9]!;
  out.ipSrcOffset = p + 12;
  out.ipDstOffset = p + 16;
  if (ihl < 20) { out.malformed = 'IPv4 header length below 20'; return; }
  if (total < ihl) { out.malformed = 'IPv4 total length below header length'; return; }
  if (end - p < ihl) { out.truncated = Truncated.L3; return; }
  const l3End = Math.min(p + total, end);
  out.l3End = l3End;
  if (p + total > end) out.truncated = Truncated.PAYLOAD;
  parseL4(buf, p + ihl, l3End, out);
}

function parseIpv6(buf: Uint8Array, p: number, end: number, out: ParsedFrame): void {
  if (end - p < 40) { out.truncated = Truncated.L3; return; }
  const w0 = u32(buf, p);
  out.ipVersion = w0 >>> 28;
  if (out.ipVersion !== 6) { out.malformed = 'IPv6 header version is not 6'; return; }
  out.ipTos = (w0 >>> 20) & 0xff;
  out.ipFlowLabel = w0 & 0xfffff;
  const payloadLength = u16(buf, p + 4);
  out.ipTotalLength = 40 + payloadLength;
  let nh = buf[p + 6]!;
  out.ipTtl = buf[p + 7]!;
  out.ipSrcOffset = p + 8;
  out.ipDstOffset = p + 24;
  const l3End = Math.min(p + 40 + payloadLength, end);
  out.l3End = l3End;
  let q = p + 40;
  for (;;) {
    if (nh === IpProto.HOPOPTS || nh === IpProto.ROUTING || nh === IpProto.DSTOPTS || nh === IpProto.FRAGMENT || nh === IpProto.AH) {
      if (out.ipv6ExtensionCount === MAX_IPV6_EXTENSION_HEADERS) { out.malformed = 'too many IPv6 extension headers'; break; }
      const room = l3End - q;
      if (room < 2 || (nh === IpProto.FRAGMENT && room < 8)) { out.truncated = Truncated.L3; break; }
      const next = buf[q]!;
      let len: number;
      if (nh === IpProto.FRAGMENT) {
        const fo = u16(buf, q + 2);
        out.fragmentOffset = fo & 0xfff8;
        out.moreFragments = (fo & 1) !== 0;
        out.isFragment = true;
        out.ipId = u32(buf, q + 4);
        len = 8;
      } else if (nh === IpProto.AH) {
        len = (buf[q + 1]! + 2) * 4;
      } else {
        len = (buf[q + 1]! + 1) * 8;
      }
      out.ipv6ExtensionCount++;
      if (len > room) { out.truncated = Truncated.L3; q += len; break; }
      q += len;
      nh = next;
      continue;
    }
    break;
  }
  out.ipHeaderLength = q - p;
  out.ipProto = nh;
  if (out.truncated !== Truncated.NONE || out.malformed !== '') return;
  if (p + 40 + payloadLength > end) out.truncated = Truncated.PAYLOAD;
  parseL4(buf, q, l3End, out);
}

function parseL4(buf: Uint8Array, q: number, l3End: number, out: ParsedFrame): void {
  if (out.fragmentOffset > 0) {
    // Not the first fragment: the bytes here are the middle of someone else's segment.
    out.payloadOffset = q;
    out.payloadLength = l3End - q;
    return;
  }
  const proto = out.ipProto;
  const room = l3End - q;
  let payload = q;
  if (proto === IpProto.TCP) {
    if (room < 20) { out.truncated = Truncated.L4; return; }
    out.l4Offset = q;
    out.srcPort = u16(buf, q);
    out.dstPort = u16(buf, q + 2);
    out.tcpSeq = u32(buf, q + 4);
    out.tcpAck = u32(buf, q + 8);
    const doff = (buf[q + 12]! >> 4) * 4;
    out.tcpHeaderLength = doff;
    out.tcpFlags = buf[q + 13]! | ((buf[q + 12]! & 1) << 8);
    out.tcpWindow = u16(buf, q + 14);
    out.l4Checksum = u16(buf, q + 16);
    if (doff < 20) { out.malformed = 'TCP data offset below 5'; return; }
    if (room < doff) { out.truncated = Truncated.L4; return; }
    payload = q + doff;
  } else if (proto === IpProto.UDP) {
    if (room < 8) { out.truncated = Truncated.L4; return; }
    out.l4Offset = q;
    out.srcPort = u16(buf, q);
    out.dstPort = u16(buf, q + 2);
    out.udpLength = u16(buf, q + 4);
    out.l4Checksum = u16(buf, q + 6);
    payload = q + 8;
  } else if (proto === IpProto.ICMP || proto === IpProto.ICMPV6) {
    if (room < 4) { out.truncated = Truncated.L4; return; }
    out.l4Offset = q;
    out.icmpType = buf[q]!;
    out.icmpCode = buf[q + 1]!;
    out.l4Checksum = u16(buf, q + 2);
    if (room < 8) { out.truncated = Truncated.L4; return; }
    const t = out.icmpType;
    if (proto === IpProto.ICMP ? t === 8 || t === 0 : t === 128 || t === 129) {
      out.icmpId = u16(buf, q + 4);
      out.icmpSeq = u16(buf, q + 6);
    }
    payload = q + 8;
  } else {
    out.l4Offset = q;
  }
  out.payloadOffset = payload;
  out.payloadLength = l3End - payload;
}

function parseArp(buf: Uint8Array, p: number, end: number, out: ParsedFrame): void {
  if (end - p < 8) { out.truncated = Truncated.L3; return; }
  out.arpOp = u16(buf, p + 6);
  const hlen = buf[p + 4]!;
  const plen = buf[p + 5]!;
  const size = 8 + 2 * hlen + 2 * plen;
  if (end - p < size) { out.truncated = Truncated.L3; return; }
  if (plen === 4) {
    out.arpSenderIpOffset = p + 8 + hlen;
    out.arpTargetIpOffset = p + 8 + 2 * hlen + plen;
  }
  out.payloadOffset = p + size;
  out.payloadLength = end - p - size;
}
