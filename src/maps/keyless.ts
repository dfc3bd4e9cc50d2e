// The element operations of maps that have no keys (ring buffers): the kernel's *_map_*_elem that answer -ENOTSUPP.
import { MapErrno } from './errors.js';

/**
 * Key/value element operations for a map family without elements (ringbuf, user ringbuf): a
 * program's lookup yields NULL, every other operation is -ENOTSUPP, and there is no next key —
 * as ringbuf_map_lookup_elem and friends answer. Families extend it and add their own state.
 */
export class KeylessElements {
  lookup(_key?: Uint8Array, _keyOffset?: number, _cpu?: number): number {
    return 0;
  }
  update(_key?: Uint8Array, _keyOffset?: number, _value?: Uint8Array, _valueOffset?: number, _flags?: number, _cpu?: number): number {
    return -MapErrno.ENOTSUPP;
  }
  delete(_key?: Uint8Array, _keyOffset?: number): number {
    return -MapErrno.ENOTSUPP;
  }
  read(_key?: Uint8Array): Uint8Array | undefined {
    return undefined;
  }
  write(_key?: Uint8Array, _value?: Uint8Array, _flags?: number): number {
    return -MapErrno.ENOTSUPP;
  }
  nextKey(_key?: Uint8Array): Uint8Array | undefined {
    return undefined;
  }
}
