// Text <-> bytes for IPv4, IPv6 (RFC 4291 input, RFC 5952 output) and MAC addresses.

import { PacketBuildError } from './errors.js';

/**
 * Writes dotted-quad IPv4 `text` as 4 bytes into `out` at `offset`. Throws
 * {@link PacketBuildError} (`field` = `field`) when it is not four decimal octets.
 */
export function writeIpv4(text: string, out: Uint8Array, offset = 0, field = 'address'): void {
  const parts = text.split('.');
  if (parts.length !== 4) throw new PacketBuildError(field, `not an IPv4 address: ${JSON.stringify(text)}`);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new PacketBuildError(field, `not an IPv4 address: ${JSON.stringify(text)}`);
    out[offset + i] = Number(p);
  }
}

/** Parses a dotted-quad IPv4 address into 4 new bytes. */
export function parseIpv4(text: string, field = 'address'): Uint8Array {
  const out = new Uint8Array(4);
  writeIpv4(text, out, 0, field);
  return out;
}

/**
 * Writes IPv6 `text` (full, `::`-compressed, or with an embedded dotted IPv4 tail) as 16 bytes
 * into `out` at `offset`. Zone ids (`%eth0`) are not accepted.
 */
export function writeIpv6(text: string, out: Uint8Array, offset = 0, field = 'address'): void {
  const bad = (): PacketBuildError => new PacketBuildError(field, `not an IPv6 address: ${JSON.stringify(text)}`);
  const halves = text.split('::');
  if (halves.length > 2) throw bad();
  const groups = (s: string): number[] => {
    if (s === '') return [];
    const out16: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = new Uint8Array(4);
        writeIpv4(p, v4, 0, field);
        out16.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) throw bad();
        out16.push(parseInt(p, 16));
      }
    }
    return out16;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  const zeros = 8 - head.length - tail.length;
  if (halves.length === 2 ? zeros < 1 : zeros !== 0) throw bad();
  const all = [...head, ...new Array<number>(halves.length === 2 ? zeros : 0).fill(0), ...tail];
  for (let i = 0; i < 8; i++) {
    out[offset + 2 * i] = all[i]! >> 8;
    out[offset + 2 * i + 1] = all[i]! & 0xff;
  }
}

/** Parses an IPv6 address into 16 new bytes. */
export function parseIpv6(text: string, field = 'address'): Uint8Array {
  const out = new Uint8Array(16);
  writeIpv6(text, out, 0, field);
  return out;
}

/** Parses an IPv4 or IPv6 address (IPv6 if it contains `:`) into 4 or 16 new bytes. */
export function parseIp(text: string, field = 'address'): Uint8Array {
  return text.includes(':') ? parseIpv6(text, field) : parseIpv4(text, field);
}

/** Formats 4 bytes at `offset` as a dotted quad. */
export function formatIpv4(buf: Uint8Array, offset = 0): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}

/**
 * Formats 16 bytes at `offset` the way RFC 5952 (and tcpdump) does: lowercase hex, leading
 * zeros dropped, the longest run of two or more zero groups (first on a tie) as `::`.
 */
export function formatIpv6(buf: Uint8Array, offset = 0): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((buf[offset + 2 * i]! << 8) | buf[offset + 2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(g);
  return `${hex(g.slice(0, bestStart))}::${hex(g.slice(bestStart + bestLen))}`;
}

/** Writes a MAC address (`aa:bb:cc:dd:ee:ff` or with `-`) as 6 bytes into `out` at `offset`. */
export function writeMac(text: string, out: Uint8Array, offset = 0, field = 'mac'): void {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new PacketBuildError(field, `not a MAC address: ${JSON.stringify(text)}`);
  }
  for (let i = 0; i < 6; i++) out[offset + i] = parseInt(parts[i]!, 16);
}

/** Parses a MAC address into 6 new bytes. */
export function parseMac(text: string, field = 'mac'): Uint8Array {
  const out = new Uint8Array(6);
  writeMac(text, out, 0, field);
  return out;
}

/** Formats 6 bytes at `offset` as `aa:bb:cc:dd:ee:ff`. */
export function formatMac(buf: Uint8Array, offset = 0): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push(buf[offset + i]!.toString(16).padStart(2, '0'));
  return parts.join(':');
}
