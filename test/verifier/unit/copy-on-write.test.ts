// Copy-on-write registers and stack slots: with everything a state copy shares frozen, no rule changes a shared value in place.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { CORPUS_MAPS, corpus } from '../corpus/index.js';
import { objectPrograms } from '../fixture-oracle.js';
import { setFreezeShared } from '../../../src/verifier/state.js';
import { type VerifyResult, verifyInstructions, verifyProgram } from '../../../src/verifier/verify.js';

after(() => setFreezeShared(false));

const summary = (r: VerifyResult): string => `${r.verdict} ${r.processedInsns} ${r.totalStates} ${r.peakStates} ${r.message ?? ''}`;

/** Runs `run` with and without the shared values frozen: the same result, and no internal error. */
function same(name: string, run: () => VerifyResult): void {
  setFreezeShared(false);
  const plain = summary(run());
  setFreezeShared(true);
  let frozen: string;
  try {
    frozen = summary(run());
  } finally {
    setFreezeShared(false);
  }
  // A write to a frozen register or slot throws a TypeError, which the verifier reports as its own error.
  assert.ok(!/Cannot assign to read only|Cannot add property|not extensible|internal error/.test(frozen), `${name}: ${frozen}`);
  assert.equal(frozen, plain, name);
}

test('object programs: the same results with shared registers and slots frozen', () => {
  let n = 0;
  for (const op of objectPrograms()) {
    const prog = op.spec.programs.find((p) => p.name === op.program);
    if (!prog) continue;
    same(op.key, () => verifyProgram(prog, op.spec));
    n++;
  }
  assert.ok(n >= 40, `only ${n} object programs`);
});

test('corpus programs: the same results with shared registers and slots frozen', () => {
  let n = 0;
  for (const p of corpus()) {
    if (p.name.startsWith('loop/')) continue;
    same(p.name, () => verifyInstructions(p.insns, { programType: p.type, maps: CORPUS_MAPS }));
    n++;
  }
  assert.ok(n > 1000, `only ${n} corpus programs`);
});
