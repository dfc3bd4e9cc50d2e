// buildProgramImage: a reload from the per-spec template (only map fds patched) equals a fresh build, for every fixture program.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Btf } from '../../../src/btf/index.js';
import { loadObject } from '../../../src/elf/object-loader.js';
import { buildProgramImage, type ImageContext } from '../../../src/kernel/object/program-image.js';
import { fixturesDir } from '../../support/fixtures.js';

function context(btf: Btf | undefined, maps: readonly string[], base: number): ImageContext {
  return {
    btf,
    mapFd: (name) => (maps.includes(name) ? base + maps.indexOf(name) : undefined),
    vmlinux: () => {
      throw new Error('no vmlinux in this test');
    },
    weakExterns: new Set(),
  };
}

test('a reloaded program image (template + patched map fds) is byte-identical to a fresh build', () => {
  let templated = 0;
  let withMaps = 0;
  for (const file of readdirSync(fixturesDir).filter((f) => f.endsWith('.o')).sort()) {
    const spec = loadObject(readFileSync(join(fixturesDir, file)), { objectName: file.replace(/\.o$/, '') });
    const maps = spec.maps.map((m) => m.name);
    for (const prog of spec.programs) {
      if (prog.coreRelos.length > 0) continue;
      let first;
      try {
        first = buildProgramImage(prog, context(spec.btf, maps, 100));
      } catch {
        continue; // needs vmlinux (kfunc/ksym): never templated
      }
      const again = buildProgramImage(prog, context(spec.btf, maps, 7000));
      const fresh = buildProgramImage({ ...prog }, context(spec.btf, maps, 7000));
      assert.deepEqual(again.insns, fresh.insns, `${file}/${prog.name}: bytes`);
      assert.deepEqual(again.instructions, fresh.instructions, `${file}/${prog.name}: instructions`);
      assert.deepEqual(again.funcInfo, fresh.funcInfo, `${file}/${prog.name}: func info`);
      assert.deepEqual(again.lineInfo, fresh.lineInfo, `${file}/${prog.name}: line info`);
      if (first.funcInfo) {
        assert.equal(again.funcInfo, first.funcInfo, `${file}/${prog.name}: reused from the template`);
        templated++;
      }
      if (fresh.instructions.some((insn, i) => insn.imm !== prog.instructions[i]!.imm)) withMaps++;
      assert.notEqual(again.insns, first.insns, 'each load gets its own bytes');
      // A map that is missing on reload is still the loader's error.
      if (maps.length > 0 && prog.instructions.some((insn) => insn.reference !== undefined && maps.includes(insn.reference))) {
        assert.throws(() => buildProgramImage(prog, context(spec.btf, [], 0)), /which was not created/);
      }
    }
  }
  assert.ok(templated >= 10, `templated ${templated} programs`);
  assert.ok(withMaps >= 5, `${withMaps} programs with map fds patched`);
});
