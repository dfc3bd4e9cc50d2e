// BPF links, generic part: create, update (swap the program), detach. Specific kinds build on it.
import { LINK_CREATE_ATTR, LINK_DETACH_ATTR, LINK_UPDATE_ATTR } from '../bpf-attr.generated.js';
import { Fd } from '../fd.js';
import { StructWriter } from '../struct-codec.js';
import type { Sys } from '../sys.js';
import { BpfCmd } from './constants.js';

/** What BPF_LINK_CREATE needs; type-specific fields go through `extra`. */
export interface LinkCreateOptions {
  /** The program to attach. */
  prog: Fd<'prog'>;
  /** `enum bpf_attach_type` (AttachType.XDP, TCX_INGRESS...). */
  attachType: number;
  /** Target fd (a cgroup, a program for freplace...). Exclusive with targetIfindex. */
  targetFd?: Fd;
  /** Target interface index (XDP, TCX, netkit). */
  targetIfindex?: number;
  /** Link flags (for XDP: XDP_FLAGS_SKB_MODE / DRV_MODE / HW_MODE). */
  flags?: number;
  /** Writes the attach-type-specific part of the attr (`'tcx.relative_fd'`...). */
  extra?: (attr: StructWriter<typeof LINK_CREATE_ATTR>) => void;
}

/** Creates a link attaching `prog`; closing the last fd of the link detaches it (unless pinned). */
export function createLink(sys: Sys, options: LinkCreateOptions): Fd<'link'> {
  const attr = new StructWriter(LINK_CREATE_ATTR)
    .u32('prog_fd', options.prog.raw)
    .u32('attach_type', options.attachType)
    .u32('flags', options.flags ?? 0);
  if (options.targetFd) attr.u32('target_fd', options.targetFd.raw);
  if (options.targetIfindex !== undefined) attr.u32('target_ifindex', options.targetIfindex);
  options.extra?.(attr);
  return new Fd(sys, sys.bpf(BpfCmd.LINK_CREATE, attr.bytes, attr.pointers), 'link');
}

/** Options of {@link updateLink}. */
export interface LinkUpdateOptions {
  /** Replace only if the current program is this one (sets BPF_F_REPLACE). */
  oldProg?: Fd<'prog'>;
  /** Extra flags. */
  flags?: number;
}

const BPF_F_REPLACE = 1 << 2;

/** Atomically swaps the program of `link` for `prog`. */
export function updateLink(link: Fd<'link'>, prog: Fd<'prog'>, options: LinkUpdateOptions = {}): void {
  const attr = new StructWriter(LINK_UPDATE_ATTR).u32('link_fd', link.raw).u32('new_prog_fd', prog.raw);
  let flags = options.flags ?? 0;
  if (options.oldProg) {
    flags |= BPF_F_REPLACE;
    attr.u32('old_prog_fd', options.oldProg.raw);
  }
  attr.u32('flags', flags);
  link.sys.bpf(BpfCmd.LINK_UPDATE, attr.bytes, attr.pointers);
}

/** Detaches `link` from its target now; the fd stays open (and reports no target) until closed. */
export function detachLink(link: Fd<'link'>): void {
  const attr = new StructWriter(LINK_DETACH_ATTR).u32('link_fd', link.raw);
  link.sys.bpf(BpfCmd.LINK_DETACH, attr.bytes, attr.pointers);
}
