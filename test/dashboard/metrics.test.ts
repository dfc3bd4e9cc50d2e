// The collector against the kernel: xdp_stats counters after N test runs pinned to one CPU equal N and N*len, and bpftool's dump.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { NoSuchMapError, NonNumericMapError } from '../../src/dashboard/errors.js';
import { parseExposition } from '../../src/dashboard/exposition-parse.js';
import { snapshotFamilies } from '../../src/dashboard/families.js';
import { btfNumericFields, readNumericField, sizedNumericFields } from '../../src/dashboard/map-values.js';
import { collectSnapshot, MetricsCollector, parseMapSelector, snapshotJson, type Snapshot } from '../../src/dashboard/metrics.js';
import { renderExposition } from '../../src/dashboard/prometheus.js';
import { BtfBuilder, loadObject } from '../../src/index.js';
import { collectRunStats, BPF_STATS_SYSCTL } from '../../src/kernel/bpf/enable-stats.js';
import { MapFlags, MapType } from '../../src/kernel/bpf/constants.js';
import { createMap } from '../../src/kernel/bpf/map-create.js';
import { mapInfo } from '../../src/kernel/bpf/obj-info.js';
import { kernelError, KernelPermissionError } from '../../src/kernel/kernel-error.js';
import { KernelMap } from '../../src/kernel/kernel-map.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import { programInfo } from '../../src/kernel/bpf/obj-info.js';
import { Errno } from '../../src/kernel/errno.js';
import type { PointerField } from '../../src/kernel/sys.js';
import { fixturePath } from '../support/fixtures.js';
import { bpftool, CountingSys, kernelTest, u32, u64 } from '../kernel/harness.js';

const CPU = 1;
let affinity = '';

// BPF_PROG_TEST_RUN runs on the caller's CPU: pin the whole process (all threads) to one CPU.
before(() => {
  affinity = execFileSync('taskset', ['-p', String(process.pid)], { encoding: 'utf8' }).trim().split(/\s+/).pop() ?? '';
  execFileSync('taskset', ['-a', '-p', '-c', String(CPU), String(process.pid)], { stdio: 'ignore' });
});
after(() => {
  if (affinity) execFileSync('taskset', ['-a', '-p', affinity, String(process.pid)], { stdio: 'ignore' });
});

const spec = () => loadObject(readFileSync(fixturePath('xdp_stats')), { objectName: 'xdp_stats' });
const packet = (len: number) => Uint8Array.from({ length: len }, (_, i) => i & 0xff);

type Row = { key: string; values: unknown[]; perCpu?: unknown[][] };
const valuesOf = (snap: Snapshot, id: number) => snap.values.find((v) => v.id === id);

kernelTest('xdp_stats after N pinned test runs: CPU 1 holds N and N*len, CPU 0 none, sums agree, bpftool agrees', (sys) => {
  using obj = loadKernelObject(sys, spec());
  const prog = obj.program('xdp_stats_prog');
  const mapId = mapInfo(obj.map('xdp_stats_map').fd).id;
  const progId = programInfo(prog.fd).id;
  using collector = new MetricsCollector(sys, { maps: [{ name: 'xdp_stats_map' }] });
  assert.equal(collector.enableStats(), 'fd');
  const len = 64;
  const single = 100;
  const repeated = 400;
  for (let i = 0; i < single; i++) assert.equal(prog.testRun({ dataIn: packet(len) }).retval, 2);
  prog.testRun({ dataIn: packet(len), repeat: repeated });
  const n = single + repeated;

  const snap = collector.collect();
  assert.equal(snap.statsEnabled, true);
  assert.equal(snap.statsSource, 'fd');
  const p = snap.programs.find((x) => x.id === progId)!;
  assert.equal(p.name, 'xdp_stats_prog');
  assert.equal(p.type, 'xdp');
  assert.equal(p.runCount, n, 'run_cnt counts every run while the stats fd is open');
  assert.ok(p.runTimeNs > 0);
  const theirProg = bpftool('prog', 'show', 'id', String(progId)) as { run_cnt?: number; tag: string };
  assert.equal(theirProg.run_cnt, n);
  assert.equal(p.tag, theirProg.tag);

  const v = valuesOf(snap, mapId)!;
  assert.deepEqual([v.perCpu, v.keyFormat, v.fields, v.entries, v.droppedSeries, v.rows.length], [true, 'btf', ['rx_packets', 'rx_bytes'], 5, 0, 5]);
  const pass = v.rows.find((r) => r.key === '2') as Row;
  assert.deepEqual(pass.perCpu, [
    [0n, BigInt(n)],
    [0n, BigInt(n * len)],
  ]);
  assert.deepEqual(pass.values, [BigInt(n), BigInt(n * len)]);

  // bpftool's dump of the same map: every key, every CPU, every field.
  const dump = bpftool('map', 'dump', 'id', String(mapId)) as { formatted: { key: number; values: { cpu: number; value: { rx_packets: number; rx_bytes: number } }[] } }[];
  assert.equal(dump.length, v.rows.length);
  for (const e of dump) {
    const row = v.rows.find((r) => r.key === String(e.formatted.key))!;
    for (const c of e.formatted.values) {
      assert.equal(row.perCpu![0]![c.cpu], BigInt(c.value.rx_packets), `key ${e.formatted.key} cpu ${c.cpu} rx_packets`);
      assert.equal(row.perCpu![1]![c.cpu], BigInt(c.value.rx_bytes), `key ${e.formatted.key} cpu ${c.cpu} rx_bytes`);
    }
  }

  // The scrape: the same numbers under the documented names and labels.
  const fams = new Map(parseExposition(renderExposition(snapshotFamilies(snap))).map((f) => [f.name, f]));
  const sample = (name: string, labels: Record<string, string>) =>
    fams.get(name)!.samples.filter((s) => Object.entries(labels).every(([k, x]) => s.labels[k] === x));
  const mine = { map_id: String(mapId), key: '2' };
  assert.deepEqual(sample('bpfkit_map_value_percpu_total', { ...mine, field: 'rx_packets', cpu: String(CPU) }).map((s) => s.raw), [String(n)]);
  assert.deepEqual(sample('bpfkit_map_value_percpu_total', { ...mine, field: 'rx_bytes', cpu: '0' }).map((s) => s.raw), ['0']);
  assert.deepEqual(sample('bpfkit_map_value_total', { ...mine, field: 'rx_bytes' }).map((s) => s.raw), [String(n * len)]);
  assert.deepEqual(sample('bpfkit_prog_run_count_total', { prog_id: String(progId) }).map((s) => s.raw), [String(n)]);
  assert.deepEqual(sample('bpfkit_map_max_entries', { map_id: String(mapId) }).map((s) => [s.labels['map'], s.labels['type'], s.raw]), [['xdp_stats_map', 'percpu_array', '5']]);
  assert.equal(sample('bpfkit_map_selector_matches', { selector: 'name xdp_stats_map' })[0]!.value >= 1, true);
  const json = JSON.parse(snapshotJson(snap)) as { values: { id: number; rows: Row[] }[] };
  assert.deepEqual(json.values.find((x) => x.id === mapId)!.rows.find((r) => r.key === '2')!.values, [n, n * len]);

  // Closing the collector closes the stats fd (the kernel's anon inode "bpf-stats" is gone from this process).
  assert.equal(statsFds(), 1);
  collector.close();
  assert.equal(statsFds(), 0);
});

/** This process's fds on the kernel's BPF_ENABLE_STATS anon inode. */
function statsFds(): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:bpf-stats';
    } catch {
      return false;
    }
  }).length;
}

kernelTest('series cap: whole keys are exported up to the limit, the rest counted as dropped series', (sys) => {
  using obj = loadKernelObject(sys, spec());
  const id = mapInfo(obj.map('xdp_stats_map').fd).id;
  // 2 fields x (2 CPUs + sum) = 6 series per key: 7 allows one key.
  const snap = collectSnapshot(sys, { maps: [{ id }], seriesLimit: 7 });
  const v = valuesOf(snap, id)!;
  const cpus = v.cpus;
  assert.equal(v.rows.length, 1);
  assert.equal(v.entries, 5);
  assert.equal(v.droppedSeries, 4 * 2 * (cpus + 1));
  const fams = parseExposition(renderExposition(snapshotFamilies(snap)));
  assert.equal(fams.find((f) => f.name === 'bpfkit_map_series_dropped')!.samples.find((s) => s.labels['map_id'] === String(id))!.value, 4 * 2 * (cpus + 1));

  // A hash without BTF: hex keys, a scalar u64 value, the cap counted by walking the keys.
  using h = createMap(sys, { type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 16, name: 'dash_hash' });
  using hm = new KernelMap(h, 'dash_hash');
  for (let k = 1; k <= 5; k++) hm.set(u32(k), u64(BigInt(k) * 1000n + 2n ** 60n));
  const hid = mapInfo(h).id;
  const full = valuesOf(collectSnapshot(sys, { maps: [{ id: hid }] }), hid)!;
  assert.deepEqual([full.keyFormat, full.fields, full.entries, full.perCpu], ['hex', [''], 5, false]);
  assert.deepEqual(full.rows.map((r) => [r.key, r.values[0]]).sort(), [1, 2, 3, 4, 5].map((k) => [`0${k} 00 00 00`, BigInt(k) * 1000n + 2n ** 60n]).sort());
  const text = renderExposition(snapshotFamilies(collectSnapshot(sys, { maps: [{ id: hid }] })));
  assert.match(text, new RegExp(`bpfkit_map_value_total\\{map_id="${hid}",map="dash_hash",key="03 00 00 00"\\} 1152921504606849976\\n`));
  const capped = valuesOf(collectSnapshot(sys, { maps: [{ id: hid }], seriesLimit: 2 }), hid)!;
  assert.deepEqual([capped.rows.length, capped.entries, capped.droppedSeries], [2, 5, 3]);

  // An LPM trie has no batch lookup (ENOTSUPP): the walk falls back to get-next-key + lookup.
  using t = createMap(sys, { type: MapType.LPM_TRIE, keySize: 8, valueSize: 8, maxEntries: 8, flags: MapFlags.NO_PREALLOC, name: 'dash_trie' });
  using tm = new KernelMap(t, 'dash_trie');
  tm.set(Uint8Array.of(24, 0, 0, 0, 10, 1, 2, 0), u64(5));
  tm.set(Uint8Array.of(8, 0, 0, 0, 10, 0, 0, 0), u64(6));
  const trie = valuesOf(collectSnapshot(sys, { maps: [{ name: 'dash_trie' }] }), mapInfo(t).id)!;
  assert.deepEqual(trie.rows.map((r) => [r.key, r.values[0]]).sort(), [['08 00 00 00 0a 00 00 00', 6n], ['18 00 00 00 0a 01 02 00', 5n]]);
});

kernelTest('a selector that matches nothing is a NoSuchMapError naming it; odd value sizes a NonNumericMapError', (sys) => {
  assert.throws(
    () => collectSnapshot(sys, { maps: [{ name: 'no_such_map_xyz' }] }),
    (e: unknown) => e instanceof NoSuchMapError && e.code === 'ERR_NO_SUCH_MAP' && e.selector === 'name no_such_map_xyz' && /no_such_map_xyz/.test(e.message),
  );
  assert.throws(() => collectSnapshot(sys, { maps: [{ id: 0x7ffffff0 }] }), /no map matches id 2147483632/);
  // Not strict: the snapshot says the selector matched 0 maps.
  assert.equal(collectSnapshot(sys, { maps: [{ name: 'no_such_map_xyz' }], strict: false }).selectors['name no_such_map_xyz'], 0);
  using odd = createMap(sys, { type: MapType.ARRAY, keySize: 4, valueSize: 3, maxEntries: 1, name: 'dash_odd' });
  assert.throws(() => collectSnapshot(sys, { maps: [{ id: mapInfo(odd).id }] }), (e: unknown) => e instanceof NonNumericMapError && e.map === 'dash_odd' && /3-byte value/.test(e.message));
});

kernelTest('missing permission: the collector fails with a KernelPermissionError naming the call and what to do', (sys) => {
  const denied = new (class extends CountingSys {
    override bpf(cmd: number, attr: Uint8Array, pointers?: readonly PointerField[]): number {
      if (cmd === 11 /* BPF_PROG_GET_NEXT_ID */) throw kernelError('bpf(BPF_PROG_GET_NEXT_ID)', Errno.EPERM);
      return super.bpf(cmd, attr, pointers);
    }
  })(sys);
  assert.throws(() => collectSnapshot(denied), (e: unknown) => e instanceof KernelPermissionError && /BPF_PROG_GET_NEXT_ID.*EPERM.*CAP_BPF/.test(e.message));
});

test('collectRunStats falls back to the sysctl on kernels without BPF_ENABLE_STATS, and puts it back', () => {
  const writes: string[] = [];
  let sysctl = '0\n';
  const fake = {
    bpf: (cmd: number) => {
      throw kernelError(`bpf(cmd ${cmd})`, Errno.EINVAL);
    },
    readFile: (path: string) => {
      assert.equal(path, BPF_STATS_SYSCTL);
      return new TextEncoder().encode(sysctl);
    },
    writeFile: (path: string, data: Uint8Array) => {
      assert.equal(path, BPF_STATS_SYSCTL);
      writes.push(new TextDecoder().decode(data));
      sysctl = writes.at(-1)!;
    },
  } as unknown as Parameters<typeof collectRunStats>[0];
  const s = collectRunStats(fake);
  assert.equal(s.source, 'sysctl');
  assert.deepEqual(writes, ['1\n']);
  s.close();
  s.close();
  assert.deepEqual(writes, ['1\n', '0\n']);
  // Already on: nothing written, nothing restored.
  writes.length = 0;
  sysctl = '1\n';
  collectRunStats(fake).close();
  assert.deepEqual(writes, []);
  // EPERM is not a reason to fall back.
  const denied = { ...fake, bpf: () => { throw kernelError('bpf(BPF_ENABLE_STATS)', Errno.EPERM); } } as unknown as Parameters<typeof collectRunStats>[0];
  assert.throws(() => collectRunStats(denied), KernelPermissionError);
});

test('BTF values flatten to numeric fields: nested structs, arrays, bitfields, enums; strings and pointers left out', () => {
  const b = new BtfBuilder();
  const int = (name: string, size: number, signed: boolean, char = false) => b.add({ kind: 'int', name, size, signed, char, bool: false, bitOffset: 0, bits: size * 8 });
  const m = (name: string, type: number, bitOffset: number, bitfieldSize = 0) => ({ name, type, bitOffset, bitfieldSize });
  const u64t = int('unsigned long long', 8, false);
  const u8 = int('unsigned char', 1, false);
  const s32 = int('int', 4, true);
  const chr = int('char', 1, true, true);
  const inner = b.add({ kind: 'struct', name: 'inner', size: 8, kindFlag: false, members: [m('drops', u64t, 0)] });
  const name = b.add({ kind: 'array', name: '', type: chr, indexType: s32, nelems: 4 });
  const hist = b.add({ kind: 'array', name: '', type: u8, indexType: s32, nelems: 2 });
  const ptr = b.add({ kind: 'ptr', name: '', type: u64t });
  const outer = b.add({
    kind: 'struct',
    name: 'outer',
    size: 40,
    kindFlag: true,
    members: [m('inner', inner, 0), m('hist', hist, 64), m('flag', u8, 80, 3), m('delta', s32, 96), m('name', name, 128), m('p', ptr, 192), m('tail', u64t, 256)],
  });
  const btf = b.build();
  const fields = btfNumericFields(btf, outer);
  assert.deepEqual(fields.map((f) => f.name), ['inner.drops', 'hist[0]', 'hist[1]', 'flag', 'delta', 'tail']);
  const v = new Uint8Array(40);
  const dv = new DataView(v.buffer);
  dv.setBigUint64(0, 7n, true);
  v[8] = 3;
  v[9] = 250;
  v[10] = 0b11111101; // flag: the low 3 bits = 5
  dv.setInt32(12, -9, true);
  dv.setBigUint64(32, 2n ** 64n - 1n, true);
  assert.deepEqual(fields.map((f) => readNumericField(v, f)), [7n, 3n, 250n, 5n, -9n, 2n ** 64n - 1n]);
  assert.deepEqual(sizedNumericFields(8)!.map((f) => f.name), ['']);
  assert.deepEqual(sizedNumericFields(16)!.map((f) => [f.name, f.size]), [['0', 8], ['1', 8]]);
  assert.deepEqual(sizedNumericFields(12)!.map((f) => [f.name, f.size]), [['0', 4], ['1', 4], ['2', 4]]);
  assert.equal(sizedNumericFields(3), undefined);
});

test('map selectors: NAME, id N, id:N, id=N, name NAME', () => {
  assert.deepEqual(parseMapSelector('xdp_stats_map'), { name: 'xdp_stats_map' });
  assert.deepEqual(parseMapSelector('id 17'), { id: 17 });
  assert.deepEqual(parseMapSelector('id:17'), { id: 17 });
  assert.deepEqual(parseMapSelector('id=17'), { id: 17 });
  assert.deepEqual(parseMapSelector('name idle'), { name: 'idle' });
  assert.deepEqual(parseMapSelector('idle'), { name: 'idle' });
});
