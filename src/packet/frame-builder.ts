// Builders of valid frames (Ethernet + VLAN tags + IPv4/IPv6 + UDP/TCP/ICMP/ICMPv6, ARP) with correct lengths and checksums.

import { parseIp, writeIpv4, writeMac } from './address.js';
import { internetChecksum, transportChecksum } from './checksum.js';
import { EtherType, IpProto, TcpFlag } from './ether-type.js';
import { PacketBuildError } from './errors.js';

/** An 802.1Q/802.1ad tag. */
export interface VlanTag {
  /** VLAN id, 0..4095. */
  id: number;
  /** Priority code point, 0..7. Default 0. */
  pcp?: number;
  /** Drop eligible indicator. Default false. */
  dei?: boolean;
  /** Tag protocol id. Default 0x88a8 for an outer tag of a stack, 0x8100 otherwise. */
  tpid?: number;
}

/** Link-layer options shared by every builder. */
export interface LinkOptions {
  /** Source MAC. Default `02:00:00:00:00:01`. */
  srcMac?: string;
  /** Destination MAC. Default `02:00:00:00:00:02`. */
  dstMac?: string;
  /** One VLAN id or tag, or a stack outermost first (QinQ). */
  vlan?: number | VlanTag | readonly (number | VlanTag)[];
  /** Emit a raw IP packet (LINKTYPE_RAW) instead of an Ethernet frame. Default false. */
  raw?: boolean;
}

/** An IPv6 extension header for {@link IpOptions.extensionHeaders}. */
export type Ipv6ExtensionHeader =
  | { type: 'hop-by-hop' | 'destination'; /** Option TLVs; padded with Pad1/PadN to 8 bytes. */ options?: Uint8Array }
  | { type: 'routing'; routingType?: number; segmentsLeft?: number; /** Type-specific data after the first 4 bytes. */ data?: Uint8Array }
  | { type: 'fragment'; offset?: number; more?: boolean; id?: number }
  | { type: 'ah'; spi?: number; seq?: number; /** Integrity check value. Default 12 zero bytes. */ icv?: Uint8Array };

/** Network-layer options shared by the IP builders. The family follows `src` (`:` means IPv6). */
export interface IpOptions extends LinkOptions {
  /** Source address, IPv4 dotted quad or IPv6. */
  src: string;
  /** Destination address, same family as `src`. */
  dst: string;
  /** TTL / hop limit. Default 64. */
  ttl?: number;
  /** TOS / traffic class. Default 0. */
  tos?: number;
  /** IPv4 identification. Default 0. */
  ipId?: number;
  /** IPv4 DF. Default false. */
  dontFragment?: boolean;
  /** IPv4 MF. Default false. */
  moreFragments?: boolean;
  /** IPv4 fragment offset in bytes (multiple of 8). Default 0. */
  fragmentOffset?: number;
  /** IPv4 options, padded with end-of-list bytes to a multiple of 4 (at most 40 bytes). */
  ipOptions?: Uint8Array;
  /** IPv6 flow label. Default 0. */
  flowLabel?: number;
  /** IPv6 extension headers, in order, between the fixed header and the transport header. */
  extensionHeaders?: readonly Ipv6ExtensionHeader[];
}

/** Payload given as bytes or as a UTF-8 string. */
export type PayloadInput = Uint8Array | string;

/** Options of {@link buildUdp}. */
export interface UdpOptions extends IpOptions {
  /** Source port. */
  sport: number;
  /** Destination port. */
  dport: number;
  /** Payload. Default empty. */
  payload?: PayloadInput;
}

/** Options of {@link buildTcp}. */
export interface TcpOptions extends IpOptions {
  /** Source port. */
  sport: number;
  /** Destination port. */
  dport: number;
  /** Flags: a bit mask ({@link TcpFlag}) or letters as tcpdump prints them (`'S'`, `'S.'`, `'P.'`, `'F.'`, `'R'`). Default `'S'`. */
  flags?: number | string;
  /** Sequence number. Default 0. */
  seq?: number;
  /** Acknowledgment number. Default 0. */
  ack?: number;
  /** Window. Default 65535. */
  window?: number;
  /** Urgent pointer. Default 0. */
  urgent?: number;
  /** TCP options, padded with end-of-options bytes to a multiple of 4 (at most 40 bytes). */
  tcpOptions?: Uint8Array;
  /** Payload. Default empty. */
  payload?: PayloadInput;
}

/** Options of {@link buildIcmpEcho}: ICMP for IPv4 addresses, ICMPv6 for IPv6. */
export interface IcmpEchoOptions extends IpOptions {
  /** Echo reply instead of request. Default false. */
  reply?: boolean;
  /** Identifier. Default 0. */
  id?: number;
  /** Sequence number. Default 0. */
  seq?: number;
  /** Payload. Default empty. */
  payload?: PayloadInput;
}

/** Options of {@link buildArp} (Ethernet/IPv4 ARP). */
export interface ArpOptions extends Omit<LinkOptions, 'raw'> {
  /** Operation: request (1) or reply (2). Default request. */
  op?: 'request' | 'reply' | number;
  /** Sender hardware address. Default srcMac. */
  senderMac?: string;
  /** Sender IPv4 address. */
  senderIp: string;
  /** Target hardware address. Default 00:00:00:00:00:00. */
  targetMac?: string;
  /** Target IPv4 address. */
  targetIp: string;
}

/** Options of {@link buildIpPacket}: any protocol over IP with caller-made L4 bytes. */
export interface IpPacketOptions extends IpOptions {
  /** IP protocol / final next header. */
  protocol: number;
  /** Transport header and payload. */
  l4: Uint8Array;
  /**
   * Offset inside `l4` of a 16-bit checksum to fill with the pseudo-header checksum
   * (TCP 16, UDP 6, ICMPv6 2), or -1 for none. Default -1.
   */
  checksumOffset?: number;
}

const utf8 = new TextEncoder();
const DEFAULT_SRC_MAC = '02:00:00:00:00:01';
const DEFAULT_DST_MAC = '02:00:00:00:00:02';

function payloadBytes(p: PayloadInput | undefined): Uint8Array {
  if (p === undefined) return new Uint8Array(0);
  return typeof p === 'string' ? utf8.encode(p) : p;
}

function checkRange(field: string, v: number, max: number): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new PacketBuildError(field, `${v} is not an integer in 0..${max}`);
  return v;
}

function vlanTags(vlan: LinkOptions['vlan']): VlanTag[] {
  if (vlan === undefined) return [];
  const list = Array.isArray(vlan) ? vlan : [vlan as number | VlanTag];
  return list.map((v, i) => {
    const tag = typeof v === 'number' ? { id: v } : v;
    return { ...tag, tpid: tag.tpid ?? (list.length > 1 && i === 0 ? EtherType.QINQ : EtherType.VLAN) };
  });
}

/** Length of the link-layer header `buildEthernet` will write for these options. */
function linkHeaderLength(o: LinkOptions): number {
  return o.raw ? 0 : 14 + 4 * vlanTags(o.vlan).length;
}

/** Writes the Ethernet header (and tags) at 0; returns where the payload starts. */
function writeLink(o: LinkOptions, etherType: number, out: Uint8Array): number {
  if (o.raw) return 0;
  writeMac(o.dstMac ?? DEFAULT_DST_MAC, out, 0, 'dstMac');
  writeMac(o.srcMac ?? DEFAULT_SRC_MAC, out, 6, 'srcMac');
  let p = 12;
  for (const tag of vlanTags(o.vlan)) {
    checkRange('vlan', tag.id, 4095);
    const tci = (checkRange('vlan.pcp', tag.pcp ?? 0, 7) << 13) | (tag.dei ? 0x1000 : 0) | tag.id;
    out[p] = tag.tpid! >> 8; out[p + 1] = tag.tpid! & 0xff;
    out[p + 2] = tci >> 8; out[p + 3] = tci & 0xff;
    p += 4;
  }
  out[p] = etherType >> 8;
  out[p + 1] = etherType & 0xff;
  return p + 2;
}

/** Builds an Ethernet frame (with optional VLAN tags) around `payload`. */
export function buildEthernet(options: Omit<LinkOptions, 'raw'> & { etherType: number; payload?: PayloadInput }): Uint8Array {
  const payload = payloadBytes(options.payload);
  const out = new Uint8Array(linkHeaderLength(options) + payload.length);
  out.set(payload, writeLink(options, options.etherType, out));
  return out;
}

function pad4(b: Uint8Array | undefined, field: string, max: number): Uint8Array {
  if (b === undefined || b.length === 0) return new Uint8Array(0);
  const len = (b.length + 3) & ~3;
  if (len > max) throw new PacketBuildError(field, `${b.length} bytes exceed the maximum of ${max}`);
  const out = new Uint8Array(len);
  out.set(b);
  return out;
}

/** Encodes IPv6 extension headers; `first` receives the first next-header value. */
function encodeExtensions(list: readonly Ipv6ExtensionHeader[], finalProto: number): { bytes: Uint8Array; first: number } {
  const parts: Uint8Array[] = [];
  const types: number[] = [];
  for (const h of list) {
    let b: Uint8Array;
    switch (h.type) {
      case 'hop-by-hop':
      case 'destination': {
        const opts = h.options ?? new Uint8Array(0);
        const len = Math.ceil((2 + opts.length) / 8) * 8;
        b = new Uint8Array(len);
        b.set(opts, 2);
        const pad = len - 2 - opts.length;
        if (pad === 1) b[2 + opts.length] = 0; // Pad1
        else if (pad >= 2) { b[2 + opts.length] = 1; b[3 + opts.length] = pad - 2; } // PadN
        b[1] = len / 8 - 1;
        types.push(h.type === 'hop-by-hop' ? IpProto.HOPOPTS : IpProto.DSTOPTS);
        break;
      }
      case 'routing': {
        const data = h.data ?? new Uint8Array(20); // type 0: 4 reserved bytes + one address
        const len = Math.ceil((4 + data.length) / 8) * 8;
        b = new Uint8Array(len);
        b[1] = len / 8 - 1;
        b[2] = h.routingType ?? 0;
        b[3] = h.segmentsLeft ?? 0;
        b.set(data, 4);
        types.push(IpProto.ROUTING);
        break;
      }
      case 'fragment': {
        b = new Uint8Array(8);
        const off = checkRange('fragment.offset', h.offset ?? 0, 0xfff8);
        if (off % 8 !== 0) throw new PacketBuildError('fragment.offset', `${off} is not a multiple of 8`);
        const fo = off | (h.more ? 1 : 0);
        b[2] = fo >> 8; b[3] = fo & 0xff;
        new DataView(b.buffer).setUint32(4, h.id ?? 0);
        types.push(IpProto.FRAGMENT);
        break;
      }
      case 'ah': {
        const icv = h.icv ?? new Uint8Array(12);
        const len = Math.ceil((12 + icv.length) / 8) * 8;
        b = new Uint8Array(len);
        b[1] = len / 4 - 2;
        const dv = new DataView(b.buffer);
        dv.setUint32(4, h.spi ?? 0x100);
        dv.setUint32(8, h.seq ?? 1);
        b.set(icv, 12);
        types.push(IpProto.AH);
        break;
      }
    }
    parts.push(b);
  }
  let total = 0;
  for (const b of parts) total += b.length;
  const bytes = new Uint8Array(total);
  let p = 0;
  for (let i = 0; i < parts.length; i++) {
    parts[i]![0] = i + 1 < types.length ? types[i + 1]! : finalProto;
    bytes.set(parts[i]!, p);
    p += parts[i]!.length;
  }
  return { bytes, first: types.length > 0 ? types[0]! : finalProto };
}

/**
 * Builds an IP packet (in an Ethernet frame unless `raw`) around caller-made transport bytes,
 * filling the IPv4 header checksum and, if `checksumOffset` is given, the transport checksum.
 */
export function buildIpPacket(options: IpPacketOptions): Uint8Array {
  const src = parseIp(options.src, 'src');
  const dst = parseIp(options.dst, 'dst');
  if (src.length !== dst.length) throw new PacketBuildError('dst', `address family differs from src (${options.src} vs ${options.dst})`);
  const v6 = src.length === 16;
  const l4 = options.l4;
  const link = linkHeaderLength(options);
  let ipHeader: number;
  let ext: { bytes: Uint8Array; first: number } | undefined;
  let ipOpts: Uint8Array | undefined;
  if (v6) {
    if (options.ipOptions) throw new PacketBuildError('ipOptions', 'IPv4 options on an IPv6 packet (use extensionHeaders)');
    ext = encodeExtensions(options.extensionHeaders ?? [], options.protocol);
    ipHeader = 40 + ext.bytes.length;
  } else {
    if (options.extensionHeaders?.length) throw new PacketBuildError('extensionHeaders', 'IPv6 extension headers on an IPv4 packet');
    ipOpts = pad4(options.ipOptions, 'ipOptions', 40);
    ipHeader = 20 + ipOpts.length;
  }
  const ipLength = ipHeader + l4.length;
  if (ipLength > 0xffff + (v6 ? 40 : 0)) throw new PacketBuildError('payload', `IP datagram of ${ipLength} bytes is too large`);
  const out = new Uint8Array(link + ipLength);
  const p = writeLink(options, v6 ? EtherType.IPV6 : EtherType.IPV4, out);
  const dv = new DataView(out.buffer);
  const ttl = checkRange('ttl', options.ttl ?? 64, 255);
  const tos = checkRange('tos', options.tos ?? 0, 255);
  if (v6) {
    const flow = checkRange('flowLabel', options.flowLabel ?? 0, 0xfffff);
    dv.setUint32(p, ((6 << 28) | (tos << 20) | flow) >>> 0);
    dv.setUint16(p + 4, ipLength - 40);
    out[p + 6] = ext!.first;
    out[p + 7] = ttl;
    out.set(src, p + 8);
    out.set(dst, p + 24);
    out.set(ext!.bytes, p + 40);
  } else {
    const fragOff = checkRange('fragmentOffset', options.fragmentOffset ?? 0, 0xfff8);
    if (fragOff % 8 !== 0) throw new PacketBuildError('fragmentOffset', `${fragOff} is not a multiple of 8`);
    out[p] = 0x40 | (ipHeader / 4);
    out[p + 1] = tos;
    dv.setUint16(p + 2, ipLength);
    dv.setUint16(p + 4, checkRange('ipId', options.ipId ?? 0, 0xffff));
    dv.setUint16(p + 6, (options.dontFragment ? 0x4000 : 0) | (options.moreFragments ? 0x2000 : 0) | (fragOff / 8));
    out[p + 8] = ttl;
    out[p + 9] = options.protocol;
    out.set(src, p + 12);
    out.set(dst, p + 16);
    out.set(ipOpts!, p + 20);
    dv.setUint16(p + 10, internetChecksum(out, p, ipHeader));
  }
  const l4Offset = p + ipHeader;
  out.set(l4, l4Offset);
  const cs = options.checksumOffset ?? -1;
  if (cs >= 0) {
    dv.setUint16(l4Offset + cs, 0);
    let sum = transportChecksum(out, v6 ? p + 8 : p + 12, v6 ? p + 24 : p + 16, v6 ? 16 : 4, options.protocol, l4Offset, l4.length);
    if (sum === 0 && options.protocol === IpProto.UDP) sum = 0xffff;
    dv.setUint16(l4Offset + cs, sum);
  }
  return out;
}

/** Builds a UDP datagram with correct lengths and checksums. */
export function buildUdp(options: UdpOptions): Uint8Array {
  const payload = payloadBytes(options.payload);
  const l4 = new Uint8Array(8 + payload.length);
  const dv = new DataView(l4.buffer);
  dv.setUint16(0, checkRange('sport', options.sport, 0xffff));
  dv.setUint16(2, checkRange('dport', options.dport, 0xffff));
  if (l4.length > 0xffff) throw new PacketBuildError('payload', `UDP length ${l4.length} exceeds 65535`);
  dv.setUint16(4, l4.length);
  l4.set(payload, 8);
  return buildIpPacket({ ...options, protocol: IpProto.UDP, l4, checksumOffset: 6 });
}

/** Parses tcpdump-style flag letters (`S`, `F`, `R`, `P`, `U`, `E`, `W`/`C`, `.` = ACK) into a mask. */
export function tcpFlagsFromString(text: string): number {
  let flags = 0;
  for (const c of text) {
    switch (c) {
      case 'F': flags |= TcpFlag.FIN; break;
      case 'S': flags |= TcpFlag.SYN; break;
      case 'R': flags |= TcpFlag.RST; break;
      case 'P': flags |= TcpFlag.PSH; break;
      case '.': case 'A': flags |= TcpFlag.ACK; break;
      case 'U': flags |= TcpFlag.URG; break;
      case 'E': flags |= TcpFlag.ECE; break;
      case 'W': case 'C': flags |= TcpFlag.CWR; break;
      default: throw new PacketBuildError('flags', `unknown TCP flag letter ${JSON.stringify(c)} in ${JSON.stringify(text)}`);
    }
  }
  return flags;
}

/** Builds a TCP segment with correct data offset, lengths and checksums. */
export function buildTcp(options: TcpOptions): Uint8Array {
  const payload = payloadBytes(options.payload);
  const opts = pad4(options.tcpOptions, 'tcpOptions', 40);
  const hl = 20 + opts.length;
  const l4 = new Uint8Array(hl + payload.length);
  const dv = new DataView(l4.buffer);
  const flags = typeof options.flags === 'string' ? tcpFlagsFromString(options.flags) : options.flags ?? TcpFlag.SYN;
  dv.setUint16(0, checkRange('sport', options.sport, 0xffff));
  dv.setUint16(2, checkRange('dport', options.dport, 0xffff));
  dv.setUint32(4, checkRange('seq', options.seq ?? 0, 0xffffffff));
  dv.setUint32(8, checkRange('ack', options.ack ?? 0, 0xffffffff));
  l4[12] = ((hl / 4) << 4) | ((flags >> 8) & 1);
  l4[13] = flags & 0xff;
  dv.setUint16(14, checkRange('window', options.window ?? 65535, 0xffff));
  dv.setUint16(18, checkRange('urgent', options.urgent ?? 0, 0xffff));
  l4.set(opts, 20);
  l4.set(payload, hl);
  return buildIpPacket({ ...options, protocol: IpProto.TCP, l4, checksumOffset: 16 });
}

/** Builds an ICMP echo (IPv4) or ICMPv6 echo (IPv6) request or reply with a correct checksum. */
export function buildIcmpEcho(options: IcmpEchoOptions): Uint8Array {
  const payload = payloadBytes(options.payload);
  const v6 = options.src.includes(':');
  const l4 = new Uint8Array(8 + payload.length);
  const dv = new DataView(l4.buffer);
  l4[0] = v6 ? (options.reply ? 129 : 128) : options.reply ? 0 : 8;
  dv.setUint16(4, checkRange('id', options.id ?? 0, 0xffff));
  dv.setUint16(6, checkRange('seq', options.seq ?? 0, 0xffff));
  l4.set(payload, 8);
  if (v6) return buildIpPacket({ ...options, protocol: IpProto.ICMPV6, l4, checksumOffset: 2 });
  dv.setUint16(2, internetChecksum(l4)); // ICMPv4 has no pseudo header
  return buildIpPacket({ ...options, protocol: IpProto.ICMP, l4 });
}

/** Builds an Ethernet ARP request or reply (IPv4 over Ethernet). */
export function buildArp(options: ArpOptions): Uint8Array {
  const arp = new Uint8Array(28);
  const op = options.op === undefined || options.op === 'request' ? 1 : options.op === 'reply' ? 2 : options.op;
  arp.set([0, 1, 0x08, 0x00, 6, 4, op >> 8, op & 0xff]);
  writeMac(options.senderMac ?? options.srcMac ?? DEFAULT_SRC_MAC, arp, 8, 'senderMac');
  writeIpv4(options.senderIp, arp, 14, 'senderIp');
  writeMac(options.targetMac ?? '00:00:00:00:00:00', arp, 18, 'targetMac');
  writeIpv4(options.targetIp, arp, 24, 'targetIp');
  return buildEthernet({
    ...options,
    dstMac: options.dstMac ?? (op === 1 ? 'ff:ff:ff:ff:ff:ff' : DEFAULT_DST_MAC),
    etherType: EtherType.ARP,
    payload: arp,
  });
}
