// bpftool's byte grammar for keys and values: `hex 0a 00 00 01`, `10 0 0 1`, `0x0a 0 ...`.

import { ByteListError } from './errors.js';

/**
 * Parses a byte list the way bpftool reads `key` and `value` arguments: words separated by
 * spaces (or given as separate arguments), each one byte. A leading `hex` word makes every
 * following byte hexadecimal (`hex 0a 00` = [10, 0]); otherwise each byte is decimal, or
 * hexadecimal with a `0x` prefix, or octal with a leading `0` (C's strtoul with base 0, as
 * bpftool does). With `size`, the list must have exactly that many bytes.
 */
export function parseByteList(words: string | readonly string[], size?: number): Uint8Array {
  const text = typeof words === 'string' ? words : words.join(' ');
  const parts = text.trim().split(/\s+/).filter((w) => w !== '');
  let hex = false;
  if (parts[0] === 'hex') {
    hex = true;
    parts.shift();
  }
  if (parts.length === 0) throw new ByteListError(text, 'no bytes');
  const out = new Uint8Array(parts.length);
  parts.forEach((w, i) => {
    let v: number;
    if (hex) v = /^(0x)?[0-9a-f]{1,2}$/i.test(w) ? parseInt(w.replace(/^0x/i, ''), 16) : NaN;
    else if (/^0x[0-9a-f]+$/i.test(w)) v = parseInt(w.slice(2), 16);
    else if (/^0[0-7]+$/.test(w)) v = parseInt(w.slice(1), 8);
    else if (/^[0-9]+$/.test(w)) v = parseInt(w, 10);
    else v = NaN;
    if (!(v >= 0 && v <= 255)) throw new ByteListError(text, `byte ${i} "${w}" is not ${hex ? 'a hex byte (00..ff)' : 'a byte (0..255, 0x00..0xff)'}`);
    out[i] = v;
  });
  if (size !== undefined && out.length !== size) throw new ByteListError(text, `${out.length} bytes given, ${size} expected`);
  return out;
}

/** Formats bytes as bpftool prints them: `0a 00 00 01`. */
export function formatByteList(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += (i ? ' ' : '') + bytes[i]!.toString(16).padStart(2, '0');
  return s;
}
