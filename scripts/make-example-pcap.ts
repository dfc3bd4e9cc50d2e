// Writes examples/traffic.pcap: a deterministic mix of traffic for the demo (`npm run demo`).
//
// Usage: node --import tsx scripts/make-example-pcap.ts [--out FILE] [--check]
//   --check  regenerate in memory and fail if the committed file differs (CI drift check)
//
// About 3,000 Ethernet frames from a seeded PRNG: UDP (DNS-like) and TCP (HTTP-like) flows over
// IPv4, some behind an 802.1Q tag, ICMP echo, IPv6 UDP/TCP (some with extension headers), ARP,
// IPv4 fragments, truncated frames, runts and a few jumbo frames (up to 3,500 bytes: one page,
// so XDP sees them whole). One UDP flow,
// 10.0.0.1:40000 -> 10.0.0.2:53, is the one the demo allows.

import { readFileSync, writeFileSync } from 'node:fs';
import { buildArp, buildIcmpEcho, buildTcp, buildUdp, PcapWriter } from '../src/packet/index.js';

/** mulberry32: a small seeded PRNG, so the capture is byte-for-byte reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Builds the capture's bytes. */
export function makeTraffic(count = 3000, seed = 7): Uint8Array {
  const rand = prng(seed);
  const int = (n: number): number => Math.floor(rand() * n);
  const payload = (n: number): Uint8Array => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = int(256);
    return b;
  };
  const writer = new PcapWriter({ nanosecond: true });
  const start = 1_764_000_000; // 2025-11-24T16:00:00Z
  let t = 0; // ns since start (exact in a double)
  const emit = (data: Uint8Array, origLen = data.length): void => {
    t += 1000 + int(50_000);
    const seconds = Math.floor(t / 1e9);
    writer.write(data, { seconds: start + seconds, nanoseconds: t - seconds * 1e9, origLen });
  };
  const client = (): string => `10.0.${1 + int(4)}.${1 + int(250)}`;
  const client6 = (): string => `2001:db8::${(1 + int(0xfff)).toString(16)}`;
  const ephemeral = (): number => 32768 + int(28000);
  for (let i = 0; i < count; i++) {
    const r = rand();
    if (r < 0.14) {
      // The allowed flow of the demo.
      emit(buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 53, payload: payload(20 + int(60)) }));
    } else if (r < 0.36) {
      emit(buildUdp({ src: client(), dst: '10.0.0.2', sport: ephemeral(), dport: 53, payload: payload(20 + int(60)), ipId: int(65536) }));
    } else if (r < 0.6) {
      const flags = ['S', 'S.', '.', 'P.', 'F.', 'R'][int(6)]!;
      emit(buildTcp({ src: client(), dst: '10.0.0.80', sport: ephemeral(), dport: 80, flags, seq: int(2 ** 32), payload: flags === 'P.' ? payload(int(1400)) : undefined }));
    } else if (r < 0.68) {
      emit(buildTcp({ src: client(), dst: '10.0.0.80', sport: ephemeral(), dport: 443, flags: 'P.', vlan: 100 + int(3), payload: payload(int(600)) }));
    } else if (r < 0.74) {
      emit(buildIcmpEcho({ src: client(), dst: '10.0.0.2', id: int(65536), seq: i & 0xffff, payload: payload(56) }));
    } else if (r < 0.84) {
      emit(buildUdp({ src: client6(), dst: '2001:db8::2', sport: ephemeral(), dport: 53, payload: payload(30 + int(60)) }));
    } else if (r < 0.88) {
      emit(buildTcp({
        src: client6(), dst: '2001:db8::80', sport: ephemeral(), dport: 443, flags: 'P.', payload: payload(int(200)),
        extensionHeaders: int(2) === 0 ? [{ type: 'hop-by-hop' }] : [{ type: 'destination' }, { type: 'routing', segmentsLeft: 0 }],
      }));
    } else if (r < 0.92) {
      emit(buildArp({ senderIp: client(), targetIp: '10.0.0.2' }));
    } else if (r < 0.95) {
      // IPv4 fragments: a first fragment (ports present) or a later one (no L4 header).
      const first = int(2) === 0;
      emit(buildUdp({ src: client(), dst: '10.0.0.2', sport: ephemeral(), dport: 5000, ipId: int(65536), moreFragments: first, fragmentOffset: first ? 0 : 8 * (1 + int(100)), payload: payload(100) }));
    } else if (r < 0.975) {
      // Cut short on capture: caplen < origLen, cut inside the IP or transport header.
      const full = buildTcp({ src: client(), dst: '10.0.0.80', sport: ephemeral(), dport: 80, flags: 'S' });
      emit(full.slice(0, 14 + int(36)), full.length);
    } else if (r < 0.99) {
      emit(payload(1 + int(13))); // a runt: less than an Ethernet header
    } else {
      // Jumbo frames (MTU 3500: bigger than Ethernet's 1500, still one page for XDP).
      emit(buildUdp({ src: client(), dst: '10.0.0.2', sport: ephemeral(), dport: 9000, payload: payload(1600 + int(1800)) }));
    }
  }
  return writer.flush();
}

function main(argv: readonly string[]): number {
  const outIndex = argv.indexOf('--out');
  const out = outIndex >= 0 ? argv[outIndex + 1] : 'examples/traffic.pcap';
  if (out === undefined) throw new Error('--out needs a file name');
  const bytes = makeTraffic();
  if (argv.includes('--check')) {
    const committed = new Uint8Array(readFileSync(out));
    const same = committed.length === bytes.length && committed.every((b, i) => b === bytes[i]);
    if (!same) {
      process.stderr.write(`${out} differs from what scripts/make-example-pcap.ts generates; run it and commit\n`);
      return 1;
    }
    return 0;
  }
  writeFileSync(out, bytes);
  process.stdout.write(`wrote ${out} (${bytes.length} bytes)\n`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main(process.argv.slice(2));
