// Keys, values and global variables as written in the config -> the exact bytes a map or section holds.
import { writeLayout, readLayout } from '../gen/codec.js';
import { layoutSize, type Layout } from '../gen/layout.js';
import { BpfkitError } from '../errors.js';
import type { ConfigBytes } from './config.js';

/** A config value that cannot become the bytes it must be (wrong size, not a number...). */
export class ConfigBytesError extends BpfkitError {
  constructor(
    /** Where the value was written (`objects[0].maps[1].entries[2].key`). */
    readonly path: string,
    /** What is wrong. */
    readonly detail: string,
  ) {
    super('ERR_AGENT_BYTES', `${path}: ${detail}`);
  }
}

const HEX = /^(?:hex\s+|0x)?((?:[0-9a-fA-F]{2}\s*)+)$/;

/** Little-endian bytes of an integer in `size` bytes (1..8); out of range is an error. */
function intBytes(v: bigint, size: number, path: string): Uint8Array {
  const bits = BigInt(size * 8);
  const min = -(1n << (bits - 1n));
  const max = (1n << bits) - 1n;
  if (v < min || v > max) throw new ConfigBytesError(path, `${v} does not fit in ${size} bytes`);
  let u = BigInt.asUintN(size * 8, v);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    out[i] = Number(u & 0xffn);
    u >>= 8n;
  }
  return out;
}

/**
 * Encodes a config value into exactly `size` bytes: an integer little-endian (sizes 1..8), a
 * hex string (`"0a 00 00 01"`, `"hex 0a000001"`, `"0x0a000001"` — bytes in memory order), an
 * array of byte values, or — with a BTF layout — an object by field name (or any value the
 * layout takes). A size mismatch is a {@link ConfigBytesError} naming `path`.
 */
export function encodeConfigBytes(value: ConfigBytes | unknown, size: number, layout: Layout | undefined, path: string): Uint8Array {
  if (typeof value === 'string') {
    const m = HEX.exec(value.trim());
    if (!m) {
      if (layout?.kind === 'string') return withLayout(layout, value, size, path);
      throw new ConfigBytesError(path, `"${value}" is not hex bytes ("0a 00 00 01")`);
    }
    const digits = (m[1] as string).replace(/\s+/g, '');
    const out = Uint8Array.from({ length: digits.length / 2 }, (_, i) => parseInt(digits.slice(i * 2, i * 2 + 2), 16));
    if (out.length !== size) throw new ConfigBytesError(path, `${out.length} bytes given, the map needs ${size}`);
    return out;
  }
  if (Array.isArray(value) && value.every((b) => typeof b === 'number') && !(layout && layout.kind !== 'bytes' && layout.kind !== 'int')) {
    if (value.length !== size) throw new ConfigBytesError(path, `${value.length} bytes given, the map needs ${size}`);
    if (!value.every((b: number) => Number.isInteger(b) && b >= 0 && b <= 255)) throw new ConfigBytesError(path, 'byte values must be integers 0..255');
    return Uint8Array.from(value as number[]);
  }
  if (typeof value === 'number' || typeof value === 'bigint') {
    if (typeof value === 'number' && !Number.isInteger(value)) {
      if (layout?.kind === 'float') return withLayout(layout, value, size, path);
      throw new ConfigBytesError(path, `${value} is not an integer`);
    }
    if (size < 1 || size > 8) throw new ConfigBytesError(path, `an integer cannot fill ${size} bytes; write hex bytes or an object by field`);
    return intBytes(BigInt(value), size, path);
  }
  if (layout) return withLayout(layout, value, size, path);
  throw new ConfigBytesError(path, typeof value === 'object' && value !== null ? 'an object by field needs BTF for the map (the object has none); write hex bytes' : `cannot encode ${JSON.stringify(value)}`);
}

function withLayout(layout: Layout, value: unknown, size: number, path: string): Uint8Array {
  if (layoutSize(layout) !== size) throw new ConfigBytesError(path, `the BTF type is ${layoutSize(layout)} bytes, the map needs ${size}`);
  const out = new Uint8Array(size);
  try {
    writeLayout(layout, out, 0, value, true, path);
  } catch (err) {
    throw new ConfigBytesError(path, err instanceof Error ? err.message : String(err));
  }
  return out;
}

/** A key as a label value: a decimal integer (keys up to 8 bytes without a struct layout), BTF JSON for structs, else hex. */
export function keyLabel(key: Uint8Array, layout: Layout | undefined): string {
  if ((!layout || layout.kind === 'int' || layout.kind === 'enum') && key.length >= 1 && key.length <= 8) {
    let v = 0n;
    for (let i = key.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(key[i] as number);
    return v.toString();
  }
  if (layout && layoutSize(layout) === key.length) {
    const v = readLayout(layout, key, 0, true);
    return JSON.stringify(v, (_, x: unknown) => (typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? [...x] : x));
  }
  return [...key].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}
