// Generic netlink: the genlmsghdr, family and multicast group resolution through nlctrl, a family socket.
//
//   nlmsghdr (16 bytes, nlmsg_type = family id) then
//   0       1         2               4
//   +-------+---------+---------------+--------------------+
//   | cmd   | version | reserved (u16)| attributes ...     |
//   +-------+---------+---------------+--------------------+
import { NotSupportedError } from '../../errors.js';
import { CtrlAttr, CtrlAttrMcastGrp, CtrlAttrOp, CtrlCmd } from '../ethtool/ethtool.generated.js';
import { isErrno } from '../kernel-error.js';
import type { Sys } from '../sys.js';
import { AttrWriter, parseAttrs, type Attrs } from './attributes.js';
import type { NetlinkMessage } from './message.js';
import { NetlinkParseError } from './netlink-error.js';
import { NetlinkProtocol, NetlinkSocket, type NetlinkSocketOptions } from './socket.js';

/** Size of `struct genlmsghdr`. */
export const GENL_HDRLEN = 4;
/** The nlctrl family's fixed id (GENL_ID_CTRL). */
export const GENL_ID_CTRL = 0x10;

/** Encodes a generic netlink payload: genlmsghdr + attributes. */
export function genlPayload(cmd: number, version: number, attrs: Uint8Array): Uint8Array {
  const out = new Uint8Array(GENL_HDRLEN + attrs.length);
  out[0] = cmd;
  out[1] = version;
  out.set(attrs, GENL_HDRLEN);
  return out;
}

/** One generic netlink message decoded: command, version and attributes. */
export interface GenlMessage {
  /** `genlmsghdr.cmd`. */
  readonly cmd: number;
  /** `genlmsghdr.version`. */
  readonly version: number;
  /** The attributes after the header. */
  readonly attrs: Attrs;
}

/** Decodes a generic netlink message's payload. */
export function parseGenl(msg: NetlinkMessage): GenlMessage {
  if (msg.payload.length < GENL_HDRLEN) throw new NetlinkParseError(16, `generic netlink payload of ${msg.payload.length} bytes has no genlmsghdr`);
  return { cmd: msg.payload[0]!, version: msg.payload[1]!, attrs: parseAttrs(msg.payload, GENL_HDRLEN) };
}

/** A generic netlink family as nlctrl describes it. */
export interface GenlFamily {
  readonly name: string;
  /** The message type to send requests with. */
  readonly id: number;
  readonly version: number;
  /** Highest attribute type the family accepts. */
  readonly maxAttr: number;
  /** Multicast group name -> group id (`monitor` for ethtool, `mgmt` for netdev). */
  readonly mcastGroups: ReadonlyMap<string, number>;
  /** Commands this kernel's family implements (CTRL_ATTR_OPS), so a caller can tell "no such command" from "the driver lacks it". */
  readonly ops: ReadonlySet<number>;
}

/** Decodes a CTRL_CMD_NEWFAMILY reply. */
export function decodeFamily(attrs: Attrs): GenlFamily {
  const id = attrs.u16(CtrlAttr.FAMILY_ID);
  const name = attrs.string(CtrlAttr.FAMILY_NAME);
  if (id === undefined || name === undefined) throw new NetlinkParseError(0, 'nlctrl reply without family id or name');
  const groups = new Map<string, number>();
  const nest = attrs.nested(CtrlAttr.MCAST_GROUPS);
  if (nest) {
    for (const [, payload] of nest) {
      const g = parseAttrs(payload);
      const gname = g.string(CtrlAttrMcastGrp.NAME);
      const gid = g.u32(CtrlAttrMcastGrp.ID);
      if (gname !== undefined && gid !== undefined) groups.set(gname, gid);
    }
  }
  const ops = new Set<number>();
  const opsNest = attrs.nested(CtrlAttr.OPS);
  if (opsNest) {
    for (const [, payload] of opsNest) {
      const op = parseAttrs(payload).u32(CtrlAttrOp.ID);
      if (op !== undefined) ops.add(op);
    }
  }
  return { name, id, version: attrs.u32(CtrlAttr.VERSION) ?? 1, maxAttr: attrs.u32(CtrlAttr.MAXATTR) ?? 0, mcastGroups: groups, ops };
}

/**
 * Asks nlctrl for family `name` on an open NETLINK_GENERIC socket. A family the kernel does not
 * have (ENOENT) is a {@link NotSupportedError} naming it and the kernel that added it.
 */
export function resolveFamily(sock: NetlinkSocket, name: string, minKernel?: string): GenlFamily {
  const attrs = new AttrWriter().string(CtrlAttr.FAMILY_NAME, name).finish();
  try {
    const replies = sock.request(GENL_ID_CTRL, 0, genlPayload(CtrlCmd.GETFAMILY, 1, attrs), { name: 'CTRL_CMD_GETFAMILY' });
    const first = replies[0];
    if (!first) throw new NetlinkParseError(0, `nlctrl sent no reply for family ${name}`);
    return decodeFamily(parseGenl(first).attrs);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new NotSupportedError(`generic netlink family '${name}'`, minKernel, undefined, { cause: err });
    throw err;
  }
}

/** Options of {@link GenlSocket.open}. */
export interface GenlSocketOptions extends NetlinkSocketOptions {
  /** Kernel version that added the family, for the NotSupportedError when it is missing. */
  minKernel?: string;
  /** Names commands in errors (`5` -> `'ETHTOOL_MSG_FEATURES_SET'`). */
  cmdName?: (cmd: number) => string;
}

/**
 * A NETLINK_GENERIC socket bound to one family: resolves the family through nlctrl when opened,
 * then sends commands with the family's id and version. Close with `close()` or `using`.
 */
export class GenlSocket implements Disposable {
  readonly #sock: NetlinkSocket;
  readonly #cmdName: (cmd: number) => string;
  /** The family as nlctrl described it. */
  readonly family: GenlFamily;

  private constructor(sock: NetlinkSocket, family: GenlFamily, cmdName: (cmd: number) => string) {
    this.#sock = sock;
    this.family = family;
    this.#cmdName = cmdName;
  }

  /** Opens a generic netlink socket and resolves family `name` on it. */
  static open(sys: Sys, name: string, options: GenlSocketOptions = {}): GenlSocket {
    const sock = NetlinkSocket.open(sys, NetlinkProtocol.GENERIC, options);
    try {
      const family = resolveFamily(sock, name, options.minKernel);
      return new GenlSocket(sock, family, options.cmdName ?? ((c) => `${name} cmd ${c}`));
    } catch (err) {
      sock.close();
      throw err;
    }
  }

  /** Sends command `cmd` with `attrs` and returns the decoded replies (a dump when `flags` has NLM_F_DUMP). */
  request(cmd: number, flags: number, attrs: Uint8Array): GenlMessage[] {
    const payload = genlPayload(cmd, this.family.version, attrs);
    return this.#sock.request(this.family.id, flags, payload, { name: this.#cmdName(cmd) }).map(parseGenl);
  }

  /** The underlying netlink socket. */
  get socket(): NetlinkSocket {
    return this.#sock;
  }

  /** Closes the socket; a second call does nothing. */
  close(): void {
    this.#sock.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
