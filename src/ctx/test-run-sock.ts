// The socket a test run's skb carries (skb->sk): struct bpf_sock as a program reads it through __sk_buff.sk.
//
// bpf_prog_test_run_skb allocates a dummy socket, initialises it (sock_init_data: state
// TCP_CLOSE, no receive queue mapping) and, for an IPv4 or IPv6 frame, sets its family and its
// addresses from the IP header (rcv_saddr = source, daddr = destination). The region holds that
// struct bpf_sock; a load hook gives the fields the kernel keeps narrower than u32 (family u16,
// state u8, src_port u16, dst_port be16, rx_queue_mapping u16 with 0xffff read as -1) the
// kernel's narrow-load behaviour. How -1 reads depends on the kernel build (SockRxQueueMappingRead).

import type { AddressSpace, Region } from '../vm/address-space.js';
import type { SockRxQueueMappingRead } from './kernel-traits.js';

/** sizeof(struct bpf_sock). */
export const BPF_SOCK_SIZE = 80;

/** Field offsets of struct bpf_sock. */
export const BpfSock = {
  bound_dev_if: 0,
  family: 4,
  type: 8,
  protocol: 12,
  mark: 16,
  priority: 20,
  src_ip4: 24,
  src_ip6: 28,
  src_port: 44,
  dst_port: 48,
  dst_ip4: 52,
  dst_ip6: 56,
  state: 72,
  rx_queue_mapping: 76,
} as const;

const AF_INET = 2;
const AF_INET6 = 10;
const TCP_CLOSE = 7;

/** Size of the kernel field behind each u32 of struct bpf_sock (narrow loads at least this wide read it whole). */
const TARGET: Readonly<Record<number, number>> = {
  [BpfSock.family]: 2,
  [BpfSock.state]: 1,
  [BpfSock.src_port]: 2,
  [BpfSock.dst_port]: 2,
  [BpfSock.rx_queue_mapping]: 2,
};

/** The test run's socket in one address space. */
export class TestRunSock {
  /** The struct bpf_sock region (read-only). */
  readonly region: Region;

  constructor(
    private readonly space: AddressSpace,
    /** How the kernel being reproduced reads NO_QUEUE_MAPPING. */
    readonly rxQueueMapping: SockRxQueueMappingRead = 'u32',
  ) {
    this.region = space.addRegion('sock', BPF_SOCK_SIZE, { kind: 'other', writable: false });
    space.setLoadHook(this.region, (offset, size, out) => {
      const field = offset & ~3;
      const target = TARGET[field];
      if (target === undefined || size > 4) return false;
      let v = this.space.memory.view.getUint32(this.region.start + field, true) & ((1 << (target * 8)) - 1);
      if (field === BpfSock.rx_queue_mapping && v === 0xffff && this.rxQueueMapping === 'u32') {
        // `w = -1`, then the generic narrow-load shift and mask over the 32-bit value.
        out[0] = size === 4 ? -1 : (0xffffffff >>> ((offset - field) * 8)) & ((1 << (size * 8)) - 1);
        out[1] = 0;
        return true;
      }
      if (size < target) v = (v >>> ((offset - field) * 8)) & ((1 << (size * 8)) - 1);
      else if (field === BpfSock.rx_queue_mapping && v === 0xffff) {
        // `r = -1`: NO_QUEUE_MAPPING reads as a 64-bit -1.
        out[0] = -1;
        out[1] = -1;
        return true;
      }
      out[0] = v;
      out[1] = 0;
      return true;
    });
  }

  /** The socket's address, what a load of __sk_buff.sk yields. */
  address(): number {
    return this.region.address();
  }

  /** Resets the socket for a run on `frame` (an Ethernet frame; `protocol` its EtherType, host order). */
  reset(frame: Uint8Array, protocol: number): void {
    const mem = this.space.memory.bytes;
    const at = this.region.start;
    mem.fill(0, at, at + BPF_SOCK_SIZE);
    const v = this.space.memory.view;
    v.setUint32(at + BpfSock.state, TCP_CLOSE, true);
    v.setUint32(at + BpfSock.rx_queue_mapping, 0xffff, true);
    if (protocol === 0x0800 && frame.length >= 14 + 20) {
      v.setUint32(at + BpfSock.family, AF_INET, true);
      mem.set(frame.subarray(14 + 12, 14 + 16), at + BpfSock.src_ip4);
      mem.set(frame.subarray(14 + 16, 14 + 20), at + BpfSock.dst_ip4);
    } else if (protocol === 0x86dd && frame.length >= 14 + 40) {
      v.setUint32(at + BpfSock.family, AF_INET6, true);
      mem.set(frame.subarray(14 + 8, 14 + 24), at + BpfSock.src_ip6);
      mem.set(frame.subarray(14 + 24, 14 + 40), at + BpfSock.dst_ip6);
    }
  }
}
