// RSS through SIOCETHTOOL (ETHTOOL_GRSSH/SRSSH), for kernels whose ethtool netlink lacks RSS_GET (< 5.12) or RSS_SET (< 6.16).
//
//   struct ethtool_rxfh (24 bytes, then rss_config[]):
//   0      4             8            12          16      17           18      20       24
//   | cmd  | rss_context | indir_size | key_size  | hfunc | input_xfrm | rsvd8 | rsvd32 | indir u32[indir_size], key u8[key_size]
import { NotSupportedError } from '../../errors.js';
import { Fd } from '../fd.js';
import { isErrno } from '../kernel-error.js';
import type { Sys } from '../sys.js';
import { SIOCETHTOOL } from './drvinfo.js';
import { NoSuchDeviceError } from './errors.js';
import type { Rss, RssChange } from './rss.js';

/** `ETHTOOL_GRSSH` (linux/ethtool.h): get the RSS table, key and hash function. */
export const ETHTOOL_GRSSH = 0x46;
/** `ETHTOOL_SRSSH` (linux/ethtool.h): set them. */
export const ETHTOOL_SRSSH = 0x47;
/** `sizeof(struct ethtool_rxfh)` without rss_config. */
export const RXFH_HDR = 24;
/** `ETH_RXFH_INDIR_NO_CHANGE`: leave the table as it is. */
export const ETH_RXFH_INDIR_NO_CHANGE = 0xffffffff;

function ioctlRxfh(sys: Sys, dev: string, buf: Uint8Array, what: string): void {
  const name = new TextEncoder().encode(dev);
  if (name.length === 0 || name.length > 15) throw new NoSuchDeviceError(dev);
  const ifreq = new Uint8Array(40);
  ifreq.set(name, 0);
  const fd = new Fd(sys, sys.socket(2 /* AF_INET */, 2 /* SOCK_DGRAM */ | 0o2000000 /* SOCK_CLOEXEC */, 0), 'socket');
  try {
    sys.ioctl(fd.raw, SIOCETHTOOL, ifreq, [{ offset: 16, target: buf, direction: 'inout' }]);
  } catch (err) {
    if (isErrno(err, 'ENODEV')) throw new NoSuchDeviceError(dev, { cause: err });
    if (isErrno(err, 'EOPNOTSUPP')) throw new NotSupportedError(`${what} of ${dev}`, undefined, 'the driver does not implement it', { cause: err });
    throw err;
  } finally {
    fd.close();
  }
}

/** Encodes `struct ethtool_rxfh` for `cmd` with the table and key (sizes from them). */
export function encodeRxfh(cmd: number, context: number, indir: readonly number[] | undefined, key: Uint8Array | undefined, hfunc: number): Uint8Array {
  const n = indir?.length ?? 0;
  const k = key?.length ?? 0;
  const buf = new Uint8Array(RXFH_HDR + n * 4 + k);
  const v = new DataView(buf.buffer);
  v.setUint32(0, cmd, true);
  v.setUint32(4, context, true);
  v.setUint32(8, indir === undefined ? ETH_RXFH_INDIR_NO_CHANGE : n, true);
  v.setUint32(12, k, true);
  buf[16] = hfunc;
  indir?.forEach((q, i) => v.setUint32(RXFH_HDR + i * 4, q, true));
  if (key) buf.set(key, RXFH_HDR + n * 4);
  return buf;
}

/** Decodes a filled `struct ethtool_rxfh`; `funcs` names the hfunc bits. */
export function decodeRxfh(buf: Uint8Array, funcs: readonly string[]): Rss {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = v.getUint32(8, true);
  const k = v.getUint32(12, true);
  const hfunc = buf[16]!;
  const indir = Array.from({ length: n }, (_, i) => v.getUint32(RXFH_HDR + i * 4, true));
  return { context: v.getUint32(4, true), hfunc, hfuncNames: funcs.filter((_, i) => (hfunc >>> i) & 1), indir, hkey: buf.slice(RXFH_HDR + n * 4, RXFH_HDR + n * 4 + k), inputXfrm: buf[17]! };
}

/** Reads RSS through ETHTOOL_GRSSH: once for the sizes, once for the contents. */
export function getRssIoctl(sys: Sys, dev: string, funcs: readonly string[], context = 0): Rss {
  const sizes = encodeRxfh(ETHTOOL_GRSSH, context, [], undefined, 0);
  ioctlRxfh(sys, dev, sizes, 'RSS');
  const sv = new DataView(sizes.buffer);
  const n = sv.getUint32(8, true);
  const k = sv.getUint32(12, true);
  if (n > 65536 || k > 1024) throw new NotSupportedError(`RSS of ${dev}`, undefined, `implausible sizes from the driver (table ${n}, key ${k})`);
  const full = encodeRxfh(ETHTOOL_GRSSH, context, new Array<number>(n).fill(0), new Uint8Array(k), 0);
  ioctlRxfh(sys, dev, full, 'RSS');
  return decodeRxfh(full, funcs);
}

/**
 * Sets RSS through ETHTOOL_SRSSH: the table (an empty one resets to the driver's default), the
 * key (must be the device's key size), and the hash function bits (0: unchanged).
 */
export function setRssIoctl(sys: Sys, dev: string, change: RssChange): void {
  const buf = encodeRxfh(ETHTOOL_SRSSH, change.context ?? 0, change.indir, change.hkey, change.hfunc ?? 0);
  ioctlRxfh(sys, dev, buf, 'set RSS');
}
