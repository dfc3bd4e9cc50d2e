// CO-RE relocation values: a relocation record + local BTF + target BTF -> the number the instruction should hold.
//
// Pure, so the kernel loader, the verifier and the userspace runtime share it. Semantics follow
// libbpf's relo_core.c: candidates are target types with the local root's essential name and
// kind; all candidates that match must agree; when none matches, "exists" kinds yield 0 and
// every other kind poisons the instruction (the verifier then rejects it only if reachable).

import type { Btf } from './btf.js';
import {
  essentialName,
  matchAccess,
  resolveLocalAccess,
  typesAreCompatible,
  typesByEssentialName,
  underlying,
  type FieldLocation,
} from './core-candidates.js';
import type { CoreReloKind } from './ext.js';
import type { BtfType } from './types.js';

/** The result of one relocation. */
export type CoreReloResult =
  | {
      /** The instruction gets `value` (and, for field offsets, possibly a new access `size`). */
      readonly kind: 'value';
      /** Value computed against the local BTF (what clang wrote). */
      readonly local: bigint;
      /** Value computed against the target BTF. */
      readonly value: bigint;
      /** Field byte size in the target, for FIELD_BYTE_OFFSET on a load/store (memory size adjustment). */
      readonly targetSize?: number;
      /** Field byte size locally. */
      readonly localSize?: number;
      /** Target type id of the matched root (for messages). */
      readonly targetTypeId: number;
    }
  | {
      /** No candidate has it: the instruction is poisoned (call 0xbad2310). */
      readonly kind: 'poison';
      /** Why. */
      readonly reason: string;
    };

const FIELD_KINDS: ReadonlySet<CoreReloKind> = new Set([
  'BPF_CORE_FIELD_BYTE_OFFSET',
  'BPF_CORE_FIELD_BYTE_SIZE',
  'BPF_CORE_FIELD_EXISTS',
  'BPF_CORE_FIELD_SIGNED',
  'BPF_CORE_FIELD_LSHIFT_U64',
  'BPF_CORE_FIELD_RSHIFT_U64',
]);
const ENUM_KINDS: ReadonlySet<CoreReloKind> = new Set(['BPF_CORE_ENUMVAL_EXISTS', 'BPF_CORE_ENUMVAL_VALUE']);
const EXISTS_KINDS: ReadonlySet<CoreReloKind> = new Set(['BPF_CORE_FIELD_EXISTS', 'BPF_CORE_TYPE_EXISTS', 'BPF_CORE_ENUMVAL_EXISTS', 'BPF_CORE_TYPE_MATCHES']);

/** The value the kernel's "magic" poison call uses (libbpf's 0xbad2310 "bad relo"). */
export const CORE_POISON_IMM = 0xbad2310;

function parseAccess(s: string): number[] {
  const parts = s.split(':').map((p) => Number(p));
  if (parts.some((n) => !Number.isInteger(n) || n < 0)) throw new Error(`malformed access string "${s}"`);
  return parts;
}

function isSigned(btf: Btf, id: number): boolean {
  const t = underlying(btf, id);
  if (t.kind === 'int') return t.signed;
  if (t.kind === 'enum' || t.kind === 'enum64') return t.signed;
  return false;
}

/** libbpf's bpf_core_calc_field_relo for one location. */
function fieldValue(btf: Btf, loc: FieldLocation, kind: CoreReloKind): { value: bigint; size: number } {
  const fieldType = underlying(btf, loc.typeId);
  let byteSize: number;
  let byteOff: number;
  const bitOff = loc.bitOffset;
  let bitSize: number;
  if (loc.bitfieldSize === 0 && !(fieldType.kind === 'int' && fieldType.bits !== fieldType.size * 8)) {
    byteSize = btf.resolveSize(loc.typeId);
    bitSize = byteSize * 8;
    if (bitOff % 8 !== 0) throw new Error(`field at bit ${bitOff} is not byte aligned`);
    byteOff = bitOff / 8;
  } else {
    bitSize = loc.bitfieldSize || (fieldType.kind === 'int' ? fieldType.bits : 0);
    byteSize = btf.resolveSize(loc.typeId);
    byteOff = Math.floor(bitOff / 8 / byteSize) * byteSize;
    while (bitOff + bitSize - byteOff * 8 > byteSize * 8) {
      if (byteSize >= 8) throw new Error('bitfield straddles more than 8 bytes');
      byteSize *= 2;
      byteOff = Math.floor(bitOff / 8 / byteSize) * byteSize;
    }
  }
  switch (kind) {
    case 'BPF_CORE_FIELD_BYTE_OFFSET':
      return { value: BigInt(byteOff), size: byteSize };
    case 'BPF_CORE_FIELD_BYTE_SIZE':
      return { value: BigInt(byteSize), size: byteSize };
    case 'BPF_CORE_FIELD_EXISTS':
      return { value: 1n, size: byteSize };
    case 'BPF_CORE_FIELD_SIGNED':
      return { value: isSigned(btf, loc.typeId) ? 1n : 0n, size: byteSize };
    case 'BPF_CORE_FIELD_LSHIFT_U64':
      return { value: BigInt(64 - (bitOff + bitSize - byteOff * 8)), size: byteSize };
    case 'BPF_CORE_FIELD_RSHIFT_U64':
      return { value: BigInt(64 - bitSize), size: byteSize };
    default:
      throw new Error(`${kind} is not a field relocation`);
  }
}

function enumerators(t: BtfType): { name: string; value: bigint }[] {
  if (t.kind === 'enum') return t.values.map((v) => ({ name: v.name, value: BigInt(t.signed ? v.value | 0 : v.value >>> 0) }));
  if (t.kind === 'enum64') return t.values.map((v) => ({ name: v.name, value: v.value }));
  return [];
}

/** Candidate roots in the target: same essential name, compatible kind. */
function candidates(local: Btf, rootId: number, target: Btf): BtfType[] {
  const root = local.typeById(rootId);
  const name = essentialName(root.name);
  if (name === '') return [];
  return typesByEssentialName(target, name).filter((t) => {
    if (root.kind === t.kind) return true;
    const enums = ['enum', 'enum64'];
    return enums.includes(root.kind) && enums.includes(t.kind);
  });
}

/**
 * Computes one CO-RE relocation: what `kind` evaluates to for root type `rootId` and access
 * string `access` in the local BTF, and in the target BTF. Throws a plain Error (the caller adds
 * context) for malformed records or candidates that disagree.
 */
export function computeCoreRelo(local: Btf, target: Btf, rootId: number, access: string, kind: CoreReloKind): CoreReloResult {
  const spec = parseAccess(access);
  if (kind === 'BPF_CORE_TYPE_ID_LOCAL') return { kind: 'value', local: BigInt(rootId), value: BigInt(rootId), targetTypeId: rootId };

  if (FIELD_KINDS.has(kind)) {
    const loc = resolveLocalAccess(local, rootId, spec);
    const localVal = fieldValue(local, loc, kind);
    let found: { value: bigint; size: number; id: number } | undefined;
    for (const cand of candidates(local, rootId, target)) {
      const tloc = matchAccess(local, loc, spec, target, cand.id);
      if (!tloc) continue;
      const v = fieldValue(target, tloc, kind);
      if (found && found.value !== v.value) throw new Error(`candidates ${found.id} and ${cand.id} disagree (${found.value} vs ${v.value})`);
      found ??= { ...v, id: cand.id };
    }
    if (!found) {
      if (kind === 'BPF_CORE_FIELD_EXISTS') return { kind: 'value', local: localVal.value, value: 0n, targetTypeId: 0 };
      return { kind: 'poison', reason: `no "${essentialName(local.typeById(rootId).name)}" in the target has field ${access}` };
    }
    return { kind: 'value', local: localVal.value, value: found.value, localSize: localVal.size, targetSize: found.size, targetTypeId: found.id };
  }

  if (ENUM_KINDS.has(kind)) {
    const root = underlying(local, rootId);
    const lv = enumerators(root)[spec[0]!];
    if (!lv) throw new Error(`enumerator ${spec[0]} of ${local.format(rootId)} does not exist`);
    const localValue = kind === 'BPF_CORE_ENUMVAL_EXISTS' ? 1n : lv.value;
    const wanted = essentialName(lv.name);
    let found: { value: bigint; id: number } | undefined;
    for (const cand of candidates(local, rootId, target)) {
      const tv = enumerators(cand).find((e) => essentialName(e.name) === wanted);
      if (!tv) continue;
      const value = kind === 'BPF_CORE_ENUMVAL_EXISTS' ? 1n : tv.value;
      if (found && found.value !== value) throw new Error(`candidates ${found.id} and ${cand.id} disagree on ${wanted}`);
      found ??= { value, id: cand.id };
    }
    if (!found) {
      if (kind === 'BPF_CORE_ENUMVAL_EXISTS') return { kind: 'value', local: localValue, value: 0n, targetTypeId: 0 };
      return { kind: 'poison', reason: `no enumerator "${wanted}" in the target` };
    }
    return { kind: 'value', local: localValue, value: found.value, targetTypeId: found.id };
  }

  // Type-based kinds: TYPE_ID_TARGET, TYPE_EXISTS, TYPE_SIZE, TYPE_MATCHES.
  if (spec.length !== 1 || spec[0] !== 0) throw new Error(`type relocation with access string "${access}" (expected "0")`);
  const localValue = kind === 'BPF_CORE_TYPE_SIZE' ? BigInt(local.resolveSize(rootId)) : kind === 'BPF_CORE_TYPE_ID_TARGET' ? BigInt(rootId) : 1n;
  let found: { value: bigint; id: number } | undefined;
  for (const cand of candidates(local, rootId, target)) {
    if (!typesAreCompatible(local, rootId, target, cand.id)) continue;
    const value = kind === 'BPF_CORE_TYPE_SIZE' ? BigInt(target.resolveSize(cand.id)) : kind === 'BPF_CORE_TYPE_ID_TARGET' ? BigInt(cand.id) : 1n;
    if (found && found.value !== value && kind !== 'BPF_CORE_TYPE_ID_TARGET') throw new Error(`candidates ${found.id} and ${cand.id} disagree (${found.value} vs ${value})`);
    found ??= { value, id: cand.id };
  }
  if (!found) {
    if (EXISTS_KINDS.has(kind)) return { kind: 'value', local: localValue, value: 0n, targetTypeId: 0 };
    return { kind: 'poison', reason: `no type "${essentialName(local.typeById(rootId).name)}" in the target` };
  }
  return { kind: 'value', local: localValue, value: found.value, targetTypeId: found.id };
}
