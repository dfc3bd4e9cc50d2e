// RingBufReader against the kernel: the ringbuf fixture run by BPF_PROG_TEST_RUN, records in order, none lost.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadObject } from '../../../src/elf/index.js';
import { MapType } from '../../../src/kernel/bpf/constants.js';
import { createMap } from '../../../src/kernel/bpf/map-create.js';
import { loadKernelObject } from '../../../src/kernel/object/load-object.js';
import { NotARingBufferError, RingBufReader } from '../../../src/kernel/ringbuf-reader.js';
import { fixturesDir } from '../../support/fixtures.js';
import { kernelTest } from '../harness.js';

const spec = () => loadObject(readFileSync(path.join(fixturesDir, 'ringbuf.o')), { objectName: 'ringbuf' });

/** The packet for run `i`: its length encodes i, its first byte too. */
const packet = (i: number) => new Uint8Array(64 + (i % 3000)).fill(i & 0xff);

/** Checks the two records one run emits: a 32-byte pkt_event then an 8-byte summary. */
function checkPair(ev: Uint8Array, sum: Uint8Array, i: number): void {
  const len = 64 + (i % 3000);
  assert.equal(ev.length, 32, `run ${i}: event size`);
  const e = new DataView(ev.buffer, ev.byteOffset);
  assert.equal(e.getUint32(16, true), len, `run ${i}: event len`);
  assert.equal(ev[24], i & 0xff, `run ${i}: packet head`);
  assert.equal(sum.length, 8);
  const s = new DataView(sum.buffer, sum.byteOffset);
  assert.deepEqual([s.getUint32(0, true), s.getUint32(4, true)], [1, len], `run ${i}: summary`);
}

kernelTest('a burst of 3000 test runs: 6000 records arrive in order, none lost, timestamps non-decreasing', async (sys) => {
  using obj = loadKernelObject(sys, spec());
  using reader = new RingBufReader(obj.map('events'));
  const prog = obj.program('xdp_ringbuf');
  const N = 3000;
  for (let i = 0; i < N; i++) prog.testRun({ dataIn: packet(i) });
  let i = 0;
  let lastTs = 0n;
  const it = reader[Symbol.asyncIterator]();
  while (i < N) {
    const ev = (await it.next()).value!;
    const sum = (await it.next()).value!;
    checkPair(ev, sum, i);
    const ts = new DataView(ev.buffer, ev.byteOffset).getBigUint64(0, true);
    assert.ok(ts >= lastTs, `run ${i}: timestamp went backwards`);
    lastTs = ts;
    i++;
  }
  assert.equal(reader.pending, 0);
  assert.equal(reader.read().length, 0);
});

kernelTest('producer and consumer interleaved on the event loop: the iterator waits without blocking and gets every record', async (sys) => {
  using obj = loadKernelObject(sys, spec());
  const reader = new RingBufReader(obj.map('events'), { pollIntervalMs: 2 });
  const prog = obj.program('xdp_ringbuf');
  const N = 500;
  const producer = (async () => {
    for (let i = 0; i < N; i++) {
      prog.testRun({ dataIn: packet(i) });
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 3));
    }
  })();
  const got: Uint8Array[] = [];
  for await (const rec of reader) {
    got.push(rec);
    if (got.length === 2 * N) break; // `break` calls return(): the reader closes
  }
  await producer;
  for (let i = 0; i < N; i++) checkPair(got[2 * i]!, got[2 * i + 1]!, i);
  assert.equal(reader.readOne(), undefined, 'closed by break');
});

kernelTest('backpressure: an unread ring fills, the program sees reserve fail, the reader still gets the committed prefix', (sys) => {
  using obj = loadKernelObject(sys, spec());
  using reader = new RingBufReader(obj.map('events'));
  const prog = obj.program('xdp_ringbuf');
  // 256 KiB / (40 + 16 bytes per run) = 4681 runs fit at most; run 6000.
  for (let i = 0; i < 6000; i++) prog.testRun({ dataIn: packet(i) });
  const recs = reader.read();
  assert.ok(recs.length < 12000 && recs.length > 8000, `${recs.length} records`);
  // Everything up to the first drop is complete and in order.
  for (let i = 0; 2 * i + 1 < recs.length && recs[2 * i]!.length === 32; i++) {
    if (recs[2 * i + 1]!.length !== 8) break;
    checkPair(recs[2 * i]!, recs[2 * i + 1]!, i);
  }
  assert.equal(reader.pending, 0);
});

kernelTest('a non-ringbuf map is refused with a typed error', (sys) => {
  using m = createMap(sys, { type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
  assert.throws(() => new RingBufReader(m), NotARingBufferError);
});
