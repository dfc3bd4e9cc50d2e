// Channels (queues) of a device: ETHTOOL_MSG_CHANNELS_GET/SET, what `ethtool -l/-L` shows and sets.
import type { AttrWriter, Attrs } from '../netlink/attributes.js';
import { InvalidArgumentError } from '../bpf/input-errors.js';
import { EthtoolChannels, EthtoolMsg } from './ethtool.generated.js';
import type { EthtoolSocket } from './ethtool-socket.js';
import type { DeviceRef } from './header.js';

/** Channel counts: the pre-set maximums and the current settings. A maximum of 0 means "n/a" (ethtool's word). */
export interface Channels {
  readonly rxMax: number;
  readonly txMax: number;
  readonly otherMax: number;
  readonly combinedMax: number;
  readonly rx: number;
  readonly tx: number;
  readonly other: number;
  readonly combined: number;
}

/** Counts to set; the ones left out stay as they are. */
export interface ChannelsChange {
  rx?: number;
  tx?: number;
  other?: number;
  combined?: number;
}

/** The kinds of channel, in ethtool's order. */
export const CHANNEL_KINDS = ['rx', 'tx', 'other', 'combined'] as const;

/** Decodes a CHANNELS_GET reply (absent attributes read as 0: the driver has none of that kind). */
export function decodeChannels(a: Attrs): Channels {
  const n = (t: number) => a.u32(t) ?? 0;
  return {
    rxMax: n(EthtoolChannels.RX_MAX),
    txMax: n(EthtoolChannels.TX_MAX),
    otherMax: n(EthtoolChannels.OTHER_MAX),
    combinedMax: n(EthtoolChannels.COMBINED_MAX),
    rx: n(EthtoolChannels.RX_COUNT),
    tx: n(EthtoolChannels.TX_COUNT),
    other: n(EthtoolChannels.OTHER_COUNT),
    combined: n(EthtoolChannels.COMBINED_COUNT),
  };
}

/** Writes the CHANNELS_SET attributes for `change` (after the header). */
export function encodeChannelsChange(w: AttrWriter, change: ChannelsChange): AttrWriter {
  const ids = { rx: EthtoolChannels.RX_COUNT, tx: EthtoolChannels.TX_COUNT, other: EthtoolChannels.OTHER_COUNT, combined: EthtoolChannels.COMBINED_COUNT };
  for (const k of CHANNEL_KINDS) {
    const v = change[k];
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new InvalidArgumentError(`${k} channels`, `${v} is not a count`);
    w.u32(ids[k], v);
  }
  return w;
}

/** Reads the channels of `dev` (`ethtool -l`). */
export function getChannels(sock: EthtoolSocket, dev: DeviceRef): Channels {
  return decodeChannels(sock.get(EthtoolMsg.CHANNELS_GET, 'channels', dev));
}

/** Sets channel counts of `dev` (`ethtool -L`); a count over the maximum fails with the kernel's extack text. */
export function setChannels(sock: EthtoolSocket, dev: DeviceRef, change: ChannelsChange): void {
  sock.set(EthtoolMsg.CHANNELS_SET, 'channels', dev, (w) => encodeChannelsChange(w, change));
}
