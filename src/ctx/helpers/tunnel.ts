// bpf_skb_get/set_tunnel_key and bpf_skb_get/set_tunnel_opt over the skb's tunnel metadata (net/core/filter.c).
//
// Each run starts with the metadata the packet was received with: `env.tunnel` (a model of a
// collect_md tunnel device) or none, as in BPF_PROG_TEST_RUN, whose skb has no dst. set_tunnel_key
// replaces it with the per-CPU transmit metadata (IP_TUNNEL_INFO_TX) for the rest of the run;
// set_tunnel_opt works only on that. Every flag, size and reserved-field check and every error
// return is the kernel's, including which bytes of the program's buffer are cleared on failure.
// One difference: a test run with repeat > 1 starts every repetition from `env.tunnel`, where the
// kernel's repetitions share one skb (a key set in the first is still there in the second).

import { BpfFuncId, BpfSetTunnelKeyFlags, BpfTunnelKeyFlags } from '../../isa/uapi.generated.js';
import type { HelperContext, HelperFn } from '../../vm/helpers.js';
import { TUNNEL_OPTIONS_PRESENT, TUNNEL_OPTS_MAX, TunnelFlagBit, type TunnelInfo } from '../tunnel-model.js';
import type { HelperEnv } from './env.js';
import { argU32, argU64, Errno, helperPtr } from './memory.js';

/** sizeof(struct bpf_tunnel_key). */
export const TUNNEL_KEY_SIZE = 44;

/** Field offsets of struct bpf_tunnel_key. */
export const BpfTunnelKey = { tunnel_id: 0, remote_ipv4: 4, remote_ipv6: 4, tunnel_tos: 20, tunnel_ttl: 21, tunnel_ext: 22, tunnel_flags: 22, tunnel_label: 24, local_ipv4: 28, local_ipv6: 28 } as const;

/** BPF_F_TUNINFO_FLAGS: bpf_skb_get_tunnel_key also reports the tunnel flags. */
const TUNINFO_FLAGS = 0x10;
const IPV6 = BpfTunnelKeyFlags.TUNINFO_IPV6;
/** Older, shorter layouts of struct bpf_tunnel_key the kernel still accepts. */
const COMPAT_SIZES = [BpfTunnelKey.local_ipv6, BpfTunnelKey.tunnel_label, BpfTunnelKey.tunnel_ext];
/** offsetof(struct bpf_tunnel_key, remote_ipv6[1]): the IPv4-only layout. */
const IPV4_ONLY_SIZE = 8;
const IPV6_FLOWLABEL_MASK = 0xfffff;

/** The metadata of the current run, reset when a new run starts. */
interface RunTunnel {
  run: number;
  info: TunnelInfo | undefined;
}

const STATE = new WeakMap<HelperEnv, RunTunnel>();

/** This run's state: `env.tunnel` again once a new run started (an env that counts no runs keeps what the program set). */
function state(env: HelperEnv): RunTunnel {
  const run = env.runs ?? 0;
  let s = STATE.get(env);
  if (!s) {
    s = { run, info: env.tunnel };
    STATE.set(env, s);
  } else if (s.run !== run) {
    s.run = run;
    s.info = env.tunnel;
  }
  return s;
}

/** The tunnel metadata the current run's packet carries now (after the program's set_tunnel_key/opt), or undefined. */
export function currentTunnel(env: HelperEnv): TunnelInfo | undefined {
  const s = STATE.get(env);
  return s && s.run === (env.runs ?? 0) ? s.info : env.tunnel;
}

/** EPROTO: a key asked for in the other address family. */
const EPROTO = 71;

const be32 = (b: Uint8Array, at = 0): number => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

/** Fills `to` (44 bytes) from `info` as bpf_skb_get_tunnel_key's success path does. */
function writeKey(to: Uint8Array, info: TunnelInfo, flags: number): void {
  const v = new DataView(to.buffer, to.byteOffset, to.byteLength);
  v.setUint32(BpfTunnelKey.tunnel_id, Number(info.id & 0xffffffffn), true);
  to[BpfTunnelKey.tunnel_tos] = info.tos;
  to[BpfTunnelKey.tunnel_ttl] = info.ttl;
  if (flags & TUNINFO_FLAGS) {
    // ip_tunnel_flags_to_be16: the low 16 bits big-endian, VTI as the host-order 0x0001 bit.
    let be = ((info.flags & 0xff) << 8) | ((info.flags >> 8) & 0xff);
    if (info.flags & (1 << TunnelFlagBit.VTI)) be |= 1;
    v.setUint16(BpfTunnelKey.tunnel_flags, be, true);
  } else v.setUint16(BpfTunnelKey.tunnel_ext, 0, true);
  if (flags & IPV6) {
    to.set(info.src.subarray(0, 16), BpfTunnelKey.remote_ipv6);
    to.set(info.dst.subarray(0, 16), BpfTunnelKey.local_ipv6);
    v.setUint32(BpfTunnelKey.tunnel_label, info.label, true);
  } else {
    v.setUint32(BpfTunnelKey.remote_ipv4, be32(info.src), true);
    to.fill(0, 8, 20);
    v.setUint32(BpfTunnelKey.local_ipv4, be32(info.dst), true);
    to.fill(0, 32, 44);
    v.setUint32(BpfTunnelKey.tunnel_label, 0, true);
  }
}

/** bpf_skb_get_tunnel_key(skb, to, size, flags). */
function getTunnelKey(info: TunnelInfo | undefined, to: Uint8Array, flags: bigint): number {
  const size = to.length;
  const fail = (errno: number): number => {
    to.fill(0);
    return -errno;
  };
  if (!info || (flags & ~BigInt(IPV6 | TUNINFO_FLAGS)) !== 0n) return fail(Errno.EINVAL);
  const f = Number(flags);
  if (info.ipv6 !== ((f & IPV6) !== 0)) return fail(EPROTO);
  if (size !== TUNNEL_KEY_SIZE) {
    if (size === IPV4_ONLY_SIZE) {
      if (info.ipv6) return fail(Errno.EINVAL);
    } else if (!COMPAT_SIZES.includes(size as 28)) return fail(Errno.EINVAL);
    const compat = new Uint8Array(TUNNEL_KEY_SIZE);
    writeKey(compat, info, f);
    to.set(compat.subarray(0, size));
    return 0;
  }
  writeKey(to, info, f);
  return 0;
}

/** bpf_skb_set_tunnel_key(skb, from, size, flags): the new transmit metadata, or a negative errno. */
function setTunnelKey(from0: Uint8Array, flags: bigint): TunnelInfo | number {
  const allowed = IPV6 | BpfSetTunnelKeyFlags.ZERO_CSUM_TX | BpfSetTunnelKeyFlags.DONT_FRAGMENT | BpfSetTunnelKeyFlags.SEQ_NUMBER | BpfSetTunnelKeyFlags.NO_TUNNEL_KEY;
  if ((flags & ~BigInt(allowed)) !== 0n) return -Errno.EINVAL;
  let from = from0;
  if (from.length !== TUNNEL_KEY_SIZE) {
    if (from.length !== IPV4_ONLY_SIZE && !COMPAT_SIZES.includes(from.length as 28)) return -Errno.EINVAL;
    from = new Uint8Array(TUNNEL_KEY_SIZE);
    from.set(from0);
  }
  const v = new DataView(from.buffer, from.byteOffset, from.byteLength);
  const f = Number(flags);
  const ipv6 = (f & IPV6) !== 0;
  const label = v.getUint32(BpfTunnelKey.tunnel_label, true);
  if ((!ipv6 && label !== 0) || v.getUint16(BpfTunnelKey.tunnel_ext, true) !== 0) return -Errno.EINVAL;
  let bits = 1 << TunnelFlagBit.NOCACHE;
  if (f & BpfSetTunnelKeyFlags.DONT_FRAGMENT) bits |= 1 << TunnelFlagBit.DONT_FRAGMENT;
  if (!(f & BpfSetTunnelKeyFlags.ZERO_CSUM_TX)) bits |= 1 << TunnelFlagBit.CSUM;
  if (f & BpfSetTunnelKeyFlags.SEQ_NUMBER) bits |= 1 << TunnelFlagBit.SEQ;
  if (!(f & BpfSetTunnelKeyFlags.NO_TUNNEL_KEY)) bits |= 1 << TunnelFlagBit.KEY;
  const addr = (off: number): Uint8Array => {
    if (ipv6) return from.slice(off, off + 16);
    const a = new Uint8Array(4);
    new DataView(a.buffer).setUint32(0, v.getUint32(off, true), false);
    return a;
  };
  return {
    ipv6,
    tx: true,
    id: BigInt(v.getUint32(BpfTunnelKey.tunnel_id, true)),
    dst: addr(BpfTunnelKey.remote_ipv6),
    src: addr(BpfTunnelKey.local_ipv6),
    tos: from[BpfTunnelKey.tunnel_tos]!,
    ttl: from[BpfTunnelKey.tunnel_ttl]!,
    label: ipv6 ? label & IPV6_FLOWLABEL_MASK : 0,
    flags: bits,
    options: new Uint8Array(0),
  };
}

/** The program's buffer `r2` of `size` bytes, for writing. */
function buffer(vm: HelperContext, address: number, size: number): Uint8Array {
  const at = helperPtr(vm, address, size, true);
  return vm.space.memory.bytes.subarray(at, at + size);
}

/** The four tunnel helpers (tc), bound to `env`. */
export function tunnelHelpers(env: HelperEnv): Map<number, HelperFn> {
  return new Map<number, HelperFn>([
    [BpfFuncId.skb_get_tunnel_key, (vm, _r1, r2) => getTunnelKey(state(env).info, buffer(vm, r2, argU32(vm, 3)), argU64(vm, 4))],
    [
      BpfFuncId.skb_set_tunnel_key,
      (vm, _r1, r2) => {
        const size = argU32(vm, 3);
        const at = helperPtr(vm, r2, size, false);
        const r = setTunnelKey(vm.space.memory.bytes.slice(at, at + size), argU64(vm, 4));
        if (typeof r === 'number') return r;
        state(env).info = r;
        return 0;
      },
    ],
    [
      BpfFuncId.skb_get_tunnel_opt,
      (vm, _r1, r2) => {
        const to = buffer(vm, r2, argU32(vm, 3));
        const info = state(env).info;
        if (!info || (info.flags & TUNNEL_OPTIONS_PRESENT) === 0) {
          to.fill(0);
          return -Errno.ENOENT;
        }
        if (to.length < info.options.length) {
          to.fill(0);
          return -Errno.ENOMEM;
        }
        to.set(info.options);
        to.fill(0, info.options.length);
        return info.options.length;
      },
    ],
    [
      BpfFuncId.skb_set_tunnel_opt,
      (vm, _r1, r2) => {
        const size = argU32(vm, 3);
        const s = state(env);
        if (!s.info?.tx || (size & 3) !== 0) return -Errno.EINVAL;
        if (size > TUNNEL_OPTS_MAX) return -Errno.ENOMEM;
        const at = helperPtr(vm, r2, size, false);
        const options = vm.space.memory.bytes.slice(at, at + size);
        s.info = { ...s.info, options, flags: size > 0 ? s.info.flags | TUNNEL_OPTIONS_PRESENT : s.info.flags };
        return 0;
      },
    ],
  ]);
}
