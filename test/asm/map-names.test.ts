// Map loads named by their map in llvm syntax (`r1 = map[stats] ll`, `r1 = map_value[.bss] + 0x8 ll`), read back by the assembler.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { assemble, formatInstruction } from '../../src/asm/index.js';
import { loadObject } from '../../src/elf/index.js';
import { PseudoLd } from '../../src/isa/opcodes.js';
import { fixturesDir } from '../support/fixtures.js';

test('every map load of every fixture prints by map name and assembles back to the same instruction and reference', () => {
  let fd = 0;
  let value = 0;
  for (const f of readdirSync(fixturesDir).filter((x) => x.endsWith('.o'))) {
    const spec = loadObject(readFileSync(path.join(fixturesDir, f)), { objectName: f.replace(/\.o$/, '') });
    for (const p of spec.programs) {
      for (const insn of p.instructions) {
        if (insn.code !== 0x18 || (insn.src !== PseudoLd.MAP_FD && insn.src !== PseudoLd.MAP_VALUE) || insn.reference === undefined) continue;
        const text = formatInstruction(insn);
        if (insn.src === PseudoLd.MAP_FD) {
          assert.equal(text, `r${insn.dst} = map[${insn.reference}] ll`);
          fd++;
        } else {
          assert.equal(text, `r${insn.dst} = map_value[${insn.reference}] + 0x${(insn.imm2 ?? 0).toString(16)} ll`);
          value++;
        }
        const [back] = assemble(text);
        assert.deepEqual({ ...back, imm: insn.imm }, { code: insn.code, dst: insn.dst, src: insn.src, off: insn.off, imm: insn.imm, imm2: insn.imm2, reference: insn.reference }, `${f}: ${text}`);
        assert.equal(formatInstruction(back!), text);
      }
    }
  }
  process.stdout.write(`# map loads named and reassembled: ${fd} map fds, ${value} map values\n`);
  assert.ok(fd >= 10 && value >= 10);
});

test('map names: decimal immediates, no reference falls back to ld_pseudo, numbers are refused as names', () => {
  const [a] = assemble('r2 = map_value[.rodata.str1.1] + 12 ll');
  assert.deepEqual(a, { code: 0x18, dst: 2, src: PseudoLd.MAP_VALUE, off: 0, imm: 0, imm2: 12, reference: '.rodata.str1.1' });
  assert.equal(formatInstruction(a!, { hex: false }), 'r2 = map_value[.rodata.str1.1] + 12 ll');
  const { reference: _r, ...bare } = a!;
  assert.equal(formatInstruction(bare), 'ld_pseudo\tr2, 0x2, 0x0, 0xc');
  assert.throws(() => assemble('r1 = map[5] ll'), /unrecognized instruction|map name/);
  assert.equal(formatInstruction(a!, { llvm16: true }), 'ld_pseudo\tr2, 0x2, 0x0');
});
