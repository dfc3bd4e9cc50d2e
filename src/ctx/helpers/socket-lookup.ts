// Socket helpers over the user's socket model: bpf_sk/skc_lookup_*, bpf_sk_release, bpf_sk_fullsock, bpf_tcp_sock, bpf_get_listener_sock, bpf_sk_assign.
//
// A lookup reads struct bpf_sock_tuple from the program (12 bytes: IPv4, 36: IPv6, anything
// else finds nothing), refuses flags and out-of-range netns ids as net/core/filter.c does
// (NULL), and looks the tuple up in `env.sockets` (socket-model.ts) from the device the packet
// arrived on. A socket found is a read-only struct bpf_sock in the program's address space,
// the same address for the same socket every time; bpf_tcp_sock gives its struct
// bpf_tcp_sock. The socket the test run attaches to an skb (__sk_buff.sk) is recognised by
// its fields (state TCP_CLOSE, protocol 0), as the kernel sees it.

import { BpfFuncId } from '../../isa/uapi.generated.js';
import type { AddressSpace } from '../../vm/address-space.js';
import type { HelperContext, HelperFn } from '../../vm/helpers.js';
import { daddr4, fullSocketIndex, lookupSocket, rcvSaddr4, socketState, TcpState, type ModelSocket, type SocketTable, type TcpSockField } from '../socket-model.js';
import { BpfSock, BPF_SOCK_SIZE, TestRunSock } from '../test-run-sock.js';
import type { HelperEnv } from './env.js';
import { argU32, argU64, Errno, helperPtr } from './memory.js';

/** sizeof(struct bpf_tcp_sock). */
export const BPF_TCP_SOCK_SIZE = 112;

/** Field offsets of struct bpf_tcp_sock (u32 unless noted). */
export const BpfTcpSock: Readonly<Record<TcpSockField, number>> = {
  snd_cwnd: 0, srtt_us: 4, rtt_min: 8, snd_ssthresh: 12, rcv_nxt: 16, snd_nxt: 20, snd_una: 24, mss_cache: 28, ecn_flags: 32,
  rate_delivered: 36, rate_interval_us: 40, packets_out: 44, retrans_out: 48, total_retrans: 52, segs_in: 56, data_segs_in: 60,
  segs_out: 64, data_segs_out: 68, lost_out: 72, sacked_out: 76, bytes_received: 80, bytes_acked: 88, dsack_dups: 96,
  delivered: 100, delivered_ce: 104, icsk_retransmits: 108,
};

/** What tcp_init_sock leaves in a new TCP socket (the default of every bpf_tcp_sock field not modelled). */
export const TCP_SOCK_DEFAULTS: Readonly<Partial<Record<TcpSockField, number>>> = {
  snd_cwnd: 10, // TCP_INIT_CWND
  rtt_min: 0xffffffff, // minmax_reset(..., ~0U)
  snd_ssthresh: 0x7fffffff, // TCP_INFINITE_SSTHRESH
  mss_cache: 536, // TCP_MSS_DEFAULT
};

const AF_INET = 2;
const AF_INET6 = 10;
const IPPROTO_TCP = 6;
const TUPLE_V4 = 12;
const TUPLE_V6 = 36;

/** The model's sockets placed in one address space. */
interface PlacedSockets {
  readonly table: SocketTable;
  /** struct bpf_sock address per socket index. */
  readonly sock: number[];
  /** struct bpf_tcp_sock address per socket index (TCP sockets only). */
  readonly tcp: (number | undefined)[];
  /** Socket index by struct bpf_sock address. */
  readonly byAddress: Map<number, number>;
}

function writeSock(space: AddressSpace, at: number, s: ModelSocket): void {
  const v = space.memory.view;
  const mem = space.memory.bytes;
  const u32 = (off: number, x: number) => v.setUint32(at + off, x >>> 0, true);
  u32(BpfSock.bound_dev_if, s.boundIfindex ?? 0);
  u32(BpfSock.family, s.local.length === 4 ? AF_INET : AF_INET6);
  u32(BpfSock.type, s.protocol === 'tcp' ? 1 : 2);
  u32(BpfSock.protocol, s.protocol === 'tcp' ? IPPROTO_TCP : 17);
  u32(BpfSock.mark, s.mark ?? 0);
  u32(BpfSock.priority, s.priority ?? 0);
  mem.set(rcvSaddr4(s), at + BpfSock.src_ip4);
  if (s.local.length === 16) mem.set(s.local, at + BpfSock.src_ip6);
  // A full TCP socket of AF_INET that connect() or accept() made (sk_rcv_saddr_set / sk_daddr_set)
  // also carries its addresses as v4-mapped IPv6 ones; a bound, UDP, timewait or request socket does not.
  const st = socketState(s);
  const mapped = s.local.length === 4 && s.protocol === 'tcp' && st !== 'listen' && st !== 'close' && st !== 'time_wait' && st !== 'new_syn_recv';
  if (mapped) {
    mem.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...s.local], at + BpfSock.src_ip6);
    mem.set([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...daddr4(s)], at + BpfSock.dst_ip6);
  }
  u32(BpfSock.src_port, s.localPort);
  v.setUint16(at + BpfSock.dst_port, s.remotePort ?? 0, false);
  mem.set(daddr4(s), at + BpfSock.dst_ip4);
  if (s.remote?.length === 16) mem.set(s.remote, at + BpfSock.dst_ip6);
  u32(BpfSock.state, TcpState[socketState(s)]);
  u32(BpfSock.rx_queue_mapping, 0xffff);
}

function writeTcp(space: AddressSpace, at: number, s: ModelSocket): void {
  const v = space.memory.view;
  for (const [field, off] of Object.entries(BpfTcpSock) as [TcpSockField, number][]) {
    const x = s.tcp?.[field] ?? TCP_SOCK_DEFAULTS[field] ?? 0;
    if (field === 'bytes_received' || field === 'bytes_acked') v.setBigUint64(at + off, BigInt.asUintN(64, BigInt(x)), true);
    else v.setUint32(at + off, Number(BigInt.asUintN(32, BigInt(x))), true);
  }
}

const PLACED = new WeakMap<AddressSpace, PlacedSockets>();

/** The model's sockets in `space`, placed on first use (all at once) and again if the table changed. */
function placed(space: AddressSpace, table: SocketTable): PlacedSockets {
  const p = PLACED.get(space);
  if (p && p.table === table) return p;
  const next: PlacedSockets = { table, sock: [], tcp: [], byAddress: new Map() };
  for (const s of table.sockets) {
    const sock = new TestRunSock(space);
    next.sock.push(sock.address());
    next.byAddress.set(sock.address(), next.sock.length - 1);
    if (s.protocol === 'tcp') {
      const r = space.addRegion('tcp_sock', BPF_TCP_SOCK_SIZE, { kind: 'other', writable: false });
      next.tcp.push(r.address());
    } else next.tcp.push(undefined);
  }
  // Written after every region exists: adding a region may grow (and replace) the memory views.
  table.sockets.forEach((s, i) => {
    writeSock(space, space.translateNumber(next.sock[i]!, BPF_SOCK_SIZE, false), s);
    const t = next.tcp[i];
    if (t !== undefined) writeTcp(space, space.translateNumber(t, BPF_TCP_SOCK_SIZE, false), s);
  });
  PLACED.set(space, next);
  return next;
}

/** The struct bpf_sock address of socket `index` of `table` in `space` (placing the table's sockets on first use), or undefined past its end. */
export function modelSocketAddress(space: AddressSpace, table: SocketTable, index: number): number | undefined {
  return index >= 0 && index < table.sockets.length ? placed(space, table).sock[index] : undefined;
}

/** The index in `table` of the socket whose struct bpf_sock is at `address`, or undefined. */
export function modelSocketIndex(space: AddressSpace, table: SocketTable, address: number): number | undefined {
  return placed(space, table).byAddress.get(address);
}

/** The ifindex of the device the current packet arrived on (the XDP rxq's or the skb's; loopback by default). */
function callerIfindex(env: HelperEnv): number {
  const c = env.context as { readonly dev?: { readonly ifindex: number }; readonly rxIfindex?: number } | undefined;
  return c?.dev?.ifindex ?? c?.rxIfindex ?? 1;
}

/** A u32 field of the struct bpf_sock at `sk` (fields of the model's sockets and of the test run's skb->sk). */
function sockField(vm: HelperContext, sk: number, off: number): number {
  const at = helperPtr(vm, sk, BPF_SOCK_SIZE, false);
  return vm.space.memory.view.getUint32(at + off, true);
}

/** One lookup helper: `xdp` flavours take a u32 netns_id, the skb flavours a u64. */
function lookup(env: HelperEnv, protocol: 'tcp' | 'udp', full: boolean, u32Netns: boolean): HelperFn {
  return (vm, _r1, r2) => {
    const len = argU32(vm, 3);
    if (len !== TUPLE_V4 && len !== TUPLE_V6) return 0;
    const netns = u32Netns ? BigInt(argU32(vm, 4)) : argU64(vm, 4);
    const flags = argU64(vm, 5);
    const low = Number(BigInt.asIntN(32, netns));
    if (flags !== 0n || !(low < 0 || netns <= 0x7fffffffn)) return 0;
    const at = helperPtr(vm, r2, len, false);
    const t = vm.space.memory.bytes.slice(at, at + len);
    const n = len === TUPLE_V4 ? 4 : 16;
    const port = (off: number) => (t[off]! << 8) | t[off + 1]!;
    const tuple = { family: n === 4 ? (4 as const) : (6 as const), saddr: t.subarray(0, n), daddr: t.subarray(n, 2 * n), sport: port(2 * n), dport: port(2 * n + 2) };
    const table = env.sockets;
    const i = lookupSocket(table, protocol, tuple, low < 0 ? { ifindex: callerIfindex(env) } : { ifindex: callerIfindex(env), netnsId: low }, full);
    return i < 0 || !table ? 0 : placed(vm.space, table).sock[i]!;
  };
}

/** The socket helpers, bound to `env` (the program type's set decides which it may call). */
export function socketHelpers(env: HelperEnv): Map<number, HelperFn> {
  const modelIndex = (vm: HelperContext, sk: number): number | undefined => (env.sockets ? placed(vm.space, env.sockets).byAddress.get(sk) : undefined);
  return new Map<number, HelperFn>([
    // The skb flavours; the XDP flavours replace them for XDP in xdpSocketHelpers.
    [BpfFuncId.sk_lookup_tcp, lookup(env, 'tcp', true, false)],
    [BpfFuncId.sk_lookup_udp, lookup(env, 'udp', true, false)],
    [BpfFuncId.skc_lookup_tcp, lookup(env, 'tcp', false, false)],
    // References are not counted: the verifier already pairs every lookup with its release.
    [BpfFuncId.sk_release, () => 0],
    [
      BpfFuncId.sk_fullsock,
      (vm, r1) => {
        const st = sockField(vm, r1, BpfSock.state);
        return st === TcpState.time_wait || st === TcpState.new_syn_recv ? 0 : r1;
      },
    ],
    [
      BpfFuncId.tcp_sock,
      (vm, r1) => {
        const st = sockField(vm, r1, BpfSock.state);
        if (st === TcpState.time_wait || st === TcpState.new_syn_recv || sockField(vm, r1, BpfSock.protocol) !== IPPROTO_TCP) return 0;
        const i = modelIndex(vm, r1);
        return i === undefined ? 0 : (placed(vm.space, env.sockets!).tcp[i] ?? 0);
      },
    ],
    [
      BpfFuncId.get_listener_sock,
      (vm, r1) => {
        let sk = r1;
        const i = modelIndex(vm, sk);
        if (i !== undefined && env.sockets) {
          // sk_to_full_sk: a request socket stands for its listener.
          const full = fullSocketIndex(env.sockets, i);
          if (socketState(env.sockets.sockets[i]!) === 'new_syn_recv' && full >= 0) sk = placed(vm.space, env.sockets).sock[full]!;
        }
        return sockField(vm, sk, BpfSock.state) === TcpState.listen ? sk : 0;
      },
    ],
    [
      BpfFuncId.sk_assign,
      (vm, _r1, r2) => {
        if (r2 === 0 || argU64(vm, 3) !== 0n) return -Errno.EINVAL;
        // A test run's skb is not at tc ingress (skb_at_tc_ingress): there is no socket to steer to.
        return -Errno.EOPNOTSUPP;
      },
    ],
  ]);
}

/** The XDP flavours of the lookups (bpf_xdp_sk_lookup_*: netns_id is a u32). */
export function xdpSocketHelpers(env: HelperEnv): Map<number, HelperFn> {
  return new Map<number, HelperFn>([
    [BpfFuncId.sk_lookup_tcp, lookup(env, 'tcp', true, true)],
    [BpfFuncId.sk_lookup_udp, lookup(env, 'udp', true, true)],
    [BpfFuncId.skc_lookup_tcp, lookup(env, 'tcp', false, true)],
  ]);
}
