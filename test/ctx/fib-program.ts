// The XDP program the fib_lookup oracle runs: params (64 bytes) and flags (u32) from the packet, the
// result in r0 and the updated params written back over the packet.
import { alu64, call, exit, type Instruction, jmp, label, ldx, program, r0, r1, r2, r3, r4, r6, r7, r8, r10, stx } from '../../src/isa/index.js';

/** r0 = bpf_fib_lookup(ctx, &params, 64, flags); params copied stack <-> packet around the call. */
export function fibProgram(): Instruction[] {
  const copyIn: Instruction[] = [];
  const copyOut: Instruction[] = [];
  for (let i = 0; i < 64; i += 8) {
    copyIn.push(ldx.dw(r2, r7, i), stx.dw(r10, -64 + i, r2));
    copyOut.push(ldx.dw(r2, r10, -64 + i), stx.dw(r7, i, r2));
  }
  return program(
    alu64.mov.reg(r6, r1),
    ldx.w(r7, r6, 0),
    ldx.w(r8, r6, 4),
    alu64.mov.reg(r2, r7),
    alu64.add.imm(r2, 68),
    alu64.mov.imm(r0, 0xbad),
    jmp.jgt.reg(r2, r8, 'out'),
    ...copyIn,
    alu64.mov.reg(r1, r6),
    alu64.mov.reg(r2, r10),
    alu64.add.imm(r2, -64),
    alu64.mov.imm(r3, 64),
    ldx.w(r4, r7, 64),
    call.helper('fib_lookup'),
    ...copyOut,
    label('out'),
    exit(),
  );
}
