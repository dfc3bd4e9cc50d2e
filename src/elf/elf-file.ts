// The generic ELF64 reader: header, sections, symbols and relocations as zero-copy views over the bytes.

import {
  ELF64_EHDR_SIZE,
  ELF64_REL_SIZE,
  ELF64_RELA_SIZE,
  ELF64_SHDR_SIZE,
  ELF64_SYM_SIZE,
  ELF_MAGIC,
  ELF_SHNDX_ENTRY_SIZE,
  ELFCLASS32,
  ELFCLASS64,
  ELFDATA2LSB,
  ELFDATA2MSB,
  PN_XNUM,
  SHN_LORESERVE,
  SHN_UNDEF,
  SHN_XINDEX,
  SHT_DYNSYM,
  SHT_NOBITS,
  SHT_NULL,
  SHT_REL,
  SHT_RELA,
  SHT_STRTAB,
  SHT_SYMTAB,
  SHT_SYMTAB_SHNDX,
  sectionTypeName,
} from './elf-constants.js';
import { ElfError, UnsupportedElfError, type ElfErrorLocation } from './errors.js';

/** Byte order of a file: `'le'` (ELFDATA2LSB) or `'be'` (ELFDATA2MSB). */
export type ByteOrder = 'le' | 'be';

/** The ELF64 file header (Elf64_Ehdr), with the SHN_XINDEX / PN_XNUM escapes resolved. */
export interface ElfHeader {
  /** e_ident[EI_CLASS]; always ELFCLASS64 here. */
  readonly class: number;
  /** e_ident[EI_DATA]: ELFDATA2LSB or ELFDATA2MSB. */
  readonly data: number;
  /** The byte order `data` stands for. */
  readonly byteOrder: ByteOrder;
  /** e_ident[EI_VERSION]. */
  readonly identVersion: number;
  /** e_ident[EI_OSABI]. */
  readonly osabi: number;
  /** e_ident[EI_ABIVERSION]. */
  readonly abiVersion: number;
  /** e_type: ET_REL, ET_EXEC, ET_DYN... */
  readonly type: number;
  /** e_machine: EM_BPF for BPF objects; checking it is the caller's job. */
  readonly machine: number;
  /** e_version. */
  readonly version: number;
  /** e_entry. */
  readonly entry: bigint;
  /** e_phoff (program headers are not read; reported as found). */
  readonly phoff: bigint;
  /** e_shoff, the file offset of the section header table (0 when there is none). */
  readonly shoff: number;
  /** e_flags. */
  readonly flags: number;
  /** e_ehsize. */
  readonly ehsize: number;
  /** e_phentsize. */
  readonly phentsize: number;
  /** Number of program headers (e_phnum, or section 0's sh_info when e_phnum is PN_XNUM). */
  readonly phnum: number;
  /** e_shentsize. */
  readonly shentsize: number;
  /** Number of section headers (e_shnum, or section 0's sh_size when e_shnum is 0). */
  readonly shnum: number;
  /** Index of the section name table (e_shstrndx, or section 0's sh_link for SHN_XINDEX). */
  readonly shstrndx: number;
}

/** One section header (Elf64_Shdr) and its contents. */
export interface ElfSection {
  /** Index in the section header table. */
  readonly index: number;
  /** Name from the section name table (`''` when the file has none). */
  readonly name: string;
  /** sh_name: offset of the name in the section name table. */
  readonly nameOffset: number;
  /** sh_type (SHT_*). */
  readonly type: number;
  /** sh_flags (SHF_*; 64 bits wide, hence a bigint). */
  readonly flags: bigint;
  /** sh_addr. */
  readonly addr: bigint;
  /** sh_offset: file offset of the contents. */
  readonly offset: number;
  /** sh_size: size of the contents (for SHT_NOBITS, the in-memory size). */
  readonly size: number;
  /** sh_link. */
  readonly link: number;
  /** sh_info. */
  readonly info: number;
  /** sh_addralign. */
  readonly addralign: bigint;
  /** sh_entsize. */
  readonly entsize: number;
  /**
   * The contents: a view into the file's bytes (no copy), `size` bytes long. SHT_NOBITS and
   * SHT_NULL sections occupy no file space and give an empty view; `size` still tells the
   * declared size.
   */
  data(): Uint8Array;
}

/** One symbol table entry (Elf64_Sym). */
export interface ElfSymbol {
  /** Index in its symbol table. */
  readonly index: number;
  /** Name from the linked string table (`''` for unnamed symbols such as STT_SECTION ones). */
  readonly name: string;
  /** st_name: offset of the name in the string table. */
  readonly nameOffset: number;
  /** st_value. */
  readonly value: bigint;
  /** st_size. */
  readonly size: bigint;
  /** Binding, st_info >> 4 (STB_*). */
  readonly bind: number;
  /** Type, st_info & 0xf (STT_*). */
  readonly type: number;
  /** Visibility, st_other & 3 (STV_*). */
  readonly visibility: number;
  /** st_other as found. */
  readonly other: number;
  /**
   * Section index: a real section (< `shnum`), or a reserved value such as SHN_UNDEF, SHN_ABS or
   * SHN_COMMON. SHN_XINDEX is already resolved through the SHT_SYMTAB_SHNDX table.
   */
  readonly shndx: number;
}

/** One relocation entry (Elf64_Rel or Elf64_Rela). */
export interface ElfRelocation {
  /** Index in its relocation section. */
  readonly index: number;
  /** r_offset: in relocatable files, the offset in the target section. */
  readonly offset: bigint;
  /** Symbol index (r_info >> 32) in the relocation section's symbol table. */
  readonly symbol: number;
  /** Relocation type (r_info & 0xffffffff), e.g. R_BPF_64_64. */
  readonly type: number;
  /** r_addend for SHT_RELA; 0n for SHT_REL (the addend is then in the relocated bytes). */
  readonly addend: bigint;
}

/** A SHT_REL or SHT_RELA section with what it refers to. */
export interface ElfRelocationSection {
  /** The relocation section itself. */
  readonly section: ElfSection;
  /** The section the relocations apply to (sh_info), or undefined when sh_info is 0. */
  readonly target: ElfSection | undefined;
  /** The symbol table the entries index (sh_link), or undefined when sh_link is 0. */
  readonly symbolTable: ElfSection | undefined;
  /** True for SHT_RELA (explicit addends). */
  readonly rela: boolean;
  /** Number of entries. */
  readonly count: number;
  /** The entries, decoded and checked on first access; throws ElfError. */
  readonly entries: readonly ElfRelocation[];
}

/** A parsed ELF64 file. Accessors throw only `ElfError`. */
export interface ElfFile {
  /** The bytes the file was parsed from; every view points into them. */
  readonly bytes: Uint8Array;
  /** The file header. */
  readonly header: ElfHeader;
  /** Shorthand for `header.byteOrder`. */
  readonly byteOrder: ByteOrder;
  /** Shorthand for `header.type`. */
  readonly type: number;
  /** Shorthand for `header.machine`. */
  readonly machine: number;
  /** All section headers, in file order (index 0 is the null section when there are any). */
  readonly sections: readonly ElfSection[];
  /** The first section named `name`, or undefined. */
  sectionByName(name: string): ElfSection | undefined;
  /** The SHT_SYMTAB section, or undefined when the file has none (stripped). */
  readonly symbolTable: ElfSection | undefined;
  /** Symbols of the SHT_SYMTAB section (empty without one); decoded on first access. */
  readonly symbols: readonly ElfSymbol[];
  /** Symbols of the SHT_DYNSYM section (empty without one); decoded on first access. */
  readonly dynamicSymbols: readonly ElfSymbol[];
  /** Symbols of any symbol table section (SHT_SYMTAB or SHT_DYNSYM); decoded on first access. */
  symbolsOf(section: ElfSection): readonly ElfSymbol[];
  /** Every SHT_REL and SHT_RELA section, in section order. */
  readonly relocations: readonly ElfRelocationSection[];
}

const EMPTY = new Uint8Array(0);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const utf8 = new TextDecoder('utf-8');

/** Formats a file offset the way error messages print it. */
function hex(n: number | bigint): string {
  return `0x${n.toString(16)}`;
}

/** `section 7 (".rel.text")`, or `section 7` before names are known. */
function sectionLabel(index: number, name: string | undefined): string {
  return name === undefined || name === '' ? `section ${index}` : `section ${index} (${JSON.stringify(name)})`;
}

/** An ElfError about section `index`, its message prefixed with the section label. */
function sectionError(index: number, name: string | undefined, offset: number | undefined, message: string): ElfError {
  const location: ElfErrorLocation = { sectionIndex: index, offset };
  if (name !== undefined) location.sectionName = name;
  return new ElfError(`${sectionLabel(index, name)}: ${message}`, location);
}

/** Endian-aware reads over the file; callers check bounds first. */
class Reader {
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    readonly le: boolean,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  u8(at: number): number {
    return this.view.getUint8(at);
  }

  u16(at: number): number {
    return this.view.getUint16(at, this.le);
  }

  u32(at: number): number {
    return this.view.getUint32(at, this.le);
  }

  u64(at: number): bigint {
    return this.view.getBigUint64(at, this.le);
  }

  i64(at: number): bigint {
    return this.view.getBigInt64(at, this.le);
  }
}

/** A 64-bit file quantity as a number, or an ElfError when it cannot be one exactly. */
function safeNumber(value: bigint, what: string, fail: (message: string) => ElfError): number {
  if (value > MAX_SAFE) throw fail(`${what} ${hex(value)} is too large`);
  return Number(value);
}

/** Reads the NUL-terminated string at `at` in string table `table` (offset 0 is always ''); throws via `fail`. */
function readString(table: Uint8Array, at: number, fail: (message: string) => ElfError): string {
  if (at === 0) return '';
  if (at >= table.length) throw fail(`name offset ${hex(at)} out of range (string table has ${table.length} bytes)`);
  const rest = table.subarray(at);
  const end = rest.indexOf(0);
  if (end < 0) throw fail(`name at offset ${hex(at)} is not NUL-terminated`);
  return decodeName(rest.subarray(0, end));
}

/** Decodes a name: a fast path for short ASCII, UTF-8 (with replacement) otherwise. */
function decodeName(raw: Uint8Array): string {
  if (raw.length <= 32) {
    let s = '';
    for (let i = 0; i < raw.length; i++) {
      const c = raw[i] as number;
      if (c >= 0x80) return utf8.decode(raw);
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8.decode(raw);
}

/**
 * Parses an ELF64 file of either byte order. Validates the header, the section header table,
 * the section names and the headers of every symbol and relocation table; symbol and
 * relocation entries are decoded (and checked) lazily on first access. Throws `ElfError`
 * (`UnsupportedElfError` for ELFCLASS32) and nothing else. Zero-copy: section data are views
 * into `bytes`, which must not change afterwards.
 */
export function parseElf(bytes: Uint8Array): ElfFile {
  return new ElfFileImpl(bytes);
}

/** Raw header fields needed before the sections are read. */
interface RawHeader {
  header: Omit<ElfHeader, 'phnum' | 'shnum' | 'shstrndx'>;
  phnum: number;
  shnum: number;
  shstrndx: number;
}

/** Reads e_ident and the rest of Elf64_Ehdr. */
function readHeader(bytes: Uint8Array): { reader: Reader; raw: RawHeader } {
  const fail = (message: string, offset: number): ElfError => new ElfError(`ELF header: ${message}`, { offset });
  if (bytes.length < 16 || ELF_MAGIC.some((b, i) => bytes[i] !== b)) {
    throw fail(bytes.length < 4 ? `file too short (${bytes.length} bytes) to be ELF` : 'not an ELF file (bad magic)', 0);
  }
  const cls = bytes[4] as number;
  if (cls === ELFCLASS32) {
    throw new UnsupportedElfError('ELFCLASS32', 'ELF header: 32-bit ELF (ELFCLASS32) is not supported, only ELF64', { offset: 4 });
  }
  if (cls !== ELFCLASS64) throw fail(`invalid class ${cls} in e_ident[EI_CLASS]`, 4);
  const data = bytes[5] as number;
  if (data !== ELFDATA2LSB && data !== ELFDATA2MSB) throw fail(`invalid data encoding ${data} in e_ident[EI_DATA]`, 5);
  if (bytes.length < ELF64_EHDR_SIZE) throw fail(`file too short (${bytes.length} bytes) for an ELF64 header (64 bytes)`, 0);
  const r = new Reader(bytes, data === ELFDATA2LSB);
  const header = {
    class: cls,
    data,
    byteOrder: data === ELFDATA2LSB ? ('le' as const) : ('be' as const),
    identVersion: bytes[6] as number,
    osabi: bytes[7] as number,
    abiVersion: bytes[8] as number,
    type: r.u16(16),
    machine: r.u16(18),
    version: r.u32(20),
    entry: r.u64(24),
    phoff: r.u64(32),
    shoff: safeNumber(r.u64(40), 'e_shoff', (m) => fail(m, 40)),
    flags: r.u32(48),
    ehsize: r.u16(52),
    phentsize: r.u16(54),
    shentsize: r.u16(58),
  };
  return { reader: r, raw: { header, phnum: r.u16(56), shnum: r.u16(60), shstrndx: r.u16(62) } };
}

/** The ElfFile implementation: eager headers and names, lazy table entries. */
class ElfFileImpl implements ElfFile {
  readonly bytes: Uint8Array;
  readonly header: ElfHeader;
  readonly sections: readonly ElfSection[];
  readonly relocations: readonly ElfRelocationSection[];
  readonly symbolTable: ElfSection | undefined;
  private readonly r: Reader;
  private readonly byName = new Map<string, ElfSection>();
  private readonly symbolCache = new Map<number, readonly ElfSymbol[]>();

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    const { reader, raw } = readHeader(bytes);
    this.r = reader;
    const { shnum, shstrndx, phnum, headers } = this.readSectionHeaders(raw);
    this.header = { ...raw.header, shnum, shstrndx, phnum };
    const names = this.readNames(headers, shstrndx);
    this.sections = headers.map((h, i) => this.makeSection(h, names[i] ?? ''));
    for (const s of this.sections) if (!this.byName.has(s.name)) this.byName.set(s.name, s);
    for (const s of this.sections) this.checkTableHeader(s);
    this.symbolTable = this.sections.find((s) => s.type === SHT_SYMTAB);
    this.relocations = this.sections
      .filter((s) => s.type === SHT_REL || s.type === SHT_RELA)
      .map((s) => this.makeRelocationSection(s));
  }

  get byteOrder(): ByteOrder {
    return this.header.byteOrder;
  }

  get type(): number {
    return this.header.type;
  }

  get machine(): number {
    return this.header.machine;
  }

  get symbols(): readonly ElfSymbol[] {
    return this.symbolTable === undefined ? [] : this.symbolsOf(this.symbolTable);
  }

  get dynamicSymbols(): readonly ElfSymbol[] {
    const dynsym = this.sections.find((s) => s.type === SHT_DYNSYM);
    return dynsym === undefined ? [] : this.symbolsOf(dynsym);
  }

  sectionByName(name: string): ElfSection | undefined {
    return this.byName.get(name);
  }

  symbolsOf(section: ElfSection): readonly ElfSymbol[] {
    if (this.sections[section.index] !== section || (section.type !== SHT_SYMTAB && section.type !== SHT_DYNSYM)) {
      throw sectionError(section.index, section.name, undefined, `not a symbol table of this file (${sectionTypeName(section.type)})`);
    }
    let symbols = this.symbolCache.get(section.index);
    if (symbols === undefined) {
      symbols = this.decodeSymbols(section);
      this.symbolCache.set(section.index, symbols);
    }
    return symbols;
  }

  /** Resolves the section count and reads every Elf64_Shdr, checking each against the file. */
  private readSectionHeaders(raw: RawHeader): { shnum: number; shstrndx: number; phnum: number; headers: RawSection[] } {
    const { shoff, shentsize } = raw.header;
    const length = this.bytes.length;
    const fail = (message: string, offset: number): ElfError => new ElfError(`ELF header: ${message}`, { offset });
    if (shoff === 0) {
      if (raw.shnum !== 0) throw fail(`e_shnum is ${raw.shnum} but e_shoff is 0 (no section header table)`, 60);
      if (raw.shstrndx !== SHN_UNDEF) throw fail(`e_shstrndx is ${raw.shstrndx} but there are no sections`, 62);
      return { shnum: 0, shstrndx: 0, phnum: raw.phnum, headers: [] };
    }
    if (shentsize !== ELF64_SHDR_SIZE) throw fail(`e_shentsize is ${shentsize}, expected ${ELF64_SHDR_SIZE}`, 58);
    if (shoff > length || length - shoff < ELF64_SHDR_SIZE) {
      throw fail(`section header table at offset ${hex(shoff)} is past the end of the file (${hex(length)} bytes)`, 40);
    }
    const first = this.readRawSection(0, shoff);
    let shnum = raw.shnum;
    if (shnum === SHN_UNDEF) {
      // More than SHN_LORESERVE sections: the count lives in section 0's sh_size.
      if (first.size > MAX_SAFE) throw fail(`section count ${hex(first.size)} (section 0 sh_size) is too large`, shoff + 32);
      shnum = Number(first.size);
    }
    const available = Math.floor((length - shoff) / ELF64_SHDR_SIZE);
    if (shnum > available) {
      throw fail(`section header table of ${shnum} entries at offset ${hex(shoff)} extends past the end of the file (room for ${available})`, shoff);
    }
    let shstrndx = raw.shstrndx;
    if (shstrndx === SHN_XINDEX) shstrndx = first.link;
    else if (shstrndx >= SHN_LORESERVE) throw fail(`e_shstrndx ${hex(shstrndx)} is a reserved index`, 62);
    if (shstrndx !== SHN_UNDEF && shstrndx >= shnum) throw fail(`e_shstrndx ${shstrndx} out of range (${shnum} sections)`, 62);
    const phnum = raw.phnum === PN_XNUM && shnum > 0 ? first.info : raw.phnum;
    const headers: RawSection[] = [];
    for (let i = 0; i < shnum; i++) headers.push(i === 0 ? first : this.readRawSection(i, shoff + i * ELF64_SHDR_SIZE));
    for (const h of headers) this.checkRawSection(h);
    return { shnum, shstrndx, phnum, headers };
  }

  private readRawSection(index: number, at: number): RawSection {
    const r = this.r;
    return {
      index,
      at,
      nameOffset: r.u32(at),
      type: r.u32(at + 4),
      flags: r.u64(at + 8),
      addr: r.u64(at + 16),
      offset: r.u64(at + 24),
      size: r.u64(at + 32),
      link: r.u32(at + 40),
      info: r.u32(at + 44),
      addralign: r.u64(at + 48),
      entsize: r.u64(at + 56),
    };
  }

  /** Checks one section header: numbers representable, contents inside the file. */
  private checkRawSection(h: RawSection): void {
    if (h.type === SHT_NULL && h.index === 0) return; // section 0 may carry the escapes
    const fail = (field: number) => (m: string) => sectionError(h.index, undefined, h.at + field, m);
    const offset = safeNumber(h.offset, 'sh_offset', fail(24));
    const size = safeNumber(h.size, 'sh_size', fail(32));
    safeNumber(h.entsize, 'sh_entsize', fail(56));
    if (h.type === SHT_NOBITS || h.type === SHT_NULL) return;
    const length = this.bytes.length;
    if (offset > length || size > length - offset) {
      throw sectionError(h.index, undefined, h.at + 24, `contents at offset ${hex(offset)} of ${hex(size)} bytes extend past the end of the file (${hex(length)} bytes)`);
    }
  }

  /** Section names from the e_shstrndx table ('' for all when there is none). */
  private readNames(headers: readonly RawSection[], shstrndx: number): string[] {
    if (headers.length === 0 || shstrndx === SHN_UNDEF) return headers.map(() => '');
    const table = headers[shstrndx] as RawSection;
    if (table.type !== SHT_STRTAB) {
      throw sectionError(shstrndx, undefined, table.at + 4, `section name table (e_shstrndx) has type ${sectionTypeName(table.type)}, expected SHT_STRTAB`);
    }
    const data = this.contents(table);
    return headers.map((h) => readString(data, h.nameOffset, (m) => sectionError(h.index, undefined, h.at, `section name: ${m}`)));
  }

  /** The file bytes of a checked section header (empty for NOBITS/NULL). */
  private contents(h: RawSection): Uint8Array {
    if (h.type === SHT_NOBITS || h.type === SHT_NULL) return EMPTY;
    const offset = Number(h.offset);
    return this.bytes.subarray(offset, offset + Number(h.size));
  }

  private makeSection(h: RawSection, name: string): ElfSection {
    const bytes = this.bytes;
    const hasBytes = h.type !== SHT_NOBITS && h.type !== SHT_NULL;
    // Section 0 may hold an escaped count in sh_size; clamp what cannot be a number.
    const num = (v: bigint): number => (v > MAX_SAFE ? Number.MAX_SAFE_INTEGER : Number(v));
    const offset = num(h.offset);
    const size = num(h.size);
    return {
      index: h.index,
      name,
      nameOffset: h.nameOffset,
      type: h.type,
      flags: h.flags,
      addr: h.addr,
      offset,
      size,
      link: h.link,
      info: h.info,
      addralign: h.addralign,
      entsize: num(h.entsize),
      data: hasBytes ? () => bytes.subarray(offset, offset + size) : () => EMPTY,
    };
  }

  /** Checks the header of a table section: entry size, whole entries, linked sections. */
  private checkTableHeader(s: ElfSection): void {
    const shnum = this.sections.length;
    const shdrAt = this.header.shoff + s.index * ELF64_SHDR_SIZE;
    const fail = (field: number, message: string): ElfError => sectionError(s.index, s.name, shdrAt + field, message);
    const entries = (entsize: number): void => {
      if (s.entsize !== entsize) throw fail(56, `sh_entsize is ${s.entsize}, expected ${entsize} for ${sectionTypeName(s.type)}`);
      if (s.size % entsize !== 0) throw fail(32, `sh_size ${hex(s.size)} is not a multiple of the entry size ${entsize}`);
    };
    const linked = (expected: readonly number[], allowZero: boolean): void => {
      if (s.link === 0 && allowZero) return;
      if (s.link >= shnum) throw fail(40, `sh_link ${s.link} out of range (${shnum} sections)`);
      const to = this.sections[s.link] as ElfSection;
      if (!expected.includes(to.type)) {
        throw fail(40, `sh_link ${s.link} points to ${sectionLabel(to.index, to.name)} of type ${sectionTypeName(to.type)}, expected ${expected.map(sectionTypeName).join(' or ')}`);
      }
    };
    switch (s.type) {
      case SHT_SYMTAB:
      case SHT_DYNSYM:
        entries(ELF64_SYM_SIZE);
        linked([SHT_STRTAB], false);
        break;
      case SHT_SYMTAB_SHNDX:
        entries(ELF_SHNDX_ENTRY_SIZE);
        linked([SHT_SYMTAB], false);
        break;
      case SHT_REL:
      case SHT_RELA:
        entries(s.type === SHT_REL ? ELF64_REL_SIZE : ELF64_RELA_SIZE);
        linked([SHT_SYMTAB, SHT_DYNSYM], true);
        if (s.info >= shnum) throw fail(44, `sh_info ${s.info} (target section) out of range (${shnum} sections)`);
        break;
    }
  }

  private makeRelocationSection(s: ElfSection): ElfRelocationSection {
    let cache: readonly ElfRelocation[] | undefined;
    const decode = (): readonly ElfRelocation[] => (cache ??= this.decodeRelocations(s));
    return {
      section: s,
      target: s.info === 0 ? undefined : this.sections[s.info],
      symbolTable: s.link === 0 ? undefined : this.sections[s.link],
      rela: s.type === SHT_RELA,
      count: s.size / s.entsize,
      get entries() {
        return decode();
      },
    };
  }

  private decodeRelocations(s: ElfSection): readonly ElfRelocation[] {
    const r = this.r;
    const rela = s.type === SHT_RELA;
    const entsize = s.entsize;
    const count = s.size / entsize;
    const symbolCount = s.link === 0 ? 0 : (this.sections[s.link] as ElfSection).size / ELF64_SYM_SIZE;
    const hiAt = r.le ? 12 : 8; // r_info's upper half (symbol index)
    const loAt = r.le ? 8 : 12; // r_info's lower half (type)
    const out: ElfRelocation[] = new Array<ElfRelocation>(count);
    for (let i = 0; i < count; i++) {
      const at = s.offset + i * entsize;
      const symbol = r.u32(at + hiAt);
      if (symbol !== 0 && symbol >= symbolCount) {
        throw sectionError(s.index, s.name, at, `entry ${i} at offset ${hex(at)}: symbol index ${symbol} out of range (${symbolCount} symbols)`);
      }
      out[i] = { index: i, offset: r.u64(at), symbol, type: r.u32(at + loAt), addend: rela ? r.i64(at + 16) : 0n };
    }
    return out;
  }

  private decodeSymbols(s: ElfSection): readonly ElfSymbol[] {
    const r = this.r;
    const shnum = this.sections.length;
    const strtab = (this.sections[s.link] as ElfSection).data();
    const xindex = this.sections.find((x) => x.type === SHT_SYMTAB_SHNDX && x.link === s.index);
    const count = s.size / ELF64_SYM_SIZE;
    const out: ElfSymbol[] = new Array<ElfSymbol>(count);
    for (let i = 0; i < count; i++) {
      const at = s.offset + i * ELF64_SYM_SIZE;
      const fail = (m: string): ElfError => sectionError(s.index, s.name, at, `symbol ${i} at offset ${hex(at)}: ${m}`);
      const nameOffset = r.u32(at);
      const info = r.u8(at + 4);
      const other = r.u8(at + 5);
      let shndx = r.u16(at + 6);
      if (shndx === SHN_XINDEX) {
        if (xindex === undefined) throw fail('st_shndx is SHN_XINDEX but there is no SHT_SYMTAB_SHNDX section for this table');
        if (i >= xindex.size / ELF_SHNDX_ENTRY_SIZE) {
          throw fail(`st_shndx is SHN_XINDEX but ${sectionLabel(xindex.index, xindex.name)} has only ${xindex.size / ELF_SHNDX_ENTRY_SIZE} entries`);
        }
        shndx = r.u32(xindex.offset + i * ELF_SHNDX_ENTRY_SIZE);
        if (shndx >= shnum) throw fail(`extended section index ${shndx} out of range (${shnum} sections)`);
      } else if (shndx < SHN_LORESERVE && shndx >= shnum) {
        throw fail(`st_shndx ${shndx} out of range (${shnum} sections)`);
      }
      out[i] = {
        index: i,
        name: readString(strtab, nameOffset, fail),
        nameOffset,
        value: r.u64(at + 8),
        size: r.u64(at + 16),
        bind: info >> 4,
        type: info & 0xf,
        visibility: other & 3,
        other,
        shndx,
      };
    }
    return out;
  }
}

/** A section header as read, before names and validation. */
interface RawSection {
  index: number;
  /** File offset of this header. */
  at: number;
  nameOffset: number;
  type: number;
  flags: bigint;
  addr: bigint;
  offset: bigint;
  size: bigint;
  link: number;
  info: number;
  addralign: bigint;
  entsize: bigint;
}
