// The kernel's verifier selftests as a test of bpfkit's verifier: builds progs/verifier_*.c of the
// linux-source tarball (cached outside the repo), keeps the programs whose annotation the running
// kernel meets, and compares bpfkit's verdict with the kernel's. See docs/verifier.md.
//
//   node --import tsx bench/verifier-selftests.ts [--only verifier_and,verifier_bounds] [--json OUT]
//        [--jobs N] [--all-skips] [--progress]
// Exit 0 when it ran (whatever the agreement), 2 on bad usage or when the suite cannot be built.

import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createKernelSys, vmlinuxBtf } from '../src/kernel/index.js';
import { buildSelftests, cacheDir, findTarball } from './verifier-selftests/build.js';
import { compareObject, kernelFacts, totals, type ProgramRow, type SkippedRow } from './verifier-selftests/compare.js';

const USAGE = 'usage: node --import tsx bench/verifier-selftests.ts [--only FILE,...] [--json OUT] [--jobs N] [--all-skips] [--progress]';

function line(r: ProgramRow): string {
  const kernel = r.kernel === 'reject' ? `kernel rejects: ${r.kernelMessage ?? ''}` : 'kernel accepts';
  const bpfkit = r.bpfkit === 'accept' ? 'bpfkit accepts' : `bpfkit ${r.bpfkit === 'error' ? 'fails' : 'rejects'}${r.bpfkitInsn !== undefined ? ` at ${r.bpfkitInsn}` : ''}: ${r.bpfkitMessage ?? ''}`;
  return `  ${r.file}:${r.program} [${r.type}] — ${kernel}; ${bpfkit}`;
}

/** Skip reasons grouped by their first words (counts). */
function skipGroups(skipped: readonly SkippedRow[]): [string, number][] {
  const groups = new Map<string, number>();
  for (const s of skipped) {
    const key = s.reason.replace(/\(.*$/, '').replace(/: .*$/, '').trim();
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  return [...groups].sort((a, b) => b[1] - a[1]);
}

async function mainCommand(): Promise<number> {
  const { values } = parseArgs({ options: { only: { type: 'string' }, json: { type: 'string' }, jobs: { type: 'string' }, 'all-skips': { type: 'boolean' }, progress: { type: 'boolean' } } });
  const tarball = findTarball();
  if (tarball === undefined) {
    process.stderr.write(`no /usr/src/linux-source-*.tar.xz: apt-get install linux-source-6.12\n${USAGE}\n`);
    return 2;
  }
  const only = values.only?.split(',').map((s) => s.trim().replace(/\.(c|o)$/, '')).filter(Boolean);
  const t0 = Date.now();
  const built = await buildSelftests({ ...(only ? { only } : {}), jobs: Number(values.jobs ?? 2) });
  const tBuild = Date.now() - t0;
  const sys = createKernelSys();
  let btf;
  try {
    btf = vmlinuxBtf(sys);
  } catch {
    btf = undefined;
  }
  const facts = kernelFacts(sys, btf);
  const rows: ProgramRow[] = [];
  const skipped: SkippedRow[] = [];
  for (const b of built) {
    if (!b.object) {
      skipped.push({ file: b.name, program: '(file)', reason: b.note ?? 'not built' });
      continue;
    }
    if (values.progress) process.stderr.write(`${b.name}\n`);
    const r = compareObject(facts, b.object);
    rows.push(...r.rows);
    skipped.push(...r.skipped);
  }
  const t = totals(rows, skipped);
  const out = process.stdout;
  out.write(`verifier selftests of ${tarball} (objects cached in ${cacheDir()}), built in ${(tBuild / 1000).toFixed(1)} s, compared in ${((Date.now() - t0 - tBuild) / 1000).toFixed(1)} s\n`);
  out.write(`files: ${built.length} (${built.filter((b) => !b.object).length} not built${built.some((b) => b.object && b.note) ? `; ${built.filter((b) => b.object && b.note).map((b) => `${b.name}: ${b.note}`).join('; ')}` : ''})\n`);
  out.write(`programs whose annotation the kernel meets: ${t.programs} (${t.skipped} left out)\n`);
  out.write(`agreement: ${t.agree}/${t.programs} = ${t.agreementPercent}%  looser (bpfkit accepts, kernel rejects): ${t.looser}  stricter: ${t.stricter}  no verdict: ${t.errors}\n`);
  const section = (title: string, list: ProgramRow[]): void => {
    if (!list.length) return;
    out.write(`\n${title} (${list.length}):\n${list.map(line).join('\n')}\n`);
  };
  section('LOOSER — bpfkit accepts what the kernel rejects', rows.filter((r) => r.agreement === 'looser'));
  section('NO VERDICT — bpfkit fails', rows.filter((r) => r.agreement === 'error'));
  const unreadable = skipped.filter((s) => s.program === '(object)');
  if (unreadable.length) out.write(`\nNO VERDICT — objects bpfkit cannot read (${unreadable.length}):\n${unreadable.map((s) => `  ${s.file}: ${s.reason}`).join('\n')}\n`);
  section('STRICTER — bpfkit rejects what the kernel accepts', rows.filter((r) => r.agreement === 'stricter'));
  out.write(`\nleft out (${skipped.length}):\n`);
  if (values['all-skips']) for (const s of skipped) out.write(`  ${s.file}:${s.program} — ${s.reason}\n`);
  else for (const [k, n] of skipGroups(skipped)) out.write(`  ${n} × ${k}\n`);
  if (values.json) writeFileSync(values.json, `${JSON.stringify({ tarball, kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(), totals: t, rows, skipped }, null, 1)}\n`);
  return 0;
}

mainCommand().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  },
);
