// The ethtool request header (device by name or index, flags) every ethtool message starts with.
import type { AttrWriter, Attrs } from '../netlink/attributes.js';
import { EthtoolHeader } from './ethtool.generated.js';

/** A network device, by name (`'eth0'`) or ifindex. */
export type DeviceRef = string | number;

/** Writes the nested ETHTOOL_A_*_HEADER (always attribute type 1) for `dev` with `flags` (EthtoolFlag bits). */
export function writeHeader(w: AttrWriter, dev: DeviceRef, flags = 0, type = 1): AttrWriter {
  return w.nested(type, (h) => {
    if (typeof dev === 'number') h.u32(EthtoolHeader.DEV_INDEX, dev);
    else h.string(EthtoolHeader.DEV_NAME, dev);
    if (flags !== 0) h.u32(EthtoolHeader.FLAGS, flags);
  });
}

/** The device a reply is about (its header's index and name). */
export interface ReplyDevice {
  readonly ifindex: number | undefined;
  readonly name: string | undefined;
}

/** Reads the header nested in a reply at attribute type `type` (1 for every ethtool message except STATS). */
export function readHeader(attrs: Attrs, type = 1): ReplyDevice {
  const h = attrs.nested(type);
  return { ifindex: h?.u32(EthtoolHeader.DEV_INDEX), name: h?.string(EthtoolHeader.DEV_NAME) };
}
