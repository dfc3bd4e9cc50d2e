// The interpreter's own trace of a program over packets (no debugger): every instruction's program, slot, depth and registers.

import type { ObjectSpec } from '../../src/elf/object-spec.js';
import { loadUserspace } from '../../src/runtime/userspace-object.js';
import { Interpreter } from '../../src/vm/interpreter.js';
import type { PreparedProgram } from '../../src/vm/program.js';

/** One executed instruction. */
export interface TraceStep {
  readonly packet: number;
  readonly program: string;
  readonly pc: number;
  readonly depth: number;
  /** r0..r10 before it runs. */
  readonly regs: readonly bigint[];
}

/** Runs `program` on every packet in a fresh userspace object with the interpreter and records every instruction. */
export function interpreterTrace(spec: ObjectSpec, program: string, packets: readonly Uint8Array[]): TraceStep[] {
  using obj = loadUserspace(spec, { engine: 'interpreter', verify: false });
  const prog = obj.program(program);
  const interp = prog.engine;
  if (!(interp instanceof Interpreter)) throw new Error('not the interpreter');
  const names = new Map<PreparedProgram, string>([...obj.programs.values()].map((p) => [p.prepared, p.name]));
  const out: TraceStep[] = [];
  packets.forEach((data, packet) => {
    interp.stepHook = (pc, depth, prepared) => {
      const regs: bigint[] = [];
      for (let i = 0; i <= 10; i++) regs.push(interp.reg(i));
      out.push({ packet, program: names.get(prepared)!, pc, depth, regs });
    };
    try {
      prog.run(data);
    } catch {
      // a frame the type cannot receive, or a fault: the trace has what ran
    } finally {
      interp.stepHook = undefined;
    }
  });
  return out;
}
