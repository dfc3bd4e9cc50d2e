// The BTF type model: kind numbers from include/uapi/linux/btf.h and one readonly plain object per kind.

/**
 * BTF kinds by their uapi number (`BTF_KIND_INT = 1` ... `BTF_KIND_ENUM64 = 19`); index 0 is
 * the implicit `void` type. The one table the parser, encoder and printer all read.
 */
export const BTF_KINDS = [
  'void',
  'int',
  'ptr',
  'array',
  'struct',
  'union',
  'enum',
  'fwd',
  'typedef',
  'volatile',
  'const',
  'restrict',
  'func',
  'func_proto',
  'var',
  'datasec',
  'float',
  'decl_tag',
  'type_tag',
  'enum64',
] as const;

/** A BTF kind name, lower-case, as in `BTF_KIND_<NAME>` (`'func_proto'`, `'enum64'`). */
export type BtfKind = (typeof BTF_KINDS)[number];

/** The uapi number of each kind (`BTF_KIND_NUMBER.struct === 4`). */
export const BTF_KIND_NUMBER: Readonly<Record<BtfKind, number>> = Object.freeze(
  Object.fromEntries(BTF_KINDS.map((k, i) => [k, i])) as Record<BtfKind, number>,
);

/** Linkage of a FUNC (`BTF_FUNC_STATIC/GLOBAL/EXTERN`) or VAR (`BTF_VAR_STATIC/GLOBAL_ALLOCATED/GLOBAL_EXTERN`). */
export const BTF_LINKAGES = ['static', 'global', 'extern'] as const;

/** A FUNC or VAR linkage. */
export type BtfLinkage = (typeof BTF_LINKAGES)[number];

/** Fields every type has: its id (index in the type table) and name (`''` when anonymous). */
interface TypeBase {
  /** Type id: position in the type section, 1-based; 0 is `void`. */
  readonly id: number;
  /** Name from the string table, `''` for anonymous types. */
  readonly name: string;
}

/** Type id 0: `void`, never present in the type section. */
export interface VoidType extends TypeBase {
  readonly kind: 'void';
}

/** BTF_KIND_INT: an integer of `size` bytes, `bits` wide starting at bit `bitOffset`. */
export interface IntType extends TypeBase {
  readonly kind: 'int';
  readonly size: number;
  /** `BTF_INT_SIGNED`. */
  readonly signed: boolean;
  /** `BTF_INT_CHAR`. */
  readonly char: boolean;
  /** `BTF_INT_BOOL`. */
  readonly bool: boolean;
  /** `BTF_INT_OFFSET`: bit offset of the value inside the storage (legacy bitfields). */
  readonly bitOffset: number;
  /** `BTF_INT_BITS`: number of value bits. */
  readonly bits: number;
}

/** BTF_KIND_PTR: pointer to `type`. */
export interface PtrType extends TypeBase {
  readonly kind: 'ptr';
  readonly type: number;
}

/** BTF_KIND_ARRAY: `nelems` elements of `type`, indexed by `indexType`. */
export interface ArrayType extends TypeBase {
  readonly kind: 'array';
  readonly type: number;
  readonly indexType: number;
  readonly nelems: number;
}

/** One struct/union member (`struct btf_member`). */
export interface BtfMember {
  readonly name: string;
  readonly type: number;
  /** Bit offset of the member from the start of the struct. */
  readonly bitOffset: number;
  /** Bitfield width in bits when the owner's `kindFlag` is set and the member is a bitfield; else 0. */
  readonly bitfieldSize: number;
}

/** BTF_KIND_STRUCT / BTF_KIND_UNION. */
export interface CompositeType<K extends 'struct' | 'union'> extends TypeBase {
  readonly kind: K;
  readonly size: number;
  /** `kind_flag`: member offsets encode `bitfieldSize << 24 | bitOffset`. */
  readonly kindFlag: boolean;
  readonly members: readonly BtfMember[];
}

/** BTF_KIND_STRUCT. */
export type StructType = CompositeType<'struct'>;
/** BTF_KIND_UNION. */
export type UnionType = CompositeType<'union'>;

/** One enumerator of a 32-bit enum; `value` is read signed or unsigned according to the enum. */
export interface EnumValue {
  readonly name: string;
  readonly value: number;
}

/** BTF_KIND_ENUM: enumerators of up to 32 bits; `signed` is the kind_flag. */
export interface EnumType extends TypeBase {
  readonly kind: 'enum';
  readonly size: number;
  readonly signed: boolean;
  readonly values: readonly EnumValue[];
}

/** One enumerator of a 64-bit enum. */
export interface Enum64Value {
  readonly name: string;
  readonly value: bigint;
}

/** BTF_KIND_ENUM64: enumerators of up to 64 bits; `signed` is the kind_flag. */
export interface Enum64Type extends TypeBase {
  readonly kind: 'enum64';
  readonly size: number;
  readonly signed: boolean;
  readonly values: readonly Enum64Value[];
}

/** BTF_KIND_FWD: forward declaration of a struct or (kind_flag set) union. */
export interface FwdType extends TypeBase {
  readonly kind: 'fwd';
  readonly fwdKind: 'struct' | 'union';
}

/** BTF_KIND_TYPEDEF. */
export interface TypedefType extends TypeBase {
  readonly kind: 'typedef';
  readonly type: number;
}

/** BTF_KIND_VOLATILE, BTF_KIND_CONST or BTF_KIND_RESTRICT. */
export interface QualifierType<K extends 'volatile' | 'const' | 'restrict'> extends TypeBase {
  readonly kind: K;
  readonly type: number;
}

/** BTF_KIND_VOLATILE. */
export type VolatileType = QualifierType<'volatile'>;
/** BTF_KIND_CONST. */
export type ConstType = QualifierType<'const'>;
/** BTF_KIND_RESTRICT. */
export type RestrictType = QualifierType<'restrict'>;

/** BTF_KIND_FUNC: a function (subprogram) whose signature is the FUNC_PROTO `type`. */
export interface FuncType extends TypeBase {
  readonly kind: 'func';
  readonly type: number;
  readonly linkage: BtfLinkage;
}

/** One FUNC_PROTO parameter; a trailing `{ name: '', type: 0 }` marks a variadic function. */
export interface FuncParam {
  readonly name: string;
  readonly type: number;
}

/** BTF_KIND_FUNC_PROTO: return type and parameters. */
export interface FuncProtoType extends TypeBase {
  readonly kind: 'func_proto';
  readonly returnType: number;
  readonly params: readonly FuncParam[];
}

/** BTF_KIND_VAR: a global variable of `type`. */
export interface VarType extends TypeBase {
  readonly kind: 'var';
  readonly type: number;
  readonly linkage: BtfLinkage;
}

/** One DATASEC entry (`struct btf_var_secinfo`): a VAR at `offset` in the section. */
export interface VarSecinfo {
  readonly type: number;
  readonly offset: number;
  readonly size: number;
}

/** BTF_KIND_DATASEC: an ELF data section (`.data`, `.bss`, `.maps`...) and the vars in it. */
export interface DatasecType extends TypeBase {
  readonly kind: 'datasec';
  readonly size: number;
  readonly vars: readonly VarSecinfo[];
}

/** BTF_KIND_FLOAT. */
export interface FloatType extends TypeBase {
  readonly kind: 'float';
  readonly size: number;
}

/**
 * BTF_KIND_DECL_TAG: `btf_decl_tag(name)` on `type`, or on its member/parameter
 * `componentIdx` (-1 for the type itself). `attribute` (kind_flag) marks a plain `__attribute__`.
 */
export interface DeclTagType extends TypeBase {
  readonly kind: 'decl_tag';
  readonly type: number;
  readonly componentIdx: number;
  readonly attribute: boolean;
}

/** BTF_KIND_TYPE_TAG: `btf_type_tag(name)` on `type`; `attribute` is the kind_flag. */
export interface TypeTagType extends TypeBase {
  readonly kind: 'type_tag';
  readonly type: number;
  readonly attribute: boolean;
}

/** Any BTF type: a discriminated union on `kind`. */
export type BtfType =
  | VoidType
  | IntType
  | PtrType
  | ArrayType
  | StructType
  | UnionType
  | EnumType
  | FwdType
  | TypedefType
  | VolatileType
  | ConstType
  | RestrictType
  | FuncType
  | FuncProtoType
  | VarType
  | DatasecType
  | FloatType
  | DeclTagType
  | TypeTagType
  | Enum64Type;

/** The type object of one kind (`BtfTypeOf<'struct'>` is `StructType`). */
export type BtfTypeOf<K extends BtfKind> = Extract<BtfType, { kind: K }>;

/** A type without its id, as given to the builder (which assigns ids). */
export type BtfTypeInit = BtfType extends infer T ? (T extends BtfType ? Omit<T, 'id'> & { readonly id?: number } : never) : never;

/** The `void` type, id 0. */
export const VOID_TYPE: VoidType = Object.freeze({ kind: 'void', id: 0, name: '' });

/** Kinds whose `type` field refers to another type without changing its layout (skipped by `skipQualifiers`). */
export const QUALIFIER_KINDS: ReadonlySet<BtfKind> = new Set<BtfKind>(['const', 'volatile', 'restrict', 'type_tag']);

/**
 * Every type id `t` references, with a label for error messages (`member 3`, `param 0`,
 * `return type`, `var 2`). The walker that reference validation and graph tools share.
 */
export function typeReferences(t: BtfType): Array<{ readonly what: string; readonly id: number }> {
  switch (t.kind) {
    case 'ptr':
    case 'typedef':
    case 'volatile':
    case 'const':
    case 'restrict':
    case 'func':
    case 'var':
    case 'decl_tag':
    case 'type_tag':
      return [{ what: 'type', id: t.type }];
    case 'array':
      return [
        { what: 'element type', id: t.type },
        { what: 'index type', id: t.indexType },
      ];
    case 'struct':
    case 'union':
      return t.members.map((m, i) => ({ what: `member ${i}`, id: m.type }));
    case 'func_proto':
      return [{ what: 'return type', id: t.returnType }, ...t.params.map((p, i) => ({ what: `param ${i}`, id: p.type }))];
    case 'datasec':
      return t.vars.map((v, i) => ({ what: `var ${i}`, id: v.type }));
    default:
      return [];
  }
}
