// Tracked numbers: the kernel's tnum.c — a 64-bit value whose bits are known (value) or unknown (mask).

const U64 = (1n << 64n) - 1n;

/** A tracked number: bits set in `mask` are unknown; the others equal the bits of `value`. Invariant: value & mask = 0. */
export interface Tnum {
  /** The known bits (unknown bits are 0 here). */
  readonly value: bigint;
  /** The unknown bits. */
  readonly mask: bigint;
}

const u64 = (x: bigint): bigint => x & U64;
const mk = (value: bigint, mask: bigint): Tnum => ({ value: u64(value), mask: u64(mask) });
/** A tnum from parts already in [0, 2^64) (no masking: each BigInt op allocates). */
const raw = (value: bigint, mask: bigint): Tnum => ({ value, mask });

/** The fully unknown tnum. */
export const TNUM_UNKNOWN: Tnum = Object.freeze({ value: 0n, mask: U64 });

/** A known constant (taken modulo 2^64). */
export const tnumConst = (value: bigint): Tnum => mk(value, 0n);

/** fls64: the number of significant bits of x (0 for 0). */
export function bitLength(x: bigint): number {
  if (x === 0n) return 0;
  if (x <= 0xffffffffn) return 32 - Math.clz32(Number(x));
  const hi = Number(x >> 32n);
  return 64 - Math.clz32(hi);
}

/** The smallest tnum containing every value of [min, max] (unsigned). */
export function tnumRange(min: bigint, max: bigint): Tnum {
  const chi = u64(min ^ max);
  const bits = bitLength(chi);
  if (bits > 63) return TNUM_UNKNOWN;
  const delta = (1n << BigInt(bits)) - 1n;
  return raw(min & ~delta, delta);
}

/** a << shift. */
export const tnumLshift = (a: Tnum, shift: number): Tnum => mk(a.value << BigInt(shift), a.mask << BigInt(shift));
/** a >> shift (logical). */
export const tnumRshift = (a: Tnum, shift: number): Tnum => raw(a.value >> BigInt(shift), a.mask >> BigInt(shift));

/** Arithmetic right shift at 32- or 64-bit width; a 32-bit result is zero-extended. */
export function tnumArshift(a: Tnum, shift: number, bits: 32 | 64): Tnum {
  const s = BigInt(shift);
  if (bits === 32) {
    return mk(BigInt.asUintN(32, BigInt.asIntN(32, a.value) >> s), BigInt.asUintN(32, BigInt.asIntN(32, a.mask) >> s));
  }
  return mk(BigInt.asIntN(64, a.value) >> s, BigInt.asIntN(64, a.mask) >> s);
}

/** a + b. */
export function tnumAdd(a: Tnum, b: Tnum): Tnum {
  const sm = u64(a.mask + b.mask);
  const sv = u64(a.value + b.value);
  const sigma = u64(sm + sv);
  const chi = sigma ^ sv;
  const mu = chi | a.mask | b.mask;
  return raw(sv & ~mu, mu);
}

/** a - b. */
export function tnumSub(a: Tnum, b: Tnum): Tnum {
  const dv = u64(a.value - b.value);
  const alpha = u64(dv + a.mask);
  const beta = u64(dv - b.mask);
  const chi = alpha ^ beta;
  const mu = chi | a.mask | b.mask;
  return raw(dv & ~mu, mu);
}

/** -a. */
export const tnumNeg = (a: Tnum): Tnum => tnumSub(tnumConst(0n), a);

/** a & b. */
export function tnumAnd(a: Tnum, b: Tnum): Tnum {
  const alpha = a.value | a.mask;
  const beta = b.value | b.mask;
  const v = a.value & b.value;
  return raw(v, alpha & beta & ~v);
}

/** a | b. */
export function tnumOr(a: Tnum, b: Tnum): Tnum {
  const v = a.value | b.value;
  const mu = a.mask | b.mask;
  return raw(v, mu & ~v);
}

/** a ^ b. */
export function tnumXor(a: Tnum, b: Tnum): Tnum {
  const v = a.value ^ b.value;
  const mu = a.mask | b.mask;
  return raw(v & ~mu, mu);
}

/** a * b, the kernel's shift-and-add multiplication. */
export function tnumMul(a0: Tnum, b0: Tnum): Tnum {
  let a = a0;
  let b = b0;
  const accV = u64(a.value * b.value);
  let accM = tnumConst(0n);
  while (a.value !== 0n || a.mask !== 0n) {
    if ((a.value & 1n) !== 0n) accM = tnumAdd(accM, mk(0n, b.mask));
    else if ((a.mask & 1n) !== 0n) accM = tnumAdd(accM, mk(0n, b.value | b.mask));
    a = tnumRshift(a, 1);
    b = tnumLshift(b, 1);
  }
  return tnumAdd(tnumConst(accV), accM);
}

/** The values both a and b may take (a ∩ b). */
export function tnumIntersect(a: Tnum, b: Tnum): Tnum {
  const v = a.value | b.value;
  const mu = a.mask & b.mask;
  return raw(v & ~mu, mu);
}

/** Truncates to `size` bytes. */
export function tnumCast(a: Tnum, size: number): Tnum {
  if (size >= 8) return a;
  const m = size === 4 ? 0xffffffffn : (1n << BigInt(size * 8)) - 1n;
  return raw(a.value & m, a.mask & m);
}

/** Whether every value of a is a multiple of `size`. */
export function tnumIsAligned(a: Tnum, size: number): boolean {
  if (size === 0) return true;
  return ((a.value | a.mask) & BigInt(size - 1)) === 0n;
}

/** Whether every value of b is a value of a (b ⊆ a). */
export function tnumIn(a: Tnum, b: Tnum): boolean {
  // Fast paths without BigInt allocation: equal tnums, a fully unknown a, a constant a.
  if (a.value === b.value && a.mask === b.mask) return true;
  if (a.mask === U64) return true;
  if (a.mask === 0n) return false;
  if ((b.mask | a.mask) !== a.mask) return false;
  return a.value === (b.value & ~a.mask);
}

/** Whether a is one known value. */
export const tnumIsConst = (a: Tnum): boolean => a.mask === 0n;
/** Whether a is fully unknown. */
export const tnumIsUnknown = (a: Tnum): boolean => a.mask === U64;
/** Whether a equals the constant b. */
export const tnumEqualsConst = (a: Tnum, b: bigint): boolean => a.mask === 0n && a.value === u64(b);

/** The low 32 bits. */
export const tnumSubreg = (a: Tnum): Tnum => tnumCast(a, 4);
/** a with its low 32 bits cleared. */
export const tnumClearSubreg = (a: Tnum): Tnum => tnumLshift(tnumRshift(a, 32), 32);
/** The upper 32 bits of reg with the low 32 bits of subreg. */
export const tnumWithSubreg = (reg: Tnum, subreg: Tnum): Tnum => tnumOr(tnumClearSubreg(reg), tnumSubreg(subreg));
/** reg with its low 32 bits set to the constant `value`. */
export const tnumConstSubreg = (a: Tnum, value: bigint): Tnum => tnumWithSubreg(a, tnumConst(value));
/** Whether the low 32 bits are known. */
export const tnumSubregIsConst = (a: Tnum): boolean => (a.mask & 0xffffffffn) === 0n;

/** Whether two tnums are equal. */
export const tnumEquals = (a: Tnum, b: Tnum): boolean => a.value === b.value && a.mask === b.mask;

/** Whether a value in a may equal a value in b (some concrete value is in both). */
export const tnumOverlap = (a: Tnum, b: Tnum): boolean => ((a.value ^ b.value) & ~(a.mask | b.mask)) === 0n;

/** The kernel's tnum_strn: `(0x0; 0xff)`. */
export const tnumString = (a: Tnum): string => `(0x${a.value.toString(16)}; 0x${a.mask.toString(16)})`;

/** tnum_step: the smallest member of `t` greater than `z`, or undefined when there is none. */
export function tnumStep(t: Tnum, z: bigint): bigint | undefined {
  const c = z + 1n;
  if (c > U64 || c > (t.value | t.mask)) return undefined;
  // The highest known bit where c disagrees with t decides: x keeps c's bits above the first
  // position p (at or above it) where x can have a 1 and c has a 0, then is minimal below p.
  const h = (c ^ t.value) & ~t.mask & U64;
  if (h === 0n) return c;
  const hb = BigInt(bitLength(h) - 1);
  let p: bigint;
  if (((c >> hb) & 1n) === 0n) p = hb;
  else {
    const cand = ~c & t.mask & ~((1n << (hb + 1n)) - 1n) & U64;
    if (cand === 0n) return undefined;
    p = BigInt(bitLength(cand & -cand) - 1);
  }
  const b = 1n << p;
  return (c & ~((b << 1n) - 1n) & U64) | b | (t.value & (b - 1n));
}
