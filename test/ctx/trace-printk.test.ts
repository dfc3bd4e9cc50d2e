// bpf_trace_vprintk against the kernel: the return value (formatted length or -EINVAL) for data_len
// rules (multiple of 8, at most 12 arguments) and the format checks it shares with bpf_trace_printk.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alu64, call, encode, exit, type Instruction, jmp, label, ldx, program, r0, r1, r2, r3, r4, r6, r10, st, stx } from '../../src/isa/index.js';
import { createHelperEnv } from '../../src/ctx/helpers/index.js';
import { xdpOps } from '../../src/ctx/xdp.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { kernelTest } from '../kernel/harness.js';
import { frame, kernelRunLoaded, summary, vmRun } from './oracle.js';

const ARGS = 16;

/**
 * r0 = bpf_trace_vprintk(fmt, sizeof fmt, args, dataLen): fmt written on the stack at fp-64,
 * 13 u64 arguments copied from the packet to fp-176; with `strArg`, argument 0 points at the
 * NUL-terminated string "str" at fp-184.
 */
function vprintk(fmt: Uint8Array, dataLen: number, strArg: boolean, fmtSize = fmt.length): Instruction[] {
  const body: (Instruction | ReturnType<typeof label>)[] = [alu64.mov.reg(r6, r1), ldx.w(r2, r6, 0), ldx.w(r3, r6, 4), alu64.mov.reg(r4, r2), alu64.add.imm(r4, ARGS + 104), alu64.mov.imm(r0, 1), jmp.jgt.reg(r4, r3, 'out')];
  fmt.forEach((b, i) => body.push(st.b(r10, -64 + i, b)));
  for (let i = 0; i < 104; i += 8) body.push(ldx.dw(r4, r2, ARGS + i), stx.dw(r10, -176 + i, r4));
  if (strArg) {
    [0x73, 0x74, 0x72, 0].forEach((b, i) => body.push(st.b(r10, -184 + i, b)));
    body.push(alu64.mov.reg(r4, r10), alu64.add.imm(r4, -184), stx.dw(r10, -176, r4));
  }
  body.push(alu64.mov.reg(r1, r10), alu64.add.imm(r1, -64), alu64.mov.imm(r2, fmtSize), alu64.mov.reg(r3, r10), alu64.add.imm(r3, -176), alu64.mov.imm(r4, dataLen), call.helper('trace_vprintk'), label('out'), exit());
  return program(...body);
}

const enc = (s: string): Uint8Array => Uint8Array.from([...Buffer.from(s, 'latin1'), 0]);

const CASES: readonly { fmt: Uint8Array; dataLen: number; str?: boolean; fmtSize?: number }[] = [
  { fmt: enc('hello\n'), dataLen: 0 },
  { fmt: enc('hello\n'), dataLen: 8 },
  { fmt: enc('%d %d\n'), dataLen: 16 },
  { fmt: enc('%d %d\n'), dataLen: 8 },
  { fmt: enc('%d %d\n'), dataLen: 12 },
  { fmt: enc('%d %u %x %lld %llu %llx %d %d %d %d %d %d\n'), dataLen: 96 },
  { fmt: enc('%d %u %x %lld %llu %llx %d %d %d %d %d %d %d\n'), dataLen: 104 },
  { fmt: enc('%d'), dataLen: 104 },
  { fmt: enc('%5d|%-5d|%05x'), dataLen: 24 },
  { fmt: enc('%s!'), dataLen: 8, str: true },
  { fmt: enc('%c%c%%'), dataLen: 16 },
  { fmt: enc('%pK %px'), dataLen: 16 },
  { fmt: enc('%.3d'), dataLen: 8 },
  { fmt: enc('%n'), dataLen: 8 },
  { fmt: enc('a\x01b'), dataLen: 0 },
  { fmt: enc('tab\there'), dataLen: 0 },
  { fmt: enc('caf\xc3\xa9'), dataLen: 0 },
  { fmt: enc('%\xc3'), dataLen: 8 },
  { fmt: Uint8Array.from(Buffer.from('no nul', 'latin1')), dataLen: 0 },
  { fmt: enc('%lld'), dataLen: 8, fmtSize: 3 },
  { fmt: enc(`${'x'.repeat(50)}%d`), dataLen: 8 },
];

kernelTest('bpf_trace_vprintk returns what the kernel returns', (sys) => {
  const diffs: string[] = [];
  const data = frame([0, 0, 0, 0, 0, 0], 0x88b5, 200);
  const v = new DataView(data.buffer);
  for (let i = 0; i < 13; i++) v.setBigUint64(ARGS + i * 8, BigInt(i * 1000 + 65) * (i % 3 === 0 ? -1n : 1n) & 0xffffffffffffffffn, true);
  for (const c of CASES) {
    const insns = vprintk(c.fmt, c.dataLen, c.str ?? false, c.fmtSize);
    using prog = loadProgram(sys, { type: xdpOps.type, insns: encode(insns), license: 'GPL', name: 'bk_vprintk' });
    const k = summary(kernelRunLoaded(prog, xdpOps, data));
    const env = createHelperEnv();
    const m = summary(vmRun(xdpOps, insns, data, undefined, { env }));
    if (k.split(' ')[1] !== m.split(' ')[1]) diffs.push(`${JSON.stringify(Buffer.from(c.fmt).toString('latin1'))} data_len ${c.dataLen}: kernel ${k.split(' ').slice(0, 2).join(' ')} bpfkit ${m.split(' ').slice(0, 2).join(' ')}`);
  }
  process.stdout.write(`# trace_vprintk: ${CASES.length} formats compared with the kernel, ${diffs.length} mismatches\n`);
  assert.deepEqual(diffs, []);
});

test('bpf_trace_vprintk writes its line to the trace sink, as bpf_trace_printk does', () => {
  const env = createHelperEnv();
  const data = frame([0, 0, 0, 0, 0, 0], 0x88b5, 200);
  new DataView(data.buffer).setBigUint64(ARGS + 8, 42n, true);
  const r = vmRun(xdpOps, vprintk(enc('%s=%d\n'), 16, true), data, undefined, { env });
  assert.ok(!('error' in r));
  assert.equal(r.retval, 'str=42\n'.length);
  assert.deepEqual(env.traceLog, ['str=42\n']);
});
