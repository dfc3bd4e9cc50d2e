// Kfunc prototypes resolved for the verifier: the table (src/isa/kfunc-protos.ts) checked against the kernel's BTF when given.
import type { Btf, BtfType } from '../btf/index.js';
import { BpfkitError, type BpfkitErrorOptions } from '../errors.js';
import { KFUNC_SCALAR_SIZES, KFUNC_STRUCTS, kfuncProto, type KfuncProto } from '../isa/kfunc-protos.js';

/** A kfunc the running kernel's BTF does not have (a kernel without it, or built without the subsystem). */
export class KfuncNotInKernelError extends BpfkitError {
  constructor(
    /** The kfunc name. */
    readonly kfunc: string,
    options?: BpfkitErrorOptions,
  ) {
    super('ERR_KFUNC_NOT_IN_KERNEL', `kfunc ${kfunc} is not in the kernel's BTF (the kernel lacks it or was built without its subsystem)`, options);
  }
}

/** What a pointer argument or return value points to. */
export interface KfuncPointee {
  /** `void`, a scalar (int, enum), a struct/union, or anything else (a pointer, a function). */
  readonly kind: 'void' | 'scalar' | 'struct' | 'other';
  /** The type name without `struct ` (`nf_conn`, `u64`). */
  readonly name: string;
  /** The kernel's btf_type_str of it: `STRUCT`, `UNION`, `INT`, `ENUM`, `VOID`, `PTR`. */
  readonly str: string;
  /** Its size in bytes, when it has one. */
  readonly size: number | undefined;
  /** A struct made of scalars only (__btf_type_is_scalar_struct). */
  readonly scalarStruct: boolean;
}

/** One parameter, resolved. */
export interface KfuncParamType {
  /** The parameter name (`opts__sz`). */
  readonly name: string;
  /** A scalar of `size` bytes, or a pointer. */
  readonly kind: 'scalar' | 'ptr';
  /** Scalars: the size. */
  readonly size: number;
  /** Pointers: what they point to. */
  readonly pointee: KfuncPointee | undefined;
}

/** A kfunc as the verifier checks a call to it. */
export interface ResolvedKfunc {
  /** The table row (flags, program types). */
  readonly proto: KfuncProto;
  /** Its FUNC id in the kernel's BTF (0 without one). */
  readonly btfId: number;
  /** Parameters. */
  readonly params: readonly KfuncParamType[];
  /** The return type: void, a scalar, or a pointer. */
  readonly ret: { readonly kind: 'void' | 'scalar' | 'ptr'; readonly pointee: KfuncPointee | undefined };
}

const SCALAR_NAMES = new Set(Object.keys(KFUNC_SCALAR_SIZES));

/** A pointee from the table's C spelling (`const struct nf_conn`, `u64`, `void`). */
function pointeeOfC(c: string): KfuncPointee {
  const t = c.replace(/^const /, '').trim();
  if (t === 'void') return { kind: 'void', name: '', str: 'UNKNOWN', size: undefined, scalarStruct: false };
  if (SCALAR_NAMES.has(t)) {
    const isEnum = t.startsWith('enum ');
    return { kind: 'scalar', name: isEnum ? t.slice(5) : t, str: isEnum ? 'ENUM' : 'INT', size: KFUNC_SCALAR_SIZES[t], scalarStruct: false };
  }
  const s = KFUNC_STRUCTS[t];
  const union = t.startsWith('union ');
  return { kind: 'struct', name: t.replace(/^(struct|union) /, ''), str: union ? 'UNION' : 'STRUCT', size: s?.size, scalarStruct: s?.scalar ?? false };
}

function typeOfC(c: string): { kind: 'void' | 'scalar' | 'ptr'; size: number; pointee: KfuncPointee | undefined } {
  const t = c.trim();
  if (t.endsWith('*')) return { kind: 'ptr', size: 8, pointee: pointeeOfC(t.slice(0, -1).trim()) };
  if (t === 'void') return { kind: 'void', size: 0, pointee: undefined };
  return { kind: 'scalar', size: KFUNC_SCALAR_SIZES[t.replace(/^const /, '')] ?? 8, pointee: undefined };
}

/** btf_type_skip_modifiers. */
function skipMods(btf: Btf, id: number): BtfType {
  let t = btf.typeById(id);
  while (t.kind === 'const' || t.kind === 'volatile' || t.kind === 'restrict' || t.kind === 'typedef' || t.kind === 'type_tag') t = btf.typeById(t.type);
  return t;
}

const isScalarKind = (t: BtfType): boolean => t.kind === 'int' || t.kind === 'enum' || t.kind === 'enum64' || t.kind === 'float';

/** __btf_type_is_scalar_struct: every member a scalar, an array of scalars, or such a struct (depth 3). */
export function isScalarStruct(btf: Btf, t: BtfType, depth = 0): boolean {
  if (t.kind !== 'struct' && t.kind !== 'union') return false;
  for (const m of t.members) {
    let mt = skipMods(btf, m.type);
    if (mt.kind === 'array') mt = skipMods(btf, mt.type);
    if (mt.kind === 'struct' || mt.kind === 'union') {
      if (depth >= 3 || !isScalarStruct(btf, mt, depth + 1)) return false;
      continue;
    }
    if (!isScalarKind(mt)) return false;
  }
  return true;
}

const BTF_STR: Partial<Record<string, string>> = { int: 'INT', ptr: 'PTR', array: 'ARRAY', struct: 'STRUCT', union: 'UNION', enum: 'ENUM', enum64: 'ENUM64', fwd: 'FWD', func: 'FUNC', func_proto: 'FUNC_PROTO', void: 'UNKNOWN', float: 'FLOAT' };

function pointeeOfBtf(btf: Btf, id: number): KfuncPointee {
  const t = skipMods(btf, id);
  const str = BTF_STR[t.kind] ?? t.kind.toUpperCase();
  if (t.kind === 'void') return { kind: 'void', name: '', str, size: undefined, scalarStruct: false };
  let size: number | undefined;
  try {
    size = btf.resolveSize(t.id);
  } catch {
    size = undefined;
  }
  if (isScalarKind(t)) return { kind: 'scalar', name: t.name, str, size, scalarStruct: false };
  if (t.kind === 'struct' || t.kind === 'union') return { kind: 'struct', name: t.name, str, size, scalarStruct: isScalarStruct(btf, t) };
  return { kind: 'other', name: t.name, str, size, scalarStruct: false };
}

/** The kernel's FUNC id of `name`, if its BTF has one. */
export function kernelFuncId(btf: Btf, name: string): number | undefined {
  return btf.typesByName(name).find((t) => t.kind === 'func')?.id;
}

/**
 * The kfunc `name` as the verifier checks it: undefined when bpfkit does not model it (the
 * caller says so). With the kernel's BTF, the prototype (parameter names and types) is the
 * kernel's own and a kfunc missing from it throws {@link KfuncNotInKernelError}; without, the
 * table's 6.18 prototype is used.
 */
export function resolveKfunc(name: string, btf: Btf | undefined): ResolvedKfunc | undefined {
  const proto = kfuncProto(name);
  if (!proto) return undefined;
  if (!btf) {
    const params = proto.params.map((p) => {
      const t = typeOfC(p.type);
      return { name: p.name, kind: t.kind === 'ptr' ? ('ptr' as const) : ('scalar' as const), size: t.size, pointee: t.pointee };
    });
    const r = typeOfC(proto.ret);
    return { proto, btfId: 0, params, ret: { kind: r.kind, pointee: r.pointee } };
  }
  const id = kernelFuncId(btf, name);
  if (id === undefined) throw new KfuncNotInKernelError(name);
  const fn = btf.typeById(id);
  const fp = fn.kind === 'func' ? btf.typeById(fn.type) : undefined;
  if (!fp || fp.kind !== 'func_proto') throw new KfuncNotInKernelError(name);
  const params = fp.params.map((p) => {
    const t = skipMods(btf, p.type);
    if (t.kind === 'ptr') return { name: p.name, kind: 'ptr' as const, size: 8, pointee: pointeeOfBtf(btf, t.type) };
    let size: number;
    try {
      size = btf.resolveSize(t.id);
    } catch {
      size = 8;
    }
    return { name: p.name, kind: 'scalar' as const, size, pointee: undefined };
  });
  const rt = skipMods(btf, fp.returnType);
  const ret = rt.kind === 'void' ? { kind: 'void' as const, pointee: undefined } : rt.kind === 'ptr' ? { kind: 'ptr' as const, pointee: pointeeOfBtf(btf, rt.type) } : { kind: 'scalar' as const, pointee: undefined };
  return { proto, btfId: id, params, ret };
}

/** The name of the FUNC at `id` in the kernel's BTF (a raw `call kfunc` instruction), or undefined. */
export function kfuncNameById(btf: Btf | undefined, id: number): string | undefined {
  if (!btf || id <= 0) return undefined;
  try {
    const t = btf.typeById(id);
    return t.kind === 'func' ? t.name : undefined;
  } catch {
    return undefined;
  }
}
