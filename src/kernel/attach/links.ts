// Finding live bpf_links by what they attach to: the XDP link of an interface, the TCX links of a hook.
import { LinkType } from './constants.js';
import { fdById, ids } from '../bpf/obj-id.js';
import { linkInfo, type LinkInfo } from '../bpf/obj-info.js';
import { KernelError } from '../kernel-error.js';
import type { Sys } from '../sys.js';

/**
 * Every live link whose info matches `pred`, with its info. A snapshot: links created or
 * destroyed meanwhile (by other processes) are skipped, not errors.
 */
export function findLinks(sys: Sys, pred: (info: LinkInfo) => boolean): LinkInfo[] {
  const out: LinkInfo[] = [];
  for (const id of ids(sys, 'link')) {
    let info: LinkInfo;
    try {
      using fd = fdById(sys, 'link', id);
      info = linkInfo(fd);
    } catch (err) {
      if (err instanceof KernelError && err.errnoName === 'ENOENT') continue; // gone meanwhile
      throw err;
    }
    if (pred(info)) out.push(info);
  }
  return out;
}

/** The XDP link attached to `ifindex`, if any (there is at most one per mode; the kernel allows one mode at a time). */
export function findXdpLink(sys: Sys, ifindex: number): LinkInfo | undefined {
  return findLinks(sys, (l) => l.type === LinkType.XDP && l.ifindex === ifindex)[0];
}
