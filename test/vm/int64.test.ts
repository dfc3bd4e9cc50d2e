// 64-bit arithmetic on 32-bit halves against BigInt, over edge values and seeded random operands.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { divModS64, divModU64, mul64, mulHighU32, splitU64, toBigUint64 } from '../../src/vm/int64.js';
import { rng } from './oracle.js';

const M = (1n << 64n) - 1n;
const s64 = (x: bigint): bigint => BigInt.asIntN(64, x);
const EDGES = [0n, 1n, 2n, 3n, 0xffffn, 0x10000n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 1n << 32n, (1n << 32n) + 1n, (1n << 53n) - 1n, 1n << 53n, (1n << 53n) + 1n, 1n << 63n, (1n << 63n) - 1n, M, M - 1n, 0xdeadbeefcafebaben];

function operands(count: number): [bigint, bigint][] {
  const rand = rng(99);
  const r64 = (): bigint => {
    const shape = rand() % 4;
    const x = (BigInt(rand()) << 32n) | BigInt(rand());
    return shape === 0 ? x : shape === 1 ? x >> BigInt(rand() % 64) : shape === 2 ? BigInt(rand()) : EDGES[rand() % EDGES.length]!;
  };
  const out: [bigint, bigint][] = [];
  for (const a of EDGES) for (const b of EDGES) out.push([a, b]);
  for (let i = 0; i < count; i++) out.push([r64(), r64()]);
  return out;
}

const halves = (x: bigint): [number, number] => [Number(x & 0xffffffffn) | 0, Number((x >> 32n) & 0xffffffffn) | 0];

test('mulHighU32 is the high word of the 64-bit product', () => {
  const rand = rng(5);
  for (let i = 0; i < 20000; i++) {
    const a = rand();
    const b = i < 4 ? 0xffffffff : rand();
    assert.equal(mulHighU32(a, b), Number((BigInt(a) * BigInt(b)) >> 32n));
  }
});

test('mul64, divModU64 and divModS64 agree with BigInt (edge values and 100k random pairs)', () => {
  const lo = new Int32Array(2);
  const hi = new Int32Array(2);
  const out = new Int32Array(4);
  let checked = 0;
  for (const [a, b] of operands(100000)) {
    const [al, ah] = halves(a);
    const [bl, bh] = halves(b);
    lo[0] = al; hi[0] = ah; lo[1] = bl; hi[1] = bh;
    mul64(lo, hi, 0, 1);
    assert.equal(toBigUint64(lo[0]!, hi[0]!), (a * b) & M, `mul ${a} * ${b}`);
    if (b !== 0n) {
      divModU64(al, ah, bl, bh, out);
      assert.equal(toBigUint64(out[0]!, out[1]!), a / b, `udiv ${a} / ${b}`);
      assert.equal(toBigUint64(out[2]!, out[3]!), a % b, `umod ${a} % ${b}`);
      divModS64(al, ah, bl, bh, out);
      assert.equal(toBigUint64(out[0]!, out[1]!), BigInt.asUintN(64, s64(a) / s64(b)), `sdiv ${s64(a)} / ${s64(b)}`);
      assert.equal(toBigUint64(out[2]!, out[3]!), BigInt.asUintN(64, s64(a) % s64(b)), `smod ${s64(a)} % ${s64(b)}`);
    }
    checked++;
  }
  assert.ok(checked > 100000);
});

test('splitU64 takes numbers in [-2^53, 2^64) and BigInts modulo 2^64', () => {
  const out = new Int32Array(2);
  for (const [v, want] of [[-1, M], [-22, M - 21n], [0, 0n], [2 ** 53 - 1, 2n ** 53n - 1n], [2 ** 32, 1n << 32n], [-(2 ** 32), M - (1n << 32n) + 1n]] as const) {
    splitU64(v, out);
    assert.equal(toBigUint64(out[0]!, out[1]!), want, String(v));
  }
  splitU64(-1n, out);
  assert.equal(toBigUint64(out[0]!, out[1]!), M);
  splitU64((1n << 70n) + 5n, out);
  assert.equal(toBigUint64(out[0]!, out[1]!), 5n);
});
