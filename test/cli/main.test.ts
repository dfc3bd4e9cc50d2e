// The `bpfkit` command itself: bpftool's habits (global options before the command, `help` per
// object, per-command help listing every option) and ending quietly when the reader goes away.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { hoistGlobalOptions, main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/output.js';
import { fixturePath, repoRoot } from '../support/fixtures.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t) };
  const code = await main(argv, io);
  return { code, out, err };
}

test('global options before the command move after it, as bpftool takes them', () => {
  assert.deepEqual(hoistGlobalOptions(['-j', 'prog', 'show']), ['prog', 'show', '-j']);
  assert.deepEqual(hoistGlobalOptions(['-p', '--json', 'map', 'dump', 'name', 'x']), ['map', 'dump', 'name', 'x', '-p', '--json']);
  assert.deepEqual(hoistGlobalOptions(['inspect', 'f.o', '-j']), ['inspect', 'f.o', '-j']);
  // An unknown leading option is left for the dispatcher to report.
  assert.deepEqual(hoistGlobalOptions(['--bogus', 'inspect']), ['--bogus', 'inspect']);
  assert.deepEqual(hoistGlobalOptions(['-j']), ['-j']);
});

test('bpfkit -j inspect OBJ prints the same JSON as bpfkit inspect OBJ -j', async () => {
  const before = await run('-j', 'inspect', fixturePath('xdp_stats'));
  const after = await run('inspect', fixturePath('xdp_stats'), '-j');
  assert.equal(before.code, 0, before.err);
  assert.equal(before.out, after.out);
  assert.ok(JSON.parse(before.out).programs.length > 0);
  const unknown = await run('--bogus', 'inspect');
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /unknown command '--bogus'/);
});

test('bpfkit prog help, bpfkit help verify and verify --help list the options with the usage', async () => {
  const progHelp = await run('prog', 'help');
  assert.equal(progHelp.code, 0);
  assert.match(progHelp.out, /^bpfkit prog: .*\n\nUsage: bpfkit prog \{ list \| show \}/);
  const viaHelp = await run('help', 'verify');
  const viaFlag = await run('verify', '--help');
  assert.equal(viaHelp.out, viaFlag.out);
  for (const flag of ['--prog VALUE', '--log-level VALUE', '--unprivileged', '--json, -j']) assert.ok(viaFlag.out.includes(flag), `verify --help lacks ${flag}`);
  // Every command's help ends with an example that starts with its own name.
  const names = [...(await run('--help')).out.matchAll(/^ {2}(\S+) {2,}/gm)].map((m) => m[1]!);
  assert.ok(names.length >= 15, names.join(' '));
  for (const n of names) assert.match((await run(n, '--help')).out, new RegExp(`\nExample:\n  bpfkit ${n} `), `${n} --help has an example`);
});

test('a closed pipe ends the command quietly (no EPIPE stack trace)', () => {
  // `bpfkit verify --log-level 2 ... | head -c 1`: ~300 KB of log, far past the pipe's buffer,
  // while the reader closes after one byte.
  const r = spawnSync('bash', ['-c', `node --import tsx ${repoRoot}/src/cli/bin.ts verify ${fixturePath('atomics_alu')} --log-level 2 | head -c 1 >/dev/null; echo "status \${PIPESTATUS[0]}"`], { encoding: 'utf8', cwd: repoRoot, timeout: 60_000 });
  assert.doesNotMatch(r.stderr, /EPIPE|internal error|at .*\.ts:\d+/);
  assert.match(r.stdout, /status 0\n$/);
});

test('one JSON naming everywhere: camelCase keys become snake_case, user data kept', async () => {
  const { snakeCase, snakeCaseKeys } = await import('../../src/json-names.js');
  assert.deepEqual(['runCount', 'runTimeNs', 'bytesXlated', 'rxMax', 'id', 'tx-checksum-ipv4', 'net.core.somaxconn', 'XDPFeatures'].map(snakeCase), ['run_count', 'run_time_ns', 'bytes_xlated', 'rx_max', 'id', 'tx-checksum-ipv4', 'net.core.somaxconn', 'xdp_features']);
  assert.deepEqual(snakeCaseKeys({ statsSource: 'fd', programs: [{ runCount: 1 }], selectors: { myMap: 3 } }, new Set(['selectors'])), { stats_source: 'fd', programs: [{ run_count: 1 }], selectors: { myMap: 3 } });
});
