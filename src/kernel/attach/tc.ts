// TC attach: TCX links (BPF_TCX_INGRESS/EGRESS, ordered with before/after anchors) and classic clsact + cls_bpf.
import { BpfkitError, NotSupportedError } from '../../errors.js';
import { PROG_QUERY_ATTR } from '../bpf-attr.generated.js';
import { programTypeName } from '../../isa/program-types.js';
import { AttachType, BpfCmd, ProgType } from '../bpf/constants.js';
import { createLink, detachLink } from '../bpf/link.js';
import { fdById } from '../bpf/obj-id.js';
import { linkInfo, programInfo } from '../bpf/obj-info.js';
import { pinObject } from '../bpf/obj-pin.js';
import { adoptFd, type Fd } from '../fd.js';
import { haveFeature, isUnsupportedErrno } from '../feature-probe.js';
import { KernelError } from '../kernel-error.js';
import { NetlinkError } from '../netlink/netlink-error.js';
import { addBpfFilter, addClsact, deleteBpfFilter, listBpfFilters, type BpfFilterId, type TcDirection } from '../netlink/rtnetlink-tc.js';
import { openRtnetlink } from '../netlink/rtnetlink.js';
import { StructReader, StructWriter } from '../struct-codec.js';
import type { Sys } from '../sys.js';
import { AttachFlags } from './constants.js';
import { tcxFeature } from './features.js';
import { progAttach, progDetach } from './prog-attach.js';
import { AlreadyAttachedError, WrongProgramTypeError } from './errors.js';
import { resolveInterface, type InterfaceRef } from './interface.js';

export type { TcDirection } from '../netlink/rtnetlink-tc.js';

/**
 * Where a TCX program goes in the hook's list: first / last, or before / after a program or
 * link (by fd or id). Default: last.
 */
export type TcxAnchor =
  | 'first'
  | 'last'
  | { readonly before: TcxRelative }
  | { readonly after: TcxRelative };

/** The program or link a TCX anchor is relative to. */
export type TcxRelative = { readonly prog: Fd<'prog'> } | { readonly progId: number } | { readonly link: Fd<'link'> } | { readonly linkId: number };

/** Options of {@link attachTc}. */
export interface TcAttachOptions {
  /** The hook: ingress or egress. */
  direction: TcDirection;
  /** Classic clsact qdisc + cls_bpf filter (direct-action) instead of a TCX link. */
  classic?: boolean;
  /** TCX: position in the hook's program list. */
  anchor?: TcxAnchor;
  /** TCX: fail with ESTALE unless the hook's revision is this one (from {@link queryTcx}). */
  expectedRevision?: bigint;
  /**
   * TCX: `false` attaches with BPF_PROG_ATTACH instead of a link — no fd to keep or pin, the
   * program stays until detached (what `bpftool net attach tcx_ingress` does). Default true.
   */
  link?: boolean;
  /** Classic: filter priority (default 1). */
  priority?: number;
  /** Classic: filter handle (default 1). */
  handle?: number;
  /** Classic: replace a filter at the same priority/handle instead of failing. */
  replace?: boolean;
  /** Classic: the filter name `tc filter show` prints (default: the program's name). */
  name?: string;
}

/**
 * A program attached to a TC hook: a TCX link, or a cls_bpf filter on the clsact qdisc.
 * `close()` / `using`: closes the link (detaching it unless pinned), or deletes the filter.
 */
export class TcAttachment implements Disposable {
  readonly ifindex: number;
  readonly ifname: string;
  readonly direction: TcDirection;
  readonly progId: number;
  /** `'tcx'` (a link) or `'clsact'` (a cls_bpf filter). */
  readonly via: 'tcx' | 'clsact';
  /** The TCX link fd. */
  readonly link: Fd<'link'> | undefined;
  /** The cls_bpf filter's place (priority, handle). */
  readonly filter: BpfFilterId | undefined;
  /** True for a TCX attachment made without a link (BPF_PROG_ATTACH). */
  readonly linkless: boolean;
  readonly #sys: Sys;
  #done = false;

  /** Built by {@link attachTc}. */
  constructor(sys: Sys, fields: { ifindex: number; ifname: string; direction: TcDirection; progId: number; link?: Fd<'link'>; filter?: BpfFilterId; linkless?: boolean }) {
    this.#sys = sys;
    this.ifindex = fields.ifindex;
    this.ifname = fields.ifname;
    this.direction = fields.direction;
    this.progId = fields.progId;
    this.link = fields.link;
    this.filter = fields.filter;
    this.linkless = fields.linkless === true;
    this.via = fields.link || this.linkless ? 'tcx' : 'clsact';
  }

  /** TCX link id. */
  get linkId(): number | undefined {
    return this.link && !this.link.closed ? linkInfo(this.link).id : undefined;
  }

  /** Pins the TCX link at `path` (bpffs), so it outlives this process. Filters cannot be pinned (they stay until deleted). */
  pin(path: string): void {
    if (!this.link) throw new BpfkitError('ERR_NOT_A_LINK', `tc ${this.direction} on ${this.ifname} is ${this.linkless ? 'a TCX attachment without a link' : 'a cls_bpf filter'}, not a bpf_link: nothing to pin (it stays until detached)`);
    pinObject(this.link, path);
  }

  /** Detaches now (a TCX link even if pinned; the filter is deleted). */
  detach(): void {
    if (this.#done) return;
    this.#done = true;
    if (this.link) {
      try {
        detachLink(this.link);
      } finally {
        this.link.close();
      }
      return;
    }
    if (this.linkless) {
      detachTc(this.#sys, this.ifindex, { direction: this.direction, via: 'tcx', progId: this.progId });
      return;
    }
    if (this.filter) {
      using sock = openRtnetlink(this.#sys);
      const still = listBpfFilters(sock, this.ifindex, this.direction).some((f) => f.priority === this.filter?.priority && f.handle === this.filter.handle && f.progId === this.progId);
      if (still) deleteBpfFilter(sock, this.filter);
    }
  }

  /** Ends it: closes the link (detaching unless pinned) or deletes the filter. */
  close(): void {
    if (this.#done) return;
    if (this.link) {
      this.#done = true;
      this.link.close();
    } else this.detach();
  }

  /** Forgets it without detaching (a filter stays; a link stays only if pinned). */
  release(): void {
    this.#done = true;
    this.link?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** A refused TCX attach: NotSupportedError when the kernel has no TCX at all, else the error with context. */
function tcxFailure(sys: Sys, op: string, err: unknown): unknown {
  if (isUnsupportedErrno(err) && !haveFeature(sys, tcxFeature)) {
    return new NotSupportedError(tcxFeature.name, tcxFeature.minKernel, 'attach with classic: true (clsact + cls_bpf) instead', { cause: err });
  }
  return err instanceof BpfkitError ? err.withContext(`${op} (tcx)`) : err;
}

const TCX_ATTACH: Readonly<Record<TcDirection, number>> = { ingress: AttachType.TCX_INGRESS, egress: AttachType.TCX_EGRESS };

function anchorFields(anchor: TcxAnchor | undefined): { flags: number; relative: number } {
  if (anchor === undefined || anchor === 'last') return { flags: AttachFlags.AFTER, relative: 0 };
  if (anchor === 'first') return { flags: AttachFlags.BEFORE, relative: 0 };
  const [flags, rel] = 'before' in anchor ? [AttachFlags.BEFORE, anchor.before] : [AttachFlags.AFTER, anchor.after];
  if ('prog' in rel) return { flags, relative: rel.prog.raw };
  if ('progId' in rel) return { flags: flags | AttachFlags.ID, relative: rel.progId };
  if ('link' in rel) return { flags: flags | AttachFlags.LINK, relative: rel.link.raw };
  return { flags: flags | AttachFlags.ID | AttachFlags.LINK, relative: rel.linkId };
}

/**
 * Attaches `prog` (a SCHED_CLS program) to `iface`'s TC `direction` hook: a TCX link by
 * default (kernel >= 6.6), or with `classic: true` a direct-action cls_bpf filter on the
 * clsact qdisc (created if missing). Same program twice on one TCX hook, or a filter at a taken
 * priority/handle, throws {@link AlreadyAttachedError}.
 */
export function attachTc(sys: Sys, prog: Fd<'prog'>, iface: InterfaceRef, options: TcAttachOptions): TcAttachment {
  using sock = openRtnetlink(sys);
  const dev = resolveInterface(sock, iface);
  const info = programInfo(prog);
  const takes: readonly number[] = options.classic ? [ProgType.SCHED_CLS, ProgType.SCHED_ACT] : [ProgType.SCHED_CLS];
  if (!takes.includes(info.type)) throw new WrongProgramTypeError(info.id, programTypeName(info.type), options.classic ? 'a cls_bpf filter' : 'TCX', takes.map(programTypeName));
  const op = `attach tc ${options.direction} to ${dev.name}`;
  if (!options.classic) {
    const { flags, relative } = anchorFields(options.anchor);
    if (options.link === false) {
      try {
        progAttach(sys, prog, { targetIfindex: dev.ifindex, attachType: TCX_ATTACH[options.direction], flags, relative, expectedRevision: options.expectedRevision });
      } catch (err) {
        if (err instanceof KernelError && err.errnoName === 'EEXIST') {
          throw new AlreadyAttachedError(`${op} (tcx)`, err.errno, dev.name, { progId: info.id, via: 'prog-attach' }, 'this program is already attached to the hook', { cause: err });
        }
        throw tcxFailure(sys, op, err);
      }
      return new TcAttachment(sys, { ifindex: dev.ifindex, ifname: dev.name, direction: options.direction, progId: info.id, linkless: true });
    }
    let link: Fd<'link'>;
    try {
      link = createLink(sys, {
        prog,
        attachType: TCX_ATTACH[options.direction],
        targetIfindex: dev.ifindex,
        flags,
        extra: (attr) => {
          if (relative) attr.u32('tcx.relative_fd', relative);
          if (options.expectedRevision !== undefined) attr.u64('tcx.expected_revision', options.expectedRevision);
        },
      });
    } catch (err) {
      if (err instanceof KernelError && err.errnoName === 'EEXIST') {
        throw new AlreadyAttachedError(`${op} (tcx)`, err.errno, dev.name, { progId: info.id, via: 'link' }, 'this program is already attached to the hook', { cause: err });
      }
      throw tcxFailure(sys, op, err);
    }
    return adoptFd(link, (l) => new TcAttachment(sys, { ifindex: dev.ifindex, ifname: dev.name, direction: options.direction, progId: info.id, link: l }));
  }
  addClsact(sock, dev.ifindex);
  let filter: BpfFilterId;
  try {
    filter = addBpfFilter(sock, {
      ifindex: dev.ifindex,
      direction: options.direction,
      progFd: prog.raw,
      name: options.name ?? info.name,
      priority: options.priority,
      handle: options.handle,
      replace: options.replace,
    });
  } catch (err) {
    if (err instanceof NetlinkError && err.errnoName === 'EEXIST') {
      const there = listBpfFilters(sock, dev.ifindex, options.direction).find((f) => f.priority === (options.priority ?? 1) && f.handle === (options.handle ?? 1));
      throw new AlreadyAttachedError(`${op} (clsact)`, err.errno, dev.name, there ? { progId: there.progId, via: 'netlink' } : undefined, err.extackMessage, { cause: err });
    }
    throw err instanceof BpfkitError ? err.withContext(`${op} (clsact)`) : err;
  }
  return new TcAttachment(sys, { ifindex: dev.ifindex, ifname: dev.name, direction: options.direction, progId: info.id, filter });
}

/** A TCX hook's programs in run order, with their links (0: attached without a link) and the hook revision. */
export interface TcxQuery {
  readonly progIds: readonly number[];
  readonly linkIds: readonly number[];
  readonly revision: bigint;
}

/** BPF_PROG_QUERY of a TCX hook: the programs in the order they run. */
export function queryTcx(sys: Sys, ifindex: number, direction: TcDirection): TcxQuery {
  for (let capacity = 16; ; capacity *= 4) {
    const progIds = new Uint8Array(capacity * 4);
    const linkIds = new Uint8Array(capacity * 4);
    const attr = new StructWriter(PROG_QUERY_ATTR)
      .u32('target_ifindex', ifindex)
      .u32('attach_type', TCX_ATTACH[direction])
      .u32('count', capacity)
      .ptr('prog_ids', progIds, 'out')
      .ptr('link_ids', linkIds, 'out');
    try {
      sys.bpf(BpfCmd.PROG_QUERY, attr.bytes, attr.pointers);
    } catch (err) {
      if (err instanceof KernelError && err.errnoName === 'ENOSPC' && capacity < 1 << 16) continue;
      throw err instanceof BpfkitError ? err.withContext(`query tcx ${direction} of ifindex ${ifindex}`) : err;
    }
    const r = new StructReader(PROG_QUERY_ATTR, attr.bytes);
    const count = Math.min(r.u32('count'), capacity);
    const pv = new DataView(progIds.buffer);
    const lv = new DataView(linkIds.buffer);
    return {
      progIds: Array.from({ length: count }, (_, i) => pv.getUint32(i * 4, true)),
      linkIds: Array.from({ length: count }, (_, i) => lv.getUint32(i * 4, true)),
      revision: r.u64('revision'),
    };
  }
}

/** One program on a TC hook, as {@link queryTc} reports it. */
export interface TcAttached {
  readonly ifindex: number;
  readonly ifname: string;
  readonly direction: TcDirection;
  readonly via: 'tcx' | 'clsact';
  readonly progId: number;
  /** TCX: the link id (0 if attached with BPF_PROG_ATTACH). */
  readonly linkId?: number;
  /** clsact: the filter name, priority and handle. */
  readonly name?: string;
  readonly priority?: number;
  readonly handle?: number;
}

/**
 * Programs on `iface`'s TC hooks: TCX first (in run order — TCX runs before cls_bpf), then
 * cls_bpf filters. `direction` limits it to one hook.
 */
export function queryTc(sys: Sys, iface: InterfaceRef, direction?: TcDirection): TcAttached[] {
  using sock = openRtnetlink(sys);
  const dev = resolveInterface(sock, iface);
  const out: TcAttached[] = [];
  for (const dir of direction ? [direction] : (['ingress', 'egress'] as const)) {
    // Before 6.6 there is no TCX hook to list: only cls_bpf filters.
    const tcx = haveFeature(sys, tcxFeature) ? queryTcx(sys, dev.ifindex, dir) : { progIds: [], linkIds: [], revision: 0n };
    tcx.progIds.forEach((progId, i) => out.push({ ifindex: dev.ifindex, ifname: dev.name, direction: dir, via: 'tcx', progId, linkId: tcx.linkIds[i] ?? 0 }));
    for (const f of listBpfFilters(sock, dev.ifindex, dir)) {
      out.push({ ifindex: dev.ifindex, ifname: dev.name, direction: dir, via: 'clsact', progId: f.progId, name: f.name, priority: f.priority, handle: f.handle });
    }
  }
  return out;
}

/** Options of {@link detachTc}. */
export interface TcDetachOptions {
  direction: TcDirection;
  /** Only TCX links (`'tcx'`) or only cls_bpf filters (`'clsact'`); default both. */
  via?: 'tcx' | 'clsact';
  /** Only this program. */
  progId?: number;
}

/**
 * Detaches programs from a TC hook: TCX links with BPF_LINK_DETACH (pinned or not), cls_bpf
 * filters with RTM_DELTFILTER. Returns what was removed.
 */
export function detachTc(sys: Sys, iface: InterfaceRef, options: TcDetachOptions): TcAttached[] {
  const attached = queryTc(sys, iface, options.direction).filter((a) => (!options.via || a.via === options.via) && (options.progId === undefined || a.progId === options.progId));
  using sock = openRtnetlink(sys);
  for (const a of attached) {
    try {
      if (a.via === 'tcx' && a.linkId) {
        using link = fdById(sys, 'link', a.linkId);
        detachLink(link);
      } else if (a.via === 'tcx') {
        using prog = fdById(sys, 'prog', a.progId);
        progDetach(sys, prog, { targetIfindex: a.ifindex, attachType: TCX_ATTACH[a.direction] });
      } else {
        deleteBpfFilter(sock, { ifindex: a.ifindex, direction: a.direction, priority: a.priority ?? 1, handle: a.handle ?? 1 });
      }
    } catch (err) {
      throw err instanceof BpfkitError ? err.withContext(`detach tc ${a.direction} prog ${a.progId} from ${a.ifname}`) : err;
    }
  }
  return attached;
}
