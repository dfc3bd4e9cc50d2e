// Errors of the debugger: a request at the wrong time, a bad expression, a breakpoint nowhere, a protocol violation.

import { BpfkitError, type BpfkitErrorOptions } from '../errors.js';

/** A debugger request the session cannot serve now (not stopped, already terminated, unknown frame). */
export class DebugStateError extends BpfkitError {
  constructor(
    /** What was asked. */
    readonly request: string,
    /** Why it cannot be served. */
    readonly reason: string,
  ) {
    super('ERR_DEBUG_STATE', `${request}: ${reason}`);
  }
}

/** An expression (`print`, `evaluate`, a breakpoint condition) that does not parse or cannot be evaluated. */
export class ExpressionError extends BpfkitError {
  constructor(
    /** The expression text. */
    readonly expression: string,
    /** What is wrong, with the column when it is a syntax error. */
    readonly reason: string,
    options?: BpfkitErrorOptions,
  ) {
    super('ERR_DEBUG_EXPRESSION', `expression '${expression}': ${reason}`, options);
  }
}

/** A Debug Adapter Protocol message that is malformed or comes out of order. */
export class DapProtocolError extends BpfkitError {
  constructor(
    /** The request's command, or '' when the message has none. */
    readonly command: string,
    /** What is wrong. */
    readonly reason: string,
  ) {
    super('ERR_DAP_PROTOCOL', command ? `${command}: ${reason}` : reason);
  }
}
