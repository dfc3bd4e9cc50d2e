// tracefs for tests: /sys/kernel/tracing is not mounted on every machine of this kind; root mounts it once, as bpftool would.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Availability } from './bpffs.js';

const TRACEFS = '/sys/kernel/tracing';

/** Whether a tracefs is mounted at /sys/kernel/tracing (read from /proc/mounts). */
export function isTracefsMounted(): boolean {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .some((l) => {
      const f = l.split(' ');
      return f[1] === TRACEFS && f[2] === 'tracefs';
    });
}

let state: Availability | undefined;

/**
 * Whether tracefs is mounted at /sys/kernel/tracing; mounts it when it is not and we are root.
 * Tracepoint and kprobe attachment read event ids from it, and a bare VM's init may not mount it,
 * so the tests that attach tracepoints must not depend on how the machine booted. Cached per process.
 */
export function ensureTracefs(): Availability {
  if (state?.ok) return state;
  try {
    if (isTracefsMounted()) return (state = { ok: true });
    if (process.getuid?.() !== 0) return (state = { ok: false, reason: `no tracefs at ${TRACEFS} and not root to mount it` });
    execFileSync('mount', ['-t', 'tracefs', 'nodev', TRACEFS], { stdio: 'pipe' });
    state = isTracefsMounted() ? { ok: true } : { ok: false, reason: `mount -t tracefs did not mount ${TRACEFS}` };
  } catch (err) {
    // Two test processes may race to mount: the loser's mount fails with EBUSY, yet tracefs is there.
    state = isTracefsMounted() ? { ok: true } : { ok: false, reason: `no tracefs at ${TRACEFS} and mounting failed: ${(err as Error).message}` };
  }
  return state;
}
