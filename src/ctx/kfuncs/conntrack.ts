// The conntrack kfuncs over a table the user supplies: lookup, alloc, insert, status/timeout changes and release, as net/netfilter/nf_conntrack_bpf.c.
import type { Btf } from '../../btf/index.js';
import type { Region } from '../../vm/address-space.js';
import { ExecutionError } from '../../vm/errors.js';
import type { HelperContext, HelperFn } from '../../vm/helpers.js';
import { argU32, Errno, helperPtr } from '../helpers/memory.js';

/** One conntrack entry of a {@link ConntrackModel}: the original-direction tuple it matches (the reply tuple matches too, with opts->dir 1). */
export interface ConntrackEntry {
  /** IPPROTO_TCP (6) or IPPROTO_UDP (17). */
  readonly l4proto: number;
  /** Source and destination addresses (4 bytes IPv4, 16 bytes IPv6) and ports, in network order as the program passes them. */
  readonly saddr: Uint8Array;
  readonly daddr: Uint8Array;
  readonly sport: number;
  readonly dport: number;
  /** Network namespace id (default: the caller's, netns_id -1). */
  readonly netnsId?: number;
  /** `ct->status` (IPS_* bits; default IPS_CONFIRMED | IPS_SEEN_REPLY | IPS_ASSURED = 0xe). */
  readonly status?: bigint;
  /** `ct->mark` (default 0); a program's store to it stays for the next runs of the object. */
  readonly mark?: number;
}

/** Where `struct nf_conn`'s fields a program may touch are. */
export interface NfConnLayout {
  /** sizeof(struct nf_conn). */
  readonly size: number;
  /** offsetof(status) (unsigned long). */
  readonly status: number;
  /** offsetof(mark) (u32). */
  readonly mark: number;
}

/** struct nf_conn on 6.18 x86-64 (CONFIG_NF_CONNTRACK_MARK). */
export const NF_CONN_LAYOUT_6_18: NfConnLayout = { size: 248, status: 128, mark: 168 };

/**
 * What the conntrack kfuncs see. The default — no table — is a BPF_PROG_TEST_RUN's fresh
 * namespace: every lookup finds nothing (NULL, opts->error = -ENOENT).
 */
export interface ConntrackModel {
  /** Entries a lookup may find; entries a program inserts (bpf_ct_insert_entry) join them for the object's later runs. */
  readonly entries: readonly ConntrackEntry[];
  /** The layout of struct nf_conn the program reads (default: the program's own view, see {@link nfConnLayoutFromBtf}). */
  readonly layout?: NfConnLayout;
}

/** The layout of the program's own `struct nf_conn` view (status, mark), or undefined when its BTF has none. */
export function nfConnLayoutFromBtf(btf: Btf | undefined): NfConnLayout | undefined {
  if (!btf) return undefined;
  for (let id = 1; ; id++) {
    let t;
    try {
      t = btf.typeById(id);
    } catch {
      return undefined;
    }
    if (t.kind !== 'struct' || !/^nf_conn(___\w+)?$/.test(t.name) || /___init$/.test(t.name)) continue;
    const off = (n: string): number | undefined => {
      const m = t.members.find((x) => x.name === n);
      return m ? m.bitOffset / 8 : undefined;
    };
    const status = off('status');
    const mark = off('mark');
    if (status === undefined && mark === undefined) continue;
    const size = Math.max(t.size, 16);
    return { size, status: status ?? size, mark: mark ?? size };
  }
}

const EPROTO = 71;
const ENONET = 64;
const EAFNOSUPPORT = 97;
const EBUSY = 16;
const ETIME = 62;
const IPS_EXPECTED = 0x1n;
const IPS_SEEN_REPLY = 0x2n;
const IPS_ASSURED = 0x4n;
const IPS_CONFIRMED = 0x8n;
const IPS_DYING = 0x200n;
const IPS_FIXED_TIMEOUT = 0x400n;
/** IPS_UNCHANGEABLE_MASK: NAT, NAT_DONE, EXPECTED, CONFIRMED, DYING, SEQ_ADJUST, TEMPLATE, UNTRACKED, OFFLOAD, HW_OFFLOAD. */
const IPS_UNCHANGEABLE = 0x30n | 0x180n | IPS_EXPECTED | IPS_CONFIRMED | IPS_DYING | 0x40n | 0x800n | 0x1000n | 0x8000n | 0x10000n;

/** One connection: its tuple, whether it is in the table, and its `struct nf_conn` in the address space. */
interface Conn {
  readonly l4proto: number;
  readonly saddr: Uint8Array;
  readonly daddr: Uint8Array;
  readonly sport: number;
  readonly dport: number;
  readonly netnsId: number;
  inTable: boolean;
  freed: boolean;
  readonly region: Region;
}

const eq = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** The conntrack kfuncs of one object: its table (the model's entries, then what programs insert) and the objects handed out. */
export function conntrackKfuncs(model: ConntrackModel | undefined, objectBtf: Btf | undefined): Map<string, HelperFn> {
  const layout = model?.layout ?? nfConnLayoutFromBtf(objectBtf) ?? NF_CONN_LAYOUT_6_18;
  const pending = [...(model?.entries ?? [])];
  const conns: Conn[] = [];
  const netnsIds = new Set((model?.entries ?? []).map((e) => e.netnsId ?? -1));

  const newConn = (vm: HelperContext, e: Omit<Conn, 'inTable' | 'freed' | 'region'>, status: bigint, mark: number, inTable: boolean): Conn => {
    const region = vm.space.addRegion(`nf_conn:${conns.length}`, layout.size, { kind: 'other', writable: true, align: 8 });
    const v = vm.space.memory.view;
    if (layout.status + 8 <= layout.size) v.setBigUint64(region.start + layout.status, status, true);
    if (layout.mark + 4 <= layout.size) v.setUint32(region.start + layout.mark, mark >>> 0, true);
    const c: Conn = { ...e, inTable, freed: false, region };
    conns.push(c);
    return c;
  };
  /** The model's entries become objects in the running address space on first use. */
  const table = (vm: HelperContext): Conn[] => {
    while (pending.length > 0) {
      const e = pending.shift()!;
      newConn(vm, { l4proto: e.l4proto, saddr: e.saddr, daddr: e.daddr, sport: e.sport, dport: e.dport, netnsId: e.netnsId ?? -1 }, e.status ?? 0xen, e.mark ?? 0, true);
    }
    return conns;
  };
  const connAt = (vm: HelperContext, addr: number, name: string): Conn => {
    const c = table(vm).find((x) => x.region.address() === addr && !x.freed);
    if (!c) throw new ExecutionError(vm.pc, `${name}: 0x${addr.toString(16)} is not a conntrack entry of this object`);
    return c;
  };
  const statusOf = (vm: HelperContext, c: Conn): bigint => (layout.status + 8 <= layout.size ? vm.space.memory.view.getBigUint64(c.region.start + layout.status, true) : 0n);
  const setStatus = (vm: HelperContext, c: Conn, s: bigint): void => {
    if (layout.status + 8 <= layout.size) vm.space.memory.view.setBigUint64(c.region.start + layout.status, s, true);
  };

  /** The arguments both lookup and alloc read: opts (checked per `order`) and the tuple. */
  const args = (vm: HelperContext, r2: number, r3: number, r4: number, r5: number, alloc: boolean): { error: number } | { opts: Uint8Array; netnsId: number; l4proto: number; tuple: Uint8Array } => {
    const tupleLen = r3 >>> 0;
    const optsLen = r5 >>> 0;
    if (r4 === 0 || r2 === 0) return { error: Errno.EINVAL };
    if (optsLen !== 16 && optsLen !== 12) return { error: Errno.EINVAL };
    const opts = vm.space.read(r4, optsLen);
    const od = new DataView(opts.buffer, opts.byteOffset, optsLen);
    const netnsId = od.getInt32(0, true);
    const l4proto = opts[8]!;
    if (optsLen === 16) {
      if (opts[13] || opts[14] || opts[15]) return { error: Errno.EINVAL };
    } else if (od.getUint16(10, true)) return { error: Errno.EINVAL };
    // __bpf_nf_ct_lookup checks the protocol first; __bpf_nf_ct_alloc_entry the namespace id first.
    if (!alloc && l4proto !== 6 && l4proto !== 17) return { error: EPROTO };
    if (netnsId < -1) return { error: Errno.EINVAL };
    if (l4proto !== 6 && l4proto !== 17) return { error: EPROTO };
    if (tupleLen !== 12 && tupleLen !== 36) return { error: EAFNOSUPPORT };
    if (netnsId >= 0 && !netnsIds.has(netnsId)) return { error: ENONET };
    if (optsLen === 16 && opts[12] === 0) vm.space.memory.bytes[helperPtr(vm, r4 + 12, 1, true)] = 3; // NF_CT_DEFAULT_ZONE_DIR
    return { opts, netnsId, l4proto, tuple: vm.space.read(r2, tupleLen) };
  };
  const fail = (vm: HelperContext, r4: number, r5: number, err: number): number => {
    if (r4 !== 0 && r5 >>> 0 >= 8) vm.space.memory.view.setInt32(helperPtr(vm, r4 + 4, 4, true), -err, true);
    return 0;
  };
  const tupleOf = (t: Uint8Array): { saddr: Uint8Array; daddr: Uint8Array; sport: number; dport: number } => {
    const alen = t.length === 12 ? 4 : 16;
    const td = new DataView(t.buffer, t.byteOffset, t.length);
    return { saddr: t.slice(0, alen), daddr: t.slice(alen, alen * 2), sport: td.getUint16(alen * 2, false), dport: td.getUint16(alen * 2 + 2, false) };
  };
  /** The table's connection for a tuple in either direction, with its direction. */
  const find = (vm: HelperContext, l4proto: number, netnsId: number, t: ReturnType<typeof tupleOf>): [Conn, number] | undefined => {
    for (const c of table(vm)) {
      if (!c.inTable || c.freed || c.l4proto !== l4proto || c.netnsId !== netnsId || c.saddr.length !== t.saddr.length) continue;
      if (eq(c.saddr, t.saddr) && eq(c.daddr, t.daddr) && c.sport === t.sport && c.dport === t.dport) return [c, 0];
      if (eq(c.daddr, t.saddr) && eq(c.saddr, t.daddr) && c.dport === t.sport && c.sport === t.dport) return [c, 1];
    }
    return undefined;
  };

  /** bpf_xdp/skb_ct_lookup: the table's entry (opts->dir set) or NULL with opts->error. */
  const lookup: HelperFn = (vm, _r1, r2, r3, r4, r5) => {
    const a = args(vm, r2, r3, r4, r5, false);
    if ('error' in a) return fail(vm, r4, r5, a.error);
    const hit = find(vm, a.l4proto, a.netnsId, tupleOf(a.tuple));
    if (!hit) return fail(vm, r4, r5, Errno.ENOENT);
    vm.space.memory.bytes[helperPtr(vm, r4 + 9, 1, true)] = hit[1];
    return hit[0].region.address();
  };
  /** bpf_xdp/skb_ct_alloc: a new, unconfirmed entry of the tuple (status 0), not yet in the table. */
  const alloc: HelperFn = (vm, _r1, r2, r3, r4, r5) => {
    const a = args(vm, r2, r3, r4, r5, true);
    if ('error' in a) return fail(vm, r4, r5, a.error);
    const t = tupleOf(a.tuple);
    return newConn(vm, { l4proto: a.l4proto, netnsId: a.netnsId, ...t }, 0n, 0, false).region.address();
  };
  /** bpf_ct_insert_entry: confirmed and in the table, or NULL (and freed) when the tuple is already there (-EEXIST). */
  const insert: HelperFn = (vm, r1) => {
    const c = connAt(vm, r1, 'bpf_ct_insert_entry');
    setStatus(vm, c, statusOf(vm, c) | IPS_CONFIRMED);
    if (find(vm, c.l4proto, c.netnsId, c)) {
      c.freed = true;
      return 0;
    }
    c.inTable = true;
    return r1;
  };
  /** nf_ct_change_status_common: -EBUSY for unchangeable bits or clearing SEEN_REPLY/ASSURED; changeable bits are only set. */
  const changeStatus = (name: string): HelperFn => (vm, r1) => {
    const c = connAt(vm, r1, name);
    const cur = statusOf(vm, c);
    const status = BigInt(argU32(vm, 2));
    const d = cur ^ status;
    if ((d & (IPS_EXPECTED | IPS_CONFIRMED | IPS_DYING)) !== 0n) return -EBUSY;
    if ((d & IPS_SEEN_REPLY) !== 0n && (status & IPS_SEEN_REPLY) === 0n) return -EBUSY;
    if ((d & IPS_ASSURED) !== 0n && (status & IPS_ASSURED) === 0n) return -EBUSY;
    setStatus(vm, c, cur | (status & ~IPS_UNCHANGEABLE & 0x1ffffn));
    return 0;
  };
  return new Map<string, HelperFn>([
    ['bpf_xdp_ct_lookup', lookup],
    ['bpf_skb_ct_lookup', lookup],
    ['bpf_xdp_ct_alloc', alloc],
    ['bpf_skb_ct_alloc', alloc],
    ['bpf_ct_insert_entry', insert],
    // nf_ct_put: an entry stays in the table; a released allocation that was never inserted is freed.
    [
      'bpf_ct_release',
      (vm, r1) => {
        const c = connAt(vm, r1, 'bpf_ct_release');
        if (!c.inTable) c.freed = true;
        return 0;
      },
    ],
    ['bpf_ct_set_status', changeStatus('bpf_ct_set_status')],
    ['bpf_ct_change_status', changeStatus('bpf_ct_change_status')],
    // The timeout value is not modelled: set_timeout does nothing observable.
    ['bpf_ct_set_timeout', (vm, r1) => (connAt(vm, r1, 'bpf_ct_set_timeout'), 0)],
    // __nf_ct_change_timeout: -EPERM with IPS_FIXED_TIMEOUT, -ETIME once dying, else 0.
    [
      'bpf_ct_change_timeout',
      (vm, r1) => {
        const st = statusOf(vm, connAt(vm, r1, 'bpf_ct_change_timeout'));
        if ((st & IPS_FIXED_TIMEOUT) !== 0n) return -Errno.EPERM;
        if ((st & IPS_DYING) !== 0n) return -ETIME;
        return 0;
      },
    ],
  ]);
}
