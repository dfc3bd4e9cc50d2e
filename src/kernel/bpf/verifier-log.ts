// The verifier log loop shared by BPF_PROG_LOAD and BPF_BTF_LOAD: load, grow the log buffer, retry.
import { Errno } from '../errno.js';
import { KernelError, isErrno } from '../kernel-error.js';
import { VerifierError } from '../verifier-error.js';

/** How to capture the verifier log. */
export interface LogOptions {
  /**
   * Log level: 0 loads without a log and, on a rejection, loads again with level 1 to explain it
   * (the default); 1 or 2 always capture (2: every instruction's state).
   */
  logLevel?: number;
  /** First log buffer size in bytes (default 64 KiB); grown as needed. */
  logSize?: number;
  /** Largest buffer to grow to (default and kernel maximum: 1 GiB - 1). */
  maxLogSize?: number;
}

/** One attempt's outcome: the kernel's result or error, and the log size it reported needing. */
export interface LogAttempt {
  /** The syscall result (an fd) when it succeeded. */
  result?: number;
  /** The KernelError when it failed. */
  error?: KernelError;
  /** `log_true_size` (5.4+... 6.4+ for prog load), 0 when the kernel does not report it. */
  trueSize: number;
}

/** The outcome of {@link loadWithLog}: the fd number and the log (empty at level 0). */
export interface LogResult {
  /** The syscall result. */
  readonly result: number;
  /** The log text, up to its first NUL. */
  readonly log: string;
}

const DEFAULT_LOG_SIZE = 64 * 1024;
const KERNEL_MAX_LOG_SIZE = (2 ** 32 - 1) >>> 2; // kernel: log_size must be <= UINT_MAX >> 2

/** The text of a log buffer up to its first NUL. */
export function decodeLog(buf: Uint8Array): string {
  const end = buf.indexOf(0);
  return new TextDecoder().decode(end < 0 ? buf : buf.subarray(0, end));
}

/**
 * Runs `attempt(logLevel, logBuf)` until it succeeds or fails for a reason other than a short
 * log: an ENOSPC with a log means the buffer was too small, so it is grown (to the size the
 * kernel reported, else x4) and the load retried. A rejection becomes a VerifierError for `op`
 * carrying the log; a failure without any log stays a KernelError.
 */
export function loadWithLog(op: string, options: LogOptions, attempt: (logLevel: number, logBuf: Uint8Array) => LogAttempt): LogResult {
  const maxSize = Math.min(options.maxLogSize ?? KERNEL_MAX_LOG_SIZE, KERNEL_MAX_LOG_SIZE);
  let level = options.logLevel ?? 0;
  let size = Math.min(options.logSize ?? DEFAULT_LOG_SIZE, maxSize);
  for (;;) {
    const buf = new Uint8Array(level > 0 ? size : 0);
    const out = attempt(level, buf);
    if (out.result !== undefined) return { result: out.result, log: decodeLog(buf) };
    const error = out.error ?? new KernelError(op, Errno.EINVAL);
    if (level === 0) {
      // Silent first try failed: only a load with a log can say why. EPERM etc. are not the
      // verifier's verdict, so they are thrown as they are.
      if (!isErrno(error, Errno.EACCES) && !isErrno(error, Errno.EINVAL) && !isErrno(error, Errno.E2BIG)) throw error;
      level = 1;
      continue;
    }
    const log = decodeLog(buf);
    if (isErrno(error, Errno.ENOSPC) && size < maxSize) {
      size = Math.min(maxSize, Math.max(out.trueSize > size ? out.trueSize : 0, size * 4));
      continue;
    }
    if (log === '') throw error;
    throw new VerifierError(op, error.errno, log, { cause: error, truncated: isErrno(error, Errno.ENOSPC) });
  }
}
