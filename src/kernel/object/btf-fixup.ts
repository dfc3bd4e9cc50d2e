// An object's BTF made loadable: DATASEC sizes and offsets fixed up, extern linkages resolved, kinds the kernel lacks replaced.
//
// clang leaves DATASEC sizes at 0 and most variable offsets at 0 (the linker would fill them);
// the kernel rejects both. libbpf fixes them from the ELF section sizes and symbol values. The
// ObjectSpec keeps section sizes but not symbol values, so variable offsets are laid out in
// DATASEC order with each variable's natural alignment (what clang does for one translation
// unit), keeping offsets clang already wrote; kconfig variables take the offsets the object
// loader computed, as libbpf does. Sanitising follows libbpf's bpf_object__sanitize_btf.

import { BtfBuilder, type Btf, type BtfKind, type BtfType, type DatasecType, type VarSecinfo } from '../../btf/index.js';
import type { ObjectSpec } from '../../elf/object-spec.js';

/** BTF kinds (and encodings) an older kernel may reject, each replaced by libbpf with an older one. */
export type SanitizableKind = 'datasec' | 'func' | 'global_func' | 'float' | 'decl_tag' | 'type_tag' | 'enum64';

/** The result: bytes to hand to BPF_BTF_LOAD. */
export interface FixedBtf {
  /** The raw BTF. */
  readonly bytes: Uint8Array;
  /** What was changed, one line each (for `--verbose`/debugging). */
  readonly changes: readonly string[];
}

/** What alignment and layout need of a type table (the parsed Btf or a builder). */
interface Types {
  typeById(id: number): BtfType;
}

function alignOf(btf: Types, id: number, depth = 0): number {
  if (depth > 32) return 1;
  const t = btf.typeById(id);
  switch (t.kind) {
    case 'int':
    case 'enum':
    case 'enum64':
    case 'float':
      return Math.min(8, Math.max(1, t.size));
    case 'ptr':
      return 8;
    case 'array':
      return alignOf(btf, t.type, depth + 1);
    case 'struct':
    case 'union':
      return t.members.reduce((a, m) => Math.max(a, alignOf(btf, m.type, depth + 1)), 1);
    case 'typedef':
    case 'const':
    case 'volatile':
    case 'restrict':
    case 'type_tag':
    case 'var':
      return alignOf(btf, t.type, depth + 1);
    default:
      return 1;
  }
}

/** Lays out `vars` from 0 with natural alignment, keeping any offset clang already set past the cursor. */
function layoutVars(b: Types, vars: readonly VarSecinfo[], size: number): VarSecinfo[] {
  let at = 0;
  const aligned = vars.map((v) => {
    const a = alignOf(b, v.type);
    let off = Math.ceil(at / a) * a;
    if (v.offset > off) off = v.offset;
    at = off + v.size;
    return { ...v, offset: off };
  });
  if (at <= size || size === 0) return aligned;
  // Does not fit with alignment: pack (the variables are disjoint in the section, so this fits).
  at = 0;
  return vars.map((v) => {
    const r = { ...v, offset: at };
    at += v.size;
    return r;
  });
}

/** The fix-ups of one BTF, decided once and applied either by patching bytes or through a builder. */
interface Plan {
  /** Extern VARs and FUNCs to make global. */
  readonly linkage: number[];
  /** extern FUNCs whose prototype has unnamed parameters (the builder names them). */
  readonly unnamedParams: number[];
  /** DATASECs with their new size and (sorted) variables; `ksymFuncs` when a kfunc needs a placeholder VAR. */
  readonly datasecs: { id: number; size: number; vars: VarSecinfo[]; ksymFuncs: boolean }[];
  readonly changes: string[];
}

/** Decides every fix-up of `btf` for `spec` (placeholder VARs for .ksyms kfuncs are typed later: -1). */
function plan(spec: ObjectSpec, btf: Btf): Plan {
  const changes: string[] = [];
  const linkage: number[] = [];
  const unnamedParams: number[] = [];
  const datasecs: Plan['datasecs'] = [];
  const sectionSize = new Map(spec.sections.map((s) => [s.name, s.size]));
  for (const m of spec.maps) if (m.origin === 'global-data' || m.origin === 'kconfig') sectionSize.set(m.section === '' ? m.name : m.section, m.valueSize);
  const kconfig = spec.maps.find((m) => m.origin === 'kconfig');
  if (kconfig) sectionSize.set('.kconfig', kconfig.valueSize);
  const externOffset = new Map(spec.externs.flatMap((e) => (e.offset === undefined ? [] : [[e.name, e.offset] as const])));

  for (let id = 1; id < btf.types.length; id++) {
    const t = btf.types[id] as BtfType;
    if (t.kind === 'var' && t.linkage === 'extern') {
      linkage.push(id);
      changes.push(`VAR ${t.name}: extern -> global allocated`);
    } else if (t.kind === 'func' && t.linkage === 'extern') {
      linkage.push(id);
      changes.push(`FUNC ${t.name}: extern -> global`);
      // clang leaves a kfunc declaration's parameters unnamed; the kernel wants every FUNC's named.
      const proto = btf.typeById(t.type);
      if (proto.kind === 'func_proto' && proto.params.some((p) => p.name === '' && p.type !== 0)) unnamedParams.push(proto.id);
    }
  }
  for (let id = 1; id < btf.types.length; id++) {
    const t = btf.types[id] as BtfType;
    if (t.kind !== 'datasec') continue;
    let vars: VarSecinfo[];
    let size = sectionSize.get(t.name) ?? t.size;
    let ksymFuncs = false;
    if (t.name === '.kconfig') {
      vars = t.vars.map((v) => ({ ...v, offset: externOffset.get(btf.typeById(v.type).name) ?? v.offset }));
    } else if (t.name === '.ksyms') {
      // Kernel variables and kfuncs resolved through BTF ids: placeholders of their own size.
      let at = 0;
      vars = t.vars.map((v) => {
        const isFunc = btf.typeById(v.type).kind === 'func';
        if (isFunc) ksymFuncs = true;
        const r = isFunc ? { type: -1, offset: at, size: 4 } : { ...v, offset: at, size: Math.max(1, v.size) };
        at += r.size;
        return r;
      });
      size = at;
    } else {
      vars = layoutVars(btf, t.vars, size);
    }
    vars.sort((x, y) => x.offset - y.offset);
    if (size === 0) size = vars.reduce((end, v) => Math.max(end, v.offset + v.size), 0);
    if (size !== t.size || vars.some((v, i) => v.offset !== t.vars[i]?.offset)) changes.push(`DATASEC ${t.name}: size ${t.size} -> ${size}, offsets ${vars.map((v) => v.offset).join(',')}`);
    datasecs.push({ id, size, vars, ksymFuncs });
  }
  return { linkage, unnamedParams, datasecs, changes };
}

/**
 * Returns `spec.btf` ready for BPF_BTF_LOAD: DATASEC sizes from the sections (global data:
 * the map's value size; `.kconfig`: its map), variable offsets laid out, extern VARs made
 * global-allocated (kconfig at the offsets the object loader assigned), extern FUNCs (kfunc
 * declarations) made global, and `missing` kinds replaced the way libbpf sanitises them.
 *
 * When nothing needs new types or strings (no kind to sanitise, no kfunc placeholder or
 * parameter names), the fix-ups are patched into a copy of the section's bytes, which is what
 * re-encoding through a BtfBuilder produces too, at a fraction of the cost.
 */
export function fixupBtf(spec: ObjectSpec, btf: Btf, missing: ReadonlySet<SanitizableKind> = new Set()): FixedBtf {
  const p = plan(spec, btf);
  if (missing.size === 0 && btf.littleEndian && p.unnamedParams.length === 0 && !p.datasecs.some((d) => d.ksymFuncs)) {
    return { bytes: patchBytes(btf, p), changes: p.changes };
  }
  return { bytes: withBuilder(btf, p, missing), changes: p.changes };
}

// Record layouts (include/uapi/linux/btf.h): struct btf_type is name_off, info, size/type; a VAR
// is followed by its linkage, a DATASEC by vlen { type, offset, size }. A FUNC's linkage is vlen.
const BTF_VAR_GLOBAL_ALLOCATED = 1;
const BTF_FUNC_GLOBAL = 1;

function patchBytes(btf: Btf, p: Plan): Uint8Array {
  const bytes = new Uint8Array(btf.bytes); // a copy (a Buffer's slice() would be a view)
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const id of p.linkage) {
    const at = btf.typeOffset(id);
    if (btf.typeById(id).kind === 'var') dv.setUint32(at + 12, BTF_VAR_GLOBAL_ALLOCATED, true);
    else dv.setUint32(at + 4, (dv.getUint32(at + 4, true) & ~0xffff) | BTF_FUNC_GLOBAL, true);
  }
  for (const d of p.datasecs) {
    const at = btf.typeOffset(d.id);
    dv.setUint32(at + 8, d.size, true);
    d.vars.forEach((v, i) => {
      dv.setUint32(at + 12 + i * 12, v.type, true);
      dv.setUint32(at + 16 + i * 12, v.offset, true);
      dv.setUint32(at + 20 + i * 12, v.size, true);
    });
  }
  return bytes;
}

function withBuilder(btf: Btf, p: Plan, missing: ReadonlySet<SanitizableKind>): Uint8Array {
  const b = BtfBuilder.from(btf);
  for (const id of p.linkage) {
    const t = b.typeById(id);
    if (t.kind === 'var' || t.kind === 'func') b.replace(id, { ...t, linkage: 'global' });
  }
  for (const id of p.unnamedParams) {
    const proto = b.typeById(id);
    if (proto.kind === 'func_proto') b.replace(id, { ...proto, params: proto.params.map((q, i) => (q.name === '' && q.type !== 0 ? { ...q, name: `arg${i}` } : q)) });
  }
  // DATASEC entries must be VARs: a kfunc listed in .ksyms is replaced by a placeholder int VAR (libbpf's dummy_ksym).
  let dummyVar: number | undefined;
  const dummy = (): number => {
    if (dummyVar === undefined) {
      const int = b.add({ kind: 'int', name: 'int', size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 });
      dummyVar = b.add({ kind: 'var', name: 'dummy_ksym', type: int, linkage: 'global' });
    }
    return dummyVar;
  };
  for (const d of p.datasecs) {
    const t = b.typeById(d.id) as DatasecType;
    b.replace(d.id, { ...t, size: d.size, vars: d.vars.map((v) => (v.type === -1 ? { ...v, type: dummy() } : v)) });
  }
  sanitize(b, missing, p.changes);
  return b.encode();
}

/** Replaces kinds in `missing` by ones older kernels know (libbpf's rules), in place. */
export function sanitize(b: BtfBuilder, missing: ReadonlySet<SanitizableKind>, changes: string[] = []): void {
  if (missing.size === 0) return;
  const int8 = { kind: 'int', name: '', size: 1, signed: false, char: false, bool: false, bitOffset: 0, bits: 8 } as const;
  for (let id = 1; id < b.types.length; id++) {
    const t = b.types[id] as BtfType;
    const note = (to: BtfKind) => changes.push(`${t.kind.toUpperCase()} ${t.name || `#${id}`} -> ${to.toUpperCase()} (kernel lacks ${t.kind})`);
    if (missing.has('datasec') && t.kind === 'var') {
      b.replace(id, { ...int8, name: t.name });
      note('int');
    } else if (missing.has('datasec') && t.kind === 'datasec') {
      // A struct whose members are the variables (named after them, typed int8 placeholders).
      const name = t.name.replace(/[^A-Za-z0-9_]/g, '_');
      b.replace(id, { kind: 'struct', name, size: t.size, kindFlag: false, members: t.vars.map((v) => ({ name: b.typeById(v.type).name, type: v.type, bitOffset: v.offset * 8, bitfieldSize: 0 })) });
      note('struct');
    } else if (missing.has('func') && t.kind === 'func_proto') {
      b.replace(id, { kind: 'enum', name: '', size: 4, signed: false, values: t.params.map((p) => ({ name: p.name || 'arg', value: 0 })) });
      note('enum');
    } else if (missing.has('func') && t.kind === 'func') {
      b.replace(id, { kind: 'typedef', name: t.name, type: t.type });
      note('typedef');
    } else if (missing.has('global_func') && t.kind === 'func' && t.linkage === 'global') {
      b.replace(id, { ...t, linkage: 'static' });
      changes.push(`FUNC ${t.name}: global -> static (kernel lacks global functions)`);
    } else if (missing.has('float') && t.kind === 'float') {
      b.replace(id, { kind: 'struct', name: '', size: t.size, kindFlag: false, members: [] });
      note('struct');
    } else if (missing.has('decl_tag') && t.kind === 'decl_tag') {
      b.replace(id, { ...int8 });
      note('int');
    } else if (missing.has('type_tag') && t.kind === 'type_tag') {
      b.replace(id, { kind: 'const', name: '', type: t.type });
      note('const');
    } else if (missing.has('enum64') && t.kind === 'enum64') {
      b.replace(id, { kind: 'union', name: t.name, size: t.size, kindFlag: false, members: [] });
      note('union');
    }
  }
}
