// What XDP a device can do: the netdev family's NETDEV_CMD_DEV_GET (xdp-features, as `xdp-loader features` shows).
import { AttrWriter, type Attrs } from '../netlink/attributes.js';
import { GenlSocket } from '../netlink/genl.js';
import type { Sys } from '../sys.js';
import { EthtoolReplyError } from './errors.js';
import { ethtoolError } from './ethtool-socket.js';
import { NetdevCmd, NetdevDev, NetdevXdpAct, NetdevXdpRxMetadata, NetdevXskFlags } from './ethtool.generated.js';

/** A device's XDP capabilities. */
export interface XdpFeatures {
  readonly ifindex: number;
  /** NETDEV_XDP_ACT_* bits. */
  readonly flags: number;
  /** Their names in the kernel's spelling, lower case with dashes (`basic`, `redirect`, `ndo-xmit`, `xsk-zerocopy`, `hw-offload`, `rx-sg`, `ndo-xmit-sg`). */
  readonly names: readonly string[];
  /** Largest number of fragments in zero-copy AF_XDP (0 or 1: no multi-buffer). */
  readonly zcMaxSegs: number | undefined;
  /** RX metadata kfuncs the driver implements (`timestamp`, `hash`, `vlan-tag`). */
  readonly rxMetadata: readonly string[];
  /** AF_XDP zero-copy features (`tx-timestamp`, `tx-checksum`...). */
  readonly xsk: readonly string[];
}

const dashed = (k: string) => k.toLowerCase().replace(/_/g, '-');

function namesOf(table: Readonly<Record<string, number>>, flags: number): string[] {
  return Object.entries(table)
    .filter(([k, v]) => k !== 'MASK' && v !== 0 && (flags & v) === v)
    .map(([k]) => dashed(k));
}

/** Decodes a NETDEV_CMD_DEV_GET reply. */
export function decodeXdpFeatures(a: Attrs): XdpFeatures {
  const flags = Number(a.u64(NetdevDev.XDP_FEATURES) ?? 0n);
  const meta = Number(a.u64(NetdevDev.XDP_RX_METADATA_FEATURES) ?? 0n);
  const xsk = Number(a.u64(NetdevDev.XSK_FEATURES) ?? 0n);
  return {
    ifindex: a.u32(NetdevDev.IFINDEX) ?? 0,
    flags,
    names: namesOf(NetdevXdpAct, flags),
    zcMaxSegs: a.u32(NetdevDev.XDP_ZC_MAX_SEGS),
    rxMetadata: namesOf(NetdevXdpRxMetadata, meta),
    xsk: namesOf(NetdevXskFlags, xsk),
  };
}

/** True when the flags allow native (driver) XDP: NETDEV_XDP_ACT_BASIC. */
export function supportsNativeXdp(f: XdpFeatures): boolean {
  return (f.flags & NetdevXdpAct.BASIC) !== 0;
}

/** Reads the XDP features of the device with `ifindex` (kernel >= 6.3). */
export function getXdpFeatures(sys: Sys, ifindex: number): XdpFeatures {
  using sock = GenlSocket.open(sys, 'netdev', { minKernel: '6.3', cmdName: (c) => (c === NetdevCmd.DEV_GET ? 'NETDEV_CMD_DEV_GET' : `NETDEV_CMD ${c}`) });
  try {
    const replies = sock.request(NetdevCmd.DEV_GET, 0, new AttrWriter().u32(NetdevDev.IFINDEX, ifindex).finish());
    const first = replies[0];
    if (!first) throw new EthtoolReplyError('NETDEV_CMD_DEV_GET', 'no reply message');
    return decodeXdpFeatures(first.attrs);
  } catch (err) {
    throw ethtoolError(err, 'XDP features', `ifindex ${ifindex}`);
  }
}
