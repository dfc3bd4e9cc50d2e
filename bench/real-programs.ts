// Real programs against the kernel: for every .o under DIR and every program in it, inspect and
// disasm work, bpfkit's verdict vs BPF_PROG_LOAD's, bpfkit's load tag vs bpftool's, and userspace
// test runs vs BPF_PROG_TEST_RUN over a packet corpus; failures grouped by cause. See docs/real-programs.md.
//
//   node --import tsx bench/real-programs.ts DIR [--type-map FILE] [--seeds FILE] [--max-entries FILE] [--json OUT]
//        [--only SUBSTRING] [--engines jit,interpreter] [--no-test-runs] [--commit LABEL]

import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createKernelSys } from '../src/kernel/index.js';
import { bpftoolMissing } from './real-programs/bpftool.js';
import { packetCorpus } from './real-programs/corpus.js';
import { measureObject, objectLabel, type MapSeeds, type ProgramResult, type TypeChoice } from './real-programs/measure.js';
import { formatReport, groupCauses, totals, type Report } from './real-programs/report.js';

const USAGE = 'usage: node --import tsx bench/real-programs.ts DIR [--type-map FILE] [--seeds FILE] [--max-entries FILE] [--json OUT] [--only SUBSTRING] [--engines jit,interpreter] [--no-test-runs] [--commit LABEL]';

/** Every .o under `dir`, sorted. */
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

/**
 * The entry of a JSON map for an object: its label (`katran/balancer.o`), its label without `.o`,
 * or the longest `prefix/*` pattern that matches.
 */
function lookup<T>(table: Readonly<Record<string, T>>, label: string): T | undefined {
  if (label in table) return table[label];
  const bare = label.replace(/\.o$/, '');
  if (bare in table) return table[bare];
  const globs = Object.keys(table)
    .filter((k) => k.endsWith('*') && label.startsWith(k.slice(0, -1)))
    .sort((a, b) => b.length - a.length);
  return globs[0] === undefined ? undefined : table[globs[0]];
}

function readJson<T>(file: string | undefined): T | undefined {
  return file === undefined ? undefined : (JSON.parse(readFileSync(file, 'utf8')) as T);
}

function commit(): string {
  try {
    const here = path.dirname(new URL(import.meta.url).pathname);
    return execFileSync('git', ['-C', here, 'log', '-1', '--format=%h %cd', '--date=format:%H:%M'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown commit';
  }
}

async function mainCommand(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'type-map': { type: 'string' },
      seeds: { type: 'string' },
      'max-entries': { type: 'string' },
      json: { type: 'string' },
      only: { type: 'string' },
      engines: { type: 'string' },
      commit: { type: 'string' },
      'no-test-runs': { type: 'boolean' },
    },
  });
  const dir = positionals[0];
  if (dir === undefined || !statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const missing = bpftoolMissing();
  if (missing) {
    process.stderr.write(`real-programs: ${missing}; bpftool is the reference load\n`);
    return 2;
  }
  const typeMap = readJson<Record<string, TypeChoice>>(values['type-map']) ?? {};
  const seedMap = readJson<Record<string, MapSeeds>>(values.seeds) ?? {};
  const sizeMap = readJson<Record<string, Record<string, number>>>(values['max-entries']) ?? {};
  const engines = (values.engines ?? 'jit,interpreter').split(',').filter((e): e is 'jit' | 'interpreter' => e === 'jit' || e === 'interpreter');
  const packets = packetCorpus();
  const sys = createKernelSys();
  // The kernel test-runs on the caller's CPU, userspace on simulated CPU 0: pin every thread to
  // CPU 0 so bpf_get_smp_processor_id and per-CPU slots agree (as test/runtime/differential does).
  try {
    execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
  } catch {
    process.stderr.write('real-programs: taskset failed; runs that read the CPU id may differ\n');
  }
  const pinRoot = `/sys/fs/bpf/bpfkit-real-${process.pid}`;
  mkdirSync(pinRoot, { recursive: true });
  const results: ProgramResult[] = [];
  const started = Date.now();
  try {
    for (const file of objects(dir)) {
      const label = objectLabel(dir, file);
      if (values.only !== undefined && !label.includes(values.only)) continue;
      const t0 = Date.now();
      let rows: ProgramResult[];
      try {
        const type = lookup(typeMap, label);
        const seeds = lookup(seedMap, label);
        const maxEntries = lookup(sizeMap, label);
        rows = await measureObject(file, label, {
          sys,
          pinRoot,
          packets,
          engines,
          ...(type !== undefined ? { type } : {}),
          ...(seeds !== undefined ? { seeds } : {}),
          ...(maxEntries !== undefined ? { maxEntries } : {}),
          ...(values['no-test-runs'] ? { noTestRuns: true } : {}),
        });
      } catch (e) {
        // The harness must not stop on any object: record what escaped as the object's failure.
        const message = e instanceof Error ? e.message.split('\n')[0] ?? '' : String(e);
        rows = [{ object: label, program: '(harness)', section: '', type: '', inspect: false, disasm: false, verify: 'error', cliVerify: 'error', cliAgrees: undefined, kernel: 'unknown', kernelBy: 'none', verdictAgrees: undefined, tagAgrees: undefined, runs: 0, runsAgree: 0, mapChecks: 0, mapChecksAgree: 0, causes: [{ kind: 'error', key: `harness: ${message}`, message }] }];
      }
      results.push(...rows);
      const agree = rows.filter((r) => r.verdictAgrees).length;
      process.stderr.write(`  ${label}: ${rows.length} programs, verdicts ${agree}/${rows.filter((r) => r.verdictAgrees !== undefined).length}, runs ${rows.reduce((n, r) => n + r.runsAgree, 0)}/${rows.reduce((n, r) => n + r.runs, 0)} (${Date.now() - t0} ms)\n`);
    }
  } finally {
    rmSync(pinRoot, { recursive: true, force: true });
  }
  const report: Report = {
    date: new Date().toISOString(),
    commit: values.commit ?? commit(),
    dir: path.resolve(dir),
    packets: packets.length,
    engines,
    totals: totals(results),
    causes: groupCauses(results),
    programs: results,
  };
  process.stdout.write(formatReport(report));
  process.stdout.write(`(${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
  if (values.json !== undefined) {
    const tmp = `${values.json}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(report, null, 2) + '\n');
    renameSync(tmp, values.json);
  }
  return 0;
}

process.exitCode = await mainCommand();
