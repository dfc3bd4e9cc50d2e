// Pruning with precision marks: a register compared with a constant matters only where the jump's
// outcome was decided by its value (backtrack.ts), as in the kernel; the kernel is the oracle.
import assert from 'node:assert/strict';
import { alu64, call, exit, jmp, label, ldx, program, st, stx, type Instruction, type Reg } from '../../../src/isa/index.js';
import { BpfProgType } from '../../../src/isa/uapi.generated.js';
import type { MapDef } from '../../../src/maps/map-ops.js';
import { verifyInstructions } from '../../../src/verifier/index.js';
import { kernelTest } from '../../kernel/harness.js';
import { kernelVerifyFresh } from '../kernel-oracle.js';

const NO_MAPS: ReadonlyMap<string, MapDef> = new Map();

/** Padding: enough instructions and jumps since the last checkpoint for a new one at the next prune point. */
const pad = (reg: Reg): Instruction[] => [alu64.mov.imm(reg, 0), alu64.mov.imm(reg, 1), alu64.mov.imm(reg, 2), alu64.mov.imm(reg, 3), alu64.mov.imm(reg, 4), alu64.mov.imm(reg, 5)];

/**
 * Two paths reach `join` with r7 = 5 and r7 = 100. On the first, `if r7 > 10` is decided by r7's
 * value, so r7 matters at `join` and the second path may not be pruned there: it goes on to an
 * out-of-bounds stack read and is rejected. `via` moves r7 through other registers and a stack
 * slot first, so the mark must follow the value back.
 */
function decidedJump(via: 'direct' | 'copies' | 'stack', bad: boolean): Instruction[] {
  const use: Instruction[] =
    via === 'direct'
      ? []
      : via === 'copies'
        ? [alu64.mov.reg(8, 7), alu64.add.imm(8, 1), alu64.mov.reg(7, 8)]
        : [stx.dw(10, -16, 7), alu64.mov.imm(7, 0), ldx.dw(7, 10, -16)];
  return program(
    call.helper('get_prandom_u32'),
    ...pad(9),
    jmp.jgt.imm(0, 10, 'big'),
    alu64.mov.imm(7, 5),
    jmp.ja('join'),
    label('big'),
    alu64.mov.imm(7, 100),
    label('join'),
    ...pad(9),
    ...use,
    jmp.jgt.imm(7, 50, 'bad'),
    alu64.mov.imm(0, 0),
    exit(),
    label('bad'),
    // Out of the frame when bad, harmless (fp-8) otherwise.
    ldx.dw(0, 10, bad ? 8 : -8),
    exit(),
  );
}

/**
 * r7 is a copy of r6 (linked) on the first path, an unrelated value with the same range (and its
 * own id) on the second. `if r6 > 10` is not decided by a value, but on the first path it bounds
 * r7 through the link, and r7 is a stack offset: r6 matters with r7, and the second path (r7 up
 * to 255 bytes into a 16-byte buffer) may not be pruned.
 */
function linkedJump(bad: boolean): Instruction[] {
  return program(
    call.helper('get_prandom_u32'),
    alu64.mov.reg(6, 0),
    alu64.and.imm(6, 0xff),
    ...pad(9),
    jmp.jgt.imm(0, 1000, 'other'),
    alu64.mov.reg(7, 6),
    jmp.ja('join'),
    label('other'),
    alu64.mov.reg(7, 0),
    alu64.and.imm(7, bad ? 0xff : 0x7),
    alu64.mov.reg(9, 7),
    label('join'),
    ...pad(9),
    jmp.jgt.imm(6, 10, 'out'),
    alu64.mov.reg(8, 10),
    alu64.add.imm(8, -16),
    alu64.add.reg(8, 7),
    st.b(8, 0, 0),
    label('out'),
    alu64.mov.imm(0, 0),
    exit(),
  );
}

const CASES: [string, Instruction[]][] = [
  ['linked registers, the copy used as an offset (out of bounds on the second path)', linkedJump(true)],
  ['linked registers, the copy used as an offset (in bounds everywhere)', linkedJump(false)],
];
for (const via of ['direct', 'copies', 'stack'] as const) {
  CASES.push([`decided jump (${via}) guarding a bad access`, decidedJump(via, true)]);
  CASES.push([`decided jump (${via}) guarding nothing`, decidedJump(via, false)]);
}

kernelTest('precision: a jump decided by a register keeps the register in later pruning (the kernel agrees)', (sys) => {
  for (const [name, insns] of CASES) {
    const ours = verifyInstructions(insns, { programType: BpfProgType.XDP });
    const kernel = kernelVerifyFresh(sys, BpfProgType.XDP, insns, NO_MAPS);
    assert.equal(ours.verdict, kernel.verdict, `${name}: bpfkit ${ours.verdict} (${ours.message}), kernel ${kernel.verdict} (${kernel.message})`);
    if (kernel.verdict === 'reject') assert.equal(ours.message, kernel.message, name);
    if (kernel.processedInsns !== undefined) assert.equal(ours.processedInsns, kernel.processedInsns, `${name}: processed insns`);
  }
  // Without the mark the second path would be pruned at `join` and the bad read accepted.
  assert.equal(verifyInstructions(decidedJump('stack', true), { programType: BpfProgType.XDP }).verdict, 'reject');
  assert.equal(verifyInstructions(linkedJump(true), { programType: BpfProgType.XDP }).verdict, 'reject');
});
