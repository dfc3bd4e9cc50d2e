// The real-programs harness (bench/real-programs.ts) on the repo's own objects: every program's bpfkit
// verdict equals the kernel's, bpfkit's kernel load has bpftool's prog tag, test runs equal BPF_PROG_TEST_RUN.
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { packetCorpus } from '../../bench/real-programs/corpus.js';
import { bpftoolMissing } from '../../bench/real-programs/bpftool.js';
import { measureObject, type ProgramResult } from '../../bench/real-programs/measure.js';
import { groupCauses, totals } from '../../bench/real-programs/report.js';
import { kernelTest } from '../kernel/harness.js';
import { fixturesDir, repoRoot } from '../support/fixtures.js';

/** The committed objects: test/fixtures/*.o (the big-endian one aside: the kernel is little-endian) and examples/*.o. */
function objects(): string[] {
  const list = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.o') && !f.includes('bpfeb')).map((f) => path.join(dir, f));
  return [...list(fixturesDir), ...list(path.join(repoRoot, 'examples'))].sort();
}

const missing = bpftoolMissing();

kernelTest('real-programs harness on the committed objects: verdicts, tags and test runs equal the kernel\'s', async (sys, t) => {
  if (missing) return t.skip(missing);
  const pinRoot = `/sys/fs/bpf/bpfkit-real-test-${process.pid}`;
  mkdirSync(pinRoot, { recursive: true });
  const packets = packetCorpus();
  const results: ProgramResult[] = [];
  try {
    // Untyped programs (legacy section names) get the type bpfkit's own error suggests.
    for (const file of objects()) results.push(...(await measureObject(file, path.relative(repoRoot, file), { sys, pinRoot, packets, engines: ['jit'], type: 'legacy' })));
  } finally {
    rmSync(pinRoot, { recursive: true, force: true });
  }
  // A program whose section gives no type and for which no type is suggested stays untyped: its
  // error must say so (and to pass --type); it is left out of the comparisons.
  const untyped = results.filter((r) => r.type === 'unspec');
  for (const r of untyped) assert.ok(r.causes.some((c) => c.kind === 'untyped section'), `${r.object}:${r.program}: untyped without an untyped-section error`);
  const typed = results.filter((r) => r.type !== 'unspec');
  const sum = totals(typed);
  process.stdout.write(
    `# real-programs on ${sum.objects} committed objects: ${sum.programs} programs (${untyped.length} untyped left out), verdicts ${sum.verdictAgree}/${sum.verdictKnown}, ` +
      `tags ${sum.tagAgree}/${sum.bpftoolLoaded}, test runs ${sum.runsAgree}/${sum.runs}, maps after the runs ${sum.mapChecksAgree}/${sum.mapChecks}\n`,
  );
  for (const g of groupCauses(typed)) process.stdout.write(`#   ${g.kind}: ${g.key} (${g.programs.join(', ')})\n`);
  // Verdicts and tags: every program the kernel settles, bpfkit settles the same way.
  assert.equal(sum.verdictKnown, sum.programs, 'every typed program has a kernel verdict');
  assert.deepEqual(typed.filter((r) => r.verdictAgrees !== true).map((r) => `${r.object}:${r.program}: bpfkit ${r.verify} (${r.verifyMessage ?? ''}), kernel ${r.kernel}`), []);
  // The command a user runs (`bpfkit verify OBJ --json`) gives the same verdicts.
  assert.deepEqual(typed.filter((r) => r.cliAgrees !== true).map((r) => `${r.object}:${r.program}: bpfkit verify ${r.cliVerify}, kernel ${r.kernel}`), []);
  assert.deepEqual(typed.filter((r) => r.tagAgrees === false).map((r) => `${r.object}:${r.program}: bpftool ${r.bpftoolTag}, bpfkit ${r.bpfkitTag}`), []);
  assert.ok(sum.bpftoolLoaded >= 15, `only ${sum.bpftoolLoaded} programs loaded by bpftool`);
  assert.equal(sum.inspectOk, sum.programs);
  assert.equal(sum.disasmOk, sum.programs);
  // Test runs: where userspace sets the program up, every packet's result is the kernel's; where it
  // cannot, the reason is a typed error naming a missing helper, kfunc, map or program type.
  const differs = typed.filter((r) => r.causes.some((c) => c.kind === 'test run differs'));
  assert.deepEqual(differs.map((r) => `${r.object}:${r.program}: ${r.firstMismatch}`), []);
  for (const r of typed.filter((x) => x.runsAgree < x.runs)) {
    assert.ok(r.causes.some((c) => c.kind.startsWith('missing ')), `${r.object}:${r.program}: runs differ without a named cause: ${r.firstMismatch}`);
  }
  assert.ok(sum.runsAgree >= 10 * packets.length, `only ${sum.runsAgree} equal test runs`);
  // Map contents after the runs: every data map equals the kernel's, entry by entry.
  assert.deepEqual(typed.filter((r) => r.firstMapDifference !== undefined).map((r) => `${r.object}:${r.program}: ${r.firstMapDifference}`), []);
  assert.ok(sum.mapChecks >= 10, `only ${sum.mapChecks} map checks`);
});

kernelTest('real-programs harness: an object bpfkit cannot parse is a typed failure, nothing left pinned', async (sys) => {
  const pinRoot = `/sys/fs/bpf/bpfkit-real-test-bad-${process.pid}`;
  mkdirSync(pinRoot, { recursive: true });
  try {
    // A C source is not an ELF object: one row, the loader's error code as its cause.
    const rows = await measureObject(path.join(fixturesDir, 'xdp_stats.c'), 'xdp_stats.c', { sys, pinRoot, packets: packetCorpus() });
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.program, '(object)');
    assert.match(rows[0]!.causes[0]!.key, /^ERR_/);
    assert.deepEqual(readdirSync(pinRoot), []);
  } finally {
    rmSync(pinRoot, { recursive: true, force: true });
  }
});
