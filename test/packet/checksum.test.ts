// Internet checksum (RFC 1071), incremental update (RFC 1624) and pseudo-header checksums.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  onesComplementSum, internetChecksum, checksumUpdate16, checksumUpdate32, checksumUpdateBytes, pseudoHeaderSum,
  transportChecksum, buildUdp, buildTcp, buildIcmpEcho, parseFrame, ParsedFrame, LinkType, verifyTransportChecksum,
  verifyIpv4Checksum, fillChecksums, foldSum,
} from '../../src/packet/index.js';
import { rng } from './helpers.js';

test('RFC 1071 section 3 worked example', () => {
  const bytes = Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7);
  assert.equal(onesComplementSum(bytes), 0xddf2);
  assert.equal(internetChecksum(bytes), 0x220d);
});

test('odd length pads with a zero byte; folding carries end-around', () => {
  assert.equal(onesComplementSum(Uint8Array.of(0x12, 0x34, 0x56)), 0x1234 + 0x5600);
  assert.equal(onesComplementSum(Uint8Array.of(0xff, 0xff, 0x00, 0x01)), 0x0001);
  assert.equal(foldSum(0x2fffe), 0x0001);
});

test('a classic IPv4 header checks out (checksum 0xb861)', () => {
  const h = Uint8Array.from([0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7]);
  assert.equal(internetChecksum(h), 0xb861);
  h[10] = 0xb8; h[11] = 0x61;
  assert.equal(onesComplementSum(h), 0xffff);
});

test('RFC 1624 incremental update equals recomputation (random headers and edits)', () => {
  const r = rng(1624);
  for (let n = 0; n < 2000; n++) {
    const h = Uint8Array.from({ length: 20 }, () => Math.floor(r() * 256));
    h[10] = 0; h[11] = 0;
    const c = internetChecksum(h);
    const w = 2 * Math.floor(r() * 10);
    if (w === 10) continue;
    const oldWord = (h[w]! << 8) | h[w + 1]!;
    const newWord = r() < 0.1 ? 0 : Math.floor(r() * 65536);
    h[w] = newWord >> 8; h[w + 1] = newWord & 0xff;
    const full = internetChecksum(h);
    const inc = checksumUpdate16(c, oldWord, newWord);
    // One's-complement has two zeros: +0 (0x0000) and -0 (0xffff) denote the same sum.
    assert.ok(inc === full || (inc ^ full) === 0xffff && (inc === 0 || full === 0), `word ${w}: ${inc.toString(16)} vs ${full.toString(16)}`);
  }
});

test('32-bit and byte-range updates (NAT rewrite of an address)', () => {
  const f = buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1000, dport: 2000, payload: 'nat me' });
  const pf = parseFrame(f, 0, f.length, LinkType.ETHERNET, new ParsedFrame());
  const dv = new DataView(f.buffer);
  const ipSum = dv.getUint16(pf.l3Offset + 10);
  const udpSum = dv.getUint16(pf.l4Offset + 6);
  const old = dv.getUint32(pf.ipSrcOffset);
  const oldBytes = f.slice(pf.ipSrcOffset, pf.ipSrcOffset + 4);
  const neu = 0xc0a80105; // 192.168.1.5
  dv.setUint32(pf.ipSrcOffset, neu);
  dv.setUint16(pf.l3Offset + 10, checksumUpdate32(ipSum, old, neu));
  dv.setUint16(pf.l4Offset + 6, checksumUpdateBytes(udpSum, oldBytes, f, pf.ipSrcOffset));
  assert.equal(verifyIpv4Checksum(f, pf), true);
  assert.equal(verifyTransportChecksum(f, pf), true);
});

test('pseudo-header checksums over IPv4 and IPv6 match what the builders wrote', () => {
  const pf = new ParsedFrame();
  for (const f of [
    buildUdp({ src: '1.2.3.4', dst: '5.6.7.8', sport: 1, dport: 2, payload: 'abc' }),
    buildTcp({ src: '1.2.3.4', dst: '5.6.7.8', sport: 1, dport: 2, flags: 'P.', payload: 'abcd' }),
    buildUdp({ src: '2001:db8::1', dst: '2001:db8::2', sport: 1, dport: 2, payload: 'abcde' }),
    buildTcp({ src: '2001:db8::1', dst: '2001:db8::2', sport: 1, dport: 2, flags: 'S' }),
    buildIcmpEcho({ src: '2001:db8::1', dst: '2001:db8::2', id: 3, seq: 4, payload: 'x' }),
  ]) {
    parseFrame(f, 0, f.length, LinkType.ETHERNET, pf);
    const len = pf.l3End - pf.l4Offset;
    const at = pf.l4Offset + (pf.ipProto === 6 ? 16 : pf.ipProto === 17 ? 6 : 2);
    const stored = (f[at]! << 8) | f[at + 1]!;
    const copy = f.slice();
    copy[at] = 0; copy[at + 1] = 0;
    const addr = pf.ipVersion === 6 ? 16 : 4;
    assert.equal(transportChecksum(copy, pf.ipSrcOffset, pf.ipDstOffset, addr, pf.ipProto, pf.l4Offset, len), stored);
    const pseudo = pseudoHeaderSum(f, pf.ipSrcOffset, pf.ipDstOffset, addr, pf.ipProto, len);
    assert.equal(onesComplementSum(f, pf.l4Offset, len, pseudo), 0xffff);
    assert.equal(verifyTransportChecksum(f, pf), true);
    f[pf.payloadOffset - 1]! ^= 0x40; // corrupt a header byte
    assert.equal(verifyTransportChecksum(f, pf), false);
    assert.equal(fillChecksums(f, parseFrame(f, 0, f.length, LinkType.ETHERNET, pf)), true);
    assert.equal(verifyTransportChecksum(f, pf), true);
  }
});

test('IPv4 UDP checksum 0 means "none"; a computed 0 is sent as 0xffff', () => {
  const pf = new ParsedFrame();
  const f = buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 7, dport: 9 });
  parseFrame(f, 0, f.length, LinkType.ETHERNET, pf);
  f[pf.l4Offset + 6] = 0; f[pf.l4Offset + 7] = 0;
  assert.equal(verifyTransportChecksum(f, parseFrame(f, 0, f.length, LinkType.ETHERNET, pf)), true);
  // Search a payload word making the checksum compute to 0, then check it is encoded as 0xffff.
  const base = buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 7, dport: 9, payload: new Uint8Array(2) });
  parseFrame(base, 0, base.length, LinkType.ETHERNET, pf);
  const sum = (base[pf.l4Offset + 6]! << 8) | base[pf.l4Offset + 7]!;
  // With payload word w the checksum is ~(S + w); choose w = ~S - 0 so the sum becomes 0xffff.
  const w = sum === 0xffff ? 0 : sum;
  const f0 = buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 7, dport: 9, payload: Uint8Array.of(w >> 8, w & 0xff) });
  parseFrame(f0, 0, f0.length, LinkType.ETHERNET, pf);
  assert.equal((f0[pf.l4Offset + 6]! << 8) | f0[pf.l4Offset + 7]!, 0xffff);
  assert.equal(verifyTransportChecksum(f0, pf), true);
});
