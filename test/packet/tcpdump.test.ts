// tcpdump as the oracle: it must parse the files our writers make (with good checksums), and our
// reader must agree with it on captures tcpdump writes from loopback traffic.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  writePcap, PcapngWriter, readCapture, parseFrame, ParsedFrame, LinkType, buildUdp, buildTcp, buildIcmpEcho, buildArp,
  type CapturedPacket,
} from '../../src/packet/index.js';
import { TCPDUMP_MISSING, tcpdump, tempDir } from './helpers.js';

const T0 = 1_700_000_000;
const CASES: { frame: Uint8Array; line: string; eLine?: string }[] = [
  { frame: buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1234, dport: 5000, payload: 'hello' }), line: 'IP 10.0.0.1.1234 > 10.0.0.2.5000: UDP, length 5' },
  {
    frame: buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1234, dport: 5000, payload: 'hello', vlan: [{ id: 10, pcp: 3 }, 20] }),
    line: 'IP 10.0.0.1.1234 > 10.0.0.2.5000: UDP, length 5',
    eLine: '02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype 802.1Q-QinQ (0x88a8), length 55: vlan 10, p 3, ethertype 802.1Q (0x8100), vlan 20, p 0, ethertype IPv4 (0x0800), 10.0.0.1.1234 > 10.0.0.2.5000: UDP, length 5',
  },
  { frame: buildTcp({ src: '10.1.1.1', dst: '10.1.1.2', sport: 40000, dport: 9999, flags: 'P.', seq: 1, ack: 2, window: 512, payload: 'GETX' }), line: 'IP 10.1.1.1.40000 > 10.1.1.2.9999: Flags [P.], seq 1:5, ack 2, win 512, length 4' },
  { frame: buildTcp({ src: 'fd00::1', dst: 'fd00::2', sport: 40000, dport: 80, flags: 'S', seq: 1000, tcpOptions: Uint8Array.of(2, 4, 5, 0xb4) }), line: 'IP6 fd00::1.40000 > fd00::2.80: Flags [S], seq 1000, win 65535, options [mss 1460], length 0' },
  { frame: buildTcp({ src: '10.1.1.3', dst: '10.1.1.4', sport: 7777, dport: 40000, flags: 'F.', seq: 5, ack: 5, window: 100 }), line: 'IP 10.1.1.3.7777 > 10.1.1.4.40000: Flags [F.], seq 5, ack 5, win 100, length 0' },
  { frame: buildIcmpEcho({ src: '192.168.1.1', dst: '192.168.1.2', id: 7, seq: 1, payload: 'ping' }), line: 'IP 192.168.1.1 > 192.168.1.2: ICMP echo request, id 7, seq 1, length 12' },
  { frame: buildIcmpEcho({ src: 'fd00::2', dst: 'fd00::1', id: 7, seq: 2, payload: 'ping6', reply: true, vlan: 100 }), line: 'IP6 fd00::2 > fd00::1: ICMP6, echo reply, id 7, seq 2, length 13', eLine: '02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype 802.1Q (0x8100), length 71: vlan 100, p 0, ethertype IPv6 (0x86dd), fd00::2 > fd00::1: ICMP6, echo reply, id 7, seq 2, length 13' },
  { frame: buildUdp({ src: '2001:db8::1', dst: '2001:db8::2', sport: 41000, dport: 42000, payload: 'abc' }), line: 'IP6 2001:db8::1.41000 > 2001:db8::2.42000: UDP, length 3' },
  { frame: buildUdp({ src: '2001:db8::1', dst: '2001:db8::2', sport: 41000, dport: 42000, payload: 'abc', extensionHeaders: [{ type: 'hop-by-hop' }, { type: 'destination' }] }), line: 'IP6 2001:db8::1 > 2001:db8::2: HBH DSTOPT 41000 > 42000: UDP, length 3' },
  { frame: buildArp({ senderIp: '10.0.0.1', targetIp: '10.0.0.2' }), line: 'ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28' },
  { frame: buildArp({ op: 'reply', senderIp: '10.0.0.2', senderMac: '02:00:00:00:00:09', targetIp: '10.0.0.1', targetMac: '02:00:00:00:00:01' }), line: 'ARP, Reply 10.0.0.2 is-at 02:00:00:00:00:09, length 28' },
];
const NS = CASES.map((_, i) => (987_654_321 * (i + 3)) % 1e9);

function stamp(i: number, nano: boolean): string {
  const ns = NS[i]!;
  return `${T0 + i}.${nano ? String(ns).padStart(9, '0') : String(Math.floor(ns / 1000)).padStart(6, '0')}`;
}

function writeVariants(dir: string): { file: string; nano: boolean }[] {
  const packets = CASES.map((c, i) => ({ data: c.frame, seconds: T0 + i, nanoseconds: NS[i]! }));
  const out: { file: string; nano: boolean }[] = [];
  for (const [name, le, nano] of [['le-us.pcap', true, false], ['be-ns.pcap', false, true], ['le-ns.pcap', true, true], ['be-us.pcap', false, false]] as const) {
    writeFileSync(join(dir, name), writePcap(packets, { littleEndian: le, nanosecond: nano }));
    out.push({ file: join(dir, name), nano });
  }
  for (const [name, le, res] of [['le-us.pcapng', true, 6], ['be-ns.pcapng', false, 9]] as const) {
    const w = new PcapngWriter({ littleEndian: le, comment: 'written by bpfkit' });
    w.addInterface({ tsResolution: res, name: 'veth0' });
    for (const p of packets) w.write(p.data, { ...p, comment: 'c' });
    writeFileSync(join(dir, name), w.flush());
    out.push({ file: join(dir, name), nano: res === 9 });
  }
  return out;
}

test('tcpdump reads our pcap and pcapng files (both byte orders, us and ns) with the expected lines', { skip: TCPDUMP_MISSING }, () => {
  const [dir, cleanup] = tempDir();
  try {
    for (const { file, nano } of writeVariants(dir)) {
      const prec = nano ? ['--time-stamp-precision=nano'] : [];
      const lines = tcpdump(['-nn', '-tt', ...prec, '-r', file]);
      assert.deepEqual(lines, CASES.map((c, i) => `${stamp(i, nano)} ${c.line}`), file);
      const eLines = tcpdump(['-nn', '-t', '-e', '-r', file]);
      CASES.forEach((c, i) => { if (c.eLine) assert.equal(eLines[i], c.eLine, `${file} -e line ${i}`); });
    }
  } finally {
    cleanup();
  }
});

test('tcpdump -vv finds every checksum correct', { skip: TCPDUMP_MISSING }, () => {
  const [dir, cleanup] = tempDir();
  try {
    const file = writeVariants(dir)[0]!.file;
    const out = tcpdump(['-nn', '-vv', '-r', file]).join('\n');
    assert.doesNotMatch(out, /bad cksum|incorrect|wrong icmp cksum|bad udp cksum/);
    assert.equal(out.match(/\[udp sum ok\]/g)?.length, 4, out);
    assert.equal(out.match(/cksum 0x[0-9a-f]+ \(correct\)/g)?.length, 3, out);
    assert.equal(out.match(/\[icmp6 sum ok\]/g)?.length, 1, out);
    // And a corrupted copy is caught, so the check above could fail.
    const bytes = readFileSync(file);
    const bad = new Uint8Array(bytes);
    bad[24 + 16 + 14 + 10]! ^= 0xff; // IPv4 header checksum of the first frame
    bad[24 + 16 + CASES[0]!.frame.length + 16 + 18 + 20 + 7]! ^= 0x01; // UDP checksum of the second
    writeFileSync(file, bad);
    const broken = tcpdump(['-nn', '-vv', '-r', file]).join('\n');
    assert.match(broken, /bad cksum/);
    assert.match(broken, /bad udp cksum/);
  } finally {
    cleanup();
  }
});

/** Captures `sizes.length` UDP datagrams sent to 127.0.0.1 with tcpdump -w; returns the file. */
async function captureLoopback(dir: string, sizes: number[], nano: boolean): Promise<{ file: string; port: number }> {
  const receiver = createSocket('udp4');
  await new Promise<void>((resolve) => receiver.bind(0, '127.0.0.1', resolve));
  const port = receiver.address().port;
  const file = join(dir, nano ? 'lo-ns.pcap' : 'lo-us.pcap');
  const args = ['-i', 'lo', '-w', file, '-c', String(sizes.length), '-U', ...(nano ? ['--time-stamp-precision=nano'] : []), 'udp', 'and', 'dst', 'port', String(port)];
  const child = spawn('tcpdump', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${stderr}`)), 10_000);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('listening on')) { clearTimeout(timer); resolve(); }
    });
    child.on('exit', () => { clearTimeout(timer); reject(new Error(`tcpdump exited early: ${stderr}`)); });
  });
  const sender = createSocket('udp4');
  for (const [i, n] of sizes.entries()) {
    const payload = new Uint8Array(n).fill(0x41 + (i % 26));
    await new Promise<void>((resolve, reject) => sender.send(payload, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
    await new Promise((r) => setTimeout(r, 2));
  }
  const timeout = setTimeout(() => child.kill('SIGTERM'), 10_000);
  const code = await exited;
  clearTimeout(timeout);
  sender.close();
  receiver.close();
  assert.equal(code, 0, `tcpdump exit ${code}: ${stderr}`);
  return { file, port };
}

const SIZES = [0, 1, 5, 64, 200, 1000, 1400, 8000, 3, 33];

for (const nano of [false, true]) {
  test(`our reader agrees with tcpdump on a loopback capture tcpdump wrote (${nano ? 'ns' : 'us'})`, { skip: TCPDUMP_MISSING, timeout: 30_000 }, async () => {
    const [dir, cleanup] = tempDir();
    try {
      const { file, port } = await captureLoopback(dir, SIZES, nano);
      const prec = nano ? ['--time-stamp-precision=nano'] : [];
      const lines = tcpdump(['-tt', '-nn', ...prec, '-r', file]);
      const reader = readCapture(new Uint8Array(readFileSync(file)));
      const packets: CapturedPacket[] = [];
      for (const p of reader) packets.push(p.clone());
      assert.equal(reader.pcapHeader?.nanosecond, nano);
      assert.equal(packets.length, SIZES.length);
      assert.equal(lines.length, SIZES.length);
      const pf = new ParsedFrame();
      packets.forEach((p, i) => {
        const m = /^(\d+)\.(\d+) IP 127\.0\.0\.1\.(\d+) > 127\.0\.0\.1\.(\d+): UDP, length (\d+)$/.exec(lines[i]!);
        assert.ok(m, lines[i]);
        assert.equal(p.seconds, Number(m[1]));
        assert.equal(p.nanoseconds, nano ? Number(m[2]) : Number(m[2]) * 1000);
        assert.equal(Number(m[5]), SIZES[i]);
        assert.equal(p.linkType, LinkType.ETHERNET);
        assert.equal(p.origLen, 14 + 20 + 8 + SIZES[i]!);
        assert.equal(p.caplen, p.origLen);
        parseFrame(p.data, 0, p.caplen, p.linkType, pf);
        assert.equal(pf.dstPort, port);
        assert.equal(pf.srcPort, Number(m[3]));
        assert.equal(pf.payloadLength, SIZES[i]);
        assert.ok(p.data.subarray(pf.payloadOffset).every((b) => b === 0x41 + (i % 26)));
      });
      // Round trip through our pcapng writer (big-endian, ns): tcpdump prints the same lines.
      const w = new PcapngWriter({ littleEndian: false });
      w.addInterface({ tsResolution: 9, linkType: reader.pcapHeader!.linkType, snaplen: reader.pcapHeader!.snaplen });
      for (const p of packets) w.write(p.data, p);
      const ng = join(dir, 'converted.pcapng');
      writeFileSync(ng, w.flush());
      assert.deepEqual(tcpdump(['-tt', '-nn', ...prec, '-r', ng]), lines);
    } finally {
      cleanup();
    }
  });
}
