// The verifier's fast paths against their reference: the pruning key, shared small BigInts, copy-on-write slots, number paths of bounds rules.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { coerceRegToSize, updateReg64Bounds, updateReg64BoundsReference } from '../../../src/verifier/bounds.js';
import { initRegs, regsKey, statesEqual } from '../../../src/verifier/prune.js';
import { markKnown, pointer, type Reg, type RegType, scalarUnknown } from '../../../src/verifier/reg-state.js';
import { big } from '../../../src/verifier/small-bigint.js';
import { cloneState, newFrame, ownSlot, StackType, type VState } from '../../../src/verifier/state.js';
import { Rng } from './abstract-values.js';

const TYPES: RegType[] = ['not_init', 'scalar', 'ctx', 'pkt', 'pkt_end', 'stack', 'map_value'];

function randomReg(rng: Rng): Reg {
  const t = TYPES[rng.int(TYPES.length)]!;
  if (t === 'not_init') return { ...scalarUnknown(), type: 'not_init' };
  if (t === 'scalar') {
    const r = scalarUnknown();
    if (rng.int(2)) markKnown(r, BigInt(rng.int(4)));
    return r;
  }
  const r = pointer(t);
  r.off = rng.int(3) * 8;
  r.range = rng.int(3) * 8;
  return r;
}

function randomState(rng: Rng): VState {
  const f = newFrame(-1, 0, 0);
  for (let r = 0; r < 10; r++) f.regs[r] = randomReg(rng);
  return { frames: [f], refs: [], insn: 0, mayGotoDepth: 0, callbackDepth: 0 };
}

test('regsKey: states the comparison accepts have equal keys (no pruning lost), and differing keys occur', () => {
  const rng = new Rng(4242);
  let accepted = 0;
  let differ = 0;
  for (let i = 0; i < 20000; i++) {
    const o = randomState(rng);
    // The current state: a copy of the old one with a few registers redrawn.
    const c = cloneState(o);
    const regs = c.frames[0]!.regs;
    for (let k = rng.int(3); k > 0; k--) regs[rng.int(10)] = randomReg(rng);
    const live = rng.int(0x800);
    const need = rng.int(0x800);
    const mask = initRegs(o.frames[0]!, live);
    const same = regsKey(o.frames[0]!, mask) === regsKey(c.frames[0]!, mask);
    if (!same) differ++;
    if (statesEqual(o, c, false, true, need, 0n, live, 0n)) {
      accepted++;
      assert.ok(same, `accepted pair ${i} with different keys`);
    }
  }
  assert.ok(accepted > 1000, `only ${accepted} accepted pairs`);
  assert.ok(differ > 1000, `only ${differ} differing keys`);
});

test('big(n) is BigInt(n), shared below 2^16', () => {
  for (const n of [0, 1, 7, 0xffff, 0x10000, -1, -0xffff, -0x10000, 2 ** 40, -(2 ** 40), 2 ** 53 - 1]) assert.equal(big(n), BigInt(n));
  const rng = new Rng(7);
  for (let i = 0; i < 2000; i++) {
    const n = rng.int(0x40000) - 0x20000;
    assert.equal(big(n), BigInt(n));
  }
});

test('stack slots: a copy shares them until one side writes, then each sees only its own writes', () => {
  const f = newFrame(-1, 0, 0);
  const s0 = ownSlot(f, 0);
  s0.types.fill(StackType.MISC);
  const st: VState = { frames: [f], refs: [], insn: 0, mayGotoDepth: 0, callbackDepth: 0 };
  const copy = cloneState(st);
  assert.equal(copy.frames[0]!.stack[0], f.stack[0], 'shared after the copy');
  const w = ownSlot(copy.frames[0]!, 0);
  assert.notEqual(w, s0, 'a write copies the shared slot');
  w.types[0] = StackType.ZERO;
  assert.equal(s0.types[0], StackType.MISC, 'the original is unchanged');
  const w2 = ownSlot(f, 0);
  assert.notEqual(w2, s0, 'the original side copies too (its slots were shared)');
  assert.equal(ownSlot(f, 0), w2, 'an owned slot is not copied again');
  w2.types[1] = StackType.ZERO;
  assert.equal(w.types[1], StackType.MISC);
});

test('__update_reg64_bounds: the number path for a tnum below 2^31 gives the BigInt result', () => {
  const rng = new Rng(31);
  let known = 0;
  for (let i = 0; i < 20000; i++) {
    // A few unknown bits below 2^31, known bits outside them; u64 bounds on or near the tnum's members.
    let mask = 0;
    for (let k = rng.int(4) + 1; k > 0; k--) mask |= 1 << rng.int(31);
    const value = rng.int(0x80000000) & ~mask;
    const a = scalarUnknown();
    a.var = { value: BigInt(value), mask: BigInt(mask) };
    const top = value | mask;
    const pick = (): bigint => BigInt([value, top, rng.int(0x80000000), value + rng.int(3), top - rng.int(3)][rng.int(5)]!);
    const x = pick();
    const y = pick();
    a.umin = x < y ? x : y;
    a.umax = x < y ? y : x;
    if (rng.int(4) === 0) a.umax = (1n << 64n) - 1n;
    const b = { ...a };
    updateReg64Bounds(a);
    updateReg64BoundsReference(b);
    const show = (r: Reg): string => `${r.var.value}/${r.var.mask} u[${r.umin},${r.umax}] s[${r.smin},${r.smax}]`;
    assert.equal(show(a), show(b), `case ${i}`);
    if (a.var.mask === 0n && mask !== 0) known++;
  }
  assert.ok(known > 50, `only ${known} registers became constants`);
});

test('coerce_reg_to_size: the shortcut for a range within the size gives the kernel formula', () => {
  const rng = new Rng(8);
  const U64 = (1n << 64n) - 1n;
  for (let i = 0; i < 5000; i++) {
    const size = [1, 2, 4, 8][rng.int(4)]!;
    const a = scalarUnknown();
    const pick = (): bigint => [0n, BigInt(rng.int(0x100)), BigInt(rng.int(0x10000)), BigInt(rng.int(0x80000000)) * 3n, U64 - BigInt(rng.int(5))][rng.int(5)]!;
    const x = pick();
    const y = pick();
    a.umin = x < y ? x : y;
    a.umax = x < y ? y : x;
    // The kernel's formula, with the bounds sync after it left to the code under test.
    const mask = (1n << BigInt(size * 8)) - 1n;
    const same = (a.umin & ~mask) === (a.umax & ~mask);
    const umin = same ? a.umin & mask : 0n;
    const umax = same ? a.umax & mask : mask;
    const b = scalarUnknown();
    b.umin = umin;
    b.umax = umax;
    b.smin = umin;
    b.smax = umax;
    b.var = a.var;
    coerceRegToSize(a, size);
    // Replaying the rest of coerceRegToSize on b's formula result: the same register.
    const c = scalarUnknown();
    Object.assign(c, b);
    c.umin = umin;
    c.umax = umax;
    coerceRegToSize(c, size);
    assert.equal(`${a.umin} ${a.umax} ${a.smin} ${a.smax} ${a.var.value}/${a.var.mask}`, `${c.umin} ${c.umax} ${c.smin} ${c.smax} ${c.var.value}/${c.var.mask}`, `case ${i} size ${size} [${x}, ${y}]`);
  }
});
