// bpfkit's verifier against the kernel's verdicts: the corpus (golden), every fixture and xdp-tools
// program (golden), and seeded mutants of the corpus (kernel live). Prints the agreement rate and
// the stricter/looser cases with both reasons; fails under the thresholds below, on any looser
// verdict on a CVE program, and on any crash.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseBtf } from '../../src/btf/index.js';
import { verifyInstructions, verifyProgram, type VerifyResult } from '../../src/verifier/verify.js';
import { AgreementReport, type OurVerdict, compareVerdicts } from './agreement.js';
import { CORPUS_MAPS, corpus } from './corpus/index.js';
import { objectPrograms, objectProgramVerdict } from './fixture-oracle.js';
import { FIXTURE_GOLDEN, readGolden } from './golden.js';
import { kernelVerifyFresh } from './kernel-oracle.js';
import { objectBases } from './fuzz-run.js';
import { mutant, mutateInstructions } from './mutate-program.js';
import { iterationSeed, prng } from '../support/mutate.js';
import { randomBoundsProgram, randomPacketBoundsProgram } from './random-bounds.js';
import { kernelTest } from '../kernel/harness.js';
import { probeHelper } from '../../src/kernel/feature-probe.js';
import type { Sys } from '../../src/kernel/sys.js';

/**
 * Minimum verdict agreement (fraction of programs where bpfkit and the kernel both accept or
 * both reject). Raise these as the verifier grows; the aim is 1.
 */
export const AGREEMENT_THRESHOLD = { corpus: 0.998, objects: 0.9, mutants: 0.99, bounds: 0.99, objectMutants: 0.97 };
/** Mutants of compiled fixture programs compared with the live kernel in CI. */
const OBJECT_MUTANTS = Number(process.env['BPFKIT_OBJECT_MUTANTS'] ?? 500);
/** Random number-tracking programs compared with the live kernel in CI; BPFKIT_BOUNDS raises it. */
const BOUNDS = Number(process.env['BPFKIT_BOUNDS'] ?? 1000);
/**
 * Corpus programs the kernel refuses as too complex (1M processed insns) run with this limit in
 * CI, where both verdicts are "too large" either way; BPFKIT_SLOW=1 uses the kernel's 1M.
 */
const CI_COMPLEXITY_LIMIT = process.env['BPFKIT_SLOW'] === '1' ? undefined : 100_000;
/** Mutants compared in CI; BPFKIT_MUTANTS raises it for a long run. */
const MUTANTS = Number(process.env['BPFKIT_MUTANTS'] ?? 2000);
const verbose = process.env['BPFKIT_VERBOSE'] === '1';

/** The helpers the running kernel's build refuses per type (asked once each): live comparisons verify for this kernel. */
const refusedBy = (sys: Sys) => (type: number, id: number): boolean => !probeHelper(sys, type, id);

/** Runs bpfkit's verifier, turning a throw into a recorded crash (a bug: every input must end in a verdict). */
function ours(run: () => VerifyResult, name: string, crashes: string[]): OurVerdict {
  try {
    const r = run();
    return r.message === undefined ? { verdict: r.verdict } : { verdict: r.verdict, message: r.message };
  } catch (err) {
    crashes.push(`${name}: ${(err as Error).stack?.split('\n').slice(0, 3).join(' | ')}`);
    return { verdict: 'reject', message: `crash: ${(err as Error).message}` };
  }
}

test('corpus: bpfkit agrees with the kernel', () => {
  const golden = readGolden();
  const report = new AgreementReport('corpus');
  const crashes: string[] = [];
  const slow: string[] = [];
  for (const p of corpus()) {
    const kernel = golden.programs[p.name];
    assert.ok(kernel, `${p.name} has no golden verdict (run test/verifier/kernel-verdicts.test.ts with BPFKIT_UPDATE_GOLDEN=1)`);
    const t0 = performance.now();
    const limit = kernel.message?.startsWith('BPF program is too large') && CI_COMPLEXITY_LIMIT ? { maxProcessedInsns: CI_COMPLEXITY_LIMIT } : {};
    const o = ours(() => verifyInstructions(p.insns, { programType: p.type, maps: CORPUS_MAPS, privileged: true, ...limit }), p.name, crashes);
    const ms = performance.now() - t0;
    if (ms > 2000) slow.push(`${p.name}: ${ms.toFixed(0)} ms`);
    report.add({ name: p.name, outcome: compareVerdicts(kernel, o), kernel, ours: o, ...(p.cve ? { cve: p.cve } : {}) });
  }
  console.log(report.format(verbose ? 100000 : 25));
  console.log(`corpus by kernel reason (agreeing/total): ${report.byClass()}`);
  if (slow.length) console.log(`slow: ${slow.join(', ')}`);
  assert.deepEqual(crashes, [], 'the verifier threw instead of giving a verdict');
  assert.deepEqual(report.looserOnCve.map((r) => r.name), [], 'bpfkit accepts a CVE program the kernel rejects');
  assert.ok(report.rate >= AGREEMENT_THRESHOLD.corpus, `corpus agreement ${(report.rate * 100).toFixed(1)}% is under the threshold ${AGREEMENT_THRESHOLD.corpus * 100}%`);
});

test('fixtures and xdp-tools: bpfkit agrees with the kernel', () => {
  const kernelBtf = existsSync('/sys/kernel/btf/vmlinux') ? parseBtf(new Uint8Array(readFileSync('/sys/kernel/btf/vmlinux'))) : undefined;
  const golden = readGolden(FIXTURE_GOLDEN);
  const report = new AgreementReport('objects');
  const crashes: string[] = [];
  const notComparable: string[] = [];
  for (const op of objectPrograms()) {
    const kernel = golden.programs[op.key];
    assert.ok(kernel, `${op.key} has no golden verdict`);
    if (kernel.error) {
      notComparable.push(`${op.key} (${kernel.error})`);
      continue;
    }
    const prog = op.spec.programs.find((p) => p.name === op.program)!;
    // With the kernel's BTF, as the loader has it: CO-RE applied, kfunc prototypes and kernel struct layouts.
    const o = ours(() => verifyProgram(prog, op.spec, { privileged: true, ...(kernelBtf ? { kernelBtf } : {}) }), op.key, crashes);
    report.add({ name: op.key, outcome: compareVerdicts(kernel, o), kernel, ours: o });
  }
  console.log(report.format(100));
  if (notComparable.length) console.log(`not comparable (the kernel could not be asked): ${notComparable.join('; ')}`);
  assert.deepEqual(crashes, []);
  assert.ok(report.rate >= AGREEMENT_THRESHOLD.objects, `object agreement ${(report.rate * 100).toFixed(1)}% is under the threshold`);
});

kernelTest(`mutants: bpfkit agrees with the kernel on ${MUTANTS} mutated corpus programs`, (sys) => {
  const programs = corpus().filter((p) => !p.name.startsWith('loop/') && !p.name.startsWith('cfg/long'));
  const report = new AgreementReport('mutants');
  const crashes: string[] = [];
  const seed = Number(process.env['BPFKIT_SEED'] ?? 6);
  for (let i = 0; i < MUTANTS; i++) {
    const m = mutant(programs, seed, i);
    if (!m) continue;
    const { log: _log, ...kernel } = kernelVerifyFresh(sys, m.type, m.insns, CORPUS_MAPS);
    const o = ours(() => verifyInstructions(m.insns, { programType: m.type, maps: CORPUS_MAPS, privileged: true, helperRefused: refusedBy(sys) }), m.name, crashes);
    report.add({ name: m.name, outcome: compareVerdicts(kernel, o), kernel, ours: o, ...(m.base.cve ? { cve: m.base.cve } : {}) });
  }
  console.log(report.format(verbose ? 100000 : 25));
  assert.deepEqual(crashes, []);
  assert.deepEqual(report.looserOnCve.map((r) => r.name), [], 'bpfkit accepts a mutated CVE program the kernel rejects');
  assert.ok(report.rate >= AGREEMENT_THRESHOLD.mutants, `mutant agreement ${(report.rate * 100).toFixed(1)}% is under the threshold`);
});

kernelTest(`random number tracking: bpfkit agrees with the kernel on ${BOUNDS} programs`, (sys) => {
  const report = new AgreementReport('bounds programs');
  const crashes: string[] = [];
  const seed = Number(process.env['BPFKIT_SEED'] ?? 6);
  for (let i = 0; i < BOUNDS; i++) {
    const p = i % 3 === 2 ? randomPacketBoundsProgram(seed, i) : randomBoundsProgram(seed, i);
    const { log: _log, ...kernel } = kernelVerifyFresh(sys, p.type, p.insns, CORPUS_MAPS);
    const o = ours(() => verifyInstructions(p.insns, { programType: p.type, maps: CORPUS_MAPS, privileged: true, helperRefused: refusedBy(sys) }), p.name, crashes);
    report.add({ name: p.name, outcome: compareVerdicts(kernel, o), kernel, ours: o });
  }
  console.log(report.format(verbose ? 100000 : 25));
  assert.deepEqual(crashes, []);
  assert.ok(report.rate >= AGREEMENT_THRESHOLD.bounds, `bounds agreement ${(report.rate * 100).toFixed(1)}% is under the threshold`);
});

kernelTest(`object mutants: bpfkit agrees with the kernel on ${OBJECT_MUTANTS} mutated compiled programs`, (sys) => {
  // Small accepted programs bpfkit models (no kfuncs), loaded with their maps, BTF and line info.
  const bases = objectBases();
  const report = new AgreementReport('object mutants');
  const crashes: string[] = [];
  let loaderRefused = 0;
  const seed = Number(process.env['BPFKIT_SEED'] ?? 6);
  for (let i = 0; i < OBJECT_MUTANTS; i++) {
    const r = prng(iterationSeed(seed ^ 0x0b1, i));
    const op = r.pick(bases);
    const prog = op.spec.programs.find((p) => p.name === op.program)!;
    const m = mutateInstructions(r, prog.instructions, 20, false);
    if (!m) continue;
    const mutated = { ...prog, instructions: m.insns };
    const spec = { ...op.spec, programs: op.spec.programs.map((p) => (p.name === op.program ? mutated : p)) };
    const { processedInsns: _p, timeUsec: _t, ...kernel } = objectProgramVerdict(sys, { ...op, spec });
    if (kernel.error) {
      loaderRefused++;
      continue;
    }
    const name = `${op.key} (${m.what.join(', ')})`;
    const o = ours(() => verifyProgram(mutated, spec, { privileged: true, helperRefused: refusedBy(sys) }), name, crashes);
    report.add({ name, outcome: compareVerdicts(kernel, o), kernel, ours: o });
  }
  console.log(report.format(verbose ? 100000 : 25));
  if (loaderRefused) console.log(`${loaderRefused} mutants refused by the loader before the verifier (not compared)`);
  assert.deepEqual(crashes, []);
  assert.ok(report.rate >= AGREEMENT_THRESHOLD.objectMutants, `object mutant agreement ${(report.rate * 100).toFixed(1)}% is under the threshold`);
});

/** Minimum share of sampled programs whose level-2 log (instructions with register states) equals the kernel's. */
const LOG_THRESHOLD = 0.65;

/** Instruction lines with their state (`0: (b7) r0 = 2 ; R0=2`), branch lines, addresses masked. */
function logLines(log: string): string[] {
  const merged: string[] = [];
  for (const l of log.split('\n')) {
    if (/^\s+; /.test(l) && merged.length) merged[merged.length - 1] += ` ${l.trim()}`;
    else merged.push(l);
  }
  return merged
    .filter((l) => /^\d+: [(R]/.test(l) || /^from \d+ to \d+/.test(l))
    .map((l) => l.replace(/0x[0-9a-f]{9,}/g, 'ADDR').replace(/\s+/g, ' ').trim());
}

kernelTest('log level 2: the per-instruction register states read like the kernel log', (sys) => {
  const sample = corpus().filter((p, i) => i % 5 === 0 && !p.name.startsWith('loop/') && !p.name.startsWith('cfg/long'));
  let same = 0;
  const diffs: string[] = [];
  for (const p of sample) {
    const k = logLines(kernelVerifyFresh(sys, p.type, p.insns, CORPUS_MAPS, { logLevel: 2 }).log);
    let o: string[];
    try {
      o = logLines(verifyInstructions(p.insns, { programType: p.type, maps: CORPUS_MAPS, logLevel: 2 }).log);
    } catch (err) {
      o = [`crash: ${(err as Error).message}`];
    }
    const at = k.findIndex((line, i) => line !== o[i]);
    if (at === -1 && k.length === o.length) same++;
    else if (diffs.length < (verbose ? 1000 : 5)) diffs.push(`  ${p.name}: kernel "${k[at] ?? '(end)'}" | bpfkit "${o[at === -1 ? k.length : at] ?? '(end)'}"`);
  }
  console.log(`log level 2: ${same} of ${sample.length} sampled corpus programs print the kernel's instruction/state lines exactly\n${diffs.join('\n')}`);
  assert.ok(same / sample.length >= LOG_THRESHOLD, `log agreement ${same}/${sample.length} under ${LOG_THRESHOLD}`);
});
