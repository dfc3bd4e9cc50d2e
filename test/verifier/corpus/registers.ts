// Corpus: uninitialised registers (R0 !read_ok, R2 !read_ok...) and division rules.
import { alu32, alu64, call, exit, jmp, label, stx } from '../../../src/isa/index.js';
import { type CorpusProgram, XDP, probe, ret } from './corpus-program.js';

const REGS = [2, 3, 4, 5, 6, 7, 8, 9] as const;

/** Reads of registers never written, in each way an instruction can read one. */
export function registerPrograms(): CorpusProgram[] {
  const out: CorpusProgram[] = [];
  out.push(probe('regs/exit-r0-unset', 'exit reads r0', XDP, 'reject', exit()));
  out.push(probe('regs/exit-r0-set', 'exit reads r0', XDP, 'accept', ret(2)));
  out.push(probe('regs/r1-is-ctx', 'r1 holds the context at entry', XDP, 'accept', alu64.mov.reg(6, 1), ret(0)));
  out.push(probe('regs/r10-read', 'r10 is the frame pointer', XDP, 'accept', alu64.mov.reg(6, 10), ret(0)));
  out.push(probe('regs/r10-write', 'r10 is read-only', XDP, 'reject', alu64.mov.imm(10, 0), ret(0)));
  out.push(probe('regs/r10-add', 'r10 is read-only', XDP, 'reject', alu64.add.imm(10, 8), ret(0)));
  for (const r of REGS) {
    out.push(probe(`regs/mov-from-r${r}`, `r${r} read before written`, XDP, 'reject', alu64.mov.reg(0, r), exit()));
    out.push(probe(`regs/mov-from-r${r}-set`, `r${r} written first`, XDP, 'accept', alu64.mov.imm(r, 7), alu64.mov.reg(0, r), exit()));
    out.push(probe(`regs/add-r${r}`, `r${r} as ALU source`, XDP, 'reject', alu64.mov.imm(0, 1), alu64.add.reg(0, r), exit()));
    out.push(probe(`regs/add-to-r${r}`, `r${r} as ALU destination`, XDP, 'reject', alu64.add.imm(r, 1), ret(0)));
    out.push(probe(`regs/mov32-from-r${r}`, `w${r} read before written`, XDP, 'reject', alu32.mov.reg(0, r), exit()));
    out.push(probe(`regs/jmp-r${r}`, `r${r} compared before written`, XDP, 'reject', alu64.mov.imm(0, 0), jmp.jeq.imm(r, 0, 'o'), label('o'), exit()));
    out.push(probe(`regs/store-r${r}`, `r${r} stored before written`, XDP, 'reject', stx.dw(10, -8, r), ret(0)));
    out.push(probe(`regs/mov-imm-r${r}`, `writing r${r} needs no init`, XDP, 'accept', alu64.mov.imm(r, 1), alu64.mov.imm(r, 2), ret(0)));
  }
  out.push(probe('regs/init-on-one-path', 'r2 initialised on one path only', XDP, 'reject',
    alu64.mov.imm(0, 0), jmp.jeq.imm(1, 0, 'skip'), alu64.mov.imm(2, 1), label('skip'), alu64.mov.reg(0, 2), exit()));
  out.push(probe('regs/init-on-both-paths', 'r2 initialised on both paths', XDP, 'accept',
    alu64.mov.imm(2, 0), jmp.jeq.imm(1, 0, 'skip'), alu64.mov.imm(2, 1), label('skip'), alu64.mov.reg(0, 2), exit()));
  out.push(probe('regs/r0-after-call-clobbered-r1', 'helper calls clobber r1..r5', XDP, 'reject',
    alu64.mov.imm(1, 1), call.helper('ktime_get_ns'), alu64.mov.reg(0, 1), exit()));
  out.push(probe('regs/r6-survives-call', 'r6..r9 survive helper calls', XDP, 'accept',
    alu64.mov.imm(6, 1), call.helper('ktime_get_ns'), alu64.mov.reg(0, 6), exit()));
  return out;
}

/** Division and modulo by constants and registers (zero immediates are refused; registers are not). */
export function divisionPrograms(): CorpusProgram[] {
  const out: CorpusProgram[] = [];
  for (const op of ['div', 'mod', 'sdiv', 'smod'] as const) {
    for (const [w, fam] of [['64', alu64], ['32', alu32]] as const) {
      out.push(probe(`div/${op}${w}-imm0`, 'division by a zero immediate', XDP, 'reject', alu64.mov.imm(0, 7), fam[op].imm(0, 0), exit()));
      out.push(probe(`div/${op}${w}-imm3`, 'division by a non-zero immediate', XDP, 'accept', alu64.mov.imm(0, 7), fam[op].imm(0, 3), exit()));
      out.push(probe(`div/${op}${w}-imm-neg1`, 'division by -1', XDP, 'accept', alu64.mov.imm(0, 7), fam[op].imm(0, -1), exit()));
      out.push(probe(`div/${op}${w}-reg0`, 'division by a register holding 0 (defined at run time)', XDP, 'accept', alu64.mov.imm(0, 7), alu64.mov.imm(2, 0), fam[op].reg(0, 2), exit()));
      out.push(probe(`div/${op}${w}-reg-uninit`, 'division by an uninitialised register', XDP, 'reject', alu64.mov.imm(0, 7), fam[op].reg(0, 2), exit()));
    }
  }
  for (const [w, fam, width] of [['64', alu64, 64], ['32', alu32, 32]] as const) {
    for (const op of ['lsh', 'rsh', 'arsh'] as const) {
      for (const sh of [0, width - 1, width, -1]) {
        out.push(probe(`shift/${op}${w}-imm${sh}`, 'shift by an immediate out of [0, width)', XDP, sh >= 0 && sh < width ? 'accept' : 'reject', alu64.mov.imm(0, 7), fam[op].imm(0, sh), exit()));
      }
      out.push(probe(`shift/${op}${w}-reg-big`, 'shift by a register >= width (masked at run time)', XDP, 'accept', alu64.mov.imm(0, 7), alu64.mov.imm(2, 99), fam[op].reg(0, 2), exit()));
    }
  }
  return out;
}
