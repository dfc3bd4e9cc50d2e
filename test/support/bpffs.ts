// bpffs for tests: /sys/fs/bpf is not mounted on every machine of this kind; root mounts it once, as bpftool would.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, rmSync } from 'node:fs';

/** Whether a test prerequisite is available, and why not. */
export interface Availability {
  ok: boolean;
  reason?: string;
}

/** Whether /sys/fs/bpf is a mounted bpffs (read from /proc/mounts). */
export function isBpffsMounted(): boolean {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .some((l) => {
      const f = l.split(' ');
      return f[1] === '/sys/fs/bpf' && f[2] === 'bpf';
    });
}

let state: Availability | undefined;

/**
 * Whether /sys/fs/bpf is a bpffs; mounts it when it is not and we are root. A fresh machine may
 * boot without it (systemd mounts it; a bare VM's init may not), and the tests that pin must not
 * depend on which test happened to run first. The answer is cached per process.
 */
export function ensureBpffs(): Availability {
  if (state?.ok) return state;
  try {
    if (isBpffsMounted()) return (state = { ok: true });
    if (process.getuid?.() !== 0) return (state = { ok: false, reason: 'no bpffs at /sys/fs/bpf and not root to mount it' });
    execFileSync('mount', ['-t', 'bpf', 'bpf', '/sys/fs/bpf'], { stdio: 'pipe' });
    state = isBpffsMounted() ? { ok: true } : { ok: false, reason: 'mount -t bpf did not mount /sys/fs/bpf' };
  } catch (err) {
    // Two test processes may race to mount: the loser's mount fails with EBUSY, yet bpffs is there.
    state = isBpffsMounted() ? { ok: true } : { ok: false, reason: `no bpffs at /sys/fs/bpf and mounting failed: ${(err as Error).message}` };
  }
  return state;
}

/** What iproute2's object loader (`ip link ... obj`, `tc filter ... bpf obj`) makes in bpffs for its pinned maps. */
const IPROUTE2_DIRS = ['/sys/fs/bpf/ip', '/sys/fs/bpf/xdp', '/sys/fs/bpf/tc'];

/**
 * Runs `fn`, which loads objects with ip or tc, then removes the bpffs entries iproute2 created
 * for it (`tc/globals` and the `ip`, `xdp` links to it) unless they were there before.
 */
export async function withIproute2Pins<T>(fn: () => Promise<T> | T): Promise<T> {
  const before = new Set(IPROUTE2_DIRS.filter((p) => existsSync(p) || isSymlink(p)));
  try {
    return await fn();
  } finally {
    for (const p of IPROUTE2_DIRS) if (!before.has(p)) rmSync(p, { recursive: true, force: true });
  }
}

function isSymlink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
