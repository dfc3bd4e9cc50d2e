// CLI-level errors: wrong usage (exit code 2) as opposed to failures of the work itself (1).

import { BpfkitError } from '../errors.js';

/** The command line itself is wrong: unknown command, missing argument, bad flag. */
export class UsageError extends BpfkitError {
  constructor(message: string, readonly usage?: string) {
    super('ERR_USAGE', message);
  }
}
