// Corpus: every ALU operation on each pointer type (allowed and prohibited pointer arithmetic).
import { type Instruction, alu32, alu64, call, end, exit, jmp, label, ld, ldx, stx } from '../../../src/isa/index.js';
import { type CorpusProgram, XDP, lookup, probe, ret, xdpPacket } from './corpus-program.js';

const OPS = ['add', 'sub', 'mul', 'div', 'sdiv', 'or', 'and', 'lsh', 'rsh', 'mod', 'smod', 'xor', 'mov', 'arsh'] as const;

/** Pointer kinds: instructions leaving the pointer in r6 (the program may branch to 'out'). */
const KINDS: Record<string, Instruction[]> = {
  ctx: [alu64.mov.reg(6, 1)],
  stack: [alu64.mov.reg(6, 10)],
  packet: [...xdpPacket(), alu64.mov.reg(6, 2)],
  'packet-end': [...xdpPacket(), alu64.mov.reg(6, 3)],
  'map-value': [...lookup('array'), jmp.jeq.imm(0, 0, 'out'), alu64.mov.reg(6, 0)],
  'map-ptr': [ld.map_fd(6, 'array')],
};

/** What each kind's pointer may do after arithmetic: deref (reads one byte at offset 0). */
export function pointerAluPrograms(): CorpusProgram[] {
  const out: CorpusProgram[] = [];
  for (const [kind, setup] of Object.entries(KINDS)) {
    for (const op of OPS) {
      if (op === 'mov') continue;
      const mk = (suffix: string, insn: Instruction): void => {
        const intent = (op === 'add' || op === 'sub') && suffix.startsWith('64') && kind !== 'map-ptr' && kind !== 'packet-end' ? 'accept' : 'reject';
        out.push(probe(`ptr-alu/${kind}/${op}${suffix}`, `${op} on a ${kind} pointer`, XDP, intent, setup, alu64.mov.imm(7, 2), insn, label('out'), ret(0)));
      };
      mk('64-imm', alu64[op].imm(6, 2));
      mk('64-reg', alu64[op].reg(6, 7));
      mk('32-imm', alu32[op].imm(6, 2));
    }
    out.push(probe(`ptr-alu/${kind}/neg`, `neg on a ${kind} pointer`, XDP, 'reject', setup, alu64.neg(6), label('out'), ret(0)));
    out.push(probe(`ptr-alu/${kind}/be16`, `byte swap of a ${kind} pointer`, XDP, 'reject', setup, end.be16(6), label('out'), ret(0)));
    out.push(probe(`ptr-alu/${kind}/mov32`, `32-bit copy of a ${kind} pointer`, XDP, 'accept', setup, alu32.mov.reg(7, 6), label('out'), ret(0)));
    out.push(probe(`ptr-alu/${kind}/scalar-plus-ptr`, `scalar += ${kind} pointer`, XDP, 'accept', setup, alu64.mov.imm(7, 4), alu64.add.reg(7, 6), label('out'), ret(0)));
    out.push(probe(`ptr-alu/${kind}/ptr-minus-ptr`, `${kind} pointer - ${kind} pointer`, XDP, 'accept', setup, alu64.mov.reg(7, 6), alu64.sub.reg(7, 6), alu64.mov.reg(0, 7), label('out'), ret(0)));
    out.push(probe(`ptr-alu/${kind}/ptr-plus-ptr`, `${kind} pointer + pointer`, XDP, 'reject', setup, alu64.add.reg(6, 10), label('out'), ret(0)));
    out.push(probe(`ptr-alu/${kind}/return`, `returning a ${kind} pointer`, XDP, 'reject', setup, alu64.mov.reg(0, 6), exit(), label('out'), ret(0)));
    out.push(probe(`ptr-alu/${kind}/store-to-stack`, `spilling a ${kind} pointer`, XDP, 'accept', setup, stx.dw(10, -8, 6), ldx.dw(7, 10, -8), label('out'), ret(0)));
    out.push(probe(`ptr-alu/${kind}/store-w-to-stack`, `a 32-bit store of a ${kind} pointer`, XDP, 'reject', setup, stx.w(10, -8, 6), label('out'), ret(0)));
    out.push(probe(`ptr-alu/${kind}/add-unknown`, `${kind} pointer += unknown scalar`, XDP, 'reject', setup, call.helper('get_prandom_u32'), alu64.add.reg(6, 0), label('out'), ret(0)));
    out.push(probe(`ptr-alu/${kind}/add-big`, `${kind} pointer += 1<<29`, XDP, 'reject', setup, alu64.add.imm(6, 1 << 29), label('out'), ret(0)));
  }
  return out;
}
