// Corpus: the rest — sign-extending loads and moves, byte-swap bounds, pointer comparisons, direct
// map value loads (global data), per-CPU / LRU / read-only / write-only maps, packet-changing
// helpers, return values.
import { alu32, alu64, call, end, jmp, jmp32, label, ld, ldx, ldxs, st, stx } from '../../../src/isa/index.js';
import { type CorpusProgram, SOCK, TC, XDP, lookup, probe, ret, tcPacket, xdpPacket } from './corpus-program.js';

/** Miscellaneous probes. */
export function miscPrograms(): CorpusProgram[] {
  const out: CorpusProgram[] = [];
  const value = (map = 'array') => [...lookup(map), jmp.jeq.imm(0, 0, 'out'), alu64.mov.reg(6, 0)];
  // Sign extension: a sign-extended byte is in [-128, 127]; as an offset it needs a lower bound.
  out.push(probe('sx/ldxs-b-offset', 'a sign-extended byte as an offset', XDP, 'reject', ...value(), ldxs.b(1, 6, 0), alu64.add.reg(6, 1), ldx.b(2, 6, 0), label('out'), ...ret(0)));
  out.push(probe('sx/ldx-b-offset', 'a zero-extended byte as an offset (may pass 48)', XDP, 'reject', ...value(), ldx.b(1, 6, 0), alu64.add.reg(6, 1), ldx.b(2, 6, 0), label('out'), ...ret(0)));
  out.push(probe('sx/ldx-b-and-offset', 'a masked byte as an offset', XDP, 'accept', ...value(), ldx.b(1, 6, 0), alu64.and.imm(1, 31), alu64.add.reg(6, 1), ldx.b(2, 6, 0), label('out'), ...ret(0)));
  out.push(probe('sx/ldxs-b-and-offset', 'a masked sign-extended byte as an offset', XDP, 'accept', ...value(), ldxs.b(1, 6, 0), alu64.and.imm(1, 31), alu64.add.reg(6, 1), ldx.b(2, 6, 0), label('out'), ...ret(0)));
  out.push(probe('sx/movsx8-bounded', 'movsx8 of a bounded value keeps it signed', XDP, 'reject', ...value(), ldx.b(1, 6, 0), alu64.movsx8(1, 1), alu64.add.reg(6, 1), ldx.b(2, 6, 0), label('out'), ...ret(0)));
  out.push(probe('sx/movsx8-small', 'movsx8 of a value below 0x80 stays small', XDP, 'accept', ...value(), ldx.b(1, 6, 0), alu64.and.imm(1, 0x1f), alu64.movsx8(1, 1), alu64.add.reg(6, 1), ldx.b(2, 6, 0), label('out'), ...ret(0)));
  out.push(probe('sx/movsx32-of-w', 'movsx32 of a zero-extended u32', XDP, 'reject', ...value(), ldx.w(1, 6, 0), alu64.movsx32(1, 1), jmp.jgt.imm(1, 40, 'out'), alu64.add.reg(6, 1), ldx.b(2, 6, 0), label('out'), ...ret(0)));
  out.push(probe('sx/ldxs-ctx', 'a sign-extending load from the context', XDP, 'reject', ldxs.w(2, 1, 16), ...ret(0)));
  out.push(probe('sx/ldxs-packet', 'a sign-extending load from the packet', XDP, 'accept', ...xdpPacket(), alu64.mov.reg(4, 2), alu64.add.imm(4, 4), jmp.jgt.reg(4, 3, 'out'), ldxs.h(0, 2, 0), label('out'), ...ret(0)));
  out.push(probe('sx/movsx-pointer', 'sign-extending a pointer', XDP, 'reject', alu64.movsx32(2, 10), ...ret(0)));
  // Byte swaps: be16 of anything is in [0, 0xffff].
  out.push(probe('bswap/be16-offset', 'be16 bounds the value to 16 bits (too big for 48)', XDP, 'reject', ...value(), ldx.dw(1, 6, 0), end.be16(1), alu64.add.reg(6, 1), ldx.b(2, 6, 0), label('out'), ...ret(0)));
  out.push(probe('bswap/be16-then-mask', 'be16 then a mask', XDP, 'accept', ...value(), ldx.dw(1, 6, 0), end.be16(1), alu64.and.imm(1, 31), alu64.add.reg(6, 1), ldx.b(2, 6, 0), label('out'), ...ret(0)));
  out.push(probe('bswap/le16-const', 'le16 of a constant is a constant', XDP, 'accept', ...value(), alu64.mov.imm(1, 0x10020), end.le16(1), alu64.add.reg(6, 1), ldx.b(2, 6, 0), label('out'), ...ret(0)));
  out.push(probe('bswap/be32-const', 'be32 of 0x20000000 is 0x20', XDP, 'accept', ...value(), alu64.mov.imm(1, 0x20000000), end.be32(1), alu64.add.reg(6, 1), ldx.b(2, 6, 0), label('out'), ...ret(0)));
  out.push(probe('bswap/bswap16-then-jlt', 'bswap16 then a bound', XDP, 'accept', ...value(), ldx.dw(1, 6, 0), alu64.bswap16(1), jmp.jge.imm(1, 40, 'out'), alu64.add.reg(6, 1), ldx.dw(2, 6, 0), label('out'), ...ret(0)));
  // Pointer comparisons (privileged: allowed, and they teach nothing).
  out.push(probe('ptrcmp/stack-vs-stack', 'comparing two stack pointers', XDP, 'accept', alu64.mov.reg(2, 10), alu64.add.imm(2, -8), jmp.jgt.reg(2, 10, 'o'), label('o'), ...ret(0)));
  out.push(probe('ptrcmp/ctx-vs-imm', 'comparing the context with a constant', XDP, 'accept', jmp.jeq.imm(1, 0, 'o'), label('o'), ...ret(0)));
  out.push(probe('ptrcmp/map-value-jmp32', 'a 32-bit comparison of a map value pointer', XDP, 'accept', ...value(), jmp32.jgt.imm(6, 5, 'out'), label('out'), ...ret(0)));
  out.push(probe('ptrcmp/pkt-vs-pkt', 'comparing two packet pointers (not data_end)', XDP, 'reject', ...xdpPacket(), alu64.mov.reg(4, 2), alu64.add.imm(4, 8), jmp.jgt.reg(4, 2, 'o'), ldx.b(0, 2, 0), label('o'), ...ret(0)));
  // Direct map value loads (how global data is addressed).
  out.push(probe('direct/read', 'load through ld.map_value', XDP, 'accept', ld.map_value(1, 'global', 8), ldx.dw(0, 1, 0), ...ret(0)));
  out.push(probe('direct/read-last', 'load of the last 8 bytes through ld.map_value', XDP, 'accept', ld.map_value(1, 'global', 40), ldx.dw(0, 1, 0), ...ret(0)));
  out.push(probe('direct/read-past', 'load past the value through ld.map_value', XDP, 'reject', ld.map_value(1, 'global', 44), ldx.dw(0, 1, 0), ...ret(0)));
  out.push(probe('direct/offset-past', 'ld.map_value offset past the value', XDP, 'reject', ld.map_value(1, 'global', 48), ...ret(0)));
  out.push(probe('direct/write', 'store through ld.map_value', XDP, 'accept', ld.map_value(1, 'global', 0), st.dw(1, 0, 7), ...ret(0)));
  out.push(probe('direct/array-4-entries', 'ld.map_value needs an array of one entry', XDP, 'reject', ld.map_value(1, 'array', 8), ldx.dw(0, 1, 0), ...ret(0)));
  out.push(probe('direct/hash', 'ld.map_value of a hash map', XDP, 'reject', ld.map_value(1, 'hash', 0), ...ret(0)));
  out.push(probe('direct/rdonly-read', 'load from a BPF_F_RDONLY_PROG map', XDP, 'accept', ld.map_value(1, 'rdonly', 0), ldx.dw(0, 1, 0), ...ret(0)));
  out.push(probe('direct/rdonly-write', 'store into a BPF_F_RDONLY_PROG map', XDP, 'reject', ld.map_value(1, 'rdonly', 0), st.dw(1, 0, 1), ...ret(0)));
  out.push(probe('direct/wronly-read', 'load from a BPF_F_WRONLY_PROG map', XDP, 'reject', ld.map_value(1, 'wronly', 0), ldx.dw(0, 1, 0), ...ret(0)));
  out.push(probe('direct/wronly-write', 'store into a BPF_F_WRONLY_PROG map', XDP, 'accept', ld.map_value(1, 'wronly', 0), st.dw(1, 0, 1), ...ret(0)));
  out.push(probe('map/rdonly-lookup-write', 'store into a looked-up read-only value', XDP, 'reject', ...value('rdonly'), st.dw(6, 0, 1), label('out'), ...ret(0)));
  out.push(probe('map/rdonly-update', 'bpf_map_update_elem on a read-only map', XDP, 'reject', st.dw(10, -8, 0), st.dw(10, -16, 0), st.dw(10, -24, 0), ld.map_fd(1, 'rdonly'), alu64.mov.reg(2, 10), alu64.add.imm(2, -8), alu64.mov.reg(3, 10), alu64.add.imm(3, -24), alu64.mov.imm(4, 0), call.helper('map_update_elem'), ...ret(0)));
  out.push(probe('map/percpu-read', 'per-CPU array value, 16 bytes', XDP, 'accept', ...value('percpu'), ldx.dw(1, 6, 8), label('out'), ...ret(0)));
  out.push(probe('map/percpu-oob', 'per-CPU array value past 16 bytes', XDP, 'reject', ...value('percpu'), ldx.dw(1, 6, 16), label('out'), ...ret(0)));
  out.push(probe('map/lru-unchecked', 'LRU hash lookups may miss', XDP, 'reject', ...lookup('lru'), ldx.dw(1, 0, 0), ...ret(0)));
  out.push(probe('map/devmap-lookup', 'a devmap lookup from XDP', XDP, 'accept', ...lookup('devmap'), ...ret(0)));
  out.push(probe('map/redirect-devmap', 'bpf_redirect_map with a devmap', XDP, 'accept', ld.map_fd(1, 'devmap'), alu64.mov.imm(2, 0), alu64.mov.imm(3, 0), call.helper('redirect_map'), exit0()));
  out.push(probe('map/redirect-devmap-tc', 'bpf_redirect_map from TC', TC, 'reject', ld.map_fd(1, 'devmap'), alu64.mov.imm(2, 0), alu64.mov.imm(3, 0), call.helper('redirect_map'), exit0()));
  // Helpers that change the packet invalidate packet pointers.
  const checked = [...xdpPacket(), alu64.mov.reg(6, 1), alu64.mov.reg(7, 2), alu64.mov.reg(4, 2), alu64.add.imm(4, 14), jmp.jgt.reg(4, 3, 'out')];
  out.push(probe('pktchange/adjust-tail-stale', 'packet pointers after bpf_xdp_adjust_tail', XDP, 'reject', ...checked, alu64.mov.imm(2, -4), call.helper('xdp_adjust_tail'), ldx.b(0, 7, 0), label('out'), ...ret(0)));
  out.push(probe('pktchange/adjust-meta-stale', 'packet pointers after bpf_xdp_adjust_meta', XDP, 'reject', ...checked, alu64.mov.imm(2, -4), call.helper('xdp_adjust_meta'), ldx.b(0, 7, 0), label('out'), ...ret(0)));
  out.push(probe('pktchange/reload', 'packet pointers reloaded after bpf_xdp_adjust_head', XDP, 'accept', ...checked, alu64.mov.imm(2, 4), call.helper('xdp_adjust_head'), ldx.w(2, 6, 0), ldx.w(3, 6, 4), alu64.mov.reg(4, 2), alu64.add.imm(4, 1), jmp.jgt.reg(4, 3, 'out'), ldx.b(0, 2, 0), label('out'), ...ret(0)));
  out.push(probe('pktchange/skb-store-bytes-stale', 'packet pointers after bpf_skb_store_bytes', TC, 'reject',
    ...tcPacket(), alu64.mov.reg(6, 1), alu64.mov.reg(7, 2), alu64.mov.reg(4, 2), alu64.add.imm(4, 14), jmp.jgt.reg(4, 3, 'out'), st.dw(10, -8, 0),
    alu64.mov.reg(1, 6), alu64.mov.imm(2, 0), alu64.mov.reg(3, 10), alu64.add.imm(3, -8), alu64.mov.imm(4, 4), alu64.mov.imm(5, 0), call.helper('skb_store_bytes'), ldx.b(0, 7, 0), label('out'), ...ret(0)));
  out.push(probe('pktchange/skb-pull-data', 'bpf_skb_pull_data then a fresh check', TC, 'accept', alu64.mov.reg(6, 1), alu64.mov.imm(2, 14), call.helper('skb_pull_data'), ...tcPacket().map((i) => ({ ...i, src: 6 })), alu64.mov.reg(4, 2), alu64.add.imm(4, 14), jmp.jgt.reg(4, 3, 'out'), ldx.b(0, 2, 0), label('out'), ...ret(0)));
  out.push(probe('pktchange/packet-to-helper', 'a packet pointer as helper memory (csum_diff)', XDP, 'accept', ...xdpPacket(), alu64.mov.reg(4, 2), alu64.add.imm(4, 8), jmp.jgt.reg(4, 3, 'out'), alu64.mov.reg(1, 2), alu64.mov.imm(2, 8), alu64.mov.imm(3, 0), alu64.mov.imm(4, 0), alu64.mov.imm(5, 0), call.helper('csum_diff'), label('out'), ...ret(0)));
  out.push(probe('pktchange/packet-to-helper-short', 'a packet pointer with too little checked for the size', XDP, 'reject', ...xdpPacket(), alu64.mov.reg(4, 2), alu64.add.imm(4, 4), jmp.jgt.reg(4, 3, 'out'), alu64.mov.reg(1, 2), alu64.mov.imm(2, 8), alu64.mov.imm(3, 0), alu64.mov.imm(4, 0), alu64.mov.imm(5, 0), call.helper('csum_diff'), label('out'), ...ret(0)));
  // Return values.
  for (const [t, name] of [[XDP, 'xdp'], [TC, 'tc'], [SOCK, 'sock']] as const) {
    out.push(probe(`ret/${name}-minus-1`, 'returning -1', t, 'accept', ...ret(-1)));
    out.push(probe(`ret/${name}-big`, 'returning 0x7fffffff', t, 'accept', ...ret(0x7fffffff)));
    out.push(probe(`ret/${name}-unknown`, 'returning an unknown scalar', t, 'accept', call.helper('get_prandom_u32'), { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }));
    out.push(probe(`ret/${name}-ctx`, 'returning the context pointer', t, 'reject', alu64.mov.reg(0, 1), { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }));
    out.push(probe(`ret/${name}-w0`, 'returning a 32-bit value', t, 'accept', alu32.mov.imm(0, 3), { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }));
  }
  out.push(probe('ret/spilled-then-filled', 'returning a value through a stack slot', XDP, 'accept', alu64.mov.imm(1, 2), stx.dw(10, -8, 1), ldx.dw(0, 10, -8), { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }));
  return out;
}

function exit0() {
  return [{ code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }];
}
