// The load-with-log loop on a FakeSys: silent first try, retry with a log, growth on ENOSPC, errno mapping.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PROG_LOAD_ATTR } from '../../../src/kernel/bpf-attr.generated.js';
import { BpfCmd } from '../../../src/kernel/bpf/constants.js';
import { InvalidArgumentError } from '../../../src/kernel/bpf/input-errors.js';
import { loadProgram } from '../../../src/kernel/bpf/prog-load.js';
import { KernelError, KernelPermissionError } from '../../../src/kernel/kernel-error.js';
import { StructReader } from '../../../src/kernel/struct-codec.js';
import { VerifierError } from '../../../src/kernel/verifier-error.js';
import { FakeSys, fail, pointee, type FakeBpfCall } from '../fake-sys.js';

const INSNS = new Uint8Array([0xb7, 0, 0, 0, 2, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
const LOG = '0: R1=ctx() R10=fp0\n0: (bf) r0 = r2\nR2 !read_ok\nprocessed 1 insns\n';

/** A kernel that writes `log` into the log buffer, rotating-log style: ENOSPC plus log_true_size when short. */
function rejectWithLog(log: string, errno = 13) {
  return (call: FakeBpfCall): number => {
    const buf = pointee(call, PROG_LOAD_ATTR, 'log_buf');
    assert.ok(buf, 'a log buffer was passed');
    const bytes = new TextEncoder().encode(log);
    const view = new DataView(call.attr.buffer);
    view.setUint32(PROG_LOAD_ATTR.fields.log_true_size.offset, bytes.length + 1, true);
    if (bytes.length + 1 > buf.length) {
      buf.set(bytes.subarray(bytes.length - (buf.length - 1)));
      buf[buf.length - 1] = 0;
      return fail(call.cmd, 28);
    }
    buf.set(bytes);
    return fail(call.cmd, errno);
  };
}

test('a silent load that fails is retried with a log; the rejection is a VerifierError', () => {
  const sys = new FakeSys().failWith(13).onBpf(rejectWithLog(LOG));
  assert.throws(() => loadProgram(sys, { type: 6, insns: INSNS, license: 'GPL' }), VerifierError);
  const calls = sys.callsOf(BpfCmd.PROG_LOAD);
  assert.equal(calls.length, 2);
  assert.equal(new StructReader(PROG_LOAD_ATTR, (calls[0] as FakeBpfCall).attrIn).u32('log_level'), 0);
  assert.equal(new StructReader(PROG_LOAD_ATTR, (calls[1] as FakeBpfCall).attrIn).u32('log_level'), 1);
  assert.throws(
    () => loadProgram(new FakeSys().failWith(13).onBpf(rejectWithLog(LOG)), { type: 6, insns: INSNS, license: 'GPL' }),
    (e: unknown) => e instanceof VerifierError && e.log === LOG && e.insn === 0 && e.cause instanceof KernelError && /R2 !read_ok/.test(e.message),
  );
});

test('ENOSPC grows the buffer to log_true_size and retries until the log fits', () => {
  const big = `${'0: (b7) r1 = 1 ; R1_w=1\n'.repeat(400)}${LOG}`;
  const sys = new FakeSys().onBpf(rejectWithLog(big)).onBpf(rejectWithLog(big));
  assert.throws(() => loadProgram(sys, { type: 6, insns: INSNS, license: 'GPL', logLevel: 1, logSize: 256 }), (e: unknown) => e instanceof VerifierError && e.log === big && !e.truncated);
  const sizes = sys.callsOf(BpfCmd.PROG_LOAD).map((c) => new StructReader(PROG_LOAD_ATTR, c.attrIn).u32('log_size'));
  assert.deepEqual(sizes, [256, big.length + 1]);
});

test('without log_true_size (old kernel) the buffer grows x4; at the cap the log is reported truncated', () => {
  const big = 'x'.repeat(5000);
  const oldKernel = (call: FakeBpfCall): number => {
    rejectWithLog(big)(call);
    return 0;
  };
  const sys = new FakeSys();
  for (let i = 0; i < 4; i++) {
    sys.onBpf((call) => {
      try {
        return oldKernel(call);
      } catch (e) {
        new DataView(call.attr.buffer).setUint32(PROG_LOAD_ATTR.fields.log_true_size.offset, 0, true);
        throw e;
      }
    });
  }
  assert.throws(
    () => loadProgram(sys, { type: 6, insns: INSNS, license: 'GPL', logLevel: 1, logSize: 100, maxLogSize: 1600 }),
    (e: unknown) => e instanceof VerifierError && e.truncated && e.errnoName === 'ENOSPC' && /log truncated/.test(e.message),
  );
  const sizes = sys.callsOf(BpfCmd.PROG_LOAD).map((c) => new StructReader(PROG_LOAD_ATTR, c.attrIn).u32('log_size'));
  assert.deepEqual(sizes, [100, 400, 1600]);
});

test('a successful load with logLevel keeps the log', () => {
  const sys = new FakeSys().onBpf((call) => {
    (pointee(call, PROG_LOAD_ATTR, 'log_buf') as Uint8Array).set(new TextEncoder().encode('processed 2 insns\n'));
    return 33;
  });
  const prog = loadProgram(sys, { type: 6, insns: INSNS, license: 'GPL', logLevel: 2 });
  assert.equal(prog.verifierLog, 'processed 2 insns\n');
  assert.equal(prog.raw, 33);
  prog.close();
  assert.deepEqual(sys.closed, [33]);
});

test('EPERM is not retried and carries the capability hint', () => {
  const sys = new FakeSys().failWith(1);
  assert.throws(() => loadProgram(sys, { type: 6, insns: INSNS, license: 'GPL' }), (e: unknown) => e instanceof KernelPermissionError && /CAP_BPF/.test(e.message));
  assert.equal(sys.calls.length, 1);
});

test('a failure with an empty log stays a KernelError', () => {
  const sys = new FakeSys().failWith(22).failWith(22);
  assert.throws(() => loadProgram(sys, { type: 999, insns: INSNS, license: 'GPL' }), (e: unknown) => e instanceof KernelError && e.errnoName === 'EINVAL');
});

test('malformed instructions and names fail before any syscall', () => {
  const sys = new FakeSys();
  assert.throws(() => loadProgram(sys, { type: 6, insns: new Uint8Array(12), license: 'GPL' }), InvalidArgumentError);
  assert.throws(() => loadProgram(sys, { type: 6, insns: INSNS, license: 'GPL', name: 'bad-name' }), InvalidArgumentError);
  assert.throws(() => loadProgram(sys, { type: 6, insns: INSNS, license: 'GPL', name: 'a'.repeat(16) }), InvalidArgumentError);
  assert.equal(sys.calls.length, 0);
});

test('the attr carries instructions, license and name as the kernel expects', () => {
  const sys = new FakeSys().returnFd();
  loadProgram(sys, { type: 6, insns: INSNS, license: 'GPL', name: 'pass', expectedAttachType: 37 }).close();
  const call = sys.calls[0] as FakeBpfCall;
  const r = new StructReader(PROG_LOAD_ATTR, call.attr);
  assert.equal(r.u32('prog_type'), 6);
  assert.equal(r.u32('insn_cnt'), 2);
  assert.equal(r.u32('expected_attach_type'), 37);
  assert.equal(r.cstring('prog_name'), 'pass');
  assert.equal(pointee(call, PROG_LOAD_ATTR, 'insns'), INSNS);
  assert.deepEqual([...(pointee(call, PROG_LOAD_ATTR, 'license') ?? [])], [0x47, 0x50, 0x4c, 0]);
  // No log was asked for: the silent first try sends no log buffer.
  assert.equal(pointee(call, PROG_LOAD_ATTR, 'log_buf'), undefined);
});
