// Test helper: a fixture's code sections (bytes, symbols, relocations) read with llvm-readelf-16,
// until bpfkit's ELF object loader is the one the asm tests use.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { ListingRelocation } from '../../src/asm/index.js';
import { decode } from '../../src/isa/decode.js';
import type { Instruction } from '../../src/isa/instruction.js';
import { slotOffsets } from '../../src/isa/instruction.js';

/** One executable section of an object. */
export interface CodeSection {
  readonly name: string;
  readonly index: number;
  readonly bytes: Uint8Array;
  /** Symbols (functions and local labels) by byte offset in the section. */
  readonly symbols: ReadonlyMap<number, string[]>;
  readonly relocations: ListingRelocation[];
}

const readelf = (args: string[], file: string): string => execFileSync('llvm-readelf-16', [...args, file], { encoding: 'utf8' });

/** Byte order of an object, from its ELF header. */
export function objectByteOrder(file: string): 'le' | 'be' {
  return /big endian/.test(readelf(['-h'], file)) ? 'be' : 'le';
}

/** Every SHF_EXECINSTR section of an object, in section-header order. */
export function codeSections(file: string): CodeSection[] {
  const data = readFileSync(file);
  const sections: CodeSection[] = [];
  for (const line of readelf(['-S', '-W'], file).split('\n')) {
    const m = /^\s*\[\s*(\d+)\]\s+(\S+)\s+(\S+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+(\S+)/.exec(line);
    if (!m || m[3] !== 'PROGBITS' || !m[6]!.includes('X')) continue;
    const off = parseInt(m[4]!, 16);
    const size = parseInt(m[5]!, 16);
    if (size === 0) continue;
    sections.push({ name: m[2]!, index: Number(m[1]), bytes: new Uint8Array(data.subarray(off, off + size)), symbols: new Map(), relocations: [] });
  }
  for (const line of readelf(['-s', '-W'], file).split('\n')) {
    const m = /^\s*\d+:\s+([0-9a-f]+)\s+\d+\s+(\w+)\s+\w+\s+\w+\s+(\d+)\s+(\S+)\s*$/.exec(line);
    if (!m || (m[2] !== 'FUNC' && m[2] !== 'NOTYPE')) continue;
    const s = sections.find((x) => x.index === Number(m[3]));
    if (!s) continue;
    const at = parseInt(m[1]!, 16);
    (s.symbols as Map<number, string[]>).set(at, [...(s.symbols.get(at) ?? []), m[4]!]);
  }
  let target: CodeSection | undefined;
  for (const line of readelf(['-r', '-W'], file).split('\n')) {
    const head = /^Relocation section '\.rel(.+)' at offset/.exec(line);
    if (head) {
      target = sections.find((x) => x.name === head[1] || `.${x.name}` === head[1] || x.name === `.${head[1]}`);
      continue;
    }
    const m = /^([0-9a-f]{16})\s+[0-9a-f]+\s+(R_\w+)\s+[0-9a-f]+\s+(\S+)/.exec(line);
    if (m && target) target.relocations.push({ offset: parseInt(m[1]!, 16), type: m[2]!, symbol: m[3]! });
  }
  return sections;
}

/** Decodes a section (leniently: invalid encodings are kept) and attaches its symbols. */
export function sectionInstructions(s: CodeSection, byteOrder: 'le' | 'be'): Instruction[] {
  const insns = decode(s.bytes, { byteOrder, strict: false });
  const slots = slotOffsets(insns);
  return insns.map((insn, i) => {
    const names = s.symbols.get(slots[i]! * 8);
    return names ? { ...insn, symbol: names[0]! } : insn;
  });
}
