// The kernel's checksum arithmetic on 32-bit partial sums (include/net/checksum.h, x86-64's csum_fold).
//
// Values are what a little-endian CPU loads from the packet: a 16-bit checksum field read as a
// u16, a __be32 read as a u32. One's-complement sums do not care about byte order as long as
// every operand is taken the same way, so results stored back little-endian are the bytes the
// kernel writes.

/** csum_add: 32-bit one's-complement addition (end-around carry). */
export function csumAdd(a: number, b: number): number {
  const r = ((a >>> 0) + (b >>> 0)) >>> 0;
  return (r + (r < b >>> 0 ? 1 : 0)) >>> 0;
}

/** csum_sub: a + ~b. */
export function csumSub(a: number, b: number): number {
  return csumAdd(a, ~b >>> 0);
}

/** csum_fold, as x86-64 computes it: fold 32 bits to 16 with end-around carry, then complement. */
export function csumFold(sum: number): number {
  const s = sum >>> 0;
  const hi = (s & 0xffff0000) >>> 0;
  const lo = (s << 16) >>> 0;
  let r = hi + lo;
  const carry = r > 0xffffffff ? 1 : 0;
  r = (r >>> 0) + 0xffff + carry;
  return (~(r >>> 0) >>> 16) & 0xffff;
}

/** csum16_add: 16-bit one's-complement addition. */
export function csum16Add(csum: number, addend: number): number {
  let res = (csum & 0xffff) + (addend & 0xffff);
  res = res & 0xffff;
  return (res + (res < (addend & 0xffff) ? 1 : 0)) & 0xffff;
}

/** csum_partial of bytes as little-endian 16-bit words (an odd last byte is the low byte), plus `seed`: a 32-bit partial sum. */
export function csumPartial(bytes: Uint8Array, from: number, length: number, seed: number): number {
  let sum = 0;
  let i = from;
  const end = from + length;
  for (; i + 1 < end; i += 2) sum += bytes[i]! | (bytes[i + 1]! << 8);
  if (i < end) sum += bytes[i]!;
  while (sum > 0xffffffff) sum = (sum % 4294967296) + Math.floor(sum / 4294967296);
  return csumAdd(sum >>> 0, seed >>> 0);
}

/** csum_from32to16: the 16-bit fold bpf_csum_diff returns (not complemented). */
export function csumFrom32To16(sum: number): number {
  const s = sum >>> 0;
  const r = (s + (((s >>> 16) | (s << 16)) >>> 0)) >>> 0;
  return r >>> 16;
}

/** csum_replace4: the checksum field after a 32-bit word changed from `from` to `to`. */
export function csumReplace4(field: number, from: number, to: number): number {
  const tmp = csumSub((~field) >>> 0, from >>> 0);
  return csumFold(csumAdd(tmp, to >>> 0));
}

/** csum_replace2: the checksum field after a 16-bit word changed (16-bit arithmetic). */
export function csumReplace2(field: number, from: number, to: number): number {
  return ~csum16Add(csum16Add(~field & 0xffff, ~from & 0xffff), to) & 0xffff;
}

/** csum_replace_by_diff: the checksum field after adding a 32-bit difference (from bpf_csum_diff). */
export function csumReplaceByDiff(field: number, diff: number): number {
  return csumFold(csumAdd(diff >>> 0, ~field >>> 0));
}
