// Standard statistics groups (IEEE 802.3 PHY/MAC/control, RMON): ETHTOOL_MSG_STATS_GET, `ethtool -S DEV --all-groups`.
import { AttrWriter, parseAttrs, type Attrs } from '../netlink/attributes.js';
import { NLA_F_NESTED } from '../netlink/attributes.js';
import { encodeCompactBitset } from './bitset.js';
import { EthStringset, EthtoolMsg, EthtoolStats, EthtoolStatsGroup, EthtoolStatsGrp } from './ethtool.generated.js';
import type { EthtoolSocket } from './ethtool-socket.js';
import type { DeviceRef } from './header.js';

/** One group's counters, by the names of the group's string set (`FramesTransmittedOK`...). */
export interface StatsGroup {
  /** `eth-phy`, `eth-mac`, `eth-ctrl`, `rmon`, `phy` (ETH_SS_STATS_STD). */
  readonly group: string;
  readonly counters: ReadonlyMap<string, bigint>;
}

/** Decodes a STATS_GET reply; `groupNames` is ETH_SS_STATS_STD, `statNames(ssId)` a group's string set. */
export function decodeStdStats(a: Attrs, groupNames: readonly string[], statNames: (ssId: number) => readonly string[]): StatsGroup[] {
  const out: StatsGroup[] = [];
  for (const [type, payload] of a) {
    if (type !== EthtoolStats.GRP) continue;
    const g = parseAttrs(payload);
    const id = g.u32(EthtoolStatsGrp.ID) ?? 0;
    const names = statNames(g.u32(EthtoolStatsGrp.SS_ID) ?? 0);
    const counters = new Map<string, bigint>();
    const stat = g.nested(EthtoolStatsGrp.STAT);
    for (const [idx, value] of stat ?? []) {
      if (value.length !== 8) continue;
      counters.set(names[idx] ?? `stat-${idx}`, new DataView(value.buffer, value.byteOffset, 8).getBigUint64(0, true));
    }
    out.push({ group: groupNames[id] ?? `group-${id}`, counters });
  }
  return out;
}

/**
 * Reads every standard statistics group `dev` reports (`ethtool -S DEV --all-groups`). A driver
 * that reports none gives an empty list.
 */
export function getStdStats(sock: EthtoolSocket, dev: DeviceRef): StatsGroup[] {
  const ngroups = Object.keys(EthtoolStatsGroup).length;
  const attrs = sock.get(
    EthtoolMsg.STATS_GET,
    'standard statistics',
    dev,
    0,
    (w: AttrWriter) => w.bytes(EthtoolStats.GROUPS | NLA_F_NESTED, encodeCompactBitset(new Array<boolean>(ngroups).fill(true))),
    EthtoolStats.HEADER,
  );
  return decodeStdStats(attrs, sock.strings(EthStringset.STATS_STD), (ss) => sock.strings(ss));
}
