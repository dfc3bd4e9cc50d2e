// Drop keys decoded (addresses, ports, protocols, reason names), kallsyms symbolization, and drops as Prometheus families.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderExposition } from '../../../src/dashboard/prometheus.js';
import { snapshotFamilies } from '../../../src/dashboard/families.js';
import type { Snapshot } from '../../../src/dashboard/metrics.js';
import { decodeDrop, DROP_KEY_SIZE, DropKey, Kallsyms } from '../../../src/kernel/trace/index.js';

const syms = new Kallsyms(['ffffffff81000000 T _stext', 'ffffffff81f00000 t __udp4_lib_rcv', 'ffffffff81f00800 T udp_rcv', 'ffffffff81f01000 d some_data', 'ffffffffc0000000 t nft_do_chain\t[nf_tables]'].join('\n'));
const reasons = new Map([[3, 'NO_SOCKET'], [2, 'NOT_SPECIFIED']]);

function key(fill: (v: DataView, b: Uint8Array) => void): Uint8Array {
  const b = new Uint8Array(DROP_KEY_SIZE);
  fill(new DataView(b.buffer), b);
  return b;
}

test('kallsyms: nearest text symbol at or below, module symbols without their [module], data symbols ignored', () => {
  assert.equal(syms.symbolize(0xffffffff81f004bcn), '__udp4_lib_rcv+0x4bc');
  assert.equal(syms.symbolize(0xffffffff81f01010n), 'udp_rcv+0x810');
  assert.equal(syms.symbolize(0xffffffffc0000010n), 'nft_do_chain+0x10');
  assert.equal(syms.symbolize(0x1000n), '0x1000');
  assert.equal(new Kallsyms('0000000000000000 T hidden\n').size, 0, 'addresses hidden without CAP_SYSLOG');
});

test('decodeDrop: IPv4 UDP with ports, IPv6 TCP with RFC 5952 addresses, ARP without IP, unknown reason', () => {
  const v4 = decodeDrop(key((v, b) => {
    v.setBigUint64(DropKey.location, 0xffffffff81f004bcn, true);
    v.setUint32(DropKey.reason, 3, true);
    v.setUint32(DropKey.ifindex, 7, true);
    v.setUint32(DropKey.netns, 4026532000, true);
    b.set([10, 0, 0, 1], DropKey.saddr);
    b.set([10, 0, 0, 2], DropKey.daddr);
    v.setUint16(DropKey.sport, 40000, false);
    v.setUint16(DropKey.dport, 9, false);
    v.setUint16(DropKey.ethProto, 0x0800, false);
    b[DropKey.l4Proto] = 17;
    b[DropKey.ipVersion] = 4;
    b.set(new TextEncoder().encode('veth0'), DropKey.dev);
  }), 23, reasons, syms);
  assert.deepEqual(v4, { reason: 'NO_SOCKET', reasonCode: 3, location: '__udp4_lib_rcv+0x4bc', dev: 'veth0', ifindex: 7, netns: 4026532000, protocol: 'udp', saddr: '10.0.0.1', daddr: '10.0.0.2', sport: 40000, dport: 9, count: 23 });
  const v6 = decodeDrop(key((v, b) => {
    v.setUint32(DropKey.reason, 99, true);
    b.set([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], DropKey.saddr);
    b.set([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2], DropKey.daddr);
    v.setUint16(DropKey.sport, 443, false);
    v.setUint16(DropKey.ethProto, 0x86dd, false);
    b[DropKey.l4Proto] = 6;
    b[DropKey.ipVersion] = 6;
  }), 1, reasons, undefined);
  assert.deepEqual([v6.reason, v6.protocol, v6.saddr, v6.daddr, v6.sport, v6.dev, v6.location], ['reason 99', 'tcp', '2001:db8::1', 'fe80::1:0:0:2', 443, '', '0x0']);
  const arp = decodeDrop(key((v) => {
    v.setUint32(DropKey.reason, 2, true);
    v.setUint16(DropKey.ethProto, 0x0806, false);
  }), 4, reasons, syms);
  assert.deepEqual([arp.protocol, arp.saddr, arp.sport, arp.reason], ['arp', undefined, undefined, 'NOT_SPECIFIED']);
  const other = decodeDrop(key((v) => v.setUint16(DropKey.ethProto, 0x88b5, false)), 1, reasons, syms);
  assert.equal(other.protocol, '0x88b5');
});

test('drops by reason render as the bpfkit_packet_drops_total counter family', () => {
  const snapshot: Snapshot = { time: 0, durationMs: 1, statsEnabled: false, statsSource: 'off', cpus: 1, programs: [], maps: [], values: [], selectors: {}, drops: [{ reason: 'NO_SOCKET', count: 23 }, { reason: 'TC_INGRESS', count: 17 }] };
  const text = renderExposition(snapshotFamilies(snapshot));
  assert.match(text, /# TYPE bpfkit_packet_drops_total counter\nbpfkit_packet_drops_total\{reason="NO_SOCKET"\} 23\nbpfkit_packet_drops_total\{reason="TC_INGRESS"\} 17\n/);
});
