// bpfkit debug over the Debug Adapter Protocol: a scripted client drives a session and every stop equals the interpreter's own trace.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadObject } from '../../src/elf/object-loader.js';
import { buildArp, buildEthernet, buildIcmpEcho, buildTcp, buildUdp, writePcap } from '../../src/packet/index.js';
import { ProgramInfo } from '../../src/debug/source-map.js';
import { repoRoot } from '../support/fixtures.js';
import { DapClient, type Msg } from './dap-client.js';
import { interpreterTrace, type TraceStep } from './trace.js';

const OBJ = 'test/debug/c/debug_demo.o';
const SRC = join(repoRoot, 'test/debug/c/debug_demo.c');
const dir = mkdtempSync(join(tmpdir(), 'bpfkit-debug-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** UDP, ICMP (tail call), ARP, a truncated IPv4 header, TCP, a runt frame the program never sees, UDP again. */
export const PACKETS: Uint8Array[] = [
  buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 53, payload: 'hello' }),
  buildIcmpEcho({ src: '10.0.0.1', dst: '10.0.0.2', id: 1, seq: 1 }),
  buildArp({ op: 1, senderIp: '10.0.0.1', targetIp: '10.0.0.2' }),
  buildEthernet({ etherType: 0x0800, payload: new Uint8Array(10) }),
  buildTcp({ src: '10.0.0.3', dst: '10.0.0.4', sport: 1234, dport: 80 }),
  new Uint8Array(8),
  buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 53, payload: 'again' }),
];
const pcap = join(dir, 'seven.pcap');
writeFileSync(pcap, writePcap(PACKETS));

const spec = loadObject(new Uint8Array(readFileSync(join(repoRoot, OBJ))));
const trace = interpreterTrace(spec, 'demo', PACKETS);
const infos = new Map(spec.programs.map((p) => [p.name, new ProgramInfo(p)]));
const programNames = [...infos.keys()];
const addr = (program: string, pc: number): string => `0x${(programNames.indexOf(program) + 1).toString(16)}${(pc * 8).toString(16).padStart(8, '0')}`;

function decodeAddress(ref: string): { program: string; pc: number } {
  const v = BigInt(ref);
  return { program: programNames[Number(v >> 32n) - 1]!, pc: Number(v & 0xffffffffn) / 8 };
}

/** Checks the stop against trace[at]: top frame's program and slot, frame count, every register. */
async function checkStop(c: DapClient, at: number): Promise<void> {
  const want = trace[at]!;
  const st = await c.ok('stackTrace', { threadId: 1 });
  const frames = st['stackFrames'] as Record<string, unknown>[];
  assert.equal(frames.length, want.depth + 1, `frames at trace step ${at}`);
  const top = decodeAddress(frames[0]!['instructionPointerReference'] as string);
  assert.deepEqual(top, { program: want.program, pc: want.pc }, `stop position at trace step ${at}`);
  const scopes = (await c.ok('scopes', { frameId: frames[0]!['id'] }))['scopes'] as Record<string, unknown>[];
  const regsRef = scopes.find((s) => s['name'] === 'Registers')!['variablesReference'];
  const vars = (await c.ok('variables', { variablesReference: regsRef }))['variables'] as Record<string, unknown>[];
  assert.equal(vars.length, 11);
  vars.forEach((v, i) => assert.equal(BigInt((v['value'] as string).split(' ')[0]!), want.regs[i], `r${i} at trace step ${at} (${want.program}:${want.pc})`));
}

/** Index of the next trace step after `from` that satisfies `pred`, or -1. */
const nextIndex = (from: number, pred: (s: TraceStep, i: number) => boolean): number => {
  for (let i = from + 1; i < trace.length; i++) if (pred(trace[i]!, i)) return i;
  return -1;
};

test('debug over DAP: breakpoints, steps and continue stop where the interpreter\'s trace says, with its registers', async () => {
  const c = new DapClient([OBJ, '--prog', 'demo', '--pcap', pcap]);
  try {
    const caps = await c.ok('initialize', { clientID: 'test', adapterID: 'bpfkit', linesStartAt1: true });
    assert.equal(caps['supportsInstructionBreakpoints'], true);
    assert.equal(caps['supportsConditionalBreakpoints'], true);
    await c.event('initialized');
    // Breakpoints may come before launch (answered once the session exists).
    const bpSeq = c.send('setBreakpoints', { source: { path: SRC }, breakpoints: [{ line: 80 }, { line: 77, condition: 'r6 != 0' }] });
    await c.ok('launch', { stopOnEntry: false });
    const bpResp = await c.next((m) => m.type === 'response' && m['request_seq'] === bpSeq, 'setBreakpoints');
    const bps = (bpResp.body!['breakpoints'] as Record<string, unknown>[]);
    assert.equal(bps[0]!['verified'], true);
    assert.equal(bps[0]!['line'], 82, 'line 80 (a comment) moves to the next line with code');
    assert.match(bps[0]!['message'] as string, /line 80 has no code: moved to line 82/);
    assert.equal(bps[1]!['line'], 77);
    const bpSlots = new Set<string>();
    for (const b of bps) {
      const a = decodeAddress(b['instructionReference'] as string);
      bpSlots.add(`${a.program}:${a.pc}`);
    }
    // An instruction breakpoint in the tail-call target: the tail call is followed.
    const tail = await c.ok('setInstructionBreakpoints', { breakpoints: [{ instructionReference: addr('tail_drop', 0) }] });
    assert.equal((tail['breakpoints'] as Record<string, unknown>[])[0]!['verified'], true);
    bpSlots.add('tail_drop:0');
    await c.ok('configurationDone');
    const isBp = (s: TraceStep): boolean => bpSlots.has(`${s.program}:${s.pc}`);

    let at = nextIndex(-1, isBp);
    let ev = await c.stopOrEnd();
    assert.equal(ev['event'], 'stopped');
    assert.equal(ev.body!['reason'], 'breakpoint');
    await checkStop(c, at);
    let stops = 1;

    // next (instruction granularity): the next step at this depth or shallower.
    await c.ok('next', { threadId: 1, granularity: 'instruction' });
    ev = await c.stopOrEnd();
    at = nextIndex(at, (s) => s.depth <= trace[at]!.depth);
    await checkStop(c, at);
    stops++;
    // An instruction breakpoint on `call packet_len`: there, step in and out.
    await c.ok('setInstructionBreakpoints', { breakpoints: [{ instructionReference: addr('demo', 17) }, { instructionReference: addr('tail_drop', 0) }] });
    bpSlots.add('demo:17');
    // From here each continue goes to the next breakpoint slot in the trace.
    let cur = await currentIndex(c);
    for (let round = 0; ; round++) {
      await c.ok('continue', { threadId: 1 });
      ev = await c.stopOrEnd();
      const want = nextIndex(cur, isBp);
      if (want < 0) {
        assert.equal(ev['event'], 'terminated', 'no breakpoint left in the trace: the session ends');
        break;
      }
      assert.equal(ev['event'], 'stopped', `round ${round}`);
      await checkStop(c, want);
      stops++;
      cur = want;
      const s = trace[cur]!;
      if (s.program === 'demo' && s.pc === 17 && s.packet === 0) {
        // stepIn: the callee's first instruction, two frames named after the functions.
        await c.ok('stepIn', { threadId: 1 });
        await c.stopOrEnd();
        cur = cur + 1;
        await checkStop(c, cur);
        const st = await c.ok('stackTrace', { threadId: 1 });
        assert.deepEqual((st['stackFrames'] as Record<string, unknown>[]).map((f) => f['name']), ['packet_len (demo)', 'demo']);
        // evaluate in the callee: ctx->data_end - ctx->data is the packet's length.
        const ev1 = await c.ok('evaluate', { expression: 'ctx->data_end - ctx->data', frameId: 1 });
        assert.match(ev1['result'] as string, new RegExp(`\\(${PACKETS[0]!.length}\\)`));
        // stepOut: back in demo after the call.
        await c.ok('stepOut', { threadId: 1 });
        await c.stopOrEnd();
        cur = nextIndex(cur, (x) => x.depth < 1);
        await checkStop(c, cur);
        stops++;
        // The last helper scope and the packet bytes through readMemory.
        const p = await c.ok('evaluate', { expression: 'r7', frameId: 1 });
        const mem = await c.ok('readMemory', { memoryReference: p['memoryReference'], count: PACKETS[0]!.length });
        assert.deepEqual(new Uint8Array(Buffer.from(mem['data'] as string, 'base64')), PACKETS[0]);
      }
      if (s.program === 'tail_drop') {
        const st = await c.ok('stackTrace', { threadId: 1 });
        assert.equal(((st['stackFrames'] as Record<string, unknown>[])[0]!['name']), 'tail_drop');
      }
    }
    assert.ok(stops >= 8, `stops: ${stops}`);
    await c.event('exited');
    await c.ok('disconnect');
  } finally {
    c.close();
  }
});

/** The trace index of the current stop: the stop's (program, pc) and registers, first match after nothing — used once per test after a breakpoint change. */
async function currentIndex(c: DapClient): Promise<number> {
  const st = await c.ok('stackTrace', { threadId: 1 });
  const top = decodeAddress((st['stackFrames'] as Record<string, unknown>[])[0]!['instructionPointerReference'] as string);
  const scopes = (await c.ok('scopes', { frameId: 1 }))['scopes'] as Record<string, unknown>[];
  const vars = (await c.ok('variables', { variablesReference: scopes[0]!['variablesReference'] }))['variables'] as Record<string, unknown>[];
  const regs = vars.map((v) => BigInt((v['value'] as string).split(' ')[0]!));
  const i = trace.findIndex((s) => s.program === top.program && s.pc === top.pc && s.regs.every((r, k) => r === regs[k]));
  assert.ok(i >= 0);
  return i;
}

test('debug over DAP: malformed and out-of-order requests get error responses, the adapter keeps serving', async () => {
  const c = new DapClient([OBJ, '--prog', 'demo', '--pcap', pcap]);
  try {
    const early = await c.request('stackTrace', { threadId: 1 });
    assert.equal(early['success'], false);
    assert.match(early['message'] as string, /initialize first/);
    c.raw('Content-Length: 5\r\n\r\n{oops');
    const bad = await c.next((m) => m.type === 'response' && m['success'] === false && /not JSON/.test(String(m['message'])), 'JSON error');
    assert.equal(bad['request_seq'], 0);
    c.raw('X-Nothing: 1\r\n\r\n');
    await c.next((m) => m.type === 'response' && /without Content-Length/.test(String(m['message'])), 'header error');
    c.raw(new TextEncoder().encode('Content-Length: 13\r\n\r\n{"seq":"one"}'));
    await c.next((m) => m.type === 'response' && /malformed message/.test(String(m['message'])), 'malformed');
    await c.ok('initialize', { adapterID: 'bpfkit' });
    const twice = await c.request('initialize', {});
    assert.match(twice['message'] as string, /already initialized/);
    const noLaunch = await c.request('continue', { threadId: 1 });
    assert.match(noLaunch['message'] as string, /launch first/);
    const unknown = await c.request('frobnicate');
    assert.match(unknown['message'] as string, /unrecognized request 'frobnicate'/);
    await c.ok('launch', { stopOnEntry: true });
    await c.ok('configurationDone');
    const ev: Msg = await c.stopOrEnd();
    assert.equal(ev.body!['reason'], 'entry');
    await checkStop(c, 0);
    const badFrame = await c.request('scopes', { frameId: 99 });
    assert.match(badFrame['message'] as string, /unknown frameId 99/);
    const badExpr = await c.request('evaluate', { expression: 'r1 +', frameId: 1 });
    assert.match(badExpr['message'] as string, /ERR_DEBUG_EXPRESSION/);
    const badVar = await c.request('variables', { variablesReference: 12345 });
    assert.equal(badVar['success'], false);
    const badArgs = await c.request('setBreakpoints', { source: {}, breakpoints: 'x' });
    assert.match(badArgs['message'] as string, /source.path/);
    const badMem = await c.request('readMemory', { memoryReference: 'nowhere', count: 4 });
    assert.equal(badMem['success'], false);
    const unmapped = await c.ok('readMemory', { memoryReference: '0x10', count: 4 });
    assert.equal(unmapped['unreadableBytes'], 4);
    // Disassembly with C lines.
    const dis = await c.ok('disassemble', { memoryReference: addr('demo', 0), instructionCount: 4 });
    const insns = dis['instructions'] as Record<string, unknown>[];
    assert.equal(insns[0]!['instruction'], 'r6 = r1');
    assert.equal(insns[0]!['line'], 61);
    // Still serving: one step works after all that.
    await c.ok('next', { threadId: 1, granularity: 'instruction' });
    await c.stopOrEnd();
    await checkStop(c, 1);
    await c.ok('disconnect');
  } finally {
    c.close();
  }
});
