// Fd: a kernel file descriptor as a Disposable handle, tracked per Sys so tests can catch leaks.
import { BpfkitError } from '../errors.js';
import type { RawFd, Sys } from './sys.js';

/** What an fd refers to; part of the Fd's type so a map fd is not passed where a prog fd goes. */
export type FdKind = 'map' | 'prog' | 'link' | 'btf' | 'socket' | 'epoll' | 'other';

/** An Fd was used after it was closed. */
export class FdClosedError extends BpfkitError {
  constructor(
    readonly kind: FdKind,
    readonly fd: number,
  ) {
    super('ERR_FD_CLOSED', `${kind} fd ${fd} used after close`);
  }
}

/** A live fd as the tracker sees it: the handle and, with tracing on, where it was opened. */
export interface OpenFdRecord {
  /** The handle. */
  readonly fd: Fd;
  /** The stack at open time when tracing was on (`setFdTracing(true)`), else undefined. */
  readonly openedAt: string | undefined;
}

const openBySys = new WeakMap<Sys, Map<Fd, OpenFdRecord>>();
let tracing = typeof process !== 'undefined' && process.env['BPFKIT_TRACE_FDS'] === '1';

/**
 * Turns recording of the opening stack of every new Fd on or off (also on when the environment
 * has `BPFKIT_TRACE_FDS=1`). Costs one stack capture per fd; meant for tests and debugging.
 */
export function setFdTracing(on: boolean): void {
  tracing = on;
}

/** The fds opened through `sys` and not yet closed, with their opening stacks when traced. */
export function openFds(sys: Sys): OpenFdRecord[] {
  return [...(openBySys.get(sys)?.values() ?? [])];
}

/**
 * An open kernel fd. Close it with `close()` or `using`; closing twice is a no-op, using it
 * after close throws {@link FdClosedError}. Every Fd is registered with its Sys until closed.
 */
export class Fd<K extends FdKind = FdKind> implements Disposable {
  readonly #num: RawFd;
  #open = true;
  /** The Sys the fd belongs to (and will be closed through). */
  readonly sys: Sys;
  /** What the fd refers to. */
  readonly kind: K;

  /** Takes ownership of `raw`, which `sys` returned. */
  constructor(sys: Sys, raw: number, kind: K) {
    if (!Number.isInteger(raw) || raw < 0) throw new BpfkitError('ERR_BAD_FD', `not a file descriptor: ${raw}`);
    this.sys = sys;
    this.#num = raw as RawFd;
    this.kind = kind;
    let open = openBySys.get(sys);
    if (!open) openBySys.set(sys, (open = new Map()));
    open.set(this, { fd: this, openedAt: tracing ? new Error('fd opened here').stack : undefined });
  }

  /** The fd number; throws {@link FdClosedError} after close. */
  get raw(): RawFd {
    if (!this.#open) throw new FdClosedError(this.kind, this.#num);
    return this.#num;
  }

  /** True once closed. */
  get closed(): boolean {
    return !this.#open;
  }

  /** Closes the fd; a second call does nothing. */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    openBySys.get(this.sys)?.delete(this);
    this.sys.close(this.#num);
  }

  /**
   * Gives up ownership without closing: returns the number and marks this handle closed (and
   * untracked). For handing the fd to another owner, e.g. a more specific handle type.
   */
  release(): RawFd {
    const raw = this.raw;
    this.#open = false;
    openBySys.get(this.sys)?.delete(this);
    return raw;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** `prog fd 7` / `prog fd 7 (closed)`, for messages. */
  toString(): string {
    return `${this.kind} fd ${this.#num}${this.#open ? '' : ' (closed)'}`;
  }
}

/**
 * Runs `fn` with a freshly opened fd and closes it if `fn` throws; on success the fd is returned
 * to the caller, who owns it. For "open, then configure" sequences that must not leak on error.
 */
export function adoptFd<K extends FdKind, T>(fd: Fd<K>, fn: (fd: Fd<K>) => T): T {
  try {
    return fn(fd);
  } catch (err) {
    fd.close();
    throw err;
  }
}
