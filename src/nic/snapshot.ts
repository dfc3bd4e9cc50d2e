// NicSnapshot: everything known about one device at one moment, read through src/kernel (the audit's input).
import { NotSupportedError } from '../errors.js';
import { getChannels, type Channels } from '../kernel/ethtool/channels.js';
import { getCoalesce, type Coalesce } from '../kernel/ethtool/coalesce.js';
import { getDriverInfo, type DriverInfo } from '../kernel/ethtool/drvinfo.js';
import { NoSuchDeviceError } from '../kernel/ethtool/errors.js';
import { EthtoolSocket } from '../kernel/ethtool/ethtool-socket.js';
import { getFeatures, type FeatureState } from '../kernel/ethtool/features.js';
import { getLinkSettings, type LinkSettings } from '../kernel/ethtool/link-settings.js';
import { getRings, type Rings } from '../kernel/ethtool/rings.js';
import { getRss, type Rss } from '../kernel/ethtool/rss.js';
import { getXdpFeatures, type XdpFeatures } from '../kernel/ethtool/xdp-features.js';
import { isErrno, KernelError } from '../kernel/kernel-error.js';
import { queryTc, type TcAttached } from '../kernel/attach/tc.js';
import { getLink as rtGetLink, openRtnetlink, XDP_ATTACHED } from '../kernel/netlink/rtnetlink.js';
import type { Sys } from '../kernel/sys.js';
import { onlineCpus, readDeviceNumber, readIrqs, readQueues, type IrqInfo, type QueueInfo } from './queues.js';
import { readSysctls } from './sysctl.js';

/** How an XDP program is attached, in xdp-loader's words. */
export type XdpMode = 'none' | 'native' | 'generic' | 'offload' | 'multi';

/** The XDP programs on a device (IFLA_XDP). */
export interface XdpAttachment {
  readonly mode: XdpMode;
  /** Program ids per mode, 0 when none. */
  readonly nativeProgId: number;
  readonly genericProgId: number;
  readonly offloadProgId: number;
}

/** Receive counters from /sys/class/net/DEV/statistics (undefined when unreadable). */
export interface RxCounters {
  readonly packets: number | undefined;
  readonly dropped: number | undefined;
  readonly missed: number | undefined;
  readonly fifoErrors: number | undefined;
  readonly overErrors: number | undefined;
}

/** Everything about one device the audit looks at. Sections a device cannot report are undefined, with the reason in `unavailable`. */
export interface NicSnapshot {
  readonly device: string;
  readonly ifindex: number;
  /** Driver name (`ethtool -i`), or the link kind for virtual devices. */
  readonly driver: string | undefined;
  readonly driverInfo: DriverInfo | undefined;
  readonly mtu: number;
  /** Online CPUs. */
  readonly cpus: readonly number[];
  readonly channels: Channels | undefined;
  readonly features: readonly FeatureState[];
  readonly rings: Rings | undefined;
  readonly coalesce: Coalesce | undefined;
  readonly rss: Rss | undefined;
  readonly link: LinkSettings | undefined;
  readonly xdpFeatures: XdpFeatures | undefined;
  readonly xdp: XdpAttachment;
  /** TC programs (TCX links in run order, then cls_bpf filters), ingress then egress. */
  readonly tc: readonly TcAttached[];
  readonly queues: readonly QueueInfo[];
  readonly irqs: readonly IrqInfo[];
  readonly sysctls: Readonly<Record<string, string | undefined>>;
  readonly rx: RxCounters;
  /** Section -> why it is missing (`rings: not supported by the driver`). */
  readonly unavailable: Readonly<Record<string, string>>;
}

/** XDP_ATTACHED_* to xdp-loader's mode word. */
export function xdpModeName(attached: number): XdpMode {
  switch (attached) {
    case XDP_ATTACHED.DRV:
      return 'native';
    case XDP_ATTACHED.SKB:
      return 'generic';
    case XDP_ATTACHED.HW:
      return 'offload';
    case XDP_ATTACHED.MULTI:
      return 'multi';
    default:
      return 'none';
  }
}

/**
 * Reads a snapshot of `dev` in the caller's network namespace. A section the device does not
 * support (rings and RSS on veth) is left undefined with the reason recorded; an unknown device
 * is a {@link NoSuchDeviceError}; other failures propagate.
 */
export function takeSnapshot(sys: Sys, dev: string, sock?: EthtoolSocket): NicSnapshot {
  const own = sock === undefined;
  const s = sock ?? EthtoolSocket.open(sys);
  try {
    return snapshotWith(sys, s, dev);
  } finally {
    if (own) s.close();
  }
}

function snapshotWith(sys: Sys, sock: EthtoolSocket, dev: string): NicSnapshot {
  const unavailable: Record<string, string> = {};
  const optional = <T>(section: string, read: () => T): T | undefined => {
    try {
      return read();
    } catch (e) {
      if (e instanceof NotSupportedError || isErrno(e, 'EOPNOTSUPP')) {
        unavailable[section] = e instanceof NotSupportedError ? e.message : 'not supported';
        return undefined;
      }
      throw e;
    }
  };
  let linkAttrs;
  {
    using rt = openRtnetlink(sys);
    try {
      linkAttrs = rtGetLink(rt, dev);
    } catch (e) {
      if (isErrno(e, 'ENODEV')) throw new NoSuchDeviceError(dev, { cause: e });
      throw e;
    }
  }
  const channels = optional('channels', () => getChannels(sock, dev));
  const features = getFeatures(sock, dev);
  const driverInfo = optional('driver', () => getDriverInfo(sys, dev));
  const xdpFeatures = optional('xdp-features', () => getXdpFeatures(sys, linkAttrs.ifindex));
  let queues: QueueInfo[] = [];
  let irqs: IrqInfo[] = [];
  try {
    queues = readQueues(sys, dev);
    irqs = readIrqs(sys, dev);
  } catch (e) {
    // sysfs shows the namespace it was mounted in: a device of another netns is not there.
    if (!(e instanceof NoSuchDeviceError) && !(e instanceof KernelError)) throw e;
    unavailable['queues'] = `sysfs has no /sys/class/net/${dev} in this mount namespace`;
  }
  const num = (attr: string) => readDeviceNumber(sys, dev, `statistics/${attr}`);
  return {
    device: dev,
    ifindex: linkAttrs.ifindex,
    driver: driverInfo?.driver ?? linkAttrs.kind,
    driverInfo,
    mtu: linkAttrs.mtu,
    cpus: onlineCpus(sys),
    channels,
    features,
    rings: optional('rings', () => getRings(sock, dev)),
    coalesce: optional('coalesce', () => getCoalesce(sock, dev)),
    rss: optional('rss', () => getRss(sock, dev)),
    link: optional('link', () => getLinkSettings(sock, dev)),
    xdpFeatures,
    xdp: {
      mode: xdpModeName(linkAttrs.xdp.attached),
      nativeProgId: linkAttrs.xdp.drvProgId,
      genericProgId: linkAttrs.xdp.skbProgId,
      offloadProgId: linkAttrs.xdp.hwProgId,
    },
    tc: optional('tc', () => queryTc(sys, linkAttrs.ifindex)) ?? [],
    queues,
    irqs,
    sysctls: readSysctls(sys),
    rx: { packets: num('rx_packets'), dropped: num('rx_dropped'), missed: num('rx_missed_errors'), fifoErrors: num('rx_fifo_errors'), overErrors: num('rx_over_errors') },
    unavailable,
  };
}
