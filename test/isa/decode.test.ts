// Decoding: every valid encoding round-trips; every encoding the kernel rejects is a typed error.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode, encode, InvalidInstructionError, OPCODES, type Instruction } from '../../src/isa/index.js';

const bytes = (s: string) => Uint8Array.from(s.trim().split(/\s+/).map((x) => parseInt(x, 16)));

/** A valid sample instruction for a table entry: the fields it uses get non-trivial values. */
function sample(e: (typeof OPCODES)[number]): Instruction {
  const f = e.fields;
  return {
    code: e.code,
    dst: f.dst === 'reg' ? 3 : 0,
    src: f.src === 'pseudo' ? e.src! : f.src === 'reg' ? 7 : 0,
    off: f.off === 'fixed' ? e.off! : f.off === 'zero' ? 0 : -5,
    imm: f.imm === 'fixed' ? e.imm! : f.imm === 'zero' ? 0 : e.kind === 'addr_space_cast' ? 1 : -123456,
    ...(e.kind === 'lddw' ? { imm2: 0x7fff0001 } : {}),
  };
}

test('every table entry survives encode -> decode in both byte orders', () => {
  assert.ok(OPCODES.length > 150, `table has ${OPCODES.length} entries`);
  for (const order of ['le', 'be'] as const) {
    for (const e of OPCODES) {
      const insn = sample(e);
      const back = decode(encode([insn], { byteOrder: order }), { byteOrder: order });
      assert.deepEqual(back, [insn], `${e.name} (${order})`);
    }
  }
});

test('table entries are unique by name and by encoding', () => {
  assert.equal(new Set(OPCODES.map((e) => e.name)).size, OPCODES.length);
  const keys = OPCODES.map((e) => `${e.code}/${e.fields.off === 'fixed' ? e.off : '*'}/${e.fields.imm === 'fixed' ? e.imm : '*'}/${e.fields.src === 'pseudo' ? e.src : '*'}`);
  assert.equal(new Set(keys).size, OPCODES.length);
});

const invalid: [string, string, RegExp][] = [
  ['unknown opcode 0x00', '00 00 00 00 00 00 00 00', /unknown opcode/],
  ['unknown opcode 0xff', 'ff 00 00 00 00 00 00 00', /unknown opcode/],
  ['LD_ABS with DW size', '38 00 00 00 00 00 00 00', /unknown opcode/],
  ['LDX_MEMSX with DW size', '99 21 00 00 00 00 00 00', /unknown opcode/],
  ['exit with imm', '95 00 00 00 01 00 00 00', /exit uses reserved fields: imm/],
  ['exit with dst', '95 01 00 00 00 00 00 00', /exit uses reserved fields: dst_reg/],
  ['mov imm with src set', 'b7 10 00 00 02 00 00 00', /alu64.mov.imm uses reserved fields: src_reg/],
  ['add reg with imm set', '0f 21 00 00 01 00 00 00', /alu64.add.reg uses reserved fields: imm/],
  ['add with offset set', '07 01 05 00 01 00 00 00', /offset must be 0/],
  ['div with offset 2', '37 01 02 00 01 00 00 00', /offset must be 0/],
  ['movsx64 with offset 7', 'bf 21 07 00 00 00 00 00', /offset must be 0/],
  ['movsx32 with offset 32 (32-bit)', 'bc 21 20 00 00 00 00 00', /offset must be 0/],
  ['neg with src', '87 11 00 00 00 00 00 00', /neg uses reserved fields: src_reg/],
  ['endian width 8', 'dc 01 00 00 08 00 00 00', /byte swap width must be 16, 32 or 64/],
  ['atomic unknown op', 'db 21 00 00 02 00 00 00', /invalid atomic operation 0x2/],
  ['atomic add on u8', 'd3 21 00 00 00 00 00 00', /invalid atomic operation 0x0/],
  ['call with pseudo 3', '85 30 00 00 01 00 00 00', /call with unknown pseudo source 3/],
  ['helper call with offset', '85 00 01 00 01 00 00 00', /offset must be 0/],
  ['call with dst', '85 01 00 00 01 00 00 00', /dst_reg must be 0/],
  ['ja with imm', '05 00 01 00 01 00 00 00', /imm must be 0/],
  ['gotol with offset', '06 00 01 00 01 00 00 00', /offset must be 0/],
  ['jeq imm with src reg', '15 10 01 00 00 00 00 00', /src_reg must be 0/],
  ['ld_abs with dst', '30 01 00 00 0c 00 00 00', /dst_reg must be 0/],
  ['ldx with imm', '61 12 04 00 01 00 00 00', /imm must be 0/],
  ['st with src', '62 1a fc ff 00 00 00 00', /src_reg must be 0/],
  ['register r11', 'bf b1 00 00 00 00 00 00', /src_reg r11 does not exist/],
  ['lddw pseudo 7', '18 71 00 00 00 00 00 00 00 00 00 00 00 00 00 00', /lddw with unknown pseudo source 7/],
  ['lddw second slot opcode set', '18 01 00 00 00 00 00 00 07 00 00 00 00 00 00 00', /second slot must have opcode, registers and offset 0/],
];

test('invalid encodings are rejected with the reason and the slot index', () => {
  for (const [name, raw, reason] of invalid) {
    const prefix = bytes('b7 00 00 00 00 00 00 00 18 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00');
    const stream = new Uint8Array([...prefix, ...bytes(raw)]);
    assert.throws(
      () => decode(stream),
      (e: unknown) => e instanceof InvalidInstructionError && e.index === 3 && reason.test(e.message) && e.code === 'ERR_INVALID_INSTRUCTION',
      name,
    );
  }
});

test('an lddw cut in half and trailing bytes are errors; lenient mode keeps going', () => {
  const torn = bytes('b7 00 00 00 00 00 00 00 18 01 00 00 2a 00 00 00');
  assert.throws(() => decode(torn), (e: unknown) => e instanceof InvalidInstructionError && e.index === 1 && /cut in half/.test(e.message));
  assert.throws(() => decode(bytes('95 00 00 00 00 00 00 00 95 00')), /not a multiple of 8 \(2 trailing bytes\)/);
  const lenient = decode(torn, { strict: false });
  assert.equal(lenient.length, 2);
  assert.equal(lenient[1]!.imm, 42);
  assert.equal(decode(bytes('ff 00 00 00 00 00 00 00'), { strict: false })[0]!.code, 0xff);
});

test('baseIndex shifts the index in errors', () => {
  assert.throws(() => decode(bytes('00 00 00 00 00 00 00 00'), { baseIndex: 40 }), (e: unknown) => e instanceof InvalidInstructionError && e.index === 40);
});

test('encode refuses an invalid instruction object', () => {
  assert.throws(() => encode([{ code: 0x95, dst: 0, src: 0, off: 0, imm: 7 }]), InvalidInstructionError);
  assert.throws(() => encode([{ code: 0xb7, dst: 0, src: 0, off: 0, imm: 2 ** 40 }]), /imm 1099511627776 out of range/);
});
