// Global data and externs: `.data*`, `.rodata*`, `.bss*` become single-entry array maps, and
// `__kconfig` externs share one read-only `.kconfig` map, laid out the way libbpf lays it out.

import type { Btf, BtfType, DatasecType } from '../btf/index.js';
import type { ElfSection, ElfSymbol } from './elf-file.js';
import { SHT_NOBITS, SHT_PROGBITS, SHN_UNDEF, STB_GLOBAL, STB_WEAK } from './elf-constants.js';
import { ObjectError } from './object-error.js';
import type { ExternSpec, MapSpec } from './object-spec.js';

const BPF_MAP_TYPE_ARRAY = 2;
const BPF_F_RDONLY_PROG = 0x80;
const BPF_F_MMAPABLE = 0x400;
/** Largest array map value_size the kernel accepts (INT_MAX, array_map_alloc_check). */
const MAX_VALUE_SIZE = 0x7fffffff;
/** Longest object name the kernel keeps (BPF_OBJ_NAME_LEN - 1). */
const OBJ_NAME_MAX = 15;

/** Which global-data family a section belongs to, by libbpf's naming rules; undefined if none. */
export function dataSectionKind(s: ElfSection): 'data' | 'rodata' | 'bss' | undefined {
  const is = (prefix: string) => s.name === prefix || s.name.startsWith(`${prefix}.`);
  if (s.type === SHT_PROGBITS && is('.data')) return 'data';
  if (s.type === SHT_PROGBITS && is('.rodata')) return 'rodata';
  if (s.type === SHT_NOBITS && is('.bss')) return 'bss';
  return undefined;
}

/**
 * The name libbpf gives an internal map in the kernel: up to 8 characters of the object name
 * followed by the section name (`xdp_stat.rodata`), or the section name alone for custom
 * sections such as `.data.counters`; at most 15 characters either way.
 */
export function internalMapName(objectName: string, section: string): string {
  let name: string;
  if (section.indexOf('.', 1) !== -1) name = section.slice(0, OBJ_NAME_MAX);
  else {
    const prefix = Math.min(8, OBJ_NAME_MAX - section.length, objectName.length);
    name = `${objectName.slice(0, Math.max(0, prefix))}${section}`.slice(0, OBJ_NAME_MAX);
  }
  // The kernel accepts only [A-Za-z0-9_.] in object names; libbpf replaces the rest with '_'.
  return name.replace(/[^A-Za-z0-9_.]/g, '_');
}

function datasec(btf: Btf | undefined, name: string): DatasecType | undefined {
  return btf?.typesByName(name).find((t): t is DatasecType => t.kind === 'datasec');
}

/** libbpf makes a data map mmapable when its DATASEC has a non-static variable. */
function hasGlobalVar(btf: Btf | undefined, ds: DatasecType | undefined): boolean {
  if (!btf || !ds) return false;
  return ds.vars.some((v) => {
    const t = btf.typeById(v.type);
    return t.kind === 'var' && t.linkage !== 'static';
  });
}

/** Builds the map spec of one global-data section. */
export function dataSectionMap(s: ElfSection, kind: 'data' | 'rodata' | 'bss', bytes: Uint8Array, btf: Btf | undefined): MapSpec {
  // A NOBITS size is not bounded by the file.
  if (s.size > MAX_VALUE_SIZE) throw new ObjectError(`global data of ${s.size} bytes exceeds the largest map value the kernel accepts (${MAX_VALUE_SIZE} bytes)`, s.name);
  const ds = datasec(btf, s.name);
  const readOnly = kind === 'rodata';
  const flags = (readOnly ? BPF_F_RDONLY_PROG : 0) | (hasGlobalVar(btf, ds) ? BPF_F_MMAPABLE : 0);
  return {
    name: s.name,
    type: BPF_MAP_TYPE_ARRAY,
    keySize: 4,
    valueSize: s.size,
    maxEntries: 1,
    flags,
    pinning: 'none',
    ...(ds ? { valueTypeId: ds.id, btfTypeId: ds.id } : {}),
    initEntries: [],
    data: kind === 'bss' ? new Uint8Array(s.size) : bytes.slice(),
    readOnly,
    section: s.name,
    origin: 'global-data',
  };
}

function alignOf(btf: Btf, id: number, depth = 0): number {
  if (depth > 32) return 1;
  const t: BtfType = btf.skipQualifiers(id);
  switch (t.kind) {
    case 'int':
    case 'enum':
    case 'enum64':
    case 'float':
      return Math.min(8, t.size);
    case 'ptr':
      return 8;
    case 'array':
      return alignOf(btf, t.type, depth + 1);
    case 'struct':
    case 'union':
      return t.members.reduce((a, m) => Math.max(a, alignOf(btf, m.type, depth + 1)), 1);
    default:
      return 1;
  }
}

/** Finds the BTF VAR or FUNC an extern symbol is declared as, and the DATASEC holding it. */
function externBtf(btf: Btf | undefined, name: string): { id: number; typeId: number; section: string } | undefined {
  if (!btf) return undefined;
  for (const t of btf.typesByName(name)) {
    if (t.kind !== 'var' && t.kind !== 'func') continue;
    for (const secName of ['.kconfig', '.ksyms']) {
      const ds = datasec(btf, secName);
      if (ds?.vars.some((v) => v.type === t.id)) return { id: t.id, typeId: t.type, section: secName };
    }
    // kfuncs declared __ksym but never listed in a DATASEC (clang leaves FUNCs out): a ksym.
    if (t.kind === 'func' && t.linkage === 'extern') return { id: t.id, typeId: t.type, section: '.ksyms' };
  }
  return undefined;
}

/**
 * Collects the object's externs (undefined global symbols) and, when any are kconfig values,
 * the `.kconfig` map they live in. Kconfig values are sorted and packed as libbpf packs them
 * (larger alignment first, then larger size, then name), so offsets agree with libbpf.
 */
export function collectExterns(symbols: readonly ElfSymbol[], btf: Btf | undefined): { externs: ExternSpec[]; kconfigMap?: MapSpec } {
  const found: { name: string; weak: boolean; kind: 'kconfig' | 'ksym'; btfTypeId?: number; size?: number; align?: number }[] = [];
  for (const sym of symbols) {
    if (sym.shndx !== SHN_UNDEF || sym.name === '' || (sym.bind !== STB_GLOBAL && sym.bind !== STB_WEAK)) continue;
    const b = externBtf(btf, sym.name);
    if (!b) throw new ObjectError(`extern "${sym.name}" has no BTF declaration (declare it __kconfig or __ksym and compile with -g)`, '.symtab');
    const weak = sym.bind === STB_WEAK;
    if (b.section === '.kconfig') {
      const size = btf!.resolveSize(b.typeId);
      const align = alignOf(btf!, b.typeId);
      // libbpf refuses a kconfig extern whose size or alignment is not positive (bpf_object__collect_externs).
      if (size <= 0 || align <= 0) throw new ObjectError(`kconfig extern "${sym.name}": its BTF type ${b.typeId} has size ${size} and alignment ${align}`, '.kconfig');
      found.push({ name: sym.name, weak, kind: 'kconfig', btfTypeId: b.id, size, align });
    } else {
      found.push({ name: sym.name, weak, kind: 'ksym', btfTypeId: b.id });
    }
  }
  const kcfg = found.filter((e) => e.kind === 'kconfig');
  kcfg.sort((a, b) => b.align! - a.align! || b.size! - a.size! || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let off = 0;
  const offsets = new Map<string, number>();
  for (const e of kcfg) {
    off = Math.ceil(off / e.align!) * e.align!;
    offsets.set(e.name, off);
    off += e.size!;
  }
  // libbpf's order: kconfig values by offset, then ksyms in symbol order.
  const ordered = [...kcfg, ...found.filter((e) => e.kind === 'ksym')];
  const externs: ExternSpec[] = ordered.map((e) => ({
    name: e.name,
    kind: e.kind,
    weak: e.weak,
    ...(e.btfTypeId === undefined ? {} : { btfTypeId: e.btfTypeId }),
    ...(e.kind === 'kconfig' ? { offset: offsets.get(e.name)!, size: e.size! } : {}),
  }));
  if (kcfg.length === 0) return { externs };
  if (off > MAX_VALUE_SIZE) throw new ObjectError(`kconfig externs take ${off} bytes, more than the largest map value the kernel accepts (${MAX_VALUE_SIZE} bytes)`, '.kconfig');
  const ds = datasec(btf, '.kconfig');
  const kconfigMap: MapSpec = {
    name: '.kconfig',
    type: BPF_MAP_TYPE_ARRAY,
    keySize: 4,
    valueSize: off,
    maxEntries: 1,
    flags: BPF_F_RDONLY_PROG | BPF_F_MMAPABLE,
    pinning: 'none',
    ...(ds ? { valueTypeId: ds.id, btfTypeId: ds.id } : {}),
    initEntries: [],
    data: new Uint8Array(off),
    readOnly: true,
    section: '.kconfig',
    origin: 'kconfig',
  };
  return { externs, kconfigMap };
}
