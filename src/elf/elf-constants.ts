// Named ELF64 constants (gABI and the LLVM BPF relocation types), with name tables for printing.

// ---------------------------------------------------------------------------------------------
// Identification (e_ident) and header
// ---------------------------------------------------------------------------------------------

/** The four magic bytes every ELF file starts with: 0x7f 'E' 'L' 'F'. */
export const ELF_MAGIC: readonly number[] = [0x7f, 0x45, 0x4c, 0x46];
/** e_ident[EI_CLASS]: 32-bit objects (not supported by bpfkit). */
export const ELFCLASS32 = 1;
/** e_ident[EI_CLASS]: 64-bit objects. */
export const ELFCLASS64 = 2;
/** e_ident[EI_DATA]: two's complement, little-endian. */
export const ELFDATA2LSB = 1;
/** e_ident[EI_DATA]: two's complement, big-endian (BPF objects built with `-target bpfeb`). */
export const ELFDATA2MSB = 2;
/** The current ELF version (e_ident[EI_VERSION] and e_version). */
export const EV_CURRENT = 1;

/** e_type: no file type. */
export const ET_NONE = 0;
/** e_type: relocatable object (what clang emits for BPF). */
export const ET_REL = 1;
/** e_type: executable. */
export const ET_EXEC = 2;
/** e_type: shared object (also position-independent executables). */
export const ET_DYN = 3;
/** e_type: core dump. */
export const ET_CORE = 4;

/** e_machine: AMD x86-64. */
export const EM_X86_64 = 62;
/** e_machine: AArch64. */
export const EM_AARCH64 = 183;
/** e_machine: Linux BPF. The object loader checks this; the ELF reader only exposes it. */
export const EM_BPF = 247;

/** Size in bytes of an Elf64_Ehdr. */
export const ELF64_EHDR_SIZE = 64;
/** Size in bytes of an Elf64_Shdr. */
export const ELF64_SHDR_SIZE = 64;
/** Size in bytes of an Elf64_Sym. */
export const ELF64_SYM_SIZE = 24;
/** Size in bytes of an Elf64_Rel. */
export const ELF64_REL_SIZE = 16;
/** Size in bytes of an Elf64_Rela. */
export const ELF64_RELA_SIZE = 24;
/** Size in bytes of one SHT_SYMTAB_SHNDX entry (an Elf32_Word). */
export const ELF_SHNDX_ENTRY_SIZE = 4;

/** e_phnum escape: the real program header count is in section 0's sh_info. */
export const PN_XNUM = 0xffff;

// ---------------------------------------------------------------------------------------------
// Special section indexes
// ---------------------------------------------------------------------------------------------

/** Section index 0: undefined symbol / no section. */
export const SHN_UNDEF = 0;
/** First reserved section index; indexes >= this are not real sections. */
export const SHN_LORESERVE = 0xff00;
/** First processor-specific reserved index. */
export const SHN_LOPROC = 0xff00;
/** Last processor-specific reserved index. */
export const SHN_HIPROC = 0xff1f;
/** First OS-specific reserved index. */
export const SHN_LOOS = 0xff20;
/** Last OS-specific reserved index. */
export const SHN_HIOS = 0xff3f;
/** Symbol has an absolute value, not relative to a section. */
export const SHN_ABS = 0xfff1;
/** Symbol is a common block not yet allocated (st_value is its alignment). */
export const SHN_COMMON = 0xfff2;
/** Escape: the real index is elsewhere (SHT_SYMTAB_SHNDX, section 0's sh_link). */
export const SHN_XINDEX = 0xffff;
/** Last reserved section index. */
export const SHN_HIRESERVE = 0xffff;

// ---------------------------------------------------------------------------------------------
// Section types (sh_type)
// ---------------------------------------------------------------------------------------------

/** sh_type: inactive section header. */
export const SHT_NULL = 0;
/** sh_type: program-defined contents (code, data, BTF, maps...). */
export const SHT_PROGBITS = 1;
/** sh_type: the (static) symbol table. */
export const SHT_SYMTAB = 2;
/** sh_type: a string table. */
export const SHT_STRTAB = 3;
/** sh_type: relocations with explicit addends (Elf64_Rela). */
export const SHT_RELA = 4;
/** sh_type: symbol hash table. */
export const SHT_HASH = 5;
/** sh_type: dynamic linking information. */
export const SHT_DYNAMIC = 6;
/** sh_type: notes. */
export const SHT_NOTE = 7;
/** sh_type: occupies no file space (.bss); sh_size is the in-memory size. */
export const SHT_NOBITS = 8;
/** sh_type: relocations without addends (Elf64_Rel) — what BPF objects use. */
export const SHT_REL = 9;
/** sh_type: reserved. */
export const SHT_SHLIB = 10;
/** sh_type: the dynamic symbol table. */
export const SHT_DYNSYM = 11;
/** sh_type: array of constructors. */
export const SHT_INIT_ARRAY = 14;
/** sh_type: array of destructors. */
export const SHT_FINI_ARRAY = 15;
/** sh_type: array of pre-constructors. */
export const SHT_PREINIT_ARRAY = 16;
/** sh_type: section group. */
export const SHT_GROUP = 17;
/** sh_type: extended section indexes for a symbol table (see SHN_XINDEX). */
export const SHT_SYMTAB_SHNDX = 18;
/** sh_type: LLVM address-significance table. */
export const SHT_LLVM_ADDRSIG = 0x6fff4c03;
/** sh_type: GNU-style hash table. */
export const SHT_GNU_HASH = 0x6ffffff6;
/** sh_type: GNU symbol version definitions. */
export const SHT_GNU_VERDEF = 0x6ffffffd;
/** sh_type: GNU symbol version requirements. */
export const SHT_GNU_VERNEED = 0x6ffffffe;
/** sh_type: GNU symbol version table. */
export const SHT_GNU_VERSYM = 0x6fffffff;

/** Names of the section types above, as llvm-readelf prints them. */
export const SECTION_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [SHT_NULL, 'SHT_NULL'],
  [SHT_PROGBITS, 'SHT_PROGBITS'],
  [SHT_SYMTAB, 'SHT_SYMTAB'],
  [SHT_STRTAB, 'SHT_STRTAB'],
  [SHT_RELA, 'SHT_RELA'],
  [SHT_HASH, 'SHT_HASH'],
  [SHT_DYNAMIC, 'SHT_DYNAMIC'],
  [SHT_NOTE, 'SHT_NOTE'],
  [SHT_NOBITS, 'SHT_NOBITS'],
  [SHT_REL, 'SHT_REL'],
  [SHT_SHLIB, 'SHT_SHLIB'],
  [SHT_DYNSYM, 'SHT_DYNSYM'],
  [SHT_INIT_ARRAY, 'SHT_INIT_ARRAY'],
  [SHT_FINI_ARRAY, 'SHT_FINI_ARRAY'],
  [SHT_PREINIT_ARRAY, 'SHT_PREINIT_ARRAY'],
  [SHT_GROUP, 'SHT_GROUP'],
  [SHT_SYMTAB_SHNDX, 'SHT_SYMTAB_SHNDX'],
  [SHT_LLVM_ADDRSIG, 'SHT_LLVM_ADDRSIG'],
  [SHT_GNU_HASH, 'SHT_GNU_HASH'],
  [SHT_GNU_VERDEF, 'SHT_GNU_verdef'],
  [SHT_GNU_VERNEED, 'SHT_GNU_verneed'],
  [SHT_GNU_VERSYM, 'SHT_GNU_versym'],
]);

// ---------------------------------------------------------------------------------------------
// Section flags (sh_flags). sh_flags is 64 bits wide, so these are bigints.
// ---------------------------------------------------------------------------------------------

/** sh_flags: writable at run time. */
export const SHF_WRITE = 0x1n;
/** sh_flags: occupies memory at run time. */
export const SHF_ALLOC = 0x2n;
/** sh_flags: executable instructions (BPF program sections). */
export const SHF_EXECINSTR = 0x4n;
/** sh_flags: may be merged to remove duplicates. */
export const SHF_MERGE = 0x10n;
/** sh_flags: contains NUL-terminated strings. */
export const SHF_STRINGS = 0x20n;
/** sh_flags: sh_info holds a section index. */
export const SHF_INFO_LINK = 0x40n;
/** sh_flags: preserve order after combining. */
export const SHF_LINK_ORDER = 0x80n;
/** sh_flags: OS-specific processing required. */
export const SHF_OS_NONCONFORMING = 0x100n;
/** sh_flags: member of a section group. */
export const SHF_GROUP = 0x200n;
/** sh_flags: thread-local storage. */
export const SHF_TLS = 0x400n;
/** sh_flags: compressed contents. */
export const SHF_COMPRESSED = 0x800n;
/** sh_flags: excluded from links (LLVM/GNU). */
export const SHF_EXCLUDE = 0x80000000n;

/** Names of the section flags above, lowest bit first. */
export const SECTION_FLAG_NAMES: ReadonlyMap<bigint, string> = new Map([
  [SHF_WRITE, 'SHF_WRITE'],
  [SHF_ALLOC, 'SHF_ALLOC'],
  [SHF_EXECINSTR, 'SHF_EXECINSTR'],
  [SHF_MERGE, 'SHF_MERGE'],
  [SHF_STRINGS, 'SHF_STRINGS'],
  [SHF_INFO_LINK, 'SHF_INFO_LINK'],
  [SHF_LINK_ORDER, 'SHF_LINK_ORDER'],
  [SHF_OS_NONCONFORMING, 'SHF_OS_NONCONFORMING'],
  [SHF_GROUP, 'SHF_GROUP'],
  [SHF_TLS, 'SHF_TLS'],
  [SHF_COMPRESSED, 'SHF_COMPRESSED'],
  [SHF_EXCLUDE, 'SHF_EXCLUDE'],
]);

// ---------------------------------------------------------------------------------------------
// Symbols: binding (st_info >> 4), type (st_info & 0xf), visibility (st_other & 3)
// ---------------------------------------------------------------------------------------------

/** Symbol binding: local to the object. */
export const STB_LOCAL = 0;
/** Symbol binding: visible to all objects. */
export const STB_GLOBAL = 1;
/** Symbol binding: global with lower precedence. */
export const STB_WEAK = 2;
/** Symbol binding: GNU unique. */
export const STB_GNU_UNIQUE = 10;

/** Names of the symbol bindings above. */
export const SYMBOL_BIND_NAMES: ReadonlyMap<number, string> = new Map([
  [STB_LOCAL, 'STB_LOCAL'],
  [STB_GLOBAL, 'STB_GLOBAL'],
  [STB_WEAK, 'STB_WEAK'],
  [STB_GNU_UNIQUE, 'STB_GNU_UNIQUE'],
]);

/** Symbol type: unspecified. */
export const STT_NOTYPE = 0;
/** Symbol type: data object (a map, a global variable). */
export const STT_OBJECT = 1;
/** Symbol type: function (a BPF program or subprogram). */
export const STT_FUNC = 2;
/** Symbol type: a section. */
export const STT_SECTION = 3;
/** Symbol type: source file name. */
export const STT_FILE = 4;
/** Symbol type: uninitialised common block. */
export const STT_COMMON = 5;
/** Symbol type: thread-local storage. */
export const STT_TLS = 6;
/** Symbol type: GNU indirect function. */
export const STT_GNU_IFUNC = 10;

/** Names of the symbol types above. */
export const SYMBOL_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [STT_NOTYPE, 'STT_NOTYPE'],
  [STT_OBJECT, 'STT_OBJECT'],
  [STT_FUNC, 'STT_FUNC'],
  [STT_SECTION, 'STT_SECTION'],
  [STT_FILE, 'STT_FILE'],
  [STT_COMMON, 'STT_COMMON'],
  [STT_TLS, 'STT_TLS'],
  [STT_GNU_IFUNC, 'STT_GNU_IFUNC'],
]);

/** Symbol visibility: as given by the binding. */
export const STV_DEFAULT = 0;
/** Symbol visibility: processor-specific hidden. */
export const STV_INTERNAL = 1;
/** Symbol visibility: not visible to other components. */
export const STV_HIDDEN = 2;
/** Symbol visibility: visible but not preemptible. */
export const STV_PROTECTED = 3;

/** Names of the symbol visibilities above. */
export const SYMBOL_VISIBILITY_NAMES: ReadonlyMap<number, string> = new Map([
  [STV_DEFAULT, 'STV_DEFAULT'],
  [STV_INTERNAL, 'STV_INTERNAL'],
  [STV_HIDDEN, 'STV_HIDDEN'],
  [STV_PROTECTED, 'STV_PROTECTED'],
]);

// ---------------------------------------------------------------------------------------------
// BPF relocation types (r_info & 0xffffffff), see LLVM's "BPF relocations" document
// ---------------------------------------------------------------------------------------------

/** No relocation. */
export const R_BPF_NONE = 0;
/** 64-bit immediate of an `ld_imm64` instruction (maps, global data). */
export const R_BPF_64_64 = 1;
/** 64-bit data word (e.g. a pointer in .data, DWARF). */
export const R_BPF_64_ABS64 = 2;
/** 32-bit data word (e.g. BTF/DWARF offsets). */
export const R_BPF_64_ABS32 = 3;
/** 32-bit data word that dynamic loaders leave alone (.BTF.ext, instruction offsets). */
export const R_BPF_64_NODYLD32 = 4;
/** 32-bit immediate of a call instruction (BPF-to-BPF calls). */
export const R_BPF_64_32 = 10;

/** Names of the BPF relocation types, as llvm-readelf prints them. */
export const BPF_RELOCATION_NAMES: ReadonlyMap<number, string> = new Map([
  [R_BPF_NONE, 'R_BPF_NONE'],
  [R_BPF_64_64, 'R_BPF_64_64'],
  [R_BPF_64_ABS64, 'R_BPF_64_ABS64'],
  [R_BPF_64_ABS32, 'R_BPF_64_ABS32'],
  [R_BPF_64_NODYLD32, 'R_BPF_64_NODYLD32'],
  [R_BPF_64_32, 'R_BPF_64_32'],
]);

/** The name of BPF relocation `type`, or `R_BPF_UNKNOWN(<n>)` for one not in the table. */
export function bpfRelocationName(type: number): string {
  return BPF_RELOCATION_NAMES.get(type) ?? `R_BPF_UNKNOWN(${type})`;
}

/** The name of section type `type`, or `SHT_UNKNOWN(0x<n>)` for one not in the table. */
export function sectionTypeName(type: number): string {
  return SECTION_TYPE_NAMES.get(type) ?? `SHT_UNKNOWN(0x${type.toString(16)})`;
}
