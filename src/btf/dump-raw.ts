// `btf dump ... format raw`: every type as bpftool's dump_btf_type prints it, as text or JSON, byte for byte.

import { BpftoolJsonWriter } from './json-writer.js';
import type { BtfType, IntType } from './types.js';

/** What the raw dump reads of a BTF: the type table (a `Btf` is one). */
export interface RawDumpSource {
  /** Types indexed by id; index 0 is void. */
  readonly types: readonly BtfType[];
}

/** Options of {@link dumpBtfRaw}. */
export interface DumpBtfRawOptions {
  /** JSON (`bpftool btf dump -j`) instead of text. */
  readonly json?: boolean;
  /** Indented JSON (`-p`), in bpftool's layout. */
  readonly pretty?: boolean;
  /** Only these type ids, in this order (bpftool's root types of `btf dump map`); default every type from 1. */
  readonly ids?: readonly number[];
}

const KIND_NAMES: Readonly<Record<BtfType['kind'], string>> = {
  void: 'UNKNOWN',
  int: 'INT',
  ptr: 'PTR',
  array: 'ARRAY',
  struct: 'STRUCT',
  union: 'UNION',
  enum: 'ENUM',
  fwd: 'FWD',
  typedef: 'TYPEDEF',
  volatile: 'VOLATILE',
  const: 'CONST',
  restrict: 'RESTRICT',
  func: 'FUNC',
  func_proto: 'FUNC_PROTO',
  var: 'VAR',
  datasec: 'DATASEC',
  float: 'FLOAT',
  decl_tag: 'DECL_TAG',
  type_tag: 'TYPE_TAG',
  enum64: 'ENUM64',
};

/** bpftool's btf_str: `(anon)` for the empty name. */
const str = (s: string): string => (s === '' ? '(anon)' : s);

/** bpftool's btf_int_enc_str of the encoding bits. */
function intEncoding(t: IntType): string {
  const enc = (t.signed ? 1 : 0) | (t.char ? 2 : 0) | (t.bool ? 4 : 0);
  return ({ 0: '(none)', 1: 'SIGNED', 2: 'CHAR', 4: 'BOOL' } as Record<number, string>)[enc] ?? 'UNKN';
}

/** One type's text record: `[id] KIND 'name' fields`, members on tab-indented lines, ending in a newline. */
function typeText(src: RawDumpSource, t: BtfType): string {
  let s = `[${t.id}] ${KIND_NAMES[t.kind]} '${str(t.name)}'`;
  switch (t.kind) {
    case 'int':
      s += ` size=${t.size} bits_offset=${t.bitOffset} nr_bits=${t.bits} encoding=${intEncoding(t)}`;
      break;
    case 'ptr':
    case 'const':
    case 'volatile':
    case 'restrict':
    case 'typedef':
    case 'type_tag':
      s += ` type_id=${t.type}`;
      break;
    case 'array':
      s += ` type_id=${t.type} index_type_id=${t.indexType} nr_elems=${t.nelems}`;
      break;
    case 'struct':
    case 'union':
      s += ` size=${t.size} vlen=${t.members.length}`;
      for (const m of t.members) s += `\n\t'${str(m.name)}' type_id=${m.type} bits_offset=${m.bitOffset}${m.bitfieldSize ? ` bitfield_size=${m.bitfieldSize}` : ''}`;
      break;
    case 'enum':
      s += ` encoding=${t.signed ? 'SIGNED' : 'UNSIGNED'} size=${t.size} vlen=${t.values.length}`;
      for (const v of t.values) s += `\n\t'${str(v.name)}' val=${t.signed ? v.value | 0 : v.value >>> 0}`;
      break;
    case 'enum64':
      s += ` encoding=${t.signed ? 'SIGNED' : 'UNSIGNED'} size=${t.size} vlen=${t.values.length}`;
      for (const v of t.values) s += `\n\t'${str(v.name)}' val=${t.signed ? `${BigInt.asIntN(64, v.value)}LL` : `${BigInt.asUintN(64, v.value)}ULL`}`;
      break;
    case 'fwd':
      s += ` fwd_kind=${t.fwdKind}`;
      break;
    case 'func':
      s += ` type_id=${t.type} linkage=${t.linkage}`;
      break;
    case 'func_proto':
      s += ` ret_type_id=${t.returnType} vlen=${t.params.length}`;
      for (const p of t.params) s += `\n\t'${str(p.name)}' type_id=${p.type}`;
      break;
    case 'var':
      s += ` type_id=${t.type}, linkage=${t.linkage}`;
      break;
    case 'datasec':
      s += ` size=${t.size} vlen=${t.vars.length}`;
      for (const v of t.vars) {
        s += `\n\ttype_id=${v.type} offset=${v.offset} size=${v.size}`;
        const vt = src.types[v.type];
        if (vt) s += ` (${KIND_NAMES[vt.kind]} '${str(vt.name)}')`;
      }
      break;
    case 'float':
      s += ` size=${t.size}`;
      break;
    case 'decl_tag':
      s += ` type_id=${t.type} component_idx=${t.componentIdx}`;
      break;
    default:
      break;
  }
  return `${s}\n`;
}

/** One type as a JSON object, fields in bpftool's order. */
function typeJson(w: BpftoolJsonWriter, t: BtfType): void {
  w.startObject().field('id', t.id).stringField('kind', KIND_NAMES[t.kind]).stringField('name', str(t.name));
  switch (t.kind) {
    case 'int':
      w.field('size', t.size).field('bits_offset', t.bitOffset).field('nr_bits', t.bits).stringField('encoding', intEncoding(t));
      break;
    case 'ptr':
    case 'const':
    case 'volatile':
    case 'restrict':
    case 'typedef':
    case 'type_tag':
      w.field('type_id', t.type);
      break;
    case 'array':
      w.field('type_id', t.type).field('index_type_id', t.indexType).field('nr_elems', t.nelems);
      break;
    case 'struct':
    case 'union':
      w.field('size', t.size).field('vlen', t.members.length).name('members').startArray();
      for (const m of t.members) {
        w.startObject().stringField('name', str(m.name)).field('type_id', m.type).field('bits_offset', m.bitOffset);
        if (m.bitfieldSize) w.field('bitfield_size', m.bitfieldSize);
        w.endObject();
      }
      w.endArray();
      break;
    case 'enum':
      w.stringField('encoding', t.signed ? 'SIGNED' : 'UNSIGNED').field('size', t.size).field('vlen', t.values.length).name('values').startArray();
      // btf_enum.val is an __s32 handed to jsonw_uint_field: an unsigned value >= 2^31 prints sign-extended to 64 bits.
      for (const v of t.values) w.startObject().stringField('name', str(v.name)).field('val', t.signed ? v.value | 0 : BigInt.asUintN(64, BigInt(v.value | 0))).endObject();
      w.endArray();
      break;
    case 'enum64':
      w.stringField('encoding', t.signed ? 'SIGNED' : 'UNSIGNED').field('size', t.size).field('vlen', t.values.length).name('values').startArray();
      for (const v of t.values) w.startObject().stringField('name', str(v.name)).field('val', t.signed ? BigInt.asIntN(64, v.value) : BigInt.asUintN(64, v.value)).endObject();
      w.endArray();
      break;
    case 'fwd':
      w.stringField('fwd_kind', t.fwdKind);
      break;
    case 'func':
    case 'var':
      w.field('type_id', t.type).stringField('linkage', t.linkage);
      break;
    case 'func_proto':
      w.field('ret_type_id', t.returnType).field('vlen', t.params.length).name('params').startArray();
      for (const p of t.params) w.startObject().stringField('name', str(p.name)).field('type_id', p.type).endObject();
      w.endArray();
      break;
    case 'datasec':
      w.field('size', t.size).field('vlen', t.vars.length).name('vars').startArray();
      for (const v of t.vars) w.startObject().field('type_id', v.type).field('offset', v.offset).field('size', v.size).endObject();
      w.endArray();
      break;
    case 'float':
      w.field('size', t.size);
      break;
    case 'decl_tag':
      w.field('type_id', t.type).field('component_idx', t.componentIdx);
      break;
    default:
      break;
  }
  w.endObject();
}

/**
 * The raw dump of `btf` exactly as `bpftool btf dump file F` prints it: one `[id] KIND 'name'
 * ...` record per type (members, enumerators, parameters and DATASEC vars on tab-indented lines),
 * or with `json` the `{"types":[...]}` document of `bpftool btf dump -j` (without the final
 * newline bpftool adds when it closes its writer).
 */
export function dumpBtfRaw(btf: RawDumpSource, options: DumpBtfRawOptions = {}): string {
  const ids = options.ids ?? Array.from({ length: Math.max(0, btf.types.length - 1) }, (_, i) => i + 1);
  if (!options.json) {
    const parts: string[] = [];
    for (const id of ids) {
      const t = btf.types[id];
      if (t) parts.push(typeText(btf, t));
    }
    return parts.join('');
  }
  const w = new BpftoolJsonWriter(options.pretty);
  w.startObject().name('types').startArray();
  for (const id of ids) {
    const t = btf.types[id];
    if (t) typeJson(w, t);
  }
  return w.endArray().endObject().text();
}
