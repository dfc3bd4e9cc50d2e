// RssSpreader: Toeplitz hash -> 128-entry indirection table spread like `ethtool -X equal N`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RssSpreader, buildUdp, buildTcp, buildArp, ToeplitzHasher, parseIp, PacketBuildError } from '../../src/packet/index.js';

test('default table is 128 entries, entry i -> queue i % N', () => {
  const s = new RssSpreader({ queues: 6 });
  assert.equal(s.table.length, 128);
  for (let i = 0; i < 128; i++) assert.equal(s.table[i], i % 6);
});

test('queue = table[hash % 128] for the Microsoft vector flow', () => {
  const s = new RssSpreader({ queues: 4 });
  const f = buildTcp({ src: '66.9.149.187', dst: '161.142.100.80', sport: 2794, dport: 1766 });
  assert.equal(s.queueOf(f), s.table[0x51ccc178 & 127]);
  assert.equal(s.lastHash, 0x51ccc178);
});

test('every packet of a flow hits one queue; flows spread over all queues', () => {
  const s = new RssSpreader({ queues: 8 });
  const counts = new Array<number>(8).fill(0);
  for (let flow = 0; flow < 4000; flow++) {
    const sport = 1024 + flow;
    const q = s.queueOf(buildUdp({ src: '10.1.0.1', dst: '10.2.0.1', sport, dport: 53, payload: 'a' }));
    for (let pkt = 0; pkt < 3; pkt++) {
      const again = buildUdp({ src: '10.1.0.1', dst: '10.2.0.1', sport, dport: 53, payload: 'payload differs '.repeat(pkt), ttl: 60 + pkt, vlan: pkt === 2 ? 5 : undefined });
      assert.equal(s.queueOf(again), q);
    }
    counts[q]!++;
  }
  for (const c of counts) assert.ok(c > 350 && c < 650, `uneven spread ${counts.join(',')}`);
});

test('IPv6 flows and non-IP frames', () => {
  const s = new RssSpreader({ queues: 3 });
  const h = new ToeplitzHasher();
  const src = parseIp('fd00::1');
  const dst = parseIp('fd00::2');
  const input = new Uint8Array(36);
  input.set(src, 0); input.set(dst, 16); input.set([0x30, 0x39, 0x00, 0x50], 32);
  assert.equal(s.queueOf(buildTcp({ src: 'fd00::1', dst: 'fd00::2', sport: 12345, dport: 80 })), s.table[h.hash(input) % 128]);
  assert.equal(s.queueOf(buildArp({ senderIp: '10.0.0.1', targetIp: '10.0.0.2' })), 0);
  assert.equal(s.lastHash, -1);
});

test('explicit tables are validated', () => {
  assert.equal(new RssSpreader({ queues: 2, table: [1, 1, 0] }).queueOfHash(4), 1);
  assert.throws(() => new RssSpreader({ queues: 2, table: [2] }), PacketBuildError);
  assert.throws(() => new RssSpreader({ queues: 0 }), PacketBuildError);
});
