// Special fields of a map value (the kernel's btf_record): where a bpf_spin_lock, bpf_timer... sits, from the object's BTF.
import type { Btf, BtfType } from '../btf/index.js';
import type { MapDef } from '../maps/map-ops.js';

/** A special field of a map value: programs may not load or store it directly (check_map_access). */
export interface MapField {
  /** The kernel's btf_field_type_name: `bpf_spin_lock`, `bpf_timer`... */
  readonly name: string;
  /** Byte offset in the value. */
  readonly off: number;
  /** Size in bytes. */
  readonly size: number;
}

/** Structs btf_parse_fields records (kptrs aside: they are pointers with their own rules, not modelled here). */
const SPECIAL = new Set(['bpf_spin_lock', 'bpf_res_spin_lock', 'bpf_timer', 'bpf_wq', 'bpf_list_head', 'bpf_list_node', 'bpf_rb_root', 'bpf_rb_node', 'bpf_refcount', 'bpf_task_work']);

/** Nesting the kernel follows into structs and arrays (btf_find_field's depth is small too). */
const MAX_DEPTH = 8;

function skipMods(btf: Btf, t: BtfType): BtfType {
  let u = t;
  for (let i = 0; i < 16 && (u.kind === 'const' || u.kind === 'volatile' || u.kind === 'restrict' || u.kind === 'typedef' || u.kind === 'type_tag'); i++) u = btf.typeById(u.type);
  return u;
}

function collect(btf: Btf, t0: BtfType, base: number, out: MapField[], depth: number): void {
  if (depth > MAX_DEPTH || out.length > 64) return;
  const t = skipMods(btf, t0);
  if (t.kind === 'struct' && SPECIAL.has(t.name)) {
    out.push({ name: t.name, off: base, size: t.size });
    return;
  }
  if (t.kind === 'struct' || t.kind === 'union') {
    for (const m of t.members) {
      if (m.bitfieldSize !== 0 || m.bitOffset % 8 !== 0) continue;
      collect(btf, btf.typeById(m.type), base + m.bitOffset / 8, out, depth + 1);
    }
    return;
  }
  if (t.kind === 'array' && t.nelems > 0) {
    const elem = skipMods(btf, btf.typeById(t.type));
    if (elem.kind !== 'struct') return;
    const before = out.length;
    collect(btf, elem, base, out, depth + 1);
    const one = out.slice(before);
    for (let i = 1; i < t.nelems && out.length <= 64; i++) for (const f of one) out.push({ ...f, off: f.off + i * elem.size });
    return;
  }
  if (t.kind === 'datasec') {
    for (const v of t.vars) {
      const vt = btf.typeById(v.type);
      collect(btf, vt.kind === 'var' ? btf.typeById(vt.type) : vt, base + v.offset, out, depth + 1);
    }
  }
}

/**
 * The special fields of a map's value type `valueTypeId` in `btf` (a struct, or the DATASEC of a
 * global-data map), sorted by offset; empty when the BTF cannot say (unreadable types are not an
 * error here: the loader reports them).
 */
export function mapValueFields(btf: Btf, valueTypeId: number): MapField[] {
  const out: MapField[] = [];
  try {
    collect(btf, btf.typeById(valueTypeId), 0, out, 0);
  } catch {
    return [];
  }
  return out.sort((a, b) => a.off - b.off);
}

/** The special fields of a map's value as the verifier knows them (none when unknown). */
export const mapFields = (map: MapDef): readonly MapField[] => (map as { readonly fields?: readonly MapField[] }).fields ?? [];

/** Whether a pointer into `map`'s value may point to a bpf_spin_lock (reg_may_point_to_spin_lock). */
export const hasSpinLock = (map: MapDef | undefined): boolean => map !== undefined && mapFields(map).some((f) => f.name === 'bpf_spin_lock');
