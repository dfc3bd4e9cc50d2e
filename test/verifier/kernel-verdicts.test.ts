// The corpus against the live kernel: every program's verdict and reason must equal the committed
// golden (so a changed kernel is noticed); BPFKIT_UPDATE_GOLDEN=1 rewrites the golden instead.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CORPUS_MAPS, corpus } from './corpus/index.js';
import { type Golden, readGolden, updateGolden, writeGolden } from './golden.js';
import { type KernelVerdict, kernelVerifyFresh } from './kernel-oracle.js';
import { kernelTest } from '../kernel/harness.js';

const kernelRelease = (): string => readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();

kernelTest('corpus: the kernel verdicts equal the committed golden', (sys) => {
  const programs: Record<string, KernelVerdict> = {};
  const surprises: string[] = [];
  for (const p of corpus()) {
    const { log: _log, processedInsns: _p, timeUsec: _t, ...verdict } = kernelVerifyFresh(sys, p.type, p.insns, CORPUS_MAPS);
    programs[p.name] = verdict;
    if (verdict.verdict !== p.intent) surprises.push(p.name);
  }
  const accepted = Object.values(programs).filter((v) => v.verdict === 'accept').length;
  console.log(`# corpus: ${corpus().length} programs, kernel ${kernelRelease()}: ${accepted} accepted, ${corpus().length - accepted} rejected; ${surprises.length} differ from their author's intent (the kernel decides)`);
  if (updateGolden) {
    writeGolden({ kernel: kernelRelease(), programs });
    return;
  }
  const golden: Golden = readGolden();
  const changed: string[] = [];
  for (const [name, v] of Object.entries(programs)) {
    const g = golden.programs[name];
    if (!g) changed.push(`${name}: not in the golden (run with BPFKIT_UPDATE_GOLDEN=1)`);
    else if (g.verdict !== v.verdict || g.message !== v.message) changed.push(`${name}: golden ${g.verdict} "${g.message ?? ''}", kernel ${kernelRelease()} now ${v.verdict} "${v.message ?? ''}"`);
  }
  for (const name of Object.keys(golden.programs)) if (!(name in programs)) changed.push(`${name}: in the golden but no longer in the corpus`);
  assert.deepEqual(changed, [], `golden recorded on ${golden.kernel}`);
});
