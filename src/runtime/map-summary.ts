// Map contents for reports: entries decoded with the object's BTF (integer fields by name), per-CPU sums.

import type { Btf } from '../btf/btf.js';
import type { MapSpec } from '../elf/object-spec.js';
import { mapTypeName } from '../isa/map-types.js';
import type { MapOps } from '../maps/map-ops.js';
import { formatByteList } from './byte-list.js';

/** A decoded value: integer fields by name (`{ packets: 3n, bytes: 180n }`), one integer, or hex bytes. */
export type DecodedValue = { readonly [field: string]: bigint } | bigint | string;

/** One entry of a summary. */
export interface SummaryEntry {
  /** The key, decoded (an integer key as a decimal string) or as hex bytes. */
  readonly key: string;
  /** The raw key bytes. */
  readonly keyBytes: Uint8Array;
  /** The value per CPU (one element for maps that are not per-CPU). */
  readonly values: readonly DecodedValue[];
  /** Per-CPU maps with integer values: the sum over CPUs. */
  readonly total?: DecodedValue;
}

/** The contents of one map, for a report. */
export interface MapSummary {
  /** Map name. */
  readonly name: string;
  /** bpftool's map type name. */
  readonly type: string;
  /** Whether values are per CPU. */
  readonly perCpu: boolean;
  /** Live entries the map reports. */
  readonly count: number;
  /** Integer field names of the value, when BTF gives them (else empty). */
  readonly fields: readonly string[];
  /** The entries shown: non-zero ones, at most the limit. */
  readonly entries: readonly SummaryEntry[];
  /** Entries left out (all-zero array slots, or past the limit). */
  readonly omitted: number;
}

type Field = { name: string; offset: number; size: number; signed: boolean };

/** Integer fields of BTF type `id` (a lone integer is one field named ''), or undefined. */
function intFields(btf: Btf | undefined, id: number | undefined): Field[] | undefined {
  if (!btf || id === undefined) return undefined;
  try {
    const t = btf.skipTypedefs(id);
    if (t.kind === 'int' && t.size <= 8) return [{ name: '', offset: 0, size: t.size, signed: t.signed }];
    if (t.kind === 'enum' && t.size <= 8) return [{ name: '', offset: 0, size: t.size, signed: false }];
    if (t.kind !== 'struct') return undefined;
    const out: Field[] = [];
    for (const m of t.members) {
      const mt = btf.skipTypedefs(m.type);
      if (m.bitfieldSize !== 0 || m.bitOffset % 8 !== 0 || (mt.kind !== 'int' && mt.kind !== 'enum') || mt.size > 8 || !m.name) return undefined;
      out.push({ name: m.name, offset: m.bitOffset / 8, size: mt.size, signed: mt.kind === 'int' && mt.signed });
    }
    return out.length > 0 ? out : undefined;
  } catch {
    return undefined;
  }
}

function readInt(b: Uint8Array, at: number, size: number, signed: boolean): bigint {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[at + i] ?? 0);
  return signed ? BigInt.asIntN(size * 8, v) : v;
}

function decode(fields: Field[] | undefined, b: Uint8Array, at: number, size: number): DecodedValue {
  if (!fields) return formatByteList(b.subarray(at, at + size));
  if (fields.length === 1 && fields[0]!.name === '') return readInt(b, at, fields[0]!.size, fields[0]!.signed);
  const o: Record<string, bigint> = {};
  for (const f of fields) o[f.name] = readInt(b, at + f.offset, f.size, f.signed);
  return o;
}

function sum(values: readonly DecodedValue[]): DecodedValue | undefined {
  if (values.length === 0 || typeof values[0] === 'string') return undefined;
  if (typeof values[0] === 'bigint') return (values as bigint[]).reduce((a, b) => a + b, 0n);
  const o: Record<string, bigint> = {};
  for (const v of values as Record<string, bigint>[]) for (const [k, n] of Object.entries(v)) o[k] = (o[k] ?? 0n) + n;
  return o;
}

const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);

/**
 * Summarizes `ops` (created from `spec`): up to `limit` entries in iteration order, decoded
 * with `btf` where the key/value types are integers or structs of integers. Array slots whose
 * value is all zero are left out (counted in `omitted`).
 */
export function summarizeMap(ops: MapOps, spec: MapSpec, btf: Btf | undefined, limit = 16): MapSummary {
  const keyFields = intFields(btf, spec.keyTypeId);
  const valueFields = intFields(btf, spec.valueTypeId);
  const stride = (spec.valueSize + 7) & ~7;
  const entries: SummaryEntry[] = [];
  let omitted = 0;
  let key: Uint8Array | undefined;
  let seen = 0;
  const canIterate = spec.keySize > 0;
  while (canIterate) {
    const next = ops.nextKey(key);
    if (!next || ++seen > 1_000_000) break;
    key = next;
    const raw = ops.read(next);
    if (!raw || isZero(raw)) {
      omitted++;
      continue;
    }
    if (entries.length >= limit) {
      omitted++;
      continue;
    }
    const n = ops.perCpu ? Math.floor(raw.length / stride) : 1;
    const values: DecodedValue[] = [];
    for (let c = 0; c < n; c++) values.push(decode(valueFields, raw, ops.perCpu ? c * stride : 0, spec.valueSize));
    const k = decode(keyFields, next, 0, spec.keySize);
    const total = ops.perCpu ? sum(values) : undefined;
    entries.push({ key: typeof k === 'object' ? formatByteList(next) : String(k), keyBytes: next, values, ...(total !== undefined ? { total } : {}) });
  }
  return {
    name: spec.name,
    type: mapTypeName(spec.type),
    perCpu: ops.perCpu,
    count: ops.count(),
    fields: valueFields && !(valueFields.length === 1 && valueFields[0]!.name === '') ? valueFields.map((f) => f.name) : [],
    entries,
    omitted,
  };
}
