// 64-bit pcapng tick counts <-> seconds + nanoseconds, checked against BigInt arithmetic.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ticksToTime, timeToTicks, binaryTsResolution, type TimeParts, type TickParts } from '../../src/packet/index.js';
import { rng } from './helpers.js';

function refToTime(hi: number, lo: number, res: number): [number, number] {
  const ticks = (BigInt(hi) << 32n) | BigInt(lo);
  const k = BigInt(res & 0x7f);
  const per = res & 0x80 ? 1n << k : 10n ** k;
  const s = ticks / per;
  const frac = ticks % per;
  return [Number(s), Number((frac * 1_000_000_000n) / per)];
}

test('ticksToTime is exact for decimal 10^0..10^-20 and binary 2^-1..2^-32', () => {
  const r = rng(9);
  const out: TimeParts = { seconds: 0, nanoseconds: 0 };
  const resolutions = [...Array.from({ length: 21 }, (_, k) => k), ...Array.from({ length: 32 }, (_, k) => binaryTsResolution(k + 1))];
  for (const res of resolutions) {
    for (let n = 0; n < 300; n++) {
      const hi = n === 0 ? 0xffffffff : Math.floor(r() * 2 ** 32);
      const lo = n === 1 ? 0xffffffff : Math.floor(r() * 2 ** 32);
      const [s, ns] = refToTime(hi, lo, res);
      if (s > Number.MAX_SAFE_INTEGER) continue;
      ticksToTime(hi, lo, res, out);
      assert.deepEqual([out.seconds, out.nanoseconds], [s, ns], `res 0x${res.toString(16)} ticks ${hi}:${lo}`);
    }
  }
});

test('nanosecond ticks of a 2024 date keep every nanosecond (beyond 2^53)', () => {
  const out: TimeParts = { seconds: 0, nanoseconds: 0 };
  const ticks = 1_700_000_000_123_456_789n;
  ticksToTime(Number(ticks >> 32n), Number(ticks & 0xffffffffn), 9, out);
  assert.deepEqual(out, { seconds: 1_700_000_000, nanoseconds: 123_456_789 });
});

test('timeToTicks inverts ticksToTime (truncating below the resolution)', () => {
  const r = rng(10);
  const t: TickParts = { hi: 0, lo: 0 };
  const back: TimeParts = { seconds: 0, nanoseconds: 0 };
  for (const res of [0, 3, 6, 9, binaryTsResolution(10), binaryTsResolution(20), binaryTsResolution(30), binaryTsResolution(32)]) {
    for (let n = 0; n < 300; n++) {
      const s = Math.floor(r() * 4e9);
      const ns = Math.floor(r() * 1e9);
      timeToTicks(s, ns, res, t);
      const k = BigInt(res & 0x7f);
      const per = res & 0x80 ? 1n << k : 10n ** k;
      const expect = BigInt(s) * per + (BigInt(ns) * per) / 1_000_000_000n;
      assert.equal((BigInt(t.hi) << 32n) | BigInt(t.lo), expect, `res ${res} ${s}.${ns}`);
      ticksToTime(t.hi, t.lo, res, back);
      assert.equal(back.seconds, s);
      assert.ok(ns - back.nanoseconds >= 0 && ns - back.nanoseconds < 1e9 / Number(per) + 1);
    }
  }
});
