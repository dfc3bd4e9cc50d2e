// Verifies and recomputes the IPv4 header and TCP/UDP/ICMP/ICMPv6 checksums of a parsed frame in place.

import { internetChecksum, onesComplementSum, pseudoHeaderSum } from './checksum.js';
import { IpProto } from './ether-type.js';
import { Truncated, type ParsedFrame } from './frame-parser.js';

/**
 * Whether the IPv4 header checksum of `frame` is valid. `undefined` when there is no complete
 * IPv4 header to check.
 */
export function verifyIpv4Checksum(buf: Uint8Array, frame: ParsedFrame): boolean | undefined {
  if (frame.ipVersion !== 4 || frame.l3End < 0) return undefined;
  return onesComplementSum(buf, frame.l3Offset, frame.ipHeaderLength) === 0xffff;
}

/** Whether the whole transport segment was captured and is not a fragment, so its checksum can be checked. */
function checkableL4(frame: ParsedFrame): boolean {
  if (frame.l4Offset < 0 || frame.isFragment || frame.malformed !== '') return false;
  if (frame.truncated !== Truncated.NONE) return false;
  const p = frame.ipProto;
  return p === IpProto.TCP || p === IpProto.UDP || p === IpProto.ICMPV6 || (p === IpProto.ICMP && frame.ipVersion === 4);
}

/**
 * Whether the TCP/UDP/ICMP/ICMPv6 checksum of `frame` is valid (an IPv4 UDP checksum of 0
 * means "none" and counts as valid). `undefined` when it cannot be checked: not captured whole,
 * a fragment, or another protocol.
 */
export function verifyTransportChecksum(buf: Uint8Array, frame: ParsedFrame): boolean | undefined {
  if (!checkableL4(frame)) return undefined;
  const len = frame.l3End - frame.l4Offset;
  if (frame.ipProto === IpProto.ICMP) return onesComplementSum(buf, frame.l4Offset, len) === 0xffff;
  if (frame.ipProto === IpProto.UDP && frame.ipVersion === 4 && frame.l4Checksum === 0) return true;
  const addr = frame.ipVersion === 6 ? 16 : 4;
  const pseudo = pseudoHeaderSum(buf, frame.ipSrcOffset, frame.ipDstOffset, addr, frame.ipProto, len);
  return onesComplementSum(buf, frame.l4Offset, len, pseudo) === 0xffff;
}

/**
 * Recomputes in place the IPv4 header checksum and the transport checksum of `frame` (after a
 * program rewrote addresses or ports). Returns whether the transport checksum was written.
 */
export function fillChecksums(buf: Uint8Array, frame: ParsedFrame): boolean {
  if (frame.ipVersion === 4 && frame.l3End >= 0) {
    const p = frame.l3Offset;
    buf[p + 10] = 0; buf[p + 11] = 0;
    const c = internetChecksum(buf, p, frame.ipHeaderLength);
    buf[p + 10] = c >> 8; buf[p + 11] = c & 0xff;
  }
  if (!checkableL4(frame)) return false;
  const q = frame.l4Offset;
  const len = frame.l3End - q;
  const at = q + (frame.ipProto === IpProto.TCP ? 16 : frame.ipProto === IpProto.UDP ? 6 : 2);
  if (frame.ipProto === IpProto.UDP && frame.ipVersion === 4 && frame.l4Checksum === 0) return false;
  buf[at] = 0; buf[at + 1] = 0;
  let c: number;
  if (frame.ipProto === IpProto.ICMP) c = internetChecksum(buf, q, len);
  else {
    const pseudo = pseudoHeaderSum(buf, frame.ipSrcOffset, frame.ipDstOffset, frame.ipVersion === 6 ? 16 : 4, frame.ipProto, len);
    c = internetChecksum(buf, q, len, pseudo);
    if (c === 0 && frame.ipProto === IpProto.UDP) c = 0xffff;
  }
  buf[at] = c >> 8; buf[at + 1] = c & 0xff;
  frame.l4Checksum = c;
  return true;
}
