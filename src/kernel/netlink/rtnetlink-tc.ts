// rtnetlink traffic control: the clsact qdisc and cls_bpf filters (RTM_{NEW,DEL,GET}QDISC / TFILTER).
import { AttrWriter, parseAttrs } from './attributes.js';
import { NLM_F, type NetlinkMessage } from './message.js';
import { NetlinkError, NetlinkParseError } from './netlink-error.js';
import { RTM } from './rtnetlink.js';
import type { NetlinkSocket } from './socket.js';

/** `TCA_*` attributes of qdisc and filter messages (include/uapi/linux/rtnetlink.h). */
export const TCA = { KIND: 1, OPTIONS: 2, STATS: 3, XSTATS: 4, CHAIN: 11, HW_OFFLOAD: 12 } as const;

/** `TCA_BPF_*` options of the cls_bpf classifier (include/uapi/linux/pkt_cls.h). */
export const TCA_BPF = { ACT: 1, POLICE: 2, CLASSID: 3, OPS_LEN: 4, OPS: 5, FD: 6, NAME: 7, FLAGS: 8, FLAGS_GEN: 9, TAG: 10, ID: 11 } as const;

/** `TCA_BPF_FLAG_ACT_DIRECT`: the program's return value is the action (direct-action mode). */
export const TCA_BPF_FLAG_ACT_DIRECT = 1;

/** `TCA_CLS_FLAGS_*` (TCA_BPF_FLAGS_GEN): skip hardware / software, reported in hardware. */
export const TCA_CLS_FLAGS = { SKIP_HW: 1, SKIP_SW: 2, IN_HW: 4, NOT_IN_HW: 8 } as const;

/** Handles and parents (include/uapi/linux/pkt_sched.h). */
export const TC_H = {
  ROOT: 0xffff_ffff,
  /** Parent of the ingress and clsact qdiscs. */
  CLSACT: 0xffff_fff1,
  /** Minor of the clsact ingress hook. */
  MIN_INGRESS: 0xfff2,
  /** Minor of the clsact egress hook. */
  MIN_EGRESS: 0xfff3,
} as const;

/** `TC_H_MAKE(major, minor)`. */
export const tcHandle = (major: number, minor: number): number => ((major & 0xffff_0000) | (minor & 0xffff)) >>> 0;

/** Which clsact hook: packets coming in or going out. */
export type TcDirection = 'ingress' | 'egress';

/** The filter parent of a clsact hook. */
export function clsactParent(direction: TcDirection): number {
  return tcHandle(TC_H.CLSACT, direction === 'ingress' ? TC_H.MIN_INGRESS : TC_H.MIN_EGRESS);
}

const ETH_P_ALL = 0x0003;
const htons = (n: number): number => ((n & 0xff) << 8) | ((n >> 8) & 0xff);

/** Size of `struct tcmsg`. */
export const TCMSG_LEN = 20;

/** `struct tcmsg` + attributes. */
export function tcmsg(ifindex: number, handle: number, parent: number, info: number, attrs: Uint8Array = new Uint8Array(0)): Uint8Array {
  const b = new Uint8Array(TCMSG_LEN + attrs.length);
  const v = new DataView(b.buffer);
  v.setInt32(4, ifindex, true);
  v.setUint32(8, handle >>> 0, true);
  v.setUint32(12, parent >>> 0, true);
  v.setUint32(16, info >>> 0, true);
  b.set(attrs, TCMSG_LEN);
  return b;
}

/**
 * Adds the clsact qdisc to `ifindex`. Returns true if it was created, false if one was
 * already there (EEXIST is not an error: clsact is shared by everyone who attaches).
 */
export function addClsact(sock: NetlinkSocket, ifindex: number): boolean {
  const attrs = new AttrWriter().string(TCA.KIND, 'clsact').finish();
  try {
    sock.request(RTM.NEWQDISC, NLM_F.CREATE | NLM_F.EXCL, tcmsg(ifindex, tcHandle(TC_H.CLSACT, 0), TC_H.CLSACT, 0, attrs));
    return true;
  } catch (err) {
    if (err instanceof NetlinkError && err.errnoName === 'EEXIST') return false;
    throw err;
  }
}

/** Deletes the clsact qdisc of `ifindex`, and with it every filter on its hooks. */
export function deleteClsact(sock: NetlinkSocket, ifindex: number): void {
  const attrs = new AttrWriter().string(TCA.KIND, 'clsact').finish();
  sock.request(RTM.DELQDISC, 0, tcmsg(ifindex, tcHandle(TC_H.CLSACT, 0), TC_H.CLSACT, 0, attrs));
}

/** One qdisc as RTM_GETQDISC reports it. */
export interface QdiscInfo {
  readonly ifindex: number;
  readonly handle: number;
  readonly parent: number;
  readonly kind: string;
}

/** The qdiscs of `ifindex` (all interfaces when 0). */
export function listQdiscs(sock: NetlinkSocket, ifindex = 0): QdiscInfo[] {
  return sock
    .request(RTM.GETQDISC, NLM_F.DUMP, tcmsg(ifindex, 0, 0, 0))
    .filter((m) => m.type === RTM.NEWQDISC)
    .map((m) => {
      const { ifindex: idx, handle, parent } = decodeTcmsg(m);
      return { ifindex: idx, handle, parent, kind: parseAttrs(m.payload, TCMSG_LEN).string(TCA.KIND) ?? '' };
    })
    .filter((q) => ifindex === 0 || q.ifindex === ifindex);
}

/** What {@link addBpfFilter} attaches. */
export interface BpfFilterOptions {
  /** Interface index. */
  ifindex: number;
  /** The clsact hook. */
  direction: TcDirection;
  /** Program fd (BPF_PROG_TYPE_SCHED_CLS). */
  progFd: number;
  /** Name shown by `tc filter show` (`TCA_BPF_NAME`), e.g. `'tc_flow_filter.o:[tc]'`. */
  name: string;
  /** Filter priority (1..0xffff); default 1 (libbpf's bpf_tc_attach default). */
  priority?: number;
  /** Filter handle; default 1. */
  handle?: number;
  /** Direct-action mode (the return value is the TC action). Default true. */
  directAction?: boolean;
  /** Replace a filter with the same priority and handle instead of failing with EEXIST. */
  replace?: boolean;
  /** `TCA_CLS_FLAGS_*` (skip_hw, skip_sw). */
  genFlags?: number;
}

/** A cls_bpf filter's identity: where it sits. */
export interface BpfFilterId {
  readonly ifindex: number;
  readonly direction: TcDirection;
  readonly priority: number;
  readonly handle: number;
}

/** Adds a cls_bpf filter on a clsact hook (the clsact qdisc must exist). */
export function addBpfFilter(sock: NetlinkSocket, options: BpfFilterOptions): BpfFilterId {
  const priority = options.priority ?? 1;
  const handle = options.handle ?? 1;
  if (!Number.isInteger(priority) || priority < 1 || priority > 0xffff) throw new RangeError(`tc filter priority ${priority} not in 1..65535`);
  const attrs = new AttrWriter()
    .string(TCA.KIND, 'bpf')
    .nested(TCA.OPTIONS, (w) => {
      w.u32(TCA_BPF.FD, options.progFd);
      w.string(TCA_BPF.NAME, options.name);
      w.u32(TCA_BPF.FLAGS, (options.directAction ?? true) ? TCA_BPF_FLAG_ACT_DIRECT : 0);
      if (options.genFlags) w.u32(TCA_BPF.FLAGS_GEN, options.genFlags);
    })
    .finish();
  const info = ((priority << 16) | htons(ETH_P_ALL)) >>> 0;
  const flags = NLM_F.CREATE | (options.replace ? NLM_F.REPLACE : NLM_F.EXCL);
  sock.request(RTM.NEWTFILTER, flags, tcmsg(options.ifindex, handle, clsactParent(options.direction), info, attrs));
  return { ifindex: options.ifindex, direction: options.direction, priority, handle };
}

/** Deletes one cls_bpf filter (by priority and handle) from a clsact hook. */
export function deleteBpfFilter(sock: NetlinkSocket, id: BpfFilterId): void {
  const info = ((id.priority << 16) | htons(ETH_P_ALL)) >>> 0;
  const attrs = new AttrWriter().string(TCA.KIND, 'bpf').finish();
  sock.request(RTM.DELTFILTER, 0, tcmsg(id.ifindex, id.handle, clsactParent(id.direction), info, attrs));
}

/** Deletes every filter on a clsact hook. */
export function flushFilters(sock: NetlinkSocket, ifindex: number, direction: TcDirection): void {
  sock.request(RTM.DELTFILTER, 0, tcmsg(ifindex, 0, clsactParent(direction), 0));
}

/** A cls_bpf filter as RTM_GETTFILTER reports it. */
export interface BpfFilterInfo extends BpfFilterId {
  /** `TCA_KIND` (always `'bpf'` for these). */
  readonly kind: string;
  /** Protocol (host order), 3 = ETH_P_ALL. */
  readonly protocol: number;
  /** Id of the attached program. */
  readonly progId: number;
  /** `TCA_BPF_NAME`. */
  readonly name: string;
  /** Program tag, 16 hex digits. */
  readonly tag: string;
  /** Direct-action mode. */
  readonly directAction: boolean;
  /** Offloaded to hardware (TCA_CLS_FLAGS_IN_HW). */
  readonly inHw: boolean;
}

function decodeTcmsg(m: NetlinkMessage): { ifindex: number; handle: number; parent: number; info: number } {
  if (m.payload.length < TCMSG_LEN) throw new NetlinkParseError(16, `tc message payload of ${m.payload.length} bytes, shorter than tcmsg`);
  const v = new DataView(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
  return { ifindex: v.getInt32(4, true), handle: v.getUint32(8, true), parent: v.getUint32(12, true), info: v.getUint32(16, true) };
}

/** The cls_bpf filters on a clsact hook of `ifindex`; none (not an error) when there is no clsact qdisc. */
export function listBpfFilters(sock: NetlinkSocket, ifindex: number, direction: TcDirection): BpfFilterInfo[] {
  let replies: NetlinkMessage[];
  try {
    replies = sock.request(RTM.GETTFILTER, NLM_F.DUMP, tcmsg(ifindex, 0, clsactParent(direction), 0));
  } catch (err) {
    // No clsact qdisc: the kernel says EINVAL ("Parent Qdisc doesn't exists").
    if (err instanceof NetlinkError && (err.errnoName === 'EINVAL' || err.errnoName === 'ENOENT')) return [];
    throw err;
  }
  const out: BpfFilterInfo[] = [];
  for (const m of replies) {
    if (m.type !== RTM.NEWTFILTER) continue;
    const hdr = decodeTcmsg(m);
    const attrs = parseAttrs(m.payload, TCMSG_LEN);
    const kind = attrs.string(TCA.KIND) ?? '';
    const opts = attrs.nested(TCA.OPTIONS);
    // The first message per priority describes the classifier instance itself (no handle, no options).
    if (kind !== 'bpf' || !opts || hdr.handle === 0) continue;
    const flags = opts.u32(TCA_BPF.FLAGS) ?? 0;
    const gen = opts.u32(TCA_BPF.FLAGS_GEN) ?? 0;
    const tag = opts.get(TCA_BPF.TAG);
    out.push({
      ifindex: hdr.ifindex,
      direction,
      priority: hdr.info >>> 16,
      handle: hdr.handle,
      protocol: htons(hdr.info & 0xffff),
      kind,
      progId: opts.u32(TCA_BPF.ID) ?? 0,
      name: opts.string(TCA_BPF.NAME) ?? '',
      tag: tag ? [...tag].map((b) => b.toString(16).padStart(2, '0')).join('') : '',
      directAction: (flags & TCA_BPF_FLAG_ACT_DIRECT) !== 0,
      inHw: (gen & TCA_CLS_FLAGS.IN_HW) !== 0,
    });
  }
  return out;
}
