// Smaller skb helpers (tc): csum_update, csum_level, skb_change_type, skb_ecn_set_ce, and the
// classid/realm/xfrm queries a test run answers with nothing found.

import { BpfCsumLevel, BpfFuncId } from '../../isa/uapi.generated.js';
import { ExecutionError } from '../../vm/errors.js';
import type { HelperContext, HelperFn } from '../../vm/helpers.js';
import { SkBuff } from '../sk-buff.js';
import { PacketType, SkbContext, swap16 } from '../skb-context.js';
import { csum16Add } from './csum.js';
import type { HelperEnv } from './env.js';
import { argU32, argU64, Errno, helperPtr } from './memory.js';

/** SKB_MAX_CSUM_LEVEL. */
const MAX_CSUM_LEVEL = 3;
const INET_ECN_CE = 3;

function skbOf(vm: HelperContext, env: HelperEnv, helper: string): SkbContext {
  const c = env.context;
  if (!(c instanceof SkbContext)) throw new ExecutionError(vm.pc, `${helper} needs an __sk_buff context`);
  return c;
}

/**
 * skb_protocol(skb, true): skb->protocol, or for a VLAN EtherType the one inside the in-packet
 * VLAN headers (vlan_get_protocol); 0 when the headers are cut short.
 */
function innerProtocol(vm: HelperContext, skb: SkbContext): number {
  const mem = vm.space.memory.bytes;
  let type = swap16(skb.u32(SkBuff.protocol));
  // The first VLAN header is at mac_len - 4 from skb->data, or after the Ethernet header when mac_len is 0.
  let depth = skb.macLen ? skb.macLen - 4 : 14;
  while (type === 0x8100 || type === 0x88a8) {
    if (depth + 4 > skb.len) return 0;
    type = (mem[skb.data + depth + 2]! << 8) | mem[skb.data + depth + 3]!;
    depth += 4;
  }
  return type;
}

/** INET_ECN_set_ce at the network header (which stays at the first VLAN header for a tagged frame, as in the kernel). */
function ecnSetCe(vm: HelperContext, skb: SkbContext): number {
  const mem = vm.space.memory.bytes;
  const proto = innerProtocol(vm, skb);
  const tail = skb.data + skb.len;
  const ip = skb.network;
  if (proto === 0x0800) {
    if (skb.len < 20 || ip + 20 > tail) return 0;
    const tos = mem[ip + 1]!;
    const ecn = (tos + 1) & 3;
    if (!(ecn & 2)) return ecn === 0 ? 1 : 0;
    // check += htons(0xFFFB) + htons(ecn), in the 16-bit one's-complement sum.
    const view = vm.space.memory.view;
    const add = (swap16(0xfffb) + swap16(ecn)) & 0xffff;
    view.setUint16(ip + 10, csum16Add(view.getUint16(ip + 10, true), add), true);
    mem[ip + 1] = tos | INET_ECN_CE;
    return 1;
  }
  if (proto === 0x86dd) {
    if (skb.len < 40 || ip + 40 > tail) return 0;
    // The traffic class straddles the first two bytes: its ECN bits are bits 4-5 of byte 1.
    const dsfield = ((mem[ip]! & 0x0f) << 4) | (mem[ip + 1]! >>> 4);
    if ((dsfield & 3) === 0) return 0;
    mem[ip + 1] = mem[ip + 1]! | (INET_ECN_CE << 4);
    return 1;
  }
  return 0;
}

/** The smaller skb helpers, bound to `env`. */
export function skbMiscHelpers(env: HelperEnv): Map<number, HelperFn> {
  // Each test run's socket is new; the kernel numbers sockets from a global counter on first use.
  let cookies = 0;
  return new Map<number, HelperFn>([
    [
      BpfFuncId.get_socket_cookie,
      (vm) => {
        const skb = skbOf(vm, env, 'bpf_get_socket_cookie');
        if (skb.sockCookie === 0) skb.sockCookie = ++cookies;
        return skb.sockCookie;
      },
    ],
    // The test run's socket belongs to uid 0.
    [BpfFuncId.get_socket_uid, () => 0],
    // Only CHECKSUM_COMPLETE skbs carry a csum to update; a test run's never do.
    [BpfFuncId.csum_update, () => -Errno.ENOTSUPP],
    [
      BpfFuncId.csum_level,
      (vm) => {
        const skb = skbOf(vm, env, 'bpf_csum_level');
        const level = argU64(vm, 2);
        const unnecessary = skb.ipSummed === 'unnecessary';
        switch (level) {
          case BigInt(BpfCsumLevel.QUERY):
            return unnecessary ? skb.csumLevel : -Errno.EACCES;
          case BigInt(BpfCsumLevel.INC):
            if (unnecessary) skb.csumLevel = Math.min(skb.csumLevel + 1, MAX_CSUM_LEVEL);
            else {
              skb.ipSummed = 'unnecessary';
              skb.csumLevel = 0;
            }
            return 0;
          case BigInt(BpfCsumLevel.DEC):
            if (unnecessary) {
              if (skb.csumLevel === 0) skb.ipSummed = 'none';
              else skb.csumLevel--;
            }
            return 0;
          case BigInt(BpfCsumLevel.RESET):
            if (unnecessary) {
              skb.ipSummed = 'none';
              skb.csumLevel = 0;
            }
            return 0;
          default:
            return -Errno.EINVAL;
        }
      },
    ],
    [
      BpfFuncId.skb_change_type,
      (vm) => {
        const skb = skbOf(vm, env, 'bpf_skb_change_type');
        const type = argU32(vm, 2);
        if (skb.u32(SkBuff.pkt_type) > PacketType.OTHERHOST || type > PacketType.OTHERHOST) return -Errno.EINVAL;
        skb.setU32(SkBuff.pkt_type, type);
        return 0;
      },
    ],
    [BpfFuncId.skb_ecn_set_ce, (vm) => ecnSetCe(vm, skbOf(vm, env, 'bpf_skb_ecn_set_ce'))],
    [
      BpfFuncId.skb_set_tstamp,
      (vm) => {
        const skb = skbOf(vm, env, 'bpf_skb_set_tstamp');
        const tstamp = vm.reg(2);
        const type = argU32(vm, 3);
        const proto = swap16(skb.u32(SkBuff.protocol));
        if (proto !== 0x0800 && proto !== 0x86dd) return -Errno.EOPNOTSUPP;
        // BPF_SKB_CLOCK_REALTIME (0) takes any value; MONOTONIC (1) and TAI (2) need a non-zero one.
        if (type > 2 || (type !== 0 && tstamp === 0n)) return -Errno.EINVAL;
        vm.space.memory.view.setBigUint64(skb.ctx.start + SkBuff.tstamp, tstamp, true);
        vm.space.memory.bytes[skb.ctx.start + SkBuff.tstamp_type] = type;
        return 0;
      },
    ],
    // No net_cls cgroup, no route: a test run's answers.
    [BpfFuncId.get_cgroup_classid, () => 0],
    [BpfFuncId.skb_cgroup_classid, () => 0],
    [BpfFuncId.get_route_realm, () => 0],
    // A test run's skb (and every packet of the userspace runtime) has no IPsec sec_path:
    // bpf_skb_get_xfrm_state zeroes the buffer and answers -EINVAL, as the kernel does then.
    [
      BpfFuncId.skb_get_xfrm_state,
      (vm, _r1, _r2, r3) => {
        skbOf(vm, env, 'bpf_skb_get_xfrm_state');
        const size = argU32(vm, 4);
        if (size > 0) {
          const at = helperPtr(vm, r3, size, true);
          vm.space.memory.bytes.fill(0, at, at + size);
        }
        return -Errno.EINVAL;
      },
    ],
  ]);
}
