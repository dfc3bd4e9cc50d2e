// Generates src/kernel/bpf-attr.generated.ts (bpf_attr and *_info layouts) from the running kernel's BTF.
//
// Usage: node --import tsx scripts/gen-bpf-attr.ts [--check] [--btf /sys/kernel/btf/vmlinux]
//   --check  regenerate in memory and exit 1 if the committed file differs (CI drift check).
//   --btf    BTF file to read (default: the running kernel's). Needs bpftool on PATH.
import { fileURLToPath } from 'node:url';
import { dumpBtfTypes, failWith, runGenerator } from './generator.js';

const OUTPUT = fileURLToPath(new URL('../src/kernel/bpf-attr.generated.ts', import.meta.url));

/** One BTF type as `bpftool btf dump -j` prints it (only the parts used here). */
interface BtfType {
  id: number;
  kind: string;
  name: string;
  size?: number;
  type_id?: number;
  members?: { name: string; type_id: number; bits_offset: number; bitfield_size?: number }[];
  nr_elems?: number;
}

/** A flattened field: name -> byte offset, size, optional bitfield position. */
interface Field {
  name: string;
  offset: number;
  size: number;
  bits?: [number, number];
}

/**
 * Which layouts to emit. A member of `union bpf_attr` is chosen by its name when it has one,
 * otherwise by a field only that anonymous struct has. Order here is the order in the output.
 */
const ATTR_STRUCTS: { exportName: string; doc: string; member?: string; hasField?: string }[] = [
  { exportName: 'MAP_CREATE_ATTR', doc: 'BPF_MAP_CREATE', hasField: 'map_type' },
  { exportName: 'MAP_ELEM_ATTR', doc: 'BPF_MAP_*_ELEM, BPF_MAP_GET_NEXT_KEY and BPF_MAP_FREEZE', hasField: 'next_key' },
  { exportName: 'MAP_BATCH_ATTR', doc: 'BPF_MAP_*_BATCH', member: 'batch' },
  { exportName: 'PROG_LOAD_ATTR', doc: 'BPF_PROG_LOAD', hasField: 'insns' },
  { exportName: 'OBJ_PIN_ATTR', doc: 'BPF_OBJ_PIN and BPF_OBJ_GET', hasField: 'pathname' },
  { exportName: 'PROG_ATTACH_ATTR', doc: 'BPF_PROG_ATTACH and BPF_PROG_DETACH', hasField: 'attach_bpf_fd' },
  { exportName: 'TEST_RUN_ATTR', doc: 'BPF_PROG_TEST_RUN', member: 'test' },
  { exportName: 'GET_ID_ATTR', doc: 'BPF_*_GET_NEXT_ID and BPF_*_GET_FD_BY_ID', hasField: 'start_id' },
  { exportName: 'OBJ_INFO_ATTR', doc: 'BPF_OBJ_GET_INFO_BY_FD', member: 'info' },
  { exportName: 'PROG_QUERY_ATTR', doc: 'BPF_PROG_QUERY', member: 'query' },
  { exportName: 'BTF_LOAD_ATTR', doc: 'BPF_BTF_LOAD', hasField: 'btf_log_buf' },
  { exportName: 'LINK_CREATE_ATTR', doc: 'BPF_LINK_CREATE', member: 'link_create' },
  { exportName: 'LINK_UPDATE_ATTR', doc: 'BPF_LINK_UPDATE', member: 'link_update' },
  { exportName: 'LINK_DETACH_ATTR', doc: 'BPF_LINK_DETACH', member: 'link_detach' },
  { exportName: 'PROG_BIND_MAP_ATTR', doc: 'BPF_PROG_BIND_MAP', member: 'prog_bind_map' },
];

/** Named structs emitted as they are (the buffers BPF_OBJ_GET_INFO_BY_FD fills). */
const NAMED_STRUCTS: { exportName: string; struct: string }[] = [
  { exportName: 'PROG_INFO', struct: 'bpf_prog_info' },
  { exportName: 'MAP_INFO', struct: 'bpf_map_info' },
  { exportName: 'LINK_INFO', struct: 'bpf_link_info' },
  { exportName: 'BTF_INFO', struct: 'bpf_btf_info' },
];

const fail = failWith('gen-bpf-attr');

function loadBtf(path: string): Map<number, BtfType> {
  return new Map(dumpBtfTypes<BtfType>(path, fail).map((t) => [t.id, t]));
}

/** Follows typedefs and qualifiers to the underlying type. */
function resolve(types: Map<number, BtfType>, id: number): BtfType {
  let t = types.get(id) ?? fail(`BTF type ${id} missing`);
  while (['TYPEDEF', 'CONST', 'VOLATILE', 'RESTRICT', 'TYPE_TAG'].includes(t.kind)) {
    t = types.get(t.type_id ?? -1) ?? fail(`BTF type ${String(t.type_id)} missing`);
  }
  return t;
}

function sizeOf(types: Map<number, BtfType>, t: BtfType): number {
  if (t.kind === 'ARRAY') return (t.nr_elems ?? 0) * sizeOf(types, resolve(types, t.type_id ?? -1));
  if (t.kind === 'PTR') return 8;
  return t.size ?? fail(`type ${t.id} (${t.kind} ${t.name}) has no size`);
}

/** Flattens a struct/union: anonymous members lifted, named aggregates prefixed `name.`. */
function flatten(types: Map<number, BtfType>, t: BtfType, baseBits: number, prefix: string, out: Field[]): void {
  for (const m of t.members ?? []) {
    const mt = resolve(types, m.type_id);
    const bits = baseBits + m.bits_offset;
    const anonymous = m.name === '(anon)' || m.name === '';
    if ((mt.kind === 'STRUCT' || mt.kind === 'UNION') && anonymous) {
      flatten(types, mt, bits, prefix, out);
    } else if (mt.kind === 'STRUCT' || mt.kind === 'UNION') {
      flatten(types, mt, bits, `${prefix}${m.name}.`, out);
    } else if (m.bitfield_size) {
      const word = Math.floor(bits / 32) * 4;
      out.push({ name: prefix + m.name, offset: word, size: 4, bits: [bits - word * 8, m.bitfield_size] });
    } else {
      if (bits % 8 !== 0) fail(`${prefix}${m.name} is not byte aligned`);
      out.push({ name: prefix + m.name, offset: bits / 8, size: sizeOf(types, mt) });
    }
  }
}

function fieldsOf(types: Map<number, BtfType>, t: BtfType, what: string): Field[] {
  const out: Field[] = [];
  flatten(types, t, 0, '', out);
  const seen = new Set<string>();
  for (const f of out) {
    if (seen.has(f.name)) fail(`${what}: field name ${f.name} appears twice after flattening`);
    seen.add(f.name);
  }
  return out;
}

function emitLayout(exportName: string, doc: string, size: number, fields: Field[]): string {
  const lines = [`/** ${doc} */`, `export const ${exportName} = {`, `  size: ${size},`, '  fields: {'];
  for (const f of fields) {
    const key = /^[a-z_][a-z0-9_]*$/i.test(f.name) ? f.name : `'${f.name}'`;
    const bits = f.bits ? `, bits: [${f.bits[0]}, ${f.bits[1]}]` : '';
    lines.push(`    ${key}: { offset: ${f.offset}, size: ${f.size}${bits} },`);
  }
  lines.push('  },', '} as const satisfies StructLayout;', '');
  return lines.join('\n');
}

/** Produces the full text of the generated file. */
function generate(btfPath: string): string {
  const types = loadBtf(btfPath);
  const byName = (kind: string, name: string): BtfType =>
    [...types.values()].find((t) => t.kind === kind && t.name === name) ?? fail(`${kind} ${name} not in BTF`);

  const attr = byName('UNION', 'bpf_attr');
  const parts: string[] = [
    '// Code generated by scripts/gen-bpf-attr.ts; DO NOT EDIT.',
    '// Layouts of union bpf_attr and the bpf_*_info structs, read from the kernel BTF. Offsets and sizes in bytes.',
    '',
    "import type { StructLayout } from './layout.js';",
    '',
    '/** `sizeof(union bpf_attr)` on the kernel this was generated from. */',
    `export const BPF_ATTR_SIZE = ${sizeOf(types, attr)};`,
    '',
  ];
  for (const spec of ATTR_STRUCTS) {
    const member = (attr.members ?? []).find((m) => {
      if (spec.member) return m.name === spec.member;
      const mt = resolve(types, m.type_id);
      return (m.name === '(anon)' || m.name === '') && fieldsOf(types, mt, 'probe').some((f) => f.name === spec.hasField);
    }) ?? fail(`bpf_attr has no member for ${spec.exportName}`);
    const mt = resolve(types, member.type_id);
    parts.push(emitLayout(spec.exportName, `The part of \`union bpf_attr\` used by ${spec.doc}.`, sizeOf(types, mt), fieldsOf(types, mt, spec.exportName)));
  }
  for (const spec of NAMED_STRUCTS) {
    const t = byName('STRUCT', spec.struct);
    parts.push(emitLayout(spec.exportName, `\`struct ${spec.struct}\`, filled by BPF_OBJ_GET_INFO_BY_FD.`, sizeOf(types, t), fieldsOf(types, t, spec.struct)));
  }
  return parts.join('\n');
}

runGenerator('gen-bpf-attr', OUTPUT, generate);
