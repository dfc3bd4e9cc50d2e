// `bpfkit map event-pipe` as a child process: every record of a perf event array (a builder program) and of a ring
// buffer (the ringbuf fixture, formatted from its BTF) arrives with its bytes; count, Ctrl-C and bad input.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { loadObject } from '../../src/elf/index.js';
import { encode } from '../../src/isa/encode.js';
import { alu64, call, exit, ld, program, st } from '../../src/isa/builder.js';
import { MapType, ProgType } from '../../src/kernel/bpf/constants.js';
import { createMap } from '../../src/kernel/bpf/map-create.js';
import { pinObject } from '../../src/kernel/bpf/obj-pin.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { testRun } from '../../src/kernel/bpf/prog-test-run.js';
import { possibleCpus } from '../../src/kernel/bpf/map-fd.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import { fixturesDir, repoRoot } from '../support/fixtures.js';
import { kernelTest } from '../kernel/harness.js';

const BIN = `${repoRoot}/src/cli/bin.ts`;
const DIR = `/sys/fs/bpf/bpfkit-ep-${process.pid}`;
const FRAME = new Uint8Array(64).map((_, i) => i);

function start(args: string[]): Promise<{ child: ReturnType<typeof spawn>; done: Promise<{ code: number | null; out: string; err: string }> }> {
  const child = spawn('node', ['--import', 'tsx', BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) => child.on('close', (code) => resolve({ code, out, err })));
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (/reading/.test(err)) resolve({ child, done });
    });
    void done.then((r) => reject(new Error(`exited early: ${r.code} ${r.err}`)));
  });
}

kernelTest('event-pipe on a perf event array: 300 records from test runs, all bytes as written, count ends it; -j one line per record', async (sys) => {
  mkdirSync(DIR, { recursive: true });
  try {
    using perf = createMap(sys, { type: MapType.PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: possibleCpus(sys), name: 'bk_ep_perf' });
    pinObject(perf, `${DIR}/perf`);
    // r1 = ctx; *(u64 *)(fp-16) = 0x0102030405060708; *(u32 *)(fp-8) = 0xaabbccdd; *(u32 *)(fp-4) = 7; perf_event_output(ctx, map, CURRENT_CPU, fp-16, 16)
    using prog = loadProgram(sys, {
      type: ProgType.XDP,
      license: 'GPL',
      name: 'bk_ep_out',
      insns: encode(program(
        ld.imm64(2, 0x0102030405060708n),
        alu64.mov.reg(6, 1),
        st.w(10, -8, 0xaabbccdd),
        st.w(10, -4, 7),
        alu64.mov.reg(3, 2),
        st.w(10, -16, 0x05060708),
        st.w(10, -12, 0x01020304),
        alu64.mov.reg(1, 6),
        ld.map_fd(2, perf.raw),
        ld.imm64(3, 0xffffffffn),
        alu64.mov.reg(4, 10),
        alu64.add.imm(4, -16),
        alu64.mov.imm(5, 16),
        call.helper('perf_event_output'),
        alu64.mov.imm(0, 2),
        exit(),
      )),
    });
    const { child, done } = await start(['map', 'event-pipe', 'pinned', `${DIR}/perf`, 'count', '300', '-j']);
    for (let i = 0; i < 300; i++) testRun(prog, { dataIn: FRAME, programType: ProgType.XDP });
    const r = await Promise.race([done, new Promise<never>((_, rej) => setTimeout(() => rej(new Error('event-pipe did not end at count 300')), 60_000))]);
    void child;
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n');
    assert.equal(lines.length, 300);
    // The 16 bytes written, then the perf sample's padding to 8-byte alignment (bpftool prints it too).
    const want = ['0x08', '0x07', '0x06', '0x05', '0x04', '0x03', '0x02', '0x01', '0xdd', '0xcc', '0xbb', '0xaa', '0x07', '0x00', '0x00', '0x00', '0x00', '0x00', '0x00', '0x00'];
    for (const l of lines) {
      const rec = JSON.parse(l) as { type: number; cpu: number; index: number; data: string[] };
      assert.equal(rec.type, 9);
      assert.equal(rec.index, rec.cpu);
      assert.deepEqual(rec.data, want);
    }
    assert.match(r.err, /300 records/);
  } finally {
    rmSync(DIR, { recursive: true, force: true });
  }
});

kernelTest('event-pipe on a ring buffer, formatted from the object\'s BTF (type __u32 obj ringbuf.o); count ends it with every record printed', async (sys) => {
  mkdirSync(DIR, { recursive: true });
  const objPath = path.join(fixturesDir, 'ringbuf.o');
  try {
    using obj = loadKernelObject(sys, loadObject(readFileSync(objPath)));
    pinObject(obj.map('events').fd, `${DIR}/events`);
    const { child, done } = await start(['map', 'event-pipe', 'pinned', `${DIR}/events`, 'type', '__u32', 'obj', objPath, 'count', '200', '-j']);
    for (let i = 0; i < 100; i++) obj.program('xdp_ringbuf').testRun({ dataIn: FRAME });
    const r = await Promise.race([done, new Promise<never>((_, rej) => setTimeout(() => rej(new Error('event-pipe did not end at count 200')), 60_000))]);
    void child;
    assert.equal(r.code, 0, r.err);
    const recs = r.out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; data: string[]; formatted?: number });
    assert.equal(recs.length, 200, 'a pkt_event and a summary per run');
    const events = recs.filter((x) => x.data.length === 32);
    const sums = recs.filter((x) => x.data.length === 8);
    assert.equal(events.length, 100);
    assert.equal(sums.length, 100);
    for (const e of events) {
      assert.equal(e.type, 'ringbuf');
      assert.deepEqual(e.data.slice(16, 20), ['0x40', '0x00', '0x00', '0x00'], 'pkt_event.len = 64');
      assert.deepEqual(e.data.slice(24), ['0x00', '0x01', '0x02', '0x03', '0x04', '0x05', '0x06', '0x07'], 'pkt_event.head');
      assert.equal(typeof e.formatted, 'number');
    }
    for (const s of sums) {
      assert.deepEqual(s.data, ['0x01', '0x00', '0x00', '0x00', '0x40', '0x00', '0x00', '0x00']);
      assert.equal(s.formatted, 1, 'summary.kind read as the __u32 of the object\'s BTF');
    }
  } finally {
    rmSync(DIR, { recursive: true, force: true });
  }
});

kernelTest('event-pipe bad input: a hash map, an unknown type, cpu without index — one line, nonzero exit', () => {
  const run = (...args: string[]): { code: number; err: string } => {
    try {
      execFileSync('node', ['--import', 'tsx', BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      return { code: 0, err: '' };
    } catch (e) {
      const x = e as { status: number; stderr: Buffer };
      return { code: x.status, err: x.stderr.toString() };
    }
  };
  mkdirSync(DIR, { recursive: true });
  try {
    const h = JSON.parse(execFileSync('bpftool', ['map', 'create', `${DIR}/h`, 'type', 'hash', 'key', '4', 'value', '4', 'entries', '4', 'name', 'bk_ep_hash', '-j'], { encoding: 'utf8' }) || 'null');
    void h;
    let r = run('map', 'event-pipe', 'pinned', `${DIR}/h`);
    assert.equal(r.code, 1);
    assert.match(r.err, /is not a perf event array or a ring buffer.*\[ERR_NOT_EVENT_MAP\]/);
    assert.equal(r.err.trim().split('\n').length, 1);
    r = run('map', 'event-pipe', 'pinned', `${DIR}/h`, 'cpu', '0');
    assert.equal(r.code, 2);
    assert.match(r.err, /cpu and index go together/);
  } finally {
    rmSync(DIR, { recursive: true, force: true });
  }
});
