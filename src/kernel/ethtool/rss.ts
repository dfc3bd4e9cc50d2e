// RSS: the indirection table, hash key and hash function (ETHTOOL_MSG_RSS_GET/SET, `ethtool -x/-X`).
import type { AttrWriter, Attrs } from '../netlink/attributes.js';
import { InvalidArgumentError } from '../bpf/input-errors.js';
import { EthStringset, EthtoolMsg, EthtoolRss } from './ethtool.generated.js';
import type { EthtoolSocket } from './ethtool-socket.js';
import type { DeviceRef } from './header.js';
import { getRssIoctl, setRssIoctl } from './rss-ioctl.js';

/** A device's RSS configuration (context 0 unless asked). */
export interface Rss {
  readonly context: number;
  /** Hash function bits (ETH_RSS_HASH_*: bit i is string i of ETH_SS_RSS_HASH_FUNCS). */
  readonly hfunc: number;
  /** The names of the set hfunc bits (`toeplitz`, `xor`, `crc32`). */
  readonly hfuncNames: readonly string[];
  /** Indirection table: entry i is the rx queue for hash bucket i. Empty when the device has none. */
  readonly indir: readonly number[];
  /** The hash key. */
  readonly hkey: Uint8Array;
  /** Input transformation bits (RXH_XFRM_*), when reported. */
  readonly inputXfrm?: number;
}

/** What to change: a new table (empty = back to the driver's default), key, and/or hash function bits. */
export interface RssChange {
  context?: number;
  indir?: readonly number[];
  hkey?: Uint8Array;
  hfunc?: number;
}

/** Decodes an RSS_GET reply; `funcs` is the ETH_SS_RSS_HASH_FUNCS string set. */
export function decodeRss(a: Attrs, funcs: readonly string[]): Rss {
  const hfunc = a.u32(EthtoolRss.HFUNC) ?? 0;
  const raw = a.get(EthtoolRss.INDIR) ?? new Uint8Array(0);
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const indir: number[] = [];
  for (let i = 0; i + 4 <= raw.length; i += 4) indir.push(v.getUint32(i, true));
  const xfrm = a.u32(EthtoolRss.INPUT_XFRM);
  return {
    context: a.u32(EthtoolRss.CONTEXT) ?? 0,
    hfunc,
    hfuncNames: funcs.filter((_, i) => (hfunc >>> i) & 1),
    indir,
    hkey: (a.get(EthtoolRss.HKEY) ?? new Uint8Array(0)).slice(),
    ...(xfrm === undefined ? {} : { inputXfrm: xfrm }),
  };
}

/** Writes the RSS_SET attributes for `change`. */
export function encodeRssChange(w: AttrWriter, change: RssChange): AttrWriter {
  if (change.context !== undefined && change.context !== 0) w.u32(EthtoolRss.CONTEXT, change.context);
  if (change.hfunc !== undefined) w.u32(EthtoolRss.HFUNC, change.hfunc);
  if (change.indir !== undefined) {
    const b = new Uint8Array(change.indir.length * 4);
    const v = new DataView(b.buffer);
    change.indir.forEach((q, i) => {
      if (!Number.isInteger(q) || q < 0 || q > 0xffffffff) throw new InvalidArgumentError('indirection table', `entry ${i} = ${q} is not a queue number`);
      v.setUint32(i * 4, q, true);
    });
    w.bytes(EthtoolRss.INDIR, b);
  }
  if (change.hkey !== undefined) w.bytes(EthtoolRss.HKEY, change.hkey);
  return w;
}

/** An indirection table of `size` entries spread evenly over queues 0..n-1 (`ethtool -X DEV equal N`). */
export function equalTable(size: number, n: number): number[] {
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('equal', `${n} is not a queue count`);
  return Array.from({ length: size }, (_, i) => i % n);
}

/**
 * An indirection table of `size` entries spread over queues in proportion to `weights`
 * (`ethtool -X DEV weight 1 2 ...`), with ethtool's own rounding.
 */
export function weightTable(size: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((s, w) => s + w, 0);
  if (weights.some((w) => !Number.isInteger(w) || w < 0) || sum === 0) throw new InvalidArgumentError('weight', 'weights must be non-negative integers, not all zero');
  const out: number[] = [];
  let partial = 0;
  let j = -1;
  for (let i = 0; i < size; i++) {
    while (i >= Math.floor((size * partial) / sum)) {
      j += 1;
      partial += weights[j]!;
    }
    out.push(j);
  }
  return out;
}

/**
 * Reads RSS of `dev` (`ethtool -x`); a device without RSS gives NotSupportedError. Kernels
 * without ETHTOOL_MSG_RSS_GET (< 5.12) are read through the SIOCETHTOOL ioctl instead.
 */
export function getRss(sock: EthtoolSocket, dev: DeviceRef, context = 0): Rss {
  if (!sock.has(EthtoolMsg.RSS_GET) && typeof dev === 'string') return getRssIoctl(sock.sys, dev, sock.strings(EthStringset.RSS_HASH_FUNCS), context);
  const attrs = sock.get(EthtoolMsg.RSS_GET, 'RSS', dev, 0, (w) => {
    if (context !== 0) w.u32(EthtoolRss.CONTEXT, context);
  });
  return decodeRss(attrs, sock.strings(EthStringset.RSS_HASH_FUNCS));
}

/**
 * Sets RSS of `dev` (`ethtool -X`) through ETHTOOL_MSG_RSS_SET (kernel >= 6.16), or through the
 * SIOCETHTOOL ioctl (ETHTOOL_SRSSH) on kernels whose family lacks it.
 */
export function setRss(sock: EthtoolSocket, dev: DeviceRef, change: RssChange): void {
  if (!sock.has(EthtoolMsg.RSS_SET) && typeof dev === 'string') return setRssIoctl(sock.sys, dev, change);
  sock.set(EthtoolMsg.RSS_SET, 'RSS', dev, (w) => encodeRssChange(w, change));
}
