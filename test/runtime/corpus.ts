// The packet corpus of the differential suite: valid, truncated, VLAN, IPv6 extension headers, fragments, runts, jumbo.
import { buildArp, buildEthernet, buildIcmpEcho, buildTcp, buildUdp } from '../../src/packet/index.js';

/** One packet of the corpus, named for messages. */
export interface CorpusPacket {
  readonly name: string;
  readonly data: Uint8Array;
}

/** A flow every seeded allow-list contains (so filters pass something). */
export const ALLOWED_V4 = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 53 } as const;

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** The corpus: deterministic, about 45 packets. */
export function packetCorpus(): CorpusPacket[] {
  const out: CorpusPacket[] = [];
  const add = (name: string, data: Uint8Array): void => {
    out.push({ name, data });
  };
  const udp4 = buildUdp({ ...ALLOWED_V4, payload: 'allowed flow' });
  const tcp4 = buildTcp({ src: '10.0.1.7', dst: '10.0.0.80', sport: 51000, dport: 80, flags: 'S' });
  const udp6 = buildUdp({ src: '2001:db8::1', dst: '2001:db8::2', sport: 40000, dport: 53, payload: 'v6' });
  add('udp4 allowed', udp4);
  add('udp4 other', buildUdp({ src: '10.0.3.9', dst: '10.0.0.2', sport: 33333, dport: 53, payload: bytes(40, 1) }));
  add('tcp4 syn', tcp4);
  add('tcp4 data', buildTcp({ src: '10.0.1.7', dst: '10.0.0.80', sport: 51000, dport: 80, flags: 'P.', payload: bytes(200, 2) }));
  add('tcp4 http', buildTcp({ src: '10.0.1.8', dst: '10.0.0.80', sport: 51001, dport: 80, flags: 'P.', payload: 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' }));
  add('icmp4 echo', buildIcmpEcho({ src: '10.0.0.9', dst: '10.0.0.2', id: 7, seq: 1, payload: bytes(56, 3) }));
  add('ipv4 options', buildUdp({ ...ALLOWED_V4, ipOptions: new Uint8Array([1, 1, 1, 1, 0x44, 4, 5, 0]), payload: 'opts' }));
  add('udp6', udp6);
  add('tcp6', buildTcp({ src: '2001:db8::7', dst: '2001:db8::80', sport: 51000, dport: 443, flags: 'S' }));
  add('icmp6 echo', buildIcmpEcho({ src: '2001:db8::9', dst: '2001:db8::2', id: 9, seq: 2 }));
  add('ipv6 hop-by-hop', buildUdp({ src: '2001:db8::1', dst: '2001:db8::2', sport: 1, dport: 2, extensionHeaders: [{ type: 'hop-by-hop' }] }));
  add('ipv6 dst+routing', buildTcp({ src: '2001:db8::1', dst: '2001:db8::2', sport: 3, dport: 4, extensionHeaders: [{ type: 'destination' }, { type: 'routing', segmentsLeft: 0 }] }));
  add('ipv6 fragment', buildUdp({ src: '2001:db8::1', dst: '2001:db8::2', sport: 5, dport: 6, extensionHeaders: [{ type: 'fragment', more: true, id: 77 }] }));
  add('ipv4 first fragment', buildUdp({ ...ALLOWED_V4, moreFragments: true, ipId: 9, payload: bytes(64, 4) }));
  add('ipv4 later fragment', buildUdp({ ...ALLOWED_V4, fragmentOffset: 64, ipId: 9, payload: bytes(64, 5) }));
  add('vlan udp4 allowed', buildUdp({ ...ALLOWED_V4, vlan: 100 }));
  add('vlan tcp4', buildTcp({ src: '10.0.1.7', dst: '10.0.0.80', sport: 51000, dport: 80, vlan: 200 }));
  add('qinq udp4', buildUdp({ ...ALLOWED_V4, vlan: [10, 20] }));
  add('vlan udp6', buildUdp({ src: '2001:db8::1', dst: '2001:db8::2', sport: 40000, dport: 53, vlan: 5 }));
  add('arp', buildArp({ senderIp: '10.0.0.1', targetIp: '10.0.0.2' }));
  add('ethertype unknown', buildEthernet({ etherType: 0x88b5, payload: bytes(46, 6) }));
  add('broadcast udp4', buildUdp({ src: '10.0.0.5', dst: '10.0.0.255', sport: 68, dport: 67, dstMac: 'ff:ff:ff:ff:ff:ff' }));
  // Truncated: cut inside the IPv4 header, the UDP/TCP header, the IPv6 header.
  for (const n of [15, 20, 33, 34, 36, 41]) add(`udp4 cut at ${n}`, udp4.slice(0, n));
  for (const n of [40, 47, 53]) add(`tcp4 cut at ${n}`, tcp4.slice(0, n));
  for (const n of [30, 53, 54, 60]) add(`udp6 cut at ${n}`, udp6.slice(0, n));
  // Runts: shorter than an Ethernet header, and exactly one.
  for (const n of [1, 13, 14]) add(`runt ${n}`, udp4.slice(0, n));
  // Sizes: minimum frame, full MTU, bigger than a page's linear room, jumbo.
  add('udp4 60', buildUdp({ ...ALLOWED_V4, payload: bytes(18, 7) }));
  add('udp4 1514', buildUdp({ ...ALLOWED_V4, payload: bytes(1472, 8) }));
  add('udp4 3000', buildUdp({ ...ALLOWED_V4, payload: bytes(2958, 9) }));
  // Garbage claiming IPv4 / IPv6 with bad header lengths.
  const badIhl = udp4.slice();
  badIhl[14] = 0x43; // ihl 3 (< 5)
  add('ipv4 ihl 3', badIhl);
  const bigIhl = udp4.slice();
  bigIhl[14] = 0x4f; // ihl 15 (60 bytes) past the packet end
  add('ipv4 ihl 15', bigIhl);
  add('random 64', bytes(64, 11));
  // Last: bigger than one page, so the kernel makes it an XDP multi-buffer frame.
  add('udp4 jumbo 9014', buildUdp({ ...ALLOWED_V4, payload: bytes(8972, 10) }));
  return out;
}
