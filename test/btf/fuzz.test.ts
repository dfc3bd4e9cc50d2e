// Mutation fuzzing of real clang .BTF / .BTF.ext: only BtfError may escape, never a crash or a hang.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { BtfError, BtfUnsizedTypeError, parseBtf, parseBtfExt, type Btf } from '../../src/btf/index.js';
import { compile, tempDir, type Compiled } from './tools.js';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const ITERATIONS = 5000;
const SEED = Number(process.env.BPFKIT_FUZZ_SEED ?? 0x5eed1234);

/** xorshift32: deterministic, so a failure names the seed and iteration that reproduce it. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

const INTERESTING = [0, 1, 2, 3, 4, 7, 8, 12, 16, 24, 0x7f, 0x80, 0xff, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff];

function mutate(src: Uint8Array, next: () => number): Uint8Array {
  const pick = (n: number): number => next() % Math.max(n, 1);
  let b = src.slice();
  const rounds = 1 + pick(3);
  for (let r = 0; r < rounds; r++) {
    // Half the mutations hit the header or first records, where a flip changes the most.
    const pos = next() & 1 ? pick(Math.min(b.length, 64)) : pick(b.length);
    switch (pick(6)) {
      case 0:
      case 1:
        if (b.length > 0) b[pos] = (b[pos] as number) ^ (1 << pick(8));
        break;
      case 2: {
        const at = pos & ~3;
        if (at + 4 <= b.length) new DataView(b.buffer).setUint32(at, INTERESTING[pick(INTERESTING.length)] as number, true);
        break;
      }
      case 3:
        if (pos + 4 <= b.length) new DataView(b.buffer).setUint32(pos, next(), true);
        break;
      case 4:
        b = b.slice(0, pick(b.length + 1));
        break;
      case 5: {
        const extra = new Uint8Array(b.length + 1 + pick(16));
        extra.set(b);
        for (let i = b.length; i < extra.length; i++) extra[i] = next() & 0xff;
        b = extra;
        break;
      }
    }
  }
  return b;
}

/** Everything a consumer might call on a parsed BTF; only BTF errors are acceptable outcomes. */
function exercise(btf: Btf): void {
  for (const t of btf.types) {
    for (const f of [() => btf.format(t.id), () => btf.resolveSize(t.id), () => btf.skipTypedefs(t.id)]) {
      try {
        f();
      } catch (e) {
        if (!(e instanceof BtfError || e instanceof BtfUnsizedTypeError)) throw e;
      }
    }
  }
  // A parsed table always re-encodes, and parses back to the same types.
  assert.deepStrictEqual(parseBtf(btf.encode()).types, btf.types);
}

describe('fuzz', () => {
  const tmp = tempDir();
  let objs: Compiled[];
  let btfs: Btf[];
  before(() => {
    objs = [compile(join(fixtures, 'types.c'), tmp.dir), compile(join(fixtures, 'core.c'), tmp.dir)];
    btfs = objs.map((o) => parseBtf(o.btf));
  });
  after(() => tmp[Symbol.dispose]());

  it(`${ITERATIONS} mutations of .BTF and .BTF.ext raise only BtfError`, { timeout: 60_000 }, () => {
    const next = rng(SEED);
    const outcomes = { btfOk: 0, btfErr: 0, extOk: 0, extErr: 0 };
    const t0 = performance.now();
    for (let i = 0; i < ITERATIONS; i++) {
      const which = i % objs.length;
      const obj = objs[which] as Compiled;
      const btf = btfs[which] as Btf;
      const onBtf = (i >> 1) % 2 === 0;
      const input = mutate(onBtf ? obj.btf : obj.ext, next);
      try {
        if (onBtf) {
          const m = parseBtf(input);
          exercise(m);
          parseBtfExt(obj.ext, m); // the original .BTF.ext against a damaged string table
          outcomes.btfOk++;
        } else {
          const ext = parseBtfExt(input, btf);
          for (const [sec] of ext.lineInfos) ext.lineAt(sec, next() % 1024);
          outcomes.extOk++;
        }
      } catch (e) {
        if (!(e instanceof BtfError)) {
          assert.fail(`seed 0x${SEED.toString(16)} iteration ${i} (${onBtf ? '.BTF' : '.BTF.ext'}): ${e instanceof Error ? e.stack : String(e)}`);
        }
        assert.equal(e.code, 'ERR_BTF_MALFORMED');
        assert.ok(Number.isInteger(e.offset) && e.offset >= 0, `offset ${e.offset}`);
        if (onBtf) outcomes.btfErr++;
        else outcomes.extErr++;
      }
    }
    console.log(`fuzz: ${ITERATIONS} iterations in ${(performance.now() - t0).toFixed(0)} ms, seed 0x${SEED.toString(16)}`, outcomes);
    // Both outcomes must occur, or the mutator is not exercising anything.
    assert.ok(outcomes.btfOk > 0 && outcomes.btfErr > 0 && outcomes.extOk > 0 && outcomes.extErr > 0, JSON.stringify(outcomes));
  });
});
