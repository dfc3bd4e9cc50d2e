// Corpus: context field access per program type (XDP xdp_md, TC and socket filter __sk_buff).
import { alu64, ldx, st, stx } from '../../../src/isa/index.js';
import { type CorpusProgram, SOCK, TC, XDP, probe, ret } from './corpus-program.js';

const SIZES = ['b', 'h', 'w', 'dw'] as const;

/** Every 4-byte slot of each context, read at each size and written with a register and an immediate. */
export function ctxPrograms(): CorpusProgram[] {
  const out: CorpusProgram[] = [];
  const types: [string, number, number][] = [['xdp', XDP, 28], ['tc', TC, 196], ['sock', SOCK, 196]];
  for (const [tname, type, end] of types) {
    for (let off = 0; off < end; off += 4) {
      out.push(probe(`ctx/${tname}/read-w-${off}`, `${tname} context: 4-byte load at ${off}`, type, 'accept', ldx.w(2, 1, off), ret(0)));
      out.push(probe(`ctx/${tname}/write-w-${off}`, `${tname} context: 4-byte store at ${off}`, type, 'reject', alu64.mov.imm(2, 0), stx.w(1, off, 2), ret(0)));
      if (off % 8 === 0) out.push(probe(`ctx/${tname}/read-dw-${off}`, `${tname} context: 8-byte load at ${off}`, type, 'reject', ldx.dw(2, 1, off), ret(0)));
    }
    for (const off of tname === 'xdp' ? [0, 1, 2, 3, 4, 12, 13, 16, 18, 20] : [0, 2, 3, 4, 8, 9, 10, 16, 18, 36, 44, 48, 50, 76, 80, 88, 152, 168]) {
      for (const s of ['b', 'h'] as const) {
        if (s === 'h' && off % 2) continue;
        out.push(probe(`ctx/${tname}/read-${s}-${off}`, `${tname} context: narrow load at ${off}`, type, 'reject', ldx[s](2, 1, off), ret(0)));
      }
    }
    out.push(probe(`ctx/${tname}/read-neg`, 'context load at a negative offset', type, 'reject', ldx.w(2, 1, -4), ret(0)));
    out.push(probe(`ctx/${tname}/read-past-end`, 'context load past the struct', type, 'reject', ldx.w(2, 1, end + 64), ret(0)));
    out.push(probe(`ctx/${tname}/st-imm-0`, 'BPF_ST into the context', type, 'reject', st.w(1, 0, 0), ret(0)));
    out.push(probe(`ctx/${tname}/read-modified-ctx`, 'load through a ctx pointer moved by a constant', type, 'reject', alu64.add.imm(1, 4), ldx.w(2, 1, 0), ret(0)));
    out.push(probe(`ctx/${tname}/read-misaligned-w`, 'misaligned 4-byte context load', type, 'reject', ldx.w(2, 1, 2), ret(0)));
  }
  for (const s of SIZES) {
    out.push(probe(`ctx/tc/write-mark-${s}`, 'skb->mark store width', TC, s === 'w' ? 'accept' : 'reject', alu64.mov.imm(2, 1), stx[s](1, 8, 2), ret(0)));
    out.push(probe(`ctx/sock/write-cb0-${s}`, 'socket filter cb[0] store width', SOCK, 'accept', alu64.mov.imm(2, 1), stx[s](1, 48, 2), ret(0)));
  }
  out.push(probe('ctx/tc/write-tstamp-dw', 'skb->tstamp 8-byte store', TC, 'accept', alu64.mov.imm(2, 1), stx.dw(1, 152, 2), ret(0)));
  out.push(probe('ctx/tc/read-tstamp-dw', 'skb->tstamp 8-byte load', TC, 'accept', ldx.dw(2, 1, 152), ret(0)));
  out.push(probe('ctx/tc/read-sk-dw', 'skb->sk pointer load', TC, 'accept', ldx.dw(2, 1, 168), ret(0)));
  out.push(probe('ctx/tc/read-sk-deref-unchecked', 'skb->sk is a sock_common_or_null', TC, 'reject', ldx.dw(2, 1, 168), ldx.w(3, 2, 0), ret(0)));
  return out;
}
