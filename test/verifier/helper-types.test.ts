// Helper prototypes and the types they give registers, against the kernel's BPF_PROG_LOAD: every program of
// test/fixtures/helper-types (sockmap lookups, dynptr and storage helpers, per-type helpers), verdict and message.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseBtf, type Btf } from '../../src/btf/index.js';
import { loadObject } from '../../src/elf/object-loader.js';
import { verifyProgram } from '../../src/verifier/verify.js';
import { fixturesDir } from '../support/fixtures.js';
import { kernelTest } from '../kernel/harness.js';
import { AgreementReport, compareVerdicts } from './agreement.js';
import { objectProgramVerdict, type ObjectProgram } from './fixture-oracle.js';

const dir = path.join(fixturesDir, 'helper-types');

function programs(): ObjectProgram[] {
  const out: ObjectProgram[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.o')).sort()) {
    const file = path.join(dir, f);
    const spec = loadObject(new Uint8Array(readFileSync(file)), { objectName: f.replace(/\.o$/, '') });
    for (const p of spec.programs) out.push({ key: `helper-types/${f}:${p.name}`, file, spec, program: p.name });
  }
  return out;
}

let btf: Btf | undefined;
const kernelBtf = (): Btf => (btf ??= parseBtf(new Uint8Array(readFileSync('/sys/kernel/btf/vmlinux'))));

kernelTest('helper-type fixtures: every program gets the kernel verdict and message', (sys) => {
  const all = programs();
  const report = new AgreementReport('helper-type fixtures');
  let equal = 0;
  for (const op of all) {
    const { processedInsns: _p, timeUsec: _t, ...kernel } = objectProgramVerdict(sys, op);
    assert.equal(kernel.error, undefined, `${op.key}: the loader refused it (${kernel.error})`);
    // The fixtures name what they test: bad_* programs are mistakes the kernel refuses.
    assert.equal(kernel.verdict, op.program.startsWith('bad_') ? 'reject' : 'accept', `${op.key}: the kernel's verdict is not the one the fixture was written for (${kernel.message ?? ''})`);
    const prog = op.spec.programs.find((p) => p.name === op.program)!;
    const r = verifyProgram(prog, op.spec, { privileged: true, kernelBtf: kernelBtf() });
    const ours = r.message === undefined ? { verdict: r.verdict } : { verdict: r.verdict, message: r.message };
    const outcome = compareVerdicts(kernel, ours);
    if (outcome === 'exact' || outcome === 'agree') equal++;
    report.add({ name: op.key, outcome, kernel, ours });
  }
  console.log(report.format(100));
  for (const r of report.rows.filter((x) => x.outcome === 'class')) console.log(`  same class, other message: ${r.name} — kernel: ${r.kernel.message ?? '?'} | bpfkit: ${r.ours.message ?? '?'}`);
  console.log(`# helper-type fixtures: ${equal}/${all.length} equal the kernel (verdict and message)`);
  assert.equal(report.count('looser'), 0, 'bpfkit accepts a program the kernel rejects');
  assert.equal(equal, all.length, 'every helper-type fixture program: the kernel verdict and message');
});
