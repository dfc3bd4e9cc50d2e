// Pins every builder to raw bytes (cilium/ebpf's dsl_test), with the bytes the kernel's own
// macros (BPF_MOV64_IMM, BPF_LDX_MEM, ...) and llvm produce for the same instruction.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  alu32, alu64, atomic, call, encode, end, exit, jmp, jmp32, label, ld, ldx, ldxs, program, st, stx,
  r0, r1, r2, r6, r10, InvalidOperandError, UnresolvedReferenceError, type Instruction,
} from '../../src/isa/index.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex').replace(/(..)(?!$)/g, '$1 ');

const table: [string, Instruction, string][] = [
  ['BPF_MOV64_IMM(R0, 2)', alu64.mov.imm(r0, 2), 'b7 00 00 00 02 00 00 00'],
  ['BPF_ALU64_IMM(ADD, R1, 22)', alu64.add.imm(r1, 22), '07 01 00 00 16 00 00 00'],
  ['BPF_ALU64_IMM(ADD, R2, -4)', alu64.add.imm(r2, -4), '07 02 00 00 fc ff ff ff'],
  ['BPF_MOV64_REG(R6, R1)', alu64.mov.reg(r6, r1), 'bf 16 00 00 00 00 00 00'],
  ['BPF_MOV32_REG(R1, R2)', alu32.mov.reg(r1, r2), 'bc 21 00 00 00 00 00 00'],
  ['BPF_ALU32_IMM(MOV, R1, 0xffffffff)', alu32.mov.imm(r1, 0xffffffff), 'b4 01 00 00 ff ff ff ff'],
  ['BPF_ALU64_REG(SUB, R1, R2)', alu64.sub.reg(r1, r2), '1f 21 00 00 00 00 00 00'],
  ['BPF_ALU32_REG(ARSH, R1, R2)', alu32.arsh.reg(r1, r2), 'cc 21 00 00 00 00 00 00'],
  ['BPF_ALU64_IMM(LSH, R1, 32)', alu64.lsh.imm(r1, 32), '67 01 00 00 20 00 00 00'],
  ['BPF_ALU64_IMM(NEG, R1, 0)', alu64.neg(r1), '87 01 00 00 00 00 00 00'],
  ['BPF_ALU32_IMM(NEG, R1, 0)', alu32.neg(r1), '84 01 00 00 00 00 00 00'],
  ['sdiv64 r1, r2 (v4)', alu64.sdiv.reg(r1, r2), '3f 21 01 00 00 00 00 00'],
  ['smod32 w1, 5 (v4)', alu32.smod.imm(r1, 5), '94 01 01 00 05 00 00 00'],
  ['r1 = (s8)r2 (v4)', alu64.movsx8(r1, r2), 'bf 21 08 00 00 00 00 00'],
  ['r1 = (s32)r2 (v4)', alu64.movsx32(r1, r2), 'bf 21 20 00 00 00 00 00'],
  ['w1 = (s16)w2 (v4)', alu32.movsx16(r1, r2), 'bc 21 10 00 00 00 00 00'],
  ['BPF_ENDIAN(BE, R1, 16)', end.be16(r1), 'dc 01 00 00 10 00 00 00'],
  ['BPF_ENDIAN(LE, R1, 32)', end.le32(r1), 'd4 01 00 00 20 00 00 00'],
  ['bswap64 r1 (v4)', alu64.bswap64(r1), 'd7 01 00 00 40 00 00 00'],
  ['BPF_LDX_MEM(W, R2, R1, 4)', ldx.w(r2, r1, 4), '61 12 04 00 00 00 00 00'],
  ['BPF_LDX_MEM(DW, R0, R10, -8)', ldx.dw(r0, r10, -8), '79 a0 f8 ff 00 00 00 00'],
  ['BPF_LDX_MEMSX(B, R1, R2, 0) (v4)', ldxs.b(r1, r2, 0), '91 21 00 00 00 00 00 00'],
  ['BPF_LDX_MEMSX(H, R1, R2, 2) (v4)', ldxs.h(r1, r2, 2), '89 21 02 00 00 00 00 00'],
  ['BPF_LDX_MEMSX(W, R1, R2, 4) (v4)', ldxs.w(r1, r2, 4), '81 21 04 00 00 00 00 00'],
  ['BPF_STX_MEM(W, R10, R1, -4)', stx.w(r10, -4, r1), '63 1a fc ff 00 00 00 00'],
  ['BPF_STX_MEM(B, R10, R1, -1)', stx.b(r10, -1, r1), '73 1a ff ff 00 00 00 00'],
  ['BPF_ST_MEM(DW, R10, -8, 0)', st.dw(r10, -8, 0), '7a 0a f8 ff 00 00 00 00'],
  ['BPF_ST_MEM(H, R10, -2, 0x1234)', st.h(r10, -2, 0x1234), '6a 0a fe ff 34 12 00 00'],
  ['BPF_JMP_REG(JGT, R1, R2, +3)', jmp.jgt.reg(r1, r2, 3), '2d 21 03 00 00 00 00 00'],
  ['BPF_JMP_IMM(JEQ, R0, 0, +1)', jmp.jeq.imm(r0, 0, 1), '15 00 01 00 00 00 00 00'],
  ['BPF_JMP_IMM(JSLT, R1, -1, -2)', jmp.jslt.imm(r1, -1, -2), 'c5 01 fe ff ff ff ff ff'],
  ['BPF_JMP32_IMM(JNE, R1, 5, +2)', jmp32.jne.imm(r1, 5, 2), '56 01 02 00 05 00 00 00'],
  ['BPF_JMP32_REG(JSET, R1, R2, +2)', jmp32.jset.reg(r1, r2, 2), '4e 21 02 00 00 00 00 00'],
  ['BPF_JMP_A(+4)', jmp.ja(4), '05 00 04 00 00 00 00 00'],
  ['gotol +5 (v4)', jmp32.ja(5), '06 00 00 00 05 00 00 00'],
  ['may_goto +3', jmp.may_goto(3), 'e5 00 03 00 00 00 00 00'],
  ['BPF_EMIT_CALL(map_lookup_elem)', call.helper('map_lookup_elem'), '85 00 00 00 01 00 00 00'],
  ['call bpf_ktime_get_ns', call.helper('bpf_ktime_get_ns'), '85 00 00 00 05 00 00 00'],
  ['BPF_CALL_REL(-1)', call.func(-1), '85 10 00 00 ff ff ff ff'],
  ['kfunc call btf id 1234', call.kfunc(1234), '85 20 00 00 d2 04 00 00'],
  ['BPF_EXIT_INSN()', exit(), '95 00 00 00 00 00 00 00'],
  ['BPF_LD_IMM64(R1, 0x100000002)', ld.imm64(r1, 0x100000002n), '18 01 00 00 02 00 00 00 00 00 00 00 01 00 00 00'],
  ['BPF_LD_IMM64(R1, -1)', ld.imm64(r1, -1n), '18 01 00 00 ff ff ff ff 00 00 00 00 ff ff ff ff'],
  ['BPF_LD_MAP_FD(R1, 5)', ld.map_fd(r1, 5), '18 11 00 00 05 00 00 00 00 00 00 00 00 00 00 00'],
  ['BPF_LD_MAP_VALUE(R1, 5, 16)', ld.map_value(r1, 5, 16), '18 21 00 00 05 00 00 00 00 00 00 00 10 00 00 00'],
  ['ld btf_id', ld.btf_id(r1, 77), '18 31 00 00 4d 00 00 00 00 00 00 00 00 00 00 00'],
  ['ld func +3', ld.func(r2, 3), '18 42 00 00 03 00 00 00 00 00 00 00 00 00 00 00'],
  ['ld map_idx 0', ld.map_idx(r1, 0), '18 51 00 00 00 00 00 00 00 00 00 00 00 00 00 00'],
  ['BPF_LD_ABS(B, 12)', ld.abs.b(12), '30 00 00 00 0c 00 00 00'],
  ['BPF_LD_ABS(W, 26)', ld.abs.w(26), '20 00 00 00 1a 00 00 00'],
  ['BPF_LD_IND(H, R1, 4)', ld.ind.h(r1, 4), '48 10 00 00 04 00 00 00'],
  ['BPF_ATOMIC_OP(W, ADD, R1, R2, 0)', atomic.w.add(r1, 0, r2), 'c3 21 00 00 00 00 00 00'],
  ['BPF_ATOMIC_OP(DW, ADD|FETCH, R1, R2, 8)', atomic.dw.fetch_add(r1, 8, r2), 'db 21 08 00 01 00 00 00'],
  ['BPF_ATOMIC_OP(DW, OR, R1, R2, 0)', atomic.dw.or(r1, 0, r2), 'db 21 00 00 40 00 00 00'],
  ['BPF_ATOMIC_OP(W, XOR|FETCH, R1, R2, 0)', atomic.w.fetch_xor(r1, 0, r2), 'c3 21 00 00 a1 00 00 00'],
  ['BPF_ATOMIC_OP(W, XCHG, R1, R2, 0)', atomic.w.xchg(r1, 0, r2), 'c3 21 00 00 e1 00 00 00'],
  ['BPF_ATOMIC_OP(DW, CMPXCHG, R1, R2, 0)', atomic.dw.cmpxchg(r1, 0, r2), 'db 21 00 00 f1 00 00 00'],
  ['load_acquire u8 (r0 <- r1)', atomic.b.load_acq(r0, r1, 0), 'd3 10 00 00 00 01 00 00'],
  ['store_release u64 (r10-8 <- r1)', atomic.dw.store_rel(r10, -8, r1), 'db 1a f8 ff 10 01 00 00'],
];

test('each builder produces the bytes of the kernel macro for the same instruction', () => {
  for (const [name, insn, bytes] of table) {
    assert.equal(hex(encode([insn])), bytes, name);
  }
});

test('big-endian encoding swaps register nibbles and field byte order', () => {
  assert.equal(hex(encode([ldx.w(r2, r1, 4)], { byteOrder: 'be' })), '61 21 00 04 00 00 00 00');
  assert.equal(hex(encode([ld.imm64(r1, 0x100000002n)], { byteOrder: 'be' })), '18 10 00 00 00 00 00 02 00 00 00 00 00 00 00 01');
});

test('labels resolve to slot offsets at encode time, counting lddw as two slots', () => {
  const insns = program(
    jmp.jeq.imm(r1, 0, 'out'),
    ld.imm64(r0, 1n),
    jmp.ja('out'),
    alu64.mov.imm(r0, 1),
    label('out'),
    exit(),
  );
  assert.equal(insns[4]!.symbol, 'out');
  const bytes = encode(insns);
  // jeq at slot 0 -> exit at slot 5: off = 5 - 1 = 4; ja at slot 3 -> off = 5 - 4 = 1.
  assert.equal(new DataView(bytes.buffer).getInt16(2, true), 4);
  assert.equal(new DataView(bytes.buffer).getInt16(3 * 8 + 2, true), 1);
});

test('backward jumps and BPF-to-BPF calls resolve to negative offsets', () => {
  const insns = program(
    label('top'),
    alu64.add.imm(r1, 1),
    jmp.jlt.imm(r1, 10, 'top'),
    call.func('sub'),
    exit(),
    label('sub'),
    alu64.mov.imm(r0, 0),
    exit(),
  );
  const v = new DataView(encode(insns).buffer);
  assert.equal(v.getInt16(1 * 8 + 2, true), -2);
  assert.equal(v.getInt32(2 * 8 + 4, true), 1);
});

test('ld.func counts from the slot after its first slot, as the kernel does for callbacks', () => {
  const insns = program(ld.func(r2, 'cb'), exit(), label('cb'), alu64.mov.imm(r0, 0), exit());
  // lddw at slot 0 (two slots), exit at 2, cb at 3: the kernel resolves 0 + imm + 1 = 3.
  assert.equal(new DataView(encode(insns).buffer).getInt32(4, true), 2);
});

test('an unknown label, a duplicate label and a dangling label are typed errors', () => {
  assert.throws(() => encode(program(jmp.ja('nowhere'), exit())), (e: unknown) => e instanceof UnresolvedReferenceError && e.symbol === 'nowhere' && e.index === 0);
  assert.throws(() => encode(program(label('a'), exit(), label('a'), exit())), UnresolvedReferenceError);
  assert.throws(() => program(exit(), label('end')), InvalidOperandError);
  assert.throws(() => program(label('a'), label('b'), exit()), InvalidOperandError);
});

test('operands are checked when the instruction is built', () => {
  assert.throws(() => alu64.mov.imm(11 as never, 0), /dst must be a register r0..r10, got 11/);
  assert.throws(() => ldx.w(r1, r2, 40000), (e: unknown) => e instanceof InvalidOperandError && /offset 40000 out of range/.test(e.message));
  assert.throws(() => alu64.add.imm(r1, 2 ** 33), /imm 8589934592 out of range/);
  assert.throws(() => call.helper('no_such_helper' as never), /unknown helper "no_such_helper"/);
  assert.throws(() => jmp.ja(1.5), /offset 1.5 out of range/);
});

test('a jump too far for 16 bits asks for gotol', () => {
  const far = Array.from({ length: 40000 }, () => alu64.mov.imm(r0, 0));
  assert.throws(() => encode(program(jmp.ja('end'), far, label('end'), exit())), /beyond a 16-bit offset; use gotol/);
  const ok = encode(program(jmp32.ja('end'), far, label('end'), exit()));
  assert.equal(new DataView(ok.buffer).getInt32(4, true), 40000);
});
