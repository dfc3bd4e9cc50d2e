// Map contents for reports: entries decoded with the object's BTF (src/maps codecs), per-CPU sums.

import type { Btf } from '../btf/btf.js';
import type { MapSpec } from '../elf/object-spec.js';
import { mapTypeName } from '../isa/map-types.js';
import { autoCodec, sumPerCpu, type BtfValue, type Codec } from '../maps/codec.js';
import type { MapOps } from '../maps/map-ops.js';
import { formatByteList } from './byte-list.js';

/** A decoded key or value: a BTF value (numbers, bigints, objects by member, arrays), or hex bytes without BTF. */
export type DecodedValue = BtfValue | string;

/** One entry of a summary. */
export interface SummaryEntry {
  /** The key as text: an integer key in decimal, else its bytes in hex (as bpftool prints a key). */
  readonly key: string;
  /** The key decoded with BTF (structs by member, in the key's byte order), when the object describes it. */
  readonly keyDecoded?: DecodedValue;
  /** The raw key bytes. */
  readonly keyBytes: Uint8Array;
  /** The value per CPU (one element for maps that are not per-CPU). */
  readonly values: readonly DecodedValue[];
  /** Per-CPU maps with BTF-decoded values: the sum over CPUs (numbers add member by member). */
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
  /** Member names of a struct value whose members are all scalars (table columns), else empty. */
  readonly fields: readonly string[];
  /** The entries shown: non-zero ones, at most the limit. */
  readonly entries: readonly SummaryEntry[];
  /** Entries left out (all-zero array slots, or past the limit). */
  readonly omitted: number;
}

const isScalar = (v: unknown): boolean => typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean';

/** A decoded value as compact text: `7`, `{packets: 3, bytes: 180}`, `[1, 2]`, or hex bytes. */
export function formatDecoded(v: DecodedValue): string {
  if (typeof v === 'string') return v;
  if (isScalar(v)) return String(v);
  if (Array.isArray(v)) return `[${v.map(formatDecoded).join(', ')}]`;
  return `{${Object.entries(v).map(([k, x]) => `${k}: ${formatDecoded(x)}`).join(', ')}}`;
}

function decodeWith(codec: Codec<BtfValue | Uint8Array>, bytes: Uint8Array): DecodedValue {
  const v = codec.decode(bytes);
  return v instanceof Uint8Array ? formatByteList(v) : v;
}

const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);

/**
 * Summarizes `ops` (created from `spec`): up to `limit` entries in iteration order, keys and
 * values decoded with `btf` (src/maps `autoCodec`: hex bytes where the object has no BTF for
 * them). Entries whose value is all zero on every CPU are left out (counted in `omitted`).
 */
export function summarizeMap(ops: MapOps, spec: MapSpec, btf: Btf | undefined, limit = 16): MapSummary {
  const keyCodec = autoCodec(btf, spec.keyTypeId, spec.keySize);
  const valueCodec = autoCodec(btf, spec.valueTypeId, spec.valueSize);
  const stride = (spec.valueSize + 7) & ~7;
  const entries: SummaryEntry[] = [];
  let omitted = 0;
  let key: Uint8Array | undefined;
  let seen = 0;
  let fields: string[] | undefined;
  while (spec.keySize > 0) {
    const next = ops.nextKey(key);
    if (!next || ++seen > 1_000_000) break;
    key = next;
    const raw = ops.read(next);
    if (!raw || isZero(raw) || entries.length >= limit) {
      omitted++;
      continue;
    }
    const n = ops.perCpu ? Math.floor(raw.length / stride) : 1;
    const values: DecodedValue[] = [];
    for (let c = 0; c < n; c++) values.push(decodeWith(valueCodec, ops.perCpu ? raw.subarray(c * stride, c * stride + spec.valueSize) : raw));
    const first = values[0];
    if (fields === undefined && first !== undefined && typeof first === 'object' && !Array.isArray(first)) {
      const members = Object.entries(first);
      fields = members.every(([, x]) => isScalar(x)) ? members.map(([k]) => k) : [];
    }
    const total = ops.perCpu && typeof first !== 'string' ? sumPerCpu(values as BtfValue[]) : undefined;
    const k = decodeWith(keyCodec, next);
    const scalar = isScalar(k);
    entries.push({
      key: scalar ? String(k) : formatByteList(next),
      keyBytes: next,
      ...(!scalar && typeof k !== 'string' ? { keyDecoded: k } : {}),
      values,
      ...(total !== undefined ? { total } : {}),
    });
  }
  return { name: spec.name, type: mapTypeName(spec.type), perCpu: ops.perCpu, count: ops.count(), fields: fields ?? [], entries, omitted };
}
