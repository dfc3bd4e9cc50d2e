// BPF_PROG_TEST_RUN of program types without a packet: raw_tracepoint and syscall (ctx in, retval out; a syscall
// program's context written back), sk_lookup (no data_out) — the call shaped by TestRunOptions.programType.
import assert from 'node:assert/strict';
import { alu64, encode, exit, ldx, program, r0, r1, r2, stx } from '../../../src/isa/index.js';
import { BpfProgLoadFlags } from '../../../src/isa/program-types.js';
import { BpfProgType } from '../../../src/isa/uapi.generated.js';
import { InvalidArgumentError } from '../../../src/kernel/bpf/input-errors.js';
import { loadProgram } from '../../../src/kernel/bpf/prog-load.js';
import { testRun } from '../../../src/kernel/bpf/prog-test-run.js';
import { KernelError } from '../../../src/kernel/kernel-error.js';
import { kernelTest } from '../harness.js';

const u64s = (...v: bigint[]): Uint8Array => {
  const b = new Uint8Array(v.length * 8);
  v.forEach((x, i) => new DataView(b.buffer).setBigUint64(i * 8, x, true));
  return b;
};

kernelTest('raw_tracepoint: a test run takes the tracepoint arguments as ctx_in and reports the return value', (sys) => {
  // r0 = args[1] + args[2] (raw tracepoint arguments are u64s).
  const insns = program(ldx.dw(r0, r1, 8), ldx.dw(r2, r1, 16), alu64.add.reg(r0, r2), exit());
  using prog = loadProgram(sys, { type: BpfProgType.RAW_TRACEPOINT, insns: encode(insns), license: 'GPL', name: 'bk_rawtp' });
  const type = BpfProgType.RAW_TRACEPOINT;
  for (const [a, b] of [[1n, 2n], [0xffffffffn, 1n], [0x1234_5678_9abc_def0n, 0x10n]] as const) {
    const r = testRun(prog, { programType: type, ctxIn: u64s(0n, a, b) });
    assert.equal(r.retval, Number((a + b) & 0xffffffffn));
    assert.equal(r.ctxOut, undefined);
    assert.equal(r.dataOut.length, 0);
  }
  // Up to 12 arguments; fewer bytes than the program reads, or more than 12 u64s, are refused.
  assert.equal(testRun(prog, { programType: type, ctxIn: u64s(...Array.from({ length: 12 }, (_, i) => BigInt(i))) }).retval, 3);
  for (const ctxIn of [u64s(0n, 1n), u64s(...Array.from({ length: 13 }, () => 0n))]) {
    assert.throws(() => testRun(prog, { programType: type, ctxIn }), (e: unknown) => e instanceof KernelError && e.errnoName === 'EINVAL');
  }
  // Without programType the call has data_out and repeat, which the kernel refuses for raw tracepoints.
  assert.throws(() => testRun(prog, { ctxIn: u64s(0n, 1n, 2n) }), (e: unknown) => e instanceof KernelError && e.errnoName === 'EINVAL');
  assert.throws(() => testRun(prog, { programType: type, dataIn: new Uint8Array(14), ctxIn: u64s(0n, 1n, 2n) }), InvalidArgumentError);
});

kernelTest('syscall: a sleepable syscall program runs on ctx_in, and the context it writes comes back as ctxOut', (sys, t) => {
  // ctx->a += 1; ctx->b = ctx->a * 2; return ctx->a.
  const insns = program(ldx.w(r2, r1, 0), alu64.add.imm(r2, 1), stx.w(r1, 0, r2), alu64.mov.reg(r0, r2), alu64.lsh.imm(r2, 1), stx.w(r1, 4, r2), exit());
  let prog;
  try {
    prog = loadProgram(sys, { type: BpfProgType.SYSCALL, insns: encode(insns), license: 'GPL', name: 'bk_syscall', flags: BpfProgLoadFlags.SLEEPABLE });
  } catch (err) {
    // The kernel decides whether syscall programs load here; only EPERM (not permitted on this build) may skip.
    if (err instanceof KernelError && err.errnoName === 'EPERM') return t.skip('this kernel refuses syscall programs (EPERM)');
    throw err;
  }
  using p = prog;
  const ctxIn = new Uint8Array([41, 0, 0, 0, 0, 0, 0, 0]);
  const r = testRun(p, { programType: BpfProgType.SYSCALL, ctxIn });
  assert.equal(r.retval, 42);
  assert.deepEqual([...r.ctxOut!], [42, 0, 0, 0, 84, 0, 0, 0]);
  assert.deepEqual([...ctxIn], [41, 0, 0, 0, 0, 0, 0, 0], 'the caller\'s ctx_in is not changed');
  // A context shorter than the program reads is refused.
  assert.throws(() => testRun(p, { programType: BpfProgType.SYSCALL, ctxIn: new Uint8Array(4) }), (e: unknown) => e instanceof KernelError && e.errnoName === 'EINVAL');
});

kernelTest('sk_lookup: with programType the test run asks for no data_out (the kernel refuses one)', (sys) => {
  using prog = loadProgram(sys, { type: BpfProgType.SK_LOOKUP, insns: encode(program(alu64.mov.imm(r0, 1), exit())), license: 'GPL', name: 'bk_sklk', expectedAttachType: 36 });
  const ctx = new Uint8Array(72);
  ctx[8] = 2;
  assert.equal(testRun(prog, { programType: BpfProgType.SK_LOOKUP, ctxIn: ctx, ctxOutSize: 72 }).retval, 1);
  assert.throws(() => testRun(prog, { ctxIn: ctx, ctxOutSize: 72 }), (e: unknown) => e instanceof KernelError && e.errnoName === 'EINVAL');
});
