// The sockets bpf_sk_lookup_tcp/udp and bpf_skc_lookup_tcp find: a user-supplied model of the kernel's socket tables.
//
// The kernel answers these lookups from its TCP established/listening hashes and its UDP table
// in the network namespace of the packet's device. Userspace has no such tables, so the user
// lists the sockets that exist; the default, an empty table, is what BPF_PROG_TEST_RUN gives a
// tuple nobody listens on or is connected to: NULL. The lookup follows the kernel's rules
// (__inet_lookup / __inet6_lookup, __udp4_lib_lookup / __udp6_lib_lookup): an exact
// established match first, then the best-scoring listener (an exact local address before a
// wildcard one, a socket bound to the device before an unbound one, IPv4 before a dual-stack
// IPv6 socket); UDP scores connected and device-bound sockets higher. Among equal scores the
// first socket of the table wins (the kernel's reuseport groups pick by hash instead).

import { ModelError } from './model-error.js';

/** TCP states (include/net/tcp_states.h), as struct bpf_sock's `state` reports them. */
export const TcpState = {
  established: 1,
  syn_sent: 2,
  syn_recv: 3,
  fin_wait1: 4,
  fin_wait2: 5,
  time_wait: 6,
  close: 7,
  close_wait: 8,
  last_ack: 9,
  listen: 10,
  closing: 11,
  new_syn_recv: 12,
} as const;

/** A state name of {@link TcpState}. */
export type SocketStateName = keyof typeof TcpState;

/** struct bpf_tcp_sock fields a model may give (the rest take tcp_init_sock's values). */
export type TcpSockField =
  | 'snd_cwnd' | 'srtt_us' | 'rtt_min' | 'snd_ssthresh' | 'rcv_nxt' | 'snd_nxt' | 'snd_una' | 'mss_cache' | 'ecn_flags'
  | 'rate_delivered' | 'rate_interval_us' | 'packets_out' | 'retrans_out' | 'total_retrans' | 'segs_in' | 'data_segs_in'
  | 'segs_out' | 'data_segs_out' | 'lost_out' | 'sacked_out' | 'bytes_received' | 'bytes_acked' | 'dsack_dups' | 'delivered'
  | 'delivered_ce' | 'icsk_retransmits';

/** One socket of the model. */
export interface ModelSocket {
  /** IPPROTO_TCP (SOCK_STREAM) or IPPROTO_UDP (SOCK_DGRAM). */
  readonly protocol: 'tcp' | 'udp';
  /** Local (bound) address, network order: 4 bytes for AF_INET, 16 for AF_INET6; all zeros is the wildcard. */
  readonly local: Uint8Array;
  /** Local port (host order). */
  readonly localPort: number;
  /** Peer address of a connected socket (same size as `local`). */
  readonly remote?: Uint8Array;
  /** Peer port of a connected socket. */
  readonly remotePort?: number;
  /**
   * TCP state. Default: `listen` for a TCP socket without a peer, `established` with one; UDP
   * sockets are `close` unconnected and `established` connected (what the kernel reports).
   * `new_syn_recv` is a request socket (half-open connection), `time_wait` a timewait socket:
   * bpf_skc_lookup_tcp finds them, bpf_sk_lookup_tcp returns the listener or NULL instead.
   */
  readonly state?: SocketStateName;
  /** IPV6_V6ONLY on an AF_INET6 socket: IPv4 lookups never find it (default false: dual stack). */
  readonly v6only?: boolean;
  /** SO_BINDTODEVICE: only lookups from that ifindex find it (default 0: any device). */
  readonly boundIfindex?: number;
  /** SO_MARK (default 0). */
  readonly mark?: number;
  /** SO_PRIORITY (default 0). */
  readonly priority?: number;
  /**
   * The id (`ip netns set`) under which the caller's namespace knows this socket's namespace:
   * found only by lookups passing that netns_id. Default: the caller's own namespace
   * (BPF_F_CURRENT_NETNS).
   */
  readonly netnsId?: number;
  /** For a `new_syn_recv` request socket: the index in the table of its listener. */
  readonly listener?: number;
  /** struct bpf_tcp_sock values bpf_tcp_sock reports (default: tcp_init_sock's). */
  readonly tcp?: Partial<Record<TcpSockField, number | bigint>>;
  /** SO_REUSEPORT: an sk_lookup program selecting it must pass BPF_SK_LOOKUP_F_NO_REUSEPORT, or the test run fails EOPNOTSUPP (default false). */
  readonly reuseport?: boolean;
  /** The socket's cookie (SO_COOKIE): what an sk_lookup test run reports for the selected socket and a u64 sockmap reads back (default 0x1000 + its index). */
  readonly cookie?: bigint;
}

/** The cookie of socket `index` of a table (its own, or 0x1000 + index). */
export function socketCookie(s: ModelSocket, index: number): bigint {
  return s.cookie ?? BigInt(0x1000 + index);
}

/** A socket map entry to fill before the runs: `key` (key_size bytes) holds socket `socket` of the table. */
export interface SocketMapEntry {
  readonly key: Uint8Array;
  /** Index in the socket table. */
  readonly socket: number;
}

/** The sockets the lookups see. */
export interface SocketTable {
  readonly sockets: readonly ModelSocket[];
}

/** The tuple of a lookup (struct bpf_sock_tuple, addresses in network order, ports host order). */
export interface SocketTuple {
  /** 4 (tuple size 12) or 6 (tuple size 36). */
  readonly family: 4 | 6;
  /** The packet's source: the socket's peer. */
  readonly saddr: Uint8Array;
  readonly sport: number;
  /** The packet's destination: the socket's local address. */
  readonly daddr: Uint8Array;
  readonly dport: number;
}

/** Where a lookup runs: the device the packet came in on and the namespace asked for. */
export interface LookupScope {
  /** ifindex of the caller's device (dif). */
  readonly ifindex: number;
  /** undefined: the caller's namespace; otherwise the netns id passed to the helper. */
  readonly netnsId?: number;
}

const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);
const equal = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
const V4_MAPPED = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];
const isV4Mapped = (a: Uint8Array): boolean => a.length === 16 && V4_MAPPED.every((x, i) => a[i] === x);
/** LOOPBACK4_IPV6: the IPv4 address an AF_INET6 socket bound to a non-mapped address carries (127.0.0.6). */
const LOOPBACK4_IPV6 = Uint8Array.of(127, 0, 0, 6);

/** skc_rcv_saddr: the IPv4 view of a socket's local address (AF_INET6: :: -> 0, mapped -> embedded, else 127.0.0.6). */
export function rcvSaddr4(s: ModelSocket): Uint8Array {
  if (s.local.length === 4) return s.local;
  if (isZero(s.local)) return new Uint8Array(4);
  if (isV4Mapped(s.local)) return s.local.subarray(12);
  return LOOPBACK4_IPV6;
}

/**
 * ipv6_only_sock: IPV6_V6ONLY, or an AF_INET6 socket bound to a specific address that is not
 * v4-mapped (__inet6_bind sets sk_ipv6only then); false for AF_INET.
 */
export function ipv6Only(s: ModelSocket): boolean {
  return s.local.length === 16 && (s.v6only === true || (!isZero(s.local) && !isV4Mapped(s.local)));
}

/** skc_daddr: the IPv4 view of a socket's peer address. */
export function daddr4(s: ModelSocket): Uint8Array {
  const r = s.remote;
  if (!r) return new Uint8Array(4);
  if (r.length === 4) return r;
  return isV4Mapped(r) ? r.subarray(12) : new Uint8Array(4);
}

/** The state a socket reports (its explicit state, or the default for its protocol and peer). */
export function socketState(s: ModelSocket): SocketStateName {
  if (s.state) return s.state;
  if (s.protocol === 'udp') return s.remote ? 'established' : 'close';
  return s.remote ? 'established' : 'listen';
}

/** Checks a model; ModelError names the first socket and field the kernel could not have. */
export function validateSocketTable(table: SocketTable): void {
  table.sockets.forEach((s, i) => {
    const fail = (field: string, reason: string): never => {
      throw new ModelError(`sockets[${i}]`, field, reason);
    };
    if (s.protocol !== 'tcp' && s.protocol !== 'udp') fail('protocol', `must be 'tcp' or 'udp', got ${String(s.protocol)}`);
    if (s.local.length !== 4 && s.local.length !== 16) fail('local', `an address is 4 or 16 bytes, got ${s.local.length}`);
    const port = (name: string, p: number | undefined) => {
      if (p !== undefined && (!Number.isInteger(p) || p < 0 || p > 65535)) fail(name, `a port is 0..65535, got ${p}`);
    };
    port('localPort', s.localPort);
    port('remotePort', s.remotePort);
    if (s.remote && s.remote.length !== s.local.length) fail('remote', `must be the same family as local (${s.local.length} bytes), got ${s.remote.length}`);
    if (s.remotePort !== undefined && !s.remote) fail('remotePort', 'a peer port needs a peer address (remote)');
    if (s.state !== undefined && !(s.state in TcpState)) fail('state', `unknown state '${String(s.state)}' (one of ${Object.keys(TcpState).join(', ')})`);
    if (s.protocol === 'udp' && s.state !== undefined && s.state !== 'close' && s.state !== 'established') fail('state', `a UDP socket is 'close' or 'established', got '${s.state}'`);
    if (s.protocol === 'tcp' && socketState(s) !== 'listen' && socketState(s) !== 'close' && (!s.remote || s.remotePort === undefined)) fail('remote', `a TCP socket in state ${socketState(s)} needs a peer (remote and remotePort)`);
    if (s.v6only && s.local.length !== 16) fail('v6only', 'only an AF_INET6 socket can be v6only');
    for (const f of ['boundIfindex', 'mark', 'priority'] as const) {
      const v = s[f];
      if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 0xffffffff)) fail(f, `must be a u32, got ${v}`);
    }
    if (s.netnsId !== undefined && (!Number.isInteger(s.netnsId) || s.netnsId < 0 || s.netnsId > 0x7fffffff)) fail('netnsId', `a netns id is 0..2147483647, got ${s.netnsId}`);
    if (socketState(s) === 'new_syn_recv') {
      const l = s.listener === undefined ? undefined : table.sockets[s.listener];
      if (!l || l.protocol !== 'tcp' || socketState(l) !== 'listen') fail('listener', 'a new_syn_recv request socket names the index of a listening TCP socket');
    }
  });
}

/** Bound-device rule of inet_sk_bound_dev_eq / udp_sk_bound_dev_eq (no l3mdev: sdif is 0). */
const devOk = (s: ModelSocket, dif: number): boolean => !s.boundIfindex || s.boundIfindex === dif;

/** Whether `s` lives in the namespace the lookup searches. */
const inScope = (s: ModelSocket, scope: LookupScope): boolean => (scope.netnsId === undefined ? s.netnsId === undefined : s.netnsId === scope.netnsId);

/** The socket's local address as an IPv4 lookup sees it (undefined: never found by IPv4 lookups). */
function local4(s: ModelSocket): Uint8Array | undefined {
  if (s.local.length === 4) return s.local;
  if (s.v6only) return undefined;
  return rcvSaddr4(s);
}

/** The established/connected match: local, peer and ports exact. */
function exactMatch(s: ModelSocket, t: SocketTuple, dif: number): boolean {
  if (!s.remote || s.remotePort === undefined || s.localPort !== t.dport || s.remotePort !== t.sport || !devOk(s, dif)) return false;
  if (t.family === 4) {
    if (s.local.length === 16 && !(isV4Mapped(s.local) && isV4Mapped(s.remote))) return false;
    return equal(rcvSaddr4(s), t.daddr) && equal(daddr4(s), t.saddr);
  }
  return s.local.length === 16 && equal(s.local, t.daddr) && equal(s.remote, t.saddr);
}

/** The index of the socket a TCP lookup finds (__inet_lookup / __inet6_lookup), or -1. */
function lookupTcp(table: SocketTable, t: SocketTuple, scope: LookupScope): number {
  const socks = table.sockets;
  for (let i = 0; i < socks.length; i++) {
    const s = socks[i]!;
    const st = socketState(s);
    if (s.protocol === 'tcp' && st !== 'listen' && st !== 'close' && inScope(s, scope) && exactMatch(s, t, scope.ifindex)) return i;
  }
  // Listeners: the exact local address first (one hash bucket), then the wildcard.
  for (const wildcard of [false, true]) {
    let best = -1;
    let bestScore = -1;
    for (let i = 0; i < socks.length; i++) {
      const s = socks[i]!;
      if (s.protocol !== 'tcp' || socketState(s) !== 'listen' || s.localPort !== t.dport || !inScope(s, scope) || !devOk(s, scope.ifindex)) continue;
      let addrOk: boolean;
      if (t.family === 4) {
        const l = local4(s);
        addrOk = l !== undefined && (wildcard ? isZero(l) : equal(l, t.daddr));
      } else addrOk = s.local.length === 16 && (wildcard ? isZero(s.local) : equal(s.local, t.daddr));
      if (!addrOk) continue;
      const score = (s.boundIfindex ? 2 : 1) + (t.family === 4 && s.local.length === 4 ? 1 : 0);
      if (score > bestScore) {
        best = i;
        bestScore = score;
      }
    }
    if (best >= 0) return best;
  }
  return -1;
}

/** The index of the socket a UDP lookup finds (__udp4_lib_lookup / __udp6_lib_lookup), or -1. */
function lookupUdp(table: SocketTable, t: SocketTuple, scope: LookupScope): number {
  const socks = table.sockets;
  for (const wildcard of [false, true]) {
    let best = -1;
    let bestScore = -1;
    for (let i = 0; i < socks.length; i++) {
      const s = socks[i]!;
      if (s.protocol !== 'udp' || s.localPort !== t.dport || !inScope(s, scope) || !devOk(s, scope.ifindex)) continue;
      let score: number;
      if (t.family === 4) {
        const l = local4(s);
        if (l === undefined || !(wildcard ? isZero(l) : equal(l, t.daddr))) continue;
        score = s.local.length === 4 ? 2 : 1;
        if (s.remote) {
          if (!equal(daddr4(s), t.saddr)) continue;
          score += 4;
        }
      } else {
        if (s.local.length !== 16 || !(wildcard ? isZero(s.local) : equal(s.local, t.daddr))) continue;
        score = 1;
        if (s.remote) {
          if (!equal(s.remote, t.saddr)) continue;
          score += 4;
        }
      }
      if (s.remotePort !== undefined && s.remotePort !== 0) {
        if (s.remotePort !== t.sport) continue;
        score += 4;
      }
      if (s.boundIfindex) score += 4;
      if (score > bestScore) {
        best = i;
        bestScore = score;
      }
    }
    if (best >= 0) return best;
  }
  return -1;
}

/**
 * The socket a lookup of `t` finds, as the kernel's sk_lookup(): its index in `table`, or -1.
 * With `full` (bpf_sk_lookup_*, not bpf_skc_lookup_tcp) a request socket becomes its listener
 * and a timewait socket is not returned (sk_to_full_sk, sk_fullsock).
 */
export function lookupSocket(table: SocketTable | undefined, protocol: 'tcp' | 'udp', t: SocketTuple, scope: LookupScope, full: boolean): number {
  if (!table) return -1;
  const i = protocol === 'tcp' ? lookupTcp(table, t, scope) : lookupUdp(table, t, scope);
  if (i < 0 || !full) return i;
  return fullSocketIndex(table, i);
}

/** sk_to_full_sk + sk_fullsock: a request socket's listener, -1 for a timewait socket, else `i`. */
export function fullSocketIndex(table: SocketTable, i: number): number {
  const st = socketState(table.sockets[i]!);
  if (st === 'new_syn_recv') return table.sockets[i]!.listener ?? -1;
  if (st === 'time_wait') return -1;
  return i;
}
