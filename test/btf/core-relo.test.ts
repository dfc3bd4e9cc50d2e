// CO-RE relocations, pure: hand-built local and target BTF, every kind, flavours, misses, bitfields, patching.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyCoreRelos, CoreReloError } from '../../src/btf/core-patch.js';
import { essentialName } from '../../src/btf/core-candidates.js';
import { computeCoreRelo, CORE_POISON_IMM } from '../../src/btf/core-relo.js';
import { BtfBuilder, type Btf, type BtfTypeInit } from '../../src/btf/index.js';
import type { Instruction } from '../../src/isa/instruction.js';

const int = (name: string, size: number, signed = false): BtfTypeInit => ({ kind: 'int', name, size, signed, char: false, bool: false, bitOffset: 0, bits: size * 8 });
const member = (name: string, type: number, bitOffset: number, bitfieldSize = 0) => ({ name, type, bitOffset, bitfieldSize });

/** Local view: struct task___v2 { int pid; u16 flags:3 (bitfield); u64 extra; int arr[4]; }; enum e { A = 1, GONE = 5 }. */
function local(): Btf {
  const b = new BtfBuilder();
  const i32 = b.add(int('int', 4, true)); // 1
  const u16 = b.add(int('u16', 2)); // 2
  const u64 = b.add(int('u64', 8)); // 3
  const arr = b.add({ kind: 'array', name: '', type: i32, indexType: i32, nelems: 4 }); // 4
  b.add({ kind: 'struct', name: 'task___v2', size: 32, kindFlag: true, members: [member('pid', i32, 0), member('flags', u16, 32, 3), member('extra', u64, 64), member('arr', arr, 128)] }); // 5
  b.add({ kind: 'enum', name: 'e___local', size: 4, signed: false, values: [{ name: 'A', value: 1 }, { name: 'GONE', value: 5 }] }); // 6
  b.add({ kind: 'struct', name: 'only_here', size: 4, kindFlag: false, members: [member('x', i32, 0)] }); // 7
  return b.build();
}

/** Target ("kernel"): struct task { u64 pad; int pid; u32 flags:5 at bit 99 (bitfield), int arr[8]; } size 64; enum e { A = 7 }. */
function target(): Btf {
  const b = new BtfBuilder();
  const i32 = b.add(int('int', 4, true)); // 1
  const u32 = b.add(int('u32', 4)); // 2
  const u64 = b.add(int('u64', 8)); // 3
  const arr = b.add({ kind: 'array', name: '', type: i32, indexType: i32, nelems: 8 }); // 4
  const anon = b.add({ kind: 'struct', name: '', size: 4, kindFlag: false, members: [member('pid', i32, 0)] }); // 5
  b.add({ kind: 'struct', name: 'task', size: 64, kindFlag: true, members: [member('pad', u64, 0), member('', anon, 64), member('flags', u32, 99, 5), member('arr', arr, 256)] }); // 6
  b.add({ kind: 'enum', name: 'e', size: 4, signed: false, values: [{ name: 'A', value: 7 }] }); // 7
  return b.build();
}

const L = local();
const T = target();

test('essentialName drops the ___flavour suffix only', () => {
  assert.equal(essentialName('task___v2'), 'task');
  assert.equal(essentialName('task'), 'task');
  assert.equal(essentialName('___x'), '___x');
});

test('field byte offset / size / exists follow the target layout, through anonymous members', () => {
  const v = (access: string, kind: Parameters<typeof computeCoreRelo>[4]) => computeCoreRelo(L, T, 5, access, kind);
  assert.deepEqual(v('0:0', 'BPF_CORE_FIELD_BYTE_OFFSET'), { kind: 'value', local: 0n, value: 8n, localSize: 4, targetSize: 4, targetTypeId: 6 });
  assert.equal((v('0:3:2', 'BPF_CORE_FIELD_BYTE_OFFSET') as { value: bigint }).value, 32n + 8n, 'arr[2] at 32 + 2*4');
  assert.equal((v('0:2', 'BPF_CORE_FIELD_EXISTS') as { value: bigint }).value, 0n, 'extra is not in the target');
  assert.equal(v('0:2', 'BPF_CORE_FIELD_BYTE_OFFSET').kind, 'poison');
  assert.equal((v('0:0', 'BPF_CORE_FIELD_SIGNED') as { value: bigint }).value, 1n);
  assert.equal((v('0:0', 'BPF_CORE_FIELD_BYTE_SIZE') as { value: bigint }).value, 4n);
});

test('bitfields: byte offset, size and the shifts that extract them (little-endian)', () => {
  const v = (kind: Parameters<typeof computeCoreRelo>[4]) => (computeCoreRelo(L, T, 5, '0:1', kind) as { local: bigint; value: bigint });
  // Target: 5 bits at bit 99 of a u32 storage: bytes 12..15, bit 3 inside them.
  assert.deepEqual([v('BPF_CORE_FIELD_BYTE_OFFSET').value, v('BPF_CORE_FIELD_BYTE_SIZE').value], [12n, 4n]);
  assert.equal(v('BPF_CORE_FIELD_LSHIFT_U64').value, BigInt(64 - (99 + 5 - 96)));
  assert.equal(v('BPF_CORE_FIELD_RSHIFT_U64').value, 59n);
  // Local: 3 bits at bit 32 of a u16: bytes 4..5.
  assert.deepEqual([v('BPF_CORE_FIELD_BYTE_OFFSET').local, v('BPF_CORE_FIELD_RSHIFT_U64').local], [4n, 61n]);
});

test('type and enum relocations: size, exists, target id, enumerator values by essential name', () => {
  assert.deepEqual(computeCoreRelo(L, T, 5, '0', 'BPF_CORE_TYPE_SIZE'), { kind: 'value', local: 32n, value: 64n, targetTypeId: 6 });
  assert.equal((computeCoreRelo(L, T, 5, '0', 'BPF_CORE_TYPE_ID_TARGET') as { value: bigint }).value, 6n);
  assert.equal((computeCoreRelo(L, T, 7, '0', 'BPF_CORE_TYPE_EXISTS') as { value: bigint }).value, 0n);
  assert.equal(computeCoreRelo(L, T, 7, '0', 'BPF_CORE_TYPE_SIZE').kind, 'poison');
  assert.equal((computeCoreRelo(L, T, 6, '0', 'BPF_CORE_ENUMVAL_VALUE') as { value: bigint }).value, 7n);
  assert.equal((computeCoreRelo(L, T, 6, '1', 'BPF_CORE_ENUMVAL_EXISTS') as { value: bigint }).value, 0n);
  assert.equal(computeCoreRelo(L, T, 6, '1', 'BPF_CORE_ENUMVAL_VALUE').kind, 'poison');
});

test('two candidates that disagree are an error; malformed access strings too', () => {
  const b = BtfBuilder.from(T);
  b.add({ kind: 'struct', name: 'task___other', size: 8, kindFlag: false, members: [member('pid', 1, 32)] });
  assert.throws(() => computeCoreRelo(L, b.build(), 5, '0:0', 'BPF_CORE_FIELD_BYTE_OFFSET'), /disagree/);
  assert.throws(() => computeCoreRelo(L, T, 5, '0:x', 'BPF_CORE_FIELD_BYTE_OFFSET'), /malformed access string/);
  assert.throws(() => computeCoreRelo(L, T, 5, '0:9', 'BPF_CORE_FIELD_BYTE_OFFSET'), /member 9/);
});

test('applyCoreRelos patches loads, ALU immediates and lddw, resizes a load, poisons a miss (lddw keeps 2 slots)', () => {
  const insns: Instruction[] = [
    { code: 0x61, dst: 1, src: 1, off: 0, imm: 0 }, // r1 = *(u32 *)(r1 + 0)   (pid)
    { code: 0x07, dst: 2, src: 0, off: 0, imm: 0 }, // r2 += 0                 (arr[2] offset)
    { code: 0x18, dst: 3, src: 0, off: 0, imm: 32, imm2: 0 }, // r3 = 32        (type size)
    { code: 0x69, dst: 4, src: 1, off: 4, imm: 0 }, // r4 = *(u16 *)(r1 + 4)   (flags storage: u16 -> u32)
    { code: 0x18, dst: 5, src: 0, off: 0, imm: 5, imm2: 0 }, // r5 = GONE     (missing enumerator)
    { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
  ];
  const { instructions, outcomes } = applyCoreRelos(L, T, insns, [
    { insn: 0, typeId: 5, accessString: '0:0', kind: 'BPF_CORE_FIELD_BYTE_OFFSET' },
    { insn: 1, typeId: 5, accessString: '0:3:2', kind: 'BPF_CORE_FIELD_BYTE_OFFSET' },
    { insn: 2, typeId: 5, accessString: '0', kind: 'BPF_CORE_TYPE_SIZE' },
    { insn: 3, typeId: 5, accessString: '0:1', kind: 'BPF_CORE_FIELD_BYTE_OFFSET' },
    { insn: 4, typeId: 6, accessString: '1', kind: 'BPF_CORE_ENUMVAL_VALUE' },
  ]);
  assert.equal(instructions[0]!.off, 8);
  assert.equal(instructions[1]!.imm, 40);
  assert.deepEqual([instructions[2]!.imm, instructions[2]!.imm2], [64, 0]);
  assert.deepEqual([instructions[3]!.code, instructions[3]!.off], [0x61, 12], 'u16 load widened to the u32 storage');
  assert.deepEqual([instructions[4]!.code, instructions[4]!.imm], [0x85, CORE_POISON_IMM]);
  assert.deepEqual([instructions[5]!.code, instructions[5]!.off], [0x05, 0], 'ja +0 fills the lddw second slot');
  assert.equal(instructions.length, insns.length + 1);
  assert.match(outcomes[4]!.poisoned ?? '', /GONE/);
  assert.throws(
    () => applyCoreRelos(L, T, [{ code: 0x0f, dst: 1, src: 2, off: 0, imm: 0 }], [{ insn: 0, typeId: 5, accessString: '0:0', kind: 'BPF_CORE_FIELD_BYTE_OFFSET' }]),
    (e: unknown) => e instanceof CoreReloError && e.index === 0 && /register source/.test(e.message),
  );
});
