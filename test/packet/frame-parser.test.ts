// parseFrame over built frames: every link type, VLAN stacks, IPv4 options/fragments, IPv6 extension headers, truncation.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseFrame, ParsedFrame, Truncated, LinkType, EtherType, IpProto, TcpFlag, buildUdp, buildTcp, buildIcmpEcho, buildArp,
  buildIpPacket, formatIpv4, formatIpv6, PacketBuildError, tcpFlagsFromString,
} from '../../src/packet/index.js';

const pf = new ParsedFrame();
const parse = (f: Uint8Array, linkType: number = LinkType.ETHERNET, len = f.length): ParsedFrame => parseFrame(f, 0, len, linkType, pf);
const text = (f: Uint8Array, off: number, v6: boolean): string => (v6 ? formatIpv6(f, off) : formatIpv4(f, off));

test('UDP over IPv4 in a QinQ stack', () => {
  const f = buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1234, dport: 5000, payload: 'hello', vlan: [{ id: 10, pcp: 3 }, 20], ttl: 9, tos: 0x10, ipId: 4242 });
  const p = parse(f);
  assert.equal(p.vlanCount, 2);
  assert.equal(p.outerTpid, EtherType.QINQ);
  assert.equal(p.outerTci, (3 << 13) | 10);
  assert.equal(p.innerTci, 20);
  assert.equal(p.etherType, EtherType.IPV4);
  assert.equal(p.l3Offset, 22);
  assert.equal(p.ipVersion, 4);
  assert.equal(p.ipHeaderLength, 20);
  assert.equal(p.ipTotalLength, 33);
  assert.deepEqual([p.ipTtl, p.ipTos, p.ipId, p.ipProto], [9, 0x10, 4242, IpProto.UDP]);
  assert.equal(text(f, p.ipSrcOffset, false), '10.0.0.1');
  assert.equal(text(f, p.ipDstOffset, false), '10.0.0.2');
  assert.deepEqual([p.l4Offset, p.srcPort, p.dstPort, p.udpLength], [42, 1234, 5000, 13]);
  assert.equal(new TextDecoder().decode(f.subarray(p.payloadOffset, p.payloadOffset + p.payloadLength)), 'hello');
  assert.equal(p.truncated, Truncated.NONE);
  assert.equal(p.malformed, '');
});

test('TCP over IPv6 behind hop-by-hop, destination, routing and AH headers', () => {
  const f = buildTcp({
    src: '2001:db8::1', dst: '2001:db8::2', sport: 443, dport: 50000, flags: 'S.E', seq: 0xfffffff0, ack: 77, window: 1024,
    tcpOptions: Uint8Array.of(2, 4, 5, 0xb4, 1, 3, 3, 7), payload: 'data',
    extensionHeaders: [{ type: 'hop-by-hop' }, { type: 'destination', options: new Uint8Array(10) }, { type: 'routing' }, { type: 'ah' }],
  });
  const p = parse(f);
  assert.equal(p.ipVersion, 6);
  assert.equal(p.ipv6ExtensionCount, 4);
  assert.equal(p.ipHeaderLength, 40 + 8 + 16 + 24 + 24);
  assert.equal(p.ipProto, IpProto.TCP);
  assert.equal(p.l4Offset, 14 + p.ipHeaderLength);
  assert.deepEqual([p.srcPort, p.dstPort, p.tcpSeq, p.tcpAck, p.tcpWindow], [443, 50000, 0xfffffff0, 77, 1024]);
  assert.equal(p.tcpFlags, TcpFlag.SYN | TcpFlag.ACK | TcpFlag.ECE);
  assert.equal(p.tcpHeaderLength, 28);
  assert.equal(p.payloadLength, 4);
  assert.equal(text(f, p.ipDstOffset, true), '2001:db8::2');
});

test('ICMP echo with IPv4 options; ARP; Ethernet padding excluded from the payload', () => {
  const f = buildIcmpEcho({ src: '1.1.1.1', dst: '2.2.2.2', id: 0x1234, seq: 9, payload: 'abc', ipOptions: Uint8Array.of(7, 3, 4) });
  let p = parse(f);
  assert.deepEqual([p.ipHeaderLength, p.icmpType, p.icmpCode, p.icmpId, p.icmpSeq, p.payloadLength], [24, 8, 0, 0x1234, 9, 3]);
  const padded = new Uint8Array(60);
  padded.set(buildUdp({ src: '1.1.1.1', dst: '2.2.2.2', sport: 1, dport: 2, payload: 'x' }));
  p = parse(padded);
  assert.equal(p.payloadLength, 1);
  assert.equal(p.truncated, Truncated.NONE);
  const arp = buildArp({ op: 'reply', senderIp: '10.0.0.1', targetIp: '10.0.0.2', vlan: 3 });
  p = parse(arp);
  assert.equal(p.etherType, EtherType.ARP);
  assert.equal(p.arpOp, 2);
  assert.equal(formatIpv4(arp, p.arpSenderIpOffset), '10.0.0.1');
  assert.equal(formatIpv4(arp, p.arpTargetIpOffset), '10.0.0.2');
});

test('IPv4 fragments: the first carries L4, later ones do not', () => {
  let p = parse(buildUdp({ src: '1.1.1.1', dst: '2.2.2.2', sport: 1, dport: 2, payload: 'abcdefgh', moreFragments: true, ipId: 5 }));
  assert.deepEqual([p.isFragment, p.moreFragments, p.fragmentOffset, p.srcPort], [true, true, 0, 1]);
  const later = buildIpPacket({ src: '1.1.1.1', dst: '2.2.2.2', protocol: IpProto.UDP, l4: new Uint8Array(16), fragmentOffset: 24, dontFragment: false });
  p = parse(later);
  assert.deepEqual([p.isFragment, p.moreFragments, p.fragmentOffset, p.l4Offset, p.payloadOffset, p.payloadLength], [true, false, 24, -1, 34, 16]);
  const v6 = buildUdp({ src: 'fd00::1', dst: 'fd00::2', sport: 1, dport: 2, extensionHeaders: [{ type: 'fragment', offset: 1480, more: true, id: 0xabcdef }] });
  p = parse(v6);
  assert.deepEqual([p.isFragment, p.moreFragments, p.fragmentOffset, p.ipId, p.l4Offset, p.ipProto], [true, true, 1480, 0xabcdef, -1, IpProto.UDP]);
  assert.throws(() => buildIpPacket({ src: '1.1.1.1', dst: '2.2.2.2', protocol: 17, l4: new Uint8Array(8), fragmentOffset: 3 }), PacketBuildError);
});

test('raw IP, Linux cooked v1/v2 and BSD loopback link types', () => {
  const ip = buildUdp({ src: 'fd00::1', dst: 'fd00::2', sport: 7, dport: 8, payload: 'z', raw: true });
  assert.equal(parse(ip, LinkType.RAW).dstPort, 8);
  assert.equal(parse(ip, LinkType.IPV6).dstPort, 8);
  const sll = new Uint8Array(16 + ip.length);
  sll.set([0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x86, 0xdd]);
  sll.set(ip, 16);
  let p = parse(sll, LinkType.LINUX_SLL);
  assert.deepEqual([p.etherType, p.l3Offset, p.dstPort], [EtherType.IPV6, 16, 8]);
  const sll2 = new Uint8Array(20 + ip.length);
  sll2.set([0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6]);
  sll2.set(ip, 20);
  p = parse(sll2, LinkType.LINUX_SLL2);
  assert.deepEqual([p.etherType, p.l3Offset, p.dstPort], [EtherType.IPV6, 20, 8]);
  const nul = new Uint8Array(4 + ip.length);
  nul.set([30, 0, 0, 0]);
  nul.set(ip, 4);
  assert.equal(parse(nul, LinkType.NULL).dstPort, 8);
  p = parse(ip, 9999);
  assert.equal(p.l3Offset, -1);
});

test('truncation at every length is reported, never thrown', () => {
  const frames = [
    buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, payload: 'hello', vlan: [1, 2] }),
    buildTcp({ src: 'fd00::1', dst: 'fd00::2', sport: 1, dport: 2, tcpOptions: new Uint8Array(12), extensionHeaders: [{ type: 'hop-by-hop' }, { type: 'fragment' }], payload: 'p' }),
    buildIcmpEcho({ src: '10.0.0.1', dst: '10.0.0.2', ipOptions: new Uint8Array(8), payload: 'q' }),
    buildArp({ senderIp: '10.0.0.1', targetIp: '10.0.0.2' }),
  ];
  for (const f of frames) {
    const full = parse(f);
    assert.equal(full.truncated, Truncated.NONE);
    const payloadAt = full.payloadOffset;
    let lastLayer = 0;
    for (let len = 0; len < f.length; len++) {
      const p = parse(f, LinkType.ETHERNET, len);
      assert.equal(p.malformed, '');
      if (len >= payloadAt && p.etherType !== EtherType.ARP) assert.equal(p.truncated, Truncated.PAYLOAD, `len ${len}`);
      else if (p.etherType !== EtherType.ARP || len < 14 + 28 + 4 * p.vlanCount) assert.ok(p.truncated !== Truncated.NONE && p.truncated !== Truncated.PAYLOAD, `len ${len}`);
      assert.ok(p.truncated >= lastLayer || p.truncated === Truncated.L2, 'layers only deepen as the length grows');
      lastLayer = p.truncated;
    }
  }
});

test('malformed headers are flagged', () => {
  const f = buildTcp({ src: '1.1.1.1', dst: '2.2.2.2', sport: 1, dport: 2 });
  const badIhl = f.slice();
  badIhl[14] = 0x44;
  assert.equal(parse(badIhl).malformed, 'IPv4 header length below 20');
  const badDoff = f.slice();
  badDoff[14 + 20 + 12] = 0x40;
  assert.equal(parse(badDoff).malformed, 'TCP data offset below 5');
  const many = buildUdp({ src: 'fd00::1', dst: 'fd00::2', sport: 1, dport: 2, extensionHeaders: Array.from({ length: 17 }, () => ({ type: 'destination' as const })) });
  assert.equal(parse(many).malformed, 'too many IPv6 extension headers');
  const v = f.slice();
  v[14] = 0x65;
  assert.equal(parse(v).malformed, 'IPv4 header version is not 4');
});

test('one ParsedFrame is fully reset between frames', () => {
  parse(buildTcp({ src: '1.1.1.1', dst: '2.2.2.2', sport: 1, dport: 2, vlan: 9 }));
  const p = parse(buildArp({ senderIp: '10.0.0.1', targetIp: '10.0.0.2' }));
  assert.deepEqual([p.vlanCount, p.outerTci, p.ipVersion, p.l4Offset, p.srcPort, p.tcpFlags], [0, -1, 0, -1, 0, 0]);
});

test('tcpdump-style flag letters', () => {
  assert.equal(tcpFlagsFromString('S.'), TcpFlag.SYN | TcpFlag.ACK);
  assert.equal(tcpFlagsFromString('FP.'), TcpFlag.FIN | TcpFlag.PSH | TcpFlag.ACK);
  assert.throws(() => tcpFlagsFromString('X'), PacketBuildError);
  assert.throws(() => buildUdp({ src: '1.1.1.1', dst: 'fd00::1', sport: 1, dport: 2 }), (e: unknown) => e instanceof PacketBuildError && e.field === 'dst');
  assert.throws(() => buildUdp({ src: '1.1.1.1', dst: '2.2.2.2', sport: 70000, dport: 2 }), /sport: 70000/);
});
