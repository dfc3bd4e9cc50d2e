// PerfReader against the kernel: bpf_perf_event_output from BPF_PROG_TEST_RUN, samples in order per CPU, lost counts.
import assert from 'node:assert/strict';
import { alu64, call, encode, exit, jmp, label, ld, ldx, program, r0, r1, r2, r3, r4, r5, r6, r10, st, stx } from '../../../src/isa/index.js';
import { MapType, ProgType } from '../../../src/kernel/bpf/constants.js';
import { createMap } from '../../../src/kernel/bpf/map-create.js';
import { deleteElem } from '../../../src/kernel/bpf/map-elem.js';
import { loadProgram } from '../../../src/kernel/bpf/prog-load.js';
import { testRun } from '../../../src/kernel/bpf/prog-test-run.js';
import { NotAPerfEventArrayError, PerfReader } from '../../../src/kernel/perf-reader.js';
import { kernelTest, u32 } from '../harness.js';
import type { Sys } from '../../../src/kernel/sys.js';
import type { MapFd } from '../../../src/kernel/bpf/map-fd.js';

/** XDP: copy the packet's first 8 bytes and a 0xfeed marker into a perf sample on the current CPU. */
function emitter(sys: Sys, events: MapFd) {
  const insns = program(
    alu64.mov.reg(r6, r1),
    ldx.w(r2, r6, 0),
    ldx.w(r3, r6, 4),
    alu64.mov.reg(r4, r2),
    alu64.add.imm(r4, 8),
    jmp.jgt.reg(r4, r3, 'out'),
    ldx.dw(r5, r2, 0),
    stx.dw(r10, -8, r5),
    st.dw(r10, -16, 0xfeed),
    alu64.mov.reg(r1, r6),
    ld.map_fd(r2, events.raw),
    ld.imm64(r3, 0xffffffffn),
    alu64.mov.reg(r4, r10),
    alu64.add.imm(r4, -16),
    alu64.mov.imm(r5, 16),
    call.helper('perf_event_output'),
    label('out'),
    alu64.mov.imm(r0, 2),
    exit(),
  );
  return loadProgram(sys, { type: ProgType.XDP, insns: encode(insns), license: 'GPL', name: 'kl_perf' });
}

const pkt = (i: number) => {
  const b = new Uint8Array(64);
  new DataView(b.buffer).setBigUint64(0, BigInt(i), true);
  return b;
};

kernelTest('2000 samples from test runs arrive in order with their bytes; closing empties the map', async (sys) => {
  using events = createMap(sys, { type: MapType.PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 64 });
  using prog = emitter(sys, events);
  const reader = new PerfReader(events, { pagesPerCpu: 64 });
  try {
    assert.ok(reader.cpus >= 1);
    const N = 2000;
    for (let i = 0; i < N; i++) testRun(prog, { dataIn: pkt(i) });
    const got: { cpu: number; seq: number }[] = [];
    for await (const s of reader) {
      const v = new DataView(s.data.buffer, s.data.byteOffset);
      assert.equal(s.data.length, 20, 'raw size: 16 bytes + 4 of padding');
      assert.equal(v.getBigUint64(0, true), 0xfeedn);
      got.push({ cpu: s.cpu, seq: Number(v.getBigUint64(8, true)) });
      if (got.length === N) break;
    }
    assert.equal(reader.lost, 0);
    // Per CPU, sequence numbers increase; together they are exactly 0..N-1.
    const byCpu = new Map<number, number[]>();
    for (const g of got) byCpu.set(g.cpu, [...(byCpu.get(g.cpu) ?? []), g.seq]);
    for (const seqs of byCpu.values()) assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    assert.deepEqual(got.map((g) => g.seq).sort((a, b) => a - b), Array.from({ length: N }, (_, i) => i));
  } finally {
    reader.close();
  }
  assert.equal(deleteElem(events, u32(0)), false, 'the perf events were removed from the map');
});

kernelTest('a small ring overflows: the kernel reports the lost samples, the reader keeps the rest', (sys) => {
  using events = createMap(sys, { type: MapType.PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 64 });
  using prog = emitter(sys, events);
  using reader = new PerfReader(events, { pagesPerCpu: 1 });
  // 4096 bytes / 32-byte records: ~127 fit per CPU; run 1000 times without reading.
  for (let i = 0; i < 1000; i++) testRun(prog, { dataIn: pkt(i) });
  const got = reader.read();
  assert.ok(got.length > 50 && got.length < 1000, `${got.length} samples`);
  // The kernel writes its PERF_RECORD_LOST once there is room again: read, then emit once more.
  testRun(prog, { dataIn: pkt(1000) });
  const after = reader.read();
  assert.equal(after.length, 1);
  // Equal when every run stayed on one CPU; a migration leaves another ring's LOST record unwritten.
  assert.ok(reader.lost > 0 && reader.lost <= 1000 - got.length, `lost ${reader.lost}, read ${got.length}`);
});

kernelTest('a map that is not a perf event array is refused', (sys) => {
  using m = createMap(sys, { type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
  assert.throws(() => new PerfReader(m), NotAPerfEventArrayError);
});
