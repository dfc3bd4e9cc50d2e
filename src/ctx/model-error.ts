// ModelError: a user-supplied model of kernel state (sockets, tunnel metadata) the kernel could not have.

import { BpfkitError, type BpfkitErrorOptions } from '../errors.js';

/** A socket or tunnel model with a field the kernel could not hold (a 5-byte address, a port above 65535...). */
export class ModelError extends BpfkitError {
  constructor(
    /** Which model: `'tunnel'`, `'sockets[2]'`... */
    readonly model: string,
    /** The offending field. */
    readonly field: string,
    /** What is wrong with it. */
    readonly reason: string,
    options?: BpfkitErrorOptions,
  ) {
    super('ERR_KERNEL_MODEL', `${model}: ${field}: ${reason}`, options);
  }
}
