// Corpus: regression shapes of four verifier CVEs, written from their descriptions. A bpfkit
// verdict looser than the kernel's on any of these fails the agreement test outright.
//
// CVE-2021-3490  64-bit AND/OR/XOR whose operands have known low 32 bits left the 32-bit bounds stale.
// CVE-2020-8835  a JMP32 comparison refined the 64-bit tnum from 32-bit bounds (__reg_bound_offset32).
// CVE-2021-31440 32-bit bounds were derived from 64-bit bounds that straddle a 2^32 boundary.
// CVE-2022-23222 arithmetic on *_OR_NULL pointers before the null check.
import { type Instruction, alu32, alu64, call, jmp, jmp32, label, ld, ldx, st } from '../../../src/isa/index.js';
import { type CorpusProgram, type Step, TC, XDP, lookup, probe, ret } from './corpus-program.js';

/** r6 = array value (null-checked), r1 = value[0], r2 = value[8]: two unknown 64-bit scalars. */
const unknowns = (): Instruction[] => [...lookup('array'), jmp.jeq.imm(0, 0, 'out'), alu64.mov.reg(6, 0), ldx.dw(1, 6, 0), ldx.dw(2, 6, 8)];
/** r6 += r1; r0 = *(u64 *)(r6 + 0) — the access that faults if r1's bounds are wrong. */
const use = (size: 'b' | 'dw' = 'dw'): Step[] => [alu64.add.reg(6, 1), ldx[size](0, 6, 0), label('out'), ...ret(0)];

/** The CVE shapes. */
export function cvePrograms(): CorpusProgram[] {
  const out: CorpusProgram[] = [];
  // --- CVE-2021-3490: known low halves, unknown high halves, 64-bit bitwise op, then 32-bit use.
  const hi = [ld.imm64(3, 0xffffffff00000000n)];
  for (const op of ['and', 'or', 'xor'] as const) {
    for (const [k, m] of [[41, 43], [8, 8], [1, 0x28]] as const) {
      const val = op === 'and' ? k & m : op === 'or' ? k | m : k ^ m;
      const known = [...hi, alu64.and.reg(1, 3), alu64.or.imm(1, k), alu64.and.reg(2, 3), alu64.or.imm(2, m), alu64[op].reg(1, 2)];
      out.push({ ...probe(`cve-2021-3490/${op}-${k}-${m}-w-offset`, `64-bit ${op} of known low halves, used as a 32-bit offset (${val})`, XDP, val + 8 <= 48 ? 'accept' : 'reject', ...unknowns(), ...known, alu32.mov.reg(1, 1), ...use()), cve: 'CVE-2021-3490' });
      out.push({ ...probe(`cve-2021-3490/${op}-${k}-${m}-w-bound`, `64-bit ${op} of known low halves, then a 32-bit bound`, XDP, 'accept', ...unknowns(), ...known, alu32.mov.reg(1, 1), jmp32.jgt.imm(1, 40, 'out'), ...use()), cve: 'CVE-2021-3490' });
      out.push({ ...probe(`cve-2021-3490/${op}-${k}-${m}-64-offset`, `64-bit ${op} of known low halves, used as a 64-bit offset`, XDP, 'reject', ...unknowns(), ...known, ...use()), cve: 'CVE-2021-3490' });
      out.push({ ...probe(`cve-2021-3490/${op}32-${k}-${m}-add`, `32-bit ${op} then arithmetic on the known result`, XDP, 'accept', ...unknowns(), ...known, alu32[op].reg(1, 2), alu32.add.imm(1, 1), alu32.and.imm(1, 31), ...use()), cve: 'CVE-2021-3490' });
    }
  }
  // --- CVE-2020-8835: u64 >= 1 and w1 <= 1 says nothing about r1's upper half.
  for (const [name, bound] of [
    ['jgt-1', [jmp32.jgt.imm(1, 1, 'out')]],
    ['jge-2', [jmp32.jge.imm(1, 2, 'out')]],
    ['jlt-2', [jmp32.jlt.imm(1, 2, 'in'), ...ret(0), label('in'), alu64.mov.reg(1, 1)]],
    ['jle-1', [jmp32.jle.imm(1, 1, 'in'), ...ret(0), label('in'), alu64.mov.reg(1, 1)]],
    ['jsgt-1', [jmp32.jsgt.imm(1, 1, 'out'), jmp32.jslt.imm(1, 0, 'out')]],
    ['reg-jgt-1', [alu64.mov.imm(3, 1), jmp32.jgt.reg(1, 3, 'out')]],
  ] as [string, Step[]][]) {
    for (const sh of [5, 6]) {
      out.push({ ...probe(`cve-2020-8835/${name}-shl${sh}`, `64-bit umin 1 with a JMP32 bound, low half used shifted by ${sh}`, XDP, sh === 5 ? 'accept' : 'reject',
        ...unknowns(), jmp.jlt.imm(1, 1, 'out'), ...bound, alu32.mov.reg(1, 1), alu64.xor.imm(1, 1), alu64.lsh.imm(1, sh), ...use()), cve: 'CVE-2020-8835' });
    }
    out.push({ ...probe(`cve-2020-8835/${name}-upper`, 'the upper half stays unknown after a JMP32 bound', XDP, 'reject',
      ...unknowns(), jmp.jlt.imm(1, 1, 'out'), ...bound, alu64.rsh.imm(1, 32), ...use('b')), cve: 'CVE-2020-8835' });
  }
  // --- CVE-2021-31440: 64-bit bounds straddling 2^32; the low half is then any u32.
  const straddle = (lo: bigint, hiB: bigint): Instruction[] => [ld.imm64(3, lo), jmp.jlt.reg(1, 3, 'out'), ld.imm64(3, hiB), jmp.jgt.reg(1, 3, 'out')];
  for (const [name, range] of [
    ['u-straddle', straddle(0xfffffff0n, 0x100000010n)],
    ['u-within', straddle(0x100000000n, 0x100000010n)],
    ['s-straddle', [jmp.jslt.imm(1, -16, 'out'), jmp.jsgt.imm(1, 16, 'out')]],
    ['s-positive', [jmp.jslt.imm(1, 0, 'out'), jmp.jsgt.imm(1, 16, 'out')]],
  ] as [string, Step[]][]) {
    const safe = name === 'u-within' || name === 's-positive';
    out.push({ ...probe(`cve-2021-31440/${name}-w`, '32-bit truncation of a 64-bit range', XDP, safe ? 'accept' : 'reject', ...unknowns(), ...range, alu32.mov.reg(1, 1), ...use('b')), cve: 'CVE-2021-31440' });
    out.push({ ...probe(`cve-2021-31440/${name}-w-bounded`, '32-bit truncation then a JMP32 bound', XDP, 'accept', ...unknowns(), ...range, alu32.mov.reg(1, 1), jmp32.jgt.imm(1, 40, 'out'), ...use('dw')), cve: 'CVE-2021-31440' });
    out.push({ ...probe(`cve-2021-31440/${name}-w-signed`, '32-bit truncation then a signed JMP32 bound only', XDP, 'reject', ...unknowns(), ...range, alu32.mov.reg(1, 1), jmp32.jsgt.imm(1, 40, 'out'), ...use('b')), cve: 'CVE-2021-31440' });
    out.push({ ...probe(`cve-2021-31440/${name}-add32`, '32-bit add on a straddling range', XDP, safe ? 'accept' : 'reject', ...unknowns(), ...range, alu32.add.imm(1, 0), ...use('b')), cve: 'CVE-2021-31440' });
  }
  // --- CVE-2022-23222: arithmetic on *_or_null pointers.
  const nullArith: [string, Instruction[]][] = [
    ['add-imm', [alu64.add.imm(0, 8)]],
    ['add-reg', [alu64.mov.imm(1, 8), alu64.add.reg(0, 1)]],
    ['sub-imm', [alu64.sub.imm(0, -8)]],
    ['add32', [alu32.add.imm(0, 8)]],
    ['copy-add', [alu64.mov.reg(7, 0), alu64.add.imm(7, 8), alu64.mov.reg(0, 7)]],
    ['add-zero', [alu64.add.imm(0, 0)]],
  ];
  for (const [name, arith] of nullArith) {
    out.push({ ...probe(`cve-2022-23222/map-${name}`, 'arithmetic on map_value_or_null before the null check', XDP, 'reject', ...lookup(), ...arith, jmp.jeq.imm(0, 0, 'out'), ldx.dw(1, 0, 0), label('out'), ...ret(0)), cve: 'CVE-2022-23222' });
    out.push({ ...probe(`cve-2022-23222/map-${name}-after-check`, 'the same arithmetic after the null check', XDP, 'accept', ...lookup(), jmp.jeq.imm(0, 0, 'out'), ...arith.filter((i) => i.code !== 0x04), ldx.b(1, 0, 0), label('out'), ...ret(0)), cve: 'CVE-2022-23222' });
    out.push({ ...probe(`cve-2022-23222/ringbuf-${name}`, 'arithmetic on ringbuf_mem_or_null before the null check', XDP, 'reject',
      ld.map_fd(1, 'ringbuf'), alu64.mov.imm(2, 16), alu64.mov.imm(3, 0), call.helper('ringbuf_reserve'), ...arith, jmp.jeq.imm(0, 0, 'out'), st.b(0, 0, 1), alu64.mov.reg(1, 0), alu64.mov.imm(2, 0), call.helper('ringbuf_discard'), label('out'), ...ret(0)), cve: 'CVE-2022-23222' });
  }
  out.push({ ...probe('cve-2022-23222/sk-add', 'arithmetic on skb->sk (sock_common_or_null)', TC, 'reject', ldx.dw(2, 1, 168), alu64.add.imm(2, 8), jmp.jeq.imm(2, 0, 'out'), ldx.w(0, 2, 0), label('out'), ...ret(0)), cve: 'CVE-2022-23222' });
  out.push({ ...probe('cve-2022-23222/sk-checked', 'skb->sk null-checked then read', TC, 'accept', ldx.dw(2, 1, 168), jmp.jeq.imm(2, 0, 'out'), ldx.w(0, 2, 4), label('out'), ...ret(0)), cve: 'CVE-2022-23222' });
  return out;
}
