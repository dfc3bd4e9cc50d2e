// The dashboard server on 127.0.0.1, port 0: /metrics, /api/snapshot, the page, 404/405, and a shutdown that leaves no fd open.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { test } from 'node:test';
import { parseExposition } from '../../src/dashboard/exposition-parse.js';
import { dashboardPage } from '../../src/dashboard/page.js';
import { DashboardServer, ListenError } from '../../src/dashboard/server.js';
import { NoSuchMapError } from '../../src/dashboard/errors.js';
import { loadObject } from '../../src/index.js';
import { MapType } from '../../src/kernel/bpf/constants.js';
import { createMap } from '../../src/kernel/bpf/map-create.js';
import { mapInfo, programInfo } from '../../src/kernel/bpf/obj-info.js';
import { openFds } from '../../src/kernel/fd.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import { fixturePath } from '../support/fixtures.js';
import { kernelTest } from '../kernel/harness.js';
import { runPage } from './fake-dom.js';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request; `agent` false closes the connection after it. */
function request(url: string, method = 'GET', agent: http.Agent | false = false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const processFds = (): number => readdirSync('/proc/self/fd').length;

kernelTest('GET /metrics, /api/snapshot and / on port 0; 404, 405, HEAD; close() leaves no fd and no listener', async (sys) => {
  using obj = loadKernelObject(sys, loadObject(readFileSync(fixturePath('xdp_stats')), { objectName: 'xdp_stats' }));
  const prog = obj.program('xdp_stats_prog');
  const mapId = mapInfo(obj.map('xdp_stats_map').fd).id;
  const kernelFds = openFds(sys).length;
  const baseline = processFds();
  const server = await DashboardServer.start(sys, { maps: [{ id: mapId }], enableStats: true, intervalMs: 500 });
  const keepAlive = new http.Agent({ keepAlive: true });
  try {
    assert.equal(server.host, '127.0.0.1');
    assert.ok(server.port > 0);
    assert.equal(server.statsSource, 'fd');
    assert.equal(openFds(sys).length, kernelFds + 1, 'the stats fd is the only fd held between requests');
    prog.testRun({ dataIn: new Uint8Array(100), repeat: 50 });

    const metrics = await request(`${server.url}metrics`, 'GET', keepAlive);
    assert.equal(metrics.status, 200);
    assert.equal(metrics.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    const fams = new Map(parseExposition(metrics.body).map((f) => [f.name, f]));
    const total = fams.get('bpfkit_map_value_total')!.samples.filter((s) => s.labels['map_id'] === String(mapId) && s.labels['key'] === '2');
    assert.deepEqual(total.map((s) => [s.labels['field'], s.raw]), [['rx_packets', '50'], ['rx_bytes', '5000']]);
    assert.equal(fams.get('bpfkit_bpf_stats_enabled')!.samples[0]!.value, 1);
    assert.equal(openFds(sys).length, kernelFds + 1, 'a scrape closes every fd it opens');

    const snap = await request(`${server.url}api/snapshot?x=1`, 'GET', keepAlive);
    assert.equal(snap.status, 200);
    assert.equal(snap.headers['content-type'], 'application/json; charset=utf-8');
    const doc = JSON.parse(snap.body) as { programs: { id: number; name: string; run_count: number }[]; values: { id: number; fields: string[] }[]; stats_source: string };
    assert.equal(doc.stats_source, 'fd');
    assert.deepEqual(doc.programs.filter((p) => p.id === programInfo(prog.fd).id).map((p) => [p.name, p.run_count]), [['xdp_stats_prog', 50]]);
    assert.deepEqual(doc.values.map((v) => [v.id, v.fields]), [[mapId, ['rx_packets', 'rx_bytes']]]);

    const page = await request(server.url);
    assert.equal(page.status, 200);
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(page.body, /^<!doctype html>/);
    assert.match(page.body, /data-interval="500"/);
    // Self-contained: no external script, style, image or font; the CSP allows only the inline script and style by hash.
    assert.doesNotMatch(page.body, /\b(src|href)="(https?:)?\/\//);
    const script = /<script>([\s\S]*)<\/script>/.exec(page.body)![1]!;
    const hash = createHash('sha256').update(script).digest('base64');
    assert.match(String(page.headers['content-security-policy']), new RegExp(`script-src 'sha256-${hash.replace(/[+/]/g, '\\$&')}'`));
    assert.equal(script, dashboardPage(500).script);

    const missing = await request(`${server.url}nope`);
    assert.equal(missing.status, 404);
    const post = await request(`${server.url}metrics`, 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers['allow'], 'GET, HEAD');
    const head = await request(`${server.url}metrics`, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  } finally {
    await server.close();
    keepAlive.destroy();
  }
  await server.close(); // idempotent
  assert.equal(openFds(sys).length, kernelFds, 'the stats fd is closed');
  await assert.rejects(request(server.url.replace(/\/$/, '') + '/metrics'), /ECONNREFUSED/);
  // The listening socket and the kept-alive connection are gone too (sockets close asynchronously).
  for (let i = 0; i < 50 && processFds() > baseline; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(processFds(), baseline);
});

kernelTest('start fails typed: a missing map (no fd left), a port in use (ListenError)', async (sys) => {
  await assert.rejects(DashboardServer.start(sys, { maps: [{ name: 'no_such_map_xyz' }], enableStats: true }), NoSuchMapError);
  assert.equal(openFds(sys).length, 0);
  const first = await DashboardServer.start(sys, {});
  try {
    await assert.rejects(DashboardServer.start(sys, { port: first.port }), (e: unknown) => e instanceof ListenError && e.code === 'ERR_LISTEN' && /EADDRINUSE/.test(e.message));
  } finally {
    await first.close();
  }
});

test('the page builds its DOM with textContent only (no innerHTML) and polls api/snapshot', () => {
  const { script, html } = dashboardPage(1000);
  assert.doesNotMatch(script, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
  assert.match(script, /fetch\("api\/snapshot"/);
  assert.match(html, /data-interval="1000"/);
});

kernelTest('the page script renders two real snapshots: runs/s and ns/run between polls, per-CPU bars, history sparklines', async (sys) => {
  using obj = loadKernelObject(sys, loadObject(readFileSync(fixturePath('xdp_stats')), { objectName: 'xdp_stats' }));
  const prog = obj.program('xdp_stats_prog');
  const mapId = mapInfo(obj.map('xdp_stats_map').fd).id;
  const server = await DashboardServer.start(sys, { maps: [{ id: mapId }], enableStats: true });
  const snaps: string[] = [];
  try {
    snaps.push((await request(`${server.url}api/snapshot`)).body);
    prog.testRun({ dataIn: new Uint8Array(60), repeat: 1000 });
    await new Promise((r) => setTimeout(r, 20));
    snaps.push((await request(`${server.url}api/snapshot`)).body);
  } finally {
    await server.close();
  }
  const [a, b] = snaps.map((s) => JSON.parse(s) as { time: number; programs: { id: number; name: string; run_count: number; run_time_ns: number }[] });
  const dt = (b!.time - a!.time) / 1000;
  // By id: other test processes may have their own xdp_stats_prog loaded.
  const progId = programInfo(prog.fd).id;
  const progB = b!.programs.find((p) => p.id === progId)!;
  const progA = a!.programs.find((p) => p.id === progB.id)!;
  assert.equal(progB.run_count - progA.run_count, 1000);

  const { script } = dashboardPage(1000);
  const page = runPage(script, ['status', 'stats', 'error', 'missing', 'programs', 'maps', 'mapcount', 'values'], snaps, 1000);
  await page.settle();
  page.fire();
  await page.settle();
  assert.deepEqual(page.errors, []);
  const rows = page.byId.get('programs')!.all('tr');
  const row = rows.find((r) => r.children[0]?.textContent === String(progId))!;
  assert.equal(row.children[1]!.textContent, 'xdp_stats_prog');
  const cells = row.children.map((c) => c.textContent);
  const fmt = (x: number) => (Math.abs(x) >= 1e4 ? `${(x / 1e3).toFixed(1)}k` : Number.isInteger(x) ? String(x) : x.toFixed(Math.abs(x) < 10 ? 2 : 1));
  assert.equal(cells[4], fmt(1000 / dt), 'runs/s between the two polls');
  assert.equal(cells[5], fmt((progB.run_time_ns - progA.run_time_ns) / 1000), 'ns/run between the two polls');
  assert.equal(row.children[8]!.all('polyline').length, 0, 'one rate so far: no line yet');
  assert.equal(page.byId.get('stats')!.hidden, true, 'statistics are on: no warning');
  // The selected map: a row per key and field, per-CPU bars with one rect per CPU.
  const mapRows = page.byId.get('values')!.all('tr').filter((r) => r.children[0]?.textContent === '2');
  assert.deepEqual(mapRows.map((r) => [r.children[1]!.textContent, r.children[2]!.textContent]), [['rx_packets', '1000'], ['rx_bytes', '60.0k']]);
  assert.equal(mapRows[0]!.all('rect').length, JSON.parse(snaps[1]!).cpus);
  assert.match(page.byId.get('status')!.textContent, /^updated .* · scrape \d+\.\d ms · \d+ CPUs$/);
});

kernelTest('a running server keeps serving when a selected map cannot be read or goes away', async (sys) => {
  const good = createMap(sys, { type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 2, name: 'dash_pair' });
  const server = await DashboardServer.start(sys, { maps: [{ name: 'dash_pair' }] });
  try {
    const goodId = String(mapInfo(good).id);
    using odd = createMap(sys, { type: MapType.ARRAY, keySize: 4, valueSize: 3, maxEntries: 1, name: 'dash_pair' });
    const oddId = String(mapInfo(odd).id);
    let m = await request(`${server.url}metrics`);
    assert.equal(m.status, 200);
    let fams = new Map(parseExposition(m.body).map((f) => [f.name, f]));
    assert.deepEqual(fams.get('bpfkit_map_values_error')!.samples.map((s) => [s.labels['map_id'], s.labels['error']]), [[oddId, `map dash_pair (id ${oddId}): a 3-byte value without BTF is not a u32/u64 (array) [ERR_NON_NUMERIC_MAP]`]]);
    assert.equal(fams.get('bpfkit_map_value_total')!.samples.filter((s) => s.labels['map_id'] === goodId).length, 2);
    good.close();
    odd.close();
    m = await request(`${server.url}metrics`);
    fams = new Map(parseExposition(m.body).map((f) => [f.name, f]));
    assert.deepEqual(fams.get('bpfkit_map_selector_matches')!.samples.map((s) => [s.labels['selector'], s.value]), [['name dash_pair', 0]]);
  } finally {
    good.close();
    await server.close();
  }
});
