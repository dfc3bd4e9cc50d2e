// Scalar bounds: the kernel's __update_reg_bounds, __reg_deduce_bounds, __reg_bound_offset, reg_bounds_sync.
import { type Reg, S32_MAX, S32_MIN, S64_MAX, S64_MIN, U32_MAX, U64_MAX } from './reg-state.js';
import { big } from './small-bigint.js';
import { tnumCast, tnumClearSubreg, tnumIntersect, tnumOr, tnumRange, tnumStep, tnumSubreg } from './tnum.js';

const s64 = (x: bigint): bigint => BigInt.asIntN(64, x);
const u64 = (x: bigint): bigint => BigInt.asUintN(64, x);
const s32 = (x: bigint): bigint => BigInt.asIntN(32, x);
const u32 = (x: bigint): bigint => BigInt.asUintN(32, x);
const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);
const SIGN64 = 1n << 63n;

/** Forgets the 64-bit bounds (__mark_reg64_unbounded). */
export function markReg64Unbounded(r: Reg): void {
  r.smin = S64_MIN;
  r.smax = S64_MAX;
  r.umin = 0n;
  r.umax = U64_MAX;
}

/** Forgets the 32-bit bounds (__mark_reg32_unbounded). */
export function markReg32Unbounded(r: Reg): void {
  r.s32min = S32_MIN;
  r.s32max = S32_MAX;
  r.u32min = 0n;
  r.u32max = U32_MAX;
}

/** Forgets every bound, keeping the tnum (__mark_reg_unbounded). */
export function markRegUnbounded(r: Reg): void {
  markReg64Unbounded(r);
  markReg32Unbounded(r);
}

/** __update_reg32_bounds: learn 32-bit bounds from the tnum. */
export function updateReg32Bounds(r: Reg): void {
  const value = r.var.value & 0xffffffffn;
  const mask = r.var.mask & 0xffffffffn;
  r.s32min = max(r.s32min, s32(value | (mask & 0x80000000n)));
  r.s32max = min(r.s32max, s32(value | (mask & 0x7fffffffn)));
  r.u32min = max(r.u32min, value);
  r.u32max = min(r.u32max, value | mask);
}

/** __update_reg64_bounds: learn 64-bit bounds from the tnum. */
export function updateReg64Bounds(r: Reg): void {
  updateReg64BoundsImpl(r, true);
}

/** {@link updateReg64Bounds} always in BigInts (tests compare the number path with it). */
export function updateReg64BoundsReference(r: Reg): void {
  updateReg64BoundsImpl(r, false);
}

function updateReg64BoundsImpl(r: Reg, fast: boolean): void {
  const t = r.var;
  r.smin = max(r.smin, s64(t.value | (t.mask & SIGN64)));
  r.smax = min(r.smax, s64(t.value | (t.mask & S64_MAX)));
  r.umin = max(r.umin, t.value);
  r.umax = min(r.umax, t.value | t.mask);
  // The u64 range and the tnum may share a single value: then it is a constant.
  if (t.mask === 0n || t.mask === U64_MAX || r.umin >= r.umax) return;
  if (fast && (t.value | t.mask) < SMALL) {
    // Below 2^31 (umin and umax too, after the clamps above): the same rule in numbers.
    const one = singleValue(Number(t.value), Number(t.mask), Number(r.umin), Number(r.umax));
    if (one >= 0) markKnownBounds(r, big(one));
    return;
  }
  const next = tnumStep(t, r.umin);
  const uminIn = (r.umin & ~t.mask) === t.value;
  const tmax = t.value | t.mask;
  if (uminIn && (next === undefined || next > r.umax)) markKnownBounds(r, r.umin);
  else if (!uminIn && next === tmax) markKnownBounds(r, tmax);
  else if (!uminIn && next !== undefined && next <= r.umax) {
    const after = tnumStep(t, next);
    if (after === undefined || after > r.umax) markKnownBounds(r, next);
  }
}

/** ___mark_reg_known: every bound and the tnum become the constant v. */
function markKnownBounds(r: Reg, v: bigint): void {
  r.var = { value: v, mask: 0n };
  r.smin = r.smax = s64(v);
  r.umin = r.umax = v;
  r.s32min = r.s32max = s32(v & 0xffffffffn);
  r.u32min = r.u32max = v & 0xffffffffn;
}

/** __update_reg_bounds. */
export function updateRegBounds(r: Reg): void {
  updateReg32Bounds(r);
  updateReg64Bounds(r);
}

function reg32DeduceBounds(r: Reg): void {
  // The 64-bit bounds do not change here: their halves are computed once.
  const umin = r.umin;
  const umax = r.umax;
  const smin = r.smin;
  const smax = r.smax;
  const uminHi = umin >> 32n;
  const umaxHi = umax >> 32n;
  const uminLo = u32(umin);
  const umaxLo = u32(umax);
  const uminS32 = s32(umin);
  const umaxS32 = s32(umax);
  if (uminHi === umaxHi) {
    if (uminLo > r.u32min) r.u32min = uminLo;
    if (umaxLo < r.u32max) r.u32max = umaxLo;
    if (uminS32 <= umaxS32) {
      if (uminS32 > r.s32min) r.s32min = uminS32;
      if (umaxS32 < r.s32max) r.s32max = umaxS32;
    }
  }
  const sminHi = smin >> 32n;
  const smaxHi = smax >> 32n;
  const sminLo = u32(smin);
  const smaxLo = u32(smax);
  const sminS32 = s32(smin);
  const smaxS32 = s32(smax);
  if (sminHi === smaxHi) {
    if (sminLo <= smaxLo) {
      if (sminLo > r.u32min) r.u32min = sminLo;
      if (smaxLo < r.u32max) r.u32max = smaxLo;
    }
    if (sminS32 <= smaxS32) {
      if (sminS32 > r.s32min) r.s32min = sminS32;
      if (smaxS32 < r.s32max) r.s32max = smaxS32;
    }
  }
  if (u32(uminHi + 1n) === u32(umaxHi) && uminS32 < 0n && umaxS32 >= 0n) {
    if (uminS32 > r.s32min) r.s32min = uminS32;
    if (umaxS32 < r.s32max) r.s32max = umaxS32;
  }
  // (u64)smin >> 32 is the low 32 bits of the arithmetic shift.
  if (u32(sminHi + 1n) === u32(smaxHi) && sminS32 < 0n && smaxS32 >= 0n) {
    if (sminS32 > r.s32min) r.s32min = sminS32;
    if (smaxS32 < r.s32max) r.s32max = smaxS32;
  }
  if (s32(r.u32min) <= s32(r.u32max)) {
    r.s32min = max(r.s32min, s32(r.u32min));
    r.s32max = min(r.s32max, s32(r.u32max));
  }
  if (u32(r.s32min) <= u32(r.s32max)) {
    r.u32min = max(u32(r.s32min), r.u32min);
    r.u32max = min(u32(r.s32max), r.u32max);
  } else if (r.u32max < u32(r.s32min)) {
    // The s32 range crosses the sign boundary and the u32 range lies in its non-negative part.
    r.s32min = s32(r.u32min);
    r.u32max = min(r.u32max, u32(r.s32max));
  } else if (u32(r.s32max) < r.u32min) {
    // ... or in its negative part.
    r.s32max = s32(r.u32max);
    r.u32min = max(r.u32min, u32(r.s32min));
  }
}

function reg64DeduceBounds(r: Reg): void {
  if (s64(r.umin) <= s64(r.umax)) {
    r.smin = max(r.smin, s64(r.umin));
    r.smax = min(r.smax, s64(r.umax));
  }
  if (u64(r.smin) <= u64(r.smax)) {
    r.umin = max(u64(r.smin), r.umin);
    r.umax = min(u64(r.smax), r.umax);
  } else if (r.umax < u64(r.smin)) {
    r.smin = s64(r.umin);
    r.umax = min(r.umax, u64(r.smax));
  } else if (u64(r.smax) < r.umin) {
    r.smax = s64(r.umax);
    r.umin = max(r.umin, u64(r.smin));
  }
}

function regDeduceMixedBounds(r: Reg): void {
  const HI = ~0xffffffffn;
  const newUmin = (r.umin & HI) | r.u32min;
  const newUmax = (r.umax & HI) | r.u32max;
  r.umin = max(r.umin, u64(newUmin));
  r.umax = min(r.umax, u64(newUmax));
  const newSmin = s64((u64(r.smin) & HI) | r.u32min);
  const newSmax = s64((u64(r.smax) & HI) | r.u32max);
  r.smin = max(r.smin, newSmin);
  r.smax = min(r.smax, newSmax);
  if (r.s32min >= 0n && r.smin >= S32_MIN && r.smax <= S32_MAX) {
    r.smin = r.s32min;
    r.smax = r.s32max;
    r.umin = u64(r.s32min);
    r.umax = u64(r.s32max);
    r.var = tnumIntersect(r.var, tnumRange(u64(r.smin), u64(r.smax)));
  }
}

/** __reg_deduce_bounds: cross-learn between the signed/unsigned 32/64-bit bounds. */
export function regDeduceBounds(r: Reg): void {
  reg32DeduceBounds(r);
  reg64DeduceBounds(r);
  regDeduceMixedBounds(r);
}

/** __reg_bound_offset: learn tnum bits from the unsigned bounds. */
export function regBoundOffset(r: Reg): void {
  const var64 = tnumIntersect(r.var, tnumRange(r.umin, r.umax));
  const var32 = tnumIntersect(tnumSubreg(var64), tnumRange(r.u32min, r.u32max));
  r.var = tnumOr(tnumClearSubreg(var64), var32);
}

/** reg_bounds_sync: every bound and the tnum agree as far as the kernel can tell. */
export function regBoundsSync(r: Reg): void {
  // Fast paths: a constant whose bounds already say so, and a fully unknown value, are fixpoints.
  const t = r.var;
  if (t.mask === 0n) {
    // A constant inside every bound: the sync makes every bound that constant (a pointer plus a
    // constant has unbounded 32-bit bounds and a known-zero variable part, for one).
    const v = t.value;
    const lo = v & 0xffffffffn;
    const sv = s64(v);
    const slo = s32(lo);
    if (r.umin <= v && r.umax >= v && r.smin <= sv && r.smax >= sv && r.u32min <= lo && r.u32max >= lo && r.s32min <= slo && r.s32max >= slo) {
      r.umin = r.umax = v;
      r.smin = r.smax = sv;
      r.u32min = r.u32max = lo;
      r.s32min = r.s32max = slo;
      return;
    }
  } else if (t.mask === U64_MAX && r.umin === 0n && r.umax === U64_MAX && r.smin === S64_MIN && r.smax === S64_MAX && r.u32min === 0n && r.u32max === U32_MAX && r.s32min === S32_MIN && r.s32max === S32_MAX) {
    return;
  }
  const top = t.value | t.mask;
  if (top < SMALL ? syncSmall(r) : top <= U32_MAX && syncU32(r)) return;
  regBoundsSyncReference(r);
}

/**
 * reg_bounds_sync for a value the tnum keeps below 2^32, in plain numbers: the kernel's steps one
 * by one (as regBoundsSyncReference), where the 64-bit bounds are numbers in [0, 2^32) (the u64
 * and s64 views agree, the upper halves are 0) and the 32-bit ones are u32 / s32 numbers. Returns
 * false (nothing written) when a 64-bit bound would leave [0, 2^32) (contradictory bounds).
 */
function syncU32(r: Reg): boolean {
  const tvB = r.var.value;
  const thiB = tvB | r.var.mask;
  // __update_reg64_bounds' clamps, in BigInt to check the domain first.
  const umin0 = r.umin > tvB ? r.umin : tvB;
  const smin0 = r.smin > tvB ? r.smin : tvB;
  const smax0 = r.smax < thiB ? r.smax : thiB;
  if (umin0 > U32_MAX || smin0 > U32_MAX || smax0 < 0n) return false;
  const f = U32_BOUNDS;
  f.bad = false;
  f.changed = false;
  f.tv = Number(tvB);
  f.tm = Number(r.var.mask);
  f.u32min = Number(r.u32min);
  f.u32max = Number(r.u32max);
  f.s32min = Number(r.s32min);
  f.s32max = Number(r.s32max);
  f.umin = Number(r.umin > U32_MAX ? U32_MAX + 1n : r.umin);
  f.umax = Number(r.umax > U32_MAX ? U32_MAX + 1n : r.umax);
  f.smin = Number(r.smin < 0n ? -1n : r.smin > U32_MAX ? U32_MAX + 1n : r.smin);
  f.smax = Number(r.smax < 0n ? -1n : r.smax > U32_MAX ? U32_MAX + 1n : r.smax);
  if (!u32UpdateBounds(f)) {
    u32Deduce(f);
    const changed = f.changed;
    if (f.bad) return false;
    if (changed) {
      u32Deduce(f);
      if (f.bad) return false;
    }
    // __reg_bound_offset: the tnum within [umin, umax] and (its low half, all of it here) [u32min, u32max].
    u32Intersect(f, f.umin, f.umax);
    u32Intersect(f, f.u32min, f.u32max);
    u32UpdateBounds(f);
  }
  r.umin = big(f.umin);
  r.umax = f.umax === f.umin ? r.umin : big(f.umax);
  r.smin = f.smin === f.umin ? r.umin : big(f.smin);
  r.smax = f.smax === f.umax ? r.umax : big(f.smax);
  r.u32min = big(f.u32min);
  r.u32max = big(f.u32max);
  r.s32min = big(f.s32min);
  r.s32max = big(f.s32max);
  const vB = big(f.tv);
  const mB = big(f.tm);
  if (r.var.value !== vB || r.var.mask !== mB) r.var = { value: vB, mask: mB };
  return true;
}

/** The bounds and tnum syncU32 works on (one scratch object: no allocation per call). */
const U32_BOUNDS = { tv: 0, tm: 0, umin: 0, umax: 0, smin: 0, smax: 0, u32min: 0, u32max: 0, s32min: 0, s32max: 0, changed: false, bad: false };
type U32Bounds = typeof U32_BOUNDS;

/** __update_reg32_bounds + __update_reg64_bounds (with the single-value rule); true when that made the value known. */
function u32UpdateBounds(f: U32Bounds): boolean {
  const tv = f.tv;
  const tm = f.tm;
  const thi = (tv | tm) >>> 0;
  f.s32min = Math.max(f.s32min, (tv | (tm & 0x80000000)) | 0);
  f.s32max = Math.min(f.s32max, (tv | (tm & 0x7fffffff)) | 0);
  f.u32min = Math.max(f.u32min, tv);
  f.u32max = Math.min(f.u32max, thi);
  f.smin = Math.max(f.smin, tv);
  f.smax = Math.min(f.smax, thi);
  f.umin = Math.max(f.umin, tv);
  f.umax = Math.min(f.umax, thi);
  if (tm === 0 || f.umin >= f.umax) return false;
  const one = singleValue32(tv, tm, f.umin, f.umax);
  if (one < 0) return false;
  f.tv = one;
  f.tm = 0;
  f.umin = f.umax = f.smin = f.smax = f.u32min = f.u32max = one;
  f.s32min = f.s32max = one | 0;
  return true;
}

/** __reg_deduce_bounds (__reg32_deduce_bounds, __reg64_deduce_bounds, __reg_deduce_mixed_bounds) with 64-bit bounds in [0, 2^32). */
function u32Deduce(f: U32Bounds): void {
  const { umin, umax, smin, smax, u32min: u32min0, u32max: u32max0, s32min: s32min0, s32max: s32max0 } = f;
  // The upper halves of the 64-bit bounds are equal (0): their low halves bound the 32-bit views.
  f.u32min = Math.max(f.u32min, umin);
  f.u32max = Math.min(f.u32max, umax);
  if ((umin | 0) <= (umax | 0)) {
    f.s32min = Math.max(f.s32min, umin | 0);
    f.s32max = Math.min(f.s32max, umax | 0);
  }
  if (smin <= smax) {
    f.u32min = Math.max(f.u32min, smin);
    f.u32max = Math.min(f.u32max, smax);
  }
  if ((smin | 0) <= (smax | 0)) {
    f.s32min = Math.max(f.s32min, smin | 0);
    f.s32max = Math.min(f.s32max, smax | 0);
  }
  if ((f.u32min | 0) <= (f.u32max | 0)) {
    f.s32min = Math.max(f.s32min, f.u32min | 0);
    f.s32max = Math.min(f.s32max, f.u32max | 0);
  }
  if (f.s32min >>> 0 <= f.s32max >>> 0) {
    f.u32min = Math.max(f.s32min >>> 0, f.u32min);
    f.u32max = Math.min(f.s32max >>> 0, f.u32max);
  } else if (f.u32max < f.s32min >>> 0) {
    f.s32min = f.u32min | 0;
    f.u32max = Math.min(f.u32max, f.s32max >>> 0);
  } else if (f.s32max >>> 0 < f.u32min) {
    f.s32max = f.u32max | 0;
    f.u32min = Math.max(f.u32min, f.s32min >>> 0);
  }
  // __reg64_deduce_bounds: s64 and u64 views of [0, 2^32) agree.
  if (f.umin <= f.umax) {
    f.smin = Math.max(f.smin, f.umin);
    f.smax = Math.min(f.smax, f.umax);
  }
  if (f.smin <= f.smax) {
    f.umin = Math.max(f.smin, f.umin);
    f.umax = Math.min(f.smax, f.umax);
  } else if (f.umax < f.smin) {
    f.smin = f.umin;
    f.umax = Math.min(f.umax, f.smax);
  } else if (f.smax < f.umin) {
    f.smax = f.umax;
    f.umin = Math.max(f.umin, f.smin);
  }
  // __reg_deduce_mixed_bounds: the upper halves are 0, so the u32 bounds are 64-bit bounds.
  f.umin = Math.max(f.umin, f.u32min);
  f.umax = Math.min(f.umax, f.u32max);
  f.smin = Math.max(f.smin, f.u32min);
  f.smax = Math.min(f.smax, f.u32max);
  if (f.s32min >= 0 && f.smax <= 0x7fffffff) {
    if (f.s32max < 0) {
      f.bad = true;
      return;
    }
    f.smin = f.umin = f.s32min;
    f.smax = f.umax = f.s32max;
    u32Intersect(f, f.smin, f.smax);
  }
  f.changed = f.umin !== umin || f.umax !== umax || f.smin !== smin || f.smax !== smax || f.u32min !== u32min0 || f.u32max !== u32max0 || f.s32min !== s32min0 || f.s32max !== s32max0;
}

/** tnum_intersect(var, tnum_range(min, max)) for numbers below 2^32. */
function u32Intersect(f: U32Bounds, min: number, max: number): void {
  const chi = (min ^ max) >>> 0;
  const delta = chi === 0 ? 0 : 2 ** (32 - Math.clz32(chi)) - 1;
  const rv = (min & ~delta) >>> 0;
  const mu = (f.tm & delta) >>> 0;
  f.tv = ((f.tv | rv) & ~mu) >>> 0;
  f.tm = mu;
}

/** singleValue (below) for a tnum below 2^32. */
function singleValue32(tv: number, tm: number, umin: number, umax: number): number {
  const next = step32(tv, tm, umin);
  const uminIn = ((umin & ~tm) >>> 0) === tv;
  const tmax = (tv | tm) >>> 0;
  if (uminIn && (next < 0 || next > umax)) return umin;
  if (!uminIn && next === tmax) return tmax;
  if (!uminIn && next >= 0 && next <= umax) {
    const after = step32(tv, tm, next);
    if (after < 0 || after > umax) return next;
  }
  return -1;
}

/** tnum_step for a tnum below 2^32: the smallest member greater than z, or -1. */
function step32(tv: number, tm: number, z: number): number {
  const c = z + 1;
  if (c > (tv | tm) >>> 0) return -1;
  const h = ((c ^ tv) & ~tm) >>> 0;
  if (h === 0) return c;
  const hb = 31 - Math.clz32(h);
  let p: number;
  if (Math.floor(c / 2 ** hb) % 2 === 0) p = hb;
  else {
    const cand = (~c & tm & ~(2 ** (hb + 1) - 1)) >>> 0;
    if (cand === 0) return -1;
    p = 31 - Math.clz32((cand & -cand) >>> 0);
  }
  const b = 2 ** p;
  return ((c & ~(b * 2 - 1)) | b | (tv & (b - 1))) >>> 0;
}

const SMALL = 0x80000000n;

/**
 * reg_bounds_sync for a value the tnum keeps in [0, 2^31), in plain numbers. There every view of
 * the value (u64, s64, u32, s32) is the same number, and the kernel's sequence (bounds from the
 * tnum, __reg_deduce_bounds twice, __reg_bound_offset, bounds from the tnum again) leaves all
 * four ranges equal to the intersection of the clamped ranges, with the tnum intersected with
 * tnum_range of it; __update_reg64_bounds' single-value rule is applied at both of its calls.
 * Returns false (nothing written) when a range is empty: the general path then produces the
 * kernel's exact values for the contradiction.
 */
function syncSmall(r: Reg): boolean {
  const tvB = r.var.value;
  const thiB = tvB | r.var.mask;
  // __update_reg32_bounds + __update_reg64_bounds: clamp each range into [tv, tv | tm].
  const u32lo = r.u32min > tvB ? r.u32min : tvB;
  const u32hi = r.u32max < thiB ? r.u32max : thiB;
  const s32lo = r.s32min > tvB ? r.s32min : tvB;
  const s32hi = r.s32max < thiB ? r.s32max : thiB;
  const slo = r.smin > tvB ? r.smin : tvB;
  const shi = r.smax < thiB ? r.smax : thiB;
  const ulo = r.umin > tvB ? r.umin : tvB;
  const uhi = r.umax < thiB ? r.umax : thiB;
  if (u32lo > u32hi || s32lo > s32hi || slo > shi || ulo > uhi) return false;
  const tv = Number(tvB);
  const tm = Number(r.var.mask);
  const one = singleValue(tv, tm, Number(ulo), Number(uhi));
  if (one >= 0) {
    setAll(r, one, one, one, 0);
    return true;
  }
  // __reg_deduce_bounds (both passes) and the mixed step: every range becomes the intersection.
  // (BigInt comparisons allocate nothing; one conversion each.)
  const lo = Number(max(max(u32lo, s32lo), max(slo, ulo)));
  const hi = Number(min(min(u32hi, s32hi), min(shi, uhi)));
  if (lo > hi) return false;
  // tnum_intersect(var, tnum_range(lo, hi)) (the mixed step and __reg_bound_offset; idempotent).
  const chi = lo ^ hi;
  const delta = chi === 0 ? 0 : 2 ** (32 - Math.clz32(chi)) - 1;
  const mu = tm & delta;
  const v2 = (tv | (lo & ~delta)) & ~mu;
  // __update_reg_bounds with the new tnum.
  const lo2 = Math.max(lo, v2);
  const hi2 = Math.min(hi, v2 | mu);
  const one2 = singleValue(v2, mu, lo2, hi2);
  if (one2 >= 0) setAll(r, one2, one2, one2, 0);
  else setAll(r, lo2, hi2, v2, mu);
  return true;
}

/** Every bound [lo, hi] and the tnum (value; mask), from numbers below 2^31. */
function setAll(r: Reg, lo: number, hi: number, value: number, mask: number): void {
  const loB = big(lo);
  const hiB = lo === hi ? loB : big(hi);
  r.umin = r.smin = r.u32min = r.s32min = loB;
  r.umax = r.smax = r.u32max = r.s32max = hiB;
  const vB = value === lo ? loB : big(value);
  const mB = mask === 0 ? 0n : big(mask);
  if (r.var.value !== vB || r.var.mask !== mB) r.var = { value: vB, mask: mB };
}

/**
 * __update_reg64_bounds' single-value rule in numbers below 2^31: the value the u64 range
 * [umin, umax] and the tnum (tv; tm) can only share, or -1.
 */
function singleValue(tv: number, tm: number, umin: number, umax: number): number {
  if (tm === 0 || umin >= umax) return -1;
  const next = stepSmall(tv, tm, umin);
  const uminIn = (umin & ~tm) === tv;
  const tmax = tv | tm;
  if (uminIn && (next < 0 || next > umax)) return umin;
  if (!uminIn && next === tmax) return tmax;
  if (!uminIn && next >= 0 && next <= umax) {
    const after = stepSmall(tv, tm, next);
    if (after < 0 || after > umax) return next;
  }
  return -1;
}

/** tnum_step (see tnum.ts) for a tnum below 2^31: the smallest member greater than z, or -1. */
function stepSmall(tv: number, tm: number, z: number): number {
  const c = z + 1;
  if (c > (tv | tm)) return -1;
  const h = (c ^ tv) & ~tm;
  if (h === 0) return c;
  const hb = 31 - Math.clz32(h);
  let p: number;
  if (((c >> hb) & 1) === 0) p = hb;
  else {
    const cand = ~c & tm & ~(2 ** (hb + 1) - 1);
    if (cand === 0) return -1;
    p = 31 - Math.clz32(cand & -cand);
  }
  const b = 2 ** p;
  return (c & ~(b * 2 - 1)) | b | (tv & (b - 1));
}

/** reg_bounds_sync in BigInts, step by step as the kernel (every case; the fast paths above must agree with it). */
export function regBoundsSyncReference(r: Reg): void {
  updateRegBounds(r);
  const { umin, umax, smin, smax, u32min, u32max, s32min, s32max } = r;
  regDeduceBounds(r);
  // The second pass only matters when the first one changed something.
  if (r.umin !== umin || r.umax !== umax || r.smin !== smin || r.smax !== smax || r.u32min !== u32min || r.u32max !== u32max || r.s32min !== s32min || r.s32max !== s32max) regDeduceBounds(r);
  regBoundOffset(r);
  updateRegBounds(r);
}

/** Whether the bounds are self-consistent (reg_bounds_sanity_check): min <= max everywhere, tnum within. */
export function regBoundsSane(r: Reg): boolean {
  if (r.umin > r.umax || r.smin > r.smax || r.u32min > r.u32max || r.s32min > r.s32max) return false;
  if (r.var.mask === 0n) {
    const u = r.var.value;
    const s = s64(u);
    if (r.umin !== u || r.umax !== u || r.smin !== s || r.smax !== s) return false;
  }
  if ((r.var.mask & 0xffffffffn) === 0n) {
    const u = r.var.value & 0xffffffffn;
    const s = s32(u);
    if (r.u32min !== u || r.u32max !== u || r.s32min !== s || r.s32max !== s) return false;
  }
  return true;
}

/** __reg_assign_32_into_64: the 64-bit bounds of a zero-extended 32-bit value. */
export function regAssign32Into64(r: Reg): void {
  r.umin = r.u32min;
  r.umax = r.u32max;
  if (r.s32min >= 0n && r.s32max >= 0n) {
    r.smin = r.s32min;
    r.smax = r.s32max;
  } else {
    r.smin = 0n;
    r.smax = U32_MAX;
  }
}

/** zext_32_to_64: the result of a 32-bit ALU op. */
export function zext32To64(r: Reg): void {
  r.var = tnumSubreg(r.var);
  regAssign32Into64(r);
}

/** 2^(8 * size) - 1 for the load sizes. */
const SIZE_MASK: readonly (bigint | undefined)[] = [undefined, 0xffn, 0xffffn, undefined, 0xffffffffn, undefined, undefined, undefined, (1n << 64n) - 1n];

/** coerce_reg_to_size: truncate to `size` bytes (zero-extending loads). */
export function coerceRegToSize(r: Reg, size: number): void {
  r.var = tnumCast(r.var, size);
  const mask = SIZE_MASK[size] ?? (1n << BigInt(size * 8)) - 1n;
  if (r.umax <= mask && r.umin <= mask) {
    // Already within the size (most loads): nothing to cut.
  } else if (r.umin >> BigInt(size * 8) === r.umax >> BigInt(size * 8)) {
    r.umin &= mask;
    r.umax &= mask;
  } else {
    r.umin = 0n;
    r.umax = mask;
  }
  r.smin = r.umin;
  r.smax = r.umax;
  if (size < 4) markReg32Unbounded(r);
  regBoundsSync(r);
}

/** coerce_reg_to_size_sx: sign-extend the low `size` bytes (movsx, ldsx), with the kernel's precision. */
export function coerceRegToSizeSx(r: Reg, size: number): void {
  const bits = BigInt(size * 8);
  const sx = (v: bigint): bigint => BigInt.asIntN(Number(bits), v);
  if (r.var.mask === 0n) {
    const v = u64(sx(r.var.value));
    r.var = { value: v, mask: 0n };
    r.smin = r.smax = s64(v);
    r.umin = r.umax = v;
    r.s32min = r.s32max = s32(v);
    r.u32min = r.u32max = u32(v);
    return;
  }
  const topMax = (u64(r.smax) >> bits) << bits;
  const topMin = (u64(r.smin) >> bits) << bits;
  if (topMax === topMin) {
    const a = sx(r.smax);
    const b = sx(r.smin);
    const smax = a > b ? a : b;
    const smin = a < b ? a : b;
    if ((smax >= 0n) === (smin >= 0n)) {
      r.smin = smin;
      r.smax = smax;
      r.s32min = s32(smin);
      r.s32max = s32(smax);
      r.umin = u64(smin);
      r.umax = u64(smax);
      r.u32min = u32(smin);
      r.u32max = u32(smax);
      r.var = tnumRange(u64(smin), u64(smax));
      return;
    }
  }
  // set_sext64_default_val
  const lim = 1n << (bits - 1n);
  r.smin = r.s32min = -lim;
  r.smax = r.s32max = lim - 1n;
  r.umin = r.u32min = 0n;
  r.umax = U64_MAX;
  r.u32max = U32_MAX;
  r.var = { value: 0n, mask: U64_MAX };
}

/** coerce_subreg_to_size_sx: the 32-bit movsx (w = (s8|s16)w). */
export function coerceSubregToSizeSx(r: Reg, size: number): void {
  const bits = BigInt(size * 8);
  const sx = (v: bigint): bigint => BigInt.asIntN(Number(bits), v);
  if (r.var.mask === 0n) {
    const v = u64(sx(r.var.value & 0xffffffffn));
    r.var = { value: v, mask: 0n };
    r.s32min = r.s32max = s32(v);
    r.u32min = r.u32max = u32(v);
    return;
  }
  const topMax = (u32(r.s32max) >> bits) << bits;
  const topMin = (u32(r.s32min) >> bits) << bits;
  if (topMax === topMin) {
    const a = sx(r.s32max);
    const b = sx(r.s32min);
    const smax = a > b ? a : b;
    const smin = a < b ? a : b;
    if ((smin >= 0n) === (smax >= 0n)) {
      r.s32min = smin;
      r.s32max = smax;
      r.u32min = u32(smin);
      r.u32max = u32(smax);
      r.var = tnumSubreg(tnumRange(u64(smin), u64(smax)));
      return;
    }
  }
  const lim = 1n << (bits - 1n);
  r.s32min = -lim;
  r.s32max = lim - 1n;
  r.u32min = 0n;
  r.u32max = U32_MAX;
  r.var = tnumSubreg({ value: 0n, mask: U64_MAX });
}

/** Whether the umax of `r` fits in `bits` bits (get_reg_width <= bits). */
export const regWidthFits = (r: Reg, bits: number): boolean => r.umax < 1n << BigInt(bits);
