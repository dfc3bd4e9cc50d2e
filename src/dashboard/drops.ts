// Packet drops by reason for /metrics: read from every `bpfkit trace drops` counter (map bpfkit_drops) alive in the kernel.
import { DROP_KEY_SIZE, DROP_MAP_NAME, dropReasonNames, mapFdById, MapType, readDropMap, vmlinuxBtf, type MapInfo, type Sys } from '../kernel/index.js';
import type { Sample } from './prometheus.js';

/** Drops of one reason, summed over every drop counter. */
export interface DropReasonCount {
  /** Reason without the `SKB_DROP_REASON_` prefix (`'NO_SOCKET'`). */
  readonly reason: string;
  readonly count: number;
}

/** Whether map `info` is a drop counter made by `bpfkit trace drops` / `DropWatch`. */
export function isDropCounter(info: MapInfo): boolean {
  return info.name === DROP_MAP_NAME && info.type === MapType.HASH && info.keySize === DROP_KEY_SIZE && info.valueSize === 8;
}

/** Adds the drops of counter map `mapId` to `byReason`. */
export function addDropCounts(sys: Sys, mapId: number, byReason: Map<string, number>): void {
  using map = mapFdById(sys, mapId);
  for (const row of readDropMap(map, dropReasonNames(vmlinuxBtf(sys)), undefined)) byReason.set(row.reason, (byReason.get(row.reason) ?? 0) + row.count);
}

/** `bpfkit_packet_drops_total{reason}` samples, most frequent reason first. */
export function dropSamples(drops: readonly DropReasonCount[]): Sample[] {
  return drops.map((d) => ({ labels: { reason: d.reason }, value: d.count }));
}
