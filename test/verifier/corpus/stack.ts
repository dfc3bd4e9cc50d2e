// Corpus: stack reads before writes, bounds, alignment, spills and fills of pointers, variable offsets.
import { alu64, call, jmp, label, ldx, st, stx } from '../../../src/isa/index.js';
import { type CorpusProgram, XDP, probe, ret, xdpPacket } from './corpus-program.js';

const SIZES = [['b', 1], ['h', 2], ['w', 4], ['dw', 8]] as const;

/** Stack programs. */
export function stackPrograms(): CorpusProgram[] {
  const out: CorpusProgram[] = [];
  for (const [s, n] of SIZES) {
    for (const off of [-8, -16, -512]) {
      out.push(probe(`stack/read-uninit-${s}${off}`, 'read of a stack slot never written', XDP, 'reject', ldx[s](0, 10, off), ret(0)));
      out.push(probe(`stack/write-read-${s}${off}`, 'read of a written stack slot', XDP, 'accept', st[s](10, off, 1), ldx[s](0, 10, off), ret(0)));
    }
    for (const off of new Set([-512 - n, -513, 0, 8, -1 - n + 2])) {
      if (off === -512 - n && n === 1) continue;
      out.push(probe(`stack/write-oob-${s}${off}`, 'store outside the 512-byte frame', XDP, 'reject', st[s](10, off, 1), ret(0)));
      out.push(probe(`stack/read-oob-${s}${off}`, 'load outside the 512-byte frame', XDP, 'reject', ldx[s](0, 10, off), ret(0)));
    }
    if (n > 1) {
      for (const mis of [1, n / 2 + 1]) {
        const off = -8 - n + mis;
        if (off % n === 0) continue;
        out.push(probe(`stack/misaligned-write-${s}${off}`, 'misaligned stack store', XDP, 'reject', st[s](10, off, 1), ret(0)));
        out.push(probe(`stack/misaligned-read-${s}${off}`, 'misaligned stack load', XDP, 'reject', st.dw(10, -16, 0), st.dw(10, -8, 0), ldx[s](0, 10, off), ret(0)));
      }
    }
  }
  out.push(probe('stack/partial-init-read-dw', 'dw read of a slot with 4 bytes written', XDP, 'reject', st.w(10, -8, 1), ldx.dw(0, 10, -8), ret(0)));
  out.push(probe('stack/partial-init-read-w-hi', 'w read of the unwritten half', XDP, 'reject', st.w(10, -8, 1), ldx.w(0, 10, -4), ret(0)));
  out.push(probe('stack/partial-init-read-w-lo', 'w read of the written half', XDP, 'accept', st.w(10, -8, 1), ldx.w(0, 10, -8), ret(0)));
  out.push(probe('stack/write-via-copy', 'store through a copy of r10', XDP, 'accept', alu64.mov.reg(2, 10), alu64.add.imm(2, -16), st.dw(2, 0, 7), ldx.dw(0, 10, -16), exit0()));
  out.push(probe('stack/write-via-copy-oob', 'store through r10 - 520', XDP, 'reject', alu64.mov.reg(2, 10), alu64.add.imm(2, -520), st.dw(2, 0, 7), ret(0)));
  out.push(probe('stack/write-via-copy-pos', 'store through r10 + 8', XDP, 'reject', alu64.mov.reg(2, 10), alu64.add.imm(2, 8), st.dw(2, -8, 7), ret(0)));
  // Spills and fills.
  out.push(probe('spill/ctx-fill-deref', 'a spilled ctx pointer fills as ctx', XDP, 'accept', stx.dw(10, -8, 1), ldx.dw(2, 10, -8), ldx.w(0, 2, 16), ret(0)));
  out.push(probe('spill/ctx-fill-w-deref', 'a 32-bit fill of a spilled pointer is a scalar', XDP, 'reject', stx.dw(10, -8, 1), ldx.w(2, 10, -8), ldx.w(0, 2, 16), ret(0)));
  out.push(probe('spill/ctx-clobber-byte', 'overwriting a byte of a spilled pointer', XDP, 'reject', stx.dw(10, -8, 1), st.b(10, -8, 0), ldx.dw(2, 10, -8), ldx.w(0, 2, 16), ret(0)));
  out.push(probe('spill/ctx-misaligned', 'spilling a pointer at a misaligned slot', XDP, 'reject', stx.dw(10, -12, 1), ret(0)));
  out.push(probe('spill/stack-ptr-fill-deref', 'a spilled stack pointer fills as a stack pointer', XDP, 'accept', st.dw(10, -16, 3), alu64.mov.reg(2, 10), alu64.add.imm(2, -16), stx.dw(10, -8, 2), ldx.dw(3, 10, -8), ldx.dw(0, 3, 0), exit0()));
  out.push(probe('spill/packet-fill-checked', 'a spilled packet pointer keeps its range', XDP, 'accept', ...xdpPacket(), alu64.mov.reg(4, 2), alu64.add.imm(4, 8), jmp.jgt.reg(4, 3, 'out'), stx.dw(10, -8, 2), ldx.dw(5, 10, -8), ldx.dw(0, 5, 0), label('out'), ret(0)));
  out.push(probe('spill/packet-fill-unchecked', 'a spilled packet pointer filled before any check', XDP, 'reject', ...xdpPacket(), stx.dw(10, -8, 2), ldx.dw(5, 10, -8), ldx.b(0, 5, 0), ret(0)));
  out.push(probe('spill/scalar-const-fill', 'a spilled constant keeps its value (bounded offset)', XDP, 'accept', st.dw(10, -16, 0), alu64.mov.imm(2, 8), stx.dw(10, -8, 2), ldx.dw(3, 10, -8), alu64.mov.reg(4, 10), alu64.add.imm(4, -24), alu64.add.reg(4, 3), ldx.dw(0, 4, 0), exit0()));
  out.push(probe('spill/scalar-w-fill-then-ptr', 'a 32-bit spilled constant', XDP, 'accept', st.dw(10, -16, 0), alu64.mov.imm(2, 8), stx.w(10, -8, 2), ldx.w(3, 10, -8), alu64.mov.reg(4, 10), alu64.add.imm(4, -24), alu64.add.reg(4, 3), ldx.dw(0, 4, 0), exit0()));
  // Variable offsets into the stack.
  const varOff = (mask: number, base: number) => [call.helper('get_prandom_u32'), alu64.and.imm(0, mask), alu64.mov.reg(2, 10), alu64.add.imm(2, base), alu64.add.reg(2, 0)];
  out.push(probe('stack/var-write-in-bounds', 'variable-offset store inside the frame', XDP, 'accept', ...varOff(7, -16), st.b(2, 0, 1), ret(0)));
  out.push(probe('stack/var-write-oob', 'variable-offset store that may leave the frame', XDP, 'reject', ...varOff(15, -8), st.b(2, 0, 1), ret(0)));
  out.push(probe('stack/var-read-init', 'variable-offset load of initialised bytes', XDP, 'accept', st.dw(10, -16, 0), st.dw(10, -8, 0), ...varOff(7, -16), ldx.b(0, 2, 0), exit0()));
  out.push(probe('stack/var-read-uninit', 'variable-offset load over bytes never written', XDP, 'reject', st.dw(10, -8, 0), ...varOff(7, -16), ldx.b(0, 2, 0), exit0()));
  out.push(probe('stack/var-unbounded', 'stack pointer plus an unbounded scalar', XDP, 'reject', call.helper('get_prandom_u32'), alu64.mov.reg(2, 10), alu64.add.reg(2, 0), st.b(2, -8, 1), ret(0)));
  out.push(probe('stack/deep-512', 'the whole 512-byte frame is usable', XDP, 'accept', st.dw(10, -512, 1), ldx.dw(0, 10, -512), exit0()));
  return out;
}

function exit0() {
  return ret(0);
}
