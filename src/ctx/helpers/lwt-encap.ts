// bpf_lwt_push_encap (lwt_in, lwt_xmit) with BPF_LWT_ENCAP_IP: pushes the program's IPv4/IPv6 (optionally UDP) header in front of the packet, as bpf_lwt_push_ip_encap does.
//
// The kernel validates the header (20..LWT_BPF_MAX_HEADROOM bytes, version 4 with len >= ihl*4
// or version 6 with len >= 40, room for a UDP header when the next protocol is UDP; otherwise
// -EINVAL), makes headroom (skb_cow_head: len + mac_len on ingress, len + LL_RESERVED_SPACE of
// the route's device on egress — a test run's lwt_xmit skb routes to the IPv6 null entry on
// loopback, 16 bytes), pushes the header as the new network header (the transport header after
// it for a UDP tunnel), marks the skb encapsulated, clears its hash, sets skb->protocol from the
// version and fills a zero IPv4 checksum. Types other than BPF_LWT_ENCAP_IP: -EINVAL, except
// lwt_in's BPF_LWT_ENCAP_SEG6 / SEG6_INLINE (IPv6 segment routing), which the userspace runtime
// does not model: the call faults, naming it.
import { BpfFuncId, BpfProgType } from '../../isa/uapi.generated.js';
import { ExecutionError, UnmodelledCallError } from '../../vm/errors.js';
import type { HelperContext, HelperFn } from '../../vm/helpers.js';
import { SkBuff } from '../sk-buff.js';
import { SkbContext, swap16 } from '../skb-context.js';
import type { HelperEnv } from './env.js';
import { argU32, Errno, helperRead } from './memory.js';

/** enum bpf_lwt_encap_mode. */
export const LwtEncap = { SEG6: 0, SEG6_INLINE: 1, IP: 2 } as const;
/** LWT_BPF_MAX_HEADROOM: the largest header bpf_lwt_push_encap pushes. */
export const LWT_BPF_MAX_HEADROOM = 256;
/** LL_RESERVED_SPACE(loopback): the egress headroom a test run's lwt_xmit route asks for beyond the header. */
const LOOPBACK_RESERVED = 16;
const IPPROTO_UDP = 17;
const UDP_HLEN = 8;

/** ip_fast_csum over `ihl` 32-bit words at `at`. */
function ipChecksum(mem: Uint8Array, at: number, ihl: number): number {
  let sum = 0;
  for (let i = 0; i < ihl * 4; i += 2) sum += (mem[at + i]! << 8) | mem[at + i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** bpf_lwt_push_ip_encap on the run's skb; 0 or -errno. */
function pushIpEncap(vm: HelperContext, skb: SkbContext, hdr: Uint8Array, ingress: boolean): number {
  const len = hdr.length;
  if (len < 20 || len > LWT_BPF_MAX_HEADROOM) return -Errno.EINVAL;
  const version = hdr[0]! >> 4;
  let udp: boolean;
  let ipLen: number;
  if (version === 4) {
    ipLen = (hdr[0]! & 0xf) * 4;
    if (len < ipLen) return -Errno.EINVAL;
    udp = hdr[9] === IPPROTO_UDP;
  } else if (version === 6) {
    ipLen = 40;
    if (len < 40) return -Errno.EINVAL;
    udp = hdr[6] === IPPROTO_UDP;
  } else {
    return -Errno.EINVAL;
  }
  if (udp && len < ipLen + UDP_HLEN) return -Errno.EINVAL;

  // skb_cow_head: the kernel reallocates the head when its headroom is short.
  skb.cow(len + (ingress ? skb.macLen : LOOPBACK_RESERVED));
  if (!skb.ensureRoom(len, skb.len)) return -Errno.ENOMEM;
  skb.pushed(len);
  skb.data -= len;
  skb.len += len;
  const mem = vm.space.memory.bytes;
  mem.set(hdr, skb.data);
  skb.network = skb.data;
  if (udp) skb.transportHeader = skb.kernelHeadroom + ipLen;
  skb.encapsulation = true;
  skb.setU32(SkBuff.hash, 0);
  if (version === 4) {
    skb.setU32(SkBuff.protocol, swap16(0x0800));
    if (mem[skb.data + 10] === 0 && mem[skb.data + 11] === 0) {
      const sum = ipChecksum(mem, skb.data, hdr[0]! & 0xf);
      mem[skb.data + 10] = sum >> 8;
      mem[skb.data + 11] = sum & 0xff;
    }
  } else {
    skb.setU32(SkBuff.protocol, swap16(0x86dd));
  }
  skb.sync();
  return 0;
}

/** bpf_lwt_push_encap for lwt_in (ingress) and lwt_xmit (egress), bound to `env`. */
export function lwtEncapHelpers(env: HelperEnv, type: number): Map<number, HelperFn> {
  if (type !== BpfProgType.LWT_IN && type !== BpfProgType.LWT_XMIT) return new Map();
  const ingress = type === BpfProgType.LWT_IN;
  return new Map<number, HelperFn>([
    [
      BpfFuncId.lwt_push_encap,
      (vm, _r1, _r2, r3) => {
        const skb = env.context;
        if (!(skb instanceof SkbContext)) throw new ExecutionError(vm.pc, 'bpf_lwt_push_encap needs an __sk_buff context');
        const mode = argU32(vm, 2);
        const len = argU32(vm, 4);
        if (ingress && (mode === LwtEncap.SEG6 || mode === LwtEncap.SEG6_INLINE)) {
          throw new UnmodelledCallError(vm.pc, 'helper', 'bpf_lwt_push_encap', 'BPF_LWT_ENCAP_SEG6 / SEG6_INLINE (IPv6 segment routing headers) is not modelled in userspace (BPF_LWT_ENCAP_IP is)', BpfFuncId.lwt_push_encap);
        }
        if (mode !== LwtEncap.IP) return -Errno.EINVAL;
        return pushIpEncap(vm, skb, helperRead(vm, r3, len), ingress);
      },
    ],
  ]);
}
