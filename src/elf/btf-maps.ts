// BTF-defined map definitions: the `.maps` section's DATASEC, read the way libbpf reads it.
//
// A definition is a struct whose members encode attributes in their types:
//   __uint(type, BPF_MAP_TYPE_HASH)  ->  int (*type)[1]     (value = array length)
//   __type(key, struct flow_key)     ->  struct flow_key *key (type = pointee)
//   __array(values, struct inner)    ->  struct inner *values[] (inner map or prog array)

import type { Btf, BtfType, DatasecType, BtfMember } from '../btf/index.js';
import { ObjectError } from './object-error.js';
import type { MapSpec, PinType } from './object-spec.js';

/** What one `.maps` variable defines, before relocations fill in initial values. */
export interface BtfMapDef {
  /** The map spec (initEntries empty; the loader fills them from `.rel.maps`). */
  readonly spec: MapSpec;
  /** Offset of the variable inside the `.maps` section. */
  readonly offset: number;
  /** Size of the variable. */
  readonly size: number;
  /** Byte offset of the `values` member inside the variable, when it has one. */
  readonly valuesOffset?: number;
}

const BPF_MAP_TYPE_PROG_ARRAY = 3;
const BPF_MAP_TYPE_ARRAY_OF_MAPS = 12;
const BPF_MAP_TYPE_HASH_OF_MAPS = 13;
const isMapInMap = (t: number) => t === BPF_MAP_TYPE_ARRAY_OF_MAPS || t === BPF_MAP_TYPE_HASH_OF_MAPS;

/**
 * Skips typedefs and qualifiers (const, volatile, restrict, type tags), as libbpf's
 * skip_mods_and_typedefs does: a definition may be a typedef'd struct (xdp-tools'
 * `typedef struct { ... } array_map; array_map rx_cnt SEC(".maps");`).
 */
function resolve(btf: Btf, id: number): BtfType {
  return btf.skipTypedefs(id);
}

function intField(btf: Btf, map: string, m: BtfMember): number {
  const ptr = resolve(btf, m.type);
  if (ptr.kind !== 'ptr') throw new ObjectError(`map "${map}": attribute "${m.name}" is a ${ptr.kind}, expected a pointer to an array (__uint)`, '.maps');
  const arr = resolve(btf, ptr.type);
  if (arr.kind !== 'array') throw new ObjectError(`map "${map}": attribute "${m.name}" points to a ${arr.kind}, expected an array (__uint)`, '.maps');
  return arr.nelems;
}

/**
 * A u64 attribute (libbpf's get_map_field_long): `__uint` (a pointer to an array), or `__ulong`
 * (an enum or enum64 of exactly one enumerator, its value), as libbpf >= 1.4 writes map_extra.
 */
function longField(btf: Btf, map: string, m: BtfMember): number {
  const t = resolve(btf, m.type);
  if (t.kind === 'ptr') return intField(btf, map, m);
  if (t.kind !== 'enum' && t.kind !== 'enum64') throw new ObjectError(`map "${map}": attribute "${m.name}" is a ${t.kind}, expected __uint or __ulong (an enum)`, '.maps');
  if (t.values.length !== 1) throw new ObjectError(`map "${map}": attribute "${m.name}": invalid __ulong (an enum of ${t.values.length} values)`, '.maps');
  const v = t.values[0]!.value;
  const n = typeof v === 'bigint' ? Number(BigInt.asUintN(64, v)) : v >>> 0;
  if (!Number.isSafeInteger(n)) throw new ObjectError(`map "${map}": attribute "${m.name}" is 0x${BigInt.asUintN(64, BigInt(v)).toString(16)}, above 2^53 (not supported)`, '.maps');
  return n;
}

function typeField(btf: Btf, map: string, m: BtfMember): { id: number; size: number } {
  const ptr = resolve(btf, m.type);
  if (ptr.kind !== 'ptr') throw new ObjectError(`map "${map}": attribute "${m.name}" is a ${ptr.kind}, expected a pointer (__type)`, '.maps');
  let size: number;
  try {
    size = btf.resolveSize(ptr.type);
  } catch (e) {
    throw new ObjectError(`map "${map}": cannot size the ${m.name} type: ${(e as Error).message}`, '.maps', undefined, { cause: e });
  }
  return { id: ptr.type, size };
}

/**
 * Parses one map definition struct. `name` is the variable name; inner definitions (the
 * pointee of `values` in a map-in-map) are parsed recursively as `<outer>.inner`.
 */
function parseDef(btf: Btf, name: string, typeId: number, warnings: string[], depth: number): { spec: MapSpec; valuesOffset?: number } {
  const def = resolve(btf, typeId);
  if (def.kind !== 'struct') throw new ObjectError(`map "${name}": definition is a ${def.kind}, expected a struct`, '.maps');
  let type = 0, keySize = 0, valueSize = 0, maxEntries = 0, flags = 0, numaNode: number | undefined, mapExtra: number | undefined;
  let keyTypeId: number | undefined, valueTypeId: number | undefined, pinning: PinType = 'none';
  let innerMap: MapSpec | undefined, valuesOffset: number | undefined, valuesIsProgs = false;
  for (const m of def.members) {
    switch (m.name) {
      case 'type': type = intField(btf, name, m); break;
      case 'max_entries': maxEntries = intField(btf, name, m); break;
      case 'map_flags': flags = intField(btf, name, m); break;
      case 'numa_node': numaNode = intField(btf, name, m); break;
      case 'map_extra': mapExtra = longField(btf, name, m); break;
      case 'key_size': {
        const v = intField(btf, name, m);
        if (keySize && keySize !== v) throw new ObjectError(`map "${name}": key_size ${v} conflicts with the key type's size ${keySize}`, '.maps');
        keySize = v;
        break;
      }
      case 'value_size': {
        const v = intField(btf, name, m);
        if (valueSize && valueSize !== v) throw new ObjectError(`map "${name}": value_size ${v} conflicts with the value type's size ${valueSize}`, '.maps');
        valueSize = v;
        break;
      }
      case 'key': {
        const k = typeField(btf, name, m);
        if (keySize && keySize !== k.size) throw new ObjectError(`map "${name}": key type size ${k.size} conflicts with key_size ${keySize}`, '.maps');
        keySize = k.size;
        keyTypeId = k.id;
        break;
      }
      case 'value': {
        const v = typeField(btf, name, m);
        if (valueSize && valueSize !== v.size) throw new ObjectError(`map "${name}": value type size ${v.size} conflicts with value_size ${valueSize}`, '.maps');
        valueSize = v.size;
        valueTypeId = v.id;
        break;
      }
      case 'pinning': {
        const p = intField(btf, name, m);
        if (p !== 0 && p !== 1) throw new ObjectError(`map "${name}": unknown pinning type ${p} (0 = none, 1 = by name)`, '.maps');
        pinning = p === 1 ? 'by_name' : 'none';
        break;
      }
      case 'values': {
        // `struct inner *values[]`: an array of pointers; the pointee is an inner map definition
        // (map-in-map) or a function prototype (prog array).
        const arr = resolve(btf, m.type);
        if (arr.kind !== 'array') throw new ObjectError(`map "${name}": "values" is a ${arr.kind}, expected an array of pointers`, '.maps');
        const ptr = resolve(btf, arr.type);
        if (ptr.kind !== 'ptr') throw new ObjectError(`map "${name}": "values" elements are ${ptr.kind}, expected pointers`, '.maps');
        const pointee = resolve(btf, ptr.type);
        valuesOffset = m.bitOffset / 8;
        if (pointee.kind === 'func_proto') {
          valuesIsProgs = true;
        } else if (pointee.kind === 'struct') {
          if (depth > 0) throw new ObjectError(`map "${name}": nested map-in-map definitions are not supported`, '.maps');
          innerMap = parseDef(btf, `${name}.inner`, ptr.type, warnings, depth + 1).spec;
        } else {
          throw new ObjectError(`map "${name}": "values" points to a ${pointee.kind}, expected a map definition or a function prototype`, '.maps');
        }
        break;
      }
      default:
        warnings.push(`map "${name}": unknown attribute "${m.name}" ignored`);
    }
  }
  if (valuesIsProgs && type !== BPF_MAP_TYPE_PROG_ARRAY) throw new ObjectError(`map "${name}": "values" of programs needs type prog_array, got type ${type}`, '.maps');
  if (innerMap && !isMapInMap(type)) throw new ObjectError(`map "${name}": an inner map definition needs array_of_maps or hash_of_maps, got type ${type}`, '.maps');
  // libbpf: a map-in-map's or prog array's value is an fd (4 bytes) when not given.
  if ((isMapInMap(type) || valuesIsProgs) && valueSize === 0) valueSize = 4;
  const spec: MapSpec = {
    name,
    type,
    keySize,
    valueSize,
    maxEntries,
    flags,
    pinning,
    ...(numaNode === undefined ? {} : { numaNode }),
    ...(mapExtra === undefined ? {} : { mapExtra }),
    ...(keyTypeId === undefined ? {} : { keyTypeId }),
    ...(valueTypeId === undefined ? {} : { valueTypeId }),
    btfTypeId: typeId,
    ...(innerMap ? { innerMap } : {}),
    initEntries: [],
    readOnly: false,
    section: '.maps',
    origin: 'btf',
  };
  return valuesOffset === undefined ? { spec } : { spec, valuesOffset };
}

/**
 * Reads every map variable of the `.maps` DATASEC, in section order. clang leaves the DATASEC's
 * variable offsets at 0 (libbpf fixes them up from the symbol table), so offsets come from
 * `symbolOffset`, the ELF symbol of the same name.
 */
export function parseBtfMaps(btf: Btf, sectionName: string, warnings: string[], symbolOffset: (name: string) => number | undefined): BtfMapDef[] {
  const ds = btf.typesByName(sectionName).find((t): t is DatasecType => t.kind === 'datasec');
  if (!ds) throw new ObjectError('no BTF DATASEC describes the BTF-defined maps (compile with -g)', sectionName);
  const out: BtfMapDef[] = [];
  for (const v of ds.vars) {
    const variable = btf.typeById(v.type);
    if (variable.kind !== 'var') throw new ObjectError(`DATASEC entry ${v.type} is a ${variable.kind}, expected a variable`, sectionName, v.offset);
    const offset = symbolOffset(variable.name);
    if (offset === undefined) throw new ObjectError(`map "${variable.name}" has BTF but no ELF symbol`, sectionName);
    const { spec, valuesOffset } = parseDef(btf, variable.name, variable.type, warnings, 0);
    out.push({ spec: { ...spec, section: sectionName }, offset, size: v.size, ...(valuesOffset === undefined ? {} : { valuesOffset }) });
  }
  return out.sort((a, b) => a.offset - b.offset);
}
