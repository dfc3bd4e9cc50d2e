// Map types by name, as bpftool prints them (`percpu_array`, `lpm_trie`, `ringbuf`).
import { BpfMapType } from './uapi.generated.js';

type MapTypeKey = Exclude<keyof typeof BpfMapType, `${string}_DEPRECATED`>;

/** A map type's kernel name without prefix, as bpftool prints it: `'hash'`, `'lru_percpu_hash'`. */
export type MapTypeName = Lowercase<MapTypeKey>;

const nameByValue = new Map<number, MapTypeName>();
const valueByName = new Map<string, BpfMapType>();
for (const [key, value] of Object.entries(BpfMapType) as [keyof typeof BpfMapType, BpfMapType][]) {
  // CGROUP_STORAGE_DEPRECATED aliases CGROUP_STORAGE: bpftool prints the current name.
  if (key.endsWith('_DEPRECATED')) continue;
  const name = key.toLowerCase() as MapTypeName;
  if (!nameByValue.has(value)) nameByValue.set(value, name);
  valueByName.set(name, value);
}

/** Every known map type name, in enum order. */
export const MAP_TYPE_NAMES: readonly MapTypeName[] = [...nameByValue.values()];

/**
 * The name bpftool prints for a map type: `mapTypeName(2) === 'array'`; a value this kernel's
 * enum lacks renders like bpftool does, `'type 99'`.
 */
export function mapTypeName(type: number): string {
  return nameByValue.get(type) ?? `type ${type}`;
}

/** The map type called `name` (`'percpu_array'`, case-insensitive), or undefined. */
export function mapTypeByName(name: string): BpfMapType | undefined {
  return valueByName.get(name.toLowerCase());
}

/** Whether `name` is a known map type name. */
export function isMapTypeName(name: string): name is MapTypeName {
  return valueByName.has(name);
}
