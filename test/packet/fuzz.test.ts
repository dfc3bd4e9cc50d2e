// Fuzz: mutated pcap/pcapng files must only ever produce packets or a PcapError — bounded to a few seconds.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CaptureReader, PcapError, PcapngWriter, PcapngBlock, writePcap, parseFrame, ParsedFrame, ToeplitzHasher, buildUdp, buildTcp,
  buildIcmpEcho, buildArp, binaryTsResolution, type CaptureReaderOptions,
} from '../../src/packet/index.js';
import { rng } from './helpers.js';

const BUDGET_MS = Number(process.env.BPFKIT_FUZZ_MS ?? 3000);

const FRAMES = [
  buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, payload: 'fuzz', vlan: [3, 4] }),
  buildTcp({ src: 'fd00::1', dst: 'fd00::2', sport: 3, dport: 4, flags: 'S', tcpOptions: new Uint8Array(4), extensionHeaders: [{ type: 'hop-by-hop' }, { type: 'ah' }] }),
  buildIcmpEcho({ src: '10.0.0.1', dst: '10.0.0.2', ipOptions: new Uint8Array(4), payload: 'x'.repeat(40) }),
  buildArp({ senderIp: '1.2.3.4', targetIp: '5.6.7.8' }),
];

function seeds(): Uint8Array[] {
  const out = [
    writePcap(FRAMES.map((data, i) => ({ data, seconds: 1e9 + i }))),
    writePcap(FRAMES, { littleEndian: false, nanosecond: true, snaplen: 80 }),
  ];
  const w = new PcapngWriter();
  w.addInterface({ tsResolution: 9 });
  w.addInterface({ tsResolution: binaryTsResolution(24), snaplen: 0 });
  FRAMES.forEach((f, i) => w.write(f, { interfaceId: i % 2, seconds: 1e9, comment: 'k' }));
  w.writeSimple(FRAMES[0]!);
  w.writeBlock(PcapngBlock.INTERFACE_STATISTICS, new Uint8Array(12));
  w.newSection({ littleEndian: false });
  w.addInterface();
  FRAMES.forEach((f) => w.write(f));
  out.push(w.flush());
  return out;
}

function mutate(src: Uint8Array, r: () => number): Uint8Array {
  let b = src.slice();
  const n = 1 + Math.floor(r() * 4);
  for (let k = 0; k < n; k++) {
    const at = Math.floor(r() * b.length);
    switch (Math.floor(r() * 6)) {
      case 0: b[at] = Math.floor(r() * 256); break;
      case 1: b[at]! ^= 1 << Math.floor(r() * 8); break;
      case 2: b = b.subarray(0, at); break;
      case 3: { // an extreme 32-bit value at an aligned offset (lengths, caplens, ids)
        const off = at & ~3;
        if (off + 4 <= b.length) new DataView(b.buffer, b.byteOffset).setUint32(off, [0, 1, 0xffffffff, 0x7fffffff, 13, 262145][Math.floor(r() * 6)]!, r() < 0.5);
        break;
      }
      case 4: { const c = new Uint8Array(b.length + 4); c.set(b.subarray(0, at)); c.set(b.subarray(at), at + 4); b = c; break; }
      default: { if (b.length < 3) break; const d = Math.min(at, b.length - 3); const c = new Uint8Array(b.length - 3); c.set(b.subarray(0, d)); c.set(b.subarray(d + 3), d); b = c; break; }
    }
  }
  return b;
}

/** Reads everything; returns a digest of packets (or the PcapError), failing on any other throw. */
function run(bytes: Uint8Array, options: CaptureReaderOptions, chunk: number): string {
  const reader = new CaptureReader(options);
  const pf = new ParsedFrame();
  const hasher = new ToeplitzHasher();
  const digest: string[] = [];
  try {
    for (let off = 0; off < bytes.length; off += chunk) {
      reader.push(bytes.subarray(off, off + chunk));
      for (let p = reader.read(); p !== null; p = reader.read()) {
        parseFrame(p.buffer, p.offset, p.caplen, p.linkType, pf);
        hasher.hashFrame(p.buffer, pf);
        digest.push(`${p.seconds}.${p.nanoseconds}/${p.caplen}/${p.origLen}/${p.interfaceId}/${p.data.join(',')}`);
      }
    }
    reader.end();
    for (let p = reader.read(); p !== null; p = reader.read()) digest.push(`${p.seconds}.${p.nanoseconds}/${p.caplen}/${p.origLen}/${p.interfaceId}/${p.data.join(',')}`);
  } catch (e) {
    if (!(e instanceof PcapError)) throw e;
    assert.ok(e.offset >= 0 && e.offset <= bytes.length, `offset ${e.offset} outside the input`);
    digest.push(`error ${e.message}`);
  }
  return digest.join('\n');
}

test(`mutated captures yield packets or a PcapError, identically in any chunking (${BUDGET_MS} ms)`, (t) => {
  const r = rng(0xf022);
  const base = seeds();
  const deadline = Date.now() + BUDGET_MS;
  let cases = 0;
  let errors = 0;
  while (Date.now() < deadline) {
    const input = mutate(base[cases % base.length]!, r);
    const whole = run(input, {}, input.length || 1);
    const pieces = run(input, {}, 1 + Math.floor(r() * 50));
    assert.equal(pieces, whole, `chunking changed the result for case ${cases}`);
    if (whole.includes('error ')) errors++;
    const skipping = run(input, { skipBadRecords: true }, 1 + Math.floor(r() * 200));
    if (skipping.includes('error ')) assert.match(skipping, /file header|bad magic|version|section header|byte-order/, 'only header errors throw when skipping');
    cases++;
  }
  t.diagnostic(`${cases} mutated inputs, ${errors} rejected with PcapError`);
  assert.ok(cases > 100, `only ${cases} cases ran`);
  assert.ok(errors > 0 && errors < cases, `${errors}/${cases} errored: the mutations should produce both outcomes`);
});
