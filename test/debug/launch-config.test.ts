// docs/debugger.md's VS Code snippet works: its command line starts a DAP server, its launch.json drives a session over TCP.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DapFramer, encodeDapMessage } from '../../src/debug/dap-framing.js';
import { buildUdp, writePcap } from '../../src/packet/index.js';
import { repoRoot } from '../support/fixtures.js';

const doc = readFileSync(join(repoRoot, 'docs/debugger.md'), 'utf8');

test('docs/debugger.md: the debugServer command line and launch.json debug demo over TCP, as VS Code would', async () => {
  const sh = /```sh\n(bpfkit debug [^\n]*--port (\d+))\n```/.exec(doc);
  assert.ok(sh, 'the doc has the sh block with --port');
  const jsonc = /```jsonc\n([\s\S]*?)```/.exec(doc);
  assert.ok(jsonc, 'the doc has the launch.json block');
  const launchJson = JSON.parse(jsonc[1]!.replace(/^\s*\/\/.*$/gm, '')) as { configurations: Record<string, unknown>[] };
  const config = launchJson.configurations[0]!;
  assert.equal(config['debugServer'], Number(sh[2]), 'the port in launch.json is the one the command listens on');
  assert.equal(config['type'], 'bpfkit');

  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-launch-'));
  try {
    writeFileSync(join(dir, 'capture.pcap'), writePcap([buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, payload: 'x' })]));
    // The documented words, with capture.pcap in a temporary folder and port 0 (a free one) instead of 4711.
    const argv = sh[1]!.split(/\s+/).slice(1).map((w) => (w === 'capture.pcap' ? join(dir, 'capture.pcap') : w === sh[2] ? '0' : w));
    const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', ...argv], { cwd: repoRoot });
    let stderr = '';
    const port = await new Promise<number>((resolve, reject) => {
      proc.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
        const m = /listening for a DAP client on 127\.0\.0\.1:(\d+)/.exec(stderr);
        if (m) resolve(Number(m[1]));
      });
      proc.on('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
      setTimeout(() => reject(new Error(`no port: ${stderr}`)), 60_000);
    });
    const sock = connect(port, '127.0.0.1');
    const framer = new DapFramer();
    const inbox: Record<string, unknown>[] = [];
    sock.on('data', (c: Buffer) => inbox.push(...(framer.push(new Uint8Array(c)) as Record<string, unknown>[])));
    let seq = 1;
    const wait = async (pred: (m: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const i = inbox.findIndex(pred);
        if (i >= 0) return inbox.splice(i, 1)[0]!;
        if (Date.now() > deadline) throw new Error(`timeout; inbox ${JSON.stringify(inbox)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const request = async (command: string, args: Record<string, unknown>): Promise<Record<string, unknown>> => {
      const s = seq++;
      sock.write(encodeDapMessage({ seq: s, type: 'request', command, arguments: args }));
      const r = await wait((m) => m['type'] === 'response' && m['request_seq'] === s);
      assert.equal(r['success'], true, `${command}: ${String(r['message'])}`);
      return (r['body'] ?? {}) as Record<string, unknown>;
    };
    await request('initialize', { clientID: 'vscode', adapterID: 'bpfkit', linesStartAt1: true, columnsStartAt1: true });
    await request('launch', config); // VS Code sends the configuration's attributes as the launch arguments
    await request('configurationDone', {});
    const stopped = await wait((m) => m['type'] === 'event' && m['event'] === 'stopped');
    assert.equal((stopped['body'] as Record<string, unknown>)['reason'], 'entry', 'stopOnEntry: true from the snippet');
    const st = await request('stackTrace', { threadId: 1 });
    const top = (st['stackFrames'] as Record<string, unknown>[])[0]!;
    assert.equal(top['name'], 'demo');
    assert.equal(top['line'], 61);
    await request('continue', { threadId: 1 });
    await wait((m) => m['type'] === 'event' && m['event'] === 'terminated');
    await request('disconnect', {});
    const code = await new Promise<number | null>((r) => proc.on('exit', r));
    assert.equal(code, 0);
    sock.destroy();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
