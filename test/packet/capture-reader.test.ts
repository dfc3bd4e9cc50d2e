// Reader/writer round trips (pcap and pcapng, both byte orders, all resolutions), chunking, malformed input.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CaptureReader, readCapture, readCaptureStream, writePcap, PcapWriter, PcapngWriter, PcapError, PcapngBlock,
  LinkType, binaryTsResolution, buildUdp, buildTcp, buildIcmpEcho, detectCaptureFormat, type CapturedPacket,
  type CaptureReaderOptions,
} from '../../src/packet/index.js';
import { rng } from './helpers.js';

const FRAMES = [
  buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1234, dport: 5000, payload: 'hello' }),
  buildTcp({ src: 'fd00::1', dst: 'fd00::2', sport: 40000, dport: 80, flags: 'S', vlan: 5 }),
  buildIcmpEcho({ src: '192.168.1.1', dst: '192.168.1.2', id: 7, seq: 1, payload: 'x'.repeat(101) }),
  buildUdp({ src: '10.0.0.3', dst: '10.0.0.4', sport: 1, dport: 2, payload: new Uint8Array(1400) }),
];
const TIMES = FRAMES.map((_, i) => ({ seconds: 1_700_000_000 + i * 17, nanoseconds: (123_456_789 * (i + 1)) % 1e9 }));

/** Clones every packet while iterating (spreading the iterator would collect one reused record N times). */
function collect(reader: Iterable<{ clone(): CapturedPacket }>): CapturedPacket[] {
  const out: CapturedPacket[] = [];
  for (const r of reader) out.push(r.clone());
  return out;
}

function all(bytes: Uint8Array, options?: CaptureReaderOptions): CapturedPacket[] {
  return collect(readCapture(bytes, options));
}

/** Reads `bytes` pushed in the given chunk sizes (cycled), draining after every push. */
function chunked(bytes: Uint8Array, sizes: number[], options?: CaptureReaderOptions): CapturedPacket[] {
  const reader = new CaptureReader(options);
  const out: CapturedPacket[] = [];
  let i = 0;
  for (let off = 0; off < bytes.length; i++) {
    const n = sizes[i % sizes.length]!;
    reader.push(bytes.subarray(off, off + n));
    off += n;
    for (let p = reader.read(); p !== null; p = reader.read()) out.push(p.clone());
  }
  reader.end();
  for (const p of reader) out.push(p.clone());
  return out;
}

for (const littleEndian of [true, false]) {
  for (const nanosecond of [false, true]) {
    test(`classic pcap round trip (${littleEndian ? 'LE' : 'BE'}, ${nanosecond ? 'ns' : 'us'})`, () => {
      const bytes = writePcap(FRAMES.map((data, i) => ({ data, ...TIMES[i] })), { littleEndian, nanosecond });
      assert.equal(detectCaptureFormat(bytes), 'pcap');
      const reader = readCapture(bytes);
      const got = collect(reader);
      assert.equal(reader.format, 'pcap');
      assert.deepEqual(reader.pcapHeader, { littleEndian, nanosecond, versionMajor: 2, versionMinor: 4, thiszone: 0, snaplen: 262144, linkType: 1 });
      assert.equal(got.length, FRAMES.length);
      got.forEach((p, i) => {
        assert.deepEqual(p.data, FRAMES[i]);
        assert.equal(p.seconds, TIMES[i]!.seconds);
        assert.equal(p.nanoseconds, nanosecond ? TIMES[i]!.nanoseconds : Math.floor(TIMES[i]!.nanoseconds / 1000) * 1000);
        assert.equal(p.caplen, FRAMES[i]!.length);
        assert.equal(p.origLen, FRAMES[i]!.length);
        assert.equal(p.linkType, LinkType.ETHERNET);
      });
    });
  }
}

test('snaplen truncates: caplen < origLen', () => {
  const bytes = writePcap(FRAMES, { snaplen: 60 });
  const got = all(bytes);
  assert.deepEqual(got.map((p) => p.caplen), FRAMES.map((f) => Math.min(60, f.length)));
  assert.deepEqual(got.map((p) => p.origLen), FRAMES.map((f) => f.length));
});

test('the record is one reused object, valid until the next read', () => {
  const reader = readCapture(writePcap(FRAMES));
  const a = reader.read();
  const b = reader.read();
  assert.ok(a !== null && a === b);
  assert.equal(b.index, 1);
  assert.equal(reader.read()!.recordOffset, 24 + 16 * 2 + FRAMES[0]!.length + FRAMES[1]!.length);
});

test('records split across chunks at every byte boundary, and in tiny random chunks', () => {
  const bytes = writePcap(FRAMES.map((data, i) => ({ data, ...TIMES[i] })), { nanosecond: true });
  const expect = all(bytes);
  for (let cut = 1; cut < bytes.length; cut++) assert.deepEqual(chunked(bytes, [cut, bytes.length]), expect, `cut at ${cut}`);
  const r = rng(3);
  for (let n = 0; n < 50; n++) {
    const sizes = Array.from({ length: 7 }, () => 1 + Math.floor(r() * 40));
    assert.deepEqual(chunked(bytes, sizes), expect, `sizes ${sizes}`);
  }
});

function pcapngTwoSections(): { bytes: Uint8Array; expect: Partial<CapturedPacket>[] } {
  const w = new PcapngWriter({ hardware: 'test rig', os: 'Linux', comment: 'first' });
  w.addInterface({ name: 'eth0', description: 'micro' });
  w.addInterface({ name: 'eth1', tsResolution: 9, linkType: LinkType.RAW, snaplen: 0 });
  w.writeBlock(PcapngBlock.NAME_RESOLUTION, new Uint8Array(4)); // empty record list: skipped
  w.write(FRAMES[0]!, { interfaceId: 0, ...TIMES[0], comment: 'hello', flags: 1 });
  w.write(FRAMES[1]!.subarray(18), { interfaceId: 1, ...TIMES[1] });
  w.writeBlock(PcapngBlock.CUSTOM, Uint8Array.of(0, 0, 0x7e, 0x1e, 1, 2, 3)); // PEN + data: skipped
  w.writeBlock(0x12345678, new Uint8Array(9)); // unknown type: skipped
  w.writeSimple(FRAMES[3]!);
  const first = w.flush();
  const be = new PcapngWriter({ littleEndian: false });
  be.addInterface({ tsResolution: binaryTsResolution(20), tsOffset: 1000 });
  be.write(FRAMES[2]!, TIMES[2]);
  // Obsolete Packet Block, hand made: iface 0, drops 0, ts hi/lo, caplen, origLen, data.
  const data = FRAMES[0]!;
  const body = new Uint8Array(20 + data.length);
  const dv = new DataView(body.buffer);
  dv.setUint16(0, 0);
  dv.setUint32(4, 0);
  dv.setUint32(8, 3 << 20); // 3 seconds at 2^-20
  dv.setUint32(12, data.length);
  dv.setUint32(16, data.length + 100);
  body.set(data, 20);
  be.writeBlock(PcapngBlock.PACKET, body);
  const second = be.flush();
  const bytes = new Uint8Array(first.length + second.length);
  bytes.set(first);
  bytes.set(second, first.length);
  const frac20 = Math.floor(TIMES[2]!.nanoseconds * 2 ** 20 / 1e9);
  return {
    bytes,
    expect: [
      { interfaceId: 0, linkType: 1, seconds: TIMES[0]!.seconds, nanoseconds: Math.floor(TIMES[0]!.nanoseconds / 1000) * 1000, data: FRAMES[0] },
      { interfaceId: 1, linkType: LinkType.RAW, ...TIMES[1], data: FRAMES[1]!.subarray(18) },
      { interfaceId: 0, linkType: 1, seconds: 0, nanoseconds: 0, data: FRAMES[3] },
      { interfaceId: 0, linkType: 1, seconds: TIMES[2]!.seconds + 1000, nanoseconds: Math.floor(frac20 * 1e9 / 2 ** 20), data: FRAMES[2] },
      { interfaceId: 0, linkType: 1, seconds: 1003, nanoseconds: 0, data: FRAMES[0], origLen: FRAMES[0]!.length + 100 },
    ],
  };
}

test('pcapng: LE and BE sections, IDB options, EPB/SPB/obsolete PB, unknown blocks skipped', () => {
  const { bytes, expect } = pcapngTwoSections();
  assert.equal(detectCaptureFormat(bytes), 'pcapng');
  const reader = new CaptureReader().push(bytes).end();
  const got: CapturedPacket[] = [];
  const sections: unknown[] = [];
  for (const p of reader) {
    got.push(p.clone());
    if (sections.length < reader.sectionCount) sections.push({ ...reader.section, interfaces: reader.interfaces.map((i) => ({ ...i })) });
  }
  assert.equal(got.length, expect.length);
  got.forEach((p, i) => {
    const e = expect[i]!;
    for (const k of Object.keys(e) as (keyof CapturedPacket)[]) assert.deepEqual(p[k], k === 'data' ? new Uint8Array(e.data!) : e[k], `packet ${i} ${k}`);
    if (e.origLen === undefined) assert.equal(p.origLen, p.caplen);
  });
  assert.equal(reader.sectionCount, 2);
  assert.deepEqual(sections[0], {
    littleEndian: true, versionMajor: 1, versionMinor: 0, sectionLength: -1, offset: 0, hardware: 'test rig', os: 'Linux',
    userAppl: 'bpfkit', comments: ['first'],
    interfaces: [
      { linkType: 1, snaplen: 262144, tsResolution: 6, tsOffset: 0, name: 'eth0', description: 'micro' },
      { linkType: 101, snaplen: 0, tsResolution: 9, tsOffset: 0, name: 'eth1' },
    ],
  });
  assert.equal((sections[1] as { littleEndian: boolean }).littleEndian, false);
  assert.deepEqual((sections[1] as { interfaces: unknown[] }).interfaces, [{ linkType: 1, snaplen: 262144, tsResolution: 0x94, tsOffset: 1000 }]);
});

test('pcapng read in every 2-chunk split and random small chunks', () => {
  const { bytes } = pcapngTwoSections();
  const expect = all(bytes);
  for (let cut = 1; cut < bytes.length; cut += 3) assert.deepEqual(chunked(bytes, [cut, bytes.length]), expect, `cut ${cut}`);
  const r = rng(4);
  for (let n = 0; n < 30; n++) {
    const sizes = Array.from({ length: 5 }, () => 1 + Math.floor(r() * 64));
    assert.deepEqual(chunked(bytes, sizes), expect, `sizes ${sizes}`);
  }
});

test('readCaptureStream over an async iterable of chunks', async () => {
  const bytes = writePcap(FRAMES.map((data, i) => ({ data, ...TIMES[i] })));
  async function* source(): AsyncGenerator<Uint8Array> {
    for (let off = 0; off < bytes.length; off += 13) yield bytes.slice(off, off + 13);
  }
  const got: CapturedPacket[] = [];
  for await (const p of readCaptureStream(source())) got.push(p.clone());
  assert.deepEqual(got, all(bytes));
});

test('PcapWriter flushes in chunks that concatenate to one file', () => {
  const w = new PcapWriter({ linkType: LinkType.RAW });
  const parts = [w.flush()];
  for (const f of FRAMES) parts.push(w.write(f.subarray(14)).flush());
  const reader = new CaptureReader();
  for (const p of parts) reader.push(p);
  const got = collect(reader.end());
  assert.deepEqual(got.map((p) => p.data), FRAMES.map((f) => f.subarray(14)));
  assert.ok(got.every((p) => p.linkType === LinkType.RAW));
});

// ---- malformed input ------------------------------------------------------------------------

function expectPcapError(fn: () => unknown, offset: number, reason: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof PcapError, `not a PcapError: ${String(e)}`);
    assert.equal(e.code, 'ERR_PCAP_MALFORMED');
    assert.equal(e.offset, offset, e.message);
    assert.match(e.reason, reason);
    return true;
  });
}

test('bad magic, empty input and a truncated file header', () => {
  expectPcapError(() => all(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8)), 0, /bad magic 0x01020304/);
  expectPcapError(() => all(new Uint8Array(0)), 0, /truncated file header: 0 of 4/);
  expectPcapError(() => all(writePcap([]).subarray(0, 10)), 0, /truncated file header: 10 of 24/);
  const v = writePcap([]);
  v[4] = 3;
  expectPcapError(() => all(v), 4, /unsupported pcap version 3/);
});

test('truncated record: error at its offset; skipBadRecords keeps the packets before it', () => {
  const bytes = writePcap(FRAMES);
  const lastRecord = bytes.length - 16 - FRAMES[3]!.length;
  for (const cut of [bytes.length - 1, lastRecord + 8]) {
    expectPcapError(() => all(bytes.subarray(0, cut)), lastRecord, /truncated record/);
    const reader = readCapture(bytes.subarray(0, cut), { skipBadRecords: true });
    assert.equal([...reader].length, 3);
    assert.equal(reader.skipped, 1);
    assert.equal(reader.errors[0]!.offset, lastRecord);
  }
  // A streaming reader waits rather than failing before end().
  const reader = new CaptureReader().push(bytes.subarray(0, bytes.length - 1));
  assert.equal([...reader].length, 3);
  reader.end();
  expectPcapError(() => reader.read(), lastRecord, /truncated record: \d+ of \d+ bytes/);
});

test('absurd caplen: error with the record offset; skipBadRecords resynchronises', () => {
  const bytes = writePcap(FRAMES.map((data, i) => ({ data, ...TIMES[i] })));
  const second = 24 + 16 + FRAMES[0]!.length;
  for (const caplen of [0x7fffffff, 262145]) {
    const bad = bytes.slice();
    new DataView(bad.buffer).setUint32(second + 8, caplen, true);
    expectPcapError(() => all(bad), second, new RegExp(`caplen ${caplen} exceeds the limit of 262144`));
    const seen: PcapError[] = [];
    const got = all(bad, { skipBadRecords: true, onSkip: (e) => seen.push(e) });
    assert.deepEqual(got.map((p) => p.data), [FRAMES[0], FRAMES[2], FRAMES[3]]);
    assert.equal(seen.length, 1);
  }
  const small = writePcap(FRAMES, { snaplen: 1500 });
  new DataView(small.buffer).setUint32(second + 8, 1501, true);
  expectPcapError(() => all(small), second, /caplen 1501 exceeds the limit of 1500 \(snaplen 1500\)/);
});

test('caplen above snaplen is accepted with lenientSnaplen', () => {
  const bytes = writePcap(FRAMES);
  new DataView(bytes.buffer).setUint32(16, 64, true); // header snaplen 64, records up to 1442
  expectPcapError(() => all(bytes), 24 + 16 + FRAMES[0]!.length, /exceeds the limit of 64/);
  assert.equal(all(bytes, { lenientSnaplen: true }).length, 4);
});

function pcapngSimple(): { bytes: Uint8Array; blockOffsets: number[] } {
  const w = new PcapngWriter();
  w.addInterface({ snaplen: 2000 });
  const offsets: number[] = [];
  let at = w.flush();
  const parts = [at];
  let pos = at.length;
  for (const f of FRAMES) {
    offsets.push(pos);
    at = w.write(f).flush();
    parts.push(at);
    pos += at.length;
  }
  const bytes = new Uint8Array(pos);
  let o = 0;
  for (const p of parts) { bytes.set(p, o); o += p.length; }
  return { bytes, blockOffsets: offsets };
}

test('pcapng block length not a multiple of 4, or disagreeing with its trailer', () => {
  const { bytes, blockOffsets } = pcapngSimple();
  const b1 = blockOffsets[1]!;
  const notAligned = bytes.slice();
  new DataView(notAligned.buffer).setUint32(b1 + 4, new DataView(bytes.buffer).getUint32(b1 + 4, true) + 2, true);
  expectPcapError(() => all(notAligned), b1, /length \d+ is not a multiple of 4/);
  assert.deepEqual(all(notAligned, { skipBadRecords: true }).map((p) => p.data), [FRAMES[0], FRAMES[2], FRAMES[3]]);

  const mismatch = bytes.slice();
  const len = new DataView(bytes.buffer).getUint32(b1 + 4, true);
  new DataView(mismatch.buffer).setUint32(b1 + len - 4, len + 4, true);
  expectPcapError(() => all(mismatch), b1, new RegExp(`length ${len} disagrees with its trailing length ${len + 4}`));
  assert.deepEqual(all(mismatch, { skipBadRecords: true }).map((p) => p.data), [FRAMES[0], FRAMES[2], FRAMES[3]]);

  const tiny = bytes.slice();
  new DataView(tiny.buffer).setUint32(b1 + 4, 8, true);
  expectPcapError(() => all(tiny), b1, /length 8 is less than 12/);
  const huge = bytes.slice();
  new DataView(huge.buffer).setUint32(b1 + 4, 0x7ffffff0, true);
  expectPcapError(() => all(huge), b1, /exceeds the limit of 16777216/);
});

test('pcapng packet blocks with bad contents are skipped by length', () => {
  const { bytes, blockOffsets } = pcapngSimple();
  const b2 = blockOffsets[2]!;
  const badIface = bytes.slice();
  new DataView(badIface.buffer).setUint32(b2 + 8, 3, true);
  expectPcapError(() => all(badIface), b2, /packet for interface 3 but the section has 1 interfaces/);
  assert.deepEqual(all(badIface, { skipBadRecords: true }).map((p) => p.data), [FRAMES[0], FRAMES[1], FRAMES[3]]);
  const badCaplen = bytes.slice();
  new DataView(badCaplen.buffer).setUint32(b2 + 20, 5000, true);
  expectPcapError(() => all(badCaplen), b2, /caplen 5000 exceeds the block's room/);
  // Interface snaplen 1000 (IDB snaplen field at +12): the 1442-byte packet exceeds it.
  const overSnap = bytes.slice();
  const dv = new DataView(overSnap.buffer);
  dv.setUint32(dv.getUint32(4, true) + 12, 1000, true);
  expectPcapError(() => all(overSnap), blockOffsets[3]!, /caplen 1442 exceeds the limit of 1000 \(interface 0 snaplen 1000\)/);
  assert.equal(all(overSnap, { lenientSnaplen: true }).length, 4);
  assert.equal(all(overSnap, { skipBadRecords: true }).length, 3);
});

test('pcapng truncated block and missing section header', () => {
  const { bytes, blockOffsets } = pcapngSimple();
  expectPcapError(() => all(bytes.subarray(0, bytes.length - 3)), blockOffsets[3]!, /truncated block/);
  const r = readCapture(bytes.subarray(0, bytes.length - 3), { skipBadRecords: true });
  assert.equal([...r].length, 3);
  const noBom = bytes.slice();
  noBom[8] = 0;
  expectPcapError(() => all(noBom), 8, /bad pcapng byte-order magic/);
});

test('push after end() is a usage error', () => {
  const r = new CaptureReader().end();
  assert.throws(() => r.push(new Uint8Array(1)), /push\(\) after end\(\)/);
});
