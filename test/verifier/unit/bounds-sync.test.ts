// reg_bounds_sync's number fast paths (a tnum below 2^31, below 2^32) against the step-by-step BigInt version.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { regBoundsSync, regBoundsSyncReference } from '../../../src/verifier/bounds.js';
import { formatReg } from '../../../src/verifier/format-reg.js';
import { cloneReg, notInit, type Reg, S32_MAX, S32_MIN, S64_MAX, S64_MIN, U32_MAX, U64_MAX } from '../../../src/verifier/reg-state.js';
import { Rng } from './abstract-values.js';

const same = (a: Reg, b: Reg): boolean =>
  a.var.value === b.var.value && a.var.mask === b.var.mask && a.umin === b.umin && a.umax === b.umax && a.smin === b.smin && a.smax === b.smax && a.u32min === b.u32min && a.u32max === b.u32max && a.s32min === b.s32min && a.s32max === b.s32max;

/** A number below 2^31 that often sits on an edge of the tnum or of the other bounds. */
function small(rng: Rng, t: { value: bigint; mask: bigint }): bigint {
  switch (rng.int(5)) {
    case 0:
      return t.value;
    case 1:
      return t.value | t.mask;
    case 2:
      return BigInt(rng.int(64));
    case 3:
      return (t.value | t.mask) + BigInt(rng.int(5)) - 2n;
    default:
      return BigInt(rng.int(0x80000000));
  }
}

/** One bound: unbounded, a small number, or something contradictory (negative, huge). */
function bound(rng: Rng, t: { value: bigint; mask: bigint }, unbounded: bigint): bigint {
  const k = rng.int(8);
  if (k < 3) return unbounded;
  if (k === 7) return rng.int(2) ? -BigInt(rng.int(100)) - 1n : 0x80000000n + BigInt(rng.int(100));
  return small(rng, t);
}

test('reg_bounds_sync: the fast path for a tnum below 2^31 gives the step-by-step result', () => {
  const rng = new Rng(20261125);
  let fast = 0;
  for (let i = 0; i < 20000; i++) {
    // A tnum below 2^31: a few unknown bits (sometimes a whole low run), known bits outside them.
    let mask = 0n;
    if (rng.int(3) === 0) mask = (1n << BigInt(rng.int(31))) - 1n;
    const k = rng.int(5);
    for (let j = 0; j < k; j++) mask |= 1n << BigInt(rng.int(31));
    const value = BigInt(rng.int(0x80000000)) & ~mask;
    const t = { value, mask };
    const r = notInit();
    r.type = 'scalar';
    r.var = t;
    r.umin = bound(rng, t, 0n);
    r.umax = bound(rng, t, U64_MAX);
    r.smin = bound(rng, t, S64_MIN);
    r.smax = bound(rng, t, S64_MAX);
    r.u32min = bound(rng, t, 0n);
    r.u32max = bound(rng, t, U32_MAX);
    r.s32min = bound(rng, t, S32_MIN);
    r.s32max = bound(rng, t, S32_MAX);
    // Keep each bound a value of its own view (u32 in [0, 2^32), s32 in [-2^31, 2^31)).
    if (r.u32min < 0n) r.u32min = 0n;
    if (r.u32max < 0n) r.u32max = 0n;
    if (r.umin < 0n) r.umin = 0n;
    if (r.umax < 0n) r.umax = 0n;
    if (r.s32max > S32_MAX) r.s32max = S32_MAX;
    if (r.s32min > S32_MAX) r.s32min = S32_MAX;
    const a = cloneReg(r);
    const b = cloneReg(r);
    regBoundsSync(a);
    regBoundsSyncReference(b);
    if (!same(a, b)) assert.fail(`input ${formatReg(r)} (umin=${r.umin} umax=${r.umax} smin=${r.smin} smax=${r.smax} u32=[${r.u32min},${r.u32max}] s32=[${r.s32min},${r.s32max}] var=${t.value}/${t.mask}): fast ${formatReg(a)}, reference ${formatReg(b)}`);
    if (a.umin <= a.umax) fast++;
  }
  assert.ok(fast > 5000, `only ${fast} consistent cases`);
});

/** A number below 2^32 near an edge: the tnum's ends, the s32 sign boundary, small values. */
function small32(rng: Rng, t: { value: bigint; mask: bigint }): bigint {
  switch (rng.int(7)) {
    case 0:
      return t.value;
    case 1:
      return t.value | t.mask;
    case 2:
      return BigInt(rng.int(64));
    case 3:
      return ((t.value | t.mask) + BigInt(rng.int(5)) - 2n) & 0xffffffffn;
    case 4:
      return 0x80000000n + BigInt(rng.int(5)) - 2n;
    case 5:
      return 0xffffffffn - BigInt(rng.int(4));
    default:
      return BigInt(rng.int(0x100000000));
  }
}

const s32 = (v: bigint): bigint => BigInt.asIntN(32, v);

test('reg_bounds_sync: the fast path for a tnum below 2^32 gives the step-by-step result', () => {
  const rng = new Rng(32_2026);
  let consistent = 0;
  for (let i = 0; i < 30000; i++) {
    let mask = 0n;
    if (rng.int(3) === 0) mask = (1n << BigInt(rng.int(33))) - 1n;
    const k = rng.int(5);
    for (let j = 0; j < k; j++) mask |= 1n << BigInt(rng.int(32));
    // Mostly with bit 31 possibly set (the 2^31 path takes the rest).
    const value = (BigInt(rng.int(0x100000000)) | (rng.int(2) ? 0x80000000n : 0n)) & ~mask;
    const t = { value, mask };
    const pick = (unbounded: bigint, lo: bigint, hi: bigint): bigint => {
      const c = rng.int(9);
      if (c < 3) return unbounded;
      if (c === 8) return rng.int(2) ? lo : hi;
      return small32(rng, t);
    };
    const r = notInit();
    r.type = 'scalar';
    r.var = t;
    r.umin = pick(0n, 0n, 1n << 40n);
    r.umax = pick(U64_MAX, 0n, 1n << 40n);
    r.smin = pick(S64_MIN, -5n, 1n << 40n);
    r.smax = pick(S64_MAX, -5n, 1n << 40n);
    r.u32min = pick(0n, 0n, U32_MAX);
    r.u32max = pick(U32_MAX, 0n, U32_MAX);
    r.s32min = s32(pick(S32_MIN, 0n, 0n));
    r.s32max = s32(pick(S32_MAX, 0n, 0n));
    const a = cloneReg(r);
    const b = cloneReg(r);
    regBoundsSync(a);
    regBoundsSyncReference(b);
    if (!same(a, b)) assert.fail(`input umin=${r.umin} umax=${r.umax} smin=${r.smin} smax=${r.smax} u32=[${r.u32min},${r.u32max}] s32=[${r.s32min},${r.s32max}] var=${t.value}/${t.mask}: fast ${formatReg(a)}, reference ${formatReg(b)}`);
    if (a.umin <= a.umax && a.s32min <= a.s32max) consistent++;
  }
  assert.ok(consistent > 8000, `only ${consistent} consistent cases`);
});
