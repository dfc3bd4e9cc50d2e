// Corpus: alignment — plain loads may be misaligned on x86 (no BPF_F_STRICT_ALIGNMENT), atomics
// never; atomics on packet, context and stack memory.
import { alu64, atomic, jmp, label, ldx, st, stx } from '../../../src/isa/index.js';
import { type CorpusProgram, XDP, lookup, probe, ret, xdpPacket } from './corpus-program.js';

/** Alignment and atomics probes. */
export function alignmentPrograms(): CorpusProgram[] {
  const out: CorpusProgram[] = [];
  const value = [...lookup('array'), jmp.jeq.imm(0, 0, 'out'), alu64.mov.reg(6, 0), alu64.mov.imm(1, 1)];
  for (const off of [0, 2, 4, 8, 12, 40, 41]) {
    out.push(probe(`align/value-ldx-dw-${off}`, `8-byte load at map value +${off}`, XDP, off <= 40 ? 'accept' : 'reject', ...value, ldx.dw(2, 6, off), label('out'), ...ret(0)));
    out.push(probe(`align/value-atomic-dw-add-${off}`, `8-byte atomic add at map value +${off}`, XDP, off % 8 === 0 && off <= 40 ? 'accept' : 'reject', ...value, atomic.dw.add(6, off, 1), label('out'), ...ret(0)));
    out.push(probe(`align/value-atomic-w-add-${off}`, `4-byte atomic add at map value +${off}`, XDP, off % 4 === 0 ? 'accept' : 'reject', ...value, atomic.w.add(6, off, 1), label('out'), ...ret(0)));
    out.push(probe(`align/value-atomic-dw-xchg-${off}`, `8-byte xchg at map value +${off}`, XDP, off % 8 === 0 && off <= 40 ? 'accept' : 'reject', ...value, atomic.dw.xchg(6, off, 1), label('out'), ...ret(0)));
    out.push(probe(`align/value-atomic-dw-cmpxchg-${off}`, `8-byte cmpxchg at map value +${off}`, XDP, off % 8 === 0 && off <= 40 ? 'accept' : 'reject', ...value, alu64.mov.imm(0, 0), atomic.dw.cmpxchg(6, off, 1), label('out'), ...ret(0)));
  }
  out.push(probe('align/value-atomic-fetch-add-result', 'fetch_add returns the old value in the source register', XDP, 'accept', ...value, atomic.dw.fetch_add(6, 0, 1), alu64.mov.reg(0, 1), label('out'), ...ret(0)));
  out.push(probe('align/value-atomic-var-offset', 'atomic add at a variable (8-aligned) offset', XDP, 'accept', ...value, ldx.dw(2, 6, 0), alu64.and.imm(2, 0x18), alu64.add.reg(6, 2), atomic.dw.add(6, 0, 1), label('out'), ...ret(0)));
  out.push(probe('align/value-atomic-var-offset-odd', 'atomic add at a variable offset that may be odd', XDP, 'reject', ...value, ldx.dw(2, 6, 0), alu64.and.imm(2, 0x1f), alu64.add.reg(6, 2), atomic.dw.add(6, 0, 1), label('out'), ...ret(0)));
  const pkt = [...xdpPacket(), alu64.mov.reg(4, 2), alu64.add.imm(4, 16), jmp.jgt.reg(4, 3, 'out'), alu64.mov.imm(1, 1)];
  out.push(probe('align/packet-ldx-w-1', '4-byte load at packet +1', XDP, 'accept', ...pkt, ldx.w(0, 2, 1), label('out'), ...ret(0)));
  out.push(probe('align/packet-atomic', 'atomic add on packet memory', XDP, 'reject', ...pkt, atomic.w.add(2, 0, 1), label('out'), ...ret(0)));
  out.push(probe('align/ctx-atomic', 'atomic add on the context', XDP, 'reject', alu64.mov.imm(2, 1), atomic.w.add(1, 0, 2), ...ret(0)));
  out.push(probe('align/stack-atomic', 'atomic add on an initialised stack slot', XDP, 'accept', st.dw(10, -8, 0), alu64.mov.imm(1, 1), atomic.dw.add(10, -8, 1), ...ret(0)));
  out.push(probe('align/stack-atomic-uninit', 'atomic add on a stack slot never written', XDP, 'reject', alu64.mov.imm(1, 1), atomic.dw.add(10, -8, 1), ...ret(0)));
  out.push(probe('align/stack-atomic-misaligned', 'atomic add on a misaligned stack slot', XDP, 'reject', st.dw(10, -16, 0), st.dw(10, -8, 0), alu64.mov.imm(1, 1), atomic.dw.add(10, -12, 1), ...ret(0)));
  out.push(probe('align/stack-atomic-spilled-ptr', 'atomic add on a spilled pointer', XDP, 'reject', stx.dw(10, -8, 1), alu64.mov.imm(1, 1), atomic.dw.add(10, -8, 1), ...ret(0)));
  return out;
}
