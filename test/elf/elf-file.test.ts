// Tests the ELF64 reader against llvm-readelf (compiled BPF objects, system files) and hostile input.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BPF_RELOCATION_NAMES,
  EM_BPF,
  EM_X86_64,
  ET_DYN,
  ET_REL,
  ElfError,
  R_BPF_64_32,
  R_BPF_64_64,
  R_BPF_64_ABS32,
  R_BPF_64_ABS64,
  R_BPF_64_NODYLD32,
  SHF_ALLOC,
  SHF_EXECINSTR,
  SHN_ABS,
  SHN_COMMON,
  SHN_UNDEF,
  SHN_XINDEX,
  SHT_NOBITS,
  SHT_PROGBITS,
  SHT_REL,
  SHT_RELA,
  SHT_STRTAB,
  SHT_SYMTAB,
  SHT_SYMTAB_SHNDX,
  STB_GLOBAL,
  STB_WEAK,
  STT_FUNC,
  STT_SECTION,
  STV_HIDDEN,
  UnsupportedElfError,
  parseElf,
  type ElfFile,
} from '../../src/elf/index.js';

const CLANG = process.env.BPFKIT_CLANG ?? 'clang-16';
const READELF = process.env.BPFKIT_READELF ?? 'llvm-readelf-16';
const XDP_TOOLS_DIR = '/usr/lib/x86_64-linux-gnu/bpf';

// A BPF program touching every relocation type and special section index the loader will see:
// ld_imm64 to maps/data (R_BPF_64_64), a pointer in .data (ABS64), a BPF-to-BPF call (64_32),
// BTF/BTF.ext (ABS32, NODYLD32), a weak extern (SHN_UNDEF), a common symbol (-fcommon), .bss,
// .rodata and a hidden symbol.
const RICH_C = `
#define SEC(n) __attribute__((section(n), used))
typedef unsigned int u32;
struct xdp_md { u32 data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex; };
struct { int (*type)[1]; int (*max_entries)[16]; } stats SEC(".maps");
int counter;
int zeroed = 0;
int limit = 7;
const int consts[4] = {1, 2, 3, 4};
int *ptr = &limit;
__attribute__((visibility("hidden"))) int hidden_total = 3;
extern int ext_config __attribute__((weak));
static void *(*bpf_map_lookup_elem)(void *, const void *) = (void *)1;
__attribute__((noinline)) int sub(int x) { return x * limit + consts[x & 3] + hidden_total; }
SEC("xdp") int prog(struct xdp_md *ctx) {
  counter++;
  zeroed++;
  if (&ext_config) counter += ext_config;
  return sub(ctx->ingress_ifindex) & 3;
}
SEC("tc") int prog2(struct xdp_md *ctx) {
  int *v = bpf_map_lookup_elem(&stats, &counter);
  return v ? sub(*v) + *ptr : 0;
}
char _license[] SEC("license") = "GPL";
`;

const X86_C = `
extern int g(int);
int h;
static int s[4] = {1, 2, 3, 4};
int f(int x) { return g(x) + h + s[x & 3]; }
`;

/** One variable per section: more than SHN_LORESERVE sections, so SHN_XINDEX and e_shnum = 0. */
const MANY_SECTIONS = 66000;
const MANY_C = Array.from({ length: MANY_SECTIONS }, (_, i) => `int v${i} __attribute__((section("s${i}"))) = ${i};`).join('\n');

let dir = '';
const objects: Record<string, string> = {};

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'bpfkit-elf-'));
  const compile = (name: string, source: string, args: string[], srcName = name): void => {
    const src = join(dir, `${srcName}.c`);
    const out = join(dir, `${name}.o`);
    writeFileSync(src, source);
    execFileSync(CLANG, ['-O2', ...args, '-c', src, '-o', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    objects[name] = out;
  };
  compile('rich-el', RICH_C, ['-g', '-fcommon', '-target', 'bpf'], 'rich');
  compile('rich-eb', RICH_C, ['-g', '-fcommon', '-target', 'bpfeb'], 'rich');
  compile('x86', X86_C, ['-g', '-target', 'x86_64-linux-gnu']);
  compile('many', MANY_C, ['-target', 'bpf']);
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// The oracle: llvm-readelf's JSON (header, sections, symbols) and LLVM-style expanded relocations
// (its JSON output has no relocations in LLVM 16).
// ---------------------------------------------------------------------------------------------

interface JsonNamed {
  Value: string;
  RawValue: number;
}
interface JsonSection {
  Index: number;
  Name: JsonNamed;
  Type: JsonNamed;
  Flags: { RawFlags: number };
  Address: number;
  Offset: number;
  Size: number;
  Link: number;
  Info: number;
  AddressAlignment: number;
  EntrySize: number;
}
interface JsonSymbol {
  Name: JsonNamed;
  Value: number;
  Size: number;
  Binding: JsonNamed;
  Type: JsonNamed;
  Other: number | { RawFlags: number };
  Section: JsonNamed;
}
interface JsonFile {
  ElfHeader: {
    Ident: { Class: JsonNamed; DataEncoding: JsonNamed };
    Type: string;
    Machine: JsonNamed;
    Version: number;
    Entry: number;
    SectionHeaderOffset: number;
    Flags: { RawFlags: number };
    SectionHeaderCount: number | string;
    StringTableSectionIndex: number | string;
  };
  Sections?: { Section: JsonSection }[];
  Symbols?: { Symbol: JsonSymbol }[];
  DynamicSymbols?: { Symbol: JsonSymbol }[];
}
interface OracleRelocation {
  offset: bigint;
  type: number;
  typeName: string;
  symbol: number;
  addend: bigint | undefined;
}

function readelf(path: string, args: string[]): string {
  return execFileSync(READELF, [...args, path], { maxBuffer: 1 << 30, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `66006`, `"0 (66006)"` or `"1"`: the last number in what llvm-readelf printed. */
function lastNumber(v: number | string): number {
  if (typeof v === 'number') return v;
  const m = /(\d+)\)?$/.exec(v);
  assert.ok(m, `no number in ${v}`);
  return Number(m[1]);
}

/** Relocation sections (by section index) from `llvm-readelf -r --expand-relocs --elf-output-style=LLVM`. */
function oracleRelocations(path: string): Map<number, { name: string; entries: OracleRelocation[] }> {
  const out = new Map<number, { name: string; entries: OracleRelocation[] }>();
  let current: OracleRelocation[] | undefined;
  let entry: Partial<OracleRelocation> = {};
  for (const line of readelf(path, ['-r', '--expand-relocs', '--elf-output-style=LLVM']).split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^\s*Section \((\d+)\) (.*) \{$/.exec(line))) {
      current = [];
      out.set(Number(m[1]), { name: m[2] as string, entries: current });
    } else if (/^\s*Relocation \{$/.test(line)) {
      entry = {};
    } else if ((m = /^\s*Offset: 0x([0-9A-Fa-f]+)$/.exec(line))) {
      entry.offset = BigInt(`0x${m[1]}`);
    } else if ((m = /^\s*Type: (\S+) \((\d+)\)$/.exec(line))) {
      entry.typeName = m[1] as string;
      entry.type = Number(m[2]);
    } else if ((m = /^\s*Symbol: .*\((\d+)\)$/.exec(line))) {
      entry.symbol = Number(m[1]);
    } else if ((m = /^\s*Addend: (-?)0x([0-9A-Fa-f]+)$/.exec(line))) {
      const magnitude = BigInt(`0x${m[2]}`);
      entry.addend = BigInt.asIntN(64, m[1] === '-' ? -magnitude : magnitude);
    } else if (/^\s*\}$/.test(line) && entry.offset !== undefined) {
      assert.ok(current, 'relocation outside a section');
      current.push({ addend: undefined, ...entry } as OracleRelocation);
      entry = {};
    }
  }
  return out;
}

function compareSymbols(file: ElfFile, mine: ReturnType<ElfFile['symbolsOf']>, theirs: { Symbol: JsonSymbol }[], what: string): void {
  assert.equal(mine.length, theirs.length, `${what}: symbol count`);
  theirs.forEach(({ Symbol: o }, i) => {
    const s = mine[i];
    assert.ok(s);
    const at = `${what} symbol ${i} (${o.Name.Value})`;
    assert.equal(s.index, i, at);
    assert.equal(s.nameOffset, o.Name.RawValue, at);
    // llvm-readelf names unnamed section symbols after their section and versions dynamic ones.
    if (s.type === STT_SECTION && s.name === '') assert.equal(file.sections[s.shndx]?.name, o.Name.Value, at);
    else assert.ok(o.Name.Value === s.name || o.Name.Value.startsWith(`${s.name}@`), `${at}: name ${s.name}`);
    assert.equal(s.value, BigInt(o.Value), at);
    assert.equal(s.size, BigInt(o.Size), at);
    assert.equal(s.bind, o.Binding.RawValue, at);
    assert.equal(s.type, o.Type.RawValue, at);
    assert.equal(s.other, typeof o.Other === 'number' ? o.Other : o.Other.RawFlags, at);
    assert.equal(s.visibility, s.other & 3, at);
    assert.equal(s.shndx, o.Section.RawValue, at);
  });
}

/** Parses `path` and asserts header, sections, symbols and relocations equal llvm-readelf's. */
function assertMatchesOracle(path: string): ElfFile {
  const bytes = new Uint8Array(readFileSync(path));
  const file = parseElf(bytes);
  const json = (JSON.parse(readelf(path, ['-h', '-S', '-s', '--dyn-syms', '--elf-output-style=JSON'])) as JsonFile[])[0];
  assert.ok(json);

  const h = json.ElfHeader;
  assert.equal(file.header.class, h.Ident.Class.RawValue);
  assert.equal(file.header.data, h.Ident.DataEncoding.RawValue);
  assert.equal(file.byteOrder, h.Ident.DataEncoding.RawValue === 1 ? 'le' : 'be');
  assert.equal(file.type, Number.parseInt(/\(0x([0-9a-fA-F]+)\)/.exec(h.Type)?.[1] ?? 'NaN', 16));
  assert.equal(file.machine, h.Machine.RawValue);
  assert.equal(file.header.version, h.Version);
  assert.equal(file.header.entry, BigInt(h.Entry));
  assert.equal(file.header.shoff, h.SectionHeaderOffset);
  assert.equal(file.header.flags, h.Flags.RawFlags);
  assert.equal(file.header.shnum, lastNumber(h.SectionHeaderCount));
  assert.equal(file.header.shstrndx, lastNumber(h.StringTableSectionIndex));

  const sections = json.Sections ?? [];
  assert.equal(file.sections.length, sections.length, 'section count');
  for (const { Section: o } of sections) {
    const s = file.sections[o.Index];
    assert.ok(s, `section ${o.Index}`);
    const at = `section ${o.Index} (${o.Name.Value})`;
    assert.equal(s.index, o.Index, at);
    assert.equal(s.name, o.Name.Value, at);
    assert.equal(s.nameOffset, o.Name.RawValue, at);
    assert.equal(s.type, o.Type.RawValue, at);
    assert.equal(s.flags, BigInt(o.Flags.RawFlags), at);
    assert.equal(s.addr, BigInt(o.Address), at);
    assert.equal(s.offset, o.Offset, at);
    assert.equal(s.size, o.Size, at);
    assert.equal(s.link, o.Link, at);
    assert.equal(s.info, o.Info, at);
    assert.equal(s.addralign, BigInt(o.AddressAlignment), at);
    assert.equal(s.entsize, o.EntrySize, at);
    assert.equal(file.sectionByName(s.name)?.name, s.name, at);
    const data = s.data();
    if (s.type === SHT_NOBITS || s.index === 0) {
      assert.equal(data.length, 0, at);
    } else {
      assert.equal(data.length, s.size, at);
      // Zero-copy: a view into the caller's bytes, at the section's file offset.
      assert.equal(data.buffer, bytes.buffer, at);
      assert.equal(data.byteOffset, bytes.byteOffset + s.offset, at);
    }
  }

  compareSymbols(file, file.symbols, json.Symbols ?? [], '.symtab');
  compareSymbols(file, file.dynamicSymbols, json.DynamicSymbols ?? [], '.dynsym');

  const relocs = oracleRelocations(path);
  const expected = [...relocs.keys()].filter((i) => file.sections[i]?.type === SHT_REL || file.sections[i]?.type === SHT_RELA);
  assert.deepEqual(
    file.relocations.map((r) => r.section.index),
    expected,
    'relocation sections',
  );
  for (const rs of file.relocations) {
    const o = relocs.get(rs.section.index);
    assert.ok(o);
    const at = `relocation section ${rs.section.index} (${rs.section.name})`;
    assert.equal(rs.section.name, o.name, at);
    assert.equal(rs.count, o.entries.length, at);
    assert.equal(rs.rela, rs.section.type === SHT_RELA, at);
    assert.equal(rs.target, rs.section.info === 0 ? undefined : file.sections[rs.section.info], at);
    const mine = rs.entries;
    assert.equal(mine.length, o.entries.length, at);
    o.entries.forEach((e, i) => {
      const r = mine[i];
      assert.ok(r);
      assert.equal(r.index, i, `${at} entry ${i}`);
      assert.equal(r.offset, e.offset, `${at} entry ${i}`);
      assert.equal(r.type, e.type, `${at} entry ${i}`);
      assert.equal(r.symbol, e.symbol, `${at} entry ${i}`);
      assert.equal(r.addend, rs.rela ? e.addend : 0n, `${at} entry ${i}`);
      if (file.machine === EM_BPF) assert.equal(BPF_RELOCATION_NAMES.get(r.type), e.typeName, `${at} entry ${i}`);
    });
  }
  return file;
}

// ---------------------------------------------------------------------------------------------
// Real files against the oracle
// ---------------------------------------------------------------------------------------------

describe('parseElf against llvm-readelf', () => {
  test('little-endian BPF object (-target bpf)', () => {
    const file = assertMatchesOracle(objects['rich-el'] as string);
    assert.equal(file.machine, EM_BPF);
    assert.equal(file.type, ET_REL);
    assert.equal(file.byteOrder, 'le');

    // The object really exercises what the loader needs.
    const types = new Set(file.relocations.flatMap((r) => r.entries.map((e) => e.type)));
    for (const t of [R_BPF_64_64, R_BPF_64_ABS64, R_BPF_64_ABS32, R_BPF_64_NODYLD32, R_BPF_64_32]) {
      assert.ok(types.has(t), `relocation type ${BPF_RELOCATION_NAMES.get(t)} present`);
    }
    const sym = (name: string) => file.symbols.find((s) => s.name === name);
    assert.equal(sym('counter')?.shndx, SHN_COMMON);
    assert.equal(sym('ext_config')?.shndx, SHN_UNDEF);
    assert.equal(sym('ext_config')?.bind, STB_WEAK);
    assert.ok(file.symbols.some((s) => s.shndx === SHN_ABS), 'an SHN_ABS (file) symbol');
    assert.equal(sym('hidden_total')?.visibility, STV_HIDDEN);
    assert.equal(sym('prog')?.type, STT_FUNC);
    assert.equal(sym('prog')?.bind, STB_GLOBAL);
    assert.equal(file.sections[sym('prog')?.shndx ?? 0]?.name, 'xdp');

    const xdp = file.sectionByName('xdp');
    assert.ok(xdp);
    assert.equal(xdp.type, SHT_PROGBITS);
    assert.equal(xdp.flags & (SHF_ALLOC | SHF_EXECINSTR), SHF_ALLOC | SHF_EXECINSTR);
    assert.equal(file.relocations.find((r) => r.target === xdp)?.section.name, '.relxdp');
    const bss = file.sectionByName('.bss');
    assert.equal(bss?.type, SHT_NOBITS);
    assert.equal(bss?.size, 4);
    assert.equal(bss?.data().length, 0);
    assert.equal(new TextDecoder().decode(file.sectionByName('license')?.data()), 'GPL\0');
  });

  test('big-endian BPF object (-target bpfeb) matches the oracle and the little-endian twin', () => {
    const be = assertMatchesOracle(objects['rich-eb'] as string);
    const le = parseElf(new Uint8Array(readFileSync(objects['rich-el'] as string)));
    assert.equal(be.byteOrder, 'be');
    assert.equal(be.machine, EM_BPF);
    // Same program, other byte order: same structure, same symbols, same relocations.
    const shape = (f: ElfFile) => ({
      sections: f.sections.map((s) => [s.name, s.type, s.flags, s.size, s.entsize]),
      symbols: f.symbols.map((s) => [s.name, s.value, s.size, s.bind, s.type, s.other, s.shndx]),
      relocations: f.relocations.map((r) => [r.section.name, r.target?.name, r.entries.map((e) => [e.offset, e.symbol, e.type])]),
    });
    assert.deepEqual(shape(be), shape(le));
  });

  test(`more than 65280 sections: e_shnum escape and SHN_XINDEX through SHT_SYMTAB_SHNDX`, () => {
    const file = assertMatchesOracle(objects.many as string);
    assert.ok(file.header.shnum > MANY_SECTIONS);
    assert.ok(file.sections.some((s) => s.type === SHT_SYMTAB_SHNDX));
    const last = file.symbols.find((s) => s.name === `v${MANY_SECTIONS - 1}`);
    assert.ok(last && last.shndx > 0xff00, 'a symbol whose section needs an extended index');
    assert.equal(file.sections[last.shndx]?.name, `s${MANY_SECTIONS - 1}`);
  });

  test('x86-64 relocatable object (SHT_RELA with negative addends)', () => {
    const file = assertMatchesOracle(objects.x86 as string);
    assert.equal(file.machine, EM_X86_64);
    assert.ok(file.relocations.some((r) => r.rela && r.entries.some((e) => e.addend < 0n)));
  });

  for (const path of ['/usr/bin/ls', '/usr/lib/x86_64-linux-gnu/libc.so.6', '/usr/lib/x86_64-linux-gnu/libz.so.1']) {
    test(`system file ${path}`, (t) => {
      if (!existsSync(path)) return t.skip(`${path} not present on this system`);
      const file = assertMatchesOracle(path);
      assert.equal(file.machine, EM_X86_64);
      assert.ok(file.type === ET_DYN, 'a shared object or PIE');
      assert.ok(file.dynamicSymbols.length > 0);
    });
  }

  test(`every xdp-tools object in ${XDP_TOOLS_DIR}`, (t) => {
    if (!existsSync(XDP_TOOLS_DIR)) return t.skip(`${XDP_TOOLS_DIR} missing: apt-get install -y xdp-tools`);
    const names = readdirSync(XDP_TOOLS_DIR).filter((n) => n.endsWith('.o'));
    assert.ok(names.length > 0);
    for (const name of names) {
      const file = assertMatchesOracle(join(XDP_TOOLS_DIR, name));
      assert.equal(file.machine, EM_BPF, name);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// 32-bit files
// ---------------------------------------------------------------------------------------------

describe('ELFCLASS32', () => {
  test('a hand-built 32-bit header is an UnsupportedElfError (an ElfError)', () => {
    const bytes = new Uint8Array(52);
    bytes.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
    assert.throws(
      () => parseElf(bytes),
      (e: unknown) =>
        e instanceof UnsupportedElfError &&
        e instanceof ElfError &&
        e.code === 'ERR_ELF_UNSUPPORTED' &&
        e.feature === 'ELFCLASS32' &&
        e.offset === 4 &&
        /ELFCLASS32/.test(e.message),
    );
  });

  test('a 32-bit system library', (t) => {
    const path = '/lib32/ld-linux.so.2';
    if (!existsSync(path)) return t.skip(`${path} not present (no 32-bit libc installed)`);
    assert.throws(() => parseElf(new Uint8Array(readFileSync(path))), UnsupportedElfError);
  });
});

// ---------------------------------------------------------------------------------------------
// Hand-built files: the escapes and hostile input
// ---------------------------------------------------------------------------------------------

interface SectionSpec {
  name: string;
  type: number;
  flags?: bigint;
  data?: Uint8Array;
  /** Declared size when it differs from data (NOBITS, lies). */
  size?: bigint;
  offset?: bigint;
  link?: number;
  info?: number;
  entsize?: bigint;
}

interface BuildOptions {
  le?: boolean;
  escapeShnum?: boolean;
  escapeShstrndx?: boolean;
}

/**
 * Writes an ELF64 relocatable file: the header, each section's data, a generated `.shstrtab`
 * (the last section), then the section header table. Sections are numbered from 1.
 */
function buildElf(specs: SectionSpec[], opts: BuildOptions = {}): Uint8Array {
  const le = opts.le ?? true;
  const names: number[] = [0];
  const nameOffsets: number[] = [];
  for (const s of [...specs, { name: '.shstrtab' }]) {
    nameOffsets.push(names.length);
    names.push(...new TextEncoder().encode(s.name), 0);
  }
  const all: SectionSpec[] = [...specs, { name: '.shstrtab', type: SHT_STRTAB, data: new Uint8Array(names) }];
  const align8 = (n: number) => (n + 7) & ~7;
  let at = 64;
  const offsets = all.map((s) => {
    const o = at;
    at = align8(at + (s.data?.length ?? 0));
    return o;
  });
  const shoff = at;
  const shnum = all.length + 1;
  const bytes = new Uint8Array(shoff + shnum * 64);
  const v = new DataView(bytes.buffer);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, le ? 1 : 2, 1]);
  v.setUint16(16, ET_REL, le);
  v.setUint16(18, EM_BPF, le);
  v.setUint32(20, 1, le);
  v.setBigUint64(40, BigInt(shoff), le);
  v.setUint16(52, 64, le);
  v.setUint16(58, 64, le);
  v.setUint16(60, opts.escapeShnum ? 0 : shnum, le);
  v.setUint16(62, opts.escapeShstrndx ? SHN_XINDEX : shnum - 1, le);
  if (opts.escapeShnum) v.setBigUint64(shoff + 32, BigInt(shnum), le);
  if (opts.escapeShstrndx) v.setUint32(shoff + 40, shnum - 1, le);
  all.forEach((s, i) => {
    const h = shoff + (i + 1) * 64;
    if (s.data) bytes.set(s.data, offsets[i]);
    v.setUint32(h, nameOffsets[i] as number, le);
    v.setUint32(h + 4, s.type, le);
    v.setBigUint64(h + 8, s.flags ?? 0n, le);
    v.setBigUint64(h + 24, s.offset ?? BigInt(offsets[i] as number), le);
    v.setBigUint64(h + 32, s.size ?? BigInt(s.data?.length ?? 0), le);
    v.setUint32(h + 40, s.link ?? 0, le);
    v.setUint32(h + 44, s.info ?? 0, le);
    v.setBigUint64(h + 48, 1n, le);
    v.setBigUint64(h + 56, s.entsize ?? 0n, le);
  });
  return bytes;
}

/** Elf64_Sym entries: [st_name, st_info, st_shndx, st_value]. */
function symbols(entries: [number, number, number, bigint][], le = true): Uint8Array {
  const out = new Uint8Array(entries.length * 24);
  const v = new DataView(out.buffer);
  entries.forEach(([name, info, shndx, value], i) => {
    v.setUint32(i * 24, name, le);
    v.setUint8(i * 24 + 4, info);
    v.setUint16(i * 24 + 6, shndx, le);
    v.setBigUint64(i * 24 + 8, value, le);
  });
  return out;
}

/** Elf64_Rel entries: [r_offset, symbol, type]. */
function rels(entries: [bigint, number, number][], le = true): Uint8Array {
  const out = new Uint8Array(entries.length * 16);
  const v = new DataView(out.buffer);
  entries.forEach(([offset, sym, type], i) => {
    v.setBigUint64(i * 16, offset, le);
    v.setBigUint64(i * 16 + 8, (BigInt(sym) << 32n) | BigInt(type), le);
  });
  return out;
}

const enc = (s: string) => new TextEncoder().encode(s);
const STRTAB = enc('\0prog\0map\0');
const CODE = new Uint8Array(64);
const GLOBAL_FUNC = (STB_GLOBAL << 4) | STT_FUNC;

/** A small valid object: 1 .text, 2 .rel.text, 3 .symtab, 4 .strtab, 5 .shndx, 6 .shstrtab. */
function smallObject(over: { rel?: Uint8Array; syms?: Uint8Array; strtab?: Uint8Array; relLink?: number; symLink?: number } = {}, opts: BuildOptions = {}): Uint8Array {
  const le = opts.le ?? true;
  const syms = over.syms ?? symbols([[0, 0, 0, 0n], [1, GLOBAL_FUNC, 1, 0n], [6, GLOBAL_FUNC, SHN_XINDEX, 8n]], le);
  const shndx = new Uint8Array(12);
  new DataView(shndx.buffer).setUint32(8, 1, le);
  return buildElf(
    [
      { name: '.text', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, data: CODE },
      { name: '.rel.text', type: SHT_REL, data: over.rel ?? rels([[0n, 1, R_BPF_64_64], [8n, 2, R_BPF_64_32]], le), link: over.relLink ?? 3, info: 1, entsize: 16n },
      { name: '.symtab', type: SHT_SYMTAB, data: syms, link: over.symLink ?? 4, info: 1, entsize: 24n },
      { name: '.strtab', type: SHT_STRTAB, data: over.strtab ?? STRTAB },
      { name: '.symtab_shndx', type: SHT_SYMTAB_SHNDX, data: shndx, link: 3, entsize: 4n },
    ],
    opts,
  );
}

/** Asserts `fn` throws an ElfError ERR_ELF_MALFORMED whose message matches and fields equal `fields`. */
function assertElfError(fn: () => unknown, message: RegExp, fields: { section?: string | number; offset?: number } = {}): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ElfError, `expected ElfError, got ${String(e)}`);
    assert.equal(e.code, 'ERR_ELF_MALFORMED');
    assert.match(e.message, message);
    if ('section' in fields) assert.equal(e.section, fields.section);
    if ('offset' in fields) assert.equal(e.offset, fields.offset);
    return true;
  });
}

/** Writes a u16/u32/u64 into a copy of `bytes`. */
function patch(bytes: Uint8Array, at: number, width: 2 | 4 | 8, value: number | bigint, le = true): Uint8Array {
  const copy = bytes.slice();
  const v = new DataView(copy.buffer);
  if (width === 2) v.setUint16(at, Number(value), le);
  else if (width === 4) v.setUint32(at, Number(value), le);
  else v.setBigUint64(at, BigInt(value), le);
  return copy;
}

/** File offset of section `index`'s header. */
function shdr(bytes: Uint8Array, index: number): number {
  return Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(40, true)) + index * 64;
}

describe('hand-built files', () => {
  for (const le of [true, false]) {
    test(`escapes (e_shnum 0, e_shstrndx SHN_XINDEX, st_shndx SHN_XINDEX), ${le ? 'le' : 'be'}, agree with llvm-readelf`, () => {
      const bytes = smallObject({}, { le, escapeShnum: true, escapeShstrndx: true });
      const path = join(dir, `escapes-${le ? 'le' : 'be'}.o`);
      writeFileSync(path, bytes);
      const file = assertMatchesOracle(path);
      assert.equal(file.header.shnum, 7);
      assert.equal(file.header.shstrndx, 6);
      assert.deepEqual(
        file.symbols.map((s) => [s.name, s.shndx]),
        [['', 0], ['prog', 1], ['map', 1]],
      );
      assert.deepEqual(
        file.relocations[0]?.entries.map((r) => [r.offset, r.symbol, r.type]),
        [[0n, 1, R_BPF_64_64], [8n, 2, R_BPF_64_32]],
      );
    });
  }

  test('NOBITS: declared size reported, empty view, offset not checked', () => {
    const bytes = buildElf([{ name: '.bss', type: SHT_NOBITS, size: 1n << 40n, offset: 1n << 44n }]);
    const bss = parseElf(bytes).sectionByName('.bss');
    assert.equal(bss?.size, 2 ** 40);
    assert.equal(bss?.data().length, 0);
  });

  test('no section header table', () => {
    const bytes = patch(patch(patch(smallObject(), 40, 8, 0), 60, 2, 0), 62, 2, 0);
    const file = parseElf(bytes);
    assert.equal(file.sections.length, 0);
    assert.deepEqual(file.symbols, []);
    assert.deepEqual(file.relocations, []);
  });
});

describe('hostile input: ElfError with section and offset', () => {
  const good = smallObject();
  const relHdr = shdr(good, 2);
  const symHdr = shdr(good, 3);
  const relOffset = parseElf(good).sections[2]?.offset ?? 0;

  test('the base object is valid', () => {
    const file = parseElf(good);
    assert.equal(file.relocations[0]?.entries.length, 2);
    assert.equal(file.symbols.length, 3);
  });

  test('too short, bad magic, bad class, bad data encoding, truncated header', () => {
    assertElfError(() => parseElf(new Uint8Array(0)), /too short/, { offset: 0 });
    assertElfError(() => parseElf(enc('\x7fELF')), /bad magic|too short/, { offset: 0 });
    assertElfError(() => parseElf(enc('MZ\0\0\0\0\0\0\0\0\0\0\0\0\0\0')), /not an ELF file/, { offset: 0 });
    assertElfError(() => parseElf(patch(good, 4, 2, 0x0103)), /invalid class 3/, { offset: 4, section: undefined });
    assertElfError(() => parseElf(patch(good, 4, 2, 0x0002)), /invalid data encoding 0/, { offset: 5 });
    assertElfError(() => parseElf(good.subarray(0, 40)), /too short.*ELF64 header/, { offset: 0 });
  });

  test('section header table past the end, wrong e_shentsize, absurd counts', () => {
    assertElfError(() => parseElf(patch(good, 40, 8, 1n << 40n)), /section header table at offset 0x10000000000 is past the end/, { offset: 40 });
    assertElfError(() => parseElf(patch(good, 40, 8, 1n << 62n)), /e_shoff 0x4000000000000000 is too large/, { offset: 40 });
    assertElfError(() => parseElf(patch(good, 58, 2, 40)), /e_shentsize is 40, expected 64/, { offset: 58 });
    assertElfError(() => parseElf(patch(good, 60, 2, 0xfff0)), /65520 entries .* extends past the end/);
    // e_shnum 0: the count comes from section 0's sh_size; 2^40 must not allocate.
    const escaped = patch(patch(good, 60, 2, 0), shdr(good, 0) + 32, 8, 1n << 40n);
    assertElfError(() => parseElf(escaped), /1099511627776 entries .* extends past the end/);
    assertElfError(() => parseElf(patch(good, 62, 2, 99)), /e_shstrndx 99 out of range \(7 sections\)/, { offset: 62 });
    assertElfError(() => parseElf(patch(good, 62, 2, 1)), /section 1: section name table .* SHT_PROGBITS, expected SHT_STRTAB/, { section: 1 });
  });

  test('section contents past the end of the file', () => {
    assertElfError(() => parseElf(patch(good, relHdr + 32, 8, 1n << 20n)), /^section 2: contents at offset .* extend past the end/, { section: 2, offset: relHdr + 24 });
    assertElfError(() => parseElf(patch(good, relHdr + 24, 8, 0xffffffffn)), /extend past the end/, { section: 2 });
    assertElfError(() => parseElf(patch(good, relHdr + 24, 8, 0xffffffffffffffffn)), /sh_offset 0xffffffffffffffff is too large/, { section: 2, offset: relHdr + 24 });
    assertElfError(() => parseElf(good.subarray(0, relOffset + 8).slice()), /past the end/);
  });

  test('section names: out of range and not NUL-terminated', () => {
    assertElfError(() => parseElf(patch(good, relHdr, 4, 0x7fff)), /^section 2: section name: name offset 0x7fff out of range/, { section: 2, offset: relHdr });
    const shstrtab = parseElf(good).sections[6];
    assert.ok(shstrtab);
    const unterminated = good.slice();
    unterminated[shstrtab.offset + shstrtab.size - 1] = 0x41; // '.shstrtab' loses its NUL
    assertElfError(() => parseElf(unterminated), /section 6: section name: name at offset .* is not NUL-terminated/, { section: 6 });
  });

  test('relocation symbol index out of range: the documented message', () => {
    const bytes = smallObject({ rel: rels([[0n, 1, 1], [8n, 2, 10], [16n, 0, 0], [24n, 99, 1]]) });
    const file = parseElf(bytes); // entries are checked lazily
    const at = (file.sections[2]?.offset ?? 0) + 3 * 16;
    assertElfError(
      () => file.relocations[0]?.entries,
      new RegExp(`^section 2 \\("\\.rel\\.text"\\): entry 3 at offset 0x${at.toString(16)}: symbol index 99 out of range \\(3 symbols\\)$`),
      { section: '.rel.text', offset: at },
    );
  });

  test('table headers: entsize, partial entries, sh_link and sh_info out of range or self-referencing', () => {
    assertElfError(() => parseElf(patch(good, symHdr + 56, 8, 16n)), /section 3 \("\.symtab"\): sh_entsize is 16, expected 24/, { section: '.symtab', offset: symHdr + 56 });
    assertElfError(() => parseElf(patch(good, relHdr + 56, 8, 0n)), /sh_entsize is 0, expected 16/, { section: '.rel.text' });
    assertElfError(() => parseElf(patch(good, relHdr + 32, 8, 24n)), /sh_size 0x18 is not a multiple of the entry size 16/, { offset: relHdr + 32 });
    assertElfError(() => parseElf(patch(good, symHdr + 40, 4, 1000)), /sh_link 1000 out of range \(7 sections\)/, { section: '.symtab', offset: symHdr + 40 });
    assertElfError(() => parseElf(patch(good, symHdr + 40, 4, 3)), /sh_link 3 points to section 3 \("\.symtab"\) of type SHT_SYMTAB, expected SHT_STRTAB/);
    assertElfError(() => parseElf(patch(good, relHdr + 40, 4, 2)), /\.rel\.text.*sh_link 2 points to section 2 .* expected SHT_SYMTAB or SHT_DYNSYM/);
    assertElfError(() => parseElf(patch(good, relHdr + 44, 4, 7)), /sh_info 7 \(target section\) out of range/, { offset: relHdr + 44 });
    // A relocation section targeting itself is odd but harmless: it parses, nothing loops.
    assert.equal(parseElf(patch(good, relHdr + 44, 4, 2)).relocations[0]?.target?.name, '.rel.text');
  });

  test('symbols: name out of range, unterminated name, st_shndx out of range, SHN_XINDEX without a table', () => {
    const badName = smallObject({ syms: symbols([[0, 0, 0, 0n], [500, GLOBAL_FUNC, 1, 0n]]) });
    assertElfError(() => parseElf(badName).symbols, /section 3 \("\.symtab"\): symbol 1 at offset 0x[0-9a-f]+: name offset 0x1f4 out of range \(string table has 10 bytes\)/, { section: '.symtab' });
    const unterminated = smallObject({ strtab: enc('\0prog') });
    assertElfError(() => parseElf(unterminated).symbols, /symbol 1 .*name at offset 0x1 is not NUL-terminated/);
    const badShndx = smallObject({ syms: symbols([[0, 0, 0, 0n], [1, GLOBAL_FUNC, 0xfe00, 0n]]) });
    assertElfError(() => parseElf(badShndx).symbols, /symbol 1 .*st_shndx 65024 out of range \(7 sections\)/);
    // SHT_SYMTAB_SHNDX made to point away from the symbol table: SHN_XINDEX cannot be resolved.
    const noTable = patch(good, shdr(good, 5) + 40, 4, 4);
    assertElfError(() => parseElf(noTable), /section 5 \("\.symtab_shndx"\): sh_link 4 .* expected SHT_SYMTAB/);
    const shortTable = patch(good, shdr(good, 5) + 32, 8, 4n);
    assertElfError(() => parseElf(shortTable).symbols, /symbol 2 .*SHN_XINDEX but section 5 \("\.symtab_shndx"\) has only 1 entries/);
    // Reserved indexes other than SHN_XINDEX pass through unchanged.
    const abs = smallObject({ syms: symbols([[0, 0, 0, 0n], [1, GLOBAL_FUNC, SHN_ABS, 5n]]) });
    assert.equal(parseElf(abs).symbols[1]?.shndx, SHN_ABS);
  });

  test('symbolsOf rejects a section that is not a symbol table of this file', () => {
    const file = parseElf(good);
    assertElfError(() => file.symbolsOf(file.sections[1] as never), /section 1 \("\.text"\): not a symbol table/);
  });

  test('withContext keeps class, code and fields', () => {
    try {
      parseElf(patch(good, symHdr + 56, 8, 16n));
      assert.fail('expected an error');
    } catch (e) {
      assert.ok(e instanceof ElfError);
      const wrapped = e.withContext('object "x.o"');
      assert.ok(wrapped instanceof ElfError);
      assert.equal(wrapped.code, 'ERR_ELF_MALFORMED');
      assert.equal(wrapped.section, '.symtab');
      assert.equal(wrapped.offset, e.offset);
      assert.match(wrapped.message, /^object "x\.o": section 3/);
    }
  });
});
