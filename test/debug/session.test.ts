// DebugSession: conditional breakpoints, line steps, tail calls, faults and the verifier's view, checked against the interpreter's own trace.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadObject } from '../../src/elf/object-loader.js';
import { DebugSession } from '../../src/debug/session.js';
import { compileExpression } from '../../src/debug/expression.js';
import { buildArp, buildEthernet, buildIcmpEcho, buildTcp, buildUdp } from '../../src/packet/index.js';
import { alu64, exit, ldx } from '../../src/isa/builder.js';
import { r0, r1, r2 } from '../../src/isa/instruction.js';
import { repoRoot } from '../support/fixtures.js';
import { interpreterTrace } from './trace.js';
import { frameScopes } from '../../src/debug/views.js';
import { kernelTest } from '../kernel/harness.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import type { ObjectSpec } from '../../src/elf/object-spec.js';

const spec = loadObject(new Uint8Array(readFileSync(join(repoRoot, 'test/debug/c/debug_demo.o'))));
const PACKETS = [
  buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 53, payload: 'hello' }),
  buildIcmpEcho({ src: '10.0.0.1', dst: '10.0.0.2', id: 1, seq: 1 }),
  buildArp({ op: 1, senderIp: '10.0.0.1', targetIp: '10.0.0.2' }),
  buildEthernet({ etherType: 0x0800, payload: new Uint8Array(10) }),
  buildTcp({ src: '10.0.0.3', dst: '10.0.0.4', sport: 1234, dport: 80 }),
  buildIcmpEcho({ src: '10.0.0.5', dst: '10.0.0.6', id: 2, seq: 7 }),
];
const trace = interpreterTrace(spec, 'demo', PACKETS);
const session = (): DebugSession => new DebugSession(spec, { program: 'demo', packets: PACKETS.map((data) => ({ data })) });

test('a conditional breakpoint on the protocol byte stops only on ICMP packets, where the trace is', () => {
  const s = session();
  // Line 78: `proto = ip->protocol;` (slot 18, r7 = the packet's start).
  const [bp] = s.setLineBreakpoints('debug_demo.c', [{ line: 78, condition: '*(u8 *)(r7 + 23) == 1' }]);
  assert.equal(bp!.verified, true);
  assert.equal(bp!.pc, 18);
  const want = trace.filter((t) => t.program === 'demo' && t.pc === 18 && PACKETS[t.packet]![23] === 1);
  assert.deepEqual(want.map((t) => t.packet), [1, 5]);
  const got: number[] = [];
  for (let stop = s.start(false); stop; stop = s.continue()) {
    assert.equal(stop.reason, 'breakpoint');
    const w = want[got.length]!;
    assert.equal(stop.pc, w.pc);
    assert.deepEqual(s.frames()[0]!.regs, w.regs);
    got.push(stop.packet);
  }
  assert.deepEqual(got, [1, 5]);
  assert.equal(s.terminated, true);
  assert.deepEqual(s.results.map((r) => r.verdict ?? 'error'), ['pass', 'drop', 'pass', 'aborted', 'pass', 'drop']);
});

test('line steps: `next` moves to a new C line at the same depth, `step` enters packet_len, `finish` returns; each stop is the trace\'s', () => {
  const s = session();
  let stop = s.start(true)!;
  let at = 0;
  assert.equal(stop.pc, trace[0]!.pc);
  const lines = s.info('demo').lines;
  const seen: number[] = [];
  // next until the call line (77), matching the trace at every stop.
  while (lines[stop.pc]?.line !== 77) {
    const line = lines[stop.pc]?.line;
    stop = s.next()!;
    const want = trace.findIndex((t, i) => i > at && t.depth === 0 && lines[t.pc]?.line !== line && lines[t.pc] !== undefined);
    assert.equal(stop.pc, trace[want]!.pc);
    assert.deepEqual(s.frames()[0]!.regs, trace[want]!.regs);
    at = want;
    seen.push(lines[stop.pc]!.line);
  }
  assert.deepEqual(seen, [63, 64, 69, 71, 74, 77]);
  // step: past `r1 = r6` into packet_len.
  stop = s.stepIn()!;
  assert.equal(s.frames().length, 2);
  assert.equal(s.frames()[0]!.function, 'packet_len');
  const inside = trace.findIndex((t, i) => i > at && t.depth === 1);
  assert.equal(stop.pc, trace[inside]!.pc);
  stop = s.stepOut()!;
  const back = trace.findIndex((t, i) => i > inside && t.depth === 0);
  assert.equal(stop.pc, trace[back]!.pc);
  assert.equal(stop.pc, 18);
  assert.deepEqual(s.frames()[0]!.regs, trace[back]!.regs);
  // r0 is packet_len's result: the frame's length.
  assert.equal(s.frames()[0]!.regs[0], BigInt(PACKETS[0]!.length));
  // The last helper before count() ran is none in this packet yet; after `next` over count(), map_update_elem (first packet: no entry yet).
  assert.equal(s.lastHelper, undefined);
  s.next();
  s.next();
  const helper = s.lastHelper as { name: string; result?: bigint } | undefined;
  assert.equal(helper?.name, 'bpf_map_update_elem');
  assert.equal(helper?.result, 0n);
  s.close();
});

test('the tail call is followed into tail_drop; stepping off a packet\'s end stops at the next packet\'s entry', () => {
  const s = session();
  s.setInstructionBreakpoints([{ program: 'tail_drop', pc: 0 }]);
  const stop = s.start(false)!;
  assert.equal(stop.program, 'tail_drop');
  assert.equal(stop.packet, 1);
  assert.equal(s.lastHelper?.name, 'bpf_tail_call');
  assert.equal(s.lastHelper?.tailCallTo, 'tail_drop');
  const want = trace.find((t) => t.program === 'tail_drop');
  assert.deepEqual(s.frames()[0]!.regs, want!.regs);
  // nextPacket from the middle of packet 1: the entry of packet 2 (no breakpoint on the way).
  const np = s.nextPacket()!;
  assert.deepEqual([np.reason, np.packet, np.pc], ['packet', 2, 0]);
  assert.deepEqual(s.frames()[0]!.regs, trace.find((t) => t.packet === 2)!.regs);
  s.close();
});

test('stepping past a tail-call target\'s exit goes on with the next packet', () => {
  const s = session();
  s.setInstructionBreakpoints([{ program: 'tail_drop', pc: 0 }]);
  s.start(false);
  const end = s.next('instruction')!; // exit
  assert.equal(end.pc, 1);
  const nextPacket = s.next('instruction')!;
  assert.deepEqual([nextPacket.packet, nextPacket.program, nextPacket.pc], [2, 'demo', 0]);
  s.close();
});

test('the verifier\'s view holds every concrete value the trace saw (types, known bits, ranges)', () => {
  const s = session();
  const views = s.verifierViews('demo');
  assert.equal(views.result.verdict, 'accept');
  let checked = 0;
  for (const t of trace) {
    if (t.program !== 'demo') continue;
    const v = views.at[t.pc];
    assert.ok(v, `slot ${t.pc} was reached at run time, so a verified path reached it`);
    v.regs.forEach((r, i) => {
      if (!r || !r.live || !r.unsigned || !r.tnum) return;
      const value = t.regs[i]!;
      const [lo, hi] = r.unsigned;
      assert.ok(value >= lo && value <= hi, `slot ${t.pc} r${i} = ${value} outside [${lo}, ${hi}] (${r.text})`);
      const m = /^\(0x([0-9a-f]+); 0x([0-9a-f]+)\)$/.exec(r.tnum)!;
      const known = BigInt(`0x${m[1]}`), mask = BigInt(`0x${m[2]}`);
      assert.equal(value & ~mask & 0xffffffffffffffffn, known, `slot ${t.pc} r${i}: known bits ${r.tnum}`);
      checked++;
    });
    // Pointers: the verifier's type says what the register points to.
    const r7 = v.regs[7];
    if (t.pc >= 3 && t.pc <= 17 && r7) assert.equal(r7.type, 'pkt');
  }
  assert.ok(checked > 100, `scalar registers checked: ${checked}`);
});

test('a fault stops with reason exception at the faulting instruction; continuing goes on with the next packet', () => {
  // r0 = *(u32 *)(r1 + 0x40): beyond xdp_md, a fault at run time (no verifier in the session's runs).
  const insns = [ldx.w(r2, r1, 0), ldx.w(r0, r1, 0x40), alu64.mov.imm(r0, 2), exit()];
  const faulty: ObjectSpec = { ...spec, maps: [], programs: [{ ...spec.programs.find((p) => p.name === 'tail_drop')!, name: 'f', instructions: insns, funcInfo: [], maps: [] }] };
  const s = new DebugSession(faulty, { packets: [{ data: PACKETS[0]! }, { data: PACKETS[1]! }] });
  const stop = s.start(false)!;
  assert.equal(stop.reason, 'exception');
  assert.equal(stop.pc, 1);
  assert.equal(stop.exception?.code, 'ERR_MEMORY_FAULT');
  const again = s.continue()!;
  assert.equal(again.reason, 'exception');
  assert.equal(again.packet, 1);
  assert.equal(s.continue(), undefined);
  assert.equal(s.results.length, 2);
  assert.match(s.results[0]!.error!, /invalid read of 4 bytes .* past the end of "ctx"/);
});

test('expressions: registers, 32-bit views, arithmetic with BPF division, memory casts, errors with a column', () => {
  const mem8 = new Uint8Array([1, 2, 3, 4, 0xff, 0xff, 0xff, 0xff]);
  const scope = { pc: 7, reg: (i: number) => BigInt(i) * 0x100000001n, read: (a: bigint, n: number) => mem8.slice(Number(a), Number(a) + n), ctxField: (n: string) => (n === 'data_end' ? 99n : undefined) };
  const ev = (e: string): bigint => compileExpression(e)(scope);
  assert.equal(ev('w3'), 3n);
  assert.equal(ev('r2 >> 32'), 2n);
  assert.equal(ev('7 / 0'), 0n);
  assert.equal(ev('7 % 0'), 7n);
  assert.equal(ev('*(u16 *)(0 + 2)'), 0x0403n);
  assert.equal(ev('*(s32 *)4'), 0xffffffffffffffffn);
  assert.equal(ev('*(u32 *)4 == 0xffffffff && pc == 7'), 1n);
  assert.equal(ev('ctx->data_end - 1'), 98n);
  assert.equal(ev('-1'), 0xffffffffffffffffn);
  assert.throws(() => ev('r1 +'), { code: 'ERR_DEBUG_EXPRESSION', message: /at the end/ });
  assert.throws(() => ev('r1 $ 2'), { message: /column 4/ });
  assert.throws(() => ev('ctx->mark'), { message: /no field 'mark'/ });
  assert.throws(() => ev('foo'), { message: /unknown name 'foo' at column 1/ });
});

test('the Maps scope shows by_proto decoded with BTF at a stop; --map-update-style setup runs before the first packet', () => {
  const s = new DebugSession(spec, {
    program: 'demo',
    packets: PACKETS.slice(0, 2).map((data) => ({ data })),
    // proto 17 (UDP) already counted 40 packets: the first packet takes the c != NULL branch.
    setup: (obj) => void obj.map('by_proto').write(new Uint8Array([17, 0, 0, 0]), new Uint8Array([40, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), 0),
  });
  s.setLineBreakpoints('debug_demo.c', [{ line: 82 }]);
  assert.ok(s.start(false));
  const maps = frameScopes(s, 0).find((x) => x.name === 'Maps')!.nodes();
  const byProto = maps.find((m) => m.name === 'by_proto')!;
  assert.match(byProto.value, /hash: 1 entry/);
  assert.deepEqual(byProto.children!().map((c) => `${c.name} = ${c.value}`), [`[17] = {packets: 41, bytes: ${256 + PACKETS[0]!.length}}`]);
  const helper = frameScopes(s, 0).find((x) => x.name === 'Last helper')!.nodes();
  assert.match(helper[0]!.value, /bpf_map_lookup_elem \(#1\) at demo:41/);
  s.close();
});

kernelTest('every packet\'s verdict in a debug session (BPF_PROG_TEST_RUN mode) equals the kernel\'s test run', (sys) => {
  using kobj = loadKernelObject(sys, spec, {});
  const kprog = kobj.program('demo');
  const want = PACKETS.map((data) => kprog.testRun({ dataIn: data }).retval);
  const s = new DebugSession(spec, { program: 'demo', packets: PACKETS.map((data) => ({ data, mode: 'test-run' as const })) });
  s.setInstructionBreakpoints([{ pc: 23 }]);
  let stops = 0;
  for (let stop = s.start(false); stop; stop = s.continue()) stops++;
  assert.deepEqual(s.results.map((r) => r.retval), want);
  assert.deepEqual(want, [2, 1, 2, 0, 2, 1]);
  assert.equal(stops, 4, 'slot 23 runs on the four IPv4 packets with a full header');
});
