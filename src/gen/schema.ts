// ObjectSpec -> GenSchema: the maps, global variables and programs of an object with the Layout of
// every key, value and variable — the data a generated module embeds and its handle runs on.

import type { DatasecType } from '../btf/index.js';
import { parseElf } from '../elf/elf-file.js';
import type { MapSpec, ObjectSpec } from '../elf/object-spec.js';
import { BpfkitError } from '../errors.js';
import { NoBtfError } from './errors.js';
import { LayoutBuilder, layoutSize, type Layout } from './layout.js';

/** One map of the object, with key and value layouts when BTF describes them (else raw bytes). */
export interface GenMapSchema {
  readonly name: string;
  /** `enum bpf_map_type`. */
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  /** Key layout; absent when the object gives the key no BTF type (then it is a Uint8Array). */
  readonly key?: Layout;
  /** Value layout; absent when the object gives the value no BTF type. */
  readonly value?: Layout;
}

/** One global variable: `name` at byte `offset` of its section. */
export interface GenVarSchema {
  readonly name: string;
  /** Its C declaration (`const volatile struct config cfg`), for documentation. */
  readonly declaration?: string;
  readonly offset: number;
  readonly layout: Layout;
}

/** One global-data section (`.data`, `.rodata`, `.bss`, `.data.custom`) and its non-static variables. */
export interface GenSectionSchema {
  /** Property of the handle: `rodata`, `data`, `bss`, `data_custom`. */
  readonly property: string;
  /** Name of its generated interface: `Rodata`, `DataCustom`. */
  readonly typeName: string;
  /** ELF section = map name (`.rodata`). */
  readonly section: string;
  /** `.rodata`: frozen after load. */
  readonly readOnly: boolean;
  /** Section size in bytes. */
  readonly size: number;
  readonly vars: readonly GenVarSchema[];
}

/** What a generated module knows about its object. */
export interface GenSchema {
  /** File name the bindings were generated from (for messages). */
  readonly object: string;
  /** Object name for internal map names (libbpf's `xdp_stat.rodata`). */
  readonly objectName: string;
  /** Byte order of the object's data. */
  readonly littleEndian: boolean;
  /** Maps other than global data, in object order. */
  readonly maps: readonly GenMapSchema[];
  /** Global-data sections with variables. */
  readonly sections: readonly GenSectionSchema[];
  /** Program names, in object order. */
  readonly programs: readonly string[];
}

/** A schema and the layout builder that named its types (the emitter reads both). */
export interface BuiltSchema {
  readonly schema: GenSchema;
  readonly builder: LayoutBuilder;
}

/** `.rodata` -> `rodata`, `.data.counters` -> `data_counters`. */
export function sectionProperty(section: string): string {
  const p = section.replace(/^\./, '').replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(p) ? `_${p}` : p;
}

function mapLayout(builder: LayoutBuilder, typeId: number | undefined, size: number, what: string, map: string): Layout | undefined {
  if (!typeId) return undefined;
  let l: Layout;
  try {
    l = builder.layout(typeId);
  } catch (err) {
    throw err instanceof BpfkitError ? err.withContext(`map "${map}" ${what}`) : err;
  }
  // A BTF type that disagrees with the map's size is ignored, as libbpf would refuse it.
  return layoutSize(l) === size ? l : undefined;
}

/**
 * Builds the schema of `spec`, loaded from the file `object` (named in messages); `objectName`
 * gives libbpf's internal map names; `offsets` (from {@link varOffsets}) place global variables.
 * Throws NoBtfError when the object has no BTF.
 */
export function buildSchema(spec: ObjectSpec, object: string, objectName: string, offsets?: VarOffsets): BuiltSchema {
  const btf = spec.btf;
  if (!btf) throw new NoBtfError(object);
  const builder = new LayoutBuilder(btf);
  const maps: GenMapSchema[] = [];
  const sections: GenSectionSchema[] = [];
  // Section interfaces are named first: `Rodata` is the section's, a `struct rodata` gets a suffix.
  const usedProps = new Set<string>();
  const names = new Map<string, { property: string; typeName: string }>();
  for (const m of spec.maps) {
    if (m.origin !== 'global-data') continue;
    let property = sectionProperty(m.name);
    for (let i = 2; usedProps.has(property); i++) property = `${sectionProperty(m.name)}_${i}`;
    usedProps.add(property);
    names.set(m.name, { property, typeName: builder.reserve(property, 'section') });
  }
  for (const m of spec.maps) {
    if (m.origin === 'kconfig') continue;
    if (m.origin === 'global-data') {
      const s = sectionSchema(builder, m, names.get(m.name)!, offsets?.get(m.name));
      if (s) sections.push(s);
      continue;
    }
    const key = mapLayout(builder, m.keyTypeId, m.keySize, 'key', m.name);
    const value = mapLayout(builder, m.valueTypeId, m.valueSize, 'value', m.name);
    maps.push({ name: m.name, type: m.type, keySize: m.keySize, valueSize: m.valueSize, ...(key ? { key } : {}), ...(value ? { value } : {}) });
  }
  const schema: GenSchema = { object, objectName, littleEndian: spec.byteOrder === 'le', maps, sections, programs: spec.programs.map((p) => p.name) };
  return { schema, builder };
}

/** Offsets of global variables by section and name: the ELF symbol values (what libbpf fixes DATASEC offsets from). */
export type VarOffsets = ReadonlyMap<string, ReadonlyMap<string, number>>;

/** The variable offsets of an object, from its ELF symbol table. */
export function varOffsets(bytes: Uint8Array): VarOffsets {
  const elf = parseElf(bytes);
  const out = new Map<string, Map<string, number>>();
  for (const sym of elf.symbols) {
    const sec = elf.sections[sym.shndx];
    if (!sec || sym.name === '' || sym.shndx === 0 || sym.shndx >= 0xff00) continue;
    let m = out.get(sec.name);
    if (!m) out.set(sec.name, (m = new Map()));
    m.set(sym.name, Number(sym.value));
  }
  return out;
}

/** Natural alignment of a layout (at most 8, as the kernel backend lays out DATASECs). */
function alignOf(l: Layout): number {
  switch (l.kind) {
    case 'string':
    case 'bytes':
    case 'opaque':
      return 1;
    case 'array':
      return alignOf(l.element);
    case 'struct':
    case 'union':
      return l.members.reduce((a, m) => Math.max(a, alignOf(m.layout)), 1);
    default:
      return Math.min(8, l.size);
  }
}

function sectionSchema(builder: LayoutBuilder, m: MapSpec, name: { property: string; typeName: string }, symbols: ReadonlyMap<string, number> | undefined): GenSectionSchema | undefined {
  const btf = builder.btf;
  const ds = m.valueTypeId ? btf.types[m.valueTypeId] : undefined;
  if (!ds || ds.kind !== 'datasec') return undefined;
  const vars: GenVarSchema[] = [];
  // clang leaves most DATASEC offsets 0: take the symbol's value, else lay the variables out in
  // DATASEC order with natural alignment, keeping offsets clang wrote (the kernel backend's rule).
  let cursor = 0;
  for (const v of (ds as DatasecType).vars) {
    const t = btf.types[v.type];
    if (!t || t.kind !== 'var') continue;
    let layout: Layout | undefined;
    try {
      layout = builder.layout(t.type);
    } catch (err) {
      if (t.linkage === 'static') continue;
      throw err instanceof BpfkitError ? err.withContext(`${m.name} variable "${t.name}"`) : err;
    }
    const a = alignOf(layout);
    const offset = symbols?.get(t.name) ?? Math.max(v.offset, Math.ceil(cursor / a) * a);
    cursor = offset + v.size;
    // Static variables are not part of the interface, as in a bpftool skeleton.
    if (t.linkage === 'static') continue;
    if (offset + layoutSize(layout) > m.valueSize) continue;
    vars.push({ name: t.name, declaration: builder.declaration(t.type, t.name), offset, layout });
  }
  if (vars.length === 0) return undefined;
  return { property: name.property, typeName: name.typeName, section: m.name, readOnly: m.readOnly, size: m.valueSize, vars };
}
