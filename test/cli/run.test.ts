// `bpfkit run`: the demo command, its verdicts against the kernel's BPF_PROG_TEST_RUN packet by packet, outputs, usage errors.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/output.js';
import { pairMapUpdates } from '../../src/cli/run.js';
import { loadObject } from '../../src/elf/object-loader.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import { CaptureReader } from '../../src/packet/index.js';
import { kernelTest } from '../kernel/harness.js';
import { repoRoot } from '../support/fixtures.js';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t) };
  const code = await main(argv, io);
  return { code, out, err };
}

const obj = join(repoRoot, 'examples/xdp_flow_stats.o');
const pcap = join(repoRoot, 'examples/traffic.pcap');
const KEY = 'hex 0a 00 00 01 0a 00 00 02 9c 40 00 35 11 00 00 00';
const VALUE = 'hex 00 00 00 00 00 00 00 00';
const demo = ['run', obj, '--pcap', pcap, '--cpus', '4', '--map-update', 'allowed_flows', ...`key ${KEY} value ${VALUE}`.split(' ')];

interface RunJson {
  packets: number;
  verdicts: { verdict: string; retval: number; packets: number; bytes: number }[];
  per_cpu: { cpu: number; packets: number }[];
  not_run: number;
  faults: number;
  maps: { name: string; entries: { key: string; value?: number; values?: { packets: number; bytes: number }[]; total?: { packets: number } }[] }[];
}

test('the demo command prints verdicts, per-CPU counters and the allowed flow', async () => {
  const { code, out } = await cli(...demo);
  assert.equal(code, 0);
  assert.match(out, /program xdp_flow_stats \(xdp\) on .*traffic\.pcap, 4 CPUs/);
  assert.match(out, /verdict\s+retval\s+packets\s+bytes\s+share/);
  assert.match(out, /stats \(percpu_array, per CPU\)/);
  assert.match(out, /key\s+cpu\s+packets\s+bytes/, 'per-CPU values decoded with BTF field names');
  assert.match(out, /0a 00 00 01 0a 00 00 02 9c 40 00 35 11 00 00 00\s+\d+/);
  assert.match(out, /packets\/s/);
});

test('--json: verdicts add up, per-CPU counters add up to the verdict table, the map update took effect', async () => {
  const { code, out } = await cli(...demo, '-j');
  assert.equal(code, 0);
  const doc = JSON.parse(out) as RunJson;
  assert.equal(doc.packets, 3000);
  assert.equal(doc.verdicts.reduce((n, v) => n + v.packets, 0) + doc.not_run + doc.faults, 3000);
  assert.equal(doc.per_cpu.reduce((n, c) => n + c.packets, 0), 3000);
  const stats = doc.maps.find((m) => m.name === 'stats')!;
  for (const v of doc.verdicts) {
    const e = stats.entries.find((x) => x.key === String(v.retval))!;
    assert.equal(e.total!.packets, v.packets, `stats[${v.verdict}] summed over CPUs`);
  }
  const flows = doc.maps.find((m) => m.name === 'allowed_flows')!;
  assert.equal(flows.entries.length, 1);
  assert.ok(flows.entries[0]!.value! > 300);
});

kernelTest('run: the verdict table equals the kernel BPF_PROG_TEST_RUN verdicts over the same capture', async (sys) => {
  const { out } = await cli(...demo, '-j');
  const ours = JSON.parse(out) as RunJson;
  const spec = loadObject(new Uint8Array(readFileSync(obj)), { objectName: 'xdp_flow_stats' });
  using k = loadKernelObject(sys, spec);
  k.map('allowed_flows').set(new Uint8Array([10, 0, 0, 1, 10, 0, 0, 2, 0x9c, 0x40, 0, 53, 17, 0, 0, 0]), new Uint8Array(8));
  const counts = new Map<number, number>();
  let refused = 0;
  for (const p of new CaptureReader().push(new Uint8Array(readFileSync(pcap))).end()) {
    try {
      const r = k.program('xdp_flow_stats').testRun({ dataIn: p.data });
      counts.set(r.retval, (counts.get(r.retval) ?? 0) + 1);
    } catch {
      refused++;
    }
  }
  assert.deepEqual(ours.verdicts.map((v) => [v.retval, v.packets]), [...counts].sort((a, b) => a[0] - b[0]));
  assert.equal(ours.not_run, refused, 'frames the kernel refuses are the ones bpfkit does not run');
});

test('--out-pass / --out-drop hold exactly the packets of those verdicts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-run-'));
  try {
    const { code, out } = await cli(...demo, '--out-pass', join(dir, 'pass.pcap'), '--out-drop', join(dir, 'drop.pcap'), '-j');
    assert.equal(code, 0);
    const doc = JSON.parse(out) as RunJson;
    const n = (f: string): number => [...new CaptureReader().push(new Uint8Array(readFileSync(join(dir, f)))).end()].length;
    const v = (name: string): number => doc.verdicts.filter((x) => x.verdict === name).reduce((a, x) => a + x.packets, 0);
    assert.equal(n('pass.pcap'), v('pass'));
    assert.equal(n('drop.pcap'), v('drop') + v('aborted'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--map-update takes bpftool keywords or two quoted byte lists', () => {
  assert.deepEqual(pairMapUpdates(['m'], ['key', 'hex', '01', '00', 'value', '2', '0']), [{ map: 'm', key: 'hex 01 00', value: '2 0' }]);
  assert.deepEqual(pairMapUpdates(['a', 'b'], ['1 0', '2 0', 'hex 03', 'hex 04']), [{ map: 'a', key: '1 0', value: '2 0' }, { map: 'b', key: 'hex 03', value: 'hex 04' }]);
  assert.deepEqual(pairMapUpdates(['a', 'b'], ['key', '1', 'value', '2', 'key', '3', 'value', '4']).map((u) => u.value), ['2', '4']);
  assert.throws(() => pairMapUpdates(['a'], ['1 0']), /NAME KEY VALUE/);
  assert.throws(() => pairMapUpdates([], ['stray']), /unexpected argument 'stray'/);
});

test('usage errors exit 2; bad bytes, bad captures and unknown maps exit 1 with their code', async () => {
  assert.equal((await cli('run', obj)).code, 2, 'missing --pcap');
  assert.equal((await cli('run', obj, '--pcap', pcap, '--cpus', '0')).code, 2);
  assert.equal((await cli('run', obj, '--pcap', pcap, '--prog', 'nope')).code, 2);
  const short = await cli('run', obj, '--pcap', pcap, '--map-update', 'allowed_flows', 'key', '1', '2', 'value', '0', '-j');
  assert.equal(short.code, 1);
  assert.equal(JSON.parse(short.out).code, 'ERR_BYTE_LIST');
  const unknown = await cli('run', obj, '--pcap', pcap, '--map-update', 'nope', '1 0 0 0', '1', '-j');
  assert.equal(JSON.parse(unknown.out).code, 'ERR_MAP_NOT_FOUND');
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-run-'));
  try {
    writeFileSync(join(dir, 'bad.pcap'), new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    const bad = await cli('run', obj, '--pcap', join(dir, 'bad.pcap'));
    assert.equal(bad.code, 1);
    assert.match(bad.err, /bad\.pcap: .*\[ERR_PCAP_MALFORMED\]/);
    // A capture cut inside a record: an error with the offset, or the packets before it with --skip-bad-records.
    writeFileSync(join(dir, 'cut.pcap'), readFileSync(pcap).subarray(0, 300000));
    const cut = await cli('run', obj, '--pcap', join(dir, 'cut.pcap'));
    assert.equal(cut.code, 1);
    assert.match(cut.err, /cut\.pcap: malformed capture at offset \d+: truncated record/);
    const skipped = JSON.parse((await cli('run', obj, '--pcap', join(dir, 'cut.pcap'), '--skip-bad-records', '-j')).out) as RunJson & { skipped_records: number };
    assert.equal(skipped.skipped_records, 1);
    assert.ok(skipped.packets > 1000 && skipped.packets < 3000);
    const missing = await cli('run', obj, '--pcap', join(dir, 'none.pcap'));
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no such file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
