// The agent's typed errors: a refused config (naming the entry and key) and a refused apply (naming the entry).
import { BpfkitError, type BpfkitErrorOptions } from '../errors.js';

/**
 * The config is not valid: `path` says where (`programs[1].xdp.mode`), `entry` which program or
 * object entry it belongs to when there is one. Nothing was applied.
 */
export class AgentConfigError extends BpfkitError {
  constructor(
    /** The config file, when it came from one. */
    readonly file: string | undefined,
    /** JSON path of the offending key (`programs[0].xdp.interface`), `''` for the whole document. */
    readonly path: string,
    /** The entry's name (`xdp_stats_prog@eth1`), when the key belongs to one. */
    readonly entry: string | undefined,
    /** What is wrong. */
    readonly detail: string,
    options?: BpfkitErrorOptions,
  ) {
    super('ERR_AGENT_CONFIG', `${file ? `${file}: ` : ''}${path || 'config'}${entry ? ` (entry "${entry}")` : ''}: ${detail}`, options);
  }
}

/**
 * The config is valid but cannot be deployed as a whole: a missing object, an unknown interface,
 * a verifier rejection, a map seed of the wrong size. Raised while preparing, before anything
 * running was touched: the running state is unchanged.
 */
export class AgentApplyError extends BpfkitError {
  constructor(
    /** The entry (program entry name, `object PATH`, `metrics[2]`...). */
    readonly entry: string,
    /** What went wrong. */
    readonly detail: string,
    options?: BpfkitErrorOptions,
  ) {
    super('ERR_AGENT_APPLY', `entry "${entry}": ${detail}`, options);
  }
}

/** A change could not be committed to the kernel (an attach or link update failed after preparing). */
export class AgentCommitError extends BpfkitError {
  constructor(
    /** The entry being committed. */
    readonly entry: string,
    /** What failed. */
    readonly detail: string,
    options?: BpfkitErrorOptions,
  ) {
    super('ERR_AGENT_COMMIT', `entry "${entry}": ${detail}`, options);
  }
}
