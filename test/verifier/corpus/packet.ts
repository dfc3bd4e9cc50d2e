// Corpus: direct packet access with and without data_end checks, in every comparison form.
import { type Instruction, alu32, alu64, jmp, jmp32, label, ldx, st, stx } from '../../../src/isa/index.js';
import { type CorpusProgram, SOCK, TC, XDP, probe, ret, tcPacket, xdpPacket } from './corpus-program.js';

type J = 'jgt' | 'jge' | 'jlt' | 'jle' | 'jeq' | 'jne' | 'jsgt' | 'jsge' | 'jslt' | 'jsle';
const JUMPS: J[] = ['jgt', 'jge', 'jlt', 'jle', 'jeq', 'jne', 'jsgt', 'jsge', 'jslt', 'jsle'];

/**
 * r4 = data + 14, a comparison of r4 with data_end (either operand order), then a load of the
 * last byte (data + 13) or the byte past it (data + 14) on the fall-through and on the taken path.
 */
export function packetPrograms(): CorpusProgram[] {
  const out: CorpusProgram[] = [];
  const pre = [...xdpPacket(), alu64.mov.reg(4, 2), alu64.add.imm(4, 14)];
  for (const fam of ['jmp', 'jmp32'] as const) {
    const f = fam === 'jmp' ? jmp : jmp32;
    for (const op of JUMPS) {
      for (const order of ['ptr-end', 'end-ptr'] as const) {
        const cmp = order === 'ptr-end' ? f[op].reg(4, 3, 'taken') : f[op].reg(3, 4, 'taken');
        for (const where of ['fall', 'taken'] as const) {
          for (const at of [13, 14]) {
            const load = ldx.b(0, 2, at);
            const body: Instruction[] = where === 'fall' ? [cmp, load, ...ret(0), ...[]] : [cmp, ...ret(0)];
            const items = where === 'fall' ? [...pre, ...body, label('taken'), ...ret(1)] : [...pre, ...body, label('taken'), load, ...ret(1)];
            const safe = at === 13 && ((fam === 'jmp' && ((where === 'fall' && ((order === 'ptr-end' && (op === 'jgt')) || (order === 'end-ptr' && op === 'jlt'))) || (where === 'taken' && ((order === 'ptr-end' && op === 'jle') || (order === 'end-ptr' && op === 'jge'))))));
            out.push(probe(`pkt/${fam}-${op}-${order}-${where}-${at}`, `packet bound from ${fam} ${op} (${order}), load on the ${where} path at +${at}`, XDP, safe ? 'accept' : 'reject', ...items));
          }
        }
      }
    }
  }
  out.push(probe('pkt/no-check', 'packet load without a data_end check', XDP, 'reject', ...xdpPacket(), ldx.b(0, 2, 0), ret(0)));
  for (const [s, n] of [['b', 1], ['h', 2], ['w', 4], ['dw', 8]] as const) {
    for (const at of [0, 14 - n, 15 - n]) {
      out.push(probe(`pkt/read-${s}-${at}`, `packet ${s} load at ${at} after a 14-byte check`, XDP, at + n <= 14 ? 'accept' : 'reject', ...pre, jmp.jgt.reg(4, 3, 'out'), ldx[s](0, 2, at), label('out'), ret(0)));
      out.push(probe(`pkt/write-${s}-${at}`, `packet ${s} store at ${at} after a 14-byte check`, XDP, at + n <= 14 ? 'accept' : 'reject', ...pre, jmp.jgt.reg(4, 3, 'out'), st[s](2, at, 1), label('out'), ret(0)));
    }
  }
  out.push(probe('pkt/read-neg', 'packet load before data', XDP, 'reject', ...pre, jmp.jgt.reg(4, 3, 'out'), ldx.b(0, 2, -1), label('out'), ret(0)));
  out.push(probe('pkt/data-end-deref', 'load through data_end', XDP, 'reject', ...xdpPacket(), ldx.b(0, 3, 0), ret(0)));
  out.push(probe('pkt/data-end-deref-neg', 'load through data_end - 1', XDP, 'reject', ...xdpPacket(), ldx.b(0, 3, -1), ret(0)));
  out.push(probe('pkt/check-on-copy', 'the range learned on r4 applies to r2 (same id)', XDP, 'accept', ...pre, alu64.mov.reg(5, 2), jmp.jgt.reg(4, 3, 'out'), ldx.w(0, 5, 8), label('out'), ret(0)));
  out.push(probe('pkt/check-then-var-offset', 'an unchecked variable offset after the check', XDP, 'reject', ...pre, jmp.jgt.reg(4, 3, 'out'), ldx.b(5, 2, 0), alu64.add.reg(2, 5), ldx.b(0, 2, 0), label('out'), ret(0)));
  out.push(probe('pkt/var-offset-checked', 'a variable offset checked against data_end', XDP, 'accept',
    ...pre, jmp.jgt.reg(4, 3, 'out'), ldx.b(5, 2, 0), alu64.and.imm(5, 0x3f), alu64.add.reg(2, 5), alu64.mov.reg(4, 2), alu64.add.imm(4, 4), jmp.jgt.reg(4, 3, 'out'), ldx.w(0, 2, 0), label('out'), ret(0)));
  out.push(probe('pkt/var-offset-too-big', 'a variable offset with a huge range', XDP, 'reject',
    ...pre, jmp.jgt.reg(4, 3, 'out'), ldx.w(5, 2, 0), alu64.add.reg(2, 5), alu64.mov.reg(4, 2), alu64.add.imm(4, 4), jmp.jgt.reg(4, 3, 'out'), ldx.w(0, 2, 0), label('out'), ret(0)));
  out.push(probe('pkt/alu32-on-packet', '32-bit add on a packet pointer', XDP, 'reject', ...xdpPacket(), alu32.add.imm(2, 14), ret(0)));
  out.push(probe('pkt/meta-read-unchecked', 'data_meta load without a check against data', XDP, 'reject', ldx.w(2, 1, 8), ldx.b(0, 2, 0), ret(0)));
  out.push(probe('pkt/meta-read-checked', 'data_meta checked against data', XDP, 'accept', ldx.w(2, 1, 8), ldx.w(3, 1, 0), alu64.mov.reg(4, 2), alu64.add.imm(4, 4), jmp.jgt.reg(4, 3, 'out'), ldx.w(0, 2, 0), label('out'), ret(0)));
  out.push(probe('pkt/tc-checked', 'TC direct packet access after a check', TC, 'accept', ...tcPacket(), alu64.mov.reg(4, 2), alu64.add.imm(4, 14), jmp.jgt.reg(4, 3, 'out'), ldx.h(0, 2, 12), label('out'), ret(0)));
  out.push(probe('pkt/tc-write-checked', 'TC direct packet store after a check', TC, 'accept', ...tcPacket(), alu64.mov.reg(4, 2), alu64.add.imm(4, 14), jmp.jgt.reg(4, 3, 'out'), st.b(2, 0, 1), label('out'), ret(0)));
  out.push(probe('pkt/tc-unchecked', 'TC direct packet access without a check', TC, 'reject', ...tcPacket(), ldx.h(0, 2, 12), ret(0)));
  out.push(probe('pkt/sock-data', 'socket filters have no direct packet access', SOCK, 'reject', ldx.w(2, 1, 76), ret(0)));
  out.push(probe('pkt/packet-ptr-to-stack-and-back', 'packet bound survives a spill', XDP, 'accept', ...pre, jmp.jgt.reg(4, 3, 'out'), stx.dw(10, -8, 2), ldx.dw(6, 10, -8), ldx.b(0, 6, 13), label('out'), ret(0)));
  out.push(probe('pkt/compare-with-scalar', 'comparing a packet pointer with a scalar teaches nothing', XDP, 'reject', ...xdpPacket(), jmp.jgt.imm(2, 100, 'out'), ldx.b(0, 2, 0), label('out'), ret(0)));
  return out;
}
