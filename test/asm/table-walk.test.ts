// Every OPCODES entry: build -> encode -> decode -> disassemble -> assemble -> encode, bytes identical.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assemble, formatInstruction } from '../../src/asm/index.js';
import { decode } from '../../src/isa/decode.js';
import { encode } from '../../src/isa/encode.js';
import { OPCODES } from '../../src/isa/opcodes.js';
import { samples } from './samples.js';

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

describe('table walk: every opcode entry round-trips through both syntaxes', () => {
  for (const byteOrder of ['le', 'be'] as const) {
    it(`llvm syntax, hex and decimal, alu32 on and off (${byteOrder})`, () => {
      let checked = 0;
      for (const e of OPCODES) {
        for (const insn of samples(e)) {
          const bytes = encode([insn], { byteOrder });
          const [decoded] = decode(bytes, { byteOrder });
          assert.ok(decoded, e.name);
          for (const hexImm of [true, false]) {
            for (const alu32 of [false, true]) {
              const text = formatInstruction(decoded, { hex: hexImm, alu32 });
              assert.notEqual(text, '<unknown>', `${e.name} printed <unknown>`);
              const back = assemble(text);
              assert.equal(back.length, 1, `${e.name}: '${text}'`);
              assert.equal(hex(encode(back, { byteOrder })), hex(bytes), `${e.name}: '${text}'`);
              checked++;
            }
          }
        }
      }
      assert.ok(checked >= OPCODES.length * 12);
    });
  }

  it('kernel syntax prints every entry with its opcode byte', () => {
    for (const e of OPCODES) {
      for (const insn of samples(e)) {
        const text = formatInstruction(insn, { syntax: 'kernel' });
        assert.match(text, new RegExp(`^\\(${e.code.toString(16).padStart(2, '0')}\\) \\S`), `${e.name}: ${text}`);
        assert.doesNotMatch(text, /BUG|undefined|NaN|\{/, `${e.name}: ${text}`);
      }
    }
  });

  it('no two entries print the same llvm text', () => {
    // (The kernel syntax, like print_bpf_insn, shows an lddw's value but not its pseudo source:
    // its imm callback is what tells a map from a constant there.)
    const seen = new Map<string, string>();
    for (const e of OPCODES) {
      const [insn] = samples(e);
      const text = formatInstruction(insn!);
      assert.equal(seen.get(text), undefined, `${e.name} and ${seen.get(text)} both print ${text}`);
      seen.set(text, e.name);
    }
  });
});
