// bpf_snprintf and bpf_strncmp (format strings in a frozen read-only map, as clang's .rodata), and
// bpf_skb_set_tstamp, vs the kernel.
import assert from 'node:assert/strict';
import { alu64, call, encode, exit, type Instruction, jmp, label, ld, ldx, program, r0, r1, r2, r3, r4, r5, r6, r7, r10, st, stx } from '../../src/isa/index.js';
import { BpfMapFlags, BpfMapType } from '../../src/isa/uapi.generated.js';
import { createHelperEnv } from '../../src/ctx/helpers/index.js';
import { SkBuff } from '../../src/ctx/sk-buff.js';
import { tcOps } from '../../src/ctx/tc.js';
import { xdpOps } from '../../src/ctx/xdp.js';
import { createMap as createKernelMap } from '../../src/kernel/bpf/map-create.js';
import { freezeMap, updateElem } from '../../src/kernel/bpf/map-elem.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { testRun } from '../../src/kernel/bpf/prog-test-run.js';
import { createMap } from '../../src/maps/registry.js';
import { AddressSpace, run } from '../../src/vm/index.js';
import { kernelTest } from '../kernel/harness.js';
import { frame, kernelRun, summary, vmRun } from './oracle.js';

const STRINGS: readonly [number, string][] = [
  [0, 'hello world'],
  [32, '%d-%u-%x|%s|%c|%5d|%-3d|%llx'],
  [96, '%d %d'],
  [128, 'plain'],
  [160, 'abc'],
  [192, '%lld %lu %i %s %x %X %d %u %d %u %d %u'],
  [240, '%n'],
];

function rodata(): Uint8Array {
  const v = new Uint8Array(256);
  for (const [off, s] of STRINGS) v.set(new TextEncoder().encode(`${s}\0`), off);
  return v;
}

/** snprintf(stack out[size], fmt at rodata+fmtOff, stack data, dataLen); copies out[0..64) to the packet. */
function snprintfProgram(fd: number, fmtOff: number, size: number, dataLen: number): Instruction[] {
  const data: Instruction[] = [];
  for (let i = 0; i < 13; i++) data.push(ld.imm64(r1, i === 3 ? 0n : BigInt(-7 * (i + 1)) & 0xffffffffffffffffn), stx.dw(r10, -200 + 8 * i, r1));
  const copy: Instruction[] = [];
  for (let i = 0; i < 64; i += 8) copy.push(ldx.dw(r2, r10, -64 + i), stx.dw(r6, i, r2));
  return program(
    ldx.w(r6, r1, 0),
    ldx.w(r7, r1, 4),
    alu64.mov.reg(r2, r6),
    alu64.add.imm(r2, 64),
    alu64.mov.imm(r0, 0xbad),
    jmp.jgt.reg(r2, r7, 'out'),
    ...Array.from({ length: 8 }, (_, i) => st.dw(r10, -64 + 8 * i, 0x2e2e2e2e)),
    ...data,
    // The %s argument (slot 3) points at "abc" on the stack.
    st.dw(r10, -216, 0x636261),
    alu64.mov.reg(r1, r10),
    alu64.add.imm(r1, -216),
    stx.dw(r10, -200 + 24, r1),
    alu64.mov.reg(r1, r10),
    alu64.add.imm(r1, -64),
    alu64.mov.imm(r2, size),
    ld.map_value(r3, fd, fmtOff),
    alu64.mov.reg(r4, r10),
    alu64.add.imm(r4, -200),
    alu64.mov.imm(r5, dataLen),
    ...(dataLen === 0 ? [alu64.mov.imm(r4, 0)] : []),
    call.helper('snprintf'),
    ...copy,
    label('out'),
    exit(),
  );
}

/** strncmp(stack s1[size], size, rodata+off). */
function strncmpProgram(fd: number, s1: string, size: number, off: number): Instruction[] {
  const bytes = new Uint8Array(32);
  bytes.set(new TextEncoder().encode(s1));
  const v = new DataView(bytes.buffer);
  const init: Instruction[] = [];
  for (let i = 0; i < 32; i += 8) init.push(ld.imm64(r1, v.getBigUint64(i, true)), stx.dw(r10, -32 + i, r1));
  return program(...init, alu64.mov.reg(r1, r10), alu64.add.imm(r1, -32), alu64.mov.imm(r2, size), ld.map_value(r3, fd, off), call.helper('strncmp'), exit());
}

kernelTest('bpf_snprintf and bpf_strncmp agree with the kernel (results and output bytes)', (sys) => {
  using fd = createKernelMap(sys, { type: BpfMapType.ARRAY, keySize: 4, valueSize: 256, maxEntries: 1, flags: BpfMapFlags.RDONLY_PROG });
  updateElem(fd, new Uint8Array(4), rodata());
  freezeMap(fd);
  const space = new AddressSpace();
  const map = createMap({ name: '.rodata', type: BpfMapType.ARRAY, keySize: 4, valueSize: 256, maxEntries: 1, flags: BpfMapFlags.RDONLY_PROG }, { space, cpus: 1 });
  map.write(new Uint8Array(4), rodata(), 0);
  const value = map.lookup(new Uint8Array(4), 0, 0);
  const env = createHelperEnv({ mapByAddress: (a) => (a === map.address ? map : undefined) });
  const resolve = (insn: Instruction) => {
    const a = value + (insn.imm2 ?? 0);
    return { lo: a | 0, hi: Math.floor(a / 4294967296) };
  };
  const diffs: string[] = [];
  let compared = 0;
  const compare = (name: string, insns: Instruction[]): void => {
    let kernel: string;
    try {
      using prog = loadProgram(sys, { type: xdpOps.type, insns: encode(insns), license: 'GPL', name: 'bk_ctx_str' });
      const r = testRun(prog, { dataIn: new Uint8Array(64) });
      kernel = `${r.retval} ${Buffer.from(r.dataOut).toString('hex')}`;
    } catch (err) {
      kernel = `load: ${(err as Error).message.slice(0, 60)}`;
    }
    if (kernel.startsWith('load:')) return; // the verifier refuses it (a format it checks at load time): nothing to run
    const r = run(insns, undefined, new Uint8Array(64), { space, env, resolve, programType: xdpOps });
    const mine = `${r.retval} ${Buffer.from(r.packet).toString('hex')}`;
    compared++;
    if (kernel !== mine) diffs.push(`${name}:\n  kernel ${kernel}\n  bpfkit ${mine}`);
  };
  for (const [off] of STRINGS) {
    for (const size of [0, 1, 5, 64]) {
      for (const dataLen of [0, 8, 16, 24, 64, 96, 100, 104]) compare(`snprintf fmt@${off} size ${size} data ${dataLen}`, snprintfProgram(fd.raw, off, size, dataLen));
    }
  }
  for (const [s1, size, off] of [['hello world', 11, 0], ['hello world', 32, 0], ['hello', 5, 0], ['hello', 6, 0], ['hellp', 32, 0], ['abc', 4, 160], ['abd', 4, 160], ['ab', 4, 160], ['abcd', 4, 160], ['', 1, 160], ['zzz', 1, 160]] as const) {
    compare(`strncmp ${s1}/${size}`, strncmpProgram(fd.raw, s1, size, off));
  }
  process.stdout.write(`# snprintf/strncmp: ${compared} cases compared with the kernel\n`);
  assert.ok(compared > 100);
  assert.deepEqual(diffs, []);
});

kernelTest('bpf_skb_set_tstamp: clocks, zero stamps and non-IP packets as in the kernel', (sys) => {
  const diffs: string[] = [];
  let compared = 0;
  for (const data of [frame([0, 0, 0, 0, 0, 0], 0x0800, 46), frame([0, 0, 0, 0, 0, 0], 0x0806, 28)]) {
    for (const type of [0, 1, 2, 3]) {
      for (const stamp of [0n, 123456789n]) {
        const insns = program(alu64.mov.reg(r6, r1), ld.imm64(r2, stamp), alu64.mov.imm(r3, type), call.helper('skb_set_tstamp'), alu64.and.imm(r0, 0xff), ldx.b(r2, r6, SkBuff.tstamp_type), alu64.lsh.imm(r2, 8), alu64.or.reg(r0, r2), exit());
        const k = summary(kernelRun(sys, tcOps, insns, data));
        const m = summary(vmRun(tcOps, insns, data, undefined, { env: createHelperEnv() }));
        compared++;
        if (k !== m) diffs.push(`type ${type} stamp ${stamp} proto ${data[12]}: kernel ${k.slice(0, 30)}, bpfkit ${m.slice(0, 30)}`);
      }
    }
  }
  process.stdout.write(`# skb_set_tstamp: ${compared} cases compared with the kernel\n`);
  assert.deepEqual(diffs, []);
});
