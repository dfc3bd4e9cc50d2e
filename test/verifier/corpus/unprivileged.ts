// Corpus: socket filter (and cgroup skb) programs probing the rules an unprivileged loader meets,
// in accepted/rejected pairs; the expected verdict is the kernel's as nobody (unpriv-oracle.ts).
import { type Instruction, type Reg, alu32, alu64, atomic, call, jmp, label, ld, ldx, st, stx } from '../../../src/isa/index.js';
import { BpfProgType } from '../../../src/isa/uapi.generated.js';
import { type CorpusProgram, SOCK, lookup, probe, ret } from './corpus-program.js';

const CGSKB = BpfProgType.CGROUP_SKB;

/** Pointer kinds for socket filters: instructions leaving the pointer in r6 (may branch to 'out'). */
const KINDS: Record<string, Instruction[]> = {
  ctx: [alu64.mov.reg(6, 1)],
  stack: [alu64.mov.reg(6, 10)],
  'map-value': [...lookup('array'), jmp.jeq.imm(0, 0, 'out'), alu64.mov.reg(6, 0)],
  'map-ptr': [ld.map_fd(6, 'array')],
};

/** A map value in r7 (branches to 'out' when the lookup fails). */
const value7 = (): Instruction[] => [...lookup('array'), jmp.jeq.imm(0, 0, 'out'), alu64.mov.reg(7, 0)];
/** r0 = an unknown scalar in [0, mask]. */
const unknown = (reg: Reg, mask: number): Instruction[] => [call.helper('get_prandom_u32'), alu64.and.imm(0, mask), alu64.mov.reg(reg, 0)];

/** Unprivileged probes (type SOCKET_FILTER unless the name says cgskb). */
export function unprivilegedPrograms(): CorpusProgram[] {
  const out: CorpusProgram[] = [];
  const p = (name: string, rule: string, intent: 'accept' | 'reject', ...items: (Instruction | ReturnType<typeof label> | Instruction[])[]): void => {
    out.push(probe(`unpriv/${name}`, rule, SOCK, intent, ...items));
  };
  // Returning a pointer.
  for (const [kind, setup] of Object.entries(KINDS)) {
    p(`return/${kind}`, `returning a ${kind} pointer leaks it`, 'reject', setup, alu64.mov.reg(0, 6), label('out'), call.helper('get_prandom_u32'), jmp.ja(1), alu64.mov.imm(0, 0), { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 });
    p(`return/${kind}-scalar`, `returning a scalar after holding a ${kind} pointer`, 'accept', setup, alu64.mov.imm(0, 1), label('out'), ret(0));
  }
  p('return/null-checked-value', 'returning a map value pointer that may be null', 'reject', lookup('array'), { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 });
  // Storing pointers to memory.
  for (const [kind, setup] of Object.entries(KINDS)) {
    if (kind === 'map-value') {
      p(`leak/${kind}-into-own-value`, 'storing a map value pointer into the map value', 'reject', setup, stx.dw(6, 0, 6), label('out'), ret(0));
      continue;
    }
    p(`leak/${kind}-into-map`, `storing a ${kind} pointer into a map value`, 'reject', value7(), setup, stx.dw(7, 0, 6), label('out'), ret(0));
    p(`leak/${kind}-into-ctx-cb`, `storing a ${kind} pointer into skb->cb`, 'reject', setup, stx.dw(1, 48, 6), label('out'), ret(0));
    p(`leak/${kind}-w-into-map`, `storing the low half of a ${kind} pointer into a map value`, 'reject', value7(), setup, stx.w(7, 0, 6), label('out'), ret(0));
  }
  p('leak/scalar-into-map', 'storing a scalar into a map value', 'accept', value7(), alu64.mov.imm(6, 5), stx.dw(7, 0, 6), label('out'), ret(0));
  p('leak/scalar-into-ctx-cb', 'storing a scalar into skb->cb', 'accept', alu64.mov.imm(6, 5), stx.w(1, 48, 6), ret(0));
  p('leak/atomic-xchg-pointer', 'atomic exchange of a pointer into a map value', 'reject', value7(), alu64.mov.reg(6, 10), atomic.dw.xchg(7, 0, 6), label('out'), ret(0));
  p('leak/atomic-add-pointer', 'atomic add of a pointer into a map value', 'reject', value7(), alu64.mov.reg(6, 10), atomic.dw.add(7, 0, 6), label('out'), ret(0));
  p('leak/atomic-add-scalar', 'atomic add of a scalar into a map value', 'accept', value7(), alu64.mov.imm(6, 1), atomic.dw.add(7, 0, 6), label('out'), ret(0));
  // Pointers handed to helpers.
  p('helper/update-value-with-spilled-ptr', 'map_update_elem reading a spilled pointer as the value', 'reject',
    st.dw(10, -8, 0), stx.dw(10, -56, 10), st.dw(10, -48, 0), st.dw(10, -40, 0), st.dw(10, -32, 0), st.dw(10, -24, 0), st.dw(10, -16, 0),
    ld.map_fd(1, 'array'), alu64.mov.reg(2, 10), alu64.add.imm(2, -8), alu64.mov.reg(3, 10), alu64.add.imm(3, -56), alu64.mov.imm(4, 0), call.helper('map_update_elem'), ret(0));
  p('helper/update-value-scalars', 'map_update_elem with an initialised scalar value', 'accept',
    st.dw(10, -8, 0), st.dw(10, -56, 0), st.dw(10, -48, 0), st.dw(10, -40, 0), st.dw(10, -32, 0), st.dw(10, -24, 0), st.dw(10, -16, 0),
    ld.map_fd(1, 'array'), alu64.mov.reg(2, 10), alu64.add.imm(2, -8), alu64.mov.reg(3, 10), alu64.add.imm(3, -56), alu64.mov.imm(4, 0), call.helper('map_update_elem'), ret(0));
  p('helper/update-value-from-map-value', 'map_update_elem with a map value as the value', 'accept',
    value7(), st.dw(10, -8, 0), ld.map_fd(1, 'array'), alu64.mov.reg(2, 10), alu64.add.imm(2, -8), alu64.mov.reg(3, 7), alu64.mov.imm(4, 0), call.helper('map_update_elem'), label('out'), ret(0));
  p('helper/lookup-uninit-key', 'map_lookup_elem with a key never written', 'reject', lookup('array', -8, false), ret(0));
  p('helper/lookup-half-init-key', 'hash lookup with half of the key written', 'reject', st.w(10, -8, 0), lookup('hash', -8, false), ret(0));
  p('helper/lookup-spilled-ptr-key', 'hash lookup with a spilled pointer as the key', 'reject', stx.dw(10, -8, 10), lookup('hash', -8, false), ret(0));
  p('helper/lookup-spilled-scalar-key', 'hash lookup with a spilled scalar as the key', 'accept', alu64.mov.imm(3, 1), stx.dw(10, -8, 3), lookup('hash', -8, false), ret(0));
  p('helper/skb-load-bytes', 'skb_load_bytes into the stack', 'accept', alu64.mov.imm(2, 0), alu64.mov.reg(3, 10), alu64.add.imm(3, -8), alu64.mov.imm(4, 8), call.helper('skb_load_bytes'), ret(0));
  p('helper/skb-load-bytes-to-ctx', 'skb_load_bytes into ctx', 'reject', alu64.mov.imm(2, 0), alu64.mov.reg(3, 1), alu64.mov.imm(4, 8), call.helper('skb_load_bytes'), ret(0));
  p('helper/anything-ptr', 'a pointer as map_update_elem flags (ARG_ANYTHING)', 'reject',
    st.dw(10, -8, 0), st.dw(10, -56, 0), st.dw(10, -48, 0), st.dw(10, -40, 0), st.dw(10, -32, 0), st.dw(10, -24, 0), st.dw(10, -16, 0),
    ld.map_fd(1, 'array'), alu64.mov.reg(2, 10), alu64.add.imm(2, -8), alu64.mov.reg(3, 10), alu64.add.imm(3, -56), alu64.mov.reg(4, 10), call.helper('map_update_elem'), ret(0));
  p('helper/skb-load-bytes-offset-ptr', 'a pointer as the skb_load_bytes offset', 'reject', alu64.mov.reg(2, 10), alu64.mov.reg(3, 10), alu64.add.imm(3, -8), alu64.mov.imm(4, 8), call.helper('skb_load_bytes'), ret(0));
  p('helper/tail-call-index-ptr', 'a pointer as the tail call index', 'reject', ld.map_fd(2, 'progs'), alu64.mov.reg(3, 10), call.helper('tail_call'), ret(0));
  // Speculative execution: dead branches and masking limits that differ between paths.
  p('spec/dead-branch-bad-read', 'an invalid ctx read behind a branch that is never taken', 'accept', alu64.mov.imm(0, 0), jmp.jne.imm(0, 0, 'bad'), ret(0), label('bad'), ldx.w(0, 1, 76), ret(0));
  p('spec/dead-branch-leak', 'a pointer return behind a branch that is never taken', 'accept', alu64.mov.imm(0, 0), jmp.jne.imm(0, 0, 'bad'), ret(0), label('bad'), alu64.mov.reg(0, 10), { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 });
  p('spec/dead-branch-oob-map', 'an out-of-bounds map read behind a branch that is never taken', 'accept', value7(), alu64.mov.imm(0, 0), jmp.jne.imm(0, 0, 'bad'), ret(0), label('bad'), ldx.w(0, 7, 60), label('out'), ret(0));
  const pad = (): Instruction[] => Array.from({ length: 10 }, () => alu64.mov.imm(5, 0));
  for (const [a, b] of [[7, 15], [15, 7], [7, 7]] as const) {
    p(`spec/var-limit-paths-${a}-${b}`, `map value + [0,${a}] or [0,${b}] depending on the path`, a === b ? 'accept' : 'reject',
      value7(), call.helper('get_prandom_u32'), alu64.mov.reg(6, 0), call.helper('get_prandom_u32'), alu64.mov.reg(8, 0), alu64.and.imm(8, a), jmp.jgt.imm(6, 100, 'join'), alu64.mov.reg(8, 0), alu64.and.imm(8, b),
      label('join'), ...pad(), jmp.ja('j2'), label('j2'), ...pad(), alu64.add.reg(7, 8), ldx.b(0, 7, 0), label('out'), ret(0));
  }
  p('spec/const-limit-paths-pruned', 'map value + 4 or + 40 with a pruning point in between', 'reject',
    value7(), call.helper('get_prandom_u32'), alu64.mov.reg(6, 0), alu64.mov.imm(9, 4), jmp.jgt.imm(6, 100, 'join'), alu64.mov.imm(9, 40),
    label('join'), ...pad(), jmp.ja('j2'), label('j2'), ...pad(), alu64.add.reg(7, 9), ldx.b(0, 7, 0), label('out'), ret(0));
  p('spec/scalar-or-pointer-paths', 'one instruction adding to a pointer on one path and a scalar on the other', 'reject',
    value7(), call.helper('get_prandom_u32'), alu64.mov.reg(6, 0), alu64.mov.reg(8, 7), jmp.jgt.imm(6, 100, 'join'), alu64.mov.imm(8, 0),
    label('join'), alu64.mov.imm(9, 4), alu64.add.reg(8, 9), label('out'), ret(0));
  // Helper availability for unprivileged socket filters.
  const helpers: [Parameters<typeof call.helper>[0], Instruction[]][] = [
    ['get_prandom_u32', []], ['ktime_get_ns', []], ['get_smp_processor_id', []], ['get_socket_cookie', []], ['get_socket_uid', []],
    ['ktime_get_boot_ns', []], ['jiffies64', []], ['trace_printk', [alu64.mov.reg(1, 10), alu64.add.imm(1, -8), st.dw(10, -8, 0), alu64.mov.imm(2, 8)]],
    ['probe_read_kernel', [alu64.mov.reg(1, 10), alu64.add.imm(1, -8), alu64.mov.imm(2, 8), alu64.mov.imm(3, 0)]],
    ['get_current_pid_tgid', []], ['get_numa_node_id', []], ['ktime_get_coarse_ns', []], ['get_current_task', []], ['spin_lock', []],
    ['loop', [alu64.mov.imm(1, 1), alu64.mov.imm(2, 0), alu64.mov.imm(3, 0), alu64.mov.imm(4, 0)]],
    ['strtol', []], ['snprintf', []], ['ringbuf_query', []], ['timer_init', []], ['get_func_ip', []], ['per_cpu_ptr', []], ['this_cpu_ptr', []],
    ['strncmp', []], ['kptr_xchg', []], ['for_each_map_elem', []], ['dynptr_from_mem', []], ['probe_read_user', []], ['snprintf_btf', []],
    ['trace_vprintk', []], ['get_current_task_btf', []], ['spin_unlock', []], ['timer_start', []], ['ringbuf_output', []], ['map_push_elem', []],
    ['skb_load_bytes_relative', []], ['get_hash_recalc', []], ['perf_event_output', []], ['sk_storage_get', []], ['skb_pull_data', []],
  ];
  for (const [h, args] of helpers) p(`helper-avail/${h}`, `calling ${h} from an unprivileged socket filter`, 'reject', args, call.helper(h), ret(0));
  // Pointer arithmetic.
  const ops = ['add', 'sub', 'mul', 'or', 'and', 'xor', 'lsh', 'rsh', 'neg'] as const;
  for (const [kind, setup] of Object.entries(KINDS)) {
    for (const op of ops) {
      const insn = op === 'neg' ? alu64.neg(6) : alu64[op].imm(6, 8);
      const accept = (op === 'add' || op === 'sub') && kind !== 'map-ptr';
      p(`ptr-alu/${kind}/${op}-imm`, `${op} of a constant on a ${kind} pointer`, accept ? 'accept' : 'reject', setup, insn, label('out'), ret(0));
    }
    p(`ptr-alu/${kind}/add-reg-const`, `adding a known-constant register to a ${kind} pointer`, kind === 'map-ptr' ? 'reject' : 'accept', setup, alu64.mov.imm(8, 8), alu64.add.reg(6, 8), label('out'), ret(0));
    p(`ptr-alu/${kind}/add-reg-var`, `adding an unknown bounded scalar to a ${kind} pointer`, kind === 'map-value' ? 'accept' : 'reject', setup, unknown(8, 7), alu64.add.reg(6, 8), label('out'), ret(0));
    p(`ptr-alu/${kind}/sub-ptr`, `subtracting two ${kind} pointers`, 'reject', setup, alu64.mov.reg(8, 6), alu64.sub.reg(6, 8), alu64.mov.reg(0, 6), label('out'), ret(0));
    p(`ptr-alu/${kind}/scalar-minus-ptr`, `scalar minus a ${kind} pointer`, 'reject', setup, alu64.mov.imm(8, 8), alu64.sub.reg(8, 6), label('out'), ret(0));
    p(`ptr-alu/${kind}/alu32-add`, `32-bit add on a ${kind} pointer`, 'reject', setup, alu32.add.imm(6, 8), label('out'), ret(0));
  }
  p('ptr-alu/stack/var-read', 'reading the stack at a variable offset', 'reject', st.dw(10, -16, 0), st.dw(10, -8, 0), unknown(8, 7), alu64.mov.reg(6, 10), alu64.add.imm(6, -16), alu64.add.reg(6, 8), ldx.b(0, 6, 0), ret(0));
  p('ptr-alu/stack/const-read', 'reading the stack through r10 + constant', 'accept', st.dw(10, -16, 0), alu64.mov.reg(6, 10), alu64.add.imm(6, -16), ldx.dw(0, 6, 0), ret(0));
  p('ptr-alu/stack/out-of-frame-const', 'stack pointer moved out of the frame, not used', 'reject', alu64.mov.reg(6, 10), alu64.add.imm(6, -600), ret(0));
  p('ptr-alu/stack/above-frame-const', 'stack pointer moved above r10, not used', 'reject', alu64.mov.reg(6, 10), alu64.add.imm(6, 16), ret(0));
  p('ptr-alu/map-value/oob-const', 'map value pointer moved past the value, not used', 'reject', value7(), alu64.add.imm(7, 64), label('out'), ret(0));
  p('ptr-alu/map-value/neg-const', 'map value pointer moved before the value, not used', 'reject', value7(), alu64.add.imm(7, -8), label('out'), ret(0));
  p('ptr-alu/map-value/end-const', 'map value pointer moved to its end, not used', 'accept', value7(), alu64.add.imm(7, 48), label('out'), ret(0));
  p('ptr-alu/map-value/var-in-range-read', 'map value + [0,7] then read', 'accept', value7(), unknown(8, 7), alu64.add.reg(7, 8), ldx.b(0, 7, 0), label('out'), ret(0));
  p('ptr-alu/map-value/var-oob', 'map value + [0,63] (may leave the value)', 'reject', value7(), unknown(8, 63), alu64.add.reg(7, 8), label('out'), ret(0));
  p('ptr-alu/map-value/var-unbounded', 'map value + an unbounded scalar', 'reject', value7(), call.helper('get_prandom_u32'), alu64.add.reg(7, 0), label('out'), ret(0));
  p('ptr-alu/map-value/var-signed', 'map value + a scalar that may be negative', 'reject', value7(), call.helper('get_prandom_u32'), alu64.and.imm(0, 7), alu64.sub.imm(0, 4), alu64.add.reg(7, 0), label('out'), ret(0));
  p('ptr-alu/map-value/var-sub', 'map value + 8 - [0,7]', 'accept', value7(), alu64.add.imm(7, 8), unknown(8, 7), alu64.sub.reg(7, 8), ldx.b(0, 7, 0), label('out'), ret(0));
  p('ptr-alu/map-value/spectre-paths', 'map value + a scalar whose bounds depend on the path', 'reject',
    value7(), call.helper('get_prandom_u32'), alu64.mov.reg(8, 0), alu64.mov.imm(9, 4), jmp.jgt.imm(8, 100, 'big'), alu64.mov.imm(9, 40), label('big'),
    alu64.add.reg(7, 9), ldx.b(0, 7, 0), label('out'), ret(0));
  p('ptr-alu/map-value/spectre-paths-same', 'map value + a scalar of the same constant on both paths', 'accept',
    value7(), call.helper('get_prandom_u32'), alu64.mov.reg(8, 0), alu64.mov.imm(9, 4), jmp.jgt.imm(8, 100, 'big'), alu64.mov.imm(9, 4), label('big'),
    alu64.add.reg(7, 9), ldx.b(0, 7, 0), label('out'), ret(0));
  p('ptr-alu/ctx/add-then-read', 'reading ctx through a moved pointer', 'reject', alu64.add.imm(1, 4), ldx.w(0, 1, 0), ret(0));
  // Pointer comparisons.
  for (const [kind, setup] of Object.entries(KINDS)) {
    p(`cmp/${kind}-imm`, `comparing a ${kind} pointer with a constant`, 'reject', setup, jmp.jeq.imm(6, 0, 'out'), label('out'), ret(0));
    p(`cmp/${kind}-ptr`, `comparing a ${kind} pointer with another pointer`, 'reject', setup, jmp.jgt.reg(6, 10, 'out'), label('out'), ret(0));
    p(`cmp/${kind}-scalar-reg`, `comparing a ${kind} pointer with a scalar register`, 'reject', setup, alu64.mov.imm(8, 1), jmp.jne.reg(6, 8, 'out'), label('out'), ret(0));
    p(`cmp/${kind}-jmp32`, `32-bit comparison of a ${kind} pointer`, 'reject', setup, jmp32Jeq(6), label('out'), ret(0));
  }
  p('cmp/null-check', 'null check of map_value_or_null', 'accept', lookup('array'), jmp.jeq.imm(0, 0, 'out'), label('out'), ret(0));
  p('cmp/null-check-jne', 'jne null check of map_value_or_null', 'accept', lookup('array'), jmp.jne.imm(0, 0, 'out'), label('out'), ret(0));
  p('cmp/null-check-nonzero', 'comparing map_value_or_null with 1', 'reject', lookup('array'), jmp.jeq.imm(0, 1, 'out'), label('out'), ret(0));
  p('cmp/scalar', 'comparing scalars', 'accept', call.helper('get_prandom_u32'), jmp.jeq.imm(0, 1, 'out'), label('out'), ret(0));
  // Stack reads.
  for (const [s, off] of [['b', -1], ['h', -2], ['w', -4], ['dw', -8]] as const) {
    p(`stack/read-uninit-${s}`, 'reading a stack slot never written', 'reject', ldx[s](0, 10, off), ret(0));
    p(`stack/read-init-${s}`, 'reading a written stack slot', 'accept', st.dw(10, -8, 0), ldx[s](0, 10, off), ret(0));
  }
  p('stack/read-partial-init', 'dw read of a slot with 4 bytes written', 'reject', st.w(10, -8, 1), ldx.dw(0, 10, -8), ret(0));
  p('stack/read-half-spilled-ptr', '4-byte read of a spilled pointer', 'reject', stx.dw(10, -8, 10), ldx.w(0, 10, -8), ret(0));
  p('stack/read-spilled-ptr', 'filling a spilled pointer', 'accept', stx.dw(10, -8, 10), ldx.dw(6, 10, -8), ret(0));
  p('stack/corrupt-spilled-ptr', 'byte store over a spilled pointer', 'reject', stx.dw(10, -8, 10), st.b(10, -8, 0), ret(0));
  p('stack/overwrite-spilled-ptr', 'dw store over a spilled pointer', 'accept', stx.dw(10, -8, 10), st.dw(10, -8, 0), ldx.dw(0, 10, -8), ret(0));
  p('stack/spill-scalar-read-half', '4-byte read of a spilled scalar', 'accept', call.helper('get_prandom_u32'), stx.dw(10, -8, 0), ldx.w(0, 10, -8), ret(0));
  p('stack/spill-ctx-half-store', '4-byte store of a ctx pointer on the stack', 'reject', stx.w(10, -8, 1), ret(0));
  // Back-edges and loops.
  p('loop/bounded', 'a bounded loop (back-edge)', 'reject', alu64.mov.imm(0, 0), label('top'), alu64.add.imm(0, 1), jmp.jlt.imm(0, 4, 'top'), ret(0));
  p('loop/forward-only', 'forward jumps only', 'accept', alu64.mov.imm(0, 0), jmp.ja('a'), label('a'), jmp.jlt.imm(0, 4, 'b'), label('b'), ret(0));
  p('loop/self', 'a jump to itself', 'reject', { code: 0x05, dst: 0, src: 0, off: -1, imm: 0 }, ret(0));
  p('loop/bpf-to-bpf-call', 'a bpf-to-bpf call', 'reject', call.func('f'), ret(0), label('f'), alu64.mov.imm(0, 0), { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 });
  p('loop/may-goto', 'may_goto', 'reject', alu64.mov.imm(0, 0), { code: 0xe5, dst: 0, src: 0, off: 0, imm: 0 }, ret(0));
  // Sign extension and partial copies of pointers.
  for (const [kind, setup] of Object.entries(KINDS)) {
    p(`copy/${kind}-mov32`, `32-bit copy of a ${kind} pointer`, 'reject', setup, alu32.mov.reg(8, 6), label('out'), ret(0));
    p(`copy/${kind}-movsx32`, `sign-extending copy of a ${kind} pointer`, 'reject', setup, alu64.movsx32(8, 6), label('out'), ret(0));
    p(`copy/${kind}-movsx8`, `8-bit sign-extending copy of a ${kind} pointer`, 'reject', setup, alu64.movsx8(8, 6), label('out'), ret(0));
    p(`copy/${kind}-mov64`, `full copy of a ${kind} pointer`, 'accept', setup, alu64.mov.reg(8, 6), label('out'), ret(0));
  }
  // Division and shifts (the same rules as root: run-time semantics).
  p('div/by-zero-reg', 'division by a register that may be zero', 'accept', call.helper('get_prandom_u32'), alu64.mov.imm(1, 10), alu64.div.reg(1, 0), ret(0));
  p('div/by-zero-imm', 'division by the constant zero', 'reject', alu64.mov.imm(1, 10), alu64.div.imm(1, 0), ret(0));
  p('shift/64', 'shift by 64', 'reject', alu64.mov.imm(1, 10), alu64.lsh.imm(1, 64), ret(0));
  p('shift/var', 'shift by an unknown amount', 'accept', call.helper('get_prandom_u32'), alu64.mov.imm(1, 10), alu64.lsh.reg(1, 0), ret(0));
  // Misc.
  p('misc/uninit-r0', 'exit without setting r0', 'reject', { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 });
  p('misc/dead-code', 'unreachable code behind a constant branch', 'accept', alu64.mov.imm(0, 0), jmp.jeq.imm(0, 0, 'x'), alu64.mov.reg(0, 10), label('x'), ret(0));
  p('misc/map-value-direct', 'ld_imm64 of a map value address', 'accept', ld.map_value(6, 'global', 0), ldx.w(0, 6, 0), ret(0));
  p('misc/map-value-direct-leak', 'returning ld_imm64 of a map value address', 'reject', ld.map_value(0, 'global', 0), { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 });
  p('misc/ctx-data-read', 'socket filters cannot read skb->data', 'reject', ldx.w(0, 1, 76), ret(0));
  p('misc/ctx-len-read', 'reading skb->len', 'accept', ldx.w(0, 1, 0), ret(0));
  p('misc/ctx-cb-write', 'writing skb->cb', 'accept', st.w(1, 48, 1), ret(0));
  p('misc/ctx-mark-write', 'socket filters cannot write skb->mark', 'reject', st.w(1, 8, 1), ret(0));
  p('misc/tail-call', 'tail call through a prog array', 'accept', ld.map_fd(2, 'progs'), alu64.mov.imm(3, 0), call.helper('tail_call'), ret(0));
  // cgroup skb.
  out.push(probe('unpriv/cgskb/ret-1', 'cgroup skb returning 1', CGSKB, 'accept', ret(1)));
  out.push(probe('unpriv/cgskb/ret-2', 'cgroup skb (ingress) returning 2', CGSKB, 'reject', ret(2)));
  out.push(probe('unpriv/cgskb/ret-unknown', 'cgroup skb returning skb->len', CGSKB, 'reject', ldx.w(0, 1, 0), { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }));
  out.push(probe('unpriv/cgskb/ret-masked', 'cgroup skb returning skb->len & 1', CGSKB, 'accept', ldx.w(0, 1, 0), alu64.and.imm(0, 1), { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }));
  out.push(probe('unpriv/cgskb/ret-paths', 'cgroup skb returning 0 or 2 depending on the path', CGSKB, 'reject',
    ldx.w(6, 1, 0), alu64.mov.imm(0, 0), jmp.jgt.imm(6, 5, 'o'), alu64.mov.imm(0, 2), label('o'), ...Array.from({ length: 10 }, () => alu64.mov.imm(5, 0)), { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }));
  out.push(probe('unpriv/cgskb/ret-ptr', 'cgroup skb returning a pointer', CGSKB, 'reject', alu64.mov.reg(0, 10), { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }));
  out.push(probe('unpriv/cgskb/ptr-cmp', 'cgroup skb comparing a pointer', CGSKB, 'reject', jmp.jeq.imm(1, 0, 'o'), label('o'), ret(1)));
  out.push(probe('unpriv/cgskb/data-read', 'cgroup skb reading skb->data', CGSKB, 'accept', ldx.w(2, 1, 76), ldx.w(3, 1, 80), alu64.mov.reg(4, 2), alu64.add.imm(4, 1), jmp.jgt.reg(4, 3, 'o'), ldx.b(0, 2, 0), label('o'), ret(1)));
  out.push(probe('unpriv/cgskb/ctx-ptr-leak', 'cgroup skb storing the ctx pointer into a map', CGSKB, 'reject', alu64.mov.reg(6, 1), value7(), stx.dw(7, 0, 6), label('out'), ret(1)));
  out.push(probe('unpriv/cgskb/map-scalar', 'cgroup skb storing a scalar into a map', CGSKB, 'accept', value7(), st.dw(7, 0, 1), label('out'), ret(1)));
  return out;
}

function jmp32Jeq(reg: number): Instruction {
  return { code: 0x16, dst: reg, src: 0, off: 0, imm: 0 };
}
