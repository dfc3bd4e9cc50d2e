// bpf_tail_call through a prog array vs the kernel: a filled slot, empty and out-of-range slots, the 33-call limit.
import assert from 'node:assert/strict';
import { alu64, call, encode, exit, jmp, label, ld, ldx, program, r0, r1, r2, r3, r4, r6, stx } from '../../src/isa/index.js';
import { BpfMapType } from '../../src/isa/uapi.generated.js';
import { createHelperEnv, createHelpers } from '../../src/ctx/helpers/index.js';
import { xdpOps } from '../../src/ctx/xdp.js';
import { createMap as createKernelMap } from '../../src/kernel/bpf/map-create.js';
import { updateElem } from '../../src/kernel/bpf/map-elem.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { testRun } from '../../src/kernel/bpf/prog-test-run.js';
import { ProgArrayOps } from '../../src/maps/array.js';
import { createMap } from '../../src/maps/registry.js';
import { AddressSpace, prepareProgram, run } from '../../src/vm/index.js';
import { kernelTest } from '../kernel/harness.js';

/** Counts itself in data[2] and tail-calls slot 0 again; returns the count when the chain stops. */
const target = (fd: number) =>
  program(
    alu64.mov.reg(r6, r1),
    ldx.w(r2, r6, 0),
    ldx.w(r3, r6, 4),
    alu64.mov.reg(r4, r2),
    alu64.add.imm(r4, 14),
    alu64.mov.imm(r0, 0xee),
    jmp.jgt.reg(r4, r3, 'out'),
    ldx.b(r4, r2, 2),
    alu64.add.imm(r4, 1),
    stx.b(r2, 2, r4),
    alu64.mov.reg(r1, r6),
    ld.map_fd(r2, fd),
    alu64.mov.imm(r3, 0),
    call.helper('tail_call'),
    ldx.w(r2, r6, 0),
    ldx.w(r3, r6, 4),
    alu64.mov.reg(r4, r2),
    alu64.add.imm(r4, 14),
    alu64.mov.imm(r0, 0xef),
    jmp.jgt.reg(r4, r3, 'out'),
    ldx.b(r0, r2, 2),
    label('out'),
    exit(),
  );

/** Tail-calls slot `index`; returns 0xff when that falls through. */
const main = (fd: number, index: number) => program(ld.map_fd(r2, fd), alu64.mov.imm(r3, index), call.helper('tail_call'), alu64.mov.imm(r0, 0xff), exit());

kernelTest('bpf_tail_call: filled, empty and out-of-range slots, and the 33-call limit, as in the kernel', (sys) => {
  using arr = createKernelMap(sys, { type: BpfMapType.PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 });
  using tgt = loadProgram(sys, { type: xdpOps.type, insns: encode(target(arr.raw)), license: 'GPL', name: 'bk_ctx_tc_tgt' });
  const slot = new Uint8Array(4);
  updateElem(arr, slot, new Uint8Array(new Uint32Array([tgt.raw]).buffer));

  const space = new AddressSpace();
  const progArray = createMap({ name: 'jumps', type: BpfMapType.PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4, flags: 0 }, { space, cpus: 1 });
  assert.ok(progArray instanceof ProgArrayOps);
  const env = createHelperEnv({ mapByAddress: (a) => (a === progArray.address ? progArray : undefined) });
  const resolve = () => ({ lo: progArray.address | 0, hi: Math.floor(progArray.address / 4294967296) });
  progArray.setProgram(0, prepareProgram(target(0), { helpers: createHelpers(env, xdpOps), resolve }), 1);

  let compared = 0;
  for (const index of [0, 1, 3, 4, 9, -1]) {
    const insns = main(arr.raw, index);
    using prog = loadProgram(sys, { type: xdpOps.type, insns: encode(insns), license: 'GPL', name: 'bk_ctx_tc_main' });
    const packet = new Uint8Array(20);
    const k = testRun(prog, { dataIn: packet });
    const m = run(insns, undefined, packet, { space, env, resolve, programType: xdpOps });
    assert.equal(m.retval, k.retval, `index ${index}: retval`);
    assert.deepEqual(m.packet, k.dataOut, `index ${index}: data_out`);
    compared++;
  }
  process.stdout.write(`# tail calls: ${compared} cases compared with the kernel\n`);
});
