// The batch entry of the pipeline: frames staged in Wasm memory and run in one call give exactly what packet-by-packet runs give, and what the kernel gives.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { loadObject } from '../../src/elf/index.js';
import type { ObjectSpec, ProgramSpec } from '../../src/elf/object-spec.js';
import { alu64, exit, jmp, label, ldx, program, r0, r1, r2 } from '../../src/isa/index.js';
import { XdpAction } from '../../src/isa/uapi.generated.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import { buildUdp, CaptureReader, PcapWriter, writePcap } from '../../src/packet/index.js';
import type { PacketMeta } from '../../src/packet/pcap-writer.js';
import { Pipeline, type PipelineResult } from '../../src/runtime/pipeline.js';
import { loadUserspace } from '../../src/runtime/index.js';
import type { EngineKind } from '../../src/jit/create-engine.js';
import { compileBpf } from '../support/clang.js';
import { kernelTest, u32 } from '../kernel/harness.js';

const bytes = compileBpf(path.join(import.meta.dirname, 'c', 'batch_mix.c'));
const spec = (): ObjectSpec => loadObject(bytes, { objectName: 'batch_mix' });

/** A seeded mix: lengths 43..1500, the verdict byte (offset 42) 0..3 or a number, runts, short frames and multi-buffer frames among them. */
function frames(count: number, seed: number): Uint8Array[] {
  let a = seed >>> 0;
  const rand = (n: number): number => {
    a = (Math.imul(a, 1103515245) + 12345) >>> 0;
    return (a >>> 8) % n;
  };
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const kind = rand(50);
    if (kind === 0) {
      out.push(new Uint8Array(6 + rand(8))); // a runt: never run
      continue;
    }
    if (kind === 1) {
      const big = new Uint8Array(3600 + rand(3000)); // past one page: fragments, the one-by-one path
      big[12] = 0x08;
      big[42] = rand(4);
      out.push(big);
      continue;
    }
    const payload = new Uint8Array(kind === 2 ? 0 : 1 + rand(1400));
    for (let j = 0; j < payload.length; j++) payload[j] = rand(256);
    const f = buildUdp({ src: `10.9.${rand(8)}.${1 + rand(200)}`, dst: '10.9.0.1', sport: 1000 + rand(5000), dport: 53, payload });
    if (f.length > 42) f[42] = [0, 1, 2, 3, 7, 200][rand(6)]!;
    out.push(f);
  }
  return out;
}

/** Keys of by_byte filled before the run (the program only looks up: an update would be a JavaScript helper). */
const SEEDED = [0, 1, 2, 3, 7, 200, 99];

/** A sink keeping every packet written through `write` (no writeRange): what it keeps must not change afterwards. */
class KeepingSink {
  readonly packets: Uint8Array[] = [];
  write(data: Uint8Array, _meta: PacketMeta): void {
    this.packets.push(data);
  }
}

interface Outcome {
  readonly result: Omit<PipelineResult, 'elapsedMs' | 'packetsPerSecond'>;
  readonly sinks: Record<string, Uint8Array>;
  readonly kept: readonly Uint8Array[];
  readonly maps: Record<string, string>;
  readonly batched: boolean;
}

type Mode = EngineKind | 'jit, packet by packet';

function run(mode: Mode, capture: Uint8Array, chunk: number, cpus: number, s: ObjectSpec = spec(), prog = 'batch_mix', budget?: number): Outcome {
  const engine: EngineKind = mode === 'interpreter' ? 'interpreter' : 'jit';
  using obj = loadUserspace(s, { cpus, engine, ...(prog === 'batch_mix' ? {} : { verify: false as const }), ...(budget ? { budget } : {}) });
  for (const k of SEEDED) if (s.maps.some((m) => m.name === 'by_byte')) obj.map('by_byte').write(u32(k), new Uint8Array(8), 0);
  const p = obj.program(prog);
  const pass = new PcapWriter({ nanosecond: true });
  const drop = new PcapWriter({ nanosecond: true });
  const tx = new KeepingSink();
  const pipe = new Pipeline(p, { cpus, sinks: { pass, drop, tx }, maxFaults: 1000, batch: mode !== 'jit, packet by packet' });
  for (let off = 0; off < capture.length; off += chunk) pipe.push(capture.slice(off, off + chunk));
  const { elapsedMs: _e, packetsPerSecond: _p, ...result } = pipe.end();
  const maps: Record<string, string> = {};
  for (const m of s.maps) {
    const ops = obj.map(m.name);
    const rows: string[] = [];
    for (let k = 0; k < 256; k++) {
      const key = new Uint8Array(m.keySize);
      key[0] = k;
      const v = ops.read(key);
      if (v) rows.push(`${k}=${Buffer.from(v).toString('hex')}`);
    }
    maps[m.name] = rows.join(' ');
  }
  const txWriter = new PcapWriter({ nanosecond: true });
  for (const f of tx.packets) txWriter.write(f);
  return { result, sinks: { pass: pass.flush(), drop: drop.flush(), tx: txWriter.flush() }, kept: tx.packets, maps, batched: mode === 'jit' && p.packetBatch() !== undefined };
}

test('batch entry: verdicts, per-CPU counts, pass/tx/drop frames and map contents equal packet-by-packet runs (interpreter), in every chunking', () => {
  const list = frames(2500, 7);
  const capture = writePcap(list);
  assert.ok(capture.length > (1 << 20) + 100_000, 'the capture is larger than one staging window');
  const reference = run('interpreter', capture, 1 << 20, 3);
  assert.deepEqual(run('jit, packet by packet', capture, 1 << 20, 3), reference);
  const counts = Object.fromEntries(reference.result.verdicts.map((v) => [v.verdict, v.packets]));
  assert.ok(counts['pass']! > 100 && counts['tx']! > 100 && counts['drop']! > 100 && counts['aborted']! > 100, JSON.stringify(counts));
  assert.ok(reference.result.refusedCount > 10, 'runts are in the capture');
  assert.ok(reference.maps['by_byte']!.split(' ').length >= 6, reference.maps['by_byte']);
  for (const chunk of [1 << 20, capture.length, 777, 65536 + 3]) {
    const batched = run('jit', capture, chunk, 3);
    assert.equal(batched.batched, true, 'the JIT runs this program in batches');
    assert.deepEqual(batched.result, reference.result, `chunk ${chunk}: results`);
    for (const cls of ['pass', 'drop', 'tx']) assert.deepEqual(batched.sinks[cls], reference.sinks[cls], `chunk ${chunk}: ${cls} frames`);
    assert.deepEqual(batched.maps, reference.maps, `chunk ${chunk}: maps`);
  }
  // The tx frames are as the program left them: Ethernet addresses swapped.
  const firstTx = reference.kept[0]!;
  const input = list.find((f) => f.length === firstTx.length && f[42] === 1)!;
  assert.deepEqual(firstTx.subarray(0, 6), input.subarray(6, 12));
});

test('batch entry: a fault or a runaway run stops only its packet, reported with its pc and message as packet by packet', () => {
  // First byte odd: loop until the budget; first byte 0xfe: a load at data_end (a fault); else the first byte & 3.
  const insns = program(
    ldx.w(r2, r1, 0),
    ldx.b(r0, r2, 0),
    jmp.jne.imm(r0, 0xfe, 'ok'),
    ldx.w(r1, r1, 4),
    ldx.w(r0, r1, 0),
    label('ok'),
    jmp.jset.imm(r0, 1, 'spin'),
    alu64.and.imm(r0, 3),
    exit(),
    label('spin'),
    alu64.add.imm(r2, 1),
    jmp.ja('spin'),
  );
  const base = spec();
  const p: ProgramSpec = { ...base.programs[0]!, name: 'spin', maps: [], instructions: insns };
  const s: ObjectSpec = { ...base, maps: [], programs: [p] };
  const list = frames(300, 11).map((f, i) => {
    const c = f.slice();
    if (c.length > 0) c[0] = i % 17 === 5 ? 0xfe : i % 23 === 4 ? 1 : (i * 2) & 0xfc;
    return c;
  });
  const capture = writePcap(list);
  // Fault messages name addresses, which differ between the engines' address spaces: the
  // reference is the JIT packet by packet; the interpreter agrees on everything else.
  const reference = run('jit, packet by packet', capture, 4096, 2, s, 'spin', 5000);
  const interp = run('interpreter', capture, 4096, 2, s, 'spin', 5000);
  const batched = run('jit', capture, 4096, 2, s, 'spin', 5000);
  assert.equal(batched.batched, true);
  const noMessage = (r: Outcome): unknown => ({ ...r.result, faults: r.result.faults.map((f) => ({ ...f, message: '' })) });
  assert.deepEqual(noMessage(interp), noMessage(reference));
  const codes = new Set(reference.result.faults.map((f) => f.code));
  assert.deepEqual([...codes].sort(), ['ERR_BUDGET_EXCEEDED', 'ERR_MEMORY_FAULT']);
  assert.ok(reference.result.faultCount >= 20, `${reference.result.faultCount} faults`);
  assert.deepEqual(batched.result, reference.result);
  for (const cls of ['pass', 'drop', 'tx']) assert.deepEqual(batched.sinks[cls], reference.sinks[cls], cls);
});

kernelTest('batch entry: each frame\'s verdict and output frame, and the hash map, equal BPF_PROG_TEST_RUN\'s', (sys) => {
  const list = frames(400, 3).filter((f) => f.length >= 14 && f.length <= 1514);
  using kernel = loadKernelObject(sys, spec());
  for (const k of SEEDED) kernel.map('by_byte').set(u32(k), new Uint8Array(8));
  const kPass: Uint8Array[] = [];
  const kTx: Uint8Array[] = [];
  const kVerdicts = new Map<number, number>();
  for (const f of list) {
    const r = kernel.program('batch_mix').testRun({ dataIn: f });
    kVerdicts.set(r.retval, (kVerdicts.get(r.retval) ?? 0) + 1);
    if (r.retval === XdpAction.PASS) kPass.push(r.dataOut);
    if (r.retval === XdpAction.TX) kTx.push(r.dataOut);
  }
  const u = run('jit', writePcap(list), 1 << 20, 1);
  assert.equal(u.batched, true);
  assert.deepEqual(u.result.verdicts.map((v) => [v.retval, v.packets]), [...kVerdicts].sort((a, b) => a[0] - b[0]));
  const read = (b: Uint8Array): Uint8Array[] => {
    const out: Uint8Array[] = [];
    for (const p of new CaptureReader().push(b).end()) out.push(p.buffer.slice(p.offset, p.offset + p.caplen));
    return out;
  };
  assert.deepEqual(read(u.sinks['pass']!), kPass);
  assert.deepEqual(u.kept, kTx);
  const rows: string[] = [];
  for (let k = 0; k < 256; k++) {
    const v = kernel.map('by_byte').get(u32(k));
    if (v) rows.push(`${k}=${Buffer.from(v).toString('hex')}`);
  }
  assert.equal(u.maps['by_byte'], rows.join(' '));
});
