// Prints the interpreter's speed on a simple loop (information for bench/, not a timed assertion).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alu64, exit, jmp, label, ldx, program, r0, r1, r2, r3, r10, stx } from '../../src/isa/index.js';
import { createXdpVm } from '../../src/vm/index.js';

test('prints interpreter ns/instruction on an ALU + stack loop', () => {
  const iterations = 200_000;
  const insns = program(
    alu64.mov.imm(r0, 0),
    alu64.mov.imm(r1, iterations),
    label('top'),
    alu64.add.reg(r0, r1),
    alu64.mov.reg(r2, r0),
    alu64.rsh.imm(r2, 3),
    alu64.xor.reg(r0, r2),
    stx.dw(r10, -8, r0),
    ldx.dw(r3, r10, -8),
    alu64.add.imm(r1, -1),
    jmp.jne.imm(r1, 0, 'top'),
    exit(),
  );
  const vm = createXdpVm(insns, { budget: 10 * iterations });
  const packet = new Uint8Array(64);
  vm.run(undefined, packet); // warm up
  let best = Infinity;
  let executed = 0;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    executed = vm.run(undefined, packet).instructions;
    best = Math.min(best, performance.now() - t0);
  }
  assert.equal(executed, 2 + 8 * iterations + 1);
  console.log(`# interpreter: ${((best * 1e6) / executed).toFixed(2)} ns/instruction (${executed} instructions, best of 5)`);
});
