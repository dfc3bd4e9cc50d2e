// bpfkit run's capture reading: reused 1 MiB read buffers give the results and captures the in-memory pipeline gives, across chunk boundaries and blocks longer than a chunk.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/output.js';
import { loadObject } from '../../src/elf/object-loader.js';
import { PcapngBlock } from '../../src/packet/capture-format.js';
import { buildUdp, PcapngWriter, PcapWriter } from '../../src/packet/index.js';
import { runCapture } from '../../src/runtime/pipeline.js';
import { loadUserspace } from '../../src/runtime/userspace-object.js';
import { repoRoot } from '../support/fixtures.js';

test('bpfkit run: a pcapng capture of 3.4 MB with a 2.5 MiB block between packets gives the in-memory pipeline\'s verdicts and pass capture', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-run-read-'));
  try {
    const w = new PcapngWriter();
    w.addInterface();
    const frames: Uint8Array[] = [];
    for (let i = 0; i < 6000; i++) {
      const f = buildUdp({ src: `10.4.${(i >> 8) & 255}.${i & 255}`, dst: '10.0.0.2', sport: 1000 + (i % 900), dport: 53, payload: 'y'.repeat(i % 90) });
      frames.push(f);
      w.write(f, { seconds: 1_764_000_000, nanoseconds: i * 1000 });
      // A custom block longer than a read chunk: the reader holds it across several reads.
      if (i === 2500) w.writeBlock(PcapngBlock.CUSTOM, new Uint8Array(2_600_000).fill(0x5a));
    }
    const capture = w.flush();
    assert.ok(capture.length > 3 << 20);
    const file = join(dir, 'in.pcapng');
    const pass = join(dir, 'pass.pcap');
    writeFileSync(file, capture);
    const obj = join(repoRoot, 'examples', 'xdp_stats.o');
    let out = '';
    let err = '';
    const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t) };
    const code = await main(['run', obj, '--pcap', file, '--out-pass', pass, '-j'], io);
    assert.equal(code, 0, err);
    const r = JSON.parse(out) as { packets: number; verdicts: { retval: number; packets: number; bytes: number }[] };
    using u = loadUserspace(loadObject(new Uint8Array(readFileSync(obj))), {});
    const sink = new PcapWriter({ nanosecond: true });
    const expected = runCapture(u.programs.values().next().value!, capture, { sinks: { pass: sink } });
    assert.equal(r.packets, frames.length);
    assert.deepEqual(r.verdicts.map((v) => [v.retval, v.packets, v.bytes]), expected.verdicts.map((v) => [v.retval, v.packets, v.bytes]));
    assert.deepEqual(new Uint8Array(readFileSync(pass)), sink.flush());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
