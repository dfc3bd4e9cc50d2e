// KernelError: a failed system call as a typed error (`bpf(BPF_MAP_CREATE): EPERM: operation not permitted`).
import { BpfkitError, type BpfkitErrorOptions } from '../errors.js';
import { Errno, errnoMessage, errnoName } from './errno.js';

/** Options of {@link KernelError}: the usual cause plus an optional hint appended to the message. */
export interface KernelErrorOptions extends BpfkitErrorOptions {
  /** One sentence telling the user what to do, appended in parentheses. */
  hint?: string;
}

/**
 * A system call the kernel refused. `op` names the call (`'bpf(BPF_MAP_CREATE)'`, `'socket'`),
 * `errno` is the number and `errnoName` its symbol (`'EPERM'`). `code` is always `'ERR_KERNEL'`;
 * subclasses narrow the common cases.
 */
export class KernelError extends BpfkitError {
  /** The operation that failed, e.g. `'bpf(BPF_MAP_CREATE)'`. */
  readonly op: string;
  /** The errno the kernel returned (positive). */
  readonly errno: number;
  /** The errno's symbolic name, e.g. `'EPERM'`. */
  readonly errnoName: string;
  /** What to do about it, when there is something to say. */
  readonly hint: string | undefined;

  constructor(op: string, errno: number, options?: KernelErrorOptions) {
    const name = errnoName(errno);
    const hint = options?.hint;
    super('ERR_KERNEL', `${op}: ${name}: ${errnoMessage(errno)}${hint ? ` (${hint})` : ''}`, options);
    this.op = op;
    this.errno = errno;
    this.errnoName = name;
    this.hint = hint;
  }
}

/** EPERM: the process lacks a privilege (or, before 5.11, locked-memory budget), or the object forbids the operation. */
export class KernelPermissionError extends KernelError {}

/** The hint attached to EPERM from bpf(2). */
export const BPF_PERMISSION_HINT =
  'bpf(2) needs CAP_BPF (plus CAP_NET_ADMIN for networking programs, CAP_PERFMON for tracing) or CAP_SYS_ADMIN; ' +
  'on kernels before 5.11 also raise RLIMIT_MEMLOCK (ulimit -l); check kernel.unprivileged_bpf_disabled';

/**
 * Builds the right KernelError subclass for `errno` from operation `op`. EPERM from bpf(2)
 * gets the capability / memlock hint.
 */
export function kernelError(op: string, errno: number, options?: KernelErrorOptions): KernelError {
  if (errno === Errno.EPERM) {
    const hint = options?.hint ?? (op.startsWith('bpf(') ? BPF_PERMISSION_HINT : undefined);
    return new KernelPermissionError(op, errno, { ...options, hint });
  }
  return new KernelError(op, errno, options);
}

/** True when `err` is a KernelError carrying `errno` (by number or name). */
export function isErrno(err: unknown, errno: number | string): err is KernelError {
  if (!(err instanceof KernelError)) return false;
  return typeof errno === 'number' ? err.errno === errno : err.errnoName === errno;
}
