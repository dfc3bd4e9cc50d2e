// BTF -> Layout: the plain, JSON-able description of a C value's bytes that the generated TypeScript
// types and codecs are both made from (so a type and its codec cannot disagree).

import type { Btf, BtfType, CompositeType, Enum64Type, EnumType } from '../btf/index.js';
import { GenTypeError } from './errors.js';

/** An integer: `size` 1, 2 or 4 bytes is a `number`, 8 or 16 a `bigint`. */
export interface IntLayout {
  readonly kind: 'int';
  readonly size: number;
  readonly signed: boolean;
}
/** `_Bool`: a `boolean` stored in `size` bytes. */
export interface BoolLayout {
  readonly kind: 'bool';
  readonly size: number;
}
/** `float` / `double`: a `number`. */
export interface FloatLayout {
  readonly kind: 'float';
  readonly size: 4 | 8;
}
/** An enum: a `number` (`bigint` when 8 bytes); `name` is its TypeScript name when it has one. */
export interface EnumLayout {
  readonly kind: 'enum';
  readonly size: number;
  readonly signed: boolean;
  readonly name?: string;
}
/** A pointer (8 bytes): its address as a `bigint`, as bpftool prints it. */
export interface PtrLayout {
  readonly kind: 'ptr';
  readonly size: 8;
}
/** `char[length]`: a `string` (UTF-8, up to the first NUL; written NUL-padded). */
export interface StringLayout {
  readonly kind: 'string';
  readonly length: number;
}
/** An array of unsigned 1-byte integers (`__u8[6]`): a `Uint8Array` of exactly `length` bytes. */
export interface BytesLayout {
  readonly kind: 'bytes';
  readonly length: number;
}
/** Any other array: a JS array of exactly `length` elements. */
export interface ArrayLayout {
  readonly kind: 'array';
  readonly length: number;
  readonly element: Layout;
}
/** A struct or union: an object of its members (anonymous struct/union members flattened in, as C reads them). */
export interface CompositeLayout {
  readonly kind: 'struct' | 'union';
  readonly size: number;
  /** TypeScript interface name, for named (or typedef-named) types. */
  readonly name?: string;
  /** The C name (`datarec`, or the typedef's), for named types. */
  readonly cName?: string;
  readonly members: readonly MemberLayout[];
}
/** Bytes with no value representation (a 16-byte `long double`...): a `Uint8Array`. */
export interface OpaqueLayout {
  readonly kind: 'opaque';
  readonly size: number;
}

/** The layout of a C value. */
export type Layout = IntLayout | BoolLayout | FloatLayout | EnumLayout | PtrLayout | StringLayout | BytesLayout | ArrayLayout | CompositeLayout | OpaqueLayout;

/** One member: at byte `offset`; a bitfield also has `bits` starting at bit `bitOffset` (as BTF counts bits in the object's byte order). */
export interface MemberLayout {
  readonly name: string;
  readonly offset: number;
  readonly layout: Layout;
  /** Bitfield width; absent for whole members. */
  readonly bits?: number;
  /** Bit offset (0-7) from `offset`, for bitfields. */
  readonly bitOffset?: number;
  /** A union's member (or one flattened out of an anonymous union): decoded always, written only when present. */
  readonly optional?: boolean;
}

/** Size in bytes of a layout. */
export function layoutSize(l: Layout): number {
  switch (l.kind) {
    case 'string':
    case 'bytes':
      return l.length;
    case 'array':
      return l.length * layoutSize(l.element);
    default:
      return l.size;
  }
}

/** True when values of `l` (a scalar layout) are bigints. */
export function isBigint(l: Layout): boolean {
  return (l.kind === 'int' || l.kind === 'enum' || l.kind === 'ptr') && l.size >= 8;
}

/** A named enum met while building layouts: its TypeScript name and enumerators. */
export interface EnumDef {
  readonly name: string;
  readonly cName: string;
  readonly big: boolean;
  readonly values: readonly (readonly [string, number | bigint])[];
}

/** Names TypeScript declarations of the generated module already use (types get a suffix instead). */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([
  'Maps', 'Programs', 'ProgramName', 'MapName', 'Globals', 'Handle', 'Backend', 'Backends', 'OpenOptions', 'KernelLoadOptions', 'PROGRAM_NAMES',
  'Array', 'ArrayBuffer', 'BigInt', 'Boolean', 'DataView', 'Date', 'Error', 'Function', 'Infinity', 'Iterable', 'IterableIterator', 'Map', 'Math',
  'NaN', 'Number', 'Object', 'Partial', 'Promise', 'Readonly', 'ReadonlyArray', 'Record', 'Set', 'String', 'Symbol', 'Uint8Array', 'WeakMap',
  'Disposable', 'JSON', 'Reflect', 'Proxy', 'Exclude', 'Extract', 'Pick', 'Omit', 'Required', 'NonNullable', 'ReturnType',
]);

/** `flow_key` -> `FlowKey`, `xdp_action` -> `XdpAction`: a C name as a TypeScript type name. */
export function pascalCase(cName: string): string {
  const s = cName
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join('');
  return s === '' ? 'Anon' : /^[0-9]/.test(s) ? `T${s}` : s;
}

const MAX_DEPTH = 64;

/**
 * Builds layouts of an object's BTF types, naming each named struct, union and enum once
 * (`struct datarec` -> `Datarec`; a clash gets the kind as suffix, then a number).
 */
export class LayoutBuilder {
  /** Named enums met, by TypeScript name, in the order first met. */
  readonly enums = new Map<string, EnumDef>();
  /** The C declaration of each member built (`__u64 rx_packets`, `__u32 a: 3`), for the emitter's comments. */
  readonly declarations = new WeakMap<MemberLayout, string>();
  private readonly names = new Map<number, string>();
  private readonly used = new Set<string>(RESERVED_NAMES);
  private readonly cache = new Map<number, Layout>();

  constructor(readonly btf: Btf) {}

  /** A fresh TypeScript name for `cName` of `kind`, reserved from now on. */
  reserve(cName: string, kind: string): string {
    const base = pascalCase(cName);
    let name = base;
    if (this.used.has(name)) name = `${base}${kind[0]!.toUpperCase()}${kind.slice(1)}`;
    for (let i = 2; this.used.has(name); i++) name = `${base}${i}`;
    this.used.add(name);
    return name;
  }

  /** The layout of type `id` (typedefs and qualifiers see through). */
  layout(id: number): Layout {
    return this.build(id, 0, undefined);
  }

  /** C spelling of type `id` declaring `name` (`char name[16]`); the bare name when BTF cannot spell it. */
  declaration(id: number, name: string): string {
    try {
      return this.btf.format(id, name);
    } catch {
      return name;
    }
  }

  private typeAt(id: number): BtfType {
    const t = this.btf.types[id];
    if (t === undefined) throw new GenTypeError(id, 'no such type');
    return t;
  }

  private build(id: number, depth: number, typedefName: string | undefined): Layout {
    if (depth > MAX_DEPTH) throw new GenTypeError(id, 'types nest too deep');
    const cached = typedefName === undefined ? this.cache.get(id) : undefined;
    if (cached) return cached;
    const t = this.typeAt(id);
    let l: Layout;
    switch (t.kind) {
      case 'int':
        if (t.bool) l = { kind: 'bool', size: t.size };
        else if (t.bitOffset !== 0 || t.bits !== t.size * 8 || ![1, 2, 4, 8, 16].includes(t.size)) l = { kind: 'opaque', size: t.size };
        else l = { kind: 'int', size: t.size, signed: t.signed };
        break;
      case 'float':
        l = t.size === 4 || t.size === 8 ? { kind: 'float', size: t.size } : { kind: 'opaque', size: t.size };
        break;
      case 'ptr':
        l = { kind: 'ptr', size: 8 };
        break;
      case 'enum':
      case 'enum64':
        l = this.enumLayout(t, typedefName);
        break;
      case 'typedef': {
        // A typedef names an anonymous struct, union or enum (`typedef struct { ... } flow_t`).
        const target = this.btf.skipQualifiers(t.type);
        const names = (target.kind === 'struct' || target.kind === 'union' || target.kind === 'enum' || target.kind === 'enum64') && target.name === '';
        return this.build(t.type, depth + 1, names ? (typedefName ?? t.name) : typedefName);
      }
      case 'const':
      case 'volatile':
      case 'restrict':
      case 'type_tag':
        return this.build(t.type, depth + 1, typedefName);
      case 'array':
        l = this.arrayLayout(t.type, t.nelems, depth);
        break;
      case 'struct':
      case 'union':
        l = this.compositeLayout(t, depth, typedefName);
        break;
      default:
        throw new GenTypeError(id, `${t.kind}${t.name ? ` ${t.name}` : ''} has no value representation`);
    }
    if (typedefName === undefined) this.cache.set(id, l);
    return l;
  }

  private enumLayout(t: EnumType | Enum64Type, typedefName: string | undefined): EnumLayout {
    const cName = t.name || typedefName;
    const base = { kind: 'enum' as const, size: t.size, signed: t.signed };
    if (!cName) return base;
    let name = this.names.get(t.id);
    if (!name) {
      name = this.reserve(cName, 'enum');
      this.names.set(t.id, name);
      const big = t.size >= 8;
      const values = t.values.map((v) => [v.name, big ? BigInt.asUintN(64, BigInt(v.value)) : Number(v.value)] as const);
      this.enums.set(name, { name, cName, big, values: big && t.signed ? values.map(([n, v]) => [n, BigInt.asIntN(64, v as bigint)] as const) : values });
    }
    return { ...base, name };
  }

  private arrayLayout(elemId: number, length: number, depth: number): Layout {
    const elem = this.btf.skipTypedefs(elemId);
    if (elem.kind === 'int' && elem.size === 1 && !elem.bool && elem.bits === 8 && elem.bitOffset === 0) {
      // char (by name, as bpftool's is_str_array, or BTF_INT_CHAR) reads as text; other bytes as bytes.
      if (elem.char || elem.name === 'char') return { kind: 'string', length };
      if (!elem.signed) return { kind: 'bytes', length };
    }
    return { kind: 'array', length, element: this.build(elemId, depth + 1, undefined) };
  }

  private compositeLayout(t: CompositeType<'struct' | 'union'>, depth: number, typedefName: string | undefined): CompositeLayout {
    const cName = t.name || typedefName;
    let name: string | undefined;
    if (cName) {
      name = this.names.get(t.id);
      if (!name) {
        name = this.reserve(cName, t.kind);
        this.names.set(t.id, name);
      }
    }
    const members: MemberLayout[] = [];
    this.addMembers(members, t, 0, t.kind === 'union', depth);
    // Every member must lie inside the struct: malformed BTF would otherwise read past the value.
    for (const m of members) {
      const end = m.offset + (m.bits !== undefined ? Math.ceil(((m.bitOffset ?? 0) + m.bits) / 8) : layoutSize(m.layout));
      if (end > t.size) throw new GenTypeError(t.id, `${t.kind} ${t.name || '(anon)'} member "${m.name}" ends at byte ${end}, past the ${t.kind}'s ${t.size} bytes`);
    }
    return { kind: t.kind, size: t.size, ...(name ? { name, cName: cName! } : {}), members };
  }

  /** Appends the members of `t` at bit `base`, flattening anonymous struct/union members as C does. */
  private addMembers(out: MemberLayout[], t: CompositeType<'struct' | 'union'>, base: number, optional: boolean, depth: number): void {
    if (depth > MAX_DEPTH) throw new GenTypeError(t.id, 'types nest too deep');
    t.members.forEach((m, i) => {
      const bit = base + m.bitOffset;
      const target = this.btf.skipTypedefs(m.type);
      if (m.name === '') {
        // An anonymous struct/union is read through; an unnamed bitfield is padding.
        if (target.kind === 'struct' || target.kind === 'union') this.addMembers(out, target, bit, optional || target.kind === 'union', depth + 1);
        return;
      }
      const where = `${t.kind} ${t.name || '(anon)'} member ${i} "${m.name}"`;
      let layout: Layout;
      try {
        layout = this.build(m.type, depth + 1, undefined);
      } catch (err) {
        throw err instanceof GenTypeError ? err.withContext(where) : err;
      }
      const intBits = target.kind === 'int' && (target.bitOffset !== 0 || target.bits !== target.size * 8) ? target : undefined;
      const bits = m.bitfieldSize > 0 ? m.bitfieldSize : intBits ? intBits.bits : bit % 8 !== 0 ? target.kind === 'int' ? target.bits : 0 : 0;
      if (bits > 0) {
        const abs = bit + (intBits ? intBits.bitOffset : 0);
        const scalar: Layout = intBits ? { kind: 'int', size: intBits.size > 8 ? 16 : intBits.size <= 4 ? 4 : 8, signed: intBits.signed } : layout;
        if (scalar.kind !== 'int' && scalar.kind !== 'enum' && scalar.kind !== 'bool') throw new GenTypeError(t.id, `${where}: a bitfield of ${scalar.kind}`);
        const member: MemberLayout = { name: m.name, offset: Math.floor(abs / 8), bitOffset: abs % 8, bits, layout: scalar, ...(optional ? { optional } : {}) };
        this.declarations.set(member, `${this.declaration(m.type, m.name)}: ${bits}`);
        out.push(member);
        return;
      }
      if (bit % 8 !== 0) throw new GenTypeError(t.id, `${where}: at bit ${bit}, not on a byte`);
      const member: MemberLayout = { name: m.name, offset: bit / 8, layout, ...(optional ? { optional } : {}) };
      this.declarations.set(member, this.declaration(m.type, m.name));
      out.push(member);
    });
  }
}
