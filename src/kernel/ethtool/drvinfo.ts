// The driver's name, version, firmware and bus: the SIOCETHTOOL ioctl ETHTOOL_GDRVINFO (`ethtool -i`; netlink has no such message).
import { Fd } from '../fd.js';
import type { Sys } from '../sys.js';
import { InvalidArgumentError } from '../bpf/input-errors.js';
import { ethtoolError } from './ethtool-socket.js';
import { NoSuchDeviceError } from './errors.js';
import { isErrno } from '../kernel-error.js';

/** `SIOCETHTOOL` (linux/sockios.h). */
export const SIOCETHTOOL = 0x8946;
/** `ETHTOOL_GDRVINFO` (linux/ethtool.h). */
export const ETHTOOL_GDRVINFO = 0x3;
/** `sizeof(struct ethtool_drvinfo)`. */
export const DRVINFO_SIZE = 196;
/** `sizeof(struct ifreq)` on 64-bit. */
const IFREQ_SIZE = 40;

/** What `ethtool -i` prints. */
export interface DriverInfo {
  readonly driver: string;
  readonly version: string;
  readonly firmware: string;
  readonly busInfo: string;
  /** Counts the driver declares: private flags, `ethtool -S` statistics. */
  readonly nPrivFlags: number;
  readonly nStats: number;
}

const cstr = (b: Uint8Array, at: number, len: number) => {
  const s = b.subarray(at, at + len);
  const nul = s.indexOf(0);
  return new TextDecoder().decode(nul < 0 ? s : s.subarray(0, nul));
};

/** Decodes `struct ethtool_drvinfo`. */
export function decodeDrvinfo(b: Uint8Array): DriverInfo {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { driver: cstr(b, 4, 32), version: cstr(b, 36, 32), firmware: cstr(b, 68, 32), busInfo: cstr(b, 100, 32), nPrivFlags: v.getUint32(176, true), nStats: v.getUint32(180, true) };
}

/** Reads the driver information of `dev` through SIOCETHTOOL on an AF_INET datagram socket. */
export function getDriverInfo(sys: Sys, dev: string): DriverInfo {
  const name = new TextEncoder().encode(dev);
  if (name.length === 0 || name.length > 15) throw new InvalidArgumentError('device name', `'${dev}' is not 1-15 bytes`);
  const ifreq = new Uint8Array(IFREQ_SIZE);
  ifreq.set(name, 0);
  const info = new Uint8Array(DRVINFO_SIZE);
  new DataView(info.buffer).setUint32(0, ETHTOOL_GDRVINFO, true);
  const fd = new Fd(sys, sys.socket(2 /* AF_INET */, 2 /* SOCK_DGRAM */ | 0o2000000 /* SOCK_CLOEXEC */, 0), 'socket');
  try {
    sys.ioctl(fd.raw, SIOCETHTOOL, ifreq, [{ offset: 16, target: info, direction: 'inout' }]);
  } catch (err) {
    if (isErrno(err, 'ENODEV')) throw new NoSuchDeviceError(dev, { cause: err });
    throw ethtoolError(err, 'driver info', dev);
  } finally {
    fd.close();
  }
  return decodeDrvinfo(info);
}
