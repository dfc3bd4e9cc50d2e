// The minimal XDP context: xdp_md loads, metadata from ctx_in, data_out and ctx_out, vs the kernel.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alu64, encode, exit, jmp, label, ldx, program, r0, r1, r2, r3, r4, r5, stx } from '../../src/isa/index.js';
import { ProgType } from '../../src/kernel/bpf/constants.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { testRun } from '../../src/kernel/bpf/prog-test-run.js';
import { kernelTest } from '../kernel/harness.js';
import { InvalidContextError, run, XDP_MD_SIZE } from '../../src/vm/index.js';

/** Writes data - data_meta and data_end - data into the first 8 bytes of the packet (after the metadata). */
const SIZES = program(
  ldx.w(r2, r1, 8),
  ldx.w(r3, r1, 0),
  ldx.w(r4, r1, 4),
  alu64.mov.reg(r5, r3),
  alu64.add.imm(r5, 8),
  alu64.mov.imm(r0, 1),
  jmp.jgt.reg(r5, r4, 'out'),
  alu64.mov.reg(r5, r3),
  alu64.sub.reg(r5, r2),
  stx.w(r3, 0, r5),
  alu64.mov.reg(r5, r4),
  alu64.sub.reg(r5, r3),
  stx.w(r3, 4, r5),
  alu64.mov.imm(r0, 2),
  label('out'),
  exit(),
);

function md(data: number, dataEnd: number): Uint8Array {
  const b = new Uint8Array(XDP_MD_SIZE);
  const v = new DataView(b.buffer);
  v.setUint32(0, data, true);
  v.setUint32(4, dataEnd, true);
  return b;
}

kernelTest('xdp_md data/data_end/data_meta, metadata from ctx_in, data_out and ctx_out agree with the kernel', (sys) => {
  using prog = loadProgram(sys, { type: ProgType.XDP, insns: encode(SIZES), license: 'GPL', name: 'bk_vm_xdpmd' });
  const packet = new Uint8Array(40).map((_, i) => i);
  for (const ctx of [undefined, md(0, 40), md(4, 40), md(8, 40)]) {
    const k = testRun(prog, { dataIn: packet, ...(ctx ? { ctxIn: ctx, ctxOutSize: XDP_MD_SIZE } : {}) });
    const m = run(SIZES, ctx, packet);
    assert.equal(m.retval, k.retval);
    assert.deepEqual(m.packet, k.dataOut, `data_out with ctx ${ctx ? new DataView(ctx.buffer).getUint32(0, true) : 'none'}`);
    if (k.ctxOut) assert.deepEqual(m.ctx, k.ctxOut, 'ctx_out');
  }
});

test('ctx_in the kernel refuses is refused', () => {
  assert.throws(() => run(SIZES, md(0, 41), new Uint8Array(40)), InvalidContextError);
  assert.throws(() => run(SIZES, md(41, 40), new Uint8Array(40)), InvalidContextError);
});
