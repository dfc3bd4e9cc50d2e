// DropWatch: counts the kernel's packet drops (skb:kfree_skb) by reason, location, device and flow, through a raw tracepoint link.
import { encode } from '../../isa/encode.js';
import { BpfkitError } from '../../errors.js';
import { resolveInterface } from '../attach/interface.js';
import { attachRawTracepoint, type TracingLink } from '../attach/tracing.js';
import { MapType, ProgType } from '../bpf/constants.js';
import { createMap } from '../bpf/map-create.js';
import type { MapFd } from '../bpf/map-fd.js';
import { keys, lookupElem } from '../bpf/map-elem.js';
import { mapInfo } from '../bpf/obj-info.js';
import { pinObject } from '../bpf/obj-pin.js';
import { loadProgram } from '../bpf/prog-load.js';
import { openRtnetlink } from '../netlink/rtnetlink.js';
import { vmlinuxBtf } from '../object/vmlinux.js';
import type { Sys } from '../sys.js';
import { dropProgram, dropProgramLayout, DROP_KEY_SIZE, DropKey } from './drop-program.js';
import { dropReasonNames } from './drop-reasons.js';
import { Kallsyms } from './kallsyms.js';

/** Name of the map counting drops (the dashboard finds drop counters by it). */
export const DROP_MAP_NAME = 'bpfkit_drops';
/** Name of the drop-counting program. */
export const DROP_PROG_NAME = 'bpfkit_drops';

/** One aggregated drop row: where and why, and how many. */
export interface DropRecord {
  /** Reason without the `SKB_DROP_REASON_` prefix (`'NO_SOCKET'`), or `'reason N'` when unknown. */
  readonly reason: string;
  /** `enum skb_drop_reason` value. */
  readonly reasonCode: number;
  /** `symbol+0xoff` of the code that dropped the packet (from /proc/kallsyms). */
  readonly location: string;
  /** The device (`skb->dev`), `''` when none. */
  readonly dev: string;
  /** Its ifindex (in its own namespace), 0 when none. */
  readonly ifindex: number;
  /** The device's network namespace, as the inode number of /proc/PID/ns/net (0 when no device). */
  readonly netns: number;
  /** `'udp'`, `'tcp'`, `'icmp'`, `'ipv4'` (other IP), `'arp'`, `'0x88cc'`... */
  readonly protocol: string;
  /** Source and destination address (IPv4 or IPv6), when the packet is IP. */
  readonly saddr?: string;
  readonly daddr?: string;
  /** Ports, for TCP, UDP and SCTP. */
  readonly sport?: number;
  readonly dport?: number;
  /** Drops counted. */
  readonly count: number;
}

/** The map given is not a drop counter made by {@link DropWatch}. */
export class NotADropMapError extends BpfkitError {
  constructor(readonly mapId: number) {
    super('ERR_NOT_A_DROP_MAP', `map ${mapId} is not a ${DROP_MAP_NAME} drop counter (a hash of ${DROP_KEY_SIZE}-byte keys and u64 counts)`);
  }
}

const L4: Record<number, string> = { 1: 'icmp', 2: 'igmp', 6: 'tcp', 17: 'udp', 47: 'gre', 50: 'esp', 58: 'icmpv6', 132: 'sctp' };
const ETH: Record<number, string> = { 0x0800: 'ipv4', 0x86dd: 'ipv6', 0x0806: 'arp', 0x8100: 'vlan', 0x88cc: 'lldp', 0x8847: 'mpls' };

function ipText(bytes: Uint8Array, version: number): string {
  if (version === 4) return Array.from(bytes.subarray(0, 4)).join('.');
  const words = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] as number) << 8) | (bytes[2 * i + 1] as number));
  // RFC 5952: the longest run of zero words (two or more) becomes '::'.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** Decodes a drop key and its count into a row. */
export function decodeDrop(key: Uint8Array, count: number, reasons: ReadonlyMap<number, string>, syms: Kallsyms | undefined): DropRecord {
  const v = new DataView(key.buffer, key.byteOffset, key.byteLength);
  const code = v.getUint32(DropKey.reason, true);
  const addr = v.getBigUint64(DropKey.location, true);
  const nameBytes = key.subarray(DropKey.dev, DropKey.dev + 16);
  const end = nameBytes.indexOf(0);
  const dev = new TextDecoder().decode(nameBytes.subarray(0, end < 0 ? 16 : end));
  const eth = v.getUint16(DropKey.ethProto, false);
  const version = v.getUint8(DropKey.ipVersion);
  const l4 = v.getUint8(DropKey.l4Proto);
  const ip = version === 4 || version === 6;
  const protocol = ip ? (L4[l4] ?? `ip proto ${l4}`) : (ETH[eth] ?? `0x${eth.toString(16).padStart(4, '0')}`);
  const ports = ip && (l4 === 6 || l4 === 17 || l4 === 132);
  return {
    reason: reasons.get(code) ?? `reason ${code}`,
    reasonCode: code,
    location: syms && syms.size > 0 ? syms.symbolize(addr) : `0x${addr.toString(16)}`,
    dev,
    ifindex: v.getUint32(DropKey.ifindex, true),
    netns: v.getUint32(DropKey.netns, true),
    protocol,
    ...(ip ? { saddr: ipText(key.subarray(DropKey.saddr, DropKey.saddr + 16), version), daddr: ipText(key.subarray(DropKey.daddr, DropKey.daddr + 16), version) } : {}),
    ...(ports ? { sport: v.getUint16(DropKey.sport, false), dport: v.getUint16(DropKey.dport, false) } : {}),
    count,
  };
}

/** Reads every row of a drop-counting map (one of {@link DropWatch}'s, or a pinned one). */
export function readDropMap(map: MapFd, reasons: ReadonlyMap<number, string>, syms: Kallsyms | undefined): DropRecord[] {
  const info = mapInfo(map);
  if (info.type !== MapType.HASH || info.keySize !== DROP_KEY_SIZE || info.valueSize !== 8) throw new NotADropMapError(info.id);
  const out: DropRecord[] = [];
  for (const key of keys(map)) {
    const value = lookupElem(map, key);
    if (!value) continue; // deleted meanwhile
    out.push(decodeDrop(key, Number(new DataView(value.buffer, value.byteOffset).getBigUint64(0, true)), reasons, syms));
  }
  return out.sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason) || a.location.localeCompare(b.location));
}

/** Options of {@link DropWatch.start}. */
export interface DropWatchOptions {
  /** Count only drops on this interface (name or index in this process's network namespace). */
  readonly dev?: string | number;
  /**
   * The inode number of this process's network namespace (`stat -L -c %i /proc/self/ns/net`), so
   * `dev` matches only there (ifindex 1 is `lo` in every namespace). Without it, drops on a device
   * with the same index and name in any namespace count.
   */
  readonly netns?: number;
  /** Distinct keys the counter holds (default 16384); drops of further keys are not counted. */
  readonly maxEntries?: number;
}

/**
 * Counts drops from the moment it starts: a hash map, a raw tracepoint program built for the
 * running kernel and its link on `kfree_skb`. `read()` returns the rows so far; `close()`
 * (or `using`) detaches and frees everything unless `pin()` kept it.
 */
export class DropWatch implements Disposable {
  /** The counting map. */
  readonly map: MapFd;
  /** The raw tracepoint link. */
  readonly link: TracingLink;
  /** Drop reason names of the running kernel. */
  readonly reasons: ReadonlyMap<number, string>;
  /** The interface filter: its name and index, when given. */
  readonly dev: { readonly name: string; readonly ifindex: number; readonly netns?: number } | undefined;
  readonly #syms: Kallsyms;

  private constructor(map: MapFd, link: TracingLink, reasons: ReadonlyMap<number, string>, syms: Kallsyms, dev: { name: string; ifindex: number; netns?: number } | undefined) {
    this.map = map;
    this.link = link;
    this.reasons = reasons;
    this.#syms = syms;
    this.dev = dev;
  }

  /** Builds the program for this kernel, loads it and attaches it to the `kfree_skb` raw tracepoint. */
  static start(sys: Sys, options: DropWatchOptions = {}): DropWatch {
    const btf = vmlinuxBtf(sys);
    const layout = dropProgramLayout(btf);
    const reasons = dropReasonNames(btf);
    const syms = Kallsyms.read(sys);
    let dev: { name: string; ifindex: number; netns?: number } | undefined;
    if (options.dev !== undefined) {
      using sock = openRtnetlink(sys);
      const d = resolveInterface(sock, options.dev);
      dev = { name: d.name, ifindex: d.ifindex, ...(options.netns !== undefined ? { netns: options.netns } : {}) };
    }
    const map = createMap(sys, { type: MapType.HASH, keySize: DROP_KEY_SIZE, valueSize: 8, maxEntries: options.maxEntries ?? 16384, name: DROP_MAP_NAME });
    try {
      using prog = loadProgram(sys, { type: ProgType.RAW_TRACEPOINT, insns: encode(dropProgram(layout, map.raw, dev)), license: 'GPL', name: DROP_PROG_NAME });
      const link = attachRawTracepoint(sys, prog, 'kfree_skb');
      return new DropWatch(map, link, reasons, syms, dev);
    } catch (err) {
      map.close();
      throw err;
    }
  }

  /** Rows counted so far (for `dev`, only its drops: same ifindex and same name), most frequent first. */
  read(): DropRecord[] {
    const rows = readDropMap(this.map, this.reasons, this.#syms);
    const dev = this.dev;
    return dev ? rows.filter((r) => r.dev === dev.name && (dev.netns === undefined || r.netns === dev.netns)) : rows;
  }

  /** Pins the link at `dir/link` and the map at `dir/drops`, so counting goes on after this process (remove `dir` to stop). */
  pin(dir: string): void {
    pinObject(this.map, `${dir}/drops`);
    this.link.pin(`${dir}/link`);
  }

  /** Detaches (unless pinned) and closes the map. */
  close(): void {
    this.link.close();
    this.map.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
