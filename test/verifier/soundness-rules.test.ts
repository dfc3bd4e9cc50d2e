// The kernel's soundness rules the verifier selftests found bpfkit missing (bpf_spin_lock, sockets
// derived from a released reference, LD_ABS in subprograms, strict alignment, bpf_tcp_sock's
// layout, registers past r10), against the kernel's BPF_PROG_LOAD: every program of
// test/fixtures/soundness-rules gets the kernel's verdict and message, and a hint when refused.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { loadObject } from '../../src/elf/object-loader.js';
import type { ObjectSpec } from '../../src/elf/object-spec.js';
import { verifyProgram } from '../../src/verifier/verify.js';
import { fixturesDir } from '../support/fixtures.js';
import { kernelTest } from '../kernel/harness.js';
import { AgreementReport, compareVerdicts } from './agreement.js';
import { objectProgramVerdict, type ObjectProgram } from './fixture-oracle.js';
import { iterationSeed, prng } from '../support/mutate.js';
import { mutateInstructions } from './mutate-program.js';

const dir = path.join(fixturesDir, 'soundness-rules');
const BPF_F_STRICT_ALIGNMENT = 1;

/** Every program; the ones named *strict* are loaded with BPF_F_STRICT_ALIGNMENT (bpfkit reads it from the spec's flags). */
function programs(): ObjectProgram[] {
  const out: ObjectProgram[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.o')).sort()) {
    const file = path.join(dir, f);
    const loaded = loadObject(new Uint8Array(readFileSync(file)), { objectName: f.replace(/\.o$/, '') });
    const spec: ObjectSpec = { ...loaded, programs: loaded.programs.map((p) => (p.name.includes('strict') ? { ...p, flags: p.flags | BPF_F_STRICT_ALIGNMENT } : p)) };
    for (const p of spec.programs) out.push({ key: `soundness-rules/${f}:${p.name}`, file, spec, program: p.name });
  }
  return out;
}

kernelTest('soundness-rule fixtures: every program gets the kernel verdict and message, and every refusal a hint', (sys) => {
  const all = programs();
  assert.ok(all.length >= 24, `only ${all.length} programs`);
  const report = new AgreementReport('soundness-rule fixtures');
  let equal = 0;
  const noHint: string[] = [];
  for (const op of all) {
    const { processedInsns: _p, timeUsec: _t, ...kernel } = objectProgramVerdict(sys, op);
    assert.equal(kernel.error, undefined, `${op.key}: the loader refused it (${kernel.error})`);
    // The fixtures name what they test: bad_* programs are mistakes the kernel refuses.
    assert.equal(kernel.verdict, op.program.startsWith('bad_') ? 'reject' : 'accept', `${op.key}: the kernel's verdict is not the one the fixture was written for (${kernel.message ?? ''})`);
    const prog = op.spec.programs.find((p) => p.name === op.program)!;
    const r = verifyProgram(prog, op.spec, { privileged: true });
    const ours = r.message === undefined ? { verdict: r.verdict } : { verdict: r.verdict, message: r.message };
    const outcome = compareVerdicts(kernel, ours);
    if (outcome === 'exact' || outcome === 'agree') equal++;
    if (r.verdict === 'reject' && !r.hint) noHint.push(`${op.key}: ${r.message ?? ''}`);
    report.add({ name: op.key, outcome, kernel, ours });
  }
  console.log(report.format(100));
  for (const r of report.rows.filter((x) => x.outcome !== 'exact' && x.outcome !== 'agree')) console.log(`  ${r.outcome}: ${r.name} — kernel: ${r.kernel.verdict} ${r.kernel.message ?? ''} | bpfkit: ${r.ours.verdict} ${r.ours.message ?? ''}`);
  console.log(`# soundness-rule fixtures: ${equal}/${all.length} equal the kernel (verdict and message)`);
  assert.equal(report.count('looser'), 0, 'bpfkit accepts a program the kernel rejects');
  assert.equal(equal, all.length, 'every soundness-rule fixture program: the kernel verdict and message');
  assert.deepEqual(noHint, [], 'every refusal explained');
});

const MUTANTS = 300;

kernelTest(`soundness-rule mutants: ${MUTANTS} mutated fixture programs (locks, sockets, LD_ABS, alignment) never looser than the kernel, no internal error`, (sys) => {
  const bases = programs();
  const report = new AgreementReport('soundness-rule mutants');
  const seed = Number(process.env['BPFKIT_SEED'] ?? 19);
  const internal: string[] = [];
  for (let i = 0; i < MUTANTS; i++) {
    const r = prng(iterationSeed(seed ^ 0x736f, i));
    const op = r.pick(bases);
    const prog = op.spec.programs.find((p) => p.name === op.program)!;
    const m = mutateInstructions(r, prog.instructions, 20, false);
    if (!m) continue;
    const mutated = { ...prog, instructions: m.insns };
    const spec = { ...op.spec, programs: op.spec.programs.map((p) => (p.name === op.program ? mutated : p)) };
    const { processedInsns: _p, timeUsec: _t, ...kernel } = objectProgramVerdict(sys, { ...op, spec });
    if (kernel.error) continue;
    const o = verifyProgram(mutated, spec, { privileged: true });
    if (/internal error/.test(o.message ?? '')) internal.push(`${op.key} (${m.what.join(', ')}): ${o.message ?? ''}`);
    const ours = o.message === undefined ? { verdict: o.verdict } : { verdict: o.verdict, message: o.message };
    report.add({ name: `${op.key} (${m.what.join(', ')})`, outcome: compareVerdicts(kernel, ours), kernel, ours });
  }
  console.log(report.format(40));
  assert.deepEqual(internal, [], 'no bpfkit internal error');
  assert.ok(report.rows.length >= MUTANTS / 2, `only ${report.rows.length} mutants compared`);
  assert.equal(report.count('looser'), 0, 'bpfkit accepts a mutant the kernel rejects');
});
