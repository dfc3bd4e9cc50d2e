// The playground in headless Chromium: the example's verdict table equals `bpfkit run --json`, the debugger steps, a corrupt file shows the CLI's error.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { repoRoot } from '../support/fixtures.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
let playwright: typeof import('playwright-core') | undefined;
try {
  playwright = await import('playwright-core');
} catch {
  playwright = undefined;
}
const skip = !CHROMIUM ? 'chromium is not installed (apt-get install chromium)' : !playwright ? 'playwright-core is not installed (npm install)' : false;

async function cliJson(...argv: string[]): Promise<Record<string, unknown>> {
  let out = '';
  const code = await main([...argv, '-j'], { out: (t) => void (out += t), err: () => {} });
  assert.equal(code, 0, out);
  return JSON.parse(out) as Record<string, unknown>;
}

test('playground in headless Chromium: example run equals bpfkit run --json, debugger, corrupt file error, offline', { skip, timeout: 180_000 }, async () => {
  execFileSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'playground/build.ts')], { stdio: 'pipe', cwd: repoRoot });
  const dist = join(repoRoot, 'playground/dist');
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript' };
  const requested: string[] = [];
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    requested.push(path);
    const file = join(dist, path === '/' ? 'index.html' : path.slice(1));
    if (!file.startsWith(dist) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const browser = await playwright!.chromium.launch({ executablePath: CHROMIUM!, args: ['--no-sandbox'] });
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-playground-'));
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`http://127.0.0.1:${port}/index.html`);

    // 1. The bundled example run over its capture: the verdict table is bpfkit run's.
    await page.selectOption('#example', '0');
    await page.waitForSelector('#verdict-text');
    assert.equal(await page.textContent('#verdict-text'), 'verifier: accept');
    await page.click('#run');
    await page.waitForSelector('#verdicts-json', { state: 'attached' });
    const pageVerdicts = JSON.parse((await page.textContent('#verdicts-json'))!) as unknown;
    const cli = await cliJson('run', join(repoRoot, 'examples/xdp_flow_stats.o'), '--pcap', join(repoRoot, 'examples/traffic.pcap'));
    assert.deepEqual(pageVerdicts, cli['verdicts']);
    const rows = await page.$$eval('#verdicts tr', (trs) => trs.slice(1).map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    assert.deepEqual(rows, (cli['verdicts'] as { verdict: string; retval: number; packets: number; bytes: number }[]).map((v) => [v.verdict, String(v.retval), String(v.packets), String(v.bytes)]));

    // 2. The debugger: a breakpoint on `call packet_len` (slot 17), start, continue, registers with the verifier's view, step in.
    await page.selectOption('#example', '1');
    await page.waitForSelector('#disasm tr.insn[data-pc="17"]');
    await page.click('#disasm tr.insn[data-pc="17"]');
    await page.click('#dbg-start');
    assert.match((await page.textContent('#debug-where'))!, /^entry — packet 0, demo at demo:0/);
    await page.click('#dbg-continue');
    assert.match((await page.textContent('#debug-where'))!, /^breakpoint — packet 0, demo at demo:17 \(debug_demo\.c:77/);
    const r7 = await page.$$eval('#regs tr', (trs) => trs[8]!.textContent);
    assert.match(r7!, /r7.*pkt\(r=34\)/);
    await page.click('#dbg-step');
    assert.match((await page.textContent('#debug-where'))!, /packet_len at demo:3[12]/);
    assert.equal(await page.locator('#disasm tr.cur').count(), 1);
    // docs/playground.png is regenerated only when asked (BPFKIT_UPDATE_SCREENSHOT=1), never as a side effect of a test run.
    const shot = process.env['BPFKIT_UPDATE_SCREENSHOT'] === '1' ? join(repoRoot, 'docs/playground.png') : join(dir, 'playground.png');
    await page.screenshot({ path: shot });
    assert.ok(readFileSync(shot).length > 10_000, 'a screenshot of the page');

    // 3. A corrupt object: the page shows the error bpfkit prints for the same file.
    const bad = readFileSync(join(repoRoot, 'examples/xdp_flow_stats.o')).subarray(0, 200);
    writeFileSync(join(dir, 'bad.o'), bad);
    const cliRun = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), join(repoRoot, 'src/cli/bin.ts'), 'inspect', 'bad.o'], { cwd: dir, encoding: 'utf8' });
    assert.equal(cliRun.status, 1, cliRun.stderr);
    const cliError = cliRun.stderr.trim().replace(/^bpfkit inspect: /, '');
    await page.setInputFiles('#file-object', { name: 'bad.o', mimeType: 'application/octet-stream', buffer: Buffer.from(bad) });
    await page.waitForSelector('#error:not([hidden])');
    assert.equal((await page.textContent('#error'))!.trim(), cliError);

    // Offline: the page fetched nothing but itself and its bundle.
    assert.deepEqual([...new Set(requested)].sort(), ['/index.html', '/playground.js']);
    assert.deepEqual(pageErrors, []);
  } finally {
    await browser.close();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
