// Ring buffer helpers vs the kernel: a random sequence of output / reserve+submit / reserve+discard /
// query on a small ring (filling it, draining it) — every return value and every record read back.
import assert from 'node:assert/strict';
import { alu64, call, encode, exit, type Instruction, jmp, label, type Label, ld, ldx, program, r0, r1, r2, r3, r4, r6, r7, r8, r10, st, stx } from '../../src/isa/index.js';
import { BpfMapType } from '../../src/isa/uapi.generated.js';
import { createHelperEnv } from '../../src/ctx/helpers/index.js';
import { xdpOps } from '../../src/ctx/xdp.js';
import { createMap as createKernelMap } from '../../src/kernel/bpf/map-create.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { testRun } from '../../src/kernel/bpf/prog-test-run.js';
import { RingBufReader } from '../../src/kernel/ringbuf-reader.js';
import { createMap } from '../../src/maps/registry.js';
import { RingbufMap } from '../../src/maps/ringbuf.js';
import { AddressSpace, createVm } from '../../src/vm/index.js';
import { kernelTest } from '../kernel/harness.js';
import { rng } from '../vm/oracle.js';

/**
 * Packet: op, size, flags, _, word u32. op 0: output(stack[0..size), flags); 1: reserve 64 +
 * submit(flags); 2: reserve 1000 + discard(flags); 3: query(flags); 4: reserve 64 with flags.
 */
function ringProgram(fd: number): Instruction[] {
  const reserveAnd = (size: number, helper: 'ringbuf_submit' | 'ringbuf_discard', tag: string, flagsFromPacket: boolean): (Instruction | Label)[] => [
    ld.map_fd(r1, fd),
    alu64.mov.imm(r2, size),
    flagsFromPacket ? ldx.b(r3, r6, 2) : alu64.mov.imm(r3, 0),
    call.helper('ringbuf_reserve'),
    jmp.jne.imm(r0, 0, `${tag}_ok`),
    alu64.mov.imm(r0, 0xdead),
    jmp.ja('out'),
    label(`${tag}_ok`),
    ldx.w(r4, r6, 4),
    stx.dw(r0, 0, r4),
    alu64.mov.reg(r1, r0),
    ldx.b(r2, r6, 2),
    call.helper(helper),
    alu64.mov.imm(r0, 0),
    jmp.ja('out'),
  ];
  return program(
    ldx.w(r6, r1, 0),
    ldx.w(r7, r1, 4),
    alu64.mov.reg(r2, r6),
    alu64.add.imm(r2, 8),
    alu64.mov.imm(r0, 0xbad),
    jmp.jgt.reg(r2, r7, 'out'),
    ...Array.from({ length: 32 }, (_, i) => st.dw(r10, -256 + 8 * i, 0x01010101 * ((i % 200) + 1))),
    ldx.b(r8, r6, 0),
    jmp.jne.imm(r8, 0, 'not_output'),
    ld.map_fd(r1, fd),
    alu64.mov.reg(r2, r10),
    alu64.add.imm(r2, -256),
    ldx.b(r3, r6, 1),
    ldx.b(r4, r6, 2),
    call.helper('ringbuf_output'),
    jmp.ja('out'),
    label('not_output'),
    jmp.jne.imm(r8, 1, 'not_submit'),
    ...reserveAnd(64, 'ringbuf_submit', 'sub', false),
    label('not_submit'),
    jmp.jne.imm(r8, 2, 'not_discard'),
    ...reserveAnd(1000, 'ringbuf_discard', 'dis', false),
    label('not_discard'),
    jmp.jne.imm(r8, 3, 'not_query'),
    ld.map_fd(r1, fd),
    ldx.b(r2, r6, 2),
    call.helper('ringbuf_query'),
    jmp.ja('out'),
    label('not_query'),
    ...reserveAnd(64, 'ringbuf_submit', 'flg', true),
    label('out'),
    exit(),
  );
}

kernelTest('ring buffer helpers: output/reserve/submit/discard/query sequences, results and records, as in the kernel', (sys) => {
  using fd = createKernelMap(sys, { type: BpfMapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 });
  const insns = ringProgram(fd.raw);
  using prog = loadProgram(sys, { type: xdpOps.type, insns: encode(insns), license: 'GPL', name: 'bk_ctx_ring' });
  using reader = new RingBufReader(fd);
  const space = new AddressSpace();
  const rb = createMap({ name: 'rb', type: BpfMapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096, flags: 0 }, { space, cpus: 1 });
  assert.ok(rb instanceof RingbufMap);
  const env = createHelperEnv({ mapByAddress: (a) => (a === rb.address ? rb : undefined) });
  const vm = createVm(insns, { space, env, programType: xdpOps, resolve: () => ({ lo: rb.address | 0, hi: Math.floor(rb.address / 4294967296) }) });
  const rand = rng(99);
  let compared = 0;
  let records = 0;
  for (let i = 0; i < 200; i++) {
    const op = rand() % 5;
    const p = new Uint8Array(16);
    p[0] = op;
    p[1] = rand() % 256;
    p[2] = op === 3 ? rand() % 5 : [0, 0, 0, 1, 2, 3, 4][rand() % 7]!;
    new DataView(p.buffer).setUint32(4, rand(), true);
    const k = testRun(prog, { dataIn: p }).retval;
    const m = vm.run(undefined, p).retval;
    compared++;
    assert.equal(m, k, `step ${i}: op ${op} size ${p[1]} flags ${p[2]}`);
    if (i % 25 === 24) {
      const kr = reader.read();
      const mr: Uint8Array[] = [...rb.consume()].map((r) => r.data);
      assert.deepEqual(mr, kr, `records after step ${i}`);
      records += kr.length;
    }
  }
  process.stdout.write(`# ringbuf: ${compared} results and ${records} records compared with the kernel\n`);
});
