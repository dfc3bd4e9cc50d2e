// Control flow: BPF-to-BPF calls (vs the kernel), call depth, budget, may_goto, helpers, tail calls, bad programs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  alu64, call, exit, jmp, label, ldx, program, r0, r1, r2, r3, r6, r7, r8, r9, r10, stx,
} from '../../src/isa/index.js';
import { BpfFuncId } from '../../src/isa/uapi.generated.js';
import { kernelTest } from '../kernel/harness.js';
import {
  BPF_MAX_LOOPS, BudgetExceeded, builtinHelpers, CallDepthExceeded, createXdpVm, ExecutionError, InvalidProgramError,
  MAX_CALL_FRAMES, prepareProgram, run, UnknownHelperError, UnmodelledCallError, type PreparedProgram,
} from '../../src/vm/index.js';
import { assertSame, interpreterBackend, kernelBackend } from './oracle.js';

/** main -> f -> g: arguments, return values, r6-r9 preserved, per-frame stacks, a pointer into the caller's stack. */
const CALLS = program(
  ldx.w(r6, r1, 0),
  ldx.w(r7, r1, 4),
  alu64.mov.reg(r8, r6),
  alu64.add.imm(r8, 32),
  alu64.mov.imm(r0, 0),
  jmp.jgt.reg(r8, r7, 'out'),
  ldx.dw(r1, r6, 0),
  ldx.dw(r2, r6, 8),
  alu64.mov.imm(r7, 0x777),
  alu64.mov.reg(r8, r6),
  alu64.mov.imm(r9, -5),
  stx.dw(r10, -8, r2),
  alu64.mov.reg(r3, r10),
  alu64.add.imm(r3, -8),
  call.func('f'),
  stx.dw(r8, 0, r0),
  stx.dw(r8, 8, r7),
  ldx.dw(r1, r10, -8),
  stx.dw(r8, 16, r1),
  stx.dw(r8, 24, r9),
  alu64.mov.imm(r0, 2),
  label('out'),
  exit(),
  // f(r1, r2, r3 = &caller's stack slot)
  label('f'),
  alu64.mov.reg(r6, r3),
  stx.dw(r10, -8, r1),
  alu64.mov.reg(r1, r2),
  call.func('g'),
  ldx.dw(r2, r10, -8),
  alu64.add.reg(r0, r2),
  ldx.dw(r7, r6, 0),
  alu64.mul.imm(r7, 3),
  stx.dw(r6, 0, r7),
  alu64.mov.imm(r9, 1),
  exit(),
  // g(r1)
  label('g'),
  alu64.mov.reg(r0, r1),
  alu64.mul.imm(r0, 7),
  alu64.xor.imm(r0, 0x55),
  alu64.mov.imm(r6, 0),
  alu64.mov.imm(r7, 0),
  alu64.mov.imm(r8, 0),
  alu64.mov.imm(r9, 0),
  exit(),
);

kernelTest('BPF-to-BPF calls agree with the kernel (args, r0, r6-r9 preserved, stacks per frame)', (sys) => {
  const packet = new Uint8Array(32);
  const v = new DataView(packet.buffer);
  v.setBigUint64(0, 0x1122334455667788n, true);
  v.setBigUint64(8, 0xfedcba9876543210n, true);
  const k = kernelBackend(sys).runXdp(CALLS, packet);
  const m = interpreterBackend().runXdp(CALLS, packet);
  assertSame(k, m, (w) => ['r0 from f', 'r7 after the call', 'caller stack slot', 'r9 after the call'][w]!);
  assert.equal(k.retval, 2);
});

test('a tail call from a BPF-to-BPF callee returns to the callee\'s caller (kernel comparison: test/runtime/tail-call-subprog)', () => {
  const target = prepareProgram(program(alu64.mov.imm(r0, 7), exit()));
  // main: r6 = 100; r0 = f(ctx); return r0 + r6.   f: tail_call(ctx, map, 0); return 1.
  const main = program(
    alu64.mov.imm(r6, 100),
    call.func('f'),
    alu64.add.reg(r0, r6),
    exit(),
    label('f'),
    alu64.mov.imm(r6, 5), // the callee's r6; the caller's must come back
    alu64.mov.imm(r3, 0),
    call.helper('tail_call'),
    alu64.mov.imm(r0, 1),
    exit(),
  );
  for (const filled of [false, true]) {
    const vm = createXdpVm(main, { tailCalls: { resolve: () => (filled ? target : undefined) } });
    assert.equal(vm.run(undefined, new Uint8Array(32)).retval, filled ? 107 : 101);
    assert.equal(vm.run(undefined, new Uint8Array(32)).retval, filled ? 107 : 101);
  }
});

test('recursion past MAX_CALL_FRAMES throws CallDepthExceeded at the call', () => {
  const insns = program(label('f'), call.func('f'), exit());
  assert.throws(() => run(insns, undefined, new Uint8Array(14)), (err: unknown) => {
    assert.ok(err instanceof CallDepthExceeded);
    assert.equal(err.pc, 0);
    assert.equal(err.maxFrames, MAX_CALL_FRAMES);
    return true;
  });
});

test('seven nested calls are allowed (eight frames)', () => {
  const insns = program(
    alu64.mov.imm(r0, 0),
    call.func('f1'), exit(),
    ...[1, 2, 3, 4, 5, 6].map((i) => [label(`f${i}`), alu64.add.imm(r0, 1), call.func(`f${i + 1}`), exit()]).flat(),
    label('f7'), alu64.add.imm(r0, 100), exit(),
  );
  assert.equal(run(insns, undefined, new Uint8Array(14)).retval, 106);
});

test('a runaway loop stops with BudgetExceeded after exactly the budget', () => {
  const insns = program(alu64.mov.imm(r0, 0), label('top'), alu64.add.imm(r0, 1), jmp.ja('top'));
  const vm = createXdpVm(insns, { budget: 1001 });
  assert.throws(() => vm.run(undefined, new Uint8Array(14)), (err: unknown) => {
    assert.ok(err instanceof BudgetExceeded);
    assert.equal(err.budget, 1001);
    assert.equal(err.code, 'ERR_BUDGET_EXCEEDED');
    return true;
  });
  assert.equal(vm.interpreter.executed, 1001);
  assert.equal(vm.interpreter.regLo(0), 500);
});

test('may_goto falls through BPF_MAX_LOOPS times, then jumps', () => {
  const insns = program(alu64.mov.imm(r0, 0), label('top'), jmp.may_goto('out'), alu64.add.imm(r0, 1), jmp.ja('top'), label('out'), exit());
  const r = run(insns, undefined, new Uint8Array(14), { budget: 3 * BPF_MAX_LOOPS + 10 });
  assert.equal(r.retval, BPF_MAX_LOOPS);
});

test('built-in helpers use the injected clock, random source and cpu', () => {
  const insns = program(
    call.helper('ktime_get_ns'), alu64.mov.reg(r6, r0),
    call.helper('get_prandom_u32'), alu64.mov.reg(r7, r0),
    call.helper('get_smp_processor_id'), alu64.lsh.imm(r0, 8),
    alu64.add.reg(r0, r7), alu64.add.reg(r0, r6), exit(),
  );
  const helpers = builtinHelpers({ clock: () => 5_000_000_000n, random: () => 0xffffffff, cpu: 3 });
  const r = run(insns, undefined, new Uint8Array(14), { helpers });
  assert.equal(r.r0, 5_000_000_000n + 0xffffffffn + (3n << 8n));
});

test('a helper returning a negative errno sets r0 to its 64-bit two\'s complement', () => {
  const helpers = new Map([[BpfFuncId.ktime_get_ns, () => -22]]);
  const r = run(program(call.helper('ktime_get_ns'), exit()), undefined, new Uint8Array(14), { helpers });
  assert.equal(r.r0, (1n << 64n) - 22n);
});

test('calling a helper the table lacks fails at prepare time', () => {
  assert.throws(() => prepareProgram(program(call.helper('map_lookup_elem'), exit()), { helpers: builtinHelpers() }), (err: unknown) => {
    assert.ok(err instanceof UnknownHelperError);
    assert.equal(err.helperId, BpfFuncId.map_lookup_elem);
    return true;
  });
});

test('tail calls go through the hook, keep registers and stack, stop after 33', () => {
  // target: r0 = r6 + 1000 + stack[-8]; exit
  const target = prepareProgram(program(ldx.dw(r0, r10, -8), alu64.add.reg(r0, r6), alu64.add.imm(r0, 1000), exit()));
  const main = program(alu64.mov.imm(r6, 5), alu64.mov.imm(r0, 77), stx.dw(r10, -8, r0), alu64.mov.imm(r3, 0), call.helper('tail_call'), alu64.mov.imm(r0, 1), exit());
  const seen: number[] = [];
  const r = run(main, undefined, new Uint8Array(14), {
    tailCalls: { resolve: (_vm, _map, index) => (seen.push(index), index === 0 ? target : undefined) },
  });
  assert.equal(r.retval, 1082);
  assert.deepEqual(seen, [0]);
  // An empty slot falls through.
  const miss = run(main, undefined, new Uint8Array(14), { tailCalls: { resolve: () => undefined } });
  assert.equal(miss.retval, 1);
  // A program tail-calling itself stops after MAX_TAIL_CALL_CNT and falls through.
  let calls = 0;
  const self: PreparedProgram = prepareProgram(program(alu64.add.imm(r9, 1), alu64.mov.reg(r0, r9), call.helper('tail_call'), alu64.mov.reg(r0, r9), exit()), { helpers: builtinHelpers() });
  const loop = run(self, undefined, new Uint8Array(14), { tailCalls: { resolve: () => (calls++, self) } });
  assert.equal(loop.retval, 34);
  assert.equal(calls, 34);
});

test('every run starts at the entry program, also after a run that tail-called away', () => {
  const target = prepareProgram(program(alu64.mov.imm(r0, 2), exit()));
  // main: the first run tail-calls to target (r0 = 2); the next must run main again.
  let n = 0;
  const vm = createXdpVm(program(alu64.mov.imm(r3, 0), call.helper('tail_call'), alu64.mov.imm(r0, 1), exit()), {
    tailCalls: { resolve: () => (n++ === 0 ? target : undefined) },
  });
  assert.equal(vm.run(undefined, new Uint8Array(14)).retval, 2);
  assert.equal(vm.run(undefined, new Uint8Array(14)).retval, 1);
  assert.equal(n, 2);
});

test('a deep call leaves no bytes behind for the next run (stack frames are zeroed)', () => {
  // main stores into its frame only on the first run (r1 != 0 path is not taken then); a callee
  // writes its own frame. The second run reads both frames' slots uninitialised-by-program: 0.
  const prog = program(
    ldx.dw(r0, r10, -8),
    jmp.jne.imm(r0, 0, 'out'),
    alu64.mov.imm(r6, 0x55),
    stx.dw(r10, -8, r6),
    call.func('f'),
    label('out'),
    exit(),
    label('f'),
    ldx.dw(r0, r10, -16),
    stx.dw(r10, -16, r10),
    exit(),
  );
  const vm = createXdpVm(prog);
  const first = vm.run(undefined, new Uint8Array(14));
  assert.equal(first.retval, 0);
  const second = vm.run(undefined, new Uint8Array(14));
  assert.equal(second.retval, 0);
});

test('structural errors: jumps out of the program, into an lddw, falling off the end', () => {
  assert.throws(() => prepareProgram([jmp.ja(5), exit()]), InvalidProgramError);
  assert.throws(() => prepareProgram(program(jmp.ja(1), { code: 0x18, dst: 1, src: 0, off: 0, imm: 1, imm2: 0 }, exit())), /middle of an lddw/);
  assert.throws(() => run([alu64.mov.imm(r0, 1)], undefined, new Uint8Array(14)), (err: unknown) => err instanceof ExecutionError && /fell off the end/.test(err.message));
  // A kfunc the runtime does not model is refused when a run reaches it, not when the program is prepared.
  const kfunc = prepareProgram(program(call.kfunc(1), exit()));
  assert.deepEqual(kfunc.unmodelledCalls.map((c) => c.kind), ['kfunc']);
  assert.throws(() => run(program(call.kfunc(1), exit()), undefined, new Uint8Array(14)), (err: unknown) => err instanceof UnmodelledCallError && /kfunc/.test(err.message));
});
