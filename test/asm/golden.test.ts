// Goldens: llvm-objdump-16's own output for every fixture (compared, never written by us), and
// bpfkit's verifier-log-syntax goldens (rewritten with BPFKIT_UPDATE_GOLDEN=1 or --update).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { disassemble, formatObjdump, type ListingSection } from '../../src/asm/index.js';
import type { Instruction } from '../../src/isa/instruction.js';
import { fixtureName, goldenPath, type GoldenKind, listFixtures } from '../support/fixtures.js';
import { codeSections, objectByteOrder, sectionInstructions } from './object-sections.js';

const UPDATE = process.env['BPFKIT_UPDATE_GOLDEN'] === '1' || process.argv.includes('--update');
const ownGoldenDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'golden');

interface Loaded {
  readonly file: string;
  readonly byteOrder: 'le' | 'be';
  readonly sections: (ListingSection & { relocations: NonNullable<ListingSection['relocations']> })[];
}

function load(file: string): Loaded {
  const byteOrder = objectByteOrder(file);
  const sections = codeSections(file).map((s) => ({ name: s.name, insns: sectionInstructions(s, byteOrder), relocations: s.relocations }));
  return { file, byteOrder, sections };
}

const isInsnLine = (l: string): boolean => /^\s+\d+:\t/.test(l);

/** Compares line by line; returns the number of instruction lines compared. */
function compareLines(ours: string, golden: string, what: string): number {
  const a = ours.split('\n');
  const b = golden.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    assert.equal(a[i], b[i], `${what}: line ${i + 1} differs`);
  }
  return b.filter(isInsnLine).length;
}

const LLVM_KINDS: readonly { kind: GoldenKind; alu32: boolean; relocations: boolean; source: boolean }[] = [
  { kind: 'objdump-d', alu32: false, relocations: false, source: false },
  { kind: 'objdump-dr', alu32: false, relocations: true, source: false },
  { kind: 'objdump-S', alu32: false, relocations: false, source: true },
  { kind: 'objdump-d-alu32', alu32: true, relocations: false, source: false },
  { kind: 'objdump-dr-alu32', alu32: true, relocations: true, source: false },
  { kind: 'objdump-S-alu32', alu32: true, relocations: false, source: true },
];

/**
 * Attaches the `; source` lines of an -S golden to the instructions they precede (each `;`
 * line is a new source position, later instructions keep it), so that the listing's -S
 * layout can be compared. (Which line llvm-objdump takes from DWARF is its business; bpfkit
 * gets its lines from BTF.)
 */
function withGoldenSources(sections: Loaded['sections'], golden: string): Loaded['sections'] {
  const bySection = new Map<string, Map<number, string>>();
  let section = '';
  let pendingText: string | undefined;
  for (const line of golden.split('\n')) {
    const s = /^Disassembly of section (.+):$/.exec(line);
    if (s) section = s[1]!;
    if (line.startsWith('; ')) pendingText = line.slice(2);
    const insn = /^\s+(\d+):\t/.exec(line);
    if (insn && pendingText !== undefined) {
      const m = bySection.get(section) ?? new Map<number, string>();
      m.set(Number(insn[1]), pendingText);
      bySection.set(section, m);
      pendingText = undefined;
    }
  }
  return sections.map((s) => {
    const texts = bySection.get(s.name) ?? new Map<number, string>();
    let slot = 0;
    let current: Instruction['source'];
    const insns = s.insns.map((insn, i) => {
      const text = texts.get(slot);
      if (text !== undefined) current = { file: 'golden', line: i + 1, column: 0, text };
      slot += insn.code === 0x18 && insn.imm2 !== undefined ? 2 : 1;
      return current ? { ...insn, source: current } : insn;
    });
    return { ...s, insns };
  });
}

describe('llvm-objdump-16 goldens', () => {
  const fixtures = listFixtures();
  it('has fixtures to compare', () => assert.ok(fixtures.length >= 10, `only ${fixtures.length} fixtures`));
  let compared = 0;
  for (const file of fixtures) {
    const name = fixtureName(file);
    for (const k of LLVM_KINDS) {
      const golden = goldenPath(name, k.kind);
      if (!existsSync(golden)) continue;
      it(`${name}: ${k.kind} (full layout)`, () => {
        const obj = load(file);
        const text = readFileSync(golden, 'utf8');
        const sections = k.source ? withGoldenSources(obj.sections, text) : obj.sections;
        const ours = formatObjdump(path.basename(file), sections.map((s) => ({ ...s, relocations: k.relocations ? s.relocations : [] })), {
          llvm16: true,
          alu32: k.alu32,
          byteOrder: obj.byteOrder,
          source: k.source,
        });
        compared += compareLines(ours, text, `${name}.${k.kind}`);
        if (k.source) {
          // Without the source lines, -S is exactly -d.
          const plain = formatObjdump(path.basename(file), obj.sections.map((x) => ({ ...x, relocations: [] })), { llvm16: true, alu32: k.alu32, byteOrder: obj.byteOrder });
          compareLines(plain, text.split('\n').filter((l) => !l.startsWith('; ')).join('\n'), `${name}.${k.kind} without sources`);
        }
      });
    }
  }
  it('compared a substantial number of instruction lines', () => {
    assert.ok(compared > 1000, `only ${compared} instruction lines compared`);
    console.log(`llvm-objdump-16 goldens: ${compared} instruction lines compared`);
  });
});

describe("bpfkit's own goldens: verifier-log syntax", () => {
  for (const file of listFixtures()) {
    const name = fixtureName(file);
    it(`${name}.kernel.txt`, () => {
      const obj = load(file);
      const ours = obj.sections.map((s) => `# section ${s.name}\n${disassemble(s.insns, { syntax: 'kernel' })}`).join('\n');
      const golden = path.join(ownGoldenDir, `${name}.kernel.txt`);
      if (UPDATE) {
        mkdirSync(ownGoldenDir, { recursive: true });
        writeFileSync(golden, ours);
        return;
      }
      assert.ok(existsSync(golden), `${golden} is missing: run BPFKIT_UPDATE_GOLDEN=1 bash scripts/test.sh test/asm`);
      compareLines(ours, readFileSync(golden, 'utf8'), `${name}.kernel.txt`);
      assert.doesNotMatch(ours, /BUG_/, 'a fixture instruction fell back to BUG_');
    });
  }
});
