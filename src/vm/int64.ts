// 64-bit integer arithmetic on pairs of 32-bit halves (lo, hi), without BigInt.
//
// Registers live in two Int32Arrays, `lo` and `hi`. Addition, subtraction, logic and shifts are
// short enough to be inlined by the interpreter; the longer operations (multiply, divide,
// modulo) live here. Every intermediate value stays an exact double (< 2^53).

const TWO16 = 65536;
const TWO32 = 4294967296;

/**
 * High 32 bits of the unsigned 64-bit product of two unsigned 32-bit numbers, by 16-bit limbs.
 * Example: mulHighU32(0xffffffff, 0xffffffff) = 0xfffffffe (the product is 0xfffffffe_00000001).
 */
export function mulHighU32(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) >>> 0;
}

/** `dst *= src` on 64 bits, modulo 2^64. */
export function mul64(lo: Int32Array, hi: Int32Array, d: number, s: number): void {
  const al = lo[d]!;
  const bl = lo[s]!;
  const high = (mulHighU32(al >>> 0, bl >>> 0) + Math.imul(al, hi[s]!) + Math.imul(hi[d]!, bl)) | 0;
  lo[d] = Math.imul(al, bl);
  hi[d] = high;
}

/** Unsigned 64-bit comparison `a >= b` on halves. */
function geU64(aLo: number, aHi: number, bLo: number, bHi: number): boolean {
  const ah = aHi >>> 0;
  const bh = bHi >>> 0;
  return ah > bh || (ah === bh && aLo >>> 0 >= bLo >>> 0);
}

/**
 * Unsigned 64-bit division with remainder: `out = [quotient lo, quotient hi, remainder lo,
 * remainder hi]`. The divisor must not be zero.
 *
 * A divisor below 2^32 is divided by schoolbook long division in 16-bit digits, where each
 * partial dividend stays below 2^48 so `Math.floor(x / b)` is exact. A larger divisor has a
 * quotient below 2^32: a double estimate is within 1 of it, so starting one below the estimate
 * and correcting with exact 64-bit multiply-subtract takes at most two more steps.
 */
export function divModU64(aLo: number, aHi: number, bLo: number, bHi: number, out: Int32Array): void {
  const al = aLo >>> 0;
  const ah = aHi >>> 0;
  const bl = bLo >>> 0;
  const bh = bHi >>> 0;
  if (bh === 0) {
    const qh = Math.floor(ah / bl);
    let r = ah - qh * bl;
    let x = r * TWO16 + (al >>> 16);
    const q1 = Math.floor(x / bl);
    r = x - q1 * bl;
    x = r * TWO16 + (al & 0xffff);
    const q0 = Math.floor(x / bl);
    r = x - q0 * bl;
    out[0] = (q1 * TWO16 + q0) | 0;
    out[1] = qh | 0;
    out[2] = r | 0;
    out[3] = 0;
    return;
  }
  const estimate = Math.floor((ah * TWO32 + al) / (bh * TWO32 + bl));
  let q = estimate > 0 ? estimate - 1 : 0;
  // r = a - q * b, exact: q * b <= a, so no overflow.
  const pLo = Math.imul(q, bLo);
  const pHi = (mulHighU32(q, bl) + Math.imul(q, bHi)) | 0;
  let s = al - (pLo >>> 0);
  let rLo = s | 0;
  let rHi = (aHi - pHi - (s < 0 ? 1 : 0)) | 0;
  while (geU64(rLo, rHi, bLo, bHi)) {
    s = (rLo >>> 0) - bl;
    rHi = (rHi - bHi - (s < 0 ? 1 : 0)) | 0;
    rLo = s | 0;
    q++;
  }
  out[0] = q | 0;
  out[1] = 0;
  out[2] = rLo;
  out[3] = rHi;
}

/** Writes `-x` (two's complement) of (lo, hi) into out[at], out[at+1]. */
function neg64Into(xLo: number, xHi: number, out: Int32Array, at: number): void {
  out[at] = -xLo | 0;
  out[at + 1] = (~xHi + (xLo === 0 ? 1 : 0)) | 0;
}

const abs = new Int32Array(4);

/**
 * Signed 64-bit division with remainder, the kernel's way: divide the absolute values, negate
 * the quotient when the signs differ and the remainder when the dividend is negative.
 * INT64_MIN / -1 = INT64_MIN, INT64_MIN % -1 = 0. The divisor must not be zero.
 */
export function divModS64(aLo: number, aHi: number, bLo: number, bHi: number, out: Int32Array): void {
  const aNeg = aHi < 0;
  const bNeg = bHi < 0;
  if (aNeg) neg64Into(aLo, aHi, abs, 0);
  else {
    abs[0] = aLo;
    abs[1] = aHi;
  }
  if (bNeg) neg64Into(bLo, bHi, abs, 2);
  else {
    abs[2] = bLo;
    abs[3] = bHi;
  }
  divModU64(abs[0]!, abs[1]!, abs[2]!, abs[3]!, out);
  if (aNeg !== bNeg) neg64Into(out[0]!, out[1]!, out, 0);
  if (aNeg) neg64Into(out[2]!, out[3]!, out, 2);
}

/** Converts (lo, hi) to an unsigned BigInt — for results and messages, never the hot path. */
export function toBigUint64(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** Converts (lo, hi) to a JS number, exact below 2^53 (pointers, sizes, small values). */
export function toNumber(lo: number, hi: number): number {
  return (hi >>> 0) * TWO32 + (lo >>> 0);
}

/**
 * Splits an integer (a number in [-2^53, 2^64), or a BigInt of any size) into its 64-bit
 * two's-complement halves: -1 becomes (0xffffffff, 0xffffffff).
 */
export function splitU64(value: number | bigint, out: Int32Array, at = 0): void {
  if (typeof value === 'bigint') {
    const v = BigInt.asUintN(64, value);
    out[at] = Number(v & 0xffffffffn) | 0;
    out[at + 1] = Number(v >> 32n) | 0;
    return;
  }
  out[at] = value >>> 0;
  out[at + 1] = Math.floor(value / TWO32) | 0;
}
