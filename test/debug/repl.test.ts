// bpfkit debug --repl driven in a real terminal under tmux: gdb's words, the stop lines, registers with the verifier's view.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadObject } from '../../src/elf/object-loader.js';
import { buildIcmpEcho, buildUdp, writePcap } from '../../src/packet/index.js';
import { repoRoot } from '../support/fixtures.js';
import { interpreterTrace } from './trace.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'bpfkit-repl-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const PACKETS = [buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 53, payload: 'hello' }), buildIcmpEcho({ src: '10.0.0.1', dst: '10.0.0.2', id: 1, seq: 1 })];
const pcap = join(dir, 'two.pcap');
writeFileSync(pcap, writePcap(PACKETS));
const socket = `bpfkit-repl-${process.pid}`;
const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });

/** The pane's whole history. */
const screen = (): string => tmux('capture-pane', '-p', '-J', '-S', '-2000', '-t', 'dbg');

async function waitFor(pred: (text: string) => boolean, what: string): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const s = screen();
    if (pred(s)) return s;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${s}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const prompts = (s: string): number => s.split('(bpfdbg)').length - 1;

/** Types a command and returns what it printed (between this prompt and the next). */
async function cmd(line: string): Promise<string> {
  const before = prompts(screen());
  tmux('send-keys', '-t', 'dbg', '-l', line);
  tmux('send-keys', '-t', 'dbg', 'Enter');
  const s = await waitFor((t) => prompts(t) > before, `the prompt after '${line}'`);
  const parts = s.split('(bpfdbg)');
  return parts[parts.length - 2]!.replace(line, '').trim();
}

test('bpfkit debug --repl under tmux: break, continue, regs, print, x, step, bt, finish, info breakpoints, quit', { skip: hasTmux ? false : 'tmux is not installed (apt-get install tmux)' }, async () => {
  const spec = loadObject(new Uint8Array(readFileSync(join(repoRoot, 'test/debug/c/debug_demo.o'))));
  const trace = interpreterTrace(spec, 'demo', PACKETS);
  const done = join(dir, 'exit-code');
  const command = `cd ${repoRoot} && node --import tsx src/cli/bin.ts debug test/debug/c/debug_demo.o --prog demo --pcap ${pcap} --repl; echo $? > ${done}; sleep 30`;
  tmux('new-session', '-d', '-s', 'dbg', '-x', '200', '-y', '50', command);
  try {
    const start = await waitFor((s) => s.includes('(bpfdbg)'), 'the first prompt');
    assert.match(start, /bpfkit debug: demo in test\/debug\/c\/debug_demo\.o, 2 program\(s\); verifier: accept/);
    assert.match(start, /Packet 0, demo \(\) at debug_demo\.c:61 \[packet 0, insn 1\]/);
    assert.match(start, /=> 0: r6 = r1/);

    assert.match(await cmd('break debug_demo.c:80'), /line 80 has no code: moved to line 82\s+Breakpoint 1 at demo:23: file debug_demo\.c, line 82/);
    assert.match(await cmd('break *17 if r1 != 0'), /Breakpoint 2 at demo:17: file debug_demo\.c, line 77/);
    const hit = await cmd('continue');
    assert.match(hit, /Breakpoint 2, demo \(\) at debug_demo\.c:77 \[packet 0, insn 18\]/);
    assert.match(hit, /77\s+len = packet_len\(ctx\);/);

    // Registers: the trace's values, and the verifier's view (r7 is the packet pointer with 34 bytes checked).
    const at17 = trace.find((t) => t.pc === 17 && t.packet === 0)!;
    const regs = await cmd('regs');
    for (let i = 0; i <= 10; i++) assert.match(regs, new RegExp(`r${i}\\s+0x${at17.regs[i]!.toString(16)} \\(${at17.regs[i]}\\)`), `r${i}`);
    assert.match(regs, /r7\s+0x[0-9a-f]+ \(\d+\)\s+verifier: pkt\(r=34\)/);
    assert.match(regs, /r1\s+0x[0-9a-f]+ \(\d+\)\s+verifier: ctx\(\)/);

    assert.match(await cmd('print ctx->data_end - ctx->data'), new RegExp(`= 0x[0-9a-f]+ \\(${PACKETS[0]!.length}\\)`));
    const x = await cmd('x/6xb r7');
    assert.match(x, new RegExp(`0x${at17.regs[7]!.toString(16)}: ${[...PACKETS[0]!.subarray(0, 6)].map((b) => `0x${b.toString(16).padStart(2, '0')}`).join(' ')}`));
    const step = await cmd('step');
    assert.match(step, /packet_len \(\) at debug_demo\.c:\d+/);
    const bt = await cmd('bt');
    assert.match(bt, /#0\s+packet_len \(\) at debug_demo\.c:\d+\s+\[demo:31\]\s+#1\s+demo \(\) at debug_demo\.c:77\s+\[demo:17\]/);
    assert.match(await cmd('finish'), /demo \(\) at debug_demo\.c:78/);
    assert.match(await cmd('print r0'), new RegExp(`r0 = 0x[0-9a-f]+ \\(${PACKETS[0]!.length}\\)`));
    assert.match(await cmd('info breakpoints'), /1\s+demo:23 \(debug_demo\.c:82\)\s+2\s+demo:17 \(debug_demo\.c:77\) if r1 != 0/);
    assert.match(await cmd('print r11'), /error: expression 'r11': unknown name 'r11'/);
    assert.match(await cmd('frobnicate'), /error: unknown command 'frobnicate'/);
    tmux('send-keys', '-t', 'dbg', '-l', 'quit');
    tmux('send-keys', '-t', 'dbg', 'Enter');
    const deadline = Date.now() + 60_000;
    let code = '';
    while (Date.now() < deadline) {
      try {
        code = readFileSync(done, 'utf8').trim();
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.equal(code, '0');
  } finally {
    spawnSync('tmux', ['-L', socket, 'kill-server']);
  }
});
