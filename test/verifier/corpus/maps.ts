// Corpus: map lookups with and without null checks, map value bounds, helper arguments, ring buffers.
import { type Instruction, type Reg, alu32, alu64, atomic, call, exit, jmp, jmp32, label, ld, ldx, st, stx } from '../../../src/isa/index.js';
import { ARRAY_VALUE, type CorpusProgram, type Step, TC, XDP, lookup, probe, ret } from './corpus-program.js';

const checked = (map = 'array'): Instruction[] => [...lookup(map), jmp.jeq.imm(0, 0, 'out'), alu64.mov.reg(6, 0)];

/** Lookups, null checks and value bounds (constant and variable offsets). */
export function mapPrograms(): CorpusProgram[] {
  const out: CorpusProgram[] = [];
  out.push(probe('map/lookup-no-null-check', 'a map value must be null-checked', XDP, 'reject', ...lookup(), ldx.dw(1, 0, 0), ret(0)));
  out.push(probe('map/lookup-null-check-jeq', 'null check with ==', XDP, 'accept', ...lookup(), jmp.jeq.imm(0, 0, 'out'), ldx.dw(1, 0, 0), label('out'), ret(0)));
  out.push(probe('map/lookup-null-check-jne', 'null check with !=', XDP, 'accept', ...lookup(), jmp.jne.imm(0, 0, 'ok'), ...ret(0), label('ok'), ldx.dw(1, 0, 0), ret(0)));
  out.push(probe('map/lookup-deref-on-null-path', 'load on the path where the value is NULL', XDP, 'reject', ...lookup(), jmp.jne.imm(0, 0, 'out'), ldx.dw(1, 0, 0), label('out'), ret(0)));
  out.push(probe('map/lookup-check-copy', 'a null check on a copy covers the original', XDP, 'accept', ...lookup(), alu64.mov.reg(6, 0), jmp.jeq.imm(6, 0, 'out'), ldx.dw(1, 0, 0), label('out'), ret(0)));
  out.push(probe('map/lookup-check-spilled', 'a null check covers a spilled copy', XDP, 'accept', ...lookup(), stx.dw(10, -16, 0), jmp.jeq.imm(0, 0, 'out'), ldx.dw(1, 10, -16), ldx.dw(2, 1, 0), label('out'), ret(0)));
  out.push(probe('map/lookup-check-jmp32', 'a 32-bit null check', XDP, 'reject', ...lookup(), jmp32.jeq.imm(0, 0, 'out'), ldx.dw(1, 0, 0), label('out'), ret(0)));
  out.push(probe('map/lookup-check-wrong-const', 'comparing with 1 is no null check', XDP, 'reject', ...lookup(), jmp.jeq.imm(0, 1, 'out'), ldx.dw(1, 0, 0), label('out'), ret(0)));
  out.push(probe('map/lookup-hash', 'hash lookup with an 8-byte key', XDP, 'accept', ...checked('hash'), ldx.dw(1, 6, 8), label('out'), ret(0)));
  out.push(probe('map/lookup-hash-oob', 'hash value is 16 bytes', XDP, 'reject', ...checked('hash'), ldx.dw(1, 6, 16), label('out'), ret(0)));
  // Kernel >= 6.14: an array lookup with a constant in-range key (a spilled constant) is never NULL.
  const constKey = (store: Instruction[], map = 'array'): Instruction[] => [...store, alu64.mov.reg(2, 10), alu64.add.imm(2, -8), ld.map_fd(1, map), call.helper('map_lookup_elem'), ldx.dw(1, 0, 0), ...ret(0)];
  out.push(probe('map/const-key-st-w', 'array lookup with a constant key (st.w) needs no null check', XDP, 'accept', ...constKey([st.w(10, -8, 1)])));
  out.push(probe('map/const-key-stx-w', 'array lookup with a constant key (spilled w register)', XDP, 'accept', ...constKey([alu64.mov.imm(3, 2), stx.w(10, -8, 3)])));
  out.push(probe('map/const-key-stx-dw', 'array lookup with a constant key (spilled dw register)', XDP, 'accept', ...constKey([alu64.mov.imm(3, 2), stx.dw(10, -8, 3)])));
  out.push(probe('map/const-key-st-dw-zero', 'array lookup with an 8-byte zero store as key', XDP, 'reject', ...constKey([st.dw(10, -8, 0)])));
  out.push(probe('map/const-key-out-of-range', 'array lookup with a constant key past max_entries', XDP, 'reject', ...constKey([st.w(10, -8, 4)])));
  out.push(probe('map/const-key-hash', 'hash lookup with a constant key may still miss', XDP, 'reject', ...constKey([alu64.mov.imm(3, 2), stx.dw(10, -8, 3)], 'hash')));
  out.push(probe('map/const-key-unknown', 'array lookup with a key from the context', XDP, 'reject', ...constKey([ldx.w(3, 1, 16), stx.w(10, -8, 3)])));
  out.push(probe('map/value-write', 'store into a map value', XDP, 'accept', ...checked(), st.dw(6, 0, 1), label('out'), ret(0)));
  out.push(probe('map/value-atomic-add', 'atomic add on a map value', XDP, 'accept', ...checked(), alu64.mov.imm(1, 1), atomic.dw.add(6, 0, 1), label('out'), ret(0)));
  out.push(probe('map/value-ptr-return', 'returning a map value pointer', XDP, 'reject', ...checked(), alu64.mov.reg(0, 6), exit(), label('out'), ret(0)));
  for (const [s, n] of [['b', 1], ['h', 2], ['w', 4], ['dw', 8]] as const) {
    for (const off of new Set([0, ARRAY_VALUE - n, ARRAY_VALUE - n + 1, -n, ARRAY_VALUE])) {
      out.push(probe(`map/value-read-${s}-${off}`, `map value ${s} load at ${off}`, XDP, off >= 0 && off + n <= ARRAY_VALUE ? 'accept' : 'reject', ...checked(), ldx[s](1, 6, off), label('out'), ret(0)));
    }
  }
  // Variable offsets: r1 = value[0] (unknown), bounded by a jump or a mask, then value + r1.
  const bounded = (name: string, rule: string, intent: 'accept' | 'reject', bound: Step[], size: 'b' | 'dw' = 'b'): CorpusProgram =>
    probe(`map/var-${name}`, rule, XDP, intent, ...checked(), ldx.dw(1, 6, 0), ...bound, alu64.add.reg(6, 1), ldx[size](2, 6, 0), label('out'), ret(0));
  for (const lim of [ARRAY_VALUE - 1, ARRAY_VALUE, ARRAY_VALUE + 1]) {
    out.push(bounded(`jgt-${lim}`, 'unsigned upper bound from jgt', lim <= ARRAY_VALUE - 1 ? 'accept' : 'reject', [jmp.jgt.imm(1, lim, 'out')]));
    out.push(bounded(`jge-${lim}`, 'unsigned upper bound from jge', lim <= ARRAY_VALUE ? 'accept' : 'reject', [jmp.jge.imm(1, lim, 'out')]));
    out.push(bounded(`jlt-${lim}-fall`, 'unsigned bound from jlt (taken = in range)', lim <= ARRAY_VALUE ? 'accept' : 'reject', [jmp.jlt.imm(1, lim, 'in'), ...ret(0), label('in'), alu64.mov.reg(1, 1)]));
    out.push(bounded(`jsgt-${lim}`, 'signed upper bound only (negative values pass)', 'reject', [jmp.jsgt.imm(1, lim, 'out')]));
    out.push(bounded(`jsgt-jslt-${lim}`, 'signed bounds on both sides', lim <= ARRAY_VALUE - 1 ? 'accept' : 'reject', [jmp.jsgt.imm(1, lim, 'out'), jmp.jslt.imm(1, 0, 'out')]));
    out.push(bounded(`jmp32-jgt-${lim}`, '32-bit bound on a 64-bit value', 'reject', [jmp32.jgt.imm(1, lim, 'out')]));
    out.push(bounded(`w-jmp32-jgt-${lim}`, '32-bit bound on a zero-extended 32-bit value', lim <= ARRAY_VALUE - 1 ? 'accept' : 'reject', [alu32.mov.reg(1, 1), jmp32.jgt.imm(1, lim, 'out')]));
    out.push(bounded(`and-${lim}`, 'bound from a mask', lim < ARRAY_VALUE ? 'accept' : 'reject', [alu64.and.imm(1, lim)]));
    out.push(bounded(`mod-${lim}`, 'bound from modulo', lim <= ARRAY_VALUE ? 'accept' : 'reject', [alu64.mod.imm(1, lim)]));
    out.push(bounded(`reg-jgt-${lim}`, 'bound from a comparison with a constant register', lim <= ARRAY_VALUE - 1 ? 'accept' : 'reject', [alu64.mov.imm(3, lim), jmp.jgt.reg(1, 3, 'out')]));
  }
  out.push(bounded('dw-jgt-40', 'an 8-byte load at a bounded variable offset', 'accept', [jmp.jgt.imm(1, 40, 'out')], 'dw'));
  out.push(bounded('dw-jgt-41', 'an 8-byte load that may cross the end', 'reject', [jmp.jgt.imm(1, 41, 'out')], 'dw'));
  out.push(bounded('unbounded', 'an unbounded variable offset', 'reject', []));
  out.push(bounded('rsh-58', 'bound from a right shift', 'reject', [alu64.rsh.imm(1, 58)]));
  out.push(bounded('rsh-59', 'bound from a right shift', 'accept', [alu64.rsh.imm(1, 59)]));
  out.push(bounded('neg-after-bound', 'negating a bounded value', 'reject', [jmp.jgt.imm(1, 10, 'out'), alu64.neg(1)]));
  out.push(bounded('sub-after-bound', 'subtracting below zero', 'reject', [jmp.jgt.imm(1, 10, 'out'), alu64.sub.imm(1, 5)]));
  out.push(bounded('mul-after-bound', 'multiplying a bounded value', 'accept', [jmp.jgt.imm(1, 10, 'out'), alu64.mul.imm(1, 4)]));
  out.push(bounded('mul-after-bound-big', 'multiplying past the value', 'reject', [jmp.jgt.imm(1, 10, 'out'), alu64.mul.imm(1, 5)]));
  out.push(bounded('lsh-after-bound', 'shifting a bounded value', 'accept', [jmp.jgt.imm(1, 5, 'out'), alu64.lsh.imm(1, 3)]));
  out.push(bounded('lsh-after-bound-big', 'shifting past the value', 'reject', [jmp.jgt.imm(1, 6, 'out'), alu64.lsh.imm(1, 3)]));
  out.push(bounded('jset-no-bound', 'jset teaches no upper bound', 'reject', [jmp.jset.imm(1, 0xffffff00, 'out')]));
  out.push(bounded('jeq-const', 'equality makes a constant', 'accept', [jmp.jne.imm(1, 7, 'out')]));
  out.push(bounded('jne-const-taken', 'inequality with a constant is not a bound', 'reject', [jmp.jeq.imm(1, 7, 'out')]));
  return out;
}

/** Helper argument rules: map pointers, keys and values on the stack, sizes, program-type helper sets. */
export function helperPrograms(): CorpusProgram[] {
  const out: CorpusProgram[] = [];
  out.push(probe('helper/lookup-key-uninit', 'map key bytes never written', XDP, 'reject', ...lookup('array', -8, false), ret(0)));
  out.push(probe('helper/lookup-key-partial', 'an 8-byte key with 4 bytes written', XDP, 'reject', st.w(10, -8, 0), ...lookup('hash', -8, false), ret(0)));
  out.push(probe('helper/lookup-key-oob', 'a key that runs off the frame', XDP, 'reject', st.dw(10, -8, 0), ...lookup('hash', -4, false), ret(0)));
  out.push(probe('helper/lookup-key-scalar', 'a scalar as the key pointer', XDP, 'reject', alu64.mov.imm(2, 0), ld.map_fd(1, 'array'), call.helper('map_lookup_elem'), ret(0)));
  out.push(probe('helper/lookup-key-ctx', 'the context as the key pointer', XDP, 'reject', alu64.mov.reg(2, 1), ld.map_fd(1, 'array'), call.helper('map_lookup_elem'), ret(0)));
  out.push(probe('helper/lookup-map-scalar', 'a scalar as the map', XDP, 'reject', st.dw(10, -8, 0), alu64.mov.reg(2, 10), alu64.add.imm(2, -8), alu64.mov.imm(1, 0), call.helper('map_lookup_elem'), ret(0)));
  out.push(probe('helper/lookup-map-ctx', 'the context as the map', XDP, 'reject', st.dw(10, -8, 0), alu64.mov.reg(2, 10), alu64.add.imm(2, -8), call.helper('map_lookup_elem'), ret(0)));
  out.push(probe('helper/lookup-ringbuf', 'a ring buffer cannot be looked up', XDP, 'reject', ...lookup('ringbuf'), ret(0)));
  out.push(probe('helper/lookup-prog-array', 'a prog array cannot be looked up from a program', XDP, 'reject', ...lookup('progs'), ret(0)));
  const update = (val: Instruction[], valOff = -16, flags = 0): Instruction[] => [st.dw(10, -8, 0), ...val, ld.map_fd(1, 'hash'), alu64.mov.reg(2, 10), alu64.add.imm(2, -8), alu64.mov.reg(3, 10), alu64.add.imm(3, valOff), alu64.mov.imm(4, flags), call.helper('map_update_elem'), ...ret(0)];
  out.push(probe('helper/update-ok', 'update with key and value on the stack', XDP, 'accept', ...update([st.dw(10, -16, 0), st.dw(10, -24, 0)], -24)));
  out.push(probe('helper/update-value-uninit', 'update with an unwritten value', XDP, 'reject', ...update([], -24)));
  out.push(probe('helper/update-value-half', 'update with a half-written value', XDP, 'reject', ...update([st.dw(10, -16, 0)], -24)));
  out.push(probe('helper/update-no-flags', 'update without r4', XDP, 'reject', st.dw(10, -8, 0), st.dw(10, -16, 0), st.dw(10, -24, 0), ld.map_fd(1, 'hash'), alu64.mov.reg(2, 10), alu64.add.imm(2, -8), alu64.mov.reg(3, 10), alu64.add.imm(3, -24), call.helper('map_update_elem'), ...ret(0)));
  out.push(probe('helper/delete-ok', 'delete with the key on the stack', XDP, 'accept', st.dw(10, -8, 0), ld.map_fd(1, 'hash'), alu64.mov.reg(2, 10), alu64.add.imm(2, -8), call.helper('map_delete_elem'), ...ret(0)));
  // Memory + size pairs: bpf_csum_diff(from, from_size, to, to_size, seed).
  const csum = (size: Instruction, init: Instruction[] = [st.dw(10, -8, 0)]): Instruction[] => [...init, alu64.mov.reg(1, 10), alu64.add.imm(1, -8), size, alu64.mov.imm(3, 0), alu64.mov.imm(4, 0), alu64.mov.imm(5, 0), call.helper('csum_diff'), ...ret(0)];
  out.push(probe('helper/csum-size-8', 'memory + size inside the written stack', XDP, 'accept', ...csum(alu64.mov.imm(2, 8))));
  out.push(probe('helper/csum-size-0', 'a zero size with ARG_CONST_SIZE_OR_ZERO', XDP, 'accept', ...csum(alu64.mov.imm(2, 0))));
  out.push(probe('helper/csum-size-neg', 'a negative size', XDP, 'reject', ...csum(alu64.mov.imm(2, -8))));
  out.push(probe('helper/csum-size-16', 'a size past the frame', XDP, 'reject', ...csum(alu64.mov.imm(2, 16))));
  out.push(probe('helper/csum-uninit', 'memory never written', XDP, 'reject', ...csum(alu64.mov.imm(2, 8), [])));
  out.push(probe('helper/csum-size-unknown', 'an unbounded size', XDP, 'reject', ...csum(ldx.w(2, 1, 16))));
  out.push(probe('helper/csum-size-bounded', 'a size bounded by a mask', XDP, 'accept', st.dw(10, -8, 0), ldx.w(2, 1, 16), alu64.and.imm(2, 7), alu64.mov.reg(1, 10), alu64.add.imm(1, -8), alu64.mov.imm(3, 0), alu64.mov.imm(4, 0), alu64.mov.imm(5, 0), call.helper('csum_diff'), ...ret(0)));
  out.push(probe('helper/csum-size-uninit', 'the size register never written', XDP, 'reject', st.dw(10, -8, 0), alu64.mov.reg(1, 10), alu64.add.imm(1, -8), alu64.mov.imm(3, 0), alu64.mov.imm(4, 0), alu64.mov.imm(5, 0), call.helper('csum_diff'), ...ret(0)));
  // Program-type helper sets.
  out.push(probe('helper/xdp-skb-load-bytes', 'bpf_skb_load_bytes is not an XDP helper', XDP, 'reject', alu64.mov.imm(2, 0), alu64.mov.reg(3, 10), alu64.add.imm(3, -8), alu64.mov.imm(4, 8), call.helper('skb_load_bytes'), ...ret(0)));
  out.push(probe('helper/tc-skb-load-bytes', 'bpf_skb_load_bytes into uninitialised stack', TC, 'accept', alu64.mov.imm(2, 0), alu64.mov.reg(3, 10), alu64.add.imm(3, -8), alu64.mov.imm(4, 8), call.helper('skb_load_bytes'), ...ret(0)));
  out.push(probe('helper/tc-skb-load-bytes-0', 'bpf_skb_load_bytes of 0 bytes', TC, 'reject', alu64.mov.imm(2, 0), alu64.mov.reg(3, 10), alu64.add.imm(3, -8), alu64.mov.imm(4, 0), call.helper('skb_load_bytes'), ...ret(0)));
  out.push(probe('helper/tc-skb-load-bytes-big', 'bpf_skb_load_bytes past the buffer', TC, 'reject', alu64.mov.imm(2, 0), alu64.mov.reg(3, 10), alu64.add.imm(3, -8), alu64.mov.imm(4, 9), call.helper('skb_load_bytes'), ...ret(0)));
  out.push(probe('helper/tc-skb-load-bytes-ctx', 'bpf_skb_load_bytes needs the ctx in r1', TC, 'reject', alu64.mov.imm(1, 0), alu64.mov.imm(2, 0), alu64.mov.reg(3, 10), alu64.add.imm(3, -8), alu64.mov.imm(4, 8), call.helper('skb_load_bytes'), ...ret(0)));
  out.push(probe('helper/xdp-adjust-head', 'bpf_xdp_adjust_head(ctx, delta)', XDP, 'accept', alu64.mov.imm(2, 4), call.helper('xdp_adjust_head'), ...ret(0)));
  out.push(probe('helper/xdp-adjust-head-stale-pkt', 'packet pointers are invalid after adjust_head', XDP, 'reject', alu64.mov.reg(6, 1), ldx.w(7, 1, 0), ldx.w(8, 1, 4), alu64.mov.imm(2, 4), call.helper('xdp_adjust_head'), alu64.mov.reg(2, 7), alu64.add.imm(2, 1), jmp.jgt.reg(2, 8, 'out'), ldx.b(0, 7, 0), label('out'), ...ret(0)));
  out.push(probe('helper/unknown-id-0', 'helper id 0', XDP, 'reject', { code: 0x85, dst: 0, src: 0, off: 0, imm: 0 }, ...ret(0)));
  out.push(probe('helper/unknown-id-9999', 'helper id past the table', XDP, 'reject', { code: 0x85, dst: 0, src: 0, off: 0, imm: 9999 }, ...ret(0)));
  out.push(probe('helper/tracing-only', 'bpf_get_current_pid_tgid is not for XDP', XDP, 'reject', call.helper('get_current_pid_tgid'), ...ret(0)));
  out.push(probe('helper/ktime', 'bpf_ktime_get_ns needs no arguments', XDP, 'accept', call.helper('ktime_get_ns'), ...ret(0)));
  out.push(probe('helper/r0-scalar-after-call', 'a helper returning an integer leaves a scalar', XDP, 'reject', call.helper('ktime_get_ns'), ldx.b(1, 0, 0), ...ret(0)));
  out.push(probe('helper/redirect-map', 'bpf_redirect_map with a non-devmap is refused', XDP, 'reject', ld.map_fd(1, 'array'), alu64.mov.imm(2, 0), alu64.mov.imm(3, 0), call.helper('redirect_map'), ...ret(0)));
  return out;
}

/** Ring buffer reservations: reference tracking (leaks, double submits), null checks, bounds. */
export function ringbufPrograms(): CorpusProgram[] {
  const out: CorpusProgram[] = [];
  const reserve = (size: Instruction = alu64.mov.imm(2, 16)): Instruction[] => [ld.map_fd(1, 'ringbuf'), size, alu64.mov.imm(3, 0), call.helper('ringbuf_reserve')];
  const submit = (r: Reg, helper: 'ringbuf_submit' | 'ringbuf_discard' = 'ringbuf_submit'): Instruction[] => [alu64.mov.reg(1, r), alu64.mov.imm(2, 0), call.helper(helper)];
  out.push(probe('ringbuf/reserve-submit', 'reserve, null check, submit', XDP, 'accept', ...reserve(), jmp.jeq.imm(0, 0, 'out'), alu64.mov.reg(6, 0), st.dw(6, 0, 1), ...submit(6), label('out'), ...ret(0)));
  out.push(probe('ringbuf/reserve-discard', 'reserve, null check, discard', XDP, 'accept', ...reserve(), jmp.jeq.imm(0, 0, 'out'), ...submit(0, 'ringbuf_discard'), label('out'), ...ret(0)));
  out.push(probe('ringbuf/leak', 'a reservation never submitted', XDP, 'reject', ...reserve(), jmp.jeq.imm(0, 0, 'out'), st.dw(0, 0, 1), label('out'), ...ret(0)));
  out.push(probe('ringbuf/leak-one-path', 'a reservation submitted on one path only', XDP, 'reject', ...reserve(), jmp.jeq.imm(0, 0, 'out'), alu64.mov.reg(6, 0), ldx.w(1, 6, 0), jmp.jeq.imm(1, 0, 'out'), ...submit(6), label('out'), ...ret(0)));
  out.push(probe('ringbuf/double-submit', 'submitting a reservation twice', XDP, 'reject', ...reserve(), jmp.jeq.imm(0, 0, 'out'), alu64.mov.reg(6, 0), ...submit(6), ...submit(6), label('out'), ...ret(0)));
  out.push(probe('ringbuf/submit-then-write', 'writing after submit', XDP, 'reject', ...reserve(), jmp.jeq.imm(0, 0, 'out'), alu64.mov.reg(6, 0), ...submit(6), st.dw(6, 0, 1), label('out'), ...ret(0)));
  out.push(probe('ringbuf/submit-unchecked', 'submitting a maybe-NULL reservation', XDP, 'reject', ...reserve(), ...submit(0), ...ret(0)));
  out.push(probe('ringbuf/write-unchecked', 'writing a maybe-NULL reservation', XDP, 'reject', ...reserve(), st.dw(0, 0, 1), ...submit(0), ...ret(0)));
  out.push(probe('ringbuf/write-oob', 'writing past the reserved size', XDP, 'reject', ...reserve(), jmp.jeq.imm(0, 0, 'out'), alu64.mov.reg(6, 0), st.dw(6, 16, 1), ...submit(6), label('out'), ...ret(0)));
  out.push(probe('ringbuf/write-last', 'writing the last reserved bytes', XDP, 'accept', ...reserve(), jmp.jeq.imm(0, 0, 'out'), alu64.mov.reg(6, 0), st.dw(6, 8, 1), ...submit(6), label('out'), ...ret(0)));
  out.push(probe('ringbuf/size-unknown', 'reserving a size that is not a constant', XDP, 'reject', ...reserve(ldx.w(2, 1, 16)), jmp.jeq.imm(0, 0, 'out'), ...submit(0), label('out'), ...ret(0)));
  out.push(probe('ringbuf/submit-moved-ptr', 'submitting a pointer moved inside the record', XDP, 'reject', ...reserve(), jmp.jeq.imm(0, 0, 'out'), alu64.add.imm(0, 8), ...submit(0), label('out'), ...ret(0)));
  out.push(probe('ringbuf/submit-stack', 'submitting a stack pointer', XDP, 'reject', ...submit(10), ...ret(0)));
  out.push(probe('ringbuf/wrong-map', 'reserving from an array', XDP, 'reject', ld.map_fd(1, 'array'), alu64.mov.imm(2, 16), alu64.mov.imm(3, 0), call.helper('ringbuf_reserve'), ...ret(0)));
  out.push(probe('ringbuf/leak-via-spill', 'a spilled reservation still must be released', XDP, 'reject', ...reserve(), jmp.jeq.imm(0, 0, 'out'), stx.dw(10, -8, 0), label('out'), ...ret(0)));
  out.push(probe('ringbuf/submit-from-spill', 'submitting a filled spilled reservation', XDP, 'accept', ...reserve(), jmp.jeq.imm(0, 0, 'out'), stx.dw(10, -8, 0), ldx.dw(6, 10, -8), ...submit(6), label('out'), ...ret(0)));
  out.push(probe('ringbuf/output', 'bpf_ringbuf_output from the stack', XDP, 'accept', st.dw(10, -8, 0), ld.map_fd(1, 'ringbuf'), alu64.mov.reg(2, 10), alu64.add.imm(2, -8), alu64.mov.imm(3, 8), alu64.mov.imm(4, 0), call.helper('ringbuf_output'), ...ret(0)));
  return out;
}
