// BPF_ENABLE_STATS: keep run_cnt / run_time_ns collection on while an fd is open (bpftool's way), the sysctl as fallback.
import { Errno } from '../errno.js';
import { Fd } from '../fd.js';
import { isErrno } from '../kernel-error.js';
import type { StructLayout } from '../layout.js';
import { StructWriter } from '../struct-codec.js';
import type { Sys } from '../sys.js';
import { BpfCmd } from './constants.js';

/** `enum bpf_stats_type`: BPF_STATS_RUN_TIME, the only type (run_cnt and run_time_ns). */
export const BPF_STATS_RUN_TIME = 0;

/** The part of `union bpf_attr` used by BPF_ENABLE_STATS: `struct { __u32 type; } enable_stats`. */
const ENABLE_STATS_ATTR = { size: 4, fields: { type: { offset: 0, size: 4 } } } as const satisfies StructLayout;

/** The sysctl that turns the same statistics on for everyone (`kernel.bpf_stats_enabled`). */
export const BPF_STATS_SYSCTL = '/proc/sys/kernel/bpf_stats_enabled';

/**
 * BPF_ENABLE_STATS (kernel >= 5.8, CAP_SYS_ADMIN): the kernel counts every program's runs and
 * run time while the returned fd is open; closing it turns collection off again (unless the
 * sysctl or another holder keeps it on).
 */
export function enableStats(sys: Sys, type = BPF_STATS_RUN_TIME): Fd<'other'> {
  const attr = new StructWriter(ENABLE_STATS_ATTR).u32('type', type);
  return new Fd(sys, sys.bpf(BpfCmd.ENABLE_STATS, attr.bytes, attr.pointers), 'other');
}

/** `kernel.bpf_stats_enabled` as the sysctl reads (it does not see BPF_ENABLE_STATS fds); undefined when unreadable. */
export function statsSysctl(sys: Sys): boolean | undefined {
  try {
    return new TextDecoder().decode(sys.readFile(BPF_STATS_SYSCTL)).trim() === '1';
  } catch {
    return undefined;
  }
}

/** How {@link collectRunStats} turned statistics on. */
export type RunStatsSource = 'fd' | 'sysctl';

/** Run-time statistics kept on until closed. */
export interface RunStats extends Disposable {
  /** `'fd'`: a BPF_ENABLE_STATS fd is held; `'sysctl'`: the kernel predates it and the sysctl was used. */
  readonly source: RunStatsSource;
  /** True once closed. */
  readonly closed: boolean;
  /** Closes the fd, or puts the sysctl back to 0 when this turned it on; a second call does nothing. */
  close(): void;
}

/**
 * Turns program run statistics on as bpftool does (`bpftool prog profile`, `prog show` with
 * stats): a BPF_ENABLE_STATS fd; on kernels without the command (EINVAL) the
 * `kernel.bpf_stats_enabled` sysctl is set to 1 and put back to 0 on close if it was 0.
 * EPERM stays a KernelPermissionError.
 */
export function collectRunStats(sys: Sys): RunStats {
  let fd: Fd<'other'> | undefined;
  try {
    fd = enableStats(sys);
  } catch (err) {
    if (!isErrno(err, Errno.EINVAL)) throw err;
  }
  if (fd) {
    const held = fd;
    return {
      source: 'fd',
      get closed() {
        return held.closed;
      },
      close: () => held.close(),
      [Symbol.dispose]: () => held.close(),
    };
  }
  const wasOn = statsSysctl(sys) === true;
  if (!wasOn) sys.writeFile(BPF_STATS_SYSCTL, new TextEncoder().encode('1\n'));
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    if (!wasOn) sys.writeFile(BPF_STATS_SYSCTL, new TextEncoder().encode('0\n'));
  };
  return {
    source: 'sysctl',
    get closed() {
      return closed;
    },
    close,
    [Symbol.dispose]: close,
  };
}
