// Capture timestamps: 64-bit pcapng tick counts <-> (seconds, nanoseconds) numbers, exact, without BigInt.
//
// A pcapng timestamp is a 64-bit count of ticks of 10^-k or 2^-k seconds (if_tsresol), stored
// as two 32-bit halves. Converting through a double loses nanoseconds after 2^53 ticks (about
// 104 days of nanoseconds since 1970), so the division is done in 16-bit limbs instead.

/**
 * A timestamp resolution as the pcapng `if_tsresol` byte encodes it: bit 7 clear means 10^-k
 * seconds per tick (k = the low 7 bits), set means 2^-k. 6 is microseconds (the default when
 * the option is absent), 9 nanoseconds.
 */
export type TsResolution = number;

/** Microsecond resolution (if_tsresol = 6, pcapng's default). */
export const TS_RESOLUTION_MICRO: TsResolution = 6;
/** Nanosecond resolution (if_tsresol = 9). */
export const TS_RESOLUTION_NANO: TsResolution = 9;

/** Resolution of 2^-`exponent` seconds per tick. */
export function binaryTsResolution(exponent: number): TsResolution {
  return 0x80 | (exponent & 0x7f);
}

/** Ticks per second of a resolution, as a (possibly inexact for huge exponents) number. */
export function ticksPerSecond(resolution: TsResolution): number {
  return resolution & 0x80 ? 2 ** (resolution & 0x7f) : 10 ** (resolution & 0x7f);
}

/** Output of {@link ticksToTime}: reused, not allocated per call. */
export interface TimeParts {
  /** Whole seconds since the epoch. */
  seconds: number;
  /** Nanoseconds within the second, 0..999_999_999. */
  nanoseconds: number;
}

// Scratch for divmod64, so the hot path allocates nothing.
let qHi = 0;
let qLo = 0;
let rem = 0;

/** Divides the 64-bit value hi:lo by `d` (< 2^37) into qHi:qLo remainder rem, exactly. */
function divmod64(hi: number, lo: number, d: number): void {
  let r = 0;
  let cur = r * 0x10000 + (hi >>> 16);
  const q3 = Math.floor(cur / d); r = cur - q3 * d;
  cur = r * 0x10000 + (hi & 0xffff);
  const q2 = Math.floor(cur / d); r = cur - q2 * d;
  cur = r * 0x10000 + (lo >>> 16);
  const q1 = Math.floor(cur / d); r = cur - q1 * d;
  cur = r * 0x10000 + (lo & 0xffff);
  const q0 = Math.floor(cur / d); r = cur - q0 * d;
  // r < d makes every quotient limb < 2^16, so the limbs recombine without carries.
  qLo = q1 * 0x10000 + q0;
  qHi = q3 * 0x10000 + q2;
  rem = r;
}

/**
 * Converts a tick count hi:lo (two unsigned 32-bit halves) at `resolution` into `out`.
 * Exact for decimal resolutions up to 10^-20 and binary ones up to 2^-32; finer binary
 * resolutions round through doubles.
 */
export function ticksToTime(hi: number, lo: number, resolution: TsResolution, out: TimeParts): void {
  const k = resolution & 0x7f;
  if (resolution & 0x80) {
    if (k === 0) {
      out.seconds = hi * 0x100000000 + lo;
      out.nanoseconds = 0;
    } else if (k < 32) {
      const frac = lo % 2 ** k;
      out.seconds = hi * 2 ** (32 - k) + Math.floor(lo / 2 ** k);
      // frac * 1e9 / 2^k = frac * 1953125 / 2^(k-9): exact in a double while k <= 32.
      out.nanoseconds = k >= 9 ? Math.floor((frac * 1953125) / 2 ** (k - 9)) : (frac * 1e9) / 2 ** k;
    } else if (k === 32) {
      out.seconds = hi;
      out.nanoseconds = Math.floor((lo * 1953125) / 2 ** 23);
    } else {
      const ticks = hi * 0x100000000 + lo;
      const scale = 2 ** k;
      out.seconds = Math.floor(ticks / scale);
      out.nanoseconds = Math.min(999_999_999, Math.floor(((ticks - out.seconds * scale) / scale) * 1e9));
    }
    return;
  }
  if (k <= 9) {
    const div = DECIMAL[k]!;
    divmod64(hi, lo, div);
    out.seconds = qHi * 0x100000000 + qLo;
    out.nanoseconds = rem * DECIMAL[9 - k]!;
  } else if (k <= 20) {
    divmod64(hi, lo, DECIMAL[k - 9]!);
    divmod64(qHi, qLo, 1e9);
    out.seconds = qHi * 0x100000000 + qLo;
    out.nanoseconds = rem;
  } else {
    out.seconds = 0;
    out.nanoseconds = Math.floor(((hi * 0x100000000 + lo) / 10 ** k) * 1e9);
  }
}

const DECIMAL: readonly number[] = Array.from({ length: 21 }, (_, i) => 10 ** i);

/** Output of {@link timeToTicks}. */
export interface TickParts {
  /** High 32 bits of the tick count. */
  hi: number;
  /** Low 32 bits of the tick count. */
  lo: number;
}

/**
 * Converts seconds + nanoseconds into a 64-bit tick count at `resolution`, truncating
 * sub-tick nanoseconds. Exact for decimal resolutions up to 10^-9 and binary up to 2^-32.
 */
export function timeToTicks(seconds: number, nanoseconds: number, resolution: TsResolution, out: TickParts): void {
  const k = resolution & 0x7f;
  let frac: number;
  let mul: number;
  if (resolution & 0x80) {
    if (k > 32) {
      const ticks = seconds * 2 ** k + Math.floor((nanoseconds * 2 ** k) / 1e9);
      out.hi = Math.floor(ticks / 0x100000000);
      out.lo = ticks % 0x100000000;
      return;
    }
    mul = 2 ** k;
    // nanoseconds * 2^k / 1e9 = nanoseconds * 2^(k-9) / 1953125, exact for k <= 32.
    frac = k >= 9 ? Math.floor((nanoseconds * 2 ** (k - 9)) / 1953125) : Math.floor((nanoseconds * 2 ** k) / 1e9);
  } else if (k <= 9) {
    mul = DECIMAL[k]!;
    frac = Math.floor(nanoseconds / DECIMAL[9 - k]!);
  } else {
    const ticks = (seconds * 1e9 + nanoseconds) * 10 ** (k - 9);
    out.hi = Math.floor(ticks / 0x100000000);
    out.lo = ticks % 0x100000000;
    return;
  }
  // seconds * mul + frac in 16-bit pieces so no intermediate exceeds 2^53.
  const s0 = seconds % 0x10000;
  const s1 = Math.floor(seconds / 0x10000);
  const a = s0 * mul + frac;
  const b = s1 * mul;
  const bLow = b % 0x10000;
  const sum = a + bLow * 0x10000;
  out.lo = sum % 0x100000000;
  out.hi = Math.floor(b / 0x10000) + Math.floor(sum / 0x100000000);
}
