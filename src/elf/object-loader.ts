// ELF bytes -> ObjectSpec: programs, maps, global data, externs, BTF — libbpf's reading of a
// clang-compiled BPF object, as plain data.

import { type Btf, type BtfExt, parseBtf, parseBtfExt } from '../btf/index.js';
import { BpfkitError } from '../errors.js';
import { BpfProgType } from '../isa/uapi.generated.js';
import { collectExterns, dataSectionKind, dataSectionMap, internalMapName } from './global-data.js';
import { parseBtfMaps, type BtfMapDef } from './btf-maps.js';
import { parseElf, type ElfFile, type ElfSection } from './elf-file.js';
import { legacyMaps } from './legacy-maps.js';
import { EM_BPF, ET_REL, SECTION_TYPE_NAMES, SHF_EXECINSTR, SHT_PROGBITS, SHT_REL, SHT_RELA, SHT_STRTAB, SHT_SYMTAB, SHT_NOBITS, SHN_UNDEF } from './elf-constants.js';
import { ObjectError } from './object-error.js';
import type { ExternSpec, MapSpec, ObjectSpec, ProgramSpec, SectionSummary } from './object-spec.js';
import { applyRelocations, collectFunctions, linkProgram, type Func } from './program-linker.js';
import { applyProgramType, type ProgramTypeOption } from './program-type.js';
import { legacySectionType, matchSection } from './section-defs.js';

const BPF_F_SLEEPABLE = 1 << 4;
const BPF_F_XDP_HAS_FRAGS = 1 << 5;

/** Options for `loadObject`. */
export interface LoadObjectOptions {
  /**
   * The object's name, used for the kernel names of global-data maps (`xdp_stat.rodata`) as
   * libbpf derives them from the file name. Defaults to `obj`.
   */
  objectName?: string;
  /**
   * Program types for sections libbpf 1.x cannot type (`SEC("xdp_prog")`, `SEC("filter")`), as
   * bpftool's `prog load OBJ PIN type T`: one type for every program or one per program name.
   * A bpftool type name (`xdp`, `classifier`, `action`, `socket`, `cgroup/skb`...), a kernel
   * type name (`sched_cls`) or a BPF_PROG_TYPE value; see {@link applyProgramType}.
   */
  programType?: ProgramTypeOption;
}

/** The object name libbpf derives from a path: the base name up to its first dot, at most 15 characters. */
export function objectNameFromPath(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dot = base.indexOf('.');
  return (dot === -1 ? base : base.slice(0, dot)).slice(0, 15);
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end === -1 ? bytes : bytes.subarray(0, end));
}

function wrap<T>(context: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof BpfkitError) throw e.withContext(context);
    throw e;
  }
}

const isExec = (s: ElfSection) => s.type === SHT_PROGBITS && (s.flags & SHF_EXECINSTR) !== 0n && s.size > 0;

/** Fills prog-array and map-in-map initial values from the relocations of the `.maps` section. */
function btfMapInitEntries(elf: ElfFile, mapsSec: ElfSection, defs: BtfMapDef[]): BtfMapDef[] {
  const rs = elf.relocations.find((r) => r.target?.index === mapsSec.index);
  if (!rs) return defs;
  const entries = new Map<string, { key: number; value: string }[]>();
  rs.entries.forEach((rel, n) => {
    const off = Number(rel.offset);
    const def = defs.find((d) => off >= d.offset && off < d.offset + d.size);
    if (!def || def.valuesOffset === undefined) throw new ObjectError(`relocation ${n} at offset ${off} is not inside a map's "values"`, mapsSec.name, off);
    const rel0 = off - def.offset - def.valuesOffset;
    if (rel0 < 0 || rel0 % 8 !== 0) throw new ObjectError(`relocation ${n} is not aligned to a "values" slot of map "${def.spec.name}"`, mapsSec.name, off);
    const sym = elf.symbols[rel.symbol];
    if (!sym || sym.name === '') throw new ObjectError(`relocation ${n}: initial value of map "${def.spec.name}" refers to an unnamed symbol`, mapsSec.name, off);
    const list = entries.get(def.spec.name) ?? [];
    list.push({ key: rel0 / 8, value: sym.name });
    entries.set(def.spec.name, list);
  });
  return defs.map((d) => {
    const e = entries.get(d.spec.name);
    if (!e) return d;
    const max = d.spec.maxEntries;
    for (const x of e) if (x.key >= max) throw new ObjectError(`map "${d.spec.name}": initial value at index ${x.key} is beyond max_entries ${max}`, mapsSec.name);
    return { ...d, spec: { ...d.spec, initEntries: e.sort((a, b) => a.key - b.key) } };
  });
}

/**
 * Parses a clang-compiled BPF object into an ObjectSpec. The result depends only on the bytes
 * (and `objectName`): programs per section with their subprograms linked, maps from `.maps`
 * BTF and legacy `maps`, global data and kconfig maps, externs, BTF and BTF.ext. Malformed
 * input throws a typed error (ElfError, BtfError, InvalidInstructionError or ObjectError)
 * naming the section and offset.
 */
export function loadObject(bytes: Uint8Array, options: LoadObjectOptions = {}): ObjectSpec {
  const objectName = options.objectName ?? 'obj';
  const elf = parseElf(bytes);
  if (elf.machine !== EM_BPF) throw new ObjectError(`not a BPF object: e_machine is ${elf.machine}, expected ${EM_BPF} (EM_BPF)`, undefined, 18);
  if (elf.type !== ET_REL) throw new ObjectError(`not a relocatable object: e_type is ${elf.type}, expected ${ET_REL} (ET_REL)`, undefined, 16);
  const byteOrder = elf.byteOrder;
  const warnings: string[] = [];
  const roles = new Map<number, SectionSummary['role']>();

  // BTF first: map definitions and externs are described by it.
  const btfSec = elf.sections.find((s) => s.name === '.BTF');
  const btf: Btf | undefined = btfSec ? wrap('section ".BTF"', () => parseBtf(btfSec.data())) : undefined;
  const extSec = elf.sections.find((s) => s.name === '.BTF.ext');
  let btfExt: BtfExt | undefined;
  if (extSec && btf) btfExt = wrap('section ".BTF.ext"', () => parseBtfExt(extSec.data(), btf));
  if (btfSec) roles.set(btfSec.index, 'btf');
  if (extSec) roles.set(extSec.index, 'btf-ext');

  let license = '';
  let kernelVersion = 0;
  const licSec = elf.sections.find((s) => s.name === 'license');
  if (licSec) {
    license = cString(licSec.data());
    roles.set(licSec.index, 'license');
  }
  const verSec = elf.sections.find((s) => s.name === 'version');
  if (verSec) {
    if (verSec.size !== 4) throw new ObjectError(`expected 4 bytes, found ${verSec.size}`, 'version');
    const d = verSec.data();
    kernelVersion = new DataView(d.buffer, d.byteOffset, 4).getUint32(0, byteOrder === 'le');
    roles.set(verSec.index, 'version');
  }

  // Maps: BTF-defined, then legacy, then global data (section order), then kconfig.
  const maps: MapSpec[] = [];
  const mapOffsets = new Map<number, { offset: number; size: number; name: string }[]>();
  const mapsSec = elf.sections.find((s) => s.name === '.maps');
  if (mapsSec) {
    if (!btf) throw new ObjectError('BTF-defined maps need the object\'s BTF (.BTF section missing; compile with -g)', '.maps');
    const defs = wrap('section ".maps"', () => btfMapInitEntries(elf, mapsSec, parseBtfMaps(btf, '.maps', warnings, (name) => {
      const sym = elf.symbols.find((s) => s.shndx === mapsSec.index && s.name === name);
      return sym === undefined ? undefined : Number(sym.value);
    })));
    maps.push(...defs.map((d) => d.spec));
    mapOffsets.set(mapsSec.index, defs.map((d) => ({ offset: d.offset, size: d.size, name: d.spec.name })));
    roles.set(mapsSec.index, 'maps');
  }
  const legacySec = elf.sections.find((s) => s.name === 'maps');
  if (legacySec) {
    const defs = legacyMaps(elf, legacySec, byteOrder, btf, warnings);
    maps.push(...defs.map((d) => d.spec));
    mapOffsets.set(legacySec.index, defs.map((d, i) => ({ offset: d.offset, size: (defs[i + 1]?.offset ?? legacySec.size) - d.offset, name: d.spec.name })));
    roles.set(legacySec.index, 'legacy-maps');
  }
  const dataMaps = new Map<number, string>();
  for (const s of elf.sections) {
    const kind = dataSectionKind(s);
    if (!kind) continue;
    roles.set(s.index, kind);
    if (s.size === 0) continue;
    maps.push(dataSectionMap(s, kind, s.type === SHT_NOBITS ? new Uint8Array(0) : s.data(), btf));
    dataMaps.set(s.index, s.name);
  }
  const { externs, kconfigMap } = wrap('externs', () => collectExterns(elf.symbols, btf));
  if (kconfigMap) maps.push(kconfigMap);
  const seenNames = new Set<string>();
  for (const m of maps) {
    if (seenNames.has(m.name)) throw new ObjectError(`two maps are named "${m.name}"`, m.section);
    seenNames.add(m.name);
  }
  const kernelNames = new Map(maps.map((m) => [m.name, m.origin === 'global-data' || m.origin === 'kconfig' ? internalMapName(objectName, m.name) : m.name]));

  // Programs: functions of executable sections, relocated, then linked.
  const execSections = elf.sections.filter(isExec);
  const funcs: Func[] = collectFunctions(elf, execSections, byteOrder);
  const externByName = new Map<string, ExternSpec>(externs.map((e) => [e.name, e]));
  applyRelocations(elf, funcs, {
    mapAt: (sec, off) => mapOffsets.get(sec)?.find((m) => off >= m.offset && off < m.offset + m.size)?.name,
    dataMap: (sec) => dataMaps.get(sec),
    extern: (name) => {
      const e = externByName.get(name);
      return e && (e.offset === undefined ? { kind: e.kind } : { kind: e.kind, offset: e.offset });
    },
  });

  const programs: ProgramSpec[] = [];
  for (const sec of execSections) {
    if (sec.name === '.text') {
      roles.set(sec.index, 'subprograms');
      continue;
    }
    roles.set(sec.index, 'program');
    // libbpf: SEC("?xdp") is SEC("xdp") with autoload off, and the '?' is forgotten from then on.
    const lazy = sec.name.startsWith('?');
    const secName = lazy ? sec.name.slice(1) : sec.name;
    const match = matchSection(secName);
    if (!match) {
      const legacy = legacySectionType(secName);
      warnings.push(`section "${secName}": libbpf cannot tell the program type from this name; its programs stay untyped until a type is given (--type / programType)${legacy ? `; libbpf < 1.0 read it as ${legacy}` : ''}`);
    }
    for (const fn of funcs.filter((f) => f.section.index === sec.index)) {
      if (!fn.global) {
        warnings.push(`section "${sec.name}": static function "${fn.name}" is not a program (libbpf refuses static programs)`);
        continue;
      }
      const linked = wrap(`section "${sec.name}": program "${fn.name}"`, () => linkProgram(fn, funcs, btfExt, btf));
      programs.push({
        name: fn.name,
        section: secName,
        ...(lazy ? { autoload: false } : {}),
        type: match?.progTypeValue ?? BpfProgType.UNSPEC,
        ...(match && match.attachType !== undefined ? { expectedAttachType: match.attachTypeValue } : {}),
        ...(match?.target !== undefined ? { attachTo: match.target } : {}),
        flags: (match?.sleepable ? BPF_F_SLEEPABLE : 0) | (match?.xdpFrags ? BPF_F_XDP_HAS_FRAGS : 0),
        license,
        kernelVersion,
        instructions: linked.instructions,
        ownInsnCount: fn.slotCount,
        sectionOffset: fn.startSlot * 8,
        funcInfo: linked.funcInfo,
        coreRelos: linked.coreRelos,
        maps: linked.maps,
        externs: linked.externs,
      });
    }
  }

  // Every section gets a role, so `inspect` can say what was skipped.
  for (const s of elf.sections) {
    if (s.index === 0 || roles.has(s.index)) continue;
    let role: SectionSummary['role'];
    if (s.type === SHT_REL || s.type === SHT_RELA) role = 'relocations';
    else if (s.type === SHT_SYMTAB) role = 'symbols';
    else if (s.type === SHT_STRTAB) role = 'strings';
    else if (s.name.startsWith('.debug_') || s.name === '.llvm_addrsig' || s.name.startsWith('.rel.debug_')) role = 'debug';
    else {
      role = 'skipped';
      if (s.size > 0 && s.name !== '.text') warnings.push(`section "${s.name}" (${SECTION_TYPE_NAMES.get(s.type) ?? s.type}, ${s.size} bytes) is not used by BPF and was skipped`);
    }
    roles.set(s.index, role);
  }
  const sections: SectionSummary[] = elf.sections
    .filter((s) => s.index !== 0)
    .map((s) => ({ index: s.index, name: s.name, type: (SECTION_TYPE_NAMES.get(s.type) ?? String(s.type)).replace(/^SHT_/, ''), size: s.size, role: roles.get(s.index)! }));

  // Undefined symbols that are not externs would have failed above; keep SHN_UNDEF referenced.
  void SHN_UNDEF;
  const spec: ObjectSpec = {
    byteOrder,
    license,
    kernelVersion,
    programs,
    maps: maps.map((m) => ({ ...m, ...(kernelNames.get(m.name) !== m.name ? { kernelName: kernelNames.get(m.name)! } : {}) })),
    externs,
    ...(btf ? { btf } : {}),
    ...(btfExt ? { btfExt } : {}),
    sections,
    warnings,
  };
  return applyProgramType(spec, options.programType);
}
