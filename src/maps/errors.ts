// Typed errors of the map layer: bad key/value sizes, bad map attributes, unsupported types, failed operations.
import { BpfkitError, NotSupportedError } from '../errors.js';

/** The errno values map operations return (negated) — the kernel's numbers, for the pure core. */
export const MapErrno = {
  EPERM: 1,
  ENOENT: 2,
  E2BIG: 7,
  EBADF: 9,
  ENOMEM: 12,
  ENODEV: 19,
  EBUSY: 16,
  EEXIST: 17,
  EINVAL: 22,
  ENOSPC: 28,
  EAGAIN: 11,
  EOVERFLOW: 75,
  EOPNOTSUPP: 95,
  /** The kernel-internal ENOTSUPP that BPF returns in places (e.g. LRU without prealloc). */
  ENOTSUPP: 524,
} as const;

const ERRNO_NAMES = new Map<number, string>(Object.entries(MapErrno).map(([name, n]) => [n, name]));

/** `ENOENT` for 2; `E<n>` for a number this table does not name. */
export function mapErrnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `E${errno}`;
}

/** A map key whose length is not the map's key size. */
export class InvalidKeySizeError extends BpfkitError {
  constructor(
    readonly size: number,
    readonly expected: number,
  ) {
    super('ERR_INVALID_KEY_SIZE', `key is ${size} bytes, map key size is ${expected}`);
  }
}

/** A map value whose length is not the map's value size (per-CPU: the padded total). */
export class InvalidValueSizeError extends BpfkitError {
  constructor(
    readonly size: number,
    readonly expected: number,
  ) {
    super('ERR_INVALID_VALUE_SIZE', `value is ${size} bytes, expected ${expected}`);
  }
}

/** The attribute a map definition got wrong. */
export type MapAttributeField = 'type' | 'keySize' | 'valueSize' | 'maxEntries' | 'flags' | 'mapExtra' | 'innerMap' | 'name' | 'btfKeyTypeId' | 'btfValueTypeId';

const FIELD_C_NAMES: Record<MapAttributeField, string> = {
  type: 'map_type',
  keySize: 'key_size',
  valueSize: 'value_size',
  maxEntries: 'max_entries',
  flags: 'map_flags',
  mapExtra: 'map_extra',
  innerMap: 'inner_map',
  name: 'map_name',
  btfKeyTypeId: 'btf_key_type_id',
  btfValueTypeId: 'btf_value_type_id',
};

/**
 * A map definition the kernel's BPF_MAP_CREATE would refuse: names the field, its value, why,
 * and the errno the kernel returns for it (EINVAL, E2BIG, ENOTSUPP...).
 */
export class MapAttributeError extends BpfkitError {
  constructor(
    /** The map's name. */
    readonly map: string,
    /** Which attribute is wrong. */
    readonly field: MapAttributeField,
    /** Its value. */
    readonly value: number,
    /** Why it is refused. */
    readonly reason: string,
    /** The errno the kernel returns for this definition. */
    readonly errno: number = MapErrno.EINVAL,
  ) {
    super('ERR_MAP_ATTRIBUTE', `map "${map}": ${FIELD_C_NAMES[field]} ${field === 'flags' ? `0x${value.toString(16)}` : value}: ${reason} (kernel: ${mapErrnoName(errno)})`);
  }
}

/** A map type the userspace runtime does not implement (perf event array, sockmap...). */
export class UnsupportedMapTypeError extends NotSupportedError {
  constructor(
    /** `enum bpf_map_type`. */
    readonly type: number,
    typeName: string,
  ) {
    super(`map type ${typeName} (${type}) in the userspace runtime`);
  }
}

/** A user-side map operation that failed with the errno the kernel would return. */
export class MapOperationError extends BpfkitError {
  /** `ENOENT`, `E2BIG`... */
  readonly errnoName: string;
  constructor(
    /** The map's name. */
    readonly map: string,
    /** The operation: `update`, `delete`, `lookup`, `push`, `pop`. */
    readonly op: string,
    /** Positive errno. */
    readonly errno: number,
  ) {
    const name = mapErrnoName(errno);
    super('ERR_MAP_OPERATION', `map "${map}": ${op}: ${name}${errnoHint(op, errno)}`);
    this.errnoName = name;
  }
}

function errnoHint(op: string, errno: number): string {
  switch (errno) {
    case MapErrno.E2BIG:
      return op === 'update' ? ' (the map is full, or the index is past max_entries)' : '';
    case MapErrno.EEXIST:
      return ' (the key exists and the update said noexist)';
    case MapErrno.ENOENT:
      return op === 'update' ? ' (the key is absent and the update said exist)' : ' (no such key)';
    case MapErrno.EINVAL:
      return ' (invalid flags or operation for this map type)';
    default:
      return '';
  }
}
