// bpfkit's kfunc checks against the kernel's BPF_PROG_LOAD: every program of test/fixtures/kfunc (conntrack, dynptrs,
// XDP RX metadata, one mistake per program in kfunc_bad) and seeded mutants of them, verdict and message; zero looser.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parseBtf, type Btf } from '../../src/btf/index.js';
import { loadObject } from '../../src/elf/object-loader.js';
import type { ObjectSpec } from '../../src/elf/object-spec.js';
import { KFUNC_PROTOS } from '../../src/isa/kfunc-protos.js';
import { KfuncNotInKernelError, resolveKfunc } from '../../src/verifier/kfunc-resolve.js';
import { verifyProgram, type VerifyOptions } from '../../src/verifier/verify.js';
import { fixturesDir } from '../support/fixtures.js';
import { iterationSeed, prng } from '../support/mutate.js';
import { kernelTest } from '../kernel/harness.js';
import type { Sys } from '../../src/kernel/index.js';
import { AgreementReport, compareVerdicts } from './agreement.js';
import { objectProgramVerdict, type ObjectProgram } from './fixture-oracle.js';
import { mutateInstructions } from './mutate-program.js';

const kfuncDir = path.join(fixturesDir, 'kfunc');
const VMLINUX = '/sys/kernel/btf/vmlinux';
/** Mutants of the kfunc programs compared with the live kernel; BPFKIT_KFUNC_MUTANTS raises it. */
const MUTANTS = Number(process.env['BPFKIT_KFUNC_MUTANTS'] ?? 400);

function kfuncObjects(): { file: string; spec: ObjectSpec }[] {
  return readdirSync(kfuncDir)
    .filter((f) => f.endsWith('.o'))
    .sort()
    .map((f) => ({ file: path.join(kfuncDir, f), spec: loadObject(new Uint8Array(readFileSync(path.join(kfuncDir, f))), { objectName: f.replace(/\.o$/, '') }) }));
}

function programs(): ObjectProgram[] {
  const out: ObjectProgram[] = [];
  for (const { file, spec } of kfuncObjects()) for (const p of spec.programs) out.push({ key: `kfunc/${path.basename(file)}:${p.name}`, file, spec, program: p.name });
  return out;
}

let btf: Btf | undefined;
const kernelBtf = (): Btf => (btf ??= parseBtf(new Uint8Array(readFileSync(VMLINUX))));

/**
 * Kfuncs this kernel's build refuses after checking their arguments (`NAME() is not allowed`),
 * asked once: a program that calls bpf_dynptr_slice_rdwr correctly is loaded and its log read.
 */
function probeRefused(sys: Sys): Set<string> {
  const refused = new Set<string>();
  const op = programs().find((p) => p.program === 'xdp_dynptr_rdwr')!;
  const v = objectProgramVerdict(sys, op);
  const m = /^(\w+)\(\) is not allowed$/.exec(v.message ?? '');
  if (v.verdict === 'reject' && m) refused.add(m[1]!);
  return refused;
}

function options(refused: ReadonlySet<string>): VerifyOptions {
  return { privileged: true, kernelBtf: kernelBtf(), kfuncRefused: (_t, name) => refused.has(name) };
}

kernelTest('kfunc fixtures: every program gets the kernel verdict and message', (sys) => {
  const refused = probeRefused(sys);
  const report = new AgreementReport('kfunc fixtures');
  let exact = 0;
  for (const op of programs()) {
    const { processedInsns: _p, timeUsec: _t, ...kernel } = objectProgramVerdict(sys, op);
    assert.equal(kernel.error, undefined, `${op.key}: the loader refused it (${kernel.error})`);
    const prog = op.spec.programs.find((p) => p.name === op.program)!;
    const r = verifyProgram(prog, op.spec, options(refused));
    const ours = r.message === undefined ? { verdict: r.verdict } : { verdict: r.verdict, message: r.message };
    const outcome = compareVerdicts(kernel, ours);
    if (outcome === 'exact' || outcome === 'agree') exact++;
    report.add({ name: op.key, outcome, kernel, ours });
  }
  console.log(report.format(100));
  console.log(`# kfunc fixtures: ${exact}/${programs().length} equal the kernel (verdict and message); refused by this build: ${[...refused].join(', ') || 'none'}`);
  assert.equal(exact, programs().length, 'every kfunc fixture program: the kernel verdict and message');
});

kernelTest(`kfunc mutants: bpfkit agrees with the kernel on ${MUTANTS} mutated kfunc programs, never looser`, (sys) => {
  const refused = probeRefused(sys);
  const bases = programs().filter((p) => !p.key.includes('kfunc_bad'));
  const report = new AgreementReport('kfunc mutants');
  const seed = Number(process.env['BPFKIT_SEED'] ?? 18);
  let loaderRefused = 0;
  for (let i = 0; i < MUTANTS; i++) {
    const r = prng(iterationSeed(seed ^ 0x6b66, i));
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
    const o = verifyProgram(mutated, spec, options(refused));
    const ours = o.message === undefined ? { verdict: o.verdict } : { verdict: o.verdict, message: o.message };
    report.add({ name: `${op.key} (${m.what.join(', ')})`, outcome: compareVerdicts(kernel, ours), kernel, ours });
  }
  console.log(report.format(40));
  if (loaderRefused) console.log(`${loaderRefused} mutants refused by the loader before the verifier (not compared)`);
  assert.equal(report.count('looser'), 0, 'bpfkit accepts a kfunc program the kernel rejects');
  assert.ok(report.rate >= 0.97, `kfunc mutant agreement ${(report.rate * 100).toFixed(1)}% is under 97%`);
});

test('kfunc table: every row matches the running kernel BTF prototype (names and arity)', { skip: existsSync(VMLINUX) ? false : 'no /sys/kernel/btf/vmlinux' }, () => {
  const b = kernelBtf();
  for (const k of KFUNC_PROTOS) {
    const fromBtf = resolveKfunc(k.name, b)!;
    const fromTable = resolveKfunc(k.name, undefined)!;
    assert.deepEqual(fromBtf.params.map((p) => p.name), k.params.map((p) => p.name), `${k.name}: parameter names`);
    assert.deepEqual(fromBtf.params.map((p) => p.kind), fromTable.params.map((p) => p.kind), `${k.name}: parameter kinds`);
    assert.equal(fromBtf.ret.kind, fromTable.ret.kind, `${k.name}: return kind`);
    fromBtf.params.forEach((p, i) => {
      const t = fromTable.params[i]!;
      if (p.kind === 'scalar') assert.equal(p.size, t.size, `${k.name}: ${p.name} size`);
      else if (p.pointee!.kind === 'scalar') assert.equal(p.pointee!.size, t.pointee!.size, `${k.name}: ${p.name} pointee size`);
      else assert.equal(p.pointee!.name, t.pointee!.name, `${k.name}: ${p.name} pointee`);
    });
  }
});

test('kfunc resolution: a kfunc the kernel BTF lacks is a typed error naming it; an unmodelled one is named', () => {
  const empty = parseBtf(new Uint8Array([0x9f, 0xeb, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]));
  assert.throws(() => resolveKfunc('bpf_xdp_ct_lookup', empty), (e: unknown) => e instanceof KfuncNotInKernelError && e.kfunc === 'bpf_xdp_ct_lookup' && e.code === 'ERR_KFUNC_NOT_IN_KERNEL');
  assert.equal(resolveKfunc('bpf_no_such_kfunc', undefined), undefined);
  const dyn = kfuncObjects().find((o) => o.file.endsWith('kfunc_dynptr.o'))!.spec;
  const xdpDynptr = dyn.programs.find((p) => p.name === 'xdp_dynptr')!;
  const r = verifyProgram(xdpDynptr, dyn, { kernelBtf: empty });
  assert.equal(r.verdict, 'reject');
  assert.match(r.message!, /kfunc bpf_dynptr_from_xdp is not in the kernel's BTF/);
  // Without the kernel's BTF the table's prototypes are used; a kernel struct read needs the layout.
  assert.equal(verifyProgram(xdpDynptr, dyn, {}).verdict, 'accept');
  const spec = kfuncObjects().find((o) => o.file.endsWith('kfunc_ct.o'))!.spec;
  const noBtf = verifyProgram(spec.programs.find((p) => p.name === 'tc_ct_lookup')!, spec, {});
  assert.equal(noBtf.verdict, 'reject');
  assert.match(noBtf.message!, /needs the kernel's BTF/);
});
