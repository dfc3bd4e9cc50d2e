// Test support: random concrete value sets, the abstract register that covers them, and membership.
import { regBoundsSync } from '../../../src/verifier/bounds.js';
import { markUnknown, notInit, type Reg } from '../../../src/verifier/reg-state.js';

const M64 = (1n << 64n) - 1n;

/** A seeded xorshift PRNG (tests must be reproducible). */
export class Rng {
  private s: bigint;
  constructor(seed: number) {
    this.s = BigInt(seed) | 1n;
  }
  next64(): bigint {
    let x = this.s;
    x ^= (x << 13n) & M64;
    x ^= x >> 7n;
    x ^= (x << 17n) & M64;
    this.s = x & M64;
    return this.s;
  }
  int(n: number): number {
    return Number(this.next64() % BigInt(n));
  }
  /** A value from a distribution that hits the edges: small, around 2^31/2^32/2^63, negative. */
  interesting(): bigint {
    const bases = [0n, 1n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 1n << 63n, (1n << 63n) - 1n, M64, M64 - 0xffffn];
    switch (this.int(4)) {
      case 0:
        return BigInt(this.int(64));
      case 1:
        return (bases[this.int(bases.length)]! + BigInt(this.int(9)) - 4n) & M64;
      case 2:
        return this.next64();
      default:
        return (-BigInt(this.int(300))) & M64;
    }
  }
}

/** A random set of 1..6 concrete u64 values, sometimes all close together. */
export function randomSet(rng: Rng): bigint[] {
  const n = 1 + rng.int(6);
  const base = rng.interesting();
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) out.push(rng.int(2) === 0 ? (base + BigInt(rng.int(40))) & M64 : rng.interesting());
  return out;
}

/** The abstract scalar covering exactly-enough `vals` (tight bounds and tnum, then synced). */
export function abstractOf(vals: readonly bigint[]): Reg {
  const r = notInit();
  markUnknown(r);
  const s = vals.map((v) => BigInt.asIntN(64, v));
  const lo = vals.map((v) => v & 0xffffffffn);
  const s32 = lo.map((v) => BigInt.asIntN(32, v));
  const min = (a: bigint[]): bigint => a.reduce((x, y) => (y < x ? y : x));
  const max = (a: bigint[]): bigint => a.reduce((x, y) => (y > x ? y : x));
  r.umin = min([...vals]);
  r.umax = max([...vals]);
  r.smin = min(s);
  r.smax = max(s);
  r.u32min = min(lo);
  r.u32max = max(lo);
  r.s32min = min(s32);
  r.s32max = max(s32);
  const and = vals.reduce((x, y) => x & y);
  const or = vals.reduce((x, y) => x | y);
  r.var = { value: and, mask: and ^ or };
  regBoundsSync(r);
  return r;
}

/** Whether the concrete u64 `v` is one of the values the abstract register `r` allows. */
export function contains(r: Reg, v0: bigint): boolean {
  const v = v0 & M64;
  const s = BigInt.asIntN(64, v);
  const lo = v & 0xffffffffn;
  const s32 = BigInt.asIntN(32, lo);
  return (
    r.umin <= v && v <= r.umax && r.smin <= s && s <= r.smax && r.u32min <= lo && lo <= r.u32max && r.s32min <= s32 && s32 <= r.s32max && (v & ~r.var.mask & M64) === r.var.value
  );
}

/** A short description of a register for assertion messages. */
export function describe(r: Reg): string {
  return `u64=[${r.umin},${r.umax}] s64=[${r.smin},${r.smax}] u32=[${r.u32min},${r.u32max}] s32=[${r.s32min},${r.s32max}] var=(0x${r.var.value.toString(16)};0x${r.var.mask.toString(16)})`;
}
