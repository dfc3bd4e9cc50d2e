// The corpus and the fixture programs against the live kernel: every verdict and reason must equal
// the committed golden (so a changed kernel is noticed); BPFKIT_UPDATE_GOLDEN=1 rewrites it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CORPUS_MAPS, corpus } from './corpus/index.js';
import { objectPrograms, objectProgramVerdict } from './fixture-oracle.js';
import { CORPUS_GOLDEN, FIXTURE_GOLDEN, type Golden, type GoldenVerdict, readGolden, updateGolden, writeGolden } from './golden.js';
import { kernelVerifyFresh } from './kernel-oracle.js';
import { kernelTest } from '../kernel/harness.js';
import { probeHelper } from '../../src/kernel/feature-probe.js';

const kernelRelease = (): string => readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();

/**
 * Compares the running kernel's verdicts with the golden. `buildDifference(name, verdict)` may
 * excuse a program whose verdict this build gives for a reason the golden's build did not have
 * (a helper this build refuses for the type): those are printed, not failed.
 */
function compareWithGolden(file: string, programs: Record<string, GoldenVerdict>, fields: readonly (keyof GoldenVerdict)[], buildDifference: (name: string, v: GoldenVerdict) => boolean = () => false): void {
  if (updateGolden) {
    writeGolden(file, { kernel: kernelRelease(), programs });
    return;
  }
  const golden: Golden = readGolden(file);
  const changed: string[] = [];
  const excused: string[] = [];
  for (const [name, v] of Object.entries(programs)) {
    const g = golden.programs[name];
    if (!g) changed.push(`${name}: not in the golden (run with BPFKIT_UPDATE_GOLDEN=1)`);
    else if (fields.some((f) => g[f] !== v[f])) (buildDifference(name, v) ? excused : changed).push(`${name}: golden ${JSON.stringify(g)}, kernel ${kernelRelease()} now ${JSON.stringify(v)}`);
  }
  if (excused.length) console.log(`# ${excused.length} verdicts differ because this build refuses a helper the golden's build allowed:\n#   ${excused.join('\n#   ')}`);
  for (const name of Object.keys(golden.programs)) if (!(name in programs)) changed.push(`${name}: in the golden but no longer loaded`);
  assert.deepEqual(changed, [], `golden recorded on ${golden.kernel}`);
}

kernelTest('corpus: the kernel verdicts equal the committed golden', (sys) => {
  const programs: Record<string, GoldenVerdict> = {};
  const surprises: string[] = [];
  for (const p of corpus()) {
    const { log: _log, processedInsns: _p, timeUsec: _t, ...verdict } = kernelVerifyFresh(sys, p.type, p.insns, CORPUS_MAPS);
    programs[p.name] = verdict;
    if (verdict.verdict !== p.intent) surprises.push(p.name);
  }
  const accepted = Object.values(programs).filter((v) => v.verdict === 'accept').length;
  console.log(`# corpus: ${corpus().length} programs, kernel ${kernelRelease()}: ${accepted} accepted, ${corpus().length - accepted} rejected; ${surprises.length} differ from their author's intent (the kernel decides)`);
  // A program that calls a helper this build refuses for its type is rejected for that reason here.
  const byName = new Map(corpus().map((p) => [p.name, p]));
  const refusesHelper = (name: string, v: GoldenVerdict): boolean => {
    const p = byName.get(name);
    if (!p || v.verdict !== 'reject' || !/cannot use helper/.test(v.message ?? '')) return false;
    return p.insns.some((i) => i.code === 0x85 && i.src === 0 && !probeHelper(sys, p.type, i.imm));
  };
  compareWithGolden(CORPUS_GOLDEN, programs, ['verdict', 'message'], refusesHelper);
});

kernelTest('fixtures and xdp-tools: the kernel verdicts equal the committed golden', (sys) => {
  const programs: Record<string, GoldenVerdict> = {};
  for (const op of objectPrograms()) {
    const { timeUsec: _t, ...v } = objectProgramVerdict(sys, op);
    programs[op.key] = v;
  }
  const n = Object.keys(programs).length;
  const accepted = Object.values(programs).filter((v) => v.verdict === 'accept').length;
  console.log(`# objects: ${n} programs, ${accepted} accepted by kernel ${kernelRelease()}`);
  compareWithGolden(FIXTURE_GOLDEN, programs, ['verdict', 'message', 'processedInsns']);
});
