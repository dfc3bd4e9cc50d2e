// Internet checksum (RFC 1071), incremental update (RFC 1624) and TCP/UDP/ICMPv6 pseudo-header sums.
//
// All sums here are 16-bit one's-complement sums of big-endian words. A "sum" is the folded
// partial sum (0..0xffff, not complemented) so sums of several pieces chain through `initial`;
// a "checksum" is the complement of a sum, the value stored in a header.

/**
 * Folds a wide one's-complement accumulator to 16 bits (end-around carry).
 * Example: 0x2_fffe -> 0xfffe + 2 = 0x1_0000 -> 0x0001.
 */
export function foldSum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/**
 * One's-complement sum of `length` bytes of `buf` from `offset`, as big-endian 16-bit words
 * (an odd last byte is padded with a zero byte), added to `initial`. Returns the folded sum.
 */
export function onesComplementSum(buf: Uint8Array, offset = 0, length = buf.length - offset, initial = 0): number {
  let sum = initial;
  const end = offset + length;
  let i = offset;
  // Unrolled by 8 bytes; each word is at most 0xffff so the double accumulator cannot lose bits.
  for (; i + 7 < end; i += 8) {
    sum += ((buf[i]! << 8) | buf[i + 1]!) + ((buf[i + 2]! << 8) | buf[i + 3]!)
      + ((buf[i + 4]! << 8) | buf[i + 5]!) + ((buf[i + 6]! << 8) | buf[i + 7]!);
  }
  for (; i + 1 < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) sum += buf[i]! << 8;
  return foldSum(sum);
}

/**
 * The Internet checksum (RFC 1071) of a byte range: the complement of its one's-complement sum,
 * continuing from the partial sum `initial`. Store the result big-endian in the header's
 * checksum field (which must be zero while summing).
 */
export function internetChecksum(buf: Uint8Array, offset = 0, length = buf.length - offset, initial = 0): number {
  return ~onesComplementSum(buf, offset, length, initial) & 0xffff;
}

/**
 * Incrementally updates checksum `checksum` after a 16-bit field changed from `oldWord` to
 * `newWord`, by RFC 1624 equation 3: HC' = ~(~HC + ~m + m'). Avoids the -0 pitfall of RFC 1141.
 */
export function checksumUpdate16(checksum: number, oldWord: number, newWord: number): number {
  const sum = (~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  return ~foldSum(sum) & 0xffff;
}

/** {@link checksumUpdate16} for a 32-bit field (an IPv4 address, a TCP sequence number). */
export function checksumUpdate32(checksum: number, oldValue: number, newValue: number): number {
  const sum = (~checksum & 0xffff)
    + (~(oldValue >>> 16) & 0xffff) + (~oldValue & 0xffff)
    + ((newValue >>> 16) & 0xffff) + (newValue & 0xffff);
  return ~foldSum(sum) & 0xffff;
}

/**
 * Incrementally updates `checksum` for a byte range that changed from `oldBytes` to the bytes
 * now at `buf[offset..offset+length)` (`length` even, `offset` at the same word parity as
 * the checksummed data — e.g. an address inside an IP header).
 */
export function checksumUpdateBytes(checksum: number, oldBytes: Uint8Array, buf: Uint8Array, offset: number, length = oldBytes.length): number {
  let sum = ~checksum & 0xffff;
  for (let i = 0; i + 1 < length; i += 2) {
    sum += (~((oldBytes[i]! << 8) | oldBytes[i + 1]!) & 0xffff) + ((buf[offset + i]! << 8) | buf[offset + i + 1]!);
  }
  return ~foldSum(sum) & 0xffff;
}

/**
 * Partial sum of the TCP/UDP/ICMPv6 pseudo header (RFC 793/768 for IPv4, RFC 8200 section 8.1
 * for IPv6): source and destination address read from `buf` (`addrLength` 4 or 16 bytes each),
 * the protocol number and the upper-layer length. Feed it as `initial` to
 * {@link internetChecksum} over the transport header and payload.
 */
export function pseudoHeaderSum(buf: Uint8Array, srcOffset: number, dstOffset: number, addrLength: 4 | 16, protocol: number, upperLength: number): number {
  let sum = onesComplementSum(buf, srcOffset, addrLength);
  sum = onesComplementSum(buf, dstOffset, addrLength, sum);
  // IPv4: zero, protocol, 16-bit length. IPv6: 32-bit length, 24 zero bits, next header.
  // Both reduce to the same words: protocol + high and low 16 bits of the length.
  return foldSum(sum + protocol + Math.floor(upperLength / 0x10000) + (upperLength & 0xffff));
}

/**
 * Checksum of a transport segment `buf[l4Offset..l4Offset+l4Length)` under its pseudo header
 * (its checksum field must be zero). For UDP, a computed 0 must be sent as 0xffff; this
 * function returns the raw value and leaves that rule to the caller.
 */
export function transportChecksum(
  buf: Uint8Array, srcOffset: number, dstOffset: number, addrLength: 4 | 16,
  protocol: number, l4Offset: number, l4Length: number,
): number {
  const pseudo = pseudoHeaderSum(buf, srcOffset, dstOffset, addrLength, protocol, l4Length);
  return internetChecksum(buf, l4Offset, l4Length, pseudo);
}
