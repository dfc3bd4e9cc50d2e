// `bpfkit inspect OBJ`: sections, programs, maps and BTF of an object, like `bpftool` would list them.

import type { MapSpec, ObjectSpec } from '../elf/object-spec.js';
import { attachTypeName } from '../isa/attach-types.js';
import { mapTypeName } from '../isa/map-types.js';
import { programTypeName } from '../isa/program-types.js';
import { unmodelledCalls } from '../runtime/unmodelled-calls.js';
import { readObject } from './load-file.js';
import { hex, type Io, json, table } from './output.js';
import { type CommandArgs, type OptionSpec, TYPE_OPTION } from './args.js';

/** Usage text of `inspect`. */
export const inspectUsage = 'bpfkit inspect OBJ [--type TYPE] [--json|-j] [--pretty|-p]';

/** Options of `inspect`. */
export const inspectOptions: OptionSpec = { ...TYPE_OPTION };

/** A map as `inspect --json` prints it (bpftool's field names where bpftool has the datum). */
export interface InspectMapJson {
  name: string;
  type: string;
  bytes_key: number;
  bytes_value: number;
  max_entries: number;
  flags: number;
  pinning: 'none' | 'by_name';
  section: string;
  kernel_name?: string;
  map_extra?: number;
  btf_key_type_id?: number;
  btf_value_type_id?: number;
  inner_map?: InspectMapJson;
  init?: { key: number; value: string }[];
}

function mapJson(m: MapSpec): InspectMapJson {
  return {
    name: m.name,
    type: mapTypeName(m.type),
    bytes_key: m.keySize,
    bytes_value: m.valueSize,
    max_entries: m.maxEntries,
    flags: m.flags,
    pinning: m.pinning,
    section: m.section,
    ...(m.kernelName ? { kernel_name: m.kernelName } : {}),
    ...(m.mapExtra ? { map_extra: m.mapExtra } : {}),
    ...(m.keyTypeId ? { btf_key_type_id: m.keyTypeId } : {}),
    ...(m.valueTypeId ? { btf_value_type_id: m.valueTypeId } : {}),
    ...(m.innerMap ? { inner_map: mapJson(m.innerMap) } : {}),
    ...(m.initEntries.length ? { init: m.initEntries.map((e) => ({ ...e })) } : {}),
  };
}

/** The JSON document `inspect --json` prints. */
export function inspectJson(file: string, spec: ObjectSpec) {
  const btf = spec.btf;
  const ext = spec.btfExt;
  const count = (m: ReadonlyMap<string, readonly unknown[]> | undefined) => [...(m?.values() ?? [])].reduce((n, l) => n + l.length, 0);
  const unmodelled = new Map(spec.programs.map((p) => [p, unmodelledCalls(p)] as const));
  return {
    file,
    byte_order: spec.byteOrder,
    license: spec.license,
    ...(spec.kernelVersion ? { kernel_version: spec.kernelVersion } : {}),
    programs: spec.programs.map((p) => ({
      name: p.name,
      section: p.section,
      type: programTypeName(p.type),
      ...(p.expectedAttachType !== undefined ? { attach_type: attachTypeName(p.expectedAttachType) } : {}),
      ...(p.attachTo !== undefined ? { attach_to: p.attachTo } : {}),
      ...(p.autoload === false ? { autoload: false } : {}),
      insns: p.ownInsnCount,
      insns_linked: p.instructions.reduce((n, i) => n + (i.code === 0x18 ? 2 : 1), 0),
      license: p.license,
      flags: p.flags,
      functions: p.instructions.filter((i) => i.symbol !== undefined).map((i) => i.symbol!),
      maps: [...p.maps],
      ...(p.externs.length ? { externs: [...p.externs] } : {}),
      // Calls the userspace runtime does not model: a run that reaches one faults there.
      ...(unmodelled.get(p)!.length ? { unmodelled_calls: unmodelled.get(p)!.map((c) => ({ pc: c.pc, kind: c.kind, name: c.name, reason: c.reason })) } : {}),
    })),
    maps: spec.maps.map(mapJson),
    externs: spec.externs.map((e) => ({ name: e.name, kind: e.kind, weak: e.weak, ...(e.offset !== undefined ? { offset: e.offset, size: e.size } : {}) })),
    btf: btf
      ? {
          types: btf.types.length - 1,
          bytes: btf.bytes.length,
          ...(ext ? { func_info: count(ext.funcInfos), line_info: count(ext.lineInfos), core_relos: count(ext.coreRelos) } : {}),
        }
      : null,
    sections: spec.sections.map((s) => ({ index: s.index, name: s.name, type: s.type, size: s.size, role: s.role })),
    warnings: [
      ...spec.warnings,
      ...spec.programs.flatMap((p) => unmodelled.get(p)!.map((c) => `program ${p.name}: pc ${c.pc}: ${c.kind} ${c.name} is not modelled in userspace (a run that reaches it faults): ${c.reason}`)),
    ],
  };
}

/** Runs `inspect`. */
export function inspect(args: CommandArgs, io: Io): number {
  const file = args.positional(0, 'OBJ', inspectUsage);
  args.done(inspectUsage);
  const spec = readObject(file, args.programType(inspectUsage));
  const doc = inspectJson(file, spec);
  if (args.json) {
    io.out(json(doc, args.pretty));
    return 0;
  }
  let out = `${file}: BPF object, ${spec.byteOrder === 'le' ? 'little' : 'big'}-endian, license "${spec.license}"\n\n`;
  out += `Programs (${doc.programs.length}):\n`;
  out += doc.programs.length
    ? table(['name', 'section', 'type', 'insns', 'linked', 'functions'], doc.programs.map((p) => [p.name, p.section, p.type, p.insns, p.insns_linked, p.functions.length]))
    : '  (none)\n';
  out += `\nMaps (${doc.maps.length}):\n`;
  out += doc.maps.length
    ? table(
        ['name', 'type', 'key', 'value', 'max_entries', 'flags', 'details'],
        doc.maps.map((m) => [
          m.name,
          m.type,
          m.bytes_key,
          m.bytes_value,
          m.max_entries,
          hex(m.flags),
          [
            m.kernel_name ? `kernel name ${m.kernel_name}` : '',
            m.pinning === 'by_name' ? 'pinned by name' : '',
            m.inner_map ? `inner ${m.inner_map.type} ${m.inner_map.bytes_key}/${m.inner_map.bytes_value}/${m.inner_map.max_entries}` : '',
            m.init ? `init ${m.init.map((e) => `[${e.key}]=${e.value}`).join(' ')}` : '',
          ]
            .filter(Boolean)
            .join(', '),
        ]),
      )
    : '  (none)\n';
  if (doc.externs.length) out += `\nExterns (${doc.externs.length}):\n` + table(['name', 'kind', 'weak'], doc.externs.map((e) => [e.name, e.kind, e.weak ? 'yes' : 'no']));
  out += '\nBTF: ' + (doc.btf ? `${doc.btf.types} types, ${doc.btf.bytes} bytes` + (doc.btf.func_info !== undefined ? `; BTF.ext: ${doc.btf.func_info} func info, ${doc.btf.line_info} line info, ${doc.btf.core_relos} CO-RE relocations` : '') : 'none') + '\n';
  out += `\nSections (${doc.sections.length}):\n` + table(['idx', 'name', 'type', 'size', 'role'], doc.sections.map((s) => [s.index, s.name, s.type, s.size, s.role]));
  if (doc.warnings.length) out += `\nWarnings:\n${doc.warnings.map((w) => `  ${w}`).join('\n')}\n`;
  io.out(out);
  return 0;
}
