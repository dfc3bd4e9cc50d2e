// `bpfkit metrics` and `bpfkit dashboard`: in process, as a child stopped by SIGTERM, and without privileges.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import { CommandArgs } from '../../src/cli/args.js';
import { dashboardOptions, dashboardUsage, runDashboard } from '../../src/cli/dashboard.js';
import { UsageError } from '../../src/cli/errors.js';
import { metricsOptions, metricsUsage, runMetrics } from '../../src/cli/metrics.js';
import type { Io } from '../../src/cli/output.js';
import { parseExposition, type ParsedSample } from '../../src/dashboard/exposition-parse.js';
import { loadObject } from '../../src/index.js';
import { possibleCpus } from '../../src/kernel/bpf/map-fd.js';
import { mapInfo, programInfo } from '../../src/kernel/bpf/obj-info.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import type { Sys } from '../../src/kernel/sys.js';
import { fixturePath, repoRoot } from '../support/fixtures.js';
import { kernelTest } from '../kernel/harness.js';

const bin = path.join(repoRoot, 'src', 'cli', 'bin.ts');
const load = (sys: Sys) => loadKernelObject(sys, loadObject(readFileSync(fixturePath('xdp_stats')), { objectName: 'xdp_stats' }));

async function metricsCli(sys: Sys, ...argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const io: Io = { out: (t) => (out += t), err: (t) => (out += t) };
  const code = await runMetrics(new CommandArgs(argv, metricsOptions, metricsUsage), io, sys);
  return { code, out };
}

const find = (text: string, name: string, labels: Record<string, string>): ParsedSample[] =>
  parseExposition(text)
    .find((f) => f.name === name)!
    .samples.filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));

function get(url: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
      })
      .on('error', reject);
  });
}

kernelTest('bpfkit metrics: --map NAME and bpftool\'s --map id N, -j, --enable-stats counts the runs inside --window', async (sys) => {
  using obj = load(sys);
  const prog = obj.program('xdp_stats_prog');
  const mapId = String(mapInfo(obj.map('xdp_stats_map').fd).id);
  const progId = String(programInfo(prog.fd).id);
  prog.testRun({ dataIn: new Uint8Array(80), repeat: 7 });

  const byName = await metricsCli(sys, '--map', 'xdp_stats_map');
  assert.equal(byName.code, 0);
  assert.deepEqual(find(byName.out, 'bpfkit_map_value_total', { map_id: mapId, key: '2' }).map((s) => s.raw), ['7', '560']);
  const byId = await metricsCli(sys, '--map', 'id', mapId, '--series-limit', '3');
  assert.deepEqual(find(byId.out, 'bpfkit_map_value_total', { map_id: mapId }).length, 0, '6 series per key: none fits in 3');
  assert.deepEqual(find(byId.out, 'bpfkit_map_series_dropped', { map_id: mapId }).map((s) => s.value), [5 * 2 * (possibleCpus(sys) + 1)]);
  const doc = JSON.parse((await metricsCli(sys, '--map', `id:${mapId}`, '-j')).out) as { values: { id: number; rows: { key: string; values: number[] }[] }[] };
  assert.deepEqual(doc.values[0]!.rows.find((r) => r.key === '2')!.values, [7, 560]);

  // With --enable-stats the fd is held for the window: runs made meanwhile are counted, none before.
  // (Another test process holding stats meanwhile could have counted the 7 runs: start from what the kernel says now.)
  const before = Number(programInfo(prog.fd).runCount);
  setTimeout(() => prog.testRun({ dataIn: new Uint8Array(80), repeat: 300 }), 50);
  const stats = await metricsCli(sys, '--enable-stats', '--window', '300');
  assert.deepEqual(find(stats.out, 'bpfkit_prog_run_count_total', { prog_id: progId }).map((s) => s.raw), [String(before + 300)]);
  assert.deepEqual(find(stats.out, 'bpfkit_bpf_stats_enabled', {}).map((s) => s.raw), ['1']);

  await assert.rejects(metricsCli(sys, '--window', '10'), UsageError);
  await assert.rejects(metricsCli(sys, '--map', 'id', 'x'), /--map id needs a number, got 'x'/);
  await assert.rejects(metricsCli(sys, '--map', 'missing_map_q'), /no map matches name missing_map_q/);
});

kernelTest('bpfkit dashboard in process: prints the URL, serves until aborted, then stops', async (sys) => {
  let out = '';
  const io: Io = { out: (t) => (out += t), err: (t) => (out += t) };
  const stop = new AbortController();
  const done = runDashboard(new CommandArgs(['--port', '0', '--interval', '250'], dashboardOptions, dashboardUsage), io, sys, stop.signal);
  for (let i = 0; i < 1000 && !out.includes('listening'); i++) await new Promise((r) => setTimeout(r, 10));
  const url = /listening on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)![1]!;
  const page = await get(url);
  assert.equal(page.status, 200);
  assert.match(page.body, /data-interval="250"/);
  stop.abort();
  assert.equal(await done, 0);
  assert.match(out, /stopped\n$/);
  await assert.rejects(get(url), /ECONNREFUSED/);
  await assert.rejects(runDashboard(new CommandArgs(['--interval', '5'], dashboardOptions, dashboardUsage), io, sys, stop.signal), /at least 100 ms/);
});

kernelTest('bpfkit dashboard as a process: SIGTERM shuts it down cleanly (exit 0)', async (sys) => {
  using obj = load(sys);
  const mapId = String(mapInfo(obj.map('xdp_stats_map').fd).id);
  obj.program('xdp_stats_prog').testRun({ dataIn: new Uint8Array(70), repeat: 3 });
  const child = spawn(process.execPath, ['--import', 'tsx', bin, 'dashboard', '--port', '0', '--map', 'id', mapId, '--enable-stats'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    for (let i = 0; i < 1500 && !out.includes('listening') && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 20));
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1];
    assert.ok(url, `no URL printed: ${out}${err}`);
    assert.match(out, /run statistics on \(BPF_ENABLE_STATS\)/);
    const m = await get(`${url}metrics`);
    assert.equal(m.type, 'text/plain; version=0.0.4; charset=utf-8');
    assert.deepEqual(find(m.body, 'bpfkit_map_value_total', { map_id: mapId, key: '2' }).map((s) => s.raw), ['3', '210']);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, err);
    assert.match(out, /bpfkit dashboard: stopped\n$/);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('without privileges the command fails with the kernel\'s EPERM, the call named and what to do', { skip: process.getuid?.() === 0 ? false : 'needs root to drop to nobody' }, () => {
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, '--import', 'tsx', bin, 'metrics'], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /^bpfkit metrics: bpf\(BPF_PROG_GET_NEXT_ID\): EPERM: operation not permitted \(bpf\(2\) needs CAP_BPF.*\[ERR_KERNEL\]$/m);
});
