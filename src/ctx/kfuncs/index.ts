// Kfunc implementations for the userspace runtime with BPF_PROG_TEST_RUN semantics: XDP RX metadata, skb/xdp dynptrs and slices, conntrack lookup.
import { ExecutionError } from '../../vm/errors.js';
import type { Btf } from '../../btf/index.js';
import type { Region } from '../../vm/address-space.js';
import type { HelperContext, HelperFn } from '../../vm/helpers.js';
import type { HelperEnv } from '../helpers/env.js';
import { argU32, argU64, Errno, helperPtr } from '../helpers/memory.js';
import { SkbContext } from '../skb-context.js';
import { XdpContext } from '../xdp-buff.js';

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

/** Where `struct nf_conn`'s fields a program may touch are (the running kernel's BTF has them; 6.18 x86-64 by default). */
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
  /** Entries a lookup may find: each is one `struct nf_conn` in memory, acquired by the lookup and put back by bpf_ct_release. */
  readonly entries: readonly ConntrackEntry[];
  /** The kernel's layout of struct nf_conn (default {@link NF_CONN_LAYOUT_6_18}). */
  readonly layout?: NfConnLayout;
}

/** Options of {@link createKfuncs}. */
export interface KfuncOptions {
  /** The conntrack table (default: empty, as a test run's namespace). */
  readonly conntrack?: ConntrackModel;
  /**
   * The object's BTF. The userspace runtime runs a program as compiled (CO-RE relocations are
   * the kernel loader's business), so `ct->status` and `ct->mark` are at the offsets of the
   * program's own `struct nf_conn` (`preserve_access_index` views, flavours `nf_conn___x`
   * included): the conntrack objects are laid out by it unless the model gives a layout.
   */
  readonly objectBtf?: Btf;
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
/** enum bpf_dynptr_type of the packet dynptrs (struct bpf_dynptr_kern's type bits). */
const DYNPTR_XDP = 4;
const DYNPTR_SKB = 3;

const ctxOf = (env: HelperEnv): unknown => env.context;

/** Writes the kernel's struct bpf_dynptr_kern at `addr`: data (the context), size | type << 28, offset 0. */
function writeDynptr(vm: HelperContext, addr: number, kind: number, size: number, data: number): void {
  const at = helperPtr(vm, addr, 16, true);
  const v = vm.space.memory.view;
  v.setUint32(at, data >>> 0, true);
  v.setUint32(at + 4, Math.floor(data / 4294967296), true);
  v.setUint32(at + 8, ((size & 0xffffff) | (kind << 28)) >>> 0, true);
  v.setUint32(at + 12, 0, true);
}

/** Reads a struct bpf_dynptr_kern (the layout src/ctx/helpers' dynptr helpers share). */
function readDynptr(vm: HelperContext, addr: number): { kind: number; offset: number; size: number } {
  const at = helperPtr(vm, addr, 16, false);
  const v = vm.space.memory.view;
  const word = v.getUint32(at + 8, true);
  return { kind: (word >>> 28) & 7, offset: v.getUint32(at + 12, true), size: word & 0xffffff };
}

/** bpf_dynptr_from_xdp / bpf_dynptr_from_skb: flags must be 0 (else -EINVAL and a NULL dynptr). */
function fromPacket(kind: number, env: HelperEnv, name: string): HelperFn {
  return (vm, r1, _r2, r3) => {
    const c = ctxOf(env);
    const flags = argU64(vm, 2);
    if (flags !== 0n) {
      writeDynptr(vm, r3, 0, 0, 0);
      return -Errno.EINVAL;
    }
    if (kind === DYNPTR_XDP) {
      if (!(c instanceof XdpContext)) throw new ExecutionError(vm.pc, `${name} needs an XDP context`);
      writeDynptr(vm, r3, kind, c.buffLen(), r1);
    } else {
      if (!(c instanceof SkbContext)) throw new ExecutionError(vm.pc, `${name} needs an skb context`);
      writeDynptr(vm, r3, kind, c.len, r1);
    }
    return 0;
  };
}

/**
 * bpf_dynptr_slice(_rdwr)(p, offset, buffer__opt, buffer__szk): a pointer into the packet when
 * the bytes are contiguous there, else (xdp fragments) a copy into the buffer, or NULL without
 * one; NULL when offset + len passes the end (bpf_dynptr_check_off_len).
 */
function slice(env: HelperEnv): HelperFn {
  return (vm, r1, _r2, r3) => {
    const d = readDynptr(vm, r1);
    const offset = argU32(vm, 2);
    const len = argU32(vm, 4);
    if (d.kind === 0) return 0;
    if (len > d.size || offset > d.size - len) return 0;
    const off = d.offset + offset;
    const c = ctxOf(env);
    if (d.kind === DYNPTR_XDP && c instanceof XdpContext) {
      const linear = c.dataEnd - c.data;
      if (off + len <= linear) return c.packet.address(c.data + off - c.packet.start);
      if (r3 === 0) return 0;
      const at = helperPtr(vm, r3, len, true);
      c.copyBytes(off, len, vm.space.memory.bytes, at, false);
      return r3;
    }
    if (d.kind === DYNPTR_SKB && c instanceof SkbContext) {
      // A test run's skb is linear: skb_header_pointer returns the packet itself.
      if (off + len <= c.len) return c.packet.address(c.data + off - c.packet.start);
      return 0;
    }
    throw new ExecutionError(vm.pc, 'bpf_dynptr_slice on a dynptr of another run or kind');
  };
}

/**
 * __bpf_nf_ct_lookup's argument checks in its order, then the model: -EINVAL (NULL tuple or
 * opts, opts__sz not 12 or 16, reserved bytes, ct_zone_id with 12-byte opts), -EPROTO (not TCP
 * or UDP), -EINVAL (netns_id < -1), -EAFNOSUPPORT (tuple__sz not 12 or 36), -ENONET (a netns id the model lacks),
 * -ENOENT (nothing matches). The error goes to opts->error when opts__sz >= 8.
 */
function ctLookup(env: HelperEnv, options: KfuncOptions, name: string): HelperFn {
  return (vm, _r1, r2, r3, r4, r5) => {
    void env;
    const tupleLen = r3 >>> 0;
    const optsLen = r5 >>> 0;
    const fail = (err: number): number => {
      if (r4 !== 0 && optsLen >= 8) {
        const at = helperPtr(vm, r4 + 4, 4, true);
        const mem = vm.space.memory.bytes;
        new DataView(mem.buffer, mem.byteOffset + at, 4).setInt32(0, -err, true);
      }
      return 0;
    };
    if (r4 === 0 || r2 === 0) return fail(Errno.EINVAL);
    if (optsLen !== 16 && optsLen !== 12) return fail(Errno.EINVAL);
    const opts = vm.space.read(r4, optsLen);
    const od = new DataView(opts.buffer, opts.byteOffset, optsLen);
    const netnsId = od.getInt32(0, true);
    const l4proto = opts[8]!;
    const zoneId = od.getUint16(10, true);
    if (optsLen === 16) {
      if (opts[13] || opts[14] || opts[15]) return fail(Errno.EINVAL);
    } else if (zoneId) return fail(Errno.EINVAL);
    if (l4proto !== 6 && l4proto !== 17) return fail(EPROTO);
    if (netnsId < -1) return fail(Errno.EINVAL);
    if (tupleLen !== 12 && tupleLen !== 36) return fail(EAFNOSUPPORT);
    const tuple = vm.space.read(r2, tupleLen);
    const entries = options.conntrack?.entries ?? [];
    if (netnsId >= 0 && !entries.some((e) => e.netnsId === netnsId)) return fail(ENONET);
    if (optsLen === 16 && opts[12] === 0) {
      // NF_CT_DEFAULT_ZONE_DIR written back, as the kernel does.
      const at = helperPtr(vm, r4 + 12, 1, true);
      vm.space.memory.bytes[at] = 3;
    }
    const alen = tupleLen === 12 ? 4 : 16;
    const td = new DataView(tuple.buffer, tuple.byteOffset, tupleLen);
    const sport = td.getUint16(alen * 2, false);
    const dport = td.getUint16(alen * 2 + 2, false);
    const eq = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
    const src = tuple.subarray(0, alen);
    const dst = tuple.subarray(alen, alen * 2);
    let dir = 0;
    let hit = -1;
    entries.forEach((e, i) => {
      if (hit >= 0 || e.l4proto !== l4proto || (e.netnsId ?? -1) !== netnsId || e.saddr.length !== alen) return;
      if (eq(e.saddr, src) && eq(e.daddr, dst) && e.sport === sport && e.dport === dport) hit = i;
      else if (eq(e.daddr, src) && eq(e.saddr, dst) && e.dport === sport && e.sport === dport) {
        hit = i;
        dir = 1;
      }
    });
    if (hit < 0) return fail(Errno.ENOENT);
    // opts->dir = NF_CT_DIRECTION(hash); the entry is the object the program reads (status, mark).
    vm.space.memory.bytes[helperPtr(vm, r4 + 9, 1, true)] = dir;
    void name;
    return ctObject(vm, options, hit).address();
  };
}

const ctRegions = new WeakMap<object, Map<number, { readonly region: Region; readonly layout: NfConnLayout }>>();

/** The `struct nf_conn` of entry `i` in the running address space, made on first use (its mark persists). */
function ctObject(vm: HelperContext, options: KfuncOptions, i: number): Region {
  const model = options.conntrack!;
  let m = ctRegions.get(vm.space);
  if (!m) {
    m = new Map();
    ctRegions.set(vm.space, m);
  }
  let o = m.get(i);
  if (!o) {
    const layout = model.layout ?? nfConnLayoutFromBtf(options.objectBtf) ?? NF_CONN_LAYOUT_6_18;
    const e = model.entries[i]!;
    const region = vm.space.addRegion(`nf_conn:${i}`, layout.size, { kind: 'other', writable: true, align: 8 });
    const v = vm.space.memory.view;
    if (layout.status + 8 <= layout.size) v.setBigUint64(region.start + layout.status, e.status ?? 0xen, true);
    if (layout.mark + 4 <= layout.size) v.setUint32(region.start + layout.mark, (e.mark ?? 0) >>> 0, true);
    o = { region, layout };
    m.set(i, o);
  }
  return o.region;
}

/** The model entry a `struct nf_conn *` points to (bpf_ct_release, bpf_ct_change_*), or an ExecutionError. */
function ctAt(vm: HelperContext, addr: number, name: string): { region: Region; layout: NfConnLayout } {
  const m = ctRegions.get(vm.space);
  for (const o of m?.values() ?? []) if (o.region.address() === addr) return o;
  throw new ExecutionError(vm.pc, `${name}: 0x${addr.toString(16)} is not a conntrack entry of this run`);
}

const IPS_EXPECTED = 0x1n;
const IPS_SEEN_REPLY = 0x2n;
const IPS_ASSURED = 0x4n;
const IPS_CONFIRMED = 0x8n;
const IPS_DYING = 0x200n;
/** IPS_UNCHANGEABLE_MASK: NAT, NAT_DONE, EXPECTED, CONFIRMED, DYING, SEQ_ADJUST, TEMPLATE, UNTRACKED, OFFLOAD, HW_OFFLOAD. */
const IPS_UNCHANGEABLE = 0x30n | 0x180n | IPS_EXPECTED | IPS_CONFIRMED | IPS_DYING | 0x40n | 0x800n | 0x1000n | 0x8000n | 0x10000n;
const EBUSY = 16;

/** nf_ct_change_status_common: -EBUSY for unchangeable bits or clearing SEEN_REPLY/ASSURED; then the changeable bits are set (never cleared). */
function changeStatus(vm: HelperContext, addr: number, status32: number): number {
  const { region, layout } = ctAt(vm, addr, 'bpf_ct_change_status');
  const v = vm.space.memory.view;
  const has = layout.status + 8 <= layout.size;
  const cur = has ? v.getBigUint64(region.start + layout.status, true) : 0xen;
  const status = BigInt(status32 >>> 0);
  const d = cur ^ status;
  if ((d & (IPS_EXPECTED | IPS_CONFIRMED | IPS_DYING)) !== 0n) return -EBUSY;
  if ((d & IPS_SEEN_REPLY) !== 0n && (status & IPS_SEEN_REPLY) === 0n) return -EBUSY;
  if ((d & IPS_ASSURED) !== 0n && (status & IPS_ASSURED) === 0n) return -EBUSY;
  if (has) v.setBigUint64(region.start + layout.status, cur | (status & ~IPS_UNCHANGEABLE & 0x1ffffn), true);
  return 0;
}

const notModelled = (name: string): HelperFn => (vm) => {
  throw new ExecutionError(vm.pc, `kfunc ${name} is not modelled by the userspace runtime yet`);
};

/** The kfuncs by name, bound to `env` (the running program's context) and the user's models. */
export function createKfuncs(env: HelperEnv, options: KfuncOptions = {}): Map<string, HelperFn> {
  const eopnotsupp: HelperFn = () => -Errno.EOPNOTSUPP;
  const m = new Map<string, HelperFn>([
    // A test run's program is bound to no device: the generic implementations return -EOPNOTSUPP.
    ['bpf_xdp_metadata_rx_timestamp', eopnotsupp],
    ['bpf_xdp_metadata_rx_hash', eopnotsupp],
    ['bpf_xdp_metadata_rx_vlan_tag', eopnotsupp],
    ['bpf_dynptr_from_xdp', fromPacket(DYNPTR_XDP, env, 'bpf_dynptr_from_xdp')],
    ['bpf_dynptr_from_skb', fromPacket(DYNPTR_SKB, env, 'bpf_dynptr_from_skb')],
    ['bpf_dynptr_slice', slice(env)],
    ['bpf_dynptr_slice_rdwr', slice(env)],
    ['bpf_dynptr_size', (vm, r1) => readDynptr(vm, r1).size],
    ['bpf_dynptr_is_null', (vm, r1) => (readDynptr(vm, r1).kind === 0 ? 1 : 0)],
    ['bpf_dynptr_is_rdonly', () => 0],
    ['bpf_xdp_ct_lookup', ctLookup(env, options, 'bpf_xdp_ct_lookup')],
    ['bpf_skb_ct_lookup', ctLookup(env, options, 'bpf_skb_ct_lookup')],
    // bpf_ct_release: nf_ct_put; the entry stays in the table.
    ['bpf_ct_release', (vm, r1) => (ctAt(vm, r1, 'bpf_ct_release'), 0)],
    ['bpf_ct_change_status', (vm, r1) => changeStatus(vm, r1, argU32(vm, 2))],
    // __nf_ct_change_timeout: -EPERM with IPS_FIXED_TIMEOUT, -ETIME once dying, else 0 (the timeout itself is not modelled).
    [
      'bpf_ct_change_timeout',
      (vm, r1) => {
        const { region, layout } = ctAt(vm, r1, 'bpf_ct_change_timeout');
        const st = layout.status + 8 <= layout.size ? vm.space.memory.view.getBigUint64(region.start + layout.status, true) : 0n;
        if ((st & 0x400n) !== 0n) return -Errno.EPERM;
        if ((st & IPS_DYING) !== 0n) return -62;
        return 0;
      },
    ],
    ['bpf_rcu_read_lock', () => 0],
    ['bpf_rcu_read_unlock', () => 0],
  ]);
  for (const n of ['bpf_xdp_ct_alloc', 'bpf_skb_ct_alloc', 'bpf_ct_insert_entry', 'bpf_ct_set_timeout', 'bpf_ct_set_status', 'bpf_ct_set_nat_info', 'bpf_cast_to_kern_ctx', 'bpf_dynptr_adjust']) {
    m.set(n, notModelled(n));
  }
  return m;
}
