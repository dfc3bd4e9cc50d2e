// Batches many small cases into one XDP program: each case reads its inputs from the packet and writes its result back.
import { alu64, exit, type Instruction, jmp, label, ldx, program, r0, r1, r6, r7, r8 } from '../../src/isa/index.js';

/** Bytes of packet each case owns: two 64-bit inputs, the first overwritten by the result. */
export const CASE_BYTES = 16;
/** Cases per program: the XDP test-run packet limit is 4096 - 256 - 320 = 3520 bytes. */
export const CASES_PER_PROGRAM = 200;

/** One case: instructions that read [r6 + base] and [r6 + base + 8] and store the result at [r6 + base]. */
export interface Case {
  readonly name: string;
  readonly a: bigint;
  readonly b: bigint;
  body(base: number): Instruction[];
}

/**
 * An XDP program running `cases` in order over a packet of CASE_BYTES per case: r6 = data,
 * bounds-checked once against data_end; returns XDP_PASS.
 */
export function batchProgram(cases: readonly Case[]): Instruction[] {
  return program(
    ldx.w(r6, r1, 0),
    ldx.w(r7, r1, 4),
    alu64.mov.reg(r8, r6),
    alu64.add.imm(r8, cases.length * CASE_BYTES),
    alu64.mov.imm(r0, 2),
    jmp.jgt.reg(r8, r7, 'out'),
    cases.flatMap((c, i) => c.body(i * CASE_BYTES)),
    label('out'),
    exit(),
  );
}

/** The input packet of a batch: each case's a and b, little-endian. */
export function batchPacket(cases: readonly Case[]): Uint8Array {
  const out = new Uint8Array(cases.length * CASE_BYTES);
  const v = new DataView(out.buffer);
  cases.forEach((c, i) => {
    v.setBigUint64(i * CASE_BYTES, BigInt.asUintN(64, c.a), true);
    v.setBigUint64(i * CASE_BYTES + 8, BigInt.asUintN(64, c.b), true);
  });
  return out;
}

/** Splits cases into program-sized batches. */
export function batches<T>(cases: readonly T[], size = CASES_PER_PROGRAM): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < cases.length; i += size) out.push(cases.slice(i, i + size));
  return out;
}
