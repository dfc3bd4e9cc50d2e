// perf events a BPF program attaches to: tracepoints (by tracefs id), kprobes (PMU or legacy tracefs), through Sys.perfEventOpen.
//
// `struct perf_event_attr` (include/uapi/linux/perf_event.h), the fields used here:
//   0 type u32 | 4 size u32 | 8 config u64 | 16 sample_period u64 | 24 sample_type u64
//   32 read_format u64 | 40 flag bits u64 | 48 wakeup_events u32 | 52 bp_type u32
//   56 config1 u64 (kprobe_func: pointer to the function name) | 64 config2 u64 (probe_offset)
import { NotSupportedError } from '../../errors.js';
import { Fd } from '../fd.js';
import { isErrno, KernelError } from '../kernel-error.js';
import type { PointerField, Sys } from '../sys.js';
import { FunctionNotFoundError, TracefsNotMountedError, TracepointNotFoundError } from './tracing-errors.js';

/** PERF_ATTR_SIZE_VER5: every field set here. */
export const PERF_ATTR_SIZE = 112;
/** `enum perf_type_id`: PERF_TYPE_TRACEPOINT. */
export const PERF_TYPE_TRACEPOINT = 2;
/** `enum perf_type_id`: PERF_TYPE_SOFTWARE. */
export const PERF_TYPE_SOFTWARE = 1;
/** `enum perf_type_id`: PERF_TYPE_HARDWARE. */
export const PERF_TYPE_HARDWARE = 0;
const PERF_FLAG_FD_CLOEXEC = 8;
/** Where tracefs may be mounted, in libbpf's order. */
export const TRACEFS_DIRS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'] as const;
/** Where the kprobe PMU publishes its type number. */
export const KPROBE_PMU_TYPE = '/sys/bus/event_source/devices/kprobe/type';
const KPROBE_PMU_RETPROBE = '/sys/bus/event_source/devices/kprobe/format/retprobe';

/** Fields of a perf_event_attr. */
export interface PerfAttrFields {
  type: number;
  config: bigint;
  samplePeriod?: bigint;
  /** freq bit (flags bit 10): sample_period is a frequency. */
  freq?: boolean;
  config2?: bigint;
}

/** Builds a `struct perf_event_attr` (size {@link PERF_ATTR_SIZE}). */
export function perfEventAttr(f: PerfAttrFields): Uint8Array {
  const a = new Uint8Array(PERF_ATTR_SIZE);
  const v = new DataView(a.buffer);
  v.setUint32(0, f.type, true);
  v.setUint32(4, PERF_ATTR_SIZE, true);
  v.setBigUint64(8, f.config, true);
  v.setBigUint64(16, f.samplePeriod ?? 1n, true);
  if (f.freq) v.setBigUint64(40, 1n << 10n, true);
  v.setUint32(48, 1, true); // wakeup_events
  if (f.config2 !== undefined) v.setBigUint64(64, f.config2, true);
  return a;
}

/** Opens a perf event (pid -1 = every process, on `cpu`), as a closable fd. */
export function openPerfEvent(sys: Sys, attr: Uint8Array, cpu: number, pointers?: readonly PointerField[], pid = -1): Fd<'other'> {
  const open = sys.perfEventOpen?.bind(sys);
  if (!open) throw new NotSupportedError('perf_event_open through this Sys');
  return new Fd(sys, open(attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC, pointers), 'other');
}

/** The mounted tracefs directory (one whose `events` can be listed), or throws {@link TracefsNotMountedError}. */
export function tracefsDir(sys: Sys): string {
  for (const dir of TRACEFS_DIRS) {
    try {
      if (sys.listDir(`${dir}/events`).length > 0) return dir;
    } catch {
      // not mounted there
    }
  }
  throw new TracefsNotMountedError(TRACEFS_DIRS.map((d) => `${d}/events`));
}

/** Splits `skb:kfree_skb` or `skb/kfree_skb` into category and name. */
export function parseTracepoint(text: string): { category: string; name: string } {
  const m = /^([A-Za-z0-9_.-]+)[:/]([A-Za-z0-9_.-]+)$/.exec(text);
  if (!m) throw new TracepointNotFoundError(text, 'CATEGORY:NAME form');
  return { category: m[1] as string, name: m[2] as string };
}

/** The id of tracepoint `category:name`, read from tracefs `events/<category>/<name>/id`. */
export function tracepointId(sys: Sys, category: string, name: string): number {
  const dir = tracefsDir(sys);
  const path = `${dir}/events/${category}/${name}/id`;
  let text: string;
  try {
    text = new TextDecoder().decode(sys.readFile(path));
  } catch (err) {
    throw new TracepointNotFoundError(`${category}:${name}`, `${dir}/events`, { cause: err });
  }
  const id = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(id) || id <= 0) throw new TracepointNotFoundError(`${category}:${name}`, path);
  return id;
}

/** Opens the perf event of tracepoint `category:name` (every process, CPU 0, as libbpf does). */
export function openTracepointEvent(sys: Sys, category: string, name: string): Fd<'other'> {
  const id = tracepointId(sys, category, name);
  return openPerfEvent(sys, perfEventAttr({ type: PERF_TYPE_TRACEPOINT, config: BigInt(id) }), 0);
}

const readText = (sys: Sys, path: string): string | undefined => {
  try {
    return new TextDecoder().decode(sys.readFile(path)).trim();
  } catch {
    return undefined;
  }
};

/** What a kprobe event needs. */
export interface KprobeTarget {
  /** Kernel function. */
  func: string;
  /** Byte offset into it (0: the entry). */
  offset?: number;
  /** A kretprobe (on return) instead of a kprobe. */
  retprobe?: boolean;
}

/** A kprobe perf event and how to remove what was created for it (the legacy tracefs event). */
export interface KprobeEvent {
  readonly fd: Fd<'other'>;
  /** `'pmu'` (perf_event_open on the kprobe PMU) or `'legacy'` (a tracefs kprobe_events entry). */
  readonly via: 'pmu' | 'legacy';
  /** Removes the legacy tracefs event (nothing for the PMU). */
  cleanup(): void;
}

/**
 * Creates a kprobe/kretprobe perf event: on the `kprobe` PMU (config1 = the function name,
 * config2 = the offset, config bit `retprobe`), else through tracefs `kprobe_events`
 * (`p:bpfkit/<name> FUNC+OFF` / `r:...`, then the tracepoint id). A kernel with neither is a
 * {@link NotSupportedError} naming both; an unknown function is {@link FunctionNotFoundError}.
 */
export function openKprobeEvent(sys: Sys, target: KprobeTarget): KprobeEvent {
  const pmuType = readText(sys, KPROBE_PMU_TYPE);
  if (pmuType !== undefined) {
    let config = 0n;
    if (target.retprobe) {
      const bit = /config:(\d+)/.exec(readText(sys, KPROBE_PMU_RETPROBE) ?? '')?.[1];
      config = 1n << BigInt(bit ?? 0);
    }
    const attr = perfEventAttr({ type: Number(pmuType), config, config2: BigInt(target.offset ?? 0) });
    const name = new TextEncoder().encode(`${target.func}\0`);
    try {
      return { fd: openPerfEvent(sys, attr, 0, [{ offset: 56, target: name }]), via: 'pmu', cleanup: () => undefined };
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'EINVAL')) throw new FunctionNotFoundError(target.func, 'the kernel\'s kprobe-able functions');
      throw err;
    }
  }
  let dir: string | undefined;
  try {
    dir = tracefsDir(sys);
  } catch {
    dir = undefined;
  }
  if (dir === undefined || readText(sys, `${dir}/kprobe_events`) === undefined) {
    throw new NotSupportedError(
      target.retprobe ? 'kretprobes' : 'kprobes',
      undefined,
      `this kernel has neither the kprobe PMU (${KPROBE_PMU_TYPE}) nor tracefs kprobe_events` +
        `${dir ? ` (${dir}/kprobe_events)` : ' (tracefs not mounted)'}: it was built without CONFIG_KPROBES / CONFIG_KPROBE_EVENTS`,
    );
  }
  const event = `bpfkit_${sys.getpid()}_${target.func.replace(/[^A-Za-z0-9_]/g, '_')}_${target.offset ?? 0}${target.retprobe ? '_ret' : ''}`;
  const spec = `${target.retprobe ? 'r' : 'p'}:bpfkit/${event} ${target.func}${target.offset ? `+${target.offset}` : ''}\n`;
  const eventsFile = `${dir}/kprobe_events`;
  const append = sys.appendFile?.bind(sys);
  if (!append) throw new NotSupportedError('appending to tracefs kprobe_events through this Sys');
  try {
    append(eventsFile, new TextEncoder().encode(spec));
  } catch (err) {
    if (err instanceof KernelError && (err.errnoName === 'ENOENT' || err.errnoName === 'EINVAL')) throw new FunctionNotFoundError(target.func, eventsFile);
    throw err;
  }
  const cleanup = (): void => {
    try {
      append(eventsFile, new TextEncoder().encode(`-:bpfkit/${event}\n`));
    } catch {
      // already gone
    }
  };
  try {
    return { fd: openTracepointEvent(sys, 'bpfkit', event), via: 'legacy', cleanup };
  } catch (err) {
    cleanup();
    throw err;
  }
}
