// Benchmark: the kernel's state pruning next to bpfkit's on big programs — processed instructions, states and time, one run.
//
//   node --import tsx bench/verifier-pruning.ts [DIR] [--type-map FILE] [--only SUBSTRING]
//        [--min-insns N] [--reps N] [--json OUT] [--no-fixtures]
//   npm run bench:verifier-pruning -- /work/real/obj --type-map /work/real/type-map.json
//
// Programs: the committed pruning fixtures (test/fixtures/prune/*.o, always), and every program
// of every .o under DIR (real programs built locally, never committed: docs/verifier.md says how
// to build katran's balancer, the kernel selftests' test_cls_redirect, xdp_synproxy ...) that the
// kernel accepts after processing at least --min-insns instructions (default 10,000).
// For each program, in the same run:
//   kernel: BPF_PROG_LOAD with log_level 4 (BPF_LOG_STATS): "processed N insns ... total_states
//           ... peak_states ..." and "verification time X usec"; the minimum time of --reps loads;
//   bpfkit: verifyProgram (log level 0) told what the running kernel is (its BTF, refused helpers
//           and kfuncs), the median of --reps runs after one warm-up run.
// Printed: both sides' processed instructions, states and times, and the ratios bpfkit / kernel
// (goals: instructions within 10%, time <= 3x). Needs root and bpf(2) for the kernel side.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { applyProgramType, loadObject, objectNameFromPath, type ObjectSpec, type ProgramSpec } from '../src/index.js';
import { createKernelSys } from '../src/kernel/index.js';
import { verifyProgram } from '../src/verifier/verify.js';
import { hostFacts, kernelStats, pruneFixturesDir, type KernelStats } from '../test/verifier/prune-oracle.js';

const USAGE = 'usage: node --import tsx bench/verifier-pruning.ts [DIR] [--type-map FILE] [--only SUBSTRING] [--min-insns N] [--reps N] [--json OUT] [--no-fixtures]';

function objects(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.o')) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

type TypeChoice = string | Readonly<Record<string, string>>;

function typeFor(table: Readonly<Record<string, TypeChoice>>, label: string): TypeChoice | undefined {
  return table[label] ?? table[label.replace(/\.o$/, '')];
}

interface Row {
  name: string;
  kernel?: KernelStats;
  kernelError?: string;
  bpfkit: { processedInsns: number; totalStates: number; peakStates: number; timeUsec: number; verdict: string; message?: string };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'type-map': { type: 'string' },
      only: { type: 'string' },
      'min-insns': { type: 'string' },
      reps: { type: 'string' },
      json: { type: 'string' },
      'no-fixtures': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length > 1) {
    console.log(USAGE);
    process.exit(values.help ? 0 : 1);
  }
  const minInsns = Number(values['min-insns'] ?? 10_000);
  const reps = Math.max(1, Number(values.reps ?? 3));
  const typeMap = values['type-map'] ? (JSON.parse(readFileSync(values['type-map'], 'utf8')) as Record<string, TypeChoice>) : {};
  const sys = createKernelSys();
  const facts = hostFacts(sys);

  const candidates: { label: string; spec: ObjectSpec; prog: ProgramSpec; fixture: boolean }[] = [];
  const add = (file: string, label: string, fixture: boolean): void => {
    let spec: ObjectSpec;
    try {
      spec = loadObject(new Uint8Array(readFileSync(file)), { objectName: objectNameFromPath(file) });
      const t = typeFor(typeMap, label);
      if (t !== undefined) spec = applyProgramType(spec, t);
    } catch (e) {
      console.log(`# ${label}: skipped, ${(e as Error).message.split('\n')[0]}`);
      return;
    }
    for (const prog of spec.programs) {
      const name = `${label}:${prog.name}`;
      if (values.only && !name.includes(values.only)) continue;
      candidates.push({ label: name, spec, prog, fixture });
    }
  };
  if (!values['no-fixtures']) for (const f of readdirSync(pruneFixturesDir).filter((f) => f.endsWith('.o')).sort()) add(path.join(pruneFixturesDir, f), `prune/${f}`, true);
  const dir = positionals[0];
  if (dir) for (const f of objects(dir)) add(f, path.relative(dir, f), false);

  const rows: Row[] = [];
  for (const c of candidates) {
    const first = kernelStats(sys, c.spec, c.prog.name);
    // Real programs: only the big ones the kernel accepts (the fixtures are shown whatever they are).
    if (!c.fixture && ('error' in first || first.processedInsns < minInsns)) continue;
    let kernel: KernelStats | undefined = 'error' in first ? undefined : first;
    for (let i = 1; kernel && i < reps; i++) {
      const k = kernelStats(sys, c.spec, c.prog.name);
      if (!('error' in k) && k.timeUsec < kernel.timeUsec) kernel = k;
    }
    verifyProgram(c.prog, c.spec, facts);
    const times: number[] = [];
    let r = verifyProgram(c.prog, c.spec, facts);
    for (let i = 0; i < reps; i++) {
      r = verifyProgram(c.prog, c.spec, facts);
      times.push(r.durationNs / 1000);
    }
    const row: Row = {
      name: c.label,
      ...(kernel ? { kernel } : { kernelError: 'error' in first ? first.error : '' }),
      bpfkit: { processedInsns: r.processedInsns, totalStates: r.totalStates, peakStates: r.peakStates, timeUsec: Math.round(median(times)), verdict: r.verdict, ...(r.message ? { message: r.message } : {}) },
    };
    rows.push(row);
    printRow(row, rows.length === 1);
  }
  let ki = 0;
  let bi = 0;
  let kt = 0;
  let bt = 0;
  for (const r of rows) {
    if (!r.kernel) continue;
    ki += r.kernel.processedInsns;
    bi += r.bpfkit.processedInsns;
    kt += r.kernel.timeUsec;
    bt += r.bpfkit.timeUsec;
  }
  if (kt > 0) console.log(`\ntotal: kernel ${ki} insns ${kt} us, bpfkit ${bi} insns ${bt} us: insns ${(bi / ki).toFixed(2)}x, time ${(bt / kt).toFixed(2)}x (goals: insns <= 1.10x, time <= 3x)`);
  if (values.json) writeFileSync(values.json, JSON.stringify({ reps, minInsns, rows }, null, 2));
}

const pad = (s: string | number, n: number): string => String(s).padStart(n);

function printRow(r: Row, header: boolean): void {
  if (header) console.log(`${'program'.padEnd(56)} ${pad('k insns', 8)} ${pad('states', 6)} ${pad('k us', 7)} | ${pad('b insns', 8)} ${pad('states', 6)} ${pad('b us', 8)} | ${pad('insns', 6)} ${pad('time', 6)}  verdict`);
  const k = r.kernel;
  const b = r.bpfkit;
  const ir = k ? (b.processedInsns / k.processedInsns).toFixed(2) + 'x' : '-';
  const tr = k ? (b.timeUsec / Math.max(1, k.timeUsec)).toFixed(1) + 'x' : '-';
  const verdict = k ? b.verdict : `${b.verdict} (kernel: ${r.kernelError})`;
  console.log(`${r.name.slice(-56).padEnd(56)} ${pad(k?.processedInsns ?? '-', 8)} ${pad(k?.totalStates ?? '-', 6)} ${pad(k?.timeUsec ?? '-', 7)} | ${pad(b.processedInsns, 8)} ${pad(b.totalStates, 6)} ${pad(b.timeUsec, 8)} | ${pad(ir, 6)} ${pad(tr, 6)}  ${verdict}${b.message && b.verdict === 'reject' ? `: ${b.message}` : ''}`);
}

void main();
