// The real-programs harness report: per-program table, totals and failures grouped by cause (text and JSON).

import type { Cause, CauseKind } from './causes.js';
import type { ProgramResult } from './measure.js';

/** The totals of a run. */
export interface Totals {
  readonly objects: number;
  readonly programs: number;
  readonly inspectOk: number;
  readonly disasmOk: number;
  /** Programs whose kernel verdict is known, and how many of them bpfkit's verifier matches. */
  readonly verdictKnown: number;
  readonly verdictAgree: number;
  /** Of the same, how many `bpfkit verify` (the command) matches. */
  readonly cliAgree: number;
  /** Programs the kernel accepts. */
  readonly kernelAccepts: number;
  /** Programs with both tags, and how many are equal. */
  readonly tagCompared: number;
  readonly tagAgree: number;
  /** Programs bpftool loaded (the tag reference), and how many bpfkit's kernel backend loaded with the same tag. */
  readonly bpftoolLoaded: number;
  /** Userspace test runs and how many equal the kernel's. */
  readonly runs: number;
  readonly runsAgree: number;
  /** Of runsAgree, the runs equal only up to clock values (clock-window.ts). */
  readonly runsClock: number;
  /** Map-content checks after the runs (program x engine), and how many equal the kernel's maps. */
  readonly mapChecks: number;
  readonly mapChecksAgree: number;
  /** Of mapChecksAgree, the checks equal only up to clock values. */
  readonly mapChecksClock: number;
  /** Programs every one of whose runs agrees (of those with runs). */
  readonly programsRun: number;
  readonly programsRunAgree: number;
}

/** One cause with the programs it hit. */
export interface CauseGroup {
  readonly kind: CauseKind;
  readonly key: string;
  readonly example: string;
  readonly programs: readonly string[];
}

/** The whole report (the `--json` document). */
export interface Report {
  readonly date: string;
  readonly commit: string;
  readonly dir: string;
  readonly packets: number;
  readonly engines: readonly string[];
  readonly totals: Totals;
  readonly causes: readonly CauseGroup[];
  readonly programs: readonly ProgramResult[];
}

/** Sums the per-program results. */
export function totals(results: readonly ProgramResult[]): Totals {
  const withRuns = results.filter((r) => r.runs > 0);
  return {
    objects: new Set(results.map((r) => r.object)).size,
    programs: results.length,
    inspectOk: results.filter((r) => r.inspect).length,
    disasmOk: results.filter((r) => r.disasm).length,
    verdictKnown: results.filter((r) => r.verdictAgrees !== undefined).length,
    verdictAgree: results.filter((r) => r.verdictAgrees === true).length,
    cliAgree: results.filter((r) => r.verdictAgrees !== undefined && r.cliAgrees === true).length,
    kernelAccepts: results.filter((r) => r.kernel === 'accept').length,
    tagCompared: results.filter((r) => r.tagAgrees !== undefined).length,
    tagAgree: results.filter((r) => r.tagAgrees === true).length,
    bpftoolLoaded: results.filter((r) => r.bpftoolTag !== undefined).length,
    runs: results.reduce((n, r) => n + r.runs, 0),
    runsAgree: results.reduce((n, r) => n + r.runsAgree, 0),
    runsClock: results.reduce((n, r) => n + (r.runsClock ?? 0), 0),
    mapChecks: results.reduce((n, r) => n + r.mapChecks, 0),
    mapChecksAgree: results.reduce((n, r) => n + r.mapChecksAgree, 0),
    mapChecksClock: results.reduce((n, r) => n + (r.mapChecksClock ?? 0), 0),
    programsRun: withRuns.length,
    programsRunAgree: withRuns.filter((r) => r.runsAgree === r.runs).length,
  };
}

const KIND_ORDER: readonly CauseKind[] = [
  'untyped section',
  'missing program type',
  'missing helper',
  'missing kfunc',
  'missing map type',
  'kernel refuses',
  'verifier disagrees',
  'tag differs',
  'test run differs',
  'map contents differ',
  'error',
];

/** Failures grouped by kind and key, most programs first within a kind. */
export function groupCauses(results: readonly ProgramResult[]): CauseGroup[] {
  const groups = new Map<string, { kind: CauseKind; key: string; example: string; programs: string[] }>();
  for (const r of results) {
    for (const c of r.causes as readonly Cause[]) {
      const id = `${c.kind}\u0000${c.key}`;
      let g = groups.get(id);
      if (!g) groups.set(id, (g = { kind: c.kind, key: c.key, example: c.message, programs: [] }));
      g.programs.push(`${r.object}:${r.program}`);
    }
  }
  return [...groups.values()].sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) || b.programs.length - a.programs.length || a.key.localeCompare(b.key));
}

function pct(n: number, d: number): string {
  return d === 0 ? '-' : `${((100 * n) / d).toFixed(1)}%`;
}

function pad(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

const mark = (b: boolean | undefined): string => (b === undefined ? '-' : b ? 'yes' : 'NO');

/** The text report: the per-program table, the totals, the causes. */
export function formatReport(report: Report): string {
  const t = report.totals;
  const rows: string[][] = [['object', 'program', 'type', 'insp', 'dis', 'verify', 'cli', 'kernel (by)', 'verdict', 'tag', 'runs', 'note']];
  for (const r of report.programs) {
    const note = r.causes[0] ? `${r.causes[0].kind}: ${r.causes[0].key}` : (r.runsSkipped ?? '');
    rows.push([
      r.object,
      r.program,
      r.type,
      r.inspect ? 'ok' : 'FAIL',
      r.disasm ? 'ok' : 'FAIL',
      r.verify,
      r.cliVerify,
      `${r.kernel} (${r.kernelBy})`,
      mark(r.verdictAgrees),
      mark(r.tagAgrees),
      r.runs ? `${r.runsAgree}/${r.runs}` : '-',
      note.length > 110 ? `${note.slice(0, 107)}...` : note,
    ]);
  }
  let out = `real programs: ${report.dir} at ${report.commit} (${report.date}); ${report.packets} packets x engines ${report.engines.join('+')}\n\n`;
  out += pad(rows) + '\n\n';
  out += 'totals\n';
  out += pad([
    ['objects / programs', `${t.objects} / ${t.programs}`],
    ['inspect works', `${t.inspectOk} / ${t.programs}`],
    ['disasm works', `${t.disasmOk} / ${t.programs}`],
    ['verdict = kernel (library)', `${t.verdictAgree} / ${t.verdictKnown} (${pct(t.verdictAgree, t.verdictKnown)}; ${t.programs - t.verdictKnown} with no kernel verdict; the kernel accepts ${t.kernelAccepts})`],
    ['bpfkit verify (CLI) = kernel', `${t.cliAgree} / ${t.verdictKnown} (${pct(t.cliAgree, t.verdictKnown)})`],
    ['tag = bpftool', `${t.tagAgree} / ${t.bpftoolLoaded} loaded by bpftool (${pct(t.tagAgree, t.bpftoolLoaded)}; ${t.tagCompared} compared)`],
    ['test runs = kernel', `${t.runsAgree} / ${t.runs} (${pct(t.runsAgree, t.runs)}${t.runsClock ? `; ${t.runsClock} of them equal up to clock values` : ''})`],
    ['maps after the runs = kernel', `${t.mapChecksAgree} / ${t.mapChecks} (program x engine${t.mapChecksClock ? `; ${t.mapChecksClock} of them equal up to clock values` : ''})`],
    ['programs, all runs equal', `${t.programsRunAgree} / ${t.programsRun}`],
  ]) + '\n\n';
  out += 'failures by cause (programs hit)\n';
  let kind: string | undefined;
  for (const g of report.causes) {
    if (g.kind !== kind) {
      kind = g.kind;
      out += `  ${kind}\n`;
    }
    const progs = g.programs.length > 4 ? `${g.programs.slice(0, 4).join(', ')}, +${g.programs.length - 4}` : g.programs.join(', ');
    out += `    [${g.programs.length}] ${g.key}\n        e.g. ${g.example.slice(0, 200)}\n        ${progs}\n`;
  }
  return out;
}
