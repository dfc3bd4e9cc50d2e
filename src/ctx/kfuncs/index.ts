// Kfunc implementations for the userspace runtime with BPF_PROG_TEST_RUN semantics: XDP RX metadata, skb/xdp dynptrs and slices, conntrack lookup.
import { ExecutionError } from '../../vm/errors.js';
import type { HelperContext, HelperFn } from '../../vm/helpers.js';
import type { HelperEnv } from '../helpers/env.js';
import { argU32, argU64, Errno, helperPtr } from '../helpers/memory.js';
import { SkbContext } from '../skb-context.js';
import { XdpContext } from '../xdp-buff.js';

/** One conntrack entry of a {@link ConntrackModel}: the original-direction tuple it matches. */
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
}

/**
 * What the conntrack kfuncs see. The default — no table — is a BPF_PROG_TEST_RUN's fresh
 * namespace: every lookup finds nothing (NULL, opts->error = -ENOENT).
 */
export interface ConntrackModel {
  /** Entries a lookup may find. Returning a found entry as `struct nf_conn` is not modelled yet (an ExecutionError names it). */
  readonly entries: readonly ConntrackEntry[];
}

/** Options of {@link createKfuncs}. */
export interface KfuncOptions {
  /** The conntrack table (default: empty, as a test run's namespace). */
  readonly conntrack?: ConntrackModel;
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
    const hit = entries.find(
      (e) => e.l4proto === l4proto && (e.netnsId ?? -1) === netnsId && e.saddr.length === alen && eq(e.saddr, tuple.subarray(0, alen)) && eq(e.daddr, tuple.subarray(alen, alen * 2)) && e.sport === sport && e.dport === dport,
    );
    if (!hit) return fail(Errno.ENOENT);
    throw new ExecutionError(vm.pc, `${name}: returning a modelled conntrack entry as struct nf_conn is not modelled yet`);
  };
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
    ['bpf_rcu_read_lock', () => 0],
    ['bpf_rcu_read_unlock', () => 0],
  ]);
  for (const n of ['bpf_xdp_ct_alloc', 'bpf_skb_ct_alloc', 'bpf_ct_insert_entry', 'bpf_ct_release', 'bpf_ct_set_timeout', 'bpf_ct_change_timeout', 'bpf_ct_set_status', 'bpf_ct_change_status', 'bpf_ct_set_nat_info', 'bpf_cast_to_kern_ctx', 'bpf_dynptr_adjust']) {
    m.set(n, notModelled(n));
  }
  return m;
}
