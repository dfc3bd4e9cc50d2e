// rtnetlink links: RTM_GETLINK (one or all interfaces, with the IFLA_XDP nest) and RTM_SETLINK IFLA_XDP.
import type { Sys } from '../sys.js';
import { AttrWriter, parseAttrs, type Attrs } from './attributes.js';
import { NLM_F, type NetlinkMessage } from './message.js';
import { NetlinkParseError } from './netlink-error.js';
import { NetlinkProtocol, NetlinkSocket, type NetlinkSocketOptions } from './socket.js';

/** rtnetlink message types (include/uapi/linux/rtnetlink.h) used here. */
export const RTM = {
  NEWLINK: 16,
  DELLINK: 17,
  GETLINK: 18,
  SETLINK: 19,
  NEWQDISC: 36,
  DELQDISC: 37,
  GETQDISC: 38,
  NEWTFILTER: 44,
  DELTFILTER: 45,
  GETTFILTER: 46,
} as const;

const RTM_NAMES = new Map<number, string>(Object.entries(RTM).map(([k, v]) => [v, `RTM_${k}`]));

/** `'RTM_SETLINK'` for 19; `'RTM 99'` for a type this table does not name. */
export function rtmName(type: number): string {
  return RTM_NAMES.get(type) ?? `RTM ${type}`;
}

/** `IFLA_*` link attributes (include/uapi/linux/if_link.h) read or written here. */
export const IFLA = {
  ADDRESS: 1,
  BROADCAST: 2,
  IFNAME: 3,
  MTU: 4,
  LINK: 5,
  QDISC: 6,
  TXQLEN: 13,
  OPERSTATE: 16,
  LINKINFO: 18,
  GROUP: 27,
  PROMISCUITY: 30,
  NUM_TX_QUEUES: 31,
  NUM_RX_QUEUES: 32,
  CARRIER: 33,
  XDP: 43,
  MIN_MTU: 50,
  MAX_MTU: 51,
  PERM_ADDRESS: 54,
} as const;

/** `IFLA_INFO_*` inside IFLA_LINKINFO. */
export const IFLA_INFO = { KIND: 1, DATA: 2 } as const;

/** `IFLA_XDP_*` inside the IFLA_XDP nest. */
export const IFLA_XDP = {
  FD: 1,
  ATTACHED: 2,
  FLAGS: 3,
  PROG_ID: 4,
  DRV_PROG_ID: 5,
  SKB_PROG_ID: 6,
  HW_PROG_ID: 7,
  EXPECTED_FD: 8,
} as const;

/** `XDP_FLAGS_*` (include/uapi/linux/if_link.h): attach mode and update policy. */
export const XDP_FLAGS = {
  UPDATE_IF_NOEXIST: 1 << 0,
  SKB_MODE: 1 << 1,
  DRV_MODE: 1 << 2,
  HW_MODE: 1 << 3,
  REPLACE: 1 << 4,
} as const;

/** `XDP_ATTACHED_*`: the IFLA_XDP_ATTACHED values. */
export const XDP_ATTACHED = { NONE: 0, DRV: 1, SKB: 2, HW: 3, MULTI: 4 } as const;

/** `IFF_*` interface flags (include/uapi/linux/if.h) the CLI prints. */
export const IFF = { UP: 0x1, BROADCAST: 0x2, LOOPBACK: 0x8, POINTOPOINT: 0x10, RUNNING: 0x40, NOARP: 0x80, PROMISC: 0x100, MULTICAST: 0x1000, LOWER_UP: 0x10000 } as const;

/** XDP programs attached to an interface, per mode, as IFLA_XDP reports them (0 = none). */
export interface XdpLinkState {
  /** `IFLA_XDP_ATTACHED`: XDP_ATTACHED.NONE / DRV / SKB / HW / MULTI. */
  readonly attached: number;
  /** Program attached in native (driver) mode, 0 if none. */
  readonly drvProgId: number;
  /** Program attached in generic (skb) mode, 0 if none. */
  readonly skbProgId: number;
  /** Program offloaded to the NIC, 0 if none. */
  readonly hwProgId: number;
}

/** An interface as RTM_GETLINK describes it. */
export interface LinkAttrs {
  /** Interface index. */
  readonly ifindex: number;
  /** Interface name. */
  readonly name: string;
  /** `ARPHRD_*` device type (1 = ether, 772 = loopback). */
  readonly type: number;
  /** `IFF_*` flags. */
  readonly flags: number;
  /** MTU. */
  readonly mtu: number;
  /** Link-layer address as `aa:bb:cc:dd:ee:ff`, when the device has one. */
  readonly address: string | undefined;
  /** `IFLA_LINKINFO` kind (`'veth'`, `'bridge'`), when the device is a virtual one. */
  readonly kind: string | undefined;
  /** Number of RX / TX queues. */
  readonly numRxQueues: number | undefined;
  readonly numTxQueues: number | undefined;
  /** XDP attachment state. */
  readonly xdp: XdpLinkState;
}

/** Opens a NETLINK_ROUTE socket that names RTM_* types in its errors. */
export function openRtnetlink(sys: Sys, options: NetlinkSocketOptions = {}): NetlinkSocket {
  return NetlinkSocket.open(sys, NetlinkProtocol.ROUTE, { typeName: rtmName, ...options });
}

/** Size of `struct ifinfomsg`. */
export const IFINFOMSG_LEN = 16;

/** `struct ifinfomsg` + attributes. */
export function ifinfomsg(ifindex: number, attrs: Uint8Array = new Uint8Array(0), flags = 0, change = 0): Uint8Array {
  const b = new Uint8Array(IFINFOMSG_LEN + attrs.length);
  const v = new DataView(b.buffer);
  v.setInt32(4, ifindex, true);
  v.setUint32(8, flags >>> 0, true);
  v.setUint32(12, change >>> 0, true);
  b.set(attrs, IFINFOMSG_LEN);
  return b;
}

function macString(bytes: Uint8Array | undefined): string | undefined {
  if (!bytes || bytes.length === 0) return undefined;
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

function xdpState(attrs: Attrs | undefined): XdpLinkState {
  const attached = attrs?.u8(IFLA_XDP.ATTACHED) ?? XDP_ATTACHED.NONE;
  const single = attrs?.u32(IFLA_XDP.PROG_ID) ?? 0;
  // With one program attached the kernel reports IFLA_XDP_PROG_ID (and, since 4.20, the per-mode id too).
  const pick = (type: number, mode: number): number => attrs?.u32(type) ?? (attached === mode ? single : 0);
  return {
    attached,
    drvProgId: pick(IFLA_XDP.DRV_PROG_ID, XDP_ATTACHED.DRV),
    skbProgId: pick(IFLA_XDP.SKB_PROG_ID, XDP_ATTACHED.SKB),
    hwProgId: pick(IFLA_XDP.HW_PROG_ID, XDP_ATTACHED.HW),
  };
}

/** Decodes one RTM_NEWLINK message. */
export function decodeLink(msg: NetlinkMessage): LinkAttrs {
  if (msg.payload.length < IFINFOMSG_LEN) throw new NetlinkParseError(16, `RTM_NEWLINK payload of ${msg.payload.length} bytes, shorter than ifinfomsg`);
  const v = new DataView(msg.payload.buffer, msg.payload.byteOffset, msg.payload.byteLength);
  const attrs = parseAttrs(msg.payload, IFINFOMSG_LEN);
  return {
    ifindex: v.getInt32(4, true),
    type: v.getUint16(2, true),
    flags: v.getUint32(8, true),
    name: attrs.string(IFLA.IFNAME) ?? '',
    mtu: attrs.u32(IFLA.MTU) ?? 0,
    address: macString(attrs.get(IFLA.ADDRESS)),
    kind: attrs.nested(IFLA.LINKINFO)?.string(IFLA_INFO.KIND),
    numRxQueues: attrs.u32(IFLA.NUM_RX_QUEUES),
    numTxQueues: attrs.u32(IFLA.NUM_TX_QUEUES),
    xdp: xdpState(attrs.nested(IFLA.XDP)),
  };
}

/** RTM_GETLINK of one interface, by index or by name (IFLA_IFNAME). Unknown -> NetlinkError ENODEV. */
export function getLink(sock: NetlinkSocket, target: number | string): LinkAttrs {
  const payload = typeof target === 'number' ? ifinfomsg(target) : ifinfomsg(0, new AttrWriter().string(IFLA.IFNAME, target).finish());
  const replies = sock.request(RTM.GETLINK, 0, payload).filter((m) => m.type === RTM.NEWLINK);
  const first = replies[0];
  if (!first) throw new NetlinkParseError(0, `RTM_GETLINK ${target}: no RTM_NEWLINK in the reply`);
  return decodeLink(first);
}

/** RTM_GETLINK dump: every interface of the socket's network namespace, by ifindex. */
export function listLinks(sock: NetlinkSocket): LinkAttrs[] {
  return sock
    .request(RTM.GETLINK, NLM_F.DUMP, ifinfomsg(0))
    .filter((m) => m.type === RTM.NEWLINK)
    .map(decodeLink)
    .sort((a, b) => a.ifindex - b.ifindex);
}

/** What RTM_SETLINK IFLA_XDP sets: a program fd (-1 to detach), XDP_FLAGS_*, and the expected current program. */
export interface SetXdpOptions {
  /** Program fd to attach, or -1 to detach. */
  fd: number;
  /** XDP_FLAGS_* (mode, UPDATE_IF_NOEXIST, REPLACE). */
  flags?: number;
  /** With XDP_FLAGS.REPLACE: fd of the program that must currently be attached (-1: none). */
  expectedFd?: number;
}

/** RTM_SETLINK with an IFLA_XDP nest: attaches, replaces or (fd -1) detaches an XDP program. */
export function setLinkXdp(sock: NetlinkSocket, ifindex: number, options: SetXdpOptions): void {
  const attrs = new AttrWriter()
    .nested(IFLA.XDP, (w) => {
      w.s32(IFLA_XDP.FD, options.fd);
      if (options.flags) w.u32(IFLA_XDP.FLAGS, options.flags);
      if (options.expectedFd !== undefined) w.s32(IFLA_XDP.EXPECTED_FD, options.expectedFd);
    })
    .finish();
  sock.request(RTM.SETLINK, 0, ifinfomsg(ifindex, attrs));
}
