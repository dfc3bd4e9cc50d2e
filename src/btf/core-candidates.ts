// CO-RE candidate matching: which target (kernel) types a local type may stand for, and the access-spec walk.
//
// Pure: a local Btf (the object's) and a target Btf (vmlinux) in, plain data out. The rules are
// libbpf's (tools/lib/bpf/relo_core.c): names compare by their "essential" part (`task_struct___v2`
// matches `task_struct`), kinds must agree (enum and enum64 interchangeably), and a field path
// matches when every named member exists in the candidate with a compatible type.

import type { Btf } from './btf.js';
import type { BtfMember, BtfType } from './types.js';

/** A name without its `___flavor` suffix: `task_struct___old` -> `task_struct`. */
export function essentialName(name: string): string {
  const at = name.indexOf('___');
  return at > 0 ? name.slice(0, at) : name;
}

const byEssentialName = new WeakMap<Btf, Map<string, BtfType[]>>();

/** Target types whose essential name is `name`, in id order (index built once per Btf). */
export function typesByEssentialName(target: Btf, name: string): readonly BtfType[] {
  let index = byEssentialName.get(target);
  if (!index) {
    index = new Map();
    for (const t of target.types) {
      if (t.name === '') continue;
      const key = essentialName(t.name);
      const list = index.get(key);
      if (list) list.push(t);
      else index.set(key, [t]);
    }
    byEssentialName.set(target, index);
  }
  return index.get(name) ?? [];
}

/** Strips typedefs, qualifiers and type tags (libbpf's skip_mods_and_typedefs). */
export function underlying(btf: Btf, id: number): BtfType {
  return btf.skipTypedefs(id);
}

const isComposite = (t: BtfType): boolean => t.kind === 'struct' || t.kind === 'union';
const isEnum = (t: BtfType): boolean => t.kind === 'enum' || t.kind === 'enum64';

/**
 * Whether a local field type and a target field type are compatible (libbpf's
 * bpf_core_fields_are_compat): any two composites, enums with enums, ints with ints, pointers
 * with pointers, floats, forward declarations, and arrays of compatible elements.
 */
export function fieldsAreCompatible(local: Btf, localId: number, target: Btf, targetId: number, depth = 0): boolean {
  if (depth > 32) return false;
  const l = underlying(local, localId);
  const t = underlying(target, targetId);
  if (isComposite(l) && isComposite(t)) return true;
  if (isEnum(l) && isEnum(t)) return true;
  if (l.kind !== t.kind) return false;
  switch (l.kind) {
    case 'fwd':
    case 'ptr':
    case 'float':
    case 'int':
      return true;
    case 'array':
      return t.kind === 'array' && fieldsAreCompatible(local, l.type, target, t.type, depth + 1);
    default:
      return false;
  }
}

/**
 * Whether two types are compatible for type-based relocations (libbpf's
 * bpf_core_types_are_compat): same kind (enums interchangeable), pointers and arrays recurse,
 * function prototypes agree in parameter count and types; composites and scalars by kind alone.
 */
export function typesAreCompatible(local: Btf, localId: number, target: Btf, targetId: number, depth = 0): boolean {
  if (depth > 32) return false;
  const l = underlying(local, localId);
  const t = underlying(target, targetId);
  if (isEnum(l) && isEnum(t)) return true;
  if (l.kind !== t.kind) return false;
  switch (l.kind) {
    case 'void':
    case 'int':
    case 'float':
    case 'fwd':
    case 'struct':
    case 'union':
      return true;
    case 'ptr':
      return t.kind === 'ptr' && typesAreCompatible(local, l.type, target, t.type, depth + 1);
    case 'array':
      return t.kind === 'array' && typesAreCompatible(local, l.type, target, t.type, depth + 1);
    case 'func_proto': {
      if (t.kind !== 'func_proto' || l.params.length !== t.params.length) return false;
      if (!typesAreCompatible(local, l.returnType, target, t.returnType, depth + 1)) return false;
      return l.params.every((p, i) => typesAreCompatible(local, p.type, target, t.params[i]!.type, depth + 1));
    }
    default:
      return false;
  }
}

/** One step of a field access path, as resolved in one BTF. */
export interface AccessStep {
  /** `member` of a struct/union, or an `array` element. */
  readonly kind: 'member' | 'array';
  /** Member name ('' for an anonymous member, and for array steps). */
  readonly name: string;
  /** Type id of the member or element. */
  readonly typeId: number;
  /** Index (member index or array index) from the access string. */
  readonly index: number;
}

/** A field access resolved in one BTF: where the field is and what it is. */
export interface FieldLocation {
  /** Bit offset from the start of the root object. */
  readonly bitOffset: number;
  /** Bitfield width, or 0 for a whole field. */
  readonly bitfieldSize: number;
  /** Type id of the accessed field. */
  readonly typeId: number;
  /** The path, named steps included. */
  readonly steps: readonly AccessStep[];
}

/**
 * Resolves a local access string (`0:1:2`) from `rootId`: the first number indexes the root as
 * an array, the others pick struct/union members or array elements. Throws a plain Error with
 * the reason when the string does not fit the types.
 */
export function resolveLocalAccess(btf: Btf, rootId: number, access: readonly number[]): FieldLocation {
  if (access.length === 0) throw new Error('empty access string');
  let typeId = rootId;
  let bitOffset = access[0]! * btf.resolveSize(rootId) * 8;
  let bitfieldSize = 0;
  const steps: AccessStep[] = [];
  for (let i = 1; i < access.length; i++) {
    const idx = access[i]!;
    const t = underlying(btf, typeId);
    if (t.kind === 'struct' || t.kind === 'union') {
      const m: BtfMember | undefined = t.members[idx];
      if (!m) throw new Error(`member ${idx} of ${btf.format(t.id)} does not exist`);
      bitOffset += m.bitOffset;
      bitfieldSize = m.bitfieldSize;
      typeId = m.type;
      steps.push({ kind: 'member', name: m.name, typeId: m.type, index: idx });
    } else if (t.kind === 'array') {
      bitOffset += idx * btf.resolveSize(t.type) * 8;
      bitfieldSize = 0;
      typeId = t.type;
      steps.push({ kind: 'array', name: '', typeId: t.type, index: idx });
    } else {
      throw new Error(`accessor ${i} (${idx}) indexes ${t.kind}, which has no members`);
    }
  }
  return { bitOffset, bitfieldSize, typeId, steps };
}

/** Finds member `name` in composite `typeId`, looking inside anonymous members too; returns its bit offset relative to the composite. */
function findMember(btf: Btf, typeId: number, name: string, depth = 0): { member: BtfMember; bitOffset: number } | undefined {
  if (depth > 32) return undefined;
  const t = underlying(btf, typeId);
  if (t.kind !== 'struct' && t.kind !== 'union') return undefined;
  for (const m of t.members) {
    if (m.name === name) return { member: m, bitOffset: m.bitOffset };
    if (m.name === '') {
      const inner = findMember(btf, m.type, name, depth + 1);
      if (inner) return { member: inner.member, bitOffset: m.bitOffset + inner.bitOffset };
    }
  }
  return undefined;
}

/**
 * Matches a resolved local access path against a target candidate root: every named member
 * must exist (by name, through anonymous members) with a compatible type, every array index
 * must be in bounds (the last may index a flexible array). Returns the target location, or
 * undefined when the candidate does not have the field.
 */
export function matchAccess(local: Btf, localLoc: FieldLocation, access: readonly number[], target: Btf, targetRootId: number): FieldLocation | undefined {
  let typeId = targetRootId;
  let bitOffset = access[0]! * target.resolveSize(targetRootId) * 8;
  let bitfieldSize = 0;
  const steps: AccessStep[] = [];
  for (const [i, step] of localLoc.steps.entries()) {
    if (step.kind === 'member') {
      // Anonymous local members are only containers: the named member below them is matched by name.
      if (step.name === '') continue;
      const found = findMember(target, typeId, step.name);
      if (!found) return undefined;
      if (!fieldsAreCompatible(local, step.typeId, target, found.member.type)) return undefined;
      bitOffset += found.bitOffset;
      bitfieldSize = found.member.bitfieldSize;
      typeId = found.member.type;
      steps.push({ kind: 'member', name: step.name, typeId, index: step.index });
    } else {
      const t = underlying(target, typeId);
      if (t.kind !== 'array') return undefined;
      const last = i === localLoc.steps.length - 1;
      if (step.index >= t.nelems && !(last && t.nelems === 0)) return undefined;
      bitOffset += step.index * target.resolveSize(t.type) * 8;
      bitfieldSize = 0;
      typeId = t.type;
      steps.push({ kind: 'array', name: '', typeId, index: step.index });
    }
  }
  return { bitOffset, bitfieldSize, typeId, steps };
}
