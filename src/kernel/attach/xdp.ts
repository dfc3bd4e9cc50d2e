// XDP attach: a bpf_link (BPF_LINK_CREATE, BPF_XDP) first, RTM_SETLINK IFLA_XDP as fallback; detach; query.
import { BpfkitError } from '../../errors.js';
import { programTypeName } from '../../isa/program-types.js';
import { AttachType, ProgType } from '../bpf/constants.js';
import { createLink, detachLink, updateLink } from '../bpf/link.js';
import { fdById } from '../bpf/obj-id.js';
import { linkInfo, programInfo } from '../bpf/obj-info.js';
import { pinObject } from '../bpf/obj-pin.js';
import { adoptFd, type Fd } from '../fd.js';
import { KernelError } from '../kernel-error.js';
import { NetlinkError } from '../netlink/netlink-error.js';
import { getLink, listLinks, openRtnetlink, setLinkXdp, XDP_FLAGS, type LinkAttrs } from '../netlink/rtnetlink.js';
import type { NetlinkSocket } from '../netlink/socket.js';
import type { Sys } from '../sys.js';
import { AlreadyAttachedError, AttachNotSupportedError, WrongProgramTypeError, type Occupant } from './errors.js';
import { resolveInterface, type InterfaceRef } from './interface.js';
import { findXdpLink } from './links.js';

/** XDP attach mode, as xdp-loader spells it: generic (skb), native (driver), hw (offload). */
export type XdpMode = 'skb' | 'native' | 'hw';

/** The XDP_FLAGS_* mode bit of each mode. */
export const XDP_MODE_FLAG: Readonly<Record<XdpMode, number>> = { skb: XDP_FLAGS.SKB_MODE, native: XDP_FLAGS.DRV_MODE, hw: XDP_FLAGS.HW_MODE };

/** bpftool's word for each mode (`bpftool net` prints generic / driver / offload). */
export const XDP_MODE_BPFTOOL: Readonly<Record<XdpMode, string>> = { skb: 'generic', native: 'driver', hw: 'offload' };

/** Options of {@link attachXdp}. */
export interface XdpAttachOptions {
  /** Attach mode; default: let the kernel choose (native when the driver has it, else skb). */
  mode?: XdpMode;
  /** Replace a program already attached (in the same mode) instead of failing with {@link AlreadyAttachedError}. */
  replace?: boolean;
  /** Replace only if this program is the one attached now (atomic compare-and-swap); implies `replace`. */
  expected?: Fd<'prog'>;
  /**
   * `true`: attach with a bpf_link only; `false`: with netlink only; default: a link, falling
   * back to netlink when the kernel refuses XDP links (before 5.9) or the link path fails
   * in a way netlink can explain (the extended ACK).
   */
  link?: boolean;
}

/** How an attachment was made. */
export type AttachVia = 'link' | 'netlink';

/**
 * A program attached to an interface's XDP hook. Link attachments live as long as the link fd
 * (or a pin of it); netlink attachments live until detached. `close()` / `using` ends it either
 * way: it closes the link (detaching unless pinned) or detaches the netlink attachment, if
 * our program is still the one attached. `detach()` detaches a link even when it is pinned.
 */
export class XdpAttachment implements Disposable {
  /** The interface index. */
  readonly ifindex: number;
  /** The interface name. */
  readonly ifname: string;
  /** The mode the kernel attached in. */
  readonly mode: XdpMode;
  /** Id of the attached program. */
  readonly progId: number;
  /** Link or netlink. */
  readonly via: AttachVia;
  /** The link fd, for link attachments. */
  readonly link: Fd<'link'> | undefined;
  readonly #sys: Sys;
  #done = false;

  /** Built by {@link attachXdp}. */
  constructor(sys: Sys, fields: { ifindex: number; ifname: string; mode: XdpMode; progId: number; via: AttachVia; link?: Fd<'link'> }) {
    this.#sys = sys;
    this.ifindex = fields.ifindex;
    this.ifname = fields.ifname;
    this.mode = fields.mode;
    this.progId = fields.progId;
    this.via = fields.via;
    this.link = fields.link;
  }

  /** Link id, for link attachments. */
  get linkId(): number | undefined {
    return this.link && !this.link.closed ? linkInfo(this.link).id : undefined;
  }

  /**
   * Pins the link at `path` in a bpffs, so the attachment outlives this process (reopen with
   * `getPinnedObject(sys, path, 'link')`; remove the file to let it go). Netlink attachments
   * already outlive the process and cannot be pinned.
   */
  pin(path: string): void {
    if (!this.link) throw new BpfkitError('ERR_NOT_A_LINK', `XDP on ${this.ifname} is attached through netlink, not a bpf_link: nothing to pin (it stays until detached)`);
    pinObject(this.link, path);
  }

  /** Detaches now (a link even if pinned); then closes. */
  detach(): void {
    if (this.#done) return;
    if (this.link) {
      try {
        detachLink(this.link);
      } finally {
        this.#finish();
      }
      return;
    }
    this.#finish();
    detachNetlink(this.#sys, this.ifindex, this.mode, this.progId);
  }

  /** Ends the attachment: closes the link (which detaches it unless pinned) or detaches the netlink attachment. */
  close(): void {
    if (this.#done) return;
    if (this.link) this.#finish();
    else this.detach();
  }

  /**
   * Forgets the attachment without detaching: for a netlink attachment it stays on the
   * interface; a link is closed (so it stays only if pinned).
   */
  release(): void {
    this.#finish();
  }

  #finish(): void {
    this.#done = true;
    this.link?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Detaches the netlink-attached program `progId` in `mode`, only if it is still the one attached. */
function detachNetlink(sys: Sys, ifindex: number, mode: XdpMode, progId: number): void {
  using sock = openRtnetlink(sys);
  const state = getLink(sock, ifindex).xdp;
  if (modeProgId(state, mode) !== progId) return; // replaced or gone: not ours to remove
  setLinkXdp(sock, ifindex, { fd: -1, flags: XDP_MODE_FLAG[mode] });
}

function modeProgId(state: LinkAttrs['xdp'], mode: XdpMode): number {
  return mode === 'skb' ? state.skbProgId : mode === 'native' ? state.drvProgId : state.hwProgId;
}

/** The attached modes of `state`, with their program ids. */
function attachedModes(state: LinkAttrs['xdp']): { mode: XdpMode; progId: number }[] {
  const out: { mode: XdpMode; progId: number }[] = [];
  if (state.skbProgId) out.push({ mode: 'skb', progId: state.skbProgId });
  if (state.drvProgId) out.push({ mode: 'native', progId: state.drvProgId });
  if (state.hwProgId) out.push({ mode: 'hw', progId: state.hwProgId });
  return out;
}

/** What occupies the XDP hook of `ifindex`, for error messages. */
function occupantOf(sys: Sys, sock: NetlinkSocket, ifindex: number): Occupant | undefined {
  try {
    const first = attachedModes(getLink(sock, ifindex).xdp)[0];
    if (!first) return undefined;
    const link = findXdpLink(sys, ifindex);
    return link ? { progId: first.progId, mode: first.mode, via: 'link', linkId: link.id } : { progId: first.progId, mode: first.mode, via: 'netlink' };
  } catch {
    return undefined;
  }
}

/** Turns a refused attach into the typed error that says why. */
function attachFailure(sys: Sys, sock: NetlinkSocket, iface: LinkAttrs, mode: XdpMode | undefined, err: unknown): unknown {
  if (!(err instanceof KernelError)) return err;
  const op = `attach XDP to ${iface.name}${mode ? ` (${mode} mode)` : ''}`;
  const extack = err instanceof NetlinkError ? err.extackMessage : undefined;
  if (err.errnoName === 'EBUSY' || err.errnoName === 'EEXIST') {
    return new AlreadyAttachedError(op, err.errno, iface.name, occupantOf(sys, sock, iface.ifindex), extack, { cause: err });
  }
  const driver = iface.kind ?? 'this';
  if (mode === 'hw' && (err.errnoName === 'EINVAL' || err.errnoName === 'EOPNOTSUPP')) {
    return new AttachNotSupportedError(
      'XDP offload (hw mode)',
      iface.name,
      extack,
      `${iface.name}: ${extack ?? `the ${driver} driver refused to offload the program (${err.errnoName}); offload needs a NIC that runs BPF (e.g. Netronome nfp) and a program loaded for it`}`,
      { cause: err },
    );
  }
  if (err.errnoName === 'EOPNOTSUPP') {
    return new AttachNotSupportedError(mode ? `XDP ${mode} mode` : 'XDP', iface.name, extack, `${iface.name}: ${extack ?? `the ${driver} driver has no native XDP`}`, { cause: err });
  }
  return err instanceof BpfkitError ? err.withContext(op) : err;
}

/**
 * Attaches `prog` (an XDP program) to `iface`'s XDP hook. Throws
 * {@link InterfaceNotFoundError} for an unknown interface, {@link AlreadyAttachedError} when a
 * program is there and `replace` was not asked, {@link AttachNotSupportedError} for a mode the
 * device lacks (hw on veth), with the kernel's extended ACK text when it gave one.
 */
export function attachXdp(sys: Sys, prog: Fd<'prog'>, iface: InterfaceRef, options: XdpAttachOptions = {}): XdpAttachment {
  using sock = openRtnetlink(sys);
  const dev = resolveInterface(sock, iface);
  const modeFlag = options.mode ? XDP_MODE_FLAG[options.mode] : 0;
  const replace = options.replace === true || options.expected !== undefined;
  const info = programInfo(prog);
  if (info.type !== ProgType.XDP) throw new WrongProgramTypeError(info.id, programTypeName(info.type), 'XDP', ['xdp']);
  const progId = info.id;
  const finish = (via: AttachVia, link?: Fd<'link'>): XdpAttachment => {
    const state = getLink(sock, dev.ifindex).xdp;
    const mine = attachedModes(state).find((m) => m.progId === progId) ?? { mode: options.mode ?? 'skb', progId };
    return new XdpAttachment(sys, { ifindex: dev.ifindex, ifname: dev.name, mode: mine.mode, progId, via, link });
  };

  if (replace && options.link !== false) {
    // A link already there is replaced in place (BPF_LINK_UPDATE), keeping its id and pins.
    const existing = findXdpLink(sys, dev.ifindex);
    if (existing) {
      const fd = fdById(sys, 'link', existing.id);
      return adoptFd(fd, (link) => {
        try {
          updateLink(link, prog, options.expected ? { oldProg: options.expected } : {});
        } catch (err) {
          throw attachFailure(sys, sock, dev, options.mode, err);
        }
        return finish('link', link);
      });
    }
  }

  if (options.link !== false && !(replace && attachedModes(dev.xdp).length > 0)) {
    try {
      const link = createLink(sys, { prog, attachType: AttachType.XDP, targetIfindex: dev.ifindex, flags: modeFlag });
      return adoptFd(link, (l) => finish('link', l));
    } catch (err) {
      const fallback = options.link === undefined && err instanceof KernelError && ['EINVAL', 'EOPNOTSUPP', 'ENOTSUPP'].includes(err.errnoName);
      if (!fallback) throw attachFailure(sys, sock, dev, options.mode, err);
      // Fall through: netlink attaches where links are unknown, or explains the failure (extack).
    }
  }

  let flags = modeFlag;
  if (!replace) flags |= XDP_FLAGS.UPDATE_IF_NOEXIST;
  if (options.expected) flags |= XDP_FLAGS.REPLACE;
  try {
    setLinkXdp(sock, dev.ifindex, { fd: prog.raw, flags, expectedFd: options.expected?.raw });
  } catch (err) {
    throw attachFailure(sys, sock, dev, options.mode, err);
  }
  return finish('netlink');
}

/** What {@link detachXdp} removed. */
export interface XdpDetached {
  readonly ifindex: number;
  readonly ifname: string;
  readonly mode: XdpMode;
  readonly progId: number;
  readonly via: AttachVia;
  /** Link id, when it was a link. */
  readonly linkId?: number;
}

/**
 * Detaches whatever XDP program is attached to `iface` (only the one in `mode`, if given): an
 * XDP link is detached with BPF_LINK_DETACH (pinned or not; a pin then holds a defunct link),
 * a netlink attachment with RTM_SETLINK fd -1. Returns what was removed (empty: nothing was).
 */
export function detachXdp(sys: Sys, iface: InterfaceRef, options: { mode?: XdpMode } = {}): XdpDetached[] {
  using sock = openRtnetlink(sys);
  const dev = resolveInterface(sock, iface);
  const out: XdpDetached[] = [];
  for (const { mode, progId } of attachedModes(dev.xdp)) {
    if (options.mode && options.mode !== mode) continue;
    const link = findXdpLink(sys, dev.ifindex);
    if (link && link.progId === progId) {
      try {
        using fd = fdById(sys, 'link', link.id);
        detachLink(fd);
      } catch (err) {
        throw err instanceof BpfkitError ? err.withContext(`detach XDP link ${link.id} from ${dev.name}`) : err;
      }
      out.push({ ifindex: dev.ifindex, ifname: dev.name, mode, progId, via: 'link', linkId: link.id });
    } else {
      try {
        setLinkXdp(sock, dev.ifindex, { fd: -1, flags: XDP_MODE_FLAG[mode] });
      } catch (err) {
        throw err instanceof BpfkitError ? err.withContext(`detach XDP from ${dev.name}`) : err;
      }
      out.push({ ifindex: dev.ifindex, ifname: dev.name, mode, progId, via: 'netlink' });
    }
  }
  return out;
}

/** One XDP program attached somewhere, as {@link queryXdp} reports it. */
export interface XdpAttached {
  readonly ifindex: number;
  readonly ifname: string;
  readonly mode: XdpMode;
  readonly progId: number;
  /** Link id when attached through a bpf_link, else undefined (netlink). */
  readonly linkId: number | undefined;
}

/** XDP programs attached to `iface`, or to every interface of this namespace when omitted. */
export function queryXdp(sys: Sys, iface?: InterfaceRef): XdpAttached[] {
  using sock = openRtnetlink(sys);
  const devs = iface === undefined ? listLinks(sock) : [resolveInterface(sock, iface)];
  const out: XdpAttached[] = [];
  for (const dev of devs) {
    const modes = attachedModes(dev.xdp);
    if (modes.length === 0) continue;
    const link = findXdpLink(sys, dev.ifindex);
    for (const { mode, progId } of modes) {
      out.push({ ifindex: dev.ifindex, ifname: dev.name, mode, progId, linkId: link && link.progId === progId ? link.id : undefined });
    }
  }
  return out;
}
