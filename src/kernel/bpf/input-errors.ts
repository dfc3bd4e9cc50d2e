// Typed errors for bad input caught before any system call (wrong key size, bad instructions).
import { BpfkitError } from '../../errors.js';

// One class each, shared with the userspace maps (the pure core), re-exported here.
export { InvalidKeySizeError, InvalidValueSizeError } from '../../maps/errors.js';

/** An argument the kernel would reject anyway (malformed instructions, a name too long...). */
export class InvalidArgumentError extends BpfkitError {
  constructor(
    readonly argument: string,
    detail: string,
  ) {
    super('ERR_INVALID_ARGUMENT', `${argument}: ${detail}`);
  }
}
