// Attaching tracing programs as bpf_links: tracepoints, raw tracepoints, kprobes (perf and multi), fentry/fexit, perf events.
import { BpfkitError, NotSupportedError } from '../../errors.js';
import type { StructLayout } from '../layout.js';
import { AttachType, BpfCmd, ProgType } from '../bpf/constants.js';
import { createLink, detachLink } from '../bpf/link.js';
import { linkInfo, programInfo } from '../bpf/obj-info.js';
import { pinObject } from '../bpf/obj-pin.js';
import { Fd } from '../fd.js';
import { isErrno, KernelError } from '../kernel-error.js';
import { StructWriter } from '../struct-codec.js';
import type { Sys } from '../sys.js';
import { programTypeName } from '../../isa/program-types.js';
import { WrongProgramTypeError } from './errors.js';
import { openKprobeEvent, openTracepointEvent, parseTracepoint, type KprobeTarget } from './perf-event.js';
import { FunctionNotFoundError, TracepointNotFoundError, TracingRefusedError } from './tracing-errors.js';

/**
 * `attr.raw_tracepoint` of BPF_RAW_TRACEPOINT_OPEN (include/uapi/linux/bpf.h): name (u64 pointer),
 * prog_fd (u32), then cookie (u64, 6.10). Not in the generated layouts, so written out here.
 */
const RAW_TP_OPEN_ATTR = {
  size: 24,
  fields: {
    name: { offset: 0, size: 8 },
    prog_fd: { offset: 8, size: 4 },
    cookie: { offset: 16, size: 8 },
  },
} as const satisfies StructLayout;

/** What a {@link TracingLink} attaches to, for messages and listings. */
export type TracingTarget =
  | { readonly kind: 'tracepoint'; readonly tracepoint: string }
  | { readonly kind: 'raw_tp'; readonly tracepoint: string }
  | { readonly kind: 'kprobe' | 'kretprobe'; readonly func: string; readonly via: 'pmu' | 'legacy' }
  | { readonly kind: 'kprobe_multi' | 'kretprobe_multi'; readonly funcs: readonly string[] }
  | { readonly kind: 'fentry' | 'fexit' | 'fmod_ret' | 'freplace'; readonly func: string }
  | { readonly kind: 'perf_event'; readonly cpu: number }
  | { readonly kind: 'cgroup'; readonly path: string; readonly attachType: number };

/**
 * A program attached through a bpf_link (any tracing or cgroup hook). The link lives as long as
 * its fd or a pin: `close()` / `using` ends it unless pinned, `detach()` ends it even when
 * pinned, `release()` forgets it (it stays only if pinned). `pin(path)` keeps it past the process.
 */
export class TracingLink implements Disposable {
  /** The link fd. */
  readonly link: Fd<'link'>;
  /** What it is attached to. */
  readonly target: TracingTarget;
  /** Id of the attached program. */
  readonly progId: number;
  readonly #cleanup: (() => void) | undefined;
  #pinned = false;
  #done = false;

  /** Built by the attach functions of this module. */
  constructor(link: Fd<'link'>, target: TracingTarget, progId: number, cleanup?: () => void) {
    this.link = link;
    this.target = target;
    this.progId = progId;
    this.#cleanup = cleanup;
  }

  /** The link's id. */
  get linkId(): number {
    return linkInfo(this.link).id;
  }

  /** Pins the link at `path` in a bpffs, so the attachment outlives this process. */
  pin(path: string): void {
    pinObject(this.link, path);
    this.#pinned = true;
  }

  /** Detaches now, pinned or not, then closes. */
  detach(): void {
    if (this.#done) return;
    try {
      detachLink(this.link);
    } catch (err) {
      // Links of kinds without a detach operation (raw_tp before 6.x) end when closed.
      if (!(err instanceof KernelError && (err.errnoName === 'EOPNOTSUPP' || err.errnoName === 'EINVAL'))) throw err;
    } finally {
      this.#finish(true);
    }
  }

  /** Closes the link fd: the attachment ends unless pinned. */
  close(): void {
    this.#finish(!this.#pinned);
  }

  /** Closes the fd without detaching (the attachment stays only if pinned), keeping any tracefs event. */
  release(): void {
    this.#finish(false);
  }

  #finish(cleanup: boolean): void {
    if (this.#done) return;
    this.#done = true;
    this.link.close();
    if (cleanup) this.#cleanup?.();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function checkType(prog: Fd<'prog'>, hook: string, types: readonly number[]): number {
  const info = programInfo(prog);
  if (!types.includes(info.type)) throw new WrongProgramTypeError(info.id, programTypeName(info.type), hook, types.map(programTypeName));
  return info.id;
}

function perfLink(sys: Sys, prog: Fd<'prog'>, event: Fd<'other'>, cookie?: bigint): Fd<'link'> {
  return createLink(sys, {
    prog,
    attachType: AttachType.PERF_EVENT,
    targetFd: event,
    ...(cookie ? { extra: (a) => a.u64('perf_event.bpf_cookie', cookie) } : {}),
  });
}

/** Options shared by the attach functions. */
export interface TracingAttachOptions {
  /** BPF cookie the program reads with bpf_get_attach_cookie. */
  cookie?: bigint;
}

/**
 * Attaches a tracepoint program (BPF_PROG_TYPE_TRACEPOINT) to `tracepoint` (`'skb:kfree_skb'`):
 * perf_event_open on the tracefs id, then a BPF_LINK_CREATE perf link (the link holds the
 * event; its fd is closed here). Unknown tracepoints are {@link TracepointNotFoundError}.
 */
export function attachTracepoint(sys: Sys, prog: Fd<'prog'>, tracepoint: string, options: TracingAttachOptions = {}): TracingLink {
  const progId = checkType(prog, `tracepoint ${tracepoint}`, [ProgType.TRACEPOINT]);
  const { category, name } = parseTracepoint(tracepoint);
  using event = openTracepointEvent(sys, category, name);
  const link = perfLink(sys, prog, event, options.cookie);
  return new TracingLink(link, { kind: 'tracepoint', tracepoint: `${category}:${name}` }, progId);
}

/**
 * Attaches a raw tracepoint program (BPF_PROG_TYPE_RAW_TRACEPOINT, or _WRITABLE) to the raw
 * tracepoint `name` (`'kfree_skb'`) with BPF_RAW_TRACEPOINT_OPEN, which returns a link fd.
 */
export function attachRawTracepoint(sys: Sys, prog: Fd<'prog'>, name: string, options: TracingAttachOptions = {}): TracingLink {
  const progId = checkType(prog, `raw tracepoint ${name}`, [ProgType.RAW_TRACEPOINT, ProgType.RAW_TRACEPOINT_WRITABLE]);
  const bare = name.includes(':') ? (name.split(':')[1] as string) : name;
  const attr = new StructWriter(RAW_TP_OPEN_ATTR).ptr('name', new TextEncoder().encode(`${bare}\0`)).u32('prog_fd', prog.raw);
  if (options.cookie) attr.u64('cookie', options.cookie);
  let raw: number;
  try {
    raw = sys.bpf(BpfCmd.RAW_TRACEPOINT_OPEN, attr.bytes, attr.pointers);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new TracepointNotFoundError(bare, 'the kernel\'s raw tracepoints (BPF_RAW_TRACEPOINT_OPEN)', { cause: err });
    throw err;
  }
  return new TracingLink(new Fd(sys, raw, 'link'), { kind: 'raw_tp', tracepoint: bare }, progId);
}

/**
 * Attaches a kprobe program (BPF_PROG_TYPE_KPROBE) to a kernel function through a kprobe perf
 * event ({@link openKprobeEvent}: the PMU, else legacy tracefs) and a perf link. A kernel without
 * kprobes is a {@link NotSupportedError} naming what is missing.
 */
export function attachKprobe(sys: Sys, prog: Fd<'prog'>, target: KprobeTarget, options: TracingAttachOptions = {}): TracingLink {
  const progId = checkType(prog, `kprobe ${target.func}`, [ProgType.KPROBE]);
  const event = openKprobeEvent(sys, target);
  try {
    const link = perfLink(sys, prog, event.fd, options.cookie);
    return new TracingLink(link, { kind: target.retprobe ? 'kretprobe' : 'kprobe', func: target.func, via: event.via }, progId, event.cleanup);
  } catch (err) {
    event.cleanup();
    throw err;
  } finally {
    event.fd.close();
  }
}

const KPROBE_MULTI_RETURN = 1;

/**
 * Attaches a kprobe program loaded with expected attach type BPF_TRACE_KPROBE_MULTI to many
 * functions at once (BPF_LINK_CREATE kprobe_multi, by symbol names). Kernels without fprobe
 * (no kprobes at all here) refuse it: {@link NotSupportedError}.
 */
export function attachKprobeMulti(sys: Sys, prog: Fd<'prog'>, funcs: readonly string[], options: { retprobe?: boolean } = {}): TracingLink {
  const progId = checkType(prog, `kprobe_multi ${funcs.join(',')}`, [ProgType.KPROBE]);
  if (funcs.length === 0) throw new BpfkitError('ERR_INVALID_ARGUMENT', 'kprobe_multi needs at least one function');
  // syms: an array of pointers to NUL-terminated names.
  const table = new Uint8Array(8 * funcs.length);
  const names = funcs.map((f, i) => ({ offset: i * 8, target: new TextEncoder().encode(`${f}\0`) }));
  let link: Fd<'link'>;
  try {
    link = createLink(sys, {
      prog,
      attachType: AttachType.TRACE_KPROBE_MULTI,
      extra: (a) => a.u32('kprobe_multi.flags', options.retprobe ? KPROBE_MULTI_RETURN : 0).u32('kprobe_multi.cnt', funcs.length).ptr('kprobe_multi.syms', table, 'in', names),
    });
  } catch (err) {
    if (err instanceof KernelError && (err.errnoName === 'EOPNOTSUPP' || err.errnoName === 'ENOTSUPP')) {
      throw new NotSupportedError('kprobe_multi links', '5.18', `the kernel refused (${err.errnoName}): it has no fprobe/kprobes (CONFIG_FPROBE, CONFIG_KPROBES)`, { cause: err });
    }
    if (isErrno(err, 'ESRCH') || isErrno(err, 'ENOENT')) throw new FunctionNotFoundError(funcs.join(', '), '/proc/kallsyms (kprobe_multi)');
    throw err;
  }
  return new TracingLink(link, { kind: options.retprobe ? 'kretprobe_multi' : 'kprobe_multi', funcs: [...funcs] }, progId);
}

const TRACING_KIND: Record<number, 'fentry' | 'fexit' | 'fmod_ret'> = {
  [AttachType.TRACE_FENTRY]: 'fentry',
  [AttachType.TRACE_FEXIT]: 'fexit',
  [AttachType.MODIFY_RETURN]: 'fmod_ret',
};

/** The fentry/fexit/fmod_ret kind of an expected attach type, or undefined. */
export function tracingKind(attachType: number): 'fentry' | 'fexit' | 'fmod_ret' | undefined {
  return TRACING_KIND[attachType];
}

/**
 * Attaches a loaded tracing program (fentry/fexit/fmod_ret: its target was fixed at load by
 * attach_btf_id) with BPF_LINK_CREATE, or a freplace program onto `targetProg`. A refusal with
 * EPERM is a {@link TracingRefusedError}, never a fallback.
 */
export function attachTracing(sys: Sys, prog: Fd<'prog'>, kind: 'fentry' | 'fexit' | 'fmod_ret' | 'freplace', func: string, targetProg?: Fd<'prog'>): TracingLink {
  const progId = checkType(prog, `${kind} ${func}`, kind === 'freplace' ? [ProgType.EXT] : [ProgType.TRACING]);
  const attachType = kind === 'fentry' ? AttachType.TRACE_FENTRY : kind === 'fexit' ? AttachType.TRACE_FEXIT : kind === 'fmod_ret' ? AttachType.MODIFY_RETURN : 0;
  let link: Fd<'link'>;
  try {
    link = createLink(sys, { prog, attachType, ...(targetProg ? { targetFd: targetProg } : {}) });
  } catch (err) {
    if (isErrno(err, 'EPERM') || isErrno(err, 'EACCES')) throw tracingRefused(kind, func, err);
    throw err;
  }
  return new TracingLink(link, { kind, func }, progId);
}

/** The typed error of a tracing program the kernel refused with EPERM (load or attach). */
export function tracingRefused(kind: string, func: string, err: KernelError): TracingRefusedError {
  const asRoot = typeof process !== 'undefined' && typeof process.geteuid === 'function' && process.geteuid() === 0;
  return new TracingRefusedError(kind, func, err.errnoName, asRoot, { cause: err });
}

/**
 * Attaches a perf_event program (BPF_PROG_TYPE_PERF_EVENT) to a sampling event on `cpu`
 * (a software cpu-clock at `frequency` Hz by default) through a perf link.
 */
export function attachPerfEvent(sys: Sys, prog: Fd<'prog'>, event: Fd<'other'>, cpu: number): TracingLink {
  const progId = checkType(prog, 'perf event', [ProgType.PERF_EVENT]);
  const link = perfLink(sys, prog, event);
  return new TracingLink(link, { kind: 'perf_event', cpu }, progId);
}
