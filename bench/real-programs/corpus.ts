// The packet corpus of the real-programs harness: frames that reach the paths network programs branch on.

import { buildArp, buildEthernet, buildIcmpEcho, buildIpPacket, buildTcp, buildUdp, EtherType, IpProto, writeIpv4, writeIpv6 } from '../../src/index.js';

/** One frame of the corpus. */
export interface CorpusPacket {
  /** Short, unique label (`tcp4-syn-80`, `vxlan-udp4`). */
  readonly name: string;
  /** The frame, from the Ethernet header. */
  readonly data: Uint8Array;
}

const MAC_A = '02:00:00:00:00:01';
const MAC_B = '02:00:00:00:00:02';
const V4 = { src: '10.0.0.1', dst: '10.0.0.2', srcMac: MAC_A, dstMac: MAC_B };
const V6 = { src: 'fd00::1', dst: 'fd00::2', srcMac: MAC_A, dstMac: MAC_B };

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** The IP packet inside an Ethernet frame built by the packet module (its 14-byte header dropped). */
function ipOf(frame: Uint8Array): Uint8Array {
  return frame.subarray(14);
}

/** A GRE header without options carrying `etherType`. */
function gre(etherType: number): Uint8Array {
  return new Uint8Array([0, 0, etherType >> 8, etherType & 0xff]);
}

/** A VXLAN header with the I flag and VNI `vni`. */
function vxlan(vni: number): Uint8Array {
  return new Uint8Array([0x08, 0, 0, 0, (vni >> 16) & 0xff, (vni >> 8) & 0xff, vni & 0xff, 0]);
}

/** A DNS query for example.com (enough for programs that look at port 53 payloads). */
const DNS_QUERY = new Uint8Array([
  0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 7, ...new TextEncoder().encode('example'), 3, ...new TextEncoder().encode('com'), 0, 0, 1, 0, 1,
]);

/**
 * The corpus: TCP (SYN, ACK, RST, FIN, with options) and UDP to the ports programs test (53, 80,
 * 443, 8080, high ports), ICMP/ICMPv6 echo, IPv4 and IPv6, VLAN and QinQ, ARP, IPv4 options,
 * fragments, IPv6 extension headers, IPIP / IPv6-in-IPv6 / GRE / VXLAN / GUE encapsulations,
 * frames truncated in the Ethernet, IP and L4 headers, a non-IP EtherType, and a jumbo-ish frame.
 * Deterministic: the same bytes on every run.
 */
export function packetCorpus(): CorpusPacket[] {
  const list: CorpusPacket[] = [];
  const add = (name: string, data: Uint8Array) => list.push({ name, data });
  const inner4 = ipOf(buildUdp({ ...V4, src: '192.168.1.1', dst: '192.168.1.2', sport: 5000, dport: 53, payload: DNS_QUERY }));
  const inner6 = ipOf(buildTcp({ ...V6, src: 'fd01::1', dst: 'fd01::2', sport: 40000, dport: 80, flags: 'S' }));

  add('tcp4-syn-80', buildTcp({ ...V4, sport: 40000, dport: 80, flags: 'S', seq: 1000, tcpOptions: new Uint8Array([2, 4, 5, 0xb4, 1, 1, 4, 2]) }));
  add('tcp4-ack-443', buildTcp({ ...V4, sport: 40001, dport: 443, flags: 'A', seq: 2000, ack: 3000, payload: 'GET / HTTP/1.1\r\n\r\n' }));
  add('tcp4-synack-22', buildTcp({ ...V4, src: V4.dst, dst: V4.src, sport: 22, dport: 40002, flags: 'SA', seq: 5, ack: 1001 }));
  add('tcp4-rst-8080', buildTcp({ ...V4, sport: 40003, dport: 8080, flags: 'R' }));
  add('tcp4-fin-80', buildTcp({ ...V4, sport: 40004, dport: 80, flags: 'FA', ttl: 1 }));
  add('udp4-53', buildUdp({ ...V4, sport: 5353, dport: 53, payload: DNS_QUERY }));
  add('udp4-123', buildUdp({ ...V4, sport: 123, dport: 123, payload: new Uint8Array(48) }));
  add('udp4-high', buildUdp({ ...V4, sport: 50000, dport: 60000, payload: 'hello' }));
  add('icmp4-echo', buildIcmpEcho({ ...V4, id: 7, seq: 1, payload: 'ping' }));
  add('icmp4-reply', buildIcmpEcho({ ...V4, reply: true, id: 7, seq: 1 }));
  add('tcp6-syn-80', buildTcp({ ...V6, sport: 40000, dport: 80, flags: 'S' }));
  add('tcp6-ack-443', buildTcp({ ...V6, sport: 40001, dport: 443, flags: 'A', payload: 'x'.repeat(100) }));
  add('udp6-53', buildUdp({ ...V6, sport: 5353, dport: 53, payload: DNS_QUERY }));
  add('udp6-high', buildUdp({ ...V6, sport: 50000, dport: 60000, payload: 'hello' }));
  add('icmp6-echo', buildIcmpEcho({ ...V6, id: 9, seq: 2 }));
  add('vlan-tcp4-80', buildTcp({ ...V4, vlan: 100, sport: 40010, dport: 80, flags: 'S' }));
  add('vlan-udp6-53', buildUdp({ ...V6, vlan: 4011, sport: 5353, dport: 53 }));
  add('qinq-udp4', buildUdp({ ...V4, vlan: [{ id: 10, tpid: 0x88a8 }, 20], sport: 1000, dport: 2000 }));
  add('arp-request', buildArp({ srcMac: MAC_A, senderIp: '10.0.0.1', targetIp: '10.0.0.2' }));
  add('ipv4-options', buildUdp({ ...V4, sport: 1000, dport: 53, ipOptions: new Uint8Array([0x94, 0x04, 0, 0]) }));
  add('ipv4-frag-first', buildUdp({ ...V4, sport: 1000, dport: 80, moreFragments: true, payload: 'x'.repeat(64) }));
  add('ipv4-frag-later', buildIpPacket({ ...V4, protocol: IpProto.UDP, fragmentOffset: 8, l4: new Uint8Array(32) }));
  add('ipv6-frag', buildUdp({ ...V6, sport: 1000, dport: 53, extensionHeaders: [{ type: 'fragment', more: true, id: 1 }] }));
  add('ipv6-hopopts', buildTcp({ ...V6, sport: 1000, dport: 443, flags: 'S', extensionHeaders: [{ type: 'hop-by-hop' }] }));
  add('ipip', buildIpPacket({ ...V4, protocol: 4, l4: inner4 }));
  add('ip6ip6', buildIpPacket({ ...V6, protocol: 41, l4: inner6 }));
  add('ip4in6', buildIpPacket({ ...V6, protocol: 4, l4: inner4 }));
  add('gre4-ip4', buildIpPacket({ ...V4, protocol: 47, l4: concat(gre(EtherType.IPV4), inner4) }));
  add('gre4-ip6', buildIpPacket({ ...V4, protocol: 47, l4: concat(gre(EtherType.IPV6), inner6) }));
  add('vxlan-udp4', buildUdp({ ...V4, sport: 40000, dport: 4789, payload: concat(vxlan(42), buildUdp({ ...V4, src: '172.16.0.1', dst: '172.16.0.2', sport: 1, dport: 53 })) }));
  add('gue-udp4', buildUdp({ ...V4, sport: 40000, dport: 6080, payload: inner4 }));
  add('non-ip', buildEthernet({ srcMac: MAC_A, dstMac: MAC_B, etherType: 0x88cc, payload: new Uint8Array(46) }));
  add('broadcast-udp4', buildUdp({ ...V4, dstMac: 'ff:ff:ff:ff:ff:ff', dst: '255.255.255.255', sport: 68, dport: 67, payload: new Uint8Array(240) }));
  add('big-tcp4', buildTcp({ ...V4, sport: 40020, dport: 80, flags: 'A', payload: new Uint8Array(1400).fill(0x61) }));
  const tcp = buildTcp({ ...V4, sport: 40030, dport: 80, flags: 'S' });
  add('trunc-eth', tcp.slice(0, 12));
  add('trunc-ip4', tcp.slice(0, 14 + 12));
  add('trunc-tcp4', tcp.slice(0, 14 + 20 + 10));
  add('trunc-ip6', buildTcp({ ...V6, sport: 1, dport: 2, flags: 'S' }).slice(0, 14 + 30));
  return list;
}

/** One test-run input: data_in, and ctx_in for types whose run takes a context. */
export interface RunInput {
  readonly name: string;
  readonly data: Uint8Array;
  readonly ctxIn?: Uint8Array;
}

const AF_INET = 2;
const AF_INET6 = 10;

/**
 * struct bpf_sk_lookup contexts (72 bytes, no data_in) for sk_lookup test runs: the connections
 * of the packet corpus, TCP and UDP over IPv4 and IPv6, seen from the receiving side.
 */
export function skLookupContexts(): RunInput[] {
  const flows: [string, number, number, string, number, string, number][] = [
    ['tcp4-80', AF_INET, 6, '10.0.0.1', 40000, '10.0.0.2', 80],
    ['tcp4-443', AF_INET, 6, '10.0.0.1', 40001, '10.0.0.2', 443],
    ['tcp4-22', AF_INET, 6, '10.0.0.1', 40002, '127.0.0.1', 22],
    ['tcp4-8080', AF_INET, 6, '192.168.1.1', 40003, '10.0.0.2', 8080],
    ['udp4-53', AF_INET, 17, '10.0.0.1', 5353, '10.0.0.2', 53],
    ['udp4-high', AF_INET, 17, '10.0.0.1', 50000, '10.0.0.2', 60000],
    ['tcp6-80', AF_INET6, 6, 'fd00::1', 40000, 'fd00::2', 80],
    ['tcp6-443', AF_INET6, 6, 'fd00::1', 40001, '::1', 443],
    ['udp6-53', AF_INET6, 17, 'fd00::1', 5353, 'fd00::2', 53],
    ['udp6-high', AF_INET6, 17, 'fd00::1', 50000, 'fd00::2', 60000],
  ];
  return flows.map(([name, family, protocol, remote, rport, local, lport]) => {
    const ctx = new Uint8Array(72);
    const v = new DataView(ctx.buffer);
    v.setUint32(8, family, true);
    v.setUint32(12, protocol, true);
    const put = (at4: number, at6: number, addr: string) => (family === AF_INET ? writeIpv4(addr, ctx, at4) : writeIpv6(addr, ctx, at6));
    put(16, 20, remote);
    v.setUint16(36, rport, false); // remote_port: network order
    put(40, 44, local);
    v.setUint32(60, lport, true); // local_port: host order
    return { name: `sk-${name}`, data: new Uint8Array(0), ctxIn: ctx };
  });
}

/** The corpus' IPv4 and IPv6 packets without their Ethernet header (netfilter runs at LOCAL_OUT on L3 packets). */
export function l3Packets(frames: readonly CorpusPacket[]): RunInput[] {
  return frames.filter((f) => f.data.length > 14 && f.data[12] === 0x08 && f.data[13] === 0x00).map((f) => ({ name: `l3-${f.name}`, data: f.data.slice(14) }));
}
