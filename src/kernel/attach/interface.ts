// Network interfaces by name or index: resolved once, with a typed error naming what was not found.
import { isErrno, KernelError } from '../kernel-error.js';
import { NetlinkError } from '../netlink/netlink-error.js';
import { getLink, type LinkAttrs } from '../netlink/rtnetlink.js';
import type { NetlinkSocket } from '../netlink/socket.js';
import { InterfaceNotFoundError } from './errors.js';

/** An interface named by the caller: its index or its name. */
export type InterfaceRef = number | string;

/**
 * Looks the interface up with RTM_GETLINK (by index or IFLA_IFNAME). Throws
 * {@link InterfaceNotFoundError} naming it when it does not exist.
 */
export function resolveInterface(sock: NetlinkSocket, iface: InterfaceRef): LinkAttrs {
  if (typeof iface === 'number' && (!Number.isInteger(iface) || iface <= 0)) throw new InterfaceNotFoundError(iface);
  if (typeof iface === 'string' && (iface.length === 0 || iface.length > 15)) throw new InterfaceNotFoundError(iface);
  try {
    return getLink(sock, iface);
  } catch (err) {
    if (err instanceof NetlinkError && (err.errnoName === 'ENODEV' || err.errnoName === 'ENOENT')) throw new InterfaceNotFoundError(iface, { cause: err });
    if (err instanceof KernelError && isErrno(err, 19)) throw new InterfaceNotFoundError(iface, { cause: err });
    throw err;
  }
}
