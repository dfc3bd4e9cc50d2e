// The JIT against the reference interpreter on ALU and JMP semantics: every opcode over edge values, and random programs.
import { test } from 'node:test';
import { alu32, alu64, end, type Instruction, jmp, jmp32, ldx, r1, r2, r3, r6, type Reg, stx } from '../../src/isa/index.js';
import { batchPacket, batchProgram, batches, type Case } from '../vm/batch.js';
import { BINARY, IMMS, immRejected, JUMPS, M64, randomProgram, VALUES } from '../vm/random-program.js';
import { assertSameRuns } from './differential.js';
import { randomMachineProgram } from './random-machine.js';

function aluCases(): Case[] {
  const cases: Case[] = [];
  for (const op of BINARY) {
    for (const [family, width] of [[alu64, 64], [alu32, 32]] as const) {
      for (const a of VALUES) {
        for (const b of VALUES) {
          cases.push({ name: `alu${width}.${op}.reg`, a, b, body: (o) => [ldx.dw(r1, r6, o), ldx.dw(r2, r6, o + 8), family[op].reg(r1, r2), stx.dw(r6, o, r1)] });
        }
        // Immediates, including the ones the verifier rejects (x / 0, out-of-range shifts): the runtime still defines them.
        for (const imm of [...IMMS, 0, -1, 100, -100]) {
          if (immRejected(op, width, imm) && imm !== 0) continue;
          cases.push({ name: `alu${width}.${op}.imm ${imm}`, a, b: 0n, body: (o) => [ldx.dw(r1, r6, o), family[op].imm(r1, imm), stx.dw(r6, o, r1)] });
        }
      }
    }
  }
  const unary: ((r: Reg) => Instruction)[] = [alu64.neg, alu32.neg, end.le16, end.le32, end.le64, end.be16, end.be32, end.be64, alu64.bswap16, alu64.bswap32, alu64.bswap64];
  const movsx: ((d: Reg, s: Reg) => Instruction)[] = [alu64.movsx8, alu64.movsx16, alu64.movsx32, alu32.movsx8, alu32.movsx16];
  for (const a of VALUES) {
    for (const f of unary) cases.push({ name: 'unary', a, b: 0n, body: (o) => [ldx.dw(r1, r6, o), f(r1), stx.dw(r6, o, r1)] });
    for (const f of movsx) cases.push({ name: 'movsx', a: M64, b: a, body: (o) => [ldx.dw(r1, r6, o), ldx.dw(r2, r6, o + 8), f(r1, r2), stx.dw(r6, o, r1)] });
  }
  return cases;
}

function jmpCases(): Case[] {
  const cases: Case[] = [];
  for (const op of JUMPS) {
    for (const family of [jmp, jmp32]) {
      for (const a of VALUES) {
        for (const b of VALUES) {
          cases.push({ name: op, a, b, body: (o) => [ldx.dw(r1, r6, o), ldx.dw(r2, r6, o + 8), alu64.mov.imm(r3, 1), family[op].reg(r1, r2, 1), alu64.mov.imm(r3, 0), stx.dw(r6, o, r3)] });
        }
        for (const imm of IMMS) {
          cases.push({ name: `${op} imm`, a, b: 0n, body: (o) => [ldx.dw(r1, r6, o), alu64.mov.imm(r3, 1), family[op].imm(r1, imm, 1), alu64.mov.imm(r3, 0), stx.dw(r6, o, r3)] });
        }
      }
    }
  }
  return cases;
}

test('every ALU opcode (64/32-bit, reg/imm, unary, byte swaps, movsx) agrees with the interpreter on edge values', () => {
  for (const batch of batches(aluCases())) assertSameRuns(batchProgram(batch), [batchPacket(batch)], {}, batch[0]!.name);
});

test('every conditional jump (64/32-bit, reg/imm) agrees with the interpreter on edge values', () => {
  for (const batch of batches(jmpCases())) assertSameRuns(batchProgram(batch), [batchPacket(batch)], {}, batch[0]!.name);
});

test('random ALU programs with forward jumps: same r0, packet and instruction count', () => {
  for (let seed = 1; seed <= 400; seed++) {
    const { insns, packet } = randomProgram(seed, 80);
    assertSameRuns(insns, [packet], {}, `seed ${seed}`);
  }
});

test('random whole-machine programs (memory that may fault, backward jumps, calls, helpers, atomics): same outcome, fault and budget', () => {
  const count = Number(process.env['BPFKIT_JIT_RANDOM'] ?? 300);
  for (let seed = 1; seed <= count; seed++) {
    const insns = randomMachineProgram(seed, 60);
    const packet = new Uint8Array(64).map((_, i) => (i * 131 + seed) & 0xff);
    assertSameRuns(insns, [packet], { budget: 2000 }, `seed ${seed}`);
  }
});

test('the plain dispatch-loop shape (CompileOptions.dispatchAll, for measurements) agrees too', () => {
  for (let seed = 1; seed <= 100; seed++) {
    const packet = new Uint8Array(64).map((_, i) => (i * 131 + seed) & 0xff);
    assertSameRuns(randomMachineProgram(seed, 60), [packet], { budget: 2000, compile: { dispatchAll: true } }, `seed ${seed}`);
  }
});
