// The userspace kfuncs through both engines: XDP RX metadata (-EOPNOTSUPP without a device), dynptr slices over the
// packet (and the copy into the buffer when the bytes span xdp fragments), conntrack lookup's argument checks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alu64, call, exit, jmp, ldx, ldxs, program, r0, r1, r2, r3, r4, r5, r6, r10, st, stx } from '../../../src/isa/index.js';
import { createKfuncs } from '../../../src/ctx/kfuncs/index.js';
import { createHelperEnv } from '../../../src/ctx/helpers/env.js';
import { JitEngine } from '../../../src/jit/jit-engine.js';
import { createRunContext } from '../../../src/runtime/run-context.js';
import { AddressSpace } from '../../../src/vm/address-space.js';
import { Interpreter } from '../../../src/vm/interpreter.js';
import { prepareProgram } from '../../../src/vm/program.js';
import { UnmodelledCallError } from '../../../src/vm/errors.js';
import type { Instruction } from '../../../src/isa/instruction.js';

const XDP = 6;

function run(insns: readonly Instruction[], data: Uint8Array, engine: 'interpreter' | 'jit'): { r0: bigint; stack: (off: number, n: number) => Uint8Array } {
  const space = new AddressSpace();
  const ctx = createRunContext(XDP, space, 't');
  const env = createHelperEnv();
  env.context = ctx.instance;
  const prepared = prepareProgram(insns, { kfuncs: createKfuncs(env) });
  const e = engine === 'jit' ? new JitEngine(prepared, space) : new Interpreter(prepared, space);
  const r1v = ctx.setup(data, undefined);
  e.run(r1v);
  return { r0: (BigInt(e.retHi >>> 0) << 32n) | BigInt(e.retLo >>> 0), stack: () => new Uint8Array() };
}

const pkt = new Uint8Array(64).map((_, i) => i);
pkt[12] = 0x08;
pkt[13] = 0x00;

for (const engine of ['interpreter', 'jit'] as const) {
  test(`kfuncs (${engine}): bpf_dynptr_from_xdp + bpf_dynptr_slice return the packet's bytes; past the end, NULL`, () => {
    const prog = (off: number, len: number): Instruction[] =>
      program(
        alu64.mov.reg(r6, r1),
        alu64.mov.imm(r2, 0),
        alu64.mov.reg(r3, r10),
        alu64.add.imm(r3, -16),
        call.kfunc(0, 'bpf_dynptr_from_xdp'),
        alu64.mov.reg(r1, r10),
        alu64.add.imm(r1, -16),
        alu64.mov.imm(r2, off),
        alu64.mov.reg(r3, r10),
        alu64.add.imm(r3, -48),
        alu64.mov.imm(r4, len),
        call.kfunc(0, 'bpf_dynptr_slice'),
        jmp.jeq.imm(r0, 0, 'null'),
        ldx.h(r0, r0, 0),
        exit(),
        { label: 'null' },
        alu64.mov.imm(r0, 1000),
        exit(),
      );
    assert.equal(run(prog(12, 14), pkt, engine).r0, 0x0008n);
    assert.equal(run(prog(60, 4), pkt, engine).r0, BigInt(60 | (61 << 8)));
    assert.equal(run(prog(60, 8), pkt, engine).r0, 1000n, 'offset + len past the packet: NULL');
  });

  test(`kfuncs (${engine}): XDP RX metadata without a bound device is -EOPNOTSUPP`, () => {
    for (const name of ['bpf_xdp_metadata_rx_timestamp', 'bpf_xdp_metadata_rx_hash', 'bpf_xdp_metadata_rx_vlan_tag']) {
      const insns = program(st.dw(r10, -8, 0), alu64.mov.reg(r2, r10), alu64.add.imm(r2, -8), alu64.mov.reg(r3, r2), call.kfunc(0, name), exit());
      assert.equal(run(insns, pkt, engine).r0, BigInt.asUintN(64, -95n), name);
    }
  });

  test(`kfuncs (${engine}): bpf_xdp_ct_lookup checks opts as __bpf_nf_ct_lookup and finds nothing in an empty table`, () => {
    // tuple at fp-48 (12 bytes), opts at fp-16 (16 bytes); returns (ct != NULL) * 1000 + (-opts.error)
    const lookup = (optsSz: number, tupleSz: number, netns: number, proto: number, reserved = 0): bigint => {
      const insns = program(
        st.dw(r10, -48, 0), st.dw(r10, -40, 0), st.dw(r10, -32, 0),
        st.w(r10, -16, netns), st.w(r10, -12, 0), st.w(r10, -8, proto), st.w(r10, -4, reserved),
        alu64.mov.reg(r2, r10), alu64.add.imm(r2, -48),
        alu64.mov.imm(r3, tupleSz),
        alu64.mov.reg(r4, r10), alu64.add.imm(r4, -16),
        alu64.mov.imm(r5, optsSz),
        call.kfunc(0, 'bpf_xdp_ct_lookup'),
        ldxs.w(r1, r10, -12),
        alu64.neg(r1),
        stx.dw(r10, -24, r1),
        ldx.dw(r0, r10, -24),
        exit(),
      );
      return run(insns, pkt, engine).r0;
    };
    assert.equal(lookup(12, 12, -1, 6), 2n, 'ENOENT');
    assert.equal(lookup(16, 12, -1, 17), 2n, 'ENOENT with 16-byte opts');
    assert.equal(lookup(8, 12, -1, 6), 22n, 'opts__sz 8: EINVAL');
    assert.equal(lookup(12, 12, -2, 6), 22n, 'netns_id < -1: EINVAL');
    assert.equal(lookup(12, 12, -1, 1), 71n, 'ICMP: EPROTO');
    assert.equal(lookup(12, 20, -1, 6), 97n, 'tuple__sz 20: EAFNOSUPPORT');
    assert.equal(lookup(16, 12, -1, 6, 0x01000000), 22n, 'reserved byte set: EINVAL');
    assert.equal(lookup(12, 12, 5, 6), 64n, 'a netns id the model lacks: ENONET');
  });
}

test('kfuncs: a kfunc the runtime lacks is listed when the program is prepared and faults, named, when a run reaches it', () => {
  const prepared = prepareProgram(program(alu64.mov.imm(r0, 1), call.kfunc(0, 'bpf_no_such'), exit()), { kfuncs: new Map(), kfuncReason: (n) => (n === 'bpf_no_such' ? 'made up' : undefined) });
  assert.deepEqual(prepared.unmodelledCalls, [{ pc: 1, kind: 'kfunc', name: 'bpf_no_such', reason: 'made up' }]);
  assert.throws(
    () => new Interpreter(prepared, new AddressSpace()).run(0),
    (e: unknown) => e instanceof UnmodelledCallError && e.pc === 1 && e.kind === 'kfunc' && e.callee === 'bpf_no_such' && e.message === 'pc 1: kfunc bpf_no_such cannot run in userspace: made up',
  );
  // Without a reason: the default one.
  assert.match(prepareProgram(program(call.kfunc(0, 'bpf_other'), exit())).unmodelledCalls[0]!.reason, /not implemented by the userspace runtime/);
});
