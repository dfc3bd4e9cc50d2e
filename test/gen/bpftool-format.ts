// What bpftool's `map dump -j` prints in "formatted" for a typed value, and a field-by-field comparison:
// the oracle side of the gen tests that check generated bindings against bpftool.
import type { Layout } from '../../src/index.js';
import type { GeneratedModule } from './support.js';

const ANON = '@anon'; // no C member name starts with '@'

/** bpftool prints u64s as bare JSON numbers: quote the long ones so none loses precision. */
export function parseExact(text: string): unknown {
  // Anonymous members are printed under "" keys, several per struct at times: number them so none is lost.
  let anon = 0;
  const keyed = text.replace(/(?<!\\)"":/g, () => `"${ANON}${anon++}":`);
  return JSON.parse(keyed.replace(/([:[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g, '$1"$2"'));
}

/** What bpftool prints for a value of `l` (bigints kept as bigints; bitfields as bpftool's hex strings). */
export function expected(l: Layout, v: unknown, mod: GeneratedModule, bits?: number): unknown {
  if (bits !== undefined) {
    const raw = typeof v === 'boolean' ? (v ? 1n : 0n) : BigInt(v as number | bigint);
    return `0x${BigInt.asUintN(bits, raw).toString(16)}`;
  }
  switch (l.kind) {
    case 'int':
      return l.size === 16 ? `0x${BigInt.asUintN(128, v as bigint).toString(16)}` : v;
    case 'enum': {
      const names = l.name ? (mod[l.name] as Record<string, number | bigint>) : {};
      const hit = Object.entries(names).find(([, x]) => x === v);
      if (hit) return hit[0];
      // bpftool reads an enum as a signed integer of its size (btf_dumper_enum), whatever its signedness.
      return l.size >= 8 ? BigInt.asIntN(64, v as bigint) : Number(BigInt.asIntN(l.size * 8, BigInt(v as number)));
    }
    case 'bytes':
      return Array.from(v as Uint8Array);
    case 'array':
      return (v as unknown[]).map((x) => expected(l.element, x, mod));
    case 'struct':
    case 'union': {
      const o: Record<string, unknown> = {};
      for (const m of l.members) o[m.name] = expected(m.layout, (v as Record<string, unknown>)[m.name], mod, m.bits);
      return o;
    }
    default:
      return v;
  }
}

/** bpftool nests anonymous struct/union members under "" keys; the bindings flatten them as C reads them. */
export function flatten(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(flatten);
  if (typeof x !== 'object' || x === null) return x;
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(x)) {
    const anonymous = k === '' || k.startsWith(ANON);
    if (anonymous && typeof v === 'object' && v !== null && !Array.isArray(v)) Object.assign(o, flatten(v));
    else if (!anonymous) o[k] = flatten(v);
  }
  return o;
}

export interface Tally {
  fields: number;
  mismatches: string[];
}

export function compare(want: unknown, got: unknown, path: string, t: Tally): void {
  if (Array.isArray(want)) {
    if (!Array.isArray(got) || got.length !== want.length) return void t.mismatches.push(`${path}: bpftool ${JSON.stringify(got)}, typed array of ${want.length}`);
    want.forEach((w, i) => compare(w, got[i], `${path}[${i}]`, t));
    return;
  }
  if (typeof want === 'object' && want !== null) {
    if (typeof got !== 'object' || got === null) return void t.mismatches.push(`${path}: bpftool ${JSON.stringify(got)}, typed object`);
    for (const [k, w] of Object.entries(want)) compare(w, (got as Record<string, unknown>)[k], `${path}.${k}`, t);
    return;
  }
  t.fields++;
  const same = typeof want === 'bigint' ? (typeof got === 'number' || typeof got === 'string') && BigInt(got) === want : want === got;
  if (!same) t.mismatches.push(`${path}: bpftool ${JSON.stringify(got)}, typed ${typeof want === 'bigint' ? `${want}n` : JSON.stringify(want)}`);
}

export function hexBytes(hex: readonly string[]): Uint8Array {
  return Uint8Array.from(hex.map((h) => Number.parseInt(h, 16)));
}

export interface DumpEntry {
  key: string[];
  value?: string[];
  formatted: { key: unknown; value?: unknown; values?: { cpu: number; value: unknown }[] };
}

