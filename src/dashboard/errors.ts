// Errors of the metrics collector and the dashboard: a selected map that is missing or not numeric.
import { BpfkitError } from '../errors.js';

/** A `--map` selector matched no map in the kernel. */
export class NoSuchMapError extends BpfkitError {
  constructor(
    /** The selector as typed: `name xdp_stats_map` or `id 17`. */
    readonly selector: string,
  ) {
    super('ERR_NO_SUCH_MAP', `no map matches ${selector} (bpfkit map list shows the loaded maps)`);
  }
}

/** A selected map's values hold no number the collector can export (no BTF and an odd size, or only strings/pointers). */
export class NonNumericMapError extends BpfkitError {
  constructor(
    /** The map's name. */
    readonly map: string,
    /** The map's id. */
    readonly mapId: number,
    /** Why. */
    readonly reason: string,
  ) {
    super('ERR_NON_NUMERIC_MAP', `map ${map} (id ${mapId}): ${reason}`);
  }
}
