// tnum operations against brute force: every concrete result must be in the abstract result.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Tnum,
  tnumAdd,
  tnumAnd,
  tnumArshift,
  tnumCast,
  tnumConst,
  tnumIn,
  tnumIntersect,
  tnumLshift,
  tnumMul,
  tnumNeg,
  tnumOr,
  tnumRange,
  tnumRshift,
  tnumStep,
  tnumString,
  tnumSub,
  tnumXor,
} from '../../../src/verifier/tnum.js';
import { Rng } from './abstract-values.js';

const M64 = (1n << 64n) - 1n;

/** A random tnum with at most `maxUnknown` unknown bits, so it can be enumerated. */
function randomTnum(rng: Rng, maxUnknown: number): Tnum {
  let mask = 0n;
  const k = rng.int(maxUnknown + 1);
  for (let i = 0; i < k; i++) mask |= 1n << BigInt(rng.int(64));
  if (rng.int(3) === 0) mask = (mask | BigInt(rng.int(16))) & M64;
  const value = rng.next64() & ~mask & M64;
  return { value, mask };
}

/** Every concrete value of a tnum. */
function members(t: Tnum): bigint[] {
  const bits: bigint[] = [];
  for (let i = 0n; i < 64n; i++) if ((t.mask >> i) & 1n) bits.push(1n << i);
  const out: bigint[] = [];
  for (let m = 0; m < 1 << bits.length; m++) {
    let v = t.value;
    bits.forEach((b, i) => {
      if ((m >> i) & 1) v |= b;
    });
    out.push(v);
  }
  return out;
}

const inT = (t: Tnum, v: bigint): boolean => ((v & M64) & ~t.mask) === t.value;

const binary: [string, (a: Tnum, b: Tnum) => Tnum, (x: bigint, y: bigint) => bigint][] = [
  ['add', tnumAdd, (x, y) => x + y],
  ['sub', tnumSub, (x, y) => x - y],
  ['and', tnumAnd, (x, y) => x & y],
  ['or', tnumOr, (x, y) => x | y],
  ['xor', tnumXor, (x, y) => x ^ y],
  ['mul', tnumMul, (x, y) => x * y],
];

for (const [name, op, concrete] of binary) {
  test(`tnum ${name} is sound: every concrete result lies in the abstract result`, () => {
    const rng = new Rng(name.length * 7919 + 13);
    let checked = 0;
    for (let iter = 0; iter < 300; iter++) {
      const a = randomTnum(rng, 4);
      const b = randomTnum(rng, 4);
      const r = op(a, b);
      assert.equal(r.value & r.mask, 0n, 'value and mask overlap');
      for (const x of members(a)) {
        for (const y of members(b)) {
          const v = concrete(x, y) & M64;
          assert.ok(inT(r, v), `${name} ${tnumString(a)} ${tnumString(b)} = ${tnumString(r)} misses 0x${v.toString(16)}`);
          checked++;
        }
      }
    }
    assert.ok(checked > 1000);
  });
}

test('tnum of constants is exact (add, sub, mul, and, or, xor)', () => {
  const rng = new Rng(5);
  for (let i = 0; i < 200; i++) {
    const x = rng.next64();
    const y = rng.next64();
    for (const [name, op, concrete] of binary) {
      const r = op(tnumConst(x), tnumConst(y));
      assert.equal(r.mask, 0n, name);
      assert.equal(r.value, concrete(x, y) & M64, name);
    }
  }
});

test('tnum shifts, neg and cast are sound', () => {
  const rng = new Rng(99);
  for (let iter = 0; iter < 300; iter++) {
    const a = randomTnum(rng, 5);
    const sh = rng.int(64);
    const sh32 = rng.int(32);
    const l = tnumLshift(a, sh);
    const r = tnumRshift(a, sh);
    const ar = tnumArshift(a, sh, 64);
    const ar32 = tnumArshift(a, sh32, 32);
    const n = tnumNeg(a);
    const c = tnumCast(a, 2);
    for (const x of members(a)) {
      assert.ok(inT(l, x << BigInt(sh)));
      assert.ok(inT(r, x >> BigInt(sh)));
      assert.ok(inT(ar, BigInt.asUintN(64, BigInt.asIntN(64, x) >> BigInt(sh))));
      assert.ok(inT(ar32, BigInt.asUintN(32, BigInt.asIntN(32, x & 0xffffffffn) >> BigInt(sh32))));
      assert.ok(inT(n, -x));
      assert.ok(inT(c, x & 0xffffn));
    }
  }
});

test('tnum_range covers [min, max] and tnum_in / intersect agree with membership', () => {
  const rng = new Rng(3);
  for (let iter = 0; iter < 300; iter++) {
    const a = rng.next64() >> BigInt(rng.int(64));
    const b = a + BigInt(rng.int(1000));
    const t = tnumRange(a, b & M64);
    if (b <= M64) for (let v = a; v <= b && v < a + 50n; v++) assert.ok(inT(t, v));
    const x = randomTnum(rng, 4);
    const y = randomTnum(rng, 4);
    const both = members(x).filter((v) => inT(y, v));
    const i = tnumIntersect(x, y);
    for (const v of both) assert.ok(inT(i, v), 'intersect keeps common members');
    assert.equal(tnumIn(x, y), members(y).every((v) => inT(x, v)), `tnum_in ${tnumString(x)} ${tnumString(y)}`);
  }
});

test('tnum_range of the whole space is unknown, of one value a constant', () => {
  assert.deepEqual(tnumRange(0n, M64), { value: 0n, mask: M64 });
  assert.deepEqual(tnumRange(42n, 42n), { value: 42n, mask: 0n });
  assert.deepEqual(tnumRange(0n, 255n), { value: 0n, mask: 255n });
  assert.equal(tnumString(tnumRange(16n, 31n)), '(0x10; 0xf)');
});

test('tnum_step finds the next member of a tnum (brute force)', () => {
  const rng = new Rng(11);
  for (let iter = 0; iter < 300; iter++) {
    const t = randomTnum(rng, 4);
    const ms = members(t).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const probes = [...ms, ...ms.map((m) => (m - 1n) & M64), rng.next64(), 0n];
    for (const z of probes) {
      const expect = ms.find((m) => m > z);
      assert.equal(tnumStep(t, z), expect, `step(${tnumString(t)}, 0x${z.toString(16)})`);
    }
  }
});
