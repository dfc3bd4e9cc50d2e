// Legacy `SEC("maps")` definitions: struct bpf_map_def (samples/bpf, libbpf < 1.0) and iproute2's struct
// bpf_elf_map (tc, cilium, merbridge), one per symbol; the layout is read from the object's BTF when it has it.

import type { Btf } from '../btf/index.js';
import type { ElfFile, ElfSection } from './elf-file.js';
import { ObjectError } from './object-error.js';
import type { MapSpec, PinType } from './object-spec.js';

/** iproute2's `pinning` values (include/bpf_elf.h): PIN_NONE, PIN_OBJECT_NS, PIN_GLOBAL_NS; above: custom. */
const PIN_OBJECT_NS = 1;
const PIN_GLOBAL_NS = 2;
const BPF_F_NUMA_NODE = 1 << 2;
const BPF_MAP_TYPE_ARRAY_OF_MAPS = 12;
const BPF_MAP_TYPE_HASH_OF_MAPS = 13;

/** The fields, by their names in either struct, mapped to one meaning. */
const ALIASES: Readonly<Record<string, string>> = {
  type: 'type',
  key_size: 'keySize', size_key: 'keySize',
  value_size: 'valueSize', size_value: 'valueSize',
  max_entries: 'maxEntries', max_elem: 'maxEntries',
  map_flags: 'flags', flags: 'flags',
  inner_map_idx: 'innerMapIdx', numa_node: 'numaNode',
  id: 'id', pinning: 'pinning', inner_id: 'innerId', inner_idx: 'innerIdx',
};
const MAP_DEF = ['type', 'key_size', 'value_size', 'max_entries', 'map_flags', 'inner_map_idx', 'numa_node'];
const ELF_MAP = ['type', 'size_key', 'size_value', 'max_elem', 'flags', 'id', 'pinning', 'inner_id', 'inner_idx'];

/** Byte offsets of the u32 fields of `name`'s definition, from the BTF DATASEC of `secName` (undefined without BTF). */
function btfLayout(btf: Btf | undefined, secName: string, name: string): Map<string, number> | undefined {
  const sec = btf?.typesByName(secName).find((t) => t.kind === 'datasec');
  if (!btf || sec?.kind !== 'datasec') return undefined;
  for (const v of sec.vars) {
    const t = btf.typeById(v.type);
    if (t.kind !== 'var' || t.name !== name) continue;
    const def = btf.skipTypedefs(t.type);
    if (def.kind !== 'struct') return undefined;
    const out = new Map<string, number>();
    for (const m of def.members) {
      const field = ALIASES[m.name];
      if (field && m.bitOffset % 32 === 0 && m.bitfieldSize === 0) out.set(field, m.bitOffset / 8);
    }
    return out.has('type') ? out : undefined;
  }
  return undefined;
}

/** Positional layout: iproute2's 36-byte struct bpf_elf_map, else struct bpf_map_def (as long as it is). */
function positionalLayout(size: number): Map<string, number> {
  const names = size === ELF_MAP.length * 4 ? ELF_MAP : MAP_DEF;
  return new Map(names.slice(0, size / 4).map((n, i) => [ALIASES[n]!, i * 4]));
}

/**
 * Reads the legacy `SEC("maps")` definitions, one per symbol (each symbol's own size; the
 * section split evenly when symbols have no size). iproute2's `pinning = PIN_GLOBAL_NS` becomes
 * pinning by name (tc pins those in `<bpffs>/tc/globals`: pass that directory as the pin path to
 * share maps with tc); PIN_OBJECT_NS and custom pinning leave the map unpinned, with a warning.
 * A map-in-map gets its inner template from `inner_map_idx` (bpf_map_def: the template's index in
 * the section) or `inner_id` (bpf_elf_map: the template's `id`).
 */
export function legacyMaps(elf: ElfFile, sec: ElfSection, byteOrder: 'le' | 'be', btf: Btf | undefined, warnings: string[]): { spec: MapSpec; offset: number }[] {
  const syms = elf.symbols.filter((s) => s.shndx === sec.index && s.name !== '').sort((a, b) => Number(a.value - b.value));
  if (syms.length === 0) return [];
  const evenSize = Math.floor(sec.size / syms.length);
  const data = sec.data();
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const le = byteOrder === 'le';
  const defs = syms.map((s) => {
    const at = Number(s.value);
    const size = Number(s.size) || evenSize;
    if (size < 16 || size % 4 !== 0) throw new ObjectError(`map "${s.name}": legacy definition of ${size} bytes: expected struct bpf_map_def or struct bpf_elf_map (at least 16 bytes, whole u32 fields)`, sec.name, at);
    if (at + size > data.byteLength) throw new ObjectError(`map "${s.name}" definition runs past the end of the section`, sec.name, at);
    const layout = btfLayout(btf, sec.name, s.name) ?? positionalLayout(size);
    const field = (f: string): number => {
      const off = layout.get(f);
      return off !== undefined && off + 4 <= size ? view.getUint32(at + off, le) : 0;
    };
    return { name: s.name, at, field };
  });
  const specs = defs.map(({ name, at, field }) => {
    let pinning: PinType = 'none';
    const pin = field('pinning');
    if (pin === PIN_GLOBAL_NS) pinning = 'by_name';
    else if (pin !== 0) warnings.push(`map "${name}": iproute2 pinning ${pin} (${pin === PIN_OBJECT_NS ? 'PIN_OBJECT_NS' : 'custom, from /etc/iproute2/bpf_pinning'}) is not supported: the map is not pinned`);
    if (field('innerIdx') !== 0) warnings.push(`map "${name}": iproute2 inner_idx ${field('innerIdx')} (insert into the outer map at load) is not done: fill the outer map yourself`);
    const flags = field('flags');
    return {
      offset: at,
      spec: {
        name,
        type: field('type'),
        keySize: field('keySize'),
        valueSize: field('valueSize'),
        maxEntries: field('maxEntries'),
        flags,
        pinning,
        ...(flags & BPF_F_NUMA_NODE ? { numaNode: field('numaNode') } : {}),
        initEntries: [],
        readOnly: false,
        section: sec.name,
        origin: 'legacy',
      } satisfies MapSpec as MapSpec,
    };
  });
  return specs.map((d, i) => {
    if (d.spec.type !== BPF_MAP_TYPE_ARRAY_OF_MAPS && d.spec.type !== BPF_MAP_TYPE_HASH_OF_MAPS) return d;
    const { field } = defs[i]!;
    const innerId = field('innerId');
    const j = innerId !== 0 ? defs.findIndex((x, k) => k !== i && x.field('id') === innerId) : field('innerMapIdx');
    const inner = specs[j]?.spec;
    if (!inner || j === i) throw new ObjectError(`map "${d.spec.name}": map-in-map without an inner map template (${innerId !== 0 ? `no map has id ${innerId}` : `inner_map_idx ${field('innerMapIdx')} is not another map of the section`})`, sec.name, d.offset);
    return { ...d, spec: { ...d.spec, innerMap: { ...inner, name: `${d.spec.name}.inner`, pinning: 'none' } } };
  });
}
