// ALU and JMP semantics, differentially: thousands of edge cases and random programs, interpreter vs kernel.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alu32, alu64, end, type Instruction, jmp, jmp32, ldx, r1, r2, r3, r6, type Reg, stx } from '../../src/isa/index.js';
import { kernelTest } from '../kernel/harness.js';
import { batchPacket, batchProgram, batches, type Case, CASE_BYTES } from './batch.js';
import { assertSame, interpreterBackend, kernelBackend, type Backend } from './oracle.js';
import { BINARY, IMMS, immRejected, JUMPS, M64, randomProgram, VALUES, WORK } from './random-program.js';

function aluCases(): Case[] {
  const cases: Case[] = [];
  for (const op of BINARY) {
    for (const [family, width] of [[alu64, 64], [alu32, 32]] as const) {
      for (const a of VALUES) {
        for (const b of VALUES) {
          cases.push({
            name: `alu${width}.${op}.reg a=0x${a.toString(16)} b=0x${b.toString(16)}`,
            a, b,
            body: (o) => [ldx.dw(r1, r6, o), ldx.dw(r2, r6, o + 8), family[op].reg(r1, r2), stx.dw(r6, o, r1)],
          });
        }
        for (const imm of IMMS) {
          if (immRejected(op, width, imm)) continue;
          cases.push({
            name: `alu${width}.${op}.imm a=0x${a.toString(16)} imm=${imm}`,
            a, b: 0n,
            body: (o) => [ldx.dw(r1, r6, o), family[op].imm(r1, imm), stx.dw(r6, o, r1)],
          });
        }
      }
    }
  }
  const unary: [string, (r: Reg) => Instruction][] = [
    ['alu64.neg', alu64.neg], ['alu32.neg', alu32.neg],
    ['le16', end.le16], ['le32', end.le32], ['le64', end.le64], ['be16', end.be16], ['be32', end.be32], ['be64', end.be64],
    ['bswap16', alu64.bswap16], ['bswap32', alu64.bswap32], ['bswap64', alu64.bswap64],
  ];
  const movsx: [string, (d: Reg, s: Reg) => Instruction][] = [
    ['alu64.movsx8', alu64.movsx8], ['alu64.movsx16', alu64.movsx16], ['alu64.movsx32', alu64.movsx32],
    ['alu32.movsx8', alu32.movsx8], ['alu32.movsx16', alu32.movsx16],
  ];
  for (const a of VALUES) {
    for (const [name, f] of unary) cases.push({ name: `${name} a=0x${a.toString(16)}`, a, b: 0n, body: (o) => [ldx.dw(r1, r6, o), f(r1), stx.dw(r6, o, r1)] });
    for (const [name, f] of movsx) {
      cases.push({ name: `${name} b=0x${a.toString(16)}`, a: M64, b: a, body: (o) => [ldx.dw(r1, r6, o), ldx.dw(r2, r6, o + 8), f(r1, r2), stx.dw(r6, o, r1)] });
    }
  }
  return cases;
}

function jmpCases(): Case[] {
  const cases: Case[] = [];
  for (const op of JUMPS) {
    for (const [family, width] of [[jmp, 64], [jmp32, 32]] as const) {
      for (const a of VALUES) {
        for (const b of VALUES) {
          cases.push({
            name: `jmp${width}.${op}.reg a=0x${a.toString(16)} b=0x${b.toString(16)}`,
            a, b,
            body: (o) => [ldx.dw(r1, r6, o), ldx.dw(r2, r6, o + 8), alu64.mov.imm(r3, 1), family[op].reg(r1, r2, 1), alu64.mov.imm(r3, 0), stx.dw(r6, o, r3)],
          });
        }
        for (const imm of IMMS) {
          cases.push({
            name: `jmp${width}.${op}.imm a=0x${a.toString(16)} imm=${imm}`,
            a, b: 0n,
            body: (o) => [ldx.dw(r1, r6, o), alu64.mov.imm(r3, 1), family[op].imm(r1, imm, 1), alu64.mov.imm(r3, 0), stx.dw(r6, o, r3)],
          });
        }
      }
    }
  }
  return cases;
}

/** Runs all cases in batches on both backends; returns how many agreed (all, or the assertion fails). */
function differential(kernel: Backend, mine: Backend, cases: readonly Case[]): number {
  let agreed = 0;
  for (const batch of batches(cases)) {
    const insns = batchProgram(batch);
    const packet = batchPacket(batch);
    const k = kernel.runXdp(insns, packet);
    const m = mine.runXdp(insns, packet);
    assertSame(k, m, (w) => `${batch[Math.floor((w * 8) / CASE_BYTES)]!.name} (word ${w})`);
    agreed += batch.length;
  }
  return agreed;
}

kernelTest('ALU edge cases (every op x 32/64 x imm/reg x edge values) agree with the kernel', (sys) => {
  const cases = aluCases();
  const agreed = differential(kernelBackend(sys), interpreterBackend(), cases);
  assert.ok(agreed > 20000, `only ${agreed} cases`);
  console.log(`# ALU: ${agreed} cases agreed with the kernel`);
});

kernelTest('JMP/JMP32 edge cases agree with the kernel', (sys) => {
  const cases = jmpCases();
  const agreed = differential(kernelBackend(sys), interpreterBackend(), cases);
  assert.ok(agreed > 15000, `only ${agreed} cases`);
  console.log(`# JMP: ${agreed} cases agreed with the kernel`);
});

test('random program generator is deterministic', () => {
  const a = randomProgram(7, 40);
  const b = randomProgram(7, 40);
  assert.deepEqual(a, b);
});

kernelTest('random ALU programs (seeded): all nine registers agree with the kernel', (sys) => {
  const kernel = kernelBackend(sys);
  const mine = interpreterBackend();
  let agreed = 0;
  const programs = 400;
  for (let seed = 1; seed <= programs; seed++) {
    const { insns, packet } = randomProgram(seed, 60);
    const k = kernel.runXdp(insns, packet);
    const m = mine.runXdp(insns, packet);
    assertSame(k, m, (w) => `seed ${seed}: register ${WORK[w]}`);
    agreed++;
  }
  console.log(`# random programs: ${agreed} x 60 instructions agreed with the kernel (9 registers each)`);
});
