// Toeplitz RSS hash against Microsoft's published RSS verification suite (IPv4 and IPv6, 2- and 4-tuple).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MICROSOFT_RSS_KEY, ToeplitzHasher, toeplitzHash, parseIp, buildTcp, buildUdp, buildIcmpEcho, parseFrame, ParsedFrame,
  LinkType, PacketBuildError,
} from '../../src/packet/index.js';
import { rng } from './helpers.js';

// "Verifying the RSS Hash Calculation" (Microsoft): destination, source, and the expected hash
// over the addresses only and with TCP ports. Hash input order is src, dst, sport, dport.
const IPV4_VECTORS = [
  { dst: '161.142.100.80', dport: 1766, src: '66.9.149.187', sport: 2794, l3: 0x323e8fc2, l4: 0x51ccc178 },
  { dst: '65.69.140.83', dport: 4739, src: '199.92.111.2', sport: 14230, l3: 0xd718262a, l4: 0xc626b0ea },
  { dst: '12.22.207.184', dport: 38024, src: '24.19.198.95', sport: 12898, l3: 0xd2d0a5de, l4: 0x5c2b394a },
  { dst: '209.142.163.6', dport: 2217, src: '38.27.205.30', sport: 48228, l3: 0x82989176, l4: 0xafc7327f },
  { dst: '202.188.127.2', dport: 1303, src: '153.39.163.191', sport: 44251, l3: 0x5d1809c5, l4: 0x10e828a2 },
];
const IPV6_VECTORS = [
  { dst: '3ffe:2501:200:3::1', dport: 1766, src: '3ffe:2501:200:1fff::7', sport: 2794, l3: 0x2cc18cd5, l4: 0x40207d3d },
  { dst: 'ff02::1', dport: 4739, src: '3ffe:501:8::260:97ff:fe40:efab', sport: 14230, l3: 0x0f0c461c, l4: 0xdde51bbf },
  { dst: 'fe80::200:f8ff:fe21:67cf', dport: 38024, src: '3ffe:1900:4545:3:200:f8ff:fe21:67cf', sport: 44251, l3: 0x4b61e985, l4: 0x02d1feef },
];
const ALL = [...IPV4_VECTORS.map((v) => ({ ...v, family: 'IPv4' })), ...IPV6_VECTORS.map((v) => ({ ...v, family: 'IPv6' }))];

function tupleBytes(v: (typeof ALL)[number], withPorts: boolean): Uint8Array {
  const src = parseIp(v.src);
  const dst = parseIp(v.dst);
  const out = new Uint8Array(src.length * 2 + (withPorts ? 4 : 0));
  out.set(src, 0);
  out.set(dst, src.length);
  if (withPorts) out.set([v.sport >> 8, v.sport & 0xff, v.dport >> 8, v.dport & 0xff], src.length * 2);
  return out;
}

const hasher = new ToeplitzHasher();
const hex = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

for (const v of ALL) {
  test(`Microsoft RSS vector ${v.family} ${v.src}:${v.sport} -> ${v.dst}:${v.dport}`, () => {
    assert.equal(hex(toeplitzHash(tupleBytes(v, false))), hex(v.l3), 'reference, addresses only');
    assert.equal(hex(toeplitzHash(tupleBytes(v, true))), hex(v.l4), 'reference, with ports');
    assert.equal(hex(hasher.hash(tupleBytes(v, false))), hex(v.l3), 'table, addresses only');
    assert.equal(hex(hasher.hash(tupleBytes(v, true))), hex(v.l4), 'table, with ports');
    // Through built frames: TCP and UDP hash the 4-tuple, ICMP the 2-tuple.
    const pf = new ParsedFrame();
    const tcp = buildTcp({ src: v.src, dst: v.dst, sport: v.sport, dport: v.dport, vlan: 7 });
    assert.equal(hex(hasher.hashFrame(tcp, parseFrame(tcp, 0, tcp.length, LinkType.ETHERNET, pf))), hex(v.l4), 'TCP frame');
    const udp = buildUdp({ src: v.src, dst: v.dst, sport: v.sport, dport: v.dport, raw: true });
    assert.equal(hex(hasher.hashFrame(udp, parseFrame(udp, 0, udp.length, LinkType.RAW, pf))), hex(v.l4), 'UDP raw packet');
    assert.equal(hex(hasher.hashFrame(udp, pf, false)), hex(v.l3), 'UDP without port hashing');
    const icmp = buildIcmpEcho({ src: v.src, dst: v.dst, id: 1, seq: 1 });
    assert.equal(hex(hasher.hashFrame(icmp, parseFrame(icmp, 0, icmp.length, LinkType.ETHERNET, pf))), hex(v.l3), 'ICMP frame');
  });
}

test('table-driven hasher equals the bit-serial reference on random keys and inputs', () => {
  const r = rng(7);
  for (let n = 0; n < 200; n++) {
    const key = Uint8Array.from({ length: 8 + Math.floor(r() * 45) }, () => Math.floor(r() * 256));
    const h = new ToeplitzHasher(key);
    const input = Uint8Array.from({ length: Math.floor(r() * (key.length - 3)) }, () => Math.floor(r() * 256));
    assert.equal(h.hash(input), toeplitzHash(input, key));
  }
});

test('IPv6 fragments and non-IP frames', () => {
  const pf = new ParsedFrame();
  const frag = buildUdp({ src: 'fd00::1', dst: 'fd00::2', sport: 1, dport: 2, extensionHeaders: [{ type: 'fragment', more: true, id: 9 }] });
  parseFrame(frag, 0, frag.length, LinkType.ETHERNET, pf);
  assert.equal(hasher.hashFrame(frag, pf), hasher.hashTuple(frag, pf.ipSrcOffset, pf.ipDstOffset, 16), 'fragments hash the 2-tuple');
  const arp = new Uint8Array(60);
  arp[12] = 0x08; arp[13] = 0x06;
  assert.equal(hasher.hashFrame(arp, parseFrame(arp, 0, 60, LinkType.ETHERNET, pf)), -1);
});

test('key too short for the input is a PacketBuildError', () => {
  assert.throws(() => toeplitzHash(new Uint8Array(37)), PacketBuildError);
  assert.throws(() => hasher.hash(new Uint8Array(37)), (e: unknown) => e instanceof PacketBuildError && e.code === 'ERR_PACKET_BUILD');
  assert.equal(MICROSOFT_RSS_KEY.length, 40);
});
