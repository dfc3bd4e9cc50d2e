// Scalar ALU and branch refinement against brute force: for every concrete pair the result is covered.
// This is the property the four CVEs broke (32-bit AND/OR/XOR bounds, JMP32 bounds, 64->32 propagation).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scalarAlu } from '../../../src/verifier/alu.js';
import { regBoundsSync } from '../../../src/verifier/bounds.js';
import { isBranchTaken, J, regSetMinMax } from '../../../src/verifier/branch.js';
import { cloneReg, scalarConst } from '../../../src/verifier/reg-state.js';
import { abstractOf, contains, describe, Rng, randomSet } from './abstract-values.js';

const M64 = (1n << 64n) - 1n;
const M32 = 0xffffffffn;

const OPS: [string, number, (a: bigint, b: bigint, w: 32 | 64) => bigint | undefined][] = [
  ['add', 0x00, (a, b) => a + b],
  ['sub', 0x10, (a, b) => a - b],
  ['mul', 0x20, (a, b) => a * b],
  ['or', 0x40, (a, b) => a | b],
  ['and', 0x50, (a, b) => a & b],
  ['xor', 0xa0, (a, b) => a ^ b],
  ['lsh', 0x60, (a, b, w) => (b < BigInt(w) ? a << b : undefined)],
  ['rsh', 0x70, (a, b, w) => (b < BigInt(w) ? a >> b : undefined)],
  ['arsh', 0xc0, (a, b, w) => (b < BigInt(w) ? (w === 64 ? BigInt.asIntN(64, a) : BigInt.asIntN(32, a)) >> b : undefined)],
];

for (const width of [64, 32] as const) {
  for (const [name, op, concrete] of OPS) {
    test(`alu${width} ${name}: bounds and tnum cover every concrete result`, () => {
      const rng = new Rng(op * 31 + width);
      let checked = 0;
      for (let iter = 0; iter < 400; iter++) {
        const as = randomSet(rng);
        // Shifts are tracked only by a constant amount below the width.
        const bs = op >= 0x60 && op !== 0xa0 ? [BigInt(rng.int(width))] : rng.int(3) === 0 ? [rng.interesting()] : randomSet(rng);
        const a = abstractOf(as);
        const b = abstractOf(bs);
        const d = cloneReg(a);
        scalarAlu(op, d, b, width === 32);
        for (const x of as) {
          for (const y of bs) {
            const xv = width === 32 ? x & M32 : x;
            const yv = width === 32 ? y & M32 : y;
            const c = concrete(xv, yv, width);
            if (c === undefined) continue;
            const v = width === 32 ? c & M32 : c & M64;
            assert.ok(contains(d, v), `${name}${width}: a=${describe(a)} b=${describe(b)} -> ${describe(d)} misses 0x${v.toString(16)} (x=0x${x.toString(16)} y=0x${y.toString(16)})`);
            checked++;
          }
        }
      }
      assert.ok(checked > 500);
    });
  }
}

test('alu neg covers every concrete result (64 and 32-bit)', () => {
  const rng = new Rng(77);
  for (let iter = 0; iter < 400; iter++) {
    const as = randomSet(rng);
    for (const w of [64, 32] as const) {
      const d = abstractOf(as);
      scalarAlu(0x80, d, d, w === 32);
      for (const x of as) assert.ok(contains(d, w === 32 ? -x & M32 : -x & M64), `neg${w} ${describe(abstractOf(as))} -> ${describe(d)}`);
    }
  }
});

test('CVE-2021-3490: 32-bit AND/OR/XOR of known subregisters gives exact 32-bit bounds', () => {
  // r2: upper half unknown, lower half known 1; w2 &= 1 must be exactly 1 (the bug left u32 bounds stale).
  const r2 = abstractOf([0x100000001n, 0x200000001n, 0xffffffff00000001n]);
  const k = scalarConst(1n);
  for (const op of [0x50, 0x40, 0xa0]) {
    const d = cloneReg(r2);
    scalarAlu(op, d, k, true);
    const expect = op === 0x50 ? 1n : op === 0x40 ? 1n : 0n;
    assert.equal(d.u32min, expect);
    assert.equal(d.u32max, expect);
    assert.equal(d.umax, expect, 'zero-extended');
  }
});

const JOPS: [string, number, (a: bigint, b: bigint) => boolean][] = [
  ['jeq', J.JEQ, (a, b) => a === b],
  ['jne', J.JNE, (a, b) => a !== b],
  ['jgt', J.JGT, (a, b) => a > b],
  ['jge', J.JGE, (a, b) => a >= b],
  ['jlt', J.JLT, (a, b) => a < b],
  ['jle', J.JLE, (a, b) => a <= b],
  ['jsgt', J.JSGT, (a, b) => a > b],
  ['jsge', J.JSGE, (a, b) => a >= b],
  ['jslt', J.JSLT, (a, b) => a < b],
  ['jsle', J.JSLE, (a, b) => a <= b],
  ['jset', J.JSET, (a, b) => (a & b) !== 0n],
];

for (const is32 of [false, true]) {
  for (const [name, op, cmp] of JOPS) {
    test(`${is32 ? 'jmp32' : 'jmp'} ${name}: both successors keep every value that takes them; branch prediction is right`, () => {
      const rng = new Rng(op * 17 + (is32 ? 1 : 0));
      const signed = name.startsWith('js') && name !== 'jset';
      const view = (v: bigint): bigint => {
        const w = is32 ? v & M32 : v;
        return signed ? (is32 ? BigInt.asIntN(32, w) : BigInt.asIntN(64, w)) : w;
      };
      for (let iter = 0; iter < 400; iter++) {
        const as = randomSet(rng);
        const bs = rng.int(2) === 0 ? [rng.interesting()] : randomSet(rng);
        const a = abstractOf(as);
        const b = abstractOf(bs);
        const pred = isBranchTaken(a, b, op, is32);
        const t1 = cloneReg(a), t2 = cloneReg(b), f1 = cloneReg(a), f2 = cloneReg(b);
        regSetMinMax(t1, t2, f1, f2, op, is32);
        for (const x of as) {
          for (const y of bs) {
            const taken = cmp(view(x), view(y));
            if (pred === 1) assert.ok(taken, `${name} predicted taken but ${x} ${y} is not`);
            if (pred === 0) assert.ok(!taken, `${name} predicted not taken but ${x} ${y} is`);
            const [r1, r2] = taken ? [t1, t2] : [f1, f2];
            assert.ok(contains(r1, x), `${name}${is32 ? '32' : ''} ${taken ? 'true' : 'false'} branch lost x=0x${x.toString(16)}: a=${describe(a)} -> ${describe(r1)} (b=${describe(b)})`);
            assert.ok(contains(r2, y), `${name}${is32 ? '32' : ''} ${taken ? 'true' : 'false'} branch lost y=0x${y.toString(16)}: b=${describe(b)} -> ${describe(r2)}`);
          }
        }
      }
    });
  }
}

test('CVE-2020-8835 / CVE-2021-31440: 32-bit bounds do not leak into the 64-bit range', () => {
  // r1 in [0, 2^32+1]: `if w1 < 1` false branch must not conclude r1 in [1, 2^32-1] as 64-bit.
  const a = abstractOf([0n, 1n, 0x100000000n, 0x100000001n]);
  const t1 = cloneReg(a), f1 = cloneReg(a);
  const k1 = scalarConst(1n), k2 = scalarConst(1n);
  regSetMinMax(t1, k1, f1, k2, J.JLT, true);
  assert.ok(contains(f1, 0x100000001n), describe(f1));
  assert.ok(contains(f1, 1n));
  assert.ok(contains(t1, 0x100000000n), describe(t1));
  // A range crossing 2^32 keeps every member in its 32-bit view after a sync.
  const b = abstractOf([0xfffffffen, 0x100000002n]);
  regBoundsSync(b);
  assert.ok(contains(b, 0xfffffffen) && contains(b, 0x100000002n), describe(b));
});
