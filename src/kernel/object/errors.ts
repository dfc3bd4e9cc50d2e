// Errors of whole-object loading: a pin of the wrong shape, a name that is not in the object, a symbol the kernel lacks.
import { BpfkitError, type BpfkitErrorOptions } from '../../errors.js';

/** A map pinned at `path` (pinning by name) does not have the shape the object declares. */
export class PinMismatchError extends BpfkitError {
  constructor(
    /** The pin path. */
    readonly path: string,
    /** The map's name in the object. */
    readonly map: string,
    /** The attributes that differ, `field: pinned vs wanted`. */
    readonly differences: readonly string[],
  ) {
    super('ERR_PIN_MISMATCH', `map "${map}": the map pinned at ${path} is not compatible (${differences.join(', ')})`);
  }
}

/** A program or map name given in the options does not exist in the object. */
export class UnknownObjectNameError extends BpfkitError {
  constructor(
    /** `program` or `map`. */
    readonly what: 'program' | 'map',
    /** The name asked for. */
    readonly objectName: string,
    /** The names the object has. */
    readonly known: readonly string[],
  ) {
    super('ERR_UNKNOWN_NAME', `no ${what} named "${objectName}" in the object (it has: ${known.join(', ') || 'none'})`);
  }
}

/** A kfunc, kernel variable or attach target the object needs is not in the kernel's BTF. */
export class KernelSymbolError extends BpfkitError {
  constructor(
    /** The symbol name. */
    readonly symbol: string,
    /** What kind of symbol was looked for. */
    readonly kind: 'kfunc' | 'ksym' | 'attach target',
    detail?: string,
    options?: BpfkitErrorOptions,
  ) {
    super('ERR_KERNEL_SYMBOL', `${kind} "${symbol}" not found in the kernel's BTF${detail ? `: ${detail}` : ''}`, options);
  }
}
