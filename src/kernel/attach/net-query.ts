// What is attached where on the network side (XDP per mode, TCX, cls_bpf), as `bpftool net` lists it.
import { listLinks, openRtnetlink } from '../netlink/rtnetlink.js';
import type { Sys } from '../sys.js';
import { resolveInterface, type InterfaceRef } from './interface.js';
import { queryTc, type TcAttached } from './tc.js';
import { queryXdp, type XdpAttached } from './xdp.js';

/** Every XDP and TC attachment of one interface or of the whole namespace. */
export interface NetAttachments {
  /** XDP programs, by interface index then mode. */
  readonly xdp: readonly XdpAttached[];
  /** TC programs, by interface index: ingress (TCX in run order, then cls_bpf), then egress. */
  readonly tc: readonly TcAttached[];
}

/**
 * Lists XDP and TC attachments of `iface`, or of every interface in this network namespace.
 * Interfaces that vanish while being listed are skipped.
 */
export function queryNet(sys: Sys, iface?: InterfaceRef): NetAttachments {
  let devs: { ifindex: number }[];
  {
    using sock = openRtnetlink(sys);
    devs = iface === undefined ? listLinks(sock) : [resolveInterface(sock, iface)];
  }
  const xdp: XdpAttached[] = [];
  const tc: TcAttached[] = [];
  for (const dev of devs) {
    try {
      xdp.push(...queryXdp(sys, dev.ifindex));
      tc.push(...queryTc(sys, dev.ifindex));
    } catch (err) {
      if (iface === undefined && (err as { code?: string }).code === 'ERR_NO_SUCH_INTERFACE') continue;
      throw err;
    }
  }
  return { xdp, tc };
}
