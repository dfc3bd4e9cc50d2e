// Random programs over the whole machine for JIT-vs-interpreter tests: memory (some accesses fault), backward jumps, calls, helpers, atomics.
import {
  alu32, alu64, atomic, call, exit, type Instruction, jmp, jmp32, label, ld, ldx, ldxs, program, r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, type Reg, st, stx,
} from '../../src/isa/index.js';
import { rng } from '../vm/oracle.js';
import { BINARY, IMMS, immRejected, JUMPS, VALUES } from '../vm/random-program.js';

type Item = Instruction | ReturnType<typeof label>;
/** Registers a random instruction may write (r6 keeps the packet pointer, r10 the frame). */
const DST: Reg[] = [r0, r1, r2, r3, r4, r5, r7, r8, r9];

/**
 * A seeded random XDP program: r6 = packet (64 bytes checked), registers loaded from it, then
 * `n` random instructions — ALU, loads/stores on the packet and the stack at offsets that
 * sometimes cross the ends, atomics, forward and backward jumps (loops end by the budget),
 * calls of two small subprograms and helper calls — then every register stored back.
 */
export function randomMachineProgram(seed: number, n: number): Instruction[] {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[rand() % xs.length]!;
  const body: Item[] = [];
  for (let i = 0; i < n; i++) {
    body.push(label(`I${i}`));
    const d = pick(DST);
    const s = pick(DST);
    const roll = rand() % 100;
    if (roll < 10) {
      const to = rand() % 4 === 0 ? `I${rand() % (i + 1)}` : `I${Math.min(n, i + 1 + (rand() % 6))}`;
      const fam = rand() % 2 ? jmp : jmp32;
      const op = pick(JUMPS);
      body.push(rand() % 2 ? fam[op].reg(d, s, to) : fam[op].imm(d, pick(IMMS), to));
    } else if (roll < 22) {
      const size = pick(['b', 'h', 'w', 'dw'] as const);
      const off = rand() % 16 === 0 ? (rand() % 76) - 8 : rand() % (64 - { b: 1, h: 2, w: 4, dw: 8 }[size] + 1); // rarely before or past the packet
      body.push(rand() % 2 ? ldx[size](d, r6, off) : stx[size](r6, off, s));
    } else if (roll < 30) {
      const off = -8 * (1 + (rand() % (rand() % 16 === 0 ? 66 : 64))); // rarely below the 512-byte frame
      body.push(rand() % 3 === 0 ? stx.dw(r10, off, s) : rand() % 2 ? ldx.dw(d, r10, off) : st.w(r10, off, rand() | 0));
    } else if (roll < 33) {
      body.push(pick([ldxs.b, ldxs.h, ldxs.w])(d, r6, rand() % 60));
    } else if (roll < 36) {
      const size = pick(['w', 'dw'] as const);
      const op = pick(['add', 'or', 'and', 'xor', 'fetch_add', 'fetch_or', 'fetch_and', 'fetch_xor', 'xchg', 'cmpxchg'] as const);
      body.push(atomic[size][op](r6, 8 * (rand() % 8), s));
    } else if (roll < 39) {
      body.push(call.func(rand() % 2 ? 'sub_a' : 'sub_b'));
    } else if (roll < 41) {
      body.push(call.helper(pick(['get_prandom_u32', 'ktime_get_ns', 'get_smp_processor_id'] as const)));
    } else if (roll < 43) {
      body.push(ld.imm64(d, pick(VALUES)));
    } else {
      const op = pick(BINARY);
      const width = rand() % 2 ? 64 : 32;
      const fam = width === 64 ? alu64 : alu32;
      if (rand() % 2) body.push(fam[op].reg(d, s));
      else {
        let imm = rand() % 4 === 0 ? pick(IMMS) : rand() | 0;
        if (op === 'lsh' || op === 'rsh' || op === 'arsh') imm = rand() % width;
        if (immRejected(op, width as 32 | 64, imm)) imm = 3;
        body.push(fam[op].imm(d, imm));
      }
    }
  }
  const regs: Reg[] = [r0, r1, r2, r3, r4, r5, r7, r8, r9];
  return program(
    ldx.w(r6, r1, 0), ldx.w(r7, r1, 4), alu64.mov.reg(r8, r6), alu64.add.imm(r8, 64), jmp.jle.reg(r8, r7, 'go'), alu64.mov.imm(r0, 1), exit(),
    label('go'),
    regs.map((r, i) => ldx.dw(r, r6, (i % 8) * 8)),
    body,
    label(`I${n}`),
    regs.map((r, i) => stx.dw(r6, (i % 8) * 8, r)),
    alu64.mov.imm(r0, 2), exit(),
    // sub_a: a frame of its own, r1..r5 clobbered, r0 from its arguments
    label('sub_a'), stx.dw(r10, -8, r1), alu64.mov.reg(r0, r1), alu64.mul.reg(r0, r2), alu64.mov.imm(r1, 11), ldx.dw(r3, r10, -8), alu64.add.reg(r0, r3), exit(),
    // sub_b: a loop of r2 & 7 rounds on the stack
    label('sub_b'), alu64.mov.reg(r4, r2), alu64.and.imm(r4, 7), alu64.mov.imm(r0, 0), label('sub_b_top'), jmp.jeq.imm(r4, 0, 'sub_b_out'),
    alu64.add.reg(r0, r4), stx.dw(r10, -16, r0), alu64.sub.imm(r4, 1), jmp.ja('sub_b_top'), label('sub_b_out'), exit(),
  );
}
