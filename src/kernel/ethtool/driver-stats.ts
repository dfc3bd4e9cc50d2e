// Driver statistics (`ethtool -S`): names from the ETH_SS_STATS string set, values from the SIOCETHTOOL ETHTOOL_GSTATS ioctl.
import { Fd } from '../fd.js';
import { isErrno } from '../kernel-error.js';
import type { Sys } from '../sys.js';
import { NotSupportedError } from '../../errors.js';
import { SIOCETHTOOL } from './drvinfo.js';
import { EthtoolReplyError, NoSuchDeviceError } from './errors.js';
import { EthStringset } from './ethtool.generated.js';
import type { EthtoolSocket } from './ethtool-socket.js';

/** `ETHTOOL_GSTATS` (linux/ethtool.h): `struct ethtool_stats { u32 cmd; u32 n_stats; u64 data[]; }`. */
export const ETHTOOL_GSTATS = 0x1d;

/** Decodes `struct ethtool_stats` against the statistic names, in order. */
export function decodeDriverStats(buf: Uint8Array, names: readonly string[]): Map<string, bigint> {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = v.getUint32(4, true);
  if (n !== names.length || 8 + n * 8 > buf.length) throw new EthtoolReplyError('ETHTOOL_GSTATS', `${n} statistics for ${names.length} names`);
  const out = new Map<string, bigint>();
  names.forEach((name, i) => out.set(name, v.getBigUint64(8 + i * 8, true)));
  return out;
}

/**
 * The driver's own counters of `dev`, as `ethtool -S` prints them (name -> value). A driver
 * without any is a NotSupportedError.
 */
export function getDriverStats(sys: Sys, sock: EthtoolSocket, dev: string): Map<string, bigint> {
  const names = sock.strings(EthStringset.STATS, dev);
  if (names.length === 0) throw new NotSupportedError(`driver statistics of ${dev}`, undefined, 'the driver reports none');
  const ifreq = new Uint8Array(40);
  const name = new TextEncoder().encode(dev);
  if (name.length > 15) throw new NoSuchDeviceError(dev);
  ifreq.set(name, 0);
  const stats = new Uint8Array(8 + names.length * 8);
  const v = new DataView(stats.buffer);
  v.setUint32(0, ETHTOOL_GSTATS, true);
  v.setUint32(4, names.length, true);
  const fd = new Fd(sys, sys.socket(2 /* AF_INET */, 2 /* SOCK_DGRAM */ | 0o2000000 /* SOCK_CLOEXEC */, 0), 'socket');
  try {
    sys.ioctl(fd.raw, SIOCETHTOOL, ifreq, [{ offset: 16, target: stats, direction: 'inout' }]);
  } catch (err) {
    if (isErrno(err, 'ENODEV')) throw new NoSuchDeviceError(dev, { cause: err });
    if (isErrno(err, 'EOPNOTSUPP')) throw new NotSupportedError(`driver statistics of ${dev}`, undefined, 'the driver does not implement them', { cause: err });
    throw err;
  } finally {
    fd.close();
  }
  return decodeDriverStats(stats, names);
}
