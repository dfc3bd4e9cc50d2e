// Benchmark: read + parse a capture of 64-byte frames with CaptureReader/parseFrame vs `tcpdump -r F -w /dev/null` (reads every record, prints nothing) on the same file.
// Run: node --import tsx bench/pcap.bench.ts [packets] [--keep]   (default 1,000,000; --keep leaves the files in bench/out)

import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CaptureReader, ParsedFrame, PcapWriter, PcapngWriter, RssSpreader, buildUdp, parseFrame, TS_RESOLUTION_NANO,
} from '../src/packet/index.js';

const PACKETS = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 1_000_000);
const CHUNK = 64 * 1024;
const outDir = join(import.meta.dirname, 'out');
mkdirSync(outDir, { recursive: true });

/** 64-byte Ethernet/IPv4/UDP frames over 256 flows, one second of 1M packets. */
function generate(): { pcap: string; pcapng: string } {
  const templates: Uint8Array[] = [];
  for (let f = 0; f < 256; f++) {
    templates.push(buildUdp({ src: `10.0.${f}.1`, dst: '10.1.0.1', sport: 1024 + f, dport: 4789, payload: new Uint8Array(64 - 42) }));
  }
  const pcap = new PcapWriter({ nanosecond: true });
  const ng = new PcapngWriter();
  ng.addInterface({ tsResolution: TS_RESOLUTION_NANO });
  const pcapFile = join(outDir, 'bench-64b.pcap');
  const ngFile = join(outDir, 'bench-64b.pcapng');
  const pcapParts: Uint8Array[] = [];
  const ngParts: Uint8Array[] = [];
  for (let i = 0; i < PACKETS; i++) {
    const meta = { seconds: 1_700_000_000 + Math.floor(i / 1_000_000), nanoseconds: (i % 1_000_000) * 1000 };
    pcap.write(templates[i & 255]!, meta);
    ng.write(templates[i & 255]!, meta);
    if ((i & 0xffff) === 0xffff) { pcapParts.push(pcap.flush()); ngParts.push(ng.flush()); }
  }
  pcapParts.push(pcap.flush());
  ngParts.push(ng.flush());
  writeFileSync(pcapFile, Buffer.concat(pcapParts));
  writeFileSync(ngFile, Buffer.concat(ngParts));
  return { pcap: pcapFile, pcapng: ngFile };
}

/** Reads + parses the file's bytes pushed in 64 KiB chunks; returns [ms, packets, checksum]. */
function readAndParse(bytes: Uint8Array, rss?: RssSpreader): [number, number, number] {
  const t0 = performance.now();
  const reader = new CaptureReader();
  const pf = new ParsedFrame();
  let n = 0;
  let acc = 0;
  for (let off = 0; off < bytes.length; off += CHUNK) {
    reader.push(bytes.subarray(off, off + CHUNK));
    for (let p = reader.read(); p !== null; p = reader.read()) {
      parseFrame(p.buffer, p.offset, p.caplen, p.linkType, pf);
      acc = (acc + pf.srcPort + pf.payloadLength + p.nanoseconds) | 0;
      if (rss) acc = (acc + rss.queueOfParsed(p.buffer, pf)) | 0;
      n++;
    }
  }
  reader.end();
  if (reader.read() !== null) throw new Error('unexpected trailing packet');
  return [performance.now() - t0, n, acc];
}

function best(label: string, bytes: Uint8Array, rss?: RssSpreader): number {
  readAndParse(bytes, rss); // warm-up
  let bestMs = Infinity;
  for (let i = 0; i < 3; i++) {
    const [ms, n] = readAndParse(bytes, rss);
    if (n !== PACKETS) throw new Error(`${label}: read ${n} packets, expected ${PACKETS}`);
    bestMs = Math.min(bestMs, ms);
  }
  return bestMs;
}

function tcpdumpMs(file: string, args: readonly string[] = ['-w', '/dev/null']): number {
  const devnull = openSync('/dev/null', 'w');
  try {
    let bestMs = Infinity;
    for (let i = 0; i < 2; i++) {
      const t0 = performance.now();
      const r = spawnSync('tcpdump', ['-r', file, ...args], { stdio: ['ignore', devnull, 'ignore'] });
      const ms = performance.now() - t0;
      if (r.status !== 0) throw new Error(`tcpdump failed with status ${r.status}`);
      bestMs = Math.min(bestMs, ms);
    }
    return bestMs;
  } finally {
    closeSync(devnull);
  }
}

const pps = (ms: number): string => `${((PACKETS / ms) * 1000 / 1e6).toFixed(2)} Mpps`;
const files = generate();
const pcapBytes = new Uint8Array(readFileSync(files.pcap));
const ngBytes = new Uint8Array(readFileSync(files.pcapng));
const oursPcap = best('pcap', pcapBytes);
const oursNg = best('pcapng', ngBytes);
const oursRss = best('pcap+rss', pcapBytes, new RssSpreader({ queues: 8 }));
const dumpPcap = tcpdumpMs(files.pcap);
const dumpNg = tcpdumpMs(files.pcapng);
const dumpText = tcpdumpMs(files.pcap, ['-nn']);

console.log(`pcap read+parse, ${PACKETS} x 64-byte frames (${(pcapBytes.length / 1e6).toFixed(1)} MB), best of 3, 64 KiB chunks`);
console.log(`  bpfkit  pcap    ${oursPcap.toFixed(0).padStart(6)} ms  ${pps(oursPcap)}`);
console.log(`  bpfkit  pcapng  ${oursNg.toFixed(0).padStart(6)} ms  ${pps(oursNg)}`);
console.log(`  bpfkit  pcap + RSS queue (8 queues)  ${oursRss.toFixed(0).padStart(6)} ms  ${pps(oursRss)}`);
console.log(`  tcpdump -r F -w /dev/null  pcap    ${dumpPcap.toFixed(0).padStart(6)} ms  ${pps(dumpPcap)}   (baseline)`);
console.log(`  tcpdump -r F -w /dev/null  pcapng  ${dumpNg.toFixed(0).padStart(6)} ms  ${pps(dumpNg)}   (baseline)`);
console.log(`  tcpdump -r F -nn > /dev/null pcap  ${dumpText.toFixed(0).padStart(6)} ms  ${pps(dumpText)}   (reference only: formats text)`);
console.log(`rate bpfkit / tcpdump -w: pcap ${(dumpPcap / oursPcap).toFixed(2)}x, pcapng ${(dumpNg / oursNg).toFixed(2)}x`);
if (!process.argv.includes('--keep')) for (const f of Object.values(files)) rmSync(f, { force: true });
