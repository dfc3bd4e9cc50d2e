// Clock values in test-run output and map contents: equal when each side's value is the same offset from its own runs' time.
//
// bpf_ktime_get_ns / _boot_ns / _coarse_ns read CLOCK_MONOTONIC / BOOTTIME / MONOTONIC_COARSE,
// which no one can pin for the kernel's BPF_PROG_TEST_RUN. So a program that stores the time
// (in the packet, in a map) cannot give byte-equal results. The harness gives bpfkit's runtime
// the host's own clocks (`clock` of loadUserspace: CLOCK_MONOTONIC via process.hrtime, boot time
// from /proc/uptime's offset) and records, on each side, the monotonic window [lo, hi] its runs
// took. A stored `now + d` then lies in [lo + d, hi + d] on both sides, so two outputs count as
// equal up to clock values when every run of differing bytes lies inside one 8-byte field
// (little- or big-endian u64) whose values, minus their own side's `lo`, differ by at most the
// wider window plus EPSILON_NS (the coarse clock's tick, the boot offset's 10 ms resolution), and
// are times within MAX_DELTA_NS of the runs (not an arbitrary number). Anything else — a delta
// between two reads that differs, a time far from the runs — stays a difference.
import { readFileSync } from 'node:fs';

/** A span of CLOCK_MONOTONIC time, ns. */
export interface ClockWindow {
  readonly lo: bigint;
  readonly hi: bigint;
}

/** Clock resolution and boot-offset error tolerated beyond the windows' widths. */
export const EPSILON_NS = 20_000_000n;
/** How far from its runs a stored time may be (`now + d`: |d| at most this). */
export const MAX_DELTA_NS = 3_600_000_000_000n;

const monotonic = (): bigint => process.hrtime.bigint();

/** CLOCK_BOOTTIME - CLOCK_MONOTONIC (time spent suspended), to /proc/uptime's 10 ms. */
function bootOffset(): bigint {
  try {
    const before = monotonic();
    const uptime = readFileSync('/proc/uptime', 'utf8').split(' ')[0]!;
    const [s, frac = '0'] = uptime.split('.');
    const boot = BigInt(s!) * 1_000_000_000n + BigInt(frac.padEnd(9, '0').slice(0, 9));
    const off = boot - before;
    return off > 0n ? off : 0n;
  } catch {
    return 0n;
  }
}

const BOOT_OFFSET = bootOffset();

/** The host's clocks, for loadUserspace's `clock` option. */
export const hostClock = {
  monotonic,
  boot: (): bigint => monotonic() + BOOT_OFFSET,
};

/** Runs `fn` and returns its result with the monotonic window it took. */
export function timed<T>(fn: () => T): { value: T; window: ClockWindow } {
  const lo = monotonic();
  const value = fn();
  return { value, window: { lo, hi: monotonic() } };
}

/** Whether `v` is a time (monotonic or boot) within MAX_DELTA_NS of window `w`. */
function nearRuns(v: bigint, w: ClockWindow): boolean {
  for (const base of [w.lo, w.lo + BOOT_OFFSET]) if (v - base >= -MAX_DELTA_NS && v - base <= MAX_DELTA_NS) return true;
  return false;
}

/** Whether kernel value `kv` and bpfkit value `uv` are the same `now + d` of their own windows. */
function sameTime(kv: bigint, uv: bigint, kw: ClockWindow, uw: ClockWindow): boolean {
  if (!nearRuns(kv, kw) || !nearRuns(uv, uw)) return false;
  const width = (kw.hi - kw.lo > uw.hi - uw.lo ? kw.hi - kw.lo : uw.hi - uw.lo) + EPSILON_NS;
  const gap = kv - kw.lo - (uv - uw.lo);
  return gap <= width && -gap <= width;
}

function u64(b: Uint8Array, at: number, little: boolean): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(at, little);
}

/**
 * Whether `kernel` and `user` (same length) differ only in 8-byte fields holding the same
 * `now + d` of their own side's window (see the file comment). False when they are byte-equal too: the
 * caller counts those as plainly equal.
 */
export function equalUpToClock(kernel: Uint8Array, user: Uint8Array, kw: ClockWindow, uw: ClockWindow): boolean {
  if (kernel.length !== user.length) return false;
  let found = false;
  for (let i = 0; i < kernel.length; ) {
    if (kernel[i] === user[i]) {
      i++;
      continue;
    }
    // The field holding byte i: 8 bytes starting at most 7 before it (adjacent times: one after another).
    let next = -1;
    for (let at = Math.max(0, i - 7); at <= i && at + 8 <= kernel.length && next < 0; at++) {
      for (const little of [true, false]) {
        if (sameTime(u64(kernel, at, little), u64(user, at, little), kw, uw)) {
          next = at + 8;
          break;
        }
      }
    }
    if (next < 0) return false;
    found = true;
    i = next;
  }
  return found;
}

/** Hex strings (as map snapshots hold values) compared with {@link equalUpToClock}. */
export function hexEqualUpToClock(kernel: string, user: string, kw: ClockWindow, uw: ClockWindow): boolean {
  return equalUpToClock(Buffer.from(kernel, 'hex'), Buffer.from(user, 'hex'), kw, uw);
}
