// The printer: the spellings of both syntaxes pinned on examples, callbacks, fallbacks, listings.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { disassemble, formatInstruction, type FormatOptions } from '../../src/asm/index.js';
import { alu32, alu64, atomic, call, end, exit, jmp, jmp32, label, ld, ldx, ldxs, program, st, stx } from '../../src/isa/builder.js';
import type { Instruction } from '../../src/isa/instruction.js';
import { r0, r1, r2, r6, r9, r10 } from '../../src/isa/instruction.js';

const llvm = (i: Instruction, o: FormatOptions = {}): string => formatInstruction(i, o);
const dec = (i: Instruction): string => formatInstruction(i, { hex: false });
const kern = (i: Instruction, o: FormatOptions = {}): string => formatInstruction(i, { ...o, syntax: 'kernel' });

describe('llvm syntax', () => {
  it('prints what llvm-objdump prints, hex by default and decimal on request', () => {
    const cases: [Instruction, string, string][] = [
      [alu64.mov.imm(r0, 2), 'r0 = 0x2', 'r0 = 2'],
      [alu32.add.reg(r1, r2), 'w1 += w2', 'w1 += w2'],
      [jmp.jgt.reg(r1, r2, 3), 'if r1 > r2 goto +0x3', 'if r1 > r2 goto +3'],
      [jmp32.jsgt.imm(r1, -1, -2), 'if w1 s> -0x1 goto -0x2', 'if w1 s> -1 goto -2'],
      [stx.w(r10, -4, r1), '*(u32 *)(r10 - 0x4) = r1', '*(u32 *)(r10 - 4) = r1'],
      [ld.imm64(r1, 0), 'r1 = 0x0 ll', 'r1 = 0 ll'],
      [call.helper(1), 'call 0x1', 'call 1'],
      [exit(), 'exit', 'exit'],
      [atomic.w.add(r1, 0, r2), 'lock *(u32 *)(r1 + 0x0) += r2', 'lock *(u32 *)(r1 + 0) += r2'],
      [atomic.dw.fetch_add(r1, 0, r2), 'r2 = atomic_fetch_add((u64 *)(r1 + 0x0), r2)', 'r2 = atomic_fetch_add((u64 *)(r1 + 0), r2)'],
      [atomic.dw.cmpxchg(r1, 0, r2), 'r0 = cmpxchg_64(r1 + 0x0, r0, r2)', 'r0 = cmpxchg_64(r1 + 0, r0, r2)'],
      [atomic.w.xchg(r1, 8, r2), 'w2 = xchg32_32(r1 + 0x8, w2)', 'w2 = xchg32_32(r1 + 8, w2)'],
      [ld.abs.h(12), 'r0 = *(u16 *)skb[0xc]', 'r0 = *(u16 *)skb[12]'],
      [ld.ind.b(r2, 0), 'r0 = *(u8 *)skb[r2]', 'r0 = *(u8 *)skb[r2]'],
      [end.be16(r1), 'r1 = be16 r1', 'r1 = be16 r1'],
      [alu64.sdiv.reg(r1, r2), 'r1 s/= r2', 'r1 s/= r2'],
      [alu32.smod.imm(r1, 3), 'w1 s%= 0x3', 'w1 s%= 3'],
      [alu64.movsx8(r1, r2), 'r1 = (s8)r2', 'r1 = (s8)r2'],
      [ldxs.b(r1, r2, 0), 'r1 = *(s8 *)(r2 + 0x0)', 'r1 = *(s8 *)(r2 + 0)'],
      [alu64.bswap16(r1), 'r1 = bswap16 r1', 'r1 = bswap16 r1'],
      [jmp32.ja(100000), 'gotol +0x186a0', 'gotol +100000'],
      [atomic.dw.load_acq(r0, r1, 0), 'r0 = load_acquire((u64 *)(r1 + 0x0))', 'r0 = load_acquire((u64 *)(r1 + 0))'],
      [atomic.b.store_rel(r1, 0, r2), 'store_release((u8 *)(r1 + 0x0), w2)', 'store_release((u8 *)(r1 + 0), w2)'],
      [jmp.may_goto(5), 'may_goto +0x5', 'may_goto +5'],
      [alu64.addr_space_cast(r1, r2, 1, 0), 'r1 = addr_space_cast(r2, 0x1, 0x0)', 'r1 = addr_space_cast(r2, 1, 0)'],
      [st.w(r10, -8, 7), '*(u32 *)(r10 - 0x8) = 0x7', '*(u32 *)(r10 - 8) = 7'],
      [call.func(-1), 'call pc-0x1', 'call pc-1'],
    ];
    for (const [insn, h, d] of cases) {
      assert.equal(llvm(insn), h);
      assert.equal(dec(insn), d);
    }
  });

  it('uses w registers for sub-64-bit memory operations with alu32', () => {
    assert.equal(llvm(ldx.w(r2, r1, 4), { alu32: true }), 'w2 = *(u32 *)(r1 + 0x4)');
    assert.equal(llvm(ldx.dw(r2, r1, 4), { alu32: true }), 'r2 = *(u64 *)(r1 + 0x4)');
  });

  it('prints <unknown> for invalid encodings, never a guess', () => {
    assert.equal(llvm({ code: 0xff, dst: 0, src: 0, off: 0, imm: 0 }), '<unknown>');
    assert.equal(llvm({ code: 0x07, dst: 1, src: 3, off: 0, imm: 1 }), '<unknown>'); // reserved src set
    assert.equal(llvm({ code: 0x18, dst: 1, src: 0, off: 0, imm: 1 }), '<unknown>'); // torn lddw
    assert.equal(llvm({ code: 0xbf, dst: 11, src: 1, off: 0, imm: 0 }), '<unknown>'); // r11
  });

  it('reproduces llvm-objdump-16 with llvm16', () => {
    assert.equal(llvm(alu64.sdiv.reg(r1, r2), { llvm16: true }), 'r1 /= r2');
    assert.equal(llvm(alu64.movsx8(r1, r2), { llvm16: true }), 'r1 = r2');
    assert.equal(llvm(st.w(r10, -8, 7), { llvm16: true }), '<unknown>');
    assert.equal(llvm(atomic.w.or(r1, 8, r2), { llvm16: true }), '<unknown>');
    assert.equal(llvm(atomic.w.or(r1, 8, r2), { llvm16: true, alu32: true }), 'lock *(u32 *)(r1 + 0x8) |= w2');
  });

  it('prints builder references by name', () => {
    assert.equal(llvm(jmp.ja('out')), 'goto out');
    assert.equal(llvm(call.func('subprog')), 'call subprog');
  });
});

describe('kernel syntax (print_bpf_insn)', () => {
  it('prints the verifier log formats', () => {
    const cases: [Instruction, string][] = [
      [alu64.mov.reg(r6, r1), '(bf) r6 = r1'],
      [alu64.add.imm(r1, 22), '(07) r1 += 22'],
      [alu32.mov.imm(r0, -1), '(b4) w0 = -1'],
      [ldx.w(r2, r1, 4), '(61) r2 = *(u32 *)(r1 +4)'],
      [stx.w(r10, -4, r1), '(63) *(u32 *)(r10 -4) = r1'],
      [st.dw(r10, -8, 0), '(7a) *(u64 *)(r10 -8) = 0'],
      [call.helper('map_lookup_elem'), '(85) call bpf_map_lookup_elem#1'],
      [call.helper(9999), '(85) call unknown#9999'],
      [call.func(5), '(85) call pc+5'],
      [call.kfunc(1234), '(85) call kernel-function#1234'],
      [jmp.jgt.reg(r1, r2, 3), '(2d) if r1 > r2 goto pc+3'],
      [jmp.jeq.imm(r1, -1, -3), '(15) if r1 == 0xffffffff goto pc-3'],
      [jmp32.jne.imm(r1, 7, 0), '(56) if w1 != 0x7 goto pc+0'],
      [jmp.ja(3), '(05) goto pc+3'],
      [jmp32.ja(-7), '(06) gotol pc-7'],
      [jmp.may_goto(2), '(e5) may_goto pc+2'],
      [exit(), '(95) exit'],
      [atomic.w.add(r1, 0, r2), '(c3) lock *(u32 *)(r1 +0) += r2'],
      [atomic.w.fetch_add(r1, 0, r2), '(c3) r2 = atomic_fetch_add((u32 *)(r1 +0), r2)'],
      [atomic.dw.fetch_xor(r1, 8, r2), '(db) r2 = atomic64_fetch_xor((u64 *)(r1 +8), r2)'],
      [atomic.dw.cmpxchg(r1, 0, r2), '(db) r0 = atomic64_cmpxchg((u64 *)(r1 +0), r0, r2)'],
      [atomic.w.xchg(r1, 0, r2), '(c3) r2 = atomic_xchg((u32 *)(r1 +0), r2)'],
      [atomic.h.load_acq(r0, r1, 2), '(cb) r0 = load_acquire((u16 *)(r1 +2))'],
      [atomic.dw.store_rel(r1, 0, r2), '(db) store_release((u64 *)(r1 +0), r2)'],
      [ld.abs.b(23), '(30) r0 = *(u8 *)skb[23]'],
      [ld.ind.w(r9, 0), '(40) r0 = *(u32 *)skb[r9 + 0]'],
      [end.be32(r1), '(dc) r1 = be32 r1'],
      [alu64.bswap64(r1), '(d7) r1 = bswap64 r1'],
      [alu32.neg(r1), '(84) w1 = -w1'],
      [alu64.movsx32(r1, r2), '(bf) r1 = (s32)r2'],
      [alu32.sdiv.reg(r1, r2), '(3c) w1 s/= w2'],
      [ldxs.h(r1, r2, -2), '(89) r1 = *(s16 *)(r2 -2)'],
      [alu64.addr_space_cast(r1, r2, 1, 0), '(bf) r1 = addr_space_cast(r2, 1, 0)'],
      [ld.imm64(r1, 0x1122334455667788n), '(18) r1 = 0x1122334455667788'],
      [ld.imm64(r1, -1), '(18) r1 = 0xffffffffffffffff'],
    ];
    for (const [insn, text] of cases) assert.equal(kern(insn), text);
  });

  it('takes the kernel callbacks for calls and lddw immediates', () => {
    const callbacks = {
      call: (i: Instruction) => (i.src === 2 ? `bpf_obj_new_impl` : undefined),
      imm: (i: Instruction, v: bigint) => (i.src === 1 ? `map[id:${v}]` : `0x${v.toString(16)}`),
    };
    assert.equal(kern(call.kfunc(77), { callbacks }), '(85) call bpf_obj_new_impl#77');
    assert.equal(kern(ld.map_fd(r1, 3), { callbacks }), '(18) r1 = map[id:3]');
    assert.equal(kern(ld.map_fd(r1, 3), { callbacks, allowPtrLeaks: false }), '(18) r1 = map[id:0]');
    assert.equal(kern(call.helper(1), { callbacks }), '(85) call bpf_map_lookup_elem#1');
  });

  it("falls back to the kernel's BUG_ strings", () => {
    assert.equal(kern({ code: 0xf3, dst: 0, src: 0, off: 0, imm: 0 }), 'BUG_f3');
    assert.equal(kern({ code: 0x79 | 0x80, dst: 0, src: 0, off: 0, imm: 0 }), 'BUG_ldx_f9');
    assert.equal(kern({ code: 0xe7, dst: 1, src: 0, off: 0, imm: 0 }), '(e7) BUG_alu64_e7');
  });
});

describe('disassemble (listings)', () => {
  const prog = program(
    label('xdp_prog'),
    ldx.w(r2, r1, 4),
    jmp.jgt.reg(r1, r2, 'out'),
    ld.imm64(r1, 5),
    call.helper(1),
    label('out'),
    alu64.mov.imm(r0, 2),
    exit(),
  );
  const source = { file: 'x.c', line: 7, column: 1, text: '\treturn XDP_PASS;' };

  it("lays out llvm-objdump's listing with symbols, targets and sources", () => {
    const insns = prog.map((i, k) => (k === 4 ? { ...i, source } : i));
    const text = disassemble(insns, { section: 'xdp', source: true, helperNames: true });
    assert.equal(
      text,
      [
        'Disassembly of section xdp:',
        '',
        '0000000000000000 <xdp_prog>:',
        '       0:\t61 12 04 00 00 00 00 00\tr2 = *(u32 *)(r1 + 0x4)',
        '       1:\t2d 21 03 00 00 00 00 00\tif r1 > r2 goto +0x3 <out>',
        '       2:\t18 01 00 00 05 00 00 00 00 00 00 00 00 00 00 00\tr1 = 0x5 ll',
        '       4:\t85 00 00 00 01 00 00 00\tcall 0x1 ; bpf_map_lookup_elem',
        '',
        '0000000000000028 <out>:',
        '; \treturn XDP_PASS;',
        '       5:\tb7 00 00 00 02 00 00 00\tr0 = 0x2',
        '       6:\t95 00 00 00 00 00 00 00\texit',
        '',
      ].join('\n'),
    );
  });

  it('annotates a target without a symbol as symbol+offset, and prints kernel listings', () => {
    const text = disassemble(program(label('f'), jmp.ja(1), exit(), exit()), { rawBytes: false });
    assert.match(text, /goto \+0x1 <f\+0x10>/);
    const kernel = disassemble(prog.map((i, k) => (k === 4 ? { ...i, source } : i)), { syntax: 'kernel', source: true });
    assert.equal(kernel.split('\n')[0], '0: (61) r2 = *(u32 *)(r1 +4)');
    assert.match(kernel, /\n; return XDP_PASS; @ x\.c:7\n5: \(b7\) r0 = 2\n/);
  });
});
