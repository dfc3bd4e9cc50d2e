// The error base: every failure bpfkit reports is a BpfkitError with a stable `code`.

/** Options accepted by every bpfkit error constructor. */
export interface BpfkitErrorOptions {
  /** The lower-level error this one wraps. */
  cause?: unknown;
}

/**
 * Base class of every error bpfkit throws. `code` is stable across versions and safe to
 * match on (`err.code === 'ERR_INVALID_KEY_SIZE'`); `name` is the subclass name.
 */
export class BpfkitError extends Error {
  /** Stable machine-readable code, e.g. `'ERR_ELF_MALFORMED'`. */
  readonly code: string;

  constructor(code: string, message: string, options?: BpfkitErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }

  /**
   * Returns a copy of this error with `context` prefixed to the message, keeping the class,
   * fields and cause — how each layer adds where it was (`section "xdp": relocation 3: ...`).
   */
  withContext(context: string): this {
    const copy = Object.create(Object.getPrototypeOf(this) as object) as this;
    Object.assign(copy, this);
    Object.defineProperty(copy, 'message', { value: `${context}: ${this.message}`, enumerable: false, writable: true, configurable: true });
    Object.defineProperty(copy, 'stack', { value: this.stack, enumerable: false, writable: true, configurable: true });
    if ('cause' in this) Object.defineProperty(copy, 'cause', { value: this.cause, enumerable: false, writable: true, configurable: true });
    return copy;
  }
}

/** A feature the running kernel or the device does not provide. */
export class NotSupportedError extends BpfkitError {
  constructor(
    readonly feature: string,
    readonly minKernel?: string,
    detail?: string,
    options?: BpfkitErrorOptions,
  ) {
    super(
      'ERR_NOT_SUPPORTED',
      `${feature} not supported${minKernel ? ` (requires >= ${minKernel})` : ''}${detail ? `: ${detail}` : ''}`,
      options,
    );
  }
}
