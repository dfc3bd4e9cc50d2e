// Loads, stores, atomics and legacy packet loads, differentially against the kernel.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  alu64, atomic, exit, type Instruction, jmp, label, ld, ldx, ldxs, program, r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, type Reg, st, stx,
} from '../../src/isa/index.js';
import { kernelTest } from '../kernel/harness.js';
import { assertSame, interpreterBackend, kernelBackend, rng } from './oracle.js';

/** Packet layout of a memory program: stack image, register image, scratch bytes for packet access. */
const STACK_IMG = 0, REG_IMG = 64, SCRATCH = 128, PACKET_LEN = 192;
const REGS: Reg[] = [r0, r1, r2, r3, r4, r5, r7, r8];

/**
 * A seeded random program of loads, stores and atomics: the 64 stack bytes below r10 and eight
 * registers start from the packet, `n` random memory operations run (stack: every size, aligned,
 * atomics and acquire/release; packet scratch: unaligned loads and stores), then the stack and
 * the registers are written back to the packet.
 */
function memoryProgram(seed: number, n: number): { insns: Instruction[]; packet: Uint8Array } {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[rand() % xs.length]!;
  const packet = new Uint8Array(PACKET_LEN).map(() => rand() & 0xff);
  const body: Instruction[] = [];
  const stackOff = (size: number): number => -64 + size * (rand() % (64 / size));
  const scratchOff = (size: number): number => SCRATCH + (rand() % (64 - size + 1));
  for (let i = 0; i < n; i++) {
    const d = pick(REGS);
    const s = pick(REGS);
    const size = pick([1, 2, 4, 8] as const);
    const sz = ({ 1: 'b', 2: 'h', 4: 'w', 8: 'dw' } as const)[size];
    switch (rand() % 9) {
      case 0: body.push(st[sz](r10, stackOff(size), rand() | 0)); break;
      case 1: body.push(stx[sz](r10, stackOff(size), s)); break;
      case 2: body.push(ldx[sz](d, r10, stackOff(size))); break;
      case 3: body.push(size === 8 ? ldx.dw(d, r10, stackOff(8)) : ldxs[sz as 'b' | 'h' | 'w'](d, r10, stackOff(size))); break;
      case 4: {
        const w = pick(['w', 'dw'] as const);
        const op = pick(['add', 'or', 'and', 'xor', 'fetch_add', 'fetch_or', 'fetch_and', 'fetch_xor', 'xchg', 'cmpxchg'] as const);
        body.push(atomic[w][op](r10, stackOff(w === 'w' ? 4 : 8), s === r0 ? r1 : s));
        break;
      }
      case 5: body.push(atomic[sz].load_acq(d, r10, stackOff(size))); break;
      case 6: body.push(atomic[sz].store_rel(r10, stackOff(size), s)); break;
      case 7: body.push(rand() % 2 ? ldx[sz](d, r6, scratchOff(size)) : size === 8 ? st.dw(r6, scratchOff(8), rand() | 0) : ldxs[sz as 'b' | 'h' | 'w'](d, r6, scratchOff(size))); break;
      default: body.push(stx[sz](r6, scratchOff(size), s)); break;
    }
  }
  const insns = program(
    ldx.w(r6, r1, 0),
    ldx.w(r7, r1, 4),
    alu64.mov.reg(r8, r6),
    alu64.add.imm(r8, PACKET_LEN),
    jmp.jle.reg(r8, r7, 'go'),
    alu64.mov.imm(r0, 0),
    exit(),
    label('go'),
    [0, 8, 16, 24, 32, 40, 48, 56].flatMap((o) => [ldx.dw(r9, r6, STACK_IMG + o), stx.dw(r10, -64 + o, r9)]),
    REGS.map((r, i) => ldx.dw(r, r6, REG_IMG + i * 8)),
    body,
    REGS.map((r, i) => stx.dw(r6, REG_IMG + i * 8, r)),
    [0, 8, 16, 24, 32, 40, 48, 56].flatMap((o) => [ldx.dw(r9, r10, -64 + o), stx.dw(r6, STACK_IMG + o, r9)]),
    alu64.mov.imm(r0, 2),
    exit(),
  );
  return { insns, packet };
}

const where = (w: number): string => (w < 8 ? `stack word ${w}` : w < 16 ? `register ${REGS[w - 8]}` : `packet scratch word ${w - 16}`);

kernelTest('random loads, stores, sign-extending loads and atomics (stack and packet) agree with the kernel', (sys) => {
  const kernel = kernelBackend(sys);
  const mine = interpreterBackend();
  let agreed = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const { insns, packet } = memoryProgram(seed, 40);
    assertSame(kernel.runXdp(insns, packet), mine.runXdp(insns, packet), (w) => `seed ${seed}: ${where(w)}`);
    agreed++;
  }
  console.log(`# memory: ${agreed} random programs x 40 memory operations agreed with the kernel`);
});

// ---- LD_ABS / LD_IND (socket filter: skb->data is byte 14 of the frame) ----

/** A socket filter folding LD_ABS/LD_IND loads into r0 (32 bits: the retval), or exiting with 0 when one is out of bounds. */
function ldAbsProgram(loads: readonly Instruction[], index: number): Instruction[] {
  return program(
    alu64.mov.reg(r6, r1),
    alu64.mov.imm(r7, index),
    alu64.mov.imm(r8, 0x1234),
    loads.flatMap((l) => [l, alu64.mul.imm(r8, 31), alu64.add.reg(r8, r0), alu64.mov.reg(r9, r8), alu64.rsh.imm(r9, 32), alu64.xor.reg(r8, r9)]),
    alu64.mov.reg(r0, r8),
    alu64.or.imm(r0, 1), // never 0, so "exited early" is distinguishable
    exit(),
  );
}

kernelTest('LD_ABS / LD_IND: big-endian loads, negative SKF offsets, out of bounds returns 0', (sys) => {
  const kernel = kernelBackend(sys);
  const mine = interpreterBackend();
  const frame = new Uint8Array(60).map((_, i) => (i * 37 + 11) & 0xff);
  const SKF_NET = -0x100000, SKF_LL = -0x200000;
  const cases: [string, Instruction[], number][] = [
    ['abs in bounds', [ld.abs.b(0), ld.abs.h(1), ld.abs.w(3), ld.abs.w(42), ld.abs.b(45), ld.abs.h(44)], 0],
    ['abs at the end', [ld.abs.w(46 - 4)], 0],
    ['abs past the end (w)', [ld.abs.b(0), ld.abs.w(43)], 0],
    ['abs past the end (b)', [ld.abs.b(46)], 0],
    ['abs huge offset', [ld.abs.b(0x7fffffff)], 0],
    ['ind in bounds', [ld.ind.b(r7, 0), ld.ind.h(r7, 2), ld.ind.w(r7, -3)], 10],
    ['ind past the end', [ld.ind.w(r7, 40)], 10],
    ['ind negative', [ld.ind.b(r7, -1)], 0],
    ['network header', [ld.abs.w(SKF_NET), ld.abs.b(SKF_NET + 5)], 0],
    ['link-layer header', [ld.abs.h(SKF_LL + 12), ld.abs.w(SKF_LL)], 0],
    ['below SKF_LL_OFF', [ld.abs.b(SKF_LL - 1)], 0],
  ];
  for (const [name, loads, index] of cases) {
    const insns = ldAbsProgram(loads, index);
    const k = kernel.runSocketFilter(insns, frame);
    const m = mine.runSocketFilter(insns, frame);
    assert.equal(m.retval, k.retval, name);
    assert.equal(k.retval === 0, /past|huge|negative|below/.test(name), `${name}: the kernel's retval ${k.retval} is not the kind the case expects`);
  }
  console.log(`# LD_ABS/LD_IND: ${cases.length} socket-filter programs agreed with the kernel`);
});

test('LD_ABS without skb data exits with r0 = 0', () => {
  const r = interpreterBackend().runXdp(program(alu64.mov.imm(r0, 7), ld.abs.b(0), alu64.mov.imm(r0, 9), exit()), new Uint8Array(20));
  assert.equal(r.retval, 0);
});
