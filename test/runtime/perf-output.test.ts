// bpf_perf_event_output in the userspace runtime against the kernel: the samples a perf reader
// gets (the program's bytes, the packet bytes asked for, the zero padding) and every error return.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadObject } from '../../src/elf/object-loader.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import { PerfReader } from '../../src/kernel/perf-reader.js';
import { BpfMapFlags, BpfMapType } from '../../src/isa/uapi.generated.js';
import { PerfEventArray } from '../../src/maps/perf-event-array.js';
import { loadUserspace } from '../../src/runtime/index.js';
import { kernelTest } from '../kernel/harness.js';
import { compileBpf } from '../support/clang.js';
import { assertSameMapVerdicts } from '../support/map-attributes.js';

const compile = (): Uint8Array => compileBpf(join(import.meta.dirname, 'c', 'perf_output.c'));

function packet(size: number, ctxlen: number, mode: number, metaLen: number): Uint8Array {
  const p = Uint8Array.from({ length: size }, (_, i) => (i * 29 + 1) & 0xff);
  const v = new DataView(p.buffer);
  v.setUint32(0, ctxlen, true);
  v.setUint32(4, mode, true);
  v.setUint32(8, metaLen, true);
  v.setUint32(12, 0, true);
  return p;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

kernelTest('bpf_perf_event_output: samples and error returns equal the kernel', (sys) => {
  const spec = loadObject(compile(), { objectName: 'perf_output' });
  using kernel = loadKernelObject(sys, spec);
  using reader = new PerfReader(kernel.map('events'), { pagesPerCpu: 64 });
  using user = loadUserspace(spec, { cpus: 2 });
  const ops = user.mapOps.get('events');
  assert.ok(ops instanceof PerfEventArray);
  const events: PerfEventArray = ops;
  events.openAll(2, 64);
  const cases: [number, number, number, number][] = [];
  for (const size of [64, 1500, 9000]) {
    for (const ctxlen of [0, 1, 14, 63, size, size + 1, 0xfffff]) {
      for (const mode of [0, 1, 2, 3, 4]) cases.push([size, ctxlen, mode, 12]);
    }
    cases.push([size, 20, 0, 0], [size, 20, 0, 3], [size, 20, 0, 15]);
  }
  let samples = 0;
  for (const [size, ctxlen, mode, metaLen] of cases) {
    const label = `size ${size} ctxlen ${ctxlen} mode ${mode} meta ${metaLen}`;
    const data = packet(size, ctxlen, mode, metaLen);
    const k = kernel.program('xdp_perf').testRun({ dataIn: data, dataOutSize: 16384 });
    const u = user.program('xdp_perf').testRun({ data });
    assert.equal(u.retval, k.retval, `${label}: retval`);
    assert.equal(hex(u.dataOut), hex(k.dataOut), `${label}: data_out (the helper's return)`);
    const ks = reader.read().map((s) => hex(s.data));
    const us: string[] = events.consume().map((s) => hex(s.data));
    assert.deepEqual(us, ks, `${label}: samples`);
    samples += ks.length;
  }
  assert.equal(reader.lost, 0);
  assert.ok(samples >= 20, `${samples} samples compared`);
});

kernelTest('perf event array attributes: the kernel accepts and refuses the same definitions', (sys) => {
  const defs = [
    { keySize: 4, valueSize: 4, maxEntries: 4, flags: 0 },
    { keySize: 8, valueSize: 4, maxEntries: 4, flags: 0 },
    { keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 },
    { keySize: 4, valueSize: 4, maxEntries: 0, flags: 0 },
    { keySize: 4, valueSize: 4, maxEntries: 4, flags: BpfMapFlags.NO_PREALLOC },
    { keySize: 4, valueSize: 4, maxEntries: 4, flags: BpfMapFlags.PRESERVE_ELEMS },
    { keySize: 4, valueSize: 4, maxEntries: 4, flags: BpfMapFlags.RDONLY_PROG },
    { keySize: 4, valueSize: 4, maxEntries: 4, flags: BpfMapFlags.WRONLY_PROG },
    { keySize: 4, valueSize: 4, maxEntries: 4, flags: BpfMapFlags.RDONLY },
    { keySize: 4, valueSize: 4, maxEntries: 4, flags: BpfMapFlags.WRONLY },
    { keySize: 4, valueSize: 4, maxEntries: 4, flags: BpfMapFlags.MMAPABLE },
    { keySize: 4, valueSize: 4, maxEntries: 4, flags: BpfMapFlags.ZERO_SEED },
  ];
  assertSameMapVerdicts(sys, BpfMapType.PERF_EVENT_ARRAY, defs);

});
