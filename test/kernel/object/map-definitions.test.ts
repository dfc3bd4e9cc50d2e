// Map definitions written the ways real projects write them, each compared with the kernel: c/map_typedef.o (BTF
// definitions behind typedefs, as xdp-tools' xdp_sample.bpf.h) loaded by bpftool (libbpf) and by loadKernelObject —
// map shapes and the prog tag equal — then BPF_PROG_TEST_RUN against the userspace runtime, maps compared after;
// c/iproute2_maps.o (iproute2's struct bpf_elf_map in SEC("maps"), PIN_GLOBAL_NS, inner_id), which libbpf 1.x
// refuses: compared with the same maps as BTF definitions loaded by bpftool, pins shared between two loads.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadObject } from '../../../src/elf/index.js';
import { getPinnedObject } from '../../../src/kernel/bpf/obj-pin.js';
import { mapInfo, programInfo } from '../../../src/kernel/bpf/obj-info.js';
import { loadKernelObject } from '../../../src/kernel/object/load-object.js';
import { loadUserspace } from '../../../src/runtime/index.js';
import { bpftool, kernelTest } from '../harness.js';

const dir = path.join(import.meta.dirname, 'c');
const PIN_ROOT = `/sys/fs/bpf/bpfkit-mapdef-${process.pid}`;
const spec = (name: string): ReturnType<typeof loadObject> => loadObject(new Uint8Array(readFileSync(path.join(dir, `${name}.o`))), { objectName: name });
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function shape(fd: Parameters<typeof mapInfo>[0]): Record<string, unknown> {
  const info = mapInfo(fd);
  const show = bpftool('map', 'show', 'id', String(info.id)) as Record<string, unknown>;
  return { type: show['type'], bytes_key: show['bytes_key'], bytes_value: show['bytes_value'], max_entries: show['max_entries'], flags: show['flags'], btf_key: info.btfKeyTypeId !== 0, btf_value: info.btfValueTypeId !== 0 };
}

test('typedef map definitions: parsed through the typedefs, the map-in-map inner template too', () => {
  const s = spec('map_typedef');
  const byName = new Map(s.maps.map((m) => [m.name, m]));
  assert.deepEqual(
    ['rx_cnt', 'tx_cnt', 'len_seen', 'outer'].map((n) => { const m = byName.get(n); return m && [n, m.type, m.keySize, m.valueSize, m.maxEntries, m.flags]; }),
    [['rx_cnt', 2, 4, 16, 4, 0x400], ['tx_cnt', 2, 4, 16, 4, 0x400], ['len_seen', 1, 4, 8, 64, 0], ['outer', 12, 4, 4, 2, 0]],
  );
  const inner = byName.get('outer')?.innerMap;
  assert.deepEqual(inner && [inner.type, inner.keySize, inner.valueSize, inner.maxEntries], [2, 4, 4, 1]);
});

kernelTest('typedef map definitions: loadKernelObject creates the maps and the program as libbpf does; test runs and maps equal the kernel', (sys) => {
  const file = path.join(dir, 'map_typedef.o');
  const theirs = new Map<string, Record<string, unknown>>();
  let theirTag: string;
  mkdirSync(PIN_ROOT, { recursive: true });
  try {
    execFileSync('bpftool', ['prog', 'loadall', file, path.join(PIN_ROOT, 'p'), 'pinmaps', path.join(PIN_ROOT, 'm')], { stdio: 'pipe' });
    for (const name of readdirSync(path.join(PIN_ROOT, 'm'))) {
      using fd = getPinnedObject(sys, path.join(PIN_ROOT, 'm', name), 'map');
      theirs.set(name, shape(fd));
    }
    using pfd = getPinnedObject(sys, path.join(PIN_ROOT, 'p', 'xdp_typedef_maps'), 'prog');
    theirTag = programInfo(pfd).tag;
  } finally {
    rmSync(PIN_ROOT, { recursive: true, force: true });
  }
  const s = spec('map_typedef');
  using kernel = loadKernelObject(sys, s);
  assert.deepEqual([...theirs.keys()].sort(), ['len_seen', 'outer', 'rx_cnt', 'tx_cnt']);
  for (const [name, want] of theirs) assert.deepEqual(shape(kernel.map(name).fd), want, `map ${name}`);
  assert.equal(kernel.program('xdp_typedef_maps').info().tag, theirTag);

  using user = loadUserspace(s);
  const lengths = [14, 60, 64, 99, 101, 128, 255, 1001, 1500, 60, 128, 101];
  for (const len of lengths) {
    const data = new Uint8Array(len).map((_, i) => (i * 7 + len) & 0xff);
    const k = kernel.program('xdp_typedef_maps').testRun({ dataIn: data });
    const u = user.program('xdp_typedef_maps').testRun({ data });
    assert.equal(u.retval, k.retval, `length ${len}`);
  }
  const dump = (m: { entries(): Iterable<[Uint8Array, Uint8Array]> }): string[] => [...m.entries()].map(([k, v]) => `${hex(k)}=${hex(v)}`).sort();
  for (const name of ['rx_cnt', 'tx_cnt', 'len_seen']) {
    const k = dump(kernel.map(name));
    assert.deepEqual(dump(user.bpfMap(name)), k, `map ${name} after ${lengths.length} runs`);
    assert.ok(k.some((e) => !e.endsWith('=' + '0'.repeat(e.length - e.indexOf('=') - 1))), `map ${name} was written`);
  }
});

const IPROUTE2 = ['counts', 'inner_tmpl', 'outer', 'shared'];

test('iproute2 bpf_elf_map: fields by name (BTF) and by position (no BTF) agree; PIN_GLOBAL_NS pins by name; inner_id names the template', () => {
  const withBtf = spec('iproute2_maps');
  const noBtf = spec('iproute2_maps_nobtf');
  assert.equal(noBtf.btf, undefined);
  const view = (s: ReturnType<typeof spec>): unknown[] =>
    s.maps.filter((m) => m.section === 'maps').map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries, m.flags, m.pinning, m.innerMap && [m.innerMap.type, m.innerMap.keySize, m.innerMap.valueSize, m.innerMap.maxEntries]]).sort();
  assert.deepEqual(view(withBtf), [
    ['counts', 2, 4, 8, 4, 0, 'none', undefined],
    ['inner_tmpl', 2, 4, 4, 1, 0, 'none', undefined],
    ['outer', 12, 4, 4, 2, 0, 'none', [2, 4, 4, 1]],
    ['shared', 1, 4, 8, 16, 1, 'by_name', undefined],
  ]);
  assert.deepEqual(view(noBtf), view(withBtf));
  assert.deepEqual(withBtf.warnings.filter((w) => w.includes('map "')), []);
});

kernelTest('iproute2 bpf_elf_map: maps and prog tag equal libbpf loading the same maps as BTF definitions; PIN_GLOBAL_NS shares the map between loads; runs equal', (sys) => {
  const ref = path.join(dir, 'iproute2_maps_btf.o');
  const theirs = new Map<string, Record<string, unknown>>();
  let theirTag: string;
  const withoutBtf = (r: Record<string, unknown>): Record<string, unknown> => ({ ...r, btf_key: undefined, btf_value: undefined });
  mkdirSync(PIN_ROOT, { recursive: true });
  try {
    execFileSync('bpftool', ['prog', 'loadall', ref, path.join(PIN_ROOT, 'p'), 'pinmaps', path.join(PIN_ROOT, 'm')], { stdio: 'pipe' });
    for (const name of readdirSync(path.join(PIN_ROOT, 'm'))) {
      using fd = getPinnedObject(sys, path.join(PIN_ROOT, 'm', name), 'map');
      theirs.set(name, withoutBtf(shape(fd)));
    }
    using pfd = getPinnedObject(sys, path.join(PIN_ROOT, 'p', 'tc_iproute2_maps'), 'prog');
    theirTag = programInfo(pfd).tag;
  } finally {
    rmSync(PIN_ROOT, { recursive: true, force: true });
  }
  assert.deepEqual([...theirs.keys()].sort(), IPROUTE2);

  const globals = `${PIN_ROOT}/tc/globals`;
  mkdirSync(globals, { recursive: true });
  try {
    using first = loadKernelObject(sys, spec('iproute2_maps'), { pinPath: globals });
    for (const [name, want] of theirs) assert.deepEqual(withoutBtf(shape(first.map(name).fd)), want, `map ${name}`);
    assert.equal(first.program('tc_iproute2_maps').info().tag, theirTag);
    assert.deepEqual(readdirSync(globals), ['shared'], 'only the PIN_GLOBAL_NS map is pinned');
    using pinned = getPinnedObject(sys, `${globals}/shared`, 'map');
    assert.equal(mapInfo(pinned).id, mapInfo(first.map('shared').fd).id);

    // A second load (the object without BTF) reuses the pinned map: what one program writes, the other's map holds.
    using second = loadKernelObject(sys, spec('iproute2_maps_nobtf'), { pinPath: globals });
    assert.equal(mapInfo(second.map('shared').fd).id, mapInfo(first.map('shared').fd).id);
    assert.notEqual(mapInfo(second.map('counts').fd).id, mapInfo(first.map('counts').fd).id);

    using user = loadUserspace(spec('iproute2_maps'));
    const lengths = [14, 60, 61, 99, 128, 1001, 1500, 62];
    for (const len of lengths) {
      const data = new Uint8Array(len).map((_, i) => (i * 5 + len) & 0xff);
      if (len >= 14) data.set([0x08, len & 1 ? 0x00 : 0x06], 12);
      const k = first.program('tc_iproute2_maps').testRun({ dataIn: data });
      const u = user.program('tc_iproute2_maps').testRun({ data });
      assert.equal(u.retval, k.retval, `length ${len}`);
    }
    const dump = (m: { entries(): Iterable<[Uint8Array, Uint8Array]> }): string[] => [...m.entries()].map(([k, v]) => `${hex(k)}=${hex(v)}`).sort();
    for (const name of ['counts', 'shared']) assert.deepEqual(dump(user.bpfMap(name)), dump(first.map(name)), `map ${name} after ${lengths.length} runs`);
    assert.ok(dump(first.map('shared')).length >= 2);
    assert.deepEqual(dump(second.map('shared')), dump(first.map('shared')), 'the second load sees the first one\'s writes');
  } finally {
    rmSync(PIN_ROOT, { recursive: true, force: true });
  }
  assert.equal(existsSync(PIN_ROOT), false);
});
