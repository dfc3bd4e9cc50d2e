// Offload features of a device: ETHTOOL_MSG_FEATURES_GET/SET with names from the ETH_SS_FEATURES string set.
import type { AttrWriter, Attrs } from '../netlink/attributes.js';
import { decodeBitset, writeNamedBits } from './bitset.js';
import { EthStringset, EthtoolFeatures, EthtoolFlag, EthtoolMsg } from './ethtool.generated.js';
import type { EthtoolSocket } from './ethtool-socket.js';
import type { DeviceRef } from './header.js';

/** One feature as `ethtool -k` shows it. */
export interface FeatureState {
  /** The kernel's string (`rx-gro`, `tx-tcp-segmentation`). */
  readonly name: string;
  /** On now. */
  readonly active: boolean;
  /** What was asked for (differs from `active` when a dependency holds it: "[requested on]"). */
  readonly wanted: boolean;
  /** The driver lets it be changed (in hw_features); false is ethtool's "[fixed]". */
  readonly changeable: boolean;
  /** The kernel never changes it by itself (netns-local, ...). */
  readonly noChange: boolean;
}

/** Decodes a FEATURES_GET reply in compact form, naming bits from `names` (ETH_SS_FEATURES). */
export function decodeFeatures(a: Attrs, names: readonly string[]): FeatureState[] {
  const set = (t: number) => {
    const nested = a.nested(t);
    return nested ? decodeBitset(nested, 'ETHTOOL_MSG_FEATURES_GET').values : [];
  };
  const hw = set(EthtoolFeatures.HW);
  const wanted = set(EthtoolFeatures.WANTED);
  const active = set(EthtoolFeatures.ACTIVE);
  const nochange = set(EthtoolFeatures.NOCHANGE);
  const out: FeatureState[] = [];
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (name === '') continue;
    out.push({ name, active: active[i] ?? false, wanted: wanted[i] ?? false, changeable: hw[i] ?? false, noChange: nochange[i] ?? false });
  }
  return out;
}

/** Reads the features of `dev` (`ethtool -k`). */
export function getFeatures(sock: EthtoolSocket, dev: DeviceRef): FeatureState[] {
  const names = sock.strings(EthStringset.FEATURES, dev);
  return decodeFeatures(sock.get(EthtoolMsg.FEATURES_GET, 'features', dev, EthtoolFlag.COMPACT_BITSETS), names);
}

/** Writes the FEATURES_SET attributes: WANTED as a verbose bit set of the named features. */
export function encodeFeaturesChange(w: AttrWriter, change: ReadonlyMap<string, boolean>): AttrWriter {
  return writeNamedBits(w, EthtoolFeatures.WANTED, change);
}

/**
 * Asks for features by kernel name (`ethtool -K`). The kernel may leave some as they were (a
 * dependency, a fixed feature): read them back with {@link getFeatures} to see what took.
 */
export function setFeatures(sock: EthtoolSocket, dev: DeviceRef, change: ReadonlyMap<string, boolean>): void {
  if (change.size === 0) return;
  sock.set(EthtoolMsg.FEATURES_SET, 'features', dev, (w) => encodeFeaturesChange(w, change));
}
