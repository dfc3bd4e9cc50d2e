// Toeplitz RSS hash (Microsoft RSS spec) over IPv4/IPv6 2-tuples and 4-tuples, table-driven.
//
// The hash XORs, for every set bit i of the input (MSB of byte 0 first), the 32-bit window of
// the key starting at bit i. Because it is linear, the contribution of input byte j with value
// v is a fixed word: ToeplitzHasher precomputes them (256 per byte position), so a 12-byte
// IPv4 4-tuple costs 12 table lookups and XORs.

import { PacketBuildError } from './errors.js';
import type { ParsedFrame } from './frame-parser.js';

/** The 40-byte key from Microsoft's RSS documentation, the default of most NIC drivers. */
export const MICROSOFT_RSS_KEY: Uint8Array = Uint8Array.of(
  0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
  0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
  0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
);

/**
 * Reference bit-serial Toeplitz hash of `input[offset..offset+length)` with `key` (which must
 * be at least length + 4 bytes). Slow; for tests and one-off use.
 */
export function toeplitzHash(input: Uint8Array, key: Uint8Array = MICROSOFT_RSS_KEY, offset = 0, length = input.length - offset): number {
  if (key.length < length + 4) throw new PacketBuildError('key', `a ${key.length}-byte key hashes at most ${key.length - 4} input bytes, not ${length}`);
  let result = 0;
  for (let i = 0; i < length; i++) {
    const byte = input[offset + i]!;
    for (let b = 0; b < 8; b++) {
      if (byte & (0x80 >> b)) result ^= keyWindow(key, i * 8 + b);
    }
  }
  return result >>> 0;
}

/** The 32 key bits starting at bit `bit` (MSB-first). */
function keyWindow(key: Uint8Array, bit: number): number {
  const byte = bit >> 3;
  const shift = bit & 7;
  const w = ((key[byte]! << 24) | (key[byte + 1]! << 16) | (key[byte + 2]! << 8) | key[byte + 3]!) >>> 0;
  if (shift === 0) return w;
  return ((w << shift) | ((key[byte + 4] ?? 0) >>> (8 - shift))) >>> 0;
}

/** A Toeplitz hasher for one key, with per-byte lookup tables; hashing allocates nothing. */
export class ToeplitzHasher {
  /** Bytes of input the key can hash (key length - 4; 36 for a 40-byte key). */
  readonly maxInput: number;
  private readonly table: Uint32Array;

  constructor(readonly key: Uint8Array = MICROSOFT_RSS_KEY) {
    if (key.length < 8) throw new PacketBuildError('key', `RSS key of ${key.length} bytes is too short`);
    this.maxInput = key.length - 4;
    this.table = new Uint32Array(this.maxInput * 256);
    for (let j = 0; j < this.maxInput; j++) {
      const bits: number[] = [];
      for (let b = 0; b < 8; b++) bits.push(keyWindow(key, j * 8 + b));
      for (let v = 0; v < 256; v++) {
        let h = 0;
        for (let b = 0; b < 8; b++) if (v & (0x80 >> b)) h ^= bits[b]!;
        this.table[j * 256 + v] = h >>> 0;
      }
    }
  }

  /**
   * XOR-accumulates the hash of `length` bytes of `buf` at `offset`, placed at input position
   * `position` (bytes from the start of the hash input). Chain pieces with `initial`.
   */
  hashAt(buf: Uint8Array, offset: number, length: number, position = 0, initial = 0): number {
    let h = initial;
    const t = this.table;
    for (let i = 0; i < length; i++) h ^= t[((position + i) << 8) | buf[offset + i]!]!;
    return h >>> 0;
  }

  /** Hash of a contiguous input. */
  hash(input: Uint8Array, offset = 0, length = input.length - offset): number {
    if (length > this.maxInput) throw new PacketBuildError('input', `${length} bytes exceed the key's ${this.maxInput}`);
    return this.hashAt(input, offset, length);
  }

  /**
   * RSS hash of an IP packet from addresses at `srcOffset`/`dstOffset` (4 or 16 bytes each)
   * and, if `portsOffset >= 0`, the 4 port bytes there (source then destination port, as in
   * a TCP/UDP header): input = src, dst[, sport, dport].
   */
  hashTuple(buf: Uint8Array, srcOffset: number, dstOffset: number, addrLength: 4 | 16, portsOffset = -1): number {
    let h = this.hashAt(buf, srcOffset, addrLength, 0);
    h = this.hashAt(buf, dstOffset, addrLength, addrLength, h);
    if (portsOffset >= 0) h = this.hashAt(buf, portsOffset, 4, 2 * addrLength, h);
    return h;
  }

  /**
   * RSS hash of a parsed frame: the 4-tuple for TCP (and UDP unless `udpPorts` is false) when
   * not a fragment, the 2-tuple for other IP packets, and `-1` for non-IP frames.
   */
  hashFrame(buf: Uint8Array, frame: ParsedFrame, udpPorts = true): number {
    if (frame.ipVersion !== 4 && frame.ipVersion !== 6) return -1;
    if (frame.ipSrcOffset < 0 || frame.malformed !== '') return -1;
    if (frame.ipVersion === 6 && frame.l3End < 0) return -1;
    const addr = frame.ipVersion === 6 ? 16 : 4;
    const ports = frame.l4Offset >= 0 && !frame.isFragment && frame.l3End - frame.l4Offset >= 4
      && (frame.ipProto === 6 || (udpPorts && frame.ipProto === 17));
    return this.hashTuple(buf, frame.ipSrcOffset, frame.ipDstOffset, addr, ports ? frame.l4Offset : -1);
  }
}
