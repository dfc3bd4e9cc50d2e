// Benchmark: bpfkit's verifier next to the kernel's on the same programs, in one run.
//
// `node --import tsx bench/verifier.bench.ts` (root, for the kernel side; without bpf(2) only
// bpfkit is timed). Inputs: every program of the committed fixtures, the verifier fixtures and
// xdp-tools' objects, plus the accepted corpus programs. For each program:
//   kernel: BPF_PROG_LOAD with log_level 4 (BPF_LOG_STATS), which prints "processed N insns" and
//           "verification time X usec" without the verbose log; the minimum of 3 loads;
//   bpfkit: verifyProgram / verifyInstructions (log level 0), the median of 5 runs after a warm-up
//           run; before any timing, every object program is verified once (JIT warm-up: without
//           it the first programs measured pay V8's compilation of the verifier).
// Printed per object program, then totals: time ratio (bpfkit / kernel; the goal is <= 3x) and
// bpfkit's processed instructions per second (the goal is >= 0.5 M/s).
import { createKernelSys, type Sys } from '../src/kernel/index.js';
import type { VerifyResult } from '../src/verifier/verify.js';
import { CORPUS_MAPS, corpus } from '../test/verifier/corpus/index.js';
import { objectPrograms, objectProgramVerdict } from '../test/verifier/fixture-oracle.js';
import { readGolden } from '../test/verifier/golden.js';
import { kernelVerifyFresh } from '../test/verifier/kernel-oracle.js';
import { codeLabel, load } from './code-under-test.js';

// The verifier under test comes from dist/ when it is built (see code-under-test.ts).
const { verifyInstructions, verifyProgram } = await load<typeof import('../src/verifier/verify.js')>('verifier/verify.js');
console.log(`# code under test: ${codeLabel}`);

function kernelSys(): Sys | undefined {
  try {
    return createKernelSys();
  } catch (err) {
    console.log(`kernel side skipped: ${(err as Error).message}`);
    return undefined;
  }
}

interface Row {
  name: string;
  kernelUs?: number;
  kernelInsns?: number;
  oursUs: number;
  oursInsns: number;
  verdict: string;
}

function timeOurs(run: () => VerifyResult, reps = 5): { us: number; r: VerifyResult } {
  let r = run();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    r = run();
    times.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return { us: times[Math.floor(times.length / 2)]!, r };
}

const sys = kernelSys();
const rows: Row[] = [];
const programs = objectPrograms();
for (const op of programs) verifyProgram(op.spec.programs.find((p) => p.name === op.program)!, op.spec, { logLevel: 0 });
for (const op of programs) {
  const prog = op.spec.programs.find((p) => p.name === op.program)!;
  const { us, r } = timeOurs(() => verifyProgram(prog, op.spec, { logLevel: 0 }));
  const row: Row = { name: op.key, oursUs: us, oursInsns: r.processedInsns, verdict: r.verdict };
  if (sys) {
    let best: { timeUsec?: number; processedInsns?: number; error?: string } | undefined;
    for (let i = 0; i < 3; i++) {
      const v = objectProgramVerdict(sys, op, 4);
      if (v.error) break;
      if (!best || (v.timeUsec ?? Infinity) < (best.timeUsec ?? Infinity)) best = v;
    }
    if (best?.timeUsec !== undefined) row.kernelUs = best.timeUsec;
    if (best?.processedInsns !== undefined) row.kernelInsns = best.processedInsns;
  }
  rows.push(row);
}

const pad = (s: string | number, n: number) => String(s).padStart(n);
console.log(`\n${'program'.padEnd(52)} ${pad('kernel us', 10)} ${pad('insns', 8)} ${pad('bpfkit us', 10)} ${pad('insns', 8)} ${pad('ratio', 7)}  verdict`);
for (const r of rows) {
  const ratio = r.kernelUs ? (r.oursUs / r.kernelUs).toFixed(2) + 'x' : '-';
  console.log(`${r.name.slice(0, 52).padEnd(52)} ${pad(r.kernelUs ?? '-', 10)} ${pad(r.kernelInsns ?? '-', 8)} ${pad(r.oursUs.toFixed(0), 10)} ${pad(r.oursInsns, 8)} ${pad(ratio, 7)}  ${r.verdict}`);
}

// The corpus: many tiny programs, where fixed costs dominate.
const golden = readGolden();
let corpusOursUs = 0;
let corpusOursInsns = 0;
let corpusKernelUs = 0;
let corpusKernelInsns = 0;
let corpusN = 0;
for (const p of corpus()) {
  if (golden.programs[p.name]?.verdict !== 'accept' || p.name.startsWith('loop/')) continue;
  const { us, r } = timeOurs(() => verifyInstructions(p.insns, { programType: p.type, maps: CORPUS_MAPS }), 3);
  corpusOursUs += us;
  corpusOursInsns += r.processedInsns;
  corpusN++;
  if (sys) {
    const v = kernelVerifyFresh(sys, p.type, p.insns, CORPUS_MAPS, { logLevel: 4 });
    corpusKernelUs += v.timeUsec ?? 0;
    corpusKernelInsns += v.processedInsns ?? 0;
  }
}

const both = rows.filter((r) => r.kernelUs !== undefined);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const oursUs = sum(both.map((r) => r.oursUs));
const kernelUs = sum(both.map((r) => r.kernelUs!));
const oursInsns = sum(rows.map((r) => r.oursInsns));
const oursAllUs = sum(rows.map((r) => r.oursUs));
console.log(`\nobjects: ${rows.length} programs; bpfkit ${(oursAllUs / 1000).toFixed(1)} ms for ${oursInsns} processed insns = ${(oursInsns / (oursAllUs / 1e6) / 1e6).toFixed(2)} M insns/s`);
if (both.length) console.log(`objects: bpfkit / kernel verification time = ${(oursUs / kernelUs).toFixed(2)}x (kernel ${(kernelUs / 1000).toFixed(1)} ms, bpfkit ${(oursUs / 1000).toFixed(1)} ms over ${both.length} programs); processed insns bpfkit ${sum(both.map((r) => r.oursInsns))} vs kernel ${sum(both.map((r) => r.kernelInsns ?? 0))}`);
console.log(`corpus: ${corpusN} accepted programs; bpfkit ${(corpusOursUs / 1000).toFixed(1)} ms (${corpusOursInsns} insns)${sys ? `, kernel ${(corpusKernelUs / 1000).toFixed(1)} ms (${corpusKernelInsns} insns), ratio ${(corpusOursUs / Math.max(1, corpusKernelUs)).toFixed(2)}x` : ''}`);
