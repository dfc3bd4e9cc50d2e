// bpfkit's own XDP dispatcher, built with the builder DSL: each program's code linked in as a subprogram, called in run order.
//
//   main:   r6 = ctx
//           for each program i (run order):
//             r1 = r6; call prog_i; r7 = r0            verdict
//             stats_i.packets += 1; stats_i.verdict[r7 <= 4 ? r7 : other] += 1   (atomic, map value)
//             if r7 > 31 or !((1 << r7) & chain_call_actions_i): return r7
//           return XDP_PASS                                  (libxdp's dispatcher does the same)
//   prog_i: the program's own instructions, map references patched to fds
//
// No stack in main, so a program keeps its whole 512 bytes; no BTF (the subprograms are static,
// verified in the caller's context), so freplace is not needed.
import { alu32, alu64, atomic, call, exit, jmp, label, ld, program } from '../../isa/builder.js';
import type { Instruction, Reg } from '../../isa/instruction.js';

/** Byte offsets in a program's 64-byte stats value. */
export const STATS_LAYOUT = { packets: 0, verdicts: 8, other: 48, size: 64 } as const;

/** One program of a dispatcher: its linked code (map fds patched in) and how it chains. */
export interface DispatcherSlot {
  /** The program's instructions as loaded on their own, with map fds in the map loads. */
  readonly code: readonly Instruction[];
  /** Bit N: verdict N continues the chain. */
  readonly chainCallActions: number;
  /** Fd of the program's stats map (ARRAY, one 64-byte value). */
  readonly statsFd: number;
}

const R0: Reg = 0, R1: Reg = 1, R2: Reg = 2, R3: Reg = 3, R4: Reg = 4, R6: Reg = 6, R7: Reg = 7;
const XDP_PASS = 2;

/** The dispatcher's instructions for `slots` in run order (symbols resolved by `encode`). */
export function dispatcherInstructions(slots: readonly DispatcherSlot[]): Instruction[] {
  const main: (Instruction | ReturnType<typeof label>)[] = [alu64.mov.reg(R6, R1)];
  slots.forEach((s, i) => {
    main.push(
      alu64.mov.reg(R1, R6),
      call.func(`bpfkit_prog_${i}`),
      alu64.mov.reg(R7, R0),
      ld.map_value(R1, s.statsFd, 0),
      alu64.mov.imm(R2, 1),
      atomic.dw.add(R1, STATS_LAYOUT.packets, R2),
      alu32.mov.reg(R3, R7),
      jmp.jgt.imm(R3, 4, `bpfkit_other_${i}`),
      alu64.lsh.imm(R3, 3),
      alu64.add.reg(R1, R3),
      atomic.dw.add(R1, STATS_LAYOUT.verdicts, R2),
      jmp.ja(`bpfkit_chain_${i}`),
      label(`bpfkit_other_${i}`),
      atomic.dw.add(R1, STATS_LAYOUT.other, R2),
      label(`bpfkit_chain_${i}`),
      alu32.mov.reg(R3, R7),
      jmp.jgt.imm(R3, 31, 'bpfkit_return'),
      alu64.mov.imm(R4, 1),
      alu64.lsh.reg(R4, R3),
      alu64.and.imm(R4, s.chainCallActions | 0),
      jmp.jeq.imm(R4, 0, 'bpfkit_return'),
    );
  });
  main.push(alu64.mov.imm(R0, XDP_PASS), exit(), label('bpfkit_return'), alu64.mov.reg(R0, R7), exit());
  const subs = slots.map((s, i) => [label(`bpfkit_prog_${i}`), ...s.code.map(stripSymbols)]);
  return program(...main, ...subs);
}

/** A program's instructions lose their own symbols and references (offsets are already resolved). */
function stripSymbols(insn: Instruction): Instruction {
  if (insn.symbol === undefined && insn.reference === undefined && insn.source === undefined) return insn;
  const { symbol: _s, reference: _r, source: _src, ...rest } = insn;
  return rest;
}

