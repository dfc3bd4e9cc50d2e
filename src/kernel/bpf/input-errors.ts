// Typed errors for bad input caught before any system call (wrong key size, bad instructions).
import { BpfkitError } from '../../errors.js';

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

/** An argument the kernel would reject anyway (malformed instructions, a name too long...). */
export class InvalidArgumentError extends BpfkitError {
  constructor(
    readonly argument: string,
    detail: string,
  ) {
    super('ERR_INVALID_ARGUMENT', `${argument}: ${detail}`);
  }
}
