// The assembler: syntax, labels, pasted listings, typed errors, and fixture round trips.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { assemble, assembleListing, AsmSyntaxError, disassemble, formatObjdump } from '../../src/asm/index.js';
import { alu64, call, exit, jmp, label, ldx, program } from '../../src/isa/builder.js';
import { encode } from '../../src/isa/encode.js';
import { r0, r1, r2 } from '../../src/isa/instruction.js';
import { fixtureName, goldenPath, listFixtures } from '../support/fixtures.js';
import { codeSections, objectByteOrder, sectionInstructions } from './object-sections.js';

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

describe('assemble', () => {
  it('reads hex and decimal immediates, labels, comments and relative jumps', () => {
    const text = [
      'prog:',
      '  r2 = *(u32 *)(r1 + 0x4)   ; data_end',
      '  r0 = 2                   # XDP_PASS',
      '  if r1 > r2 goto out      // skip',
      '  call bpf_ktime_get_ns',
      '  goto +0',
      'out:',
      '  exit',
    ].join('\n');
    const insns = assemble(text);
    const built = program(
      label('prog'),
      ldx.w(r2, r1, 4),
      alu64.mov.imm(r0, 2),
      jmp.jgt.reg(r1, r2, 'out'),
      call.helper('ktime_get_ns'),
      jmp.ja(0),
      label('out'),
      exit(),
    );
    assert.equal(hex(encode(insns)), hex(encode(built)));
    assert.equal(insns[0]!.symbol, 'prog');
    assert.equal(insns[2]!.reference, 'out');
  });

  it('reads the examples of both number styles', () => {
    const pairs: [string, string][] = [
      ['r0 = 0x2', 'r0 = 2'],
      ['w1 += w2', 'w1 += w2'],
      ['*(u32 *)(r10 - 0x4) = w1', '*(u32 *)(r10 - 4) = w1'],
      ['r1 = 0x0 ll', 'r1 = 0 ll'],
      ['lock *(u32 *)(r1 + 0x0) += w2', 'lock *(u32 *)(r1 + 0) += w2'],
      ['r2 = atomic_fetch_add((u64 *)(r1 + 0x0), r2)', 'r2 = atomic_fetch_add((u64 *)(r1 + 0), r2)'],
      ['r0 = cmpxchg_64(r1 + 0x0, r0, r2)', 'r0 = cmpxchg_64(r1 + 0, r0, r2)'],
      ['r1 = be16 r1', 'r1 = be16 r1'],
      ['r1 = (s8)r2', 'r1 = (s8)r2'],
      ['r1 = *(s8 *)(r2 + 0x0)', 'r1 = *(s8 *)(r2 + 0)'],
      ['gotol +0x10', 'gotol +16'],
      ['r1 = -0x1 ll', 'r1 = -1 ll'],
      ['r1 = 0xffffffffffffffff ll', 'r1 = -1 ll'],
    ];
    for (const [a, b] of pairs) assert.equal(hex(encode(assemble(a))), hex(encode(assemble(b))), `${a} vs ${b}`);
    assert.equal(hex(encode(assemble('call 0x1 ; bpf_map_lookup_elem'))), hex(encode(assemble('call bpf_map_lookup_elem'))));
    assert.equal(hex(encode(assemble('r1 = 0xffffffff'))), hex(encode(assemble('r1 = -1'))));
  });

  it('reads a pasted llvm-objdump listing, using raw bytes for <unknown>', () => {
    const golden = readFileSync(goldenPath('atomics_alu', 'objdump-d'), 'utf8');
    const [section] = assembleListing(golden);
    assert.equal(section!.section, 'xdp');
    const file = listFixtures().find((f) => fixtureName(f) === 'atomics_alu')!;
    const [code] = codeSections(file);
    // The plain golden prints some 32-bit fetch-adds as `lock ... +=` (LLVM 16 ignores the fetch
    // bit without alu32); with preferRawBytes every line is its bytes.
    assert.equal(hex(encode(assembleListing(golden, { preferRawBytes: true })[0]!.insns)), hex(code!.bytes));
    const alu32 = readFileSync(goldenPath('atomics_alu', 'objdump-d-alu32'), 'utf8');
    assert.equal(hex(encode(assembleListing(alu32)[0]!.insns)), hex(code!.bytes));
  });

  it('round-trips every fixture code section: disassemble -> assemble -> same bytes', () => {
    let sections = 0;
    for (const file of listFixtures()) {
      const byteOrder = objectByteOrder(file);
      const listed = codeSections(file).map((s) => ({ name: s.name, insns: sectionInstructions(s, byteOrder), bytes: s.bytes }));
      for (const hexImm of [true, false]) {
        // One section at a time, and the whole llvm-objdump-style file at once.
        for (const s of listed) {
          const text = disassemble(s.insns, { hex: hexImm, rawBytes: hexImm, helperNames: true, byteOrder });
          assert.equal(hex(encode(assemble(text), { byteOrder })), hex(s.bytes), `${fixtureName(file)} ${s.name}`);
          sections++;
        }
        const whole = assembleListing(formatObjdump('x.o', listed, { hex: hexImm, byteOrder }), { byteOrder });
        assert.deepEqual(
          whole.map((w) => hex(encode(w.insns, { byteOrder }))),
          listed.map((s) => hex(s.bytes)),
        );
      }
    }
    assert.ok(sections >= 30, `only ${sections} sections`);
  });
});

describe('assembler errors', () => {
  const cases: [string, number, number, RegExp][] = [
    ['r0 = 1\nr1 = 2\nr11 = 3', 3, 1, /^line 3: unknown register 'r11'$/],
    ['r1 += w12', 1, 7, /unknown register 'w12'/],
    ['r1 = 0x100000000', 1, 6, /immediate '0x100000000' out of range \(a 64-bit constant needs 'll'\)/],
    ['r1 = *(u32 *)(r2 + 0x8000)', 1, 18, /offset '\+0x8000' out of range/],
    ['goto +40000', 1, 6, /jump offset '\+40000' out of range; use gotol/],
    ['goto nowhere', 1, 6, /undefined label 'nowhere'/],
    ['call not_a_helper', 1, 6, /unknown helper or function 'not_a_helper'/],
    ['r1 = be16 r2', 1, 11, /'r2' must be the same register as r1/],
    ['r1 +== 2', 1, 1, /unrecognized instruction 'r1 \+== 2'/],
    ['frobnicate r1', 1, 1, /unrecognized instruction/],
    ['r1 = 0x12g', 1, 6, /malformed number '0x12g'/],
    ['r1 = @', 1, 6, /unexpected character '@'/],
    ['a:\nexit\na:\nexit', 3, 1, /label 'a' is defined twice \(first on line 1\)/],
    ['exit\nend:', 2, 1, /label 'end' is not followed by an instruction/],
    ['w0 = cmpxchg32_32(r1 + 0, w3, w2)', 1, 1, /must be w0/],
    ['ld_pseudo r1, 9, 5', 1, 1, /invalid instruction/],
    ['      3:\t<unknown>', 1, 1, /without raw bytes/],
  ];
  for (const [text, line, column, message] of cases) {
    it(`${JSON.stringify(text)} -> ${message.source}`, () => {
      assert.throws(
        () => assemble(text),
        (err: unknown) => {
          assert.ok(err instanceof AsmSyntaxError, String(err));
          assert.equal(err.code, 'ERR_ASM_SYNTAX');
          assert.match(err.message, message);
          assert.equal(err.line, line);
          assert.equal(err.column, column);
          assert.equal(err.text, text.split('\n')[line - 1]);
          return true;
        },
      );
    });
  }
});
