// Edge values and a seeded generator of random straight-line ALU programs with forward jumps.
import {
  alu32, alu64, end, exit, type Instruction, jmp, jmp32, label, ld, ldx, program, r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, type Reg, stx,
} from '../../src/isa/index.js';
import { rng } from './oracle.js';

export const M64 = (1n << 64n) - 1n;
/** 64-bit edge values. */
export const VALUES: bigint[] = [
  0n, 1n, 2n, 3n, 7n, 31n, 32n, 33n, 63n, 64n, 65n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 0x100000001n,
  1n << 63n, (1n << 63n) - 1n, M64, M64 - 1n, 0xdeadbeefcafebaben, 0x8000000000000001n, 0xffffffff80000000n, 0x123456789n,
];
/** 32-bit immediates (sign-extended by the ISA). */
export const IMMS = [0, 1, -1, 0x7fffffff, -0x80000000, 2, 7, 31, 32, 63, 64, -2, 0x12345678];

export const BINARY = ['add', 'sub', 'mul', 'div', 'sdiv', 'or', 'and', 'lsh', 'rsh', 'mod', 'smod', 'xor', 'mov', 'arsh'] as const;
export const JUMPS = ['jeq', 'jgt', 'jge', 'jset', 'jne', 'jsgt', 'jsge', 'jlt', 'jle', 'jslt', 'jsle'] as const;

/** Immediates the verifier rejects at load time (so no runtime semantics exist for them). */
export function immRejected(op: string, width: 32 | 64, imm: number): boolean {
  if ((op === 'div' || op === 'sdiv' || op === 'mod' || op === 'smod') && imm === 0) return true;
  if ((op === 'lsh' || op === 'rsh' || op === 'arsh') && (imm < 0 || imm >= width)) return true;
  return false;
}


export const WORK: Reg[] = [r0, r1, r2, r3, r4, r5, r7, r8, r9];

/** A seeded random program: 9 registers loaded from the packet, `n` random ALU ops and forward jumps, all registers stored back. */
export function randomProgram(seed: number, n: number): { insns: Instruction[]; packet: Uint8Array } {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[rand() % xs.length]!;
  const packet = new Uint8Array(WORK.length * 8);
  const v = new DataView(packet.buffer);
  for (let i = 0; i < WORK.length; i++) {
    const special = rand() % 3 === 0;
    const val = special ? pick(VALUES) : (BigInt(rand()) << 32n) | BigInt(rand());
    v.setBigUint64(i * 8, val, true);
  }
  const body: (Instruction | ReturnType<typeof label>)[] = [];
  const alias = new Map<string, string>();
  let pending: { at: number; name: string }[] = [];
  // Several jumps may target one spot: the first label names it, the others alias to it.
  const place = (ready: { name: string }[]): ReturnType<typeof label>[] => {
    if (ready.length === 0) return [];
    for (const r of ready.slice(1)) alias.set(r.name, ready[0]!.name);
    return [label(ready[0]!.name)];
  };
  let jumps = 0;
  for (let i = 0; i < n; i++) {
    body.push(...place(pending.filter((l) => l.at === i)));
    pending = pending.filter((l) => l.at !== i);
    const d = pick(WORK);
    const s = pick(WORK);
    const roll = rand() % 100;
    if (roll < 8 && jumps < 6 && i + 4 < n) {
      jumps++;
      const name = `L${i}`;
      pending.push({ at: i + 1 + (rand() % 3), name });
      const fam = rand() % 2 ? jmp : jmp32;
      const op = pick(JUMPS);
      body.push(rand() % 2 ? fam[op].reg(d, s, name) : fam[op].imm(d, rand() | 0, name));
      continue;
    }
    if (roll < 12) {
      body.push(pick([alu64.neg, alu32.neg, end.le16, end.le32, end.be16, end.be32, end.be64, alu64.bswap16, alu64.bswap32, alu64.bswap64])(d));
      continue;
    }
    if (roll < 16) {
      body.push(pick([alu64.movsx8, alu64.movsx16, alu64.movsx32, alu32.movsx8, alu32.movsx16])(d, s));
      continue;
    }
    if (roll < 19) {
      body.push(ld.imm64(d, pick(VALUES)));
      continue;
    }
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
  // Labels past the end land on the first store.
  const tail = place(pending);
  const fixed = body.map((x) => ('reference' in x && x.reference !== undefined && alias.has(x.reference) ? { ...x, reference: alias.get(x.reference)! } : x));
  const insns = program(
    ldx.w(r6, r1, 0),
    ldx.w(r7, r1, 4),
    alu64.mov.reg(r8, r6),
    alu64.add.imm(r8, packet.length),
    jmp.jle.reg(r8, r7, 'go'),
    alu64.mov.imm(r0, 0),
    exit(),
    label('go'),
    WORK.map((r, i) => ldx.dw(r, r6, i * 8)),
    fixed,
    tail,
    WORK.map((r, i) => stx.dw(r6, i * 8, r)),
    alu64.mov.imm(r0, 2),
    exit(),
  );
  return { insns, packet };
}

