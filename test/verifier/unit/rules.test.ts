// Each verifier rule on a small program: the accepted and the rejected side, with the kernel's message.
// The CVE regressions are written from the advisories' descriptions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alu32, alu64, call, exit, jmp, jmp32, label, ld, ldx, program, st, stx, type Instruction } from '../../../src/isa/index.js';
import { BpfMapType, BpfProgType } from '../../../src/isa/uapi.generated.js';
import type { MapDef } from '../../../src/maps/map-ops.js';
import { verifyInstructions, VerifierRejection, type VerifyOptions } from '../../../src/verifier/index.js';
import { assertVerified, verifyProgram as verifyProgramApi } from '../../../src/verifier/verify.js';

const def = (name: string, type: number, keySize: number, valueSize: number, maxEntries: number): MapDef => ({ name, type, keySize, valueSize, maxEntries, flags: 0 });
const MAPS: ReadonlyMap<string, MapDef> = new Map(
  [def('array', BpfMapType.ARRAY, 4, 48, 4), def('rb', BpfMapType.RINGBUF, 0, 0, 4096), def('progs', BpfMapType.PROG_ARRAY, 4, 4, 4)].map((d) => [d.name, d]),
);
const verify = (insns: Instruction[], o: VerifyOptions = {}) => verifyInstructions(insns, { maps: MAPS, ...o });
const ok = (insns: Instruction[], o: VerifyOptions = {}): void => {
  const r = verify(insns, o);
  assert.equal(r.verdict, 'accept', `expected accept, got: ${r.message}\n${r.log}`);
};
const rejects = (insns: Instruction[], message: string | RegExp, o: VerifyOptions = {}): void => {
  const r = verify(insns, o);
  assert.equal(r.verdict, 'reject', 'expected a rejection');
  if (typeof message === 'string') assert.equal(r.message, message);
  else assert.match(r.message ?? '', message);
};
const ret0 = [alu64.mov.imm(0, 0), exit()];
const lookup = [st.dw(10, -8, 0), alu64.mov.reg(2, 10), alu64.add.imm(2, -8), ld.map_fd(1, 'array'), call.helper('map_lookup_elem')];
const xdpPkt = [ldx.w(2, 1, 0), ldx.w(3, 1, 4)];

test('registers: reading an uninitialised register, writing r10', () => {
  rejects(program(exit()), 'R0 !read_ok');
  rejects(program(alu64.add.reg(0, 5), exit()), 'R5 !read_ok');
  rejects(program(alu64.mov.imm(10, 0), ...ret0), 'frame pointer is read only');
  ok(program(...ret0));
});

test('control flow: unreachable code, jumps out of range, missing exit, lddw halves, loops', () => {
  rejects(program(...ret0, ...ret0), 'unreachable insn 2');
  rejects(program(alu64.mov.imm(0, 0), jmp.ja(5), exit()), 'jump out of range from insn 1 to 7');
  rejects(program(alu64.mov.imm(0, 0)), 'last insn is not an exit or jmp');
  rejects(program(alu64.mov.imm(0, 0), jmp.jeq.imm(0, 0, 1), ld.imm64(1, 5n), exit()), 'jump into the middle of ldimm64 insn 2');
  // A bounded loop is explored to the end; one that never exits hits the complexity limit.
  ok(program(alu64.mov.imm(0, 0), alu64.mov.imm(1, 0), label('top'), alu64.add.imm(1, 1), jmp.jlt.imm(1, 20, 'top'), exit()));
  rejects(program(alu64.mov.imm(0, 0), alu64.mov.imm(1, 0), label('top'), alu64.add.imm(0, 1), jmp.jlt.imm(1, 10, 'top'), exit()), /BPF program is too large. Processed 10001 insn/, { maxProcessedInsns: 10_000 });
  rejects(program(alu64.mov.imm(0, 0), label('top'), alu64.mov.imm(1, 0), jmp.jeq.imm(1, 0, 'top'), exit()), /infinite loop detected at insn \d/);
  // Unprivileged: back-edges are refused.
  rejects(program(alu64.mov.imm(0, 0), label('top'), alu64.add.imm(0, 1), jmp.jlt.imm(0, 3, 'top'), exit()), 'back-edge from insn 2 to 1', { privileged: false });
});

test('maps: lookups must be null-checked, the check propagates to copies and spills', () => {
  rejects(program(...lookup, ldx.dw(1, 0, 0), ...ret0), "R0 invalid mem access 'map_value_or_null'");
  ok(program(...lookup, jmp.jeq.imm(0, 0, 'out'), ldx.dw(1, 0, 40), label('out'), ...ret0));
  rejects(program(...lookup, jmp.jeq.imm(0, 0, 'out'), ldx.dw(1, 0, 41), label('out'), ...ret0), 'R0 min value is outside of the allowed memory range');
  assert.match(verify(program(...lookup, jmp.jeq.imm(0, 0, 'out'), ldx.dw(1, 0, 41), label('out'), ...ret0), { logLevel: 1 }).log, /invalid access to map value, value_size=48 off=41 size=8\nR0 min value is outside/);
  ok(program(...lookup, alu64.mov.reg(6, 0), stx.dw(10, -16, 0), jmp.jeq.imm(6, 0, 'out'), ldx.dw(7, 10, -16), ldx.dw(1, 7, 0), label('out'), ...ret0));
  // A 32-bit compare is no null check.
  rejects(program(...lookup, jmp32.jeq.imm(0, 0, 'out'), ldx.dw(1, 0, 0), label('out'), ...ret0), "R0 invalid mem access 'map_value_or_null'");
});

test('maps: variable offsets need both bounds', () => {
  const value = (bound: Instruction[]): Instruction[] => program(...lookup, jmp.jeq.imm(0, 0, 'out'), ldx.dw(1, 0, 0), ...bound, alu64.add.reg(0, 1), ldx.b(2, 0, 0), label('out'), ...ret0);
  ok(value([jmp.jgt.imm(1, 47, 'out')]));
  rejects(value([jmp.jgt.imm(1, 48, 'out')]), 'R0 max value is outside of the allowed memory range');
  rejects(value([]), 'math between map_value pointer and register with unbounded min value is not allowed');
  rejects(program(...lookup, jmp.jeq.imm(0, 0, 'out'), ldx.w(1, 0, 0), alu64.add.reg(0, 1), ldx.b(2, 0, 0), label('out'), ...ret0), 'R0 unbounded memory access, make sure to bounds check any such access');
  rejects(value([jmp.jsgt.imm(1, 40, 'out')]), 'math between map_value pointer and register with unbounded min value is not allowed');
  ok(value([alu64.and.imm(1, 31)]));
});

test('packets: access needs a comparison with data_end; the range follows copies', () => {
  rejects(program(...xdpPkt, ldx.b(0, 2, 0), exit()), 'R2 offset is outside of the packet');
  ok(program(...xdpPkt, alu64.mov.reg(4, 2), alu64.add.imm(4, 14), jmp.jgt.reg(4, 3, 'out'), ldx.b(0, 2, 13), exit(), label('out'), ...ret0));
  rejects(program(...xdpPkt, alu64.mov.reg(4, 2), alu64.add.imm(4, 14), jmp.jgt.reg(4, 3, 'out'), ldx.b(0, 2, 14), exit(), label('out'), ...ret0), 'R2 offset is outside of the packet');
  // The other order of operands: if data_end < data + 14 goto out.
  ok(program(...xdpPkt, alu64.mov.reg(4, 2), alu64.add.imm(4, 14), jmp.jlt.reg(3, 4, 'out'), ldx.w(0, 2, 10), exit(), label('out'), ...ret0));
  rejects(program(...xdpPkt, alu64.add.imm(3, 1), ...ret0), 'R3 pointer arithmetic on pkt_end prohibited');
});

test('stack: bounds, alignment, spills and fills', () => {
  rejects(program(st.dw(10, -520, 0), ...ret0), 'invalid write to stack R10 off=-520 size=8');
  rejects(program(st.dw(10, -12, 0), ...ret0), 'misaligned stack access off 0+0+-12 size 8');
  ok(program(stx.dw(10, -8, 1), ldx.dw(1, 10, -8), ldx.w(0, 1, 0), exit()), { programType: BpfProgType.XDP });
  rejects(program(stx.w(10, -8, 1), ...ret0), 'invalid size of register spill');
  // Root may read stack it never wrote (allow_uninit_stack); the result is unknown.
  ok(program(ldx.dw(0, 10, -8), exit()));
  // Unprivileged: below the stack written so far the kernel (6.18, as nobody) says R10 off=; inside it, off -8+4.
  rejects(program(ldx.dw(0, 10, -8), exit()), 'invalid read from stack R10 off=-8 size=8', { privileged: false });
  rejects(program(st.w(10, -8, 1), ldx.dw(0, 10, -8), exit()), 'invalid read from stack off -8+4 size 8', { privileged: false });
});

test('context: field rules of the program type', () => {
  ok(program(ldx.w(0, 1, 0), exit()));
  rejects(program(ldx.w(0, 1, 2), exit()), 'invalid bpf_context access off=2 size=4');
  rejects(program(alu64.add.imm(1, 4), ldx.w(0, 1, 0), exit()), 'dereference of modified ctx ptr R1 off=4 disallowed');
  ok(program(ldx.w(0, 1, 0), exit()), { programType: BpfProgType.SCHED_CLS });
});

test('helpers: prototypes decide argument types; program types decide which helpers', () => {
  rejects(program(alu64.mov.imm(1, 0), alu64.mov.reg(2, 10), alu64.add.imm(2, -8), call.helper('map_lookup_elem'), ...ret0), 'R1 type=scalar expected=map_ptr');
  rejects(program(call.helper('skb_load_bytes'), ...ret0), 'program of this type cannot use helper bpf_skb_load_bytes#26');
  rejects(program(ld.map_fd(1, 'array'), alu64.mov.imm(2, 0), alu64.mov.imm(3, 0), call.helper('tail_call'), ...ret0), /R1 type=map_ptr expected=ctx|expected prog array map for tail call/);
  ok(program(ld.map_fd(2, 'progs'), alu64.mov.imm(3, 0), call.helper('tail_call'), ...ret0));
  // r0..r5 are clobbered by a call.
  rejects(program(alu64.mov.imm(3, 1), call.helper('ktime_get_ns'), alu64.mov.reg(0, 3), exit()), 'R3 !read_ok');
});

const reserve = [ld.map_fd(1, 'rb'), alu64.mov.imm(2, 16), alu64.mov.imm(3, 0), call.helper('ringbuf_reserve')];
test('ring buffer: references must be released once, on every path', () => {
  ok(program(...reserve, jmp.jeq.imm(0, 0, 'out'), st.dw(0, 8, 1), alu64.mov.reg(1, 0), alu64.mov.imm(2, 0), call.helper('ringbuf_submit'), label('out'), ...ret0));
  rejects(program(...reserve, jmp.jeq.imm(0, 0, 'out'), st.dw(0, 8, 1), label('out'), ...ret0), 'BPF_EXIT instruction in main prog would lead to reference leak');
  rejects(program(...reserve, jmp.jeq.imm(0, 0, 'out'), st.dw(0, 16, 1), label('out'), ...ret0), 'R0 min value is outside of the allowed memory range');
  rejects(
    program(...reserve, jmp.jeq.imm(0, 0, 'out'), alu64.mov.reg(6, 0), alu64.mov.reg(1, 6), alu64.mov.imm(2, 0), call.helper('ringbuf_submit'), alu64.mov.reg(1, 6), alu64.mov.imm(2, 0), call.helper('ringbuf_discard'), label('out'), ...ret0),
    'R1 type=scalar expected=ringbuf_mem',
  );
  rejects(program(...reserve, alu64.mov.reg(1, 0), alu64.mov.imm(2, 0), call.helper('ringbuf_submit'), ...ret0), 'R1 type=ringbuf_mem_or_null expected=ringbuf_mem');
});

test('BPF-to-BPF calls: frames, depth and the combined stack', () => {
  ok(program(alu64.mov.imm(1, 3), call.func('f'), exit(), label('f'), alu64.mov.reg(0, 1), exit()));
  rejects(program(call.func('f'), exit(), label('f'), alu64.mov.reg(0, 10), exit()), 'cannot return stack pointer to the caller');
  const chain: Instruction[] = [];
  for (let i = 0; i < 9; i++) chain.push(...program(label(`f${i}`), call.func(`f${i + 1}`), exit()));
  rejects([...program(call.func('f0'), exit()), ...chain, ...program(label('f9'), ...ret0)], 'the call stack of 9 frames is too deep');
  rejects(program(st.dw(10, -296, 0), call.func('f'), exit(), label('f'), st.dw(10, -296, 0), ...ret0), 'combined stack size of 2 calls is 608. Too large');
  ok(program(st.dw(10, -256, 0), call.func('f'), exit(), label('f'), st.dw(10, -256, 0), ...ret0));
});

test('CVE-2022-23222: no pointer arithmetic on *_or_null types', () => {
  rejects(program(...lookup, alu64.add.imm(0, 8), jmp.jeq.imm(0, 0, 'out'), ldx.dw(1, 0, 0), label('out'), ...ret0), 'R0 pointer arithmetic on map_value_or_null prohibited, null-check it first');
  rejects(program(...reserve, alu64.add.imm(0, 8), ...ret0), 'R0 pointer arithmetic on ringbuf_mem_or_null prohibited, null-check it first');
});

test('CVE-2021-3490: 32-bit AND with a known subregister cannot widen a map offset past its bounds', () => {
  // r1 = unknown with the low 32 bits known to be 0 after the AND; the bug gave w1 wrong u32 bounds.
  const p = program(...lookup, jmp.jeq.imm(0, 0, 'out'), ldx.dw(1, 0, 0), alu64.lsh.imm(1, 32), alu64.or.imm(1, 1), alu32.and.imm(1, 1), alu64.mul.imm(1, 47), alu64.add.reg(0, 1), ldx.b(2, 0, 0), label('out'), ...ret0);
  ok(p); // w1 & 1 == 1 exactly, zero-extended: offset 47 is in bounds.
  const bad = program(...lookup, jmp.jeq.imm(0, 0, 'out'), ldx.dw(1, 0, 0), alu64.lsh.imm(1, 32), alu64.or.imm(1, 1), alu32.or.imm(1, 2), alu64.mul.imm(1, 47), alu64.add.reg(0, 1), ldx.b(2, 0, 0), label('out'), ...ret0);
  rejects(bad, /R0 (max value is outside|min value is outside|unbounded)/); // w1 | 2 == 3: 141 is out of bounds.
});

test('CVE-2020-8835: a 32-bit compare bounds only the 32-bit view', () => {
  // if w1 > 7 goto out does not bound the 64-bit r1.
  rejects(program(...lookup, jmp.jeq.imm(0, 0, 'out'), ldx.dw(1, 0, 0), jmp32.jgt.imm(1, 7, 'out'), alu64.add.reg(0, 1), ldx.b(2, 0, 0), label('out'), ...ret0), /R0 unbounded memory access|math between map_value pointer and register with unbounded min/);
  ok(program(...lookup, jmp.jeq.imm(0, 0, 'out'), ldx.w(1, 0, 0), jmp32.jgt.imm(1, 7, 'out'), alu64.add.reg(0, 1), ldx.b(2, 0, 0), label('out'), ...ret0));
});

test('CVE-2021-31440: 64-bit bounds propagate to 32 bits only when the upper half is known', () => {
  // r1 in [0, 0x1_0000_0001]: w1 is not bounded by 1 and must not be used as a small offset.
  rejects(
    program(...lookup, jmp.jeq.imm(0, 0, 'out'), ldx.dw(1, 0, 0), ld.imm64(2, 0x100000001n), jmp.jgt.reg(1, 2, 'out'), alu32.mov.reg(1, 1), alu64.add.reg(0, 1), ldx.b(2, 0, 0), label('out'), ...ret0),
    'R0 unbounded memory access, make sure to bounds check any such access',
  );
});

test('results: statistics, the source line of the rejection, the level-2 log, the throwing API', () => {
  const r = verify(program(...xdpPkt, ldx.b(0, 2, 0), exit()), { logLevel: 2 });
  assert.equal(r.insn, 2);
  assert.ok(r.processedInsns >= 3);
  assert.match(r.log, /^func#0 @0\n0: R1=ctx\(\) R10=fp0\n/);
  assert.match(r.log, /2: \(71\) r0 = \*\(u8 \*\)\(r2 \+0\)\n/);
  assert.match(r.log, /R2=pkt\(r=0\)/);
  assert.match(r.log, /processed \d+ insns \(limit 1000000\)/);
  const withSource = [...xdpPkt, { ...ldx.b(0, 2, 0), source: { file: 'prog.c', line: 23, column: 5, text: 'return data[0];' } }, exit()];
  const s = verify(withSource);
  assert.deepEqual(s.line, { file: 'prog.c', line: 23, column: 5, text: 'return data[0];' });
  assert.throws(
    () => assertVerified({ name: 'p', section: 'xdp', type: BpfProgType.XDP, flags: 0, license: 'GPL', kernelVersion: 0, instructions: program(exit()), ownInsnCount: 1, sectionOffset: 0, funcInfo: [], coreRelos: [], maps: [], externs: [] }),
    (e: unknown) => e instanceof VerifierRejection && e.code === 'ERR_VERIFIER_REJECT' && e.reason === 'R0 !read_ok' && e.insn === 0,
  );
});

test('bad input ends in a verdict: empty programs, unknown opcodes, garbage registers', () => {
  assert.equal(verify([]).verdict, 'reject');
  rejects([{ code: 0xff, dst: 0, src: 0, off: 0, imm: 0 }, exit()], 'unknown opcode ff');
  rejects([{ code: 0xb7, dst: 12, src: 0, off: 0, imm: 0 }, exit()], /R12 is invalid|reserved/);
});

test('level 2 prints each instruction with the registers it touched, aligned as the kernel does', () => {
  const r = verify(program(st.dw(10, -8, 0), alu64.mov.reg(2, 10), alu64.add.imm(2, -8), ...ret0), { logLevel: 2 });
  // These lines are the kernel 6.18's, byte for byte.
  assert.ok(r.log.includes('0: (7a) *(u64 *)(r10 -8) = 0          ; R10=fp0 fp-8=0\n'), r.log);
  assert.ok(r.log.includes('1: (bf) r2 = r10                      ; R2=fp0 R10=fp0\n'), r.log);
  assert.ok(r.log.includes('2: (07) r2 += -8                      ; R2=fp-8\n'), r.log);
});

const withFuncInfo = (insns: Instruction[]) => ({
  name: 'p', section: 'xdp', type: BpfProgType.XDP, flags: 0, license: 'GPL', kernelVersion: 0, instructions: insns, ownInsnCount: insns.length,
  sectionOffset: 0, funcInfo: [{ insn: 0, typeId: 1 }], coreRelos: [], maps: [], externs: [],
});

test('callbacks: bpf_loop runs its callback as a frame that must return 0 or 1; for_each_map_elem keys are read-only', () => {
  const loop = (cbRet: number): Instruction[] =>
    program(alu64.mov.imm(1, 10), ld.func(2, 'cb'), alu64.mov.imm(3, 0), alu64.mov.imm(4, 0), call.helper('loop'), ...ret0, label('cb'), alu64.mov.imm(0, cbRet), exit());
  const verifyProgram = verifyInstructionsViaProgram;
  assert.equal(verifyProgram(withFuncInfo(loop(1))).verdict, 'accept');
  assert.equal(verifyProgram(withFuncInfo(loop(2))).message, 'At callback return the register R0 has smin=2 smax=2 should have been in [0, 1]');
  // Without BTF func info the kernel refuses the callback pointer.
  rejects(loop(0), 'missing btf func_info');
  // The callback's context is the caller's stack: writes through it land in the caller's frame.
  const sum = program(st.dw(10, -8, 0), alu64.mov.imm(1, 10), ld.func(2, 'cb'), alu64.mov.reg(3, 10), alu64.add.imm(3, -8), alu64.mov.imm(4, 0), call.helper('loop'), ldx.dw(0, 10, -8), exit(), label('cb'), ldx.dw(3, 2, 0), alu64.add.reg(3, 1), stx.dw(2, 0, 3), ...ret0);
  assert.equal(verifyProgram(withFuncInfo(sum)).verdict, 'accept');
  const each = (cb: Instruction[]): Instruction[] =>
    program(ld.map_fd(1, 'array'), ld.func(2, 'cb'), alu64.mov.imm(3, 0), alu64.mov.imm(4, 0), call.helper('for_each_map_elem'), ...ret0, label('cb'), ...cb);
  assert.equal(verifyProgram(withFuncInfo(each([ldx.w(5, 2, 0), ldx.dw(6, 3, 40), ...ret0]))).verdict, 'accept');
  assert.equal(verifyProgram(withFuncInfo(each([st.w(2, 0, 1), ...ret0]))).message, 'write to change key R2 not allowed');
});

function verifyInstructionsViaProgram(p: ReturnType<typeof withFuncInfo>) {
  return verifyProgramApi(p, undefined, { maps: MAPS });
}

test('linked scalars: a bound on a copy bounds the original, with a constant delta (BPF_ADD_CONST); neg cuts the link', () => {
  const value = (ops: Instruction[]): Instruction[] =>
    program(...lookup, jmp.jeq.imm(0, 0, 'out'), ldx.w(1, 0, 0), alu64.mov.reg(2, 1), ...ops, alu64.add.reg(0, 1), ldx.b(3, 0, 0), label('out'), ...ret0);
  ok(value([jmp.jgt.imm(2, 47, 'out')]));
  ok(value([alu64.add.imm(2, 4), jmp.jgt.imm(2, 51, 'out')]));
  rejects(value([alu64.add.imm(2, 4), jmp.jgt.imm(2, 52, 'out')]), 'R0 max value is outside of the allowed memory range');
  rejects(value([alu64.neg(2), jmp.jgt.imm(2, 10, 'out')]), 'R0 unbounded memory access, make sure to bounds check any such access');
});
