// `bpfkit map dump/lookup` formatted from BTF, text, -j and -p, byte for byte against bpftool on the same maps.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { BpftoolJsonWriter, BtfBuilder, BtfValueFormatError, ExactInt, formatBtfValue, writeBtfValue } from '../../src/btf/index.js';
import { CommandArgs } from '../../src/cli/args.js';
import { mapUsage, runMap } from '../../src/cli/map.js';
import type { Io } from '../../src/cli/output.js';
import { loadObject } from '../../src/elf/index.js';
import { MapType } from '../../src/kernel/bpf/constants.js';
import { createMap } from '../../src/kernel/bpf/map-create.js';
import { mapInfo } from '../../src/kernel/bpf/obj-info.js';
import { KernelMap } from '../../src/kernel/kernel-map.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import type { Sys } from '../../src/kernel/sys.js';
import { compileBpf } from '../support/clang.js';
import { expectedRejections, fixturesDir } from '../support/fixtures.js';
import { kernelTest } from '../kernel/harness.js';

const PIN_ROOT = `/sys/fs/bpf/bpfkit-mf-${process.pid}`;
const pinRoot = (): string => {
  mkdirSync(PIN_ROOT, { recursive: true });
  return PIN_ROOT;
};
after(() => rmSync(PIN_ROOT, { recursive: true, force: true }));

const BTF_VALUES_C = path.join(import.meta.dirname, '..', 'btf', 'fixtures', 'btf_values.c');

function ours(sys: Sys, argv: string[]): string {
  let out = '';
  const io: Io = { out: (t) => (out += t), err: (t) => (out += t) };
  try {
    runMap(new CommandArgs(argv, {}, mapUsage), io, sys);
  } catch (e) {
    out += `error: ${(e as Error).message}`;
  }
  return out;
}

function theirs(argv: string[]): string | undefined {
  const r = spawnSync('bpftool', argv, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : undefined;
}

/** Every key of map `id`, as bpftool's `hex` byte words. */
function keysOf(sys: Sys, fd: Parameters<typeof mapInfo>[0]): string[][] {
  const km = new KernelMap(fd as never, 'm');
  return [...km.keys()].map((k) => ['hex', ...[...k].map((b) => b.toString(16).padStart(2, '0'))]);
}

kernelTest('map dump / lookup of every map of a BTF-rich object (structs, unions, bitfields, enums, char strings, per-CPU, .bss/.data/.rodata) equal bpftool byte for byte, text -j -p', (sys) => {
  using obj = loadKernelObject(sys, loadObject(compileBpf(BTF_VALUES_C), { objectName: 'btf_values' }));
  for (const p of obj.programs.values()) p.testRun({ dataIn: new Uint8Array(64).fill(3) });
  let compared = 0;
  for (const [name, m] of obj.maps) {
    const id = String(mapInfo(m.fd).id);
    for (const flags of [[], ['-j'], ['-p']]) {
      const want = theirs(['map', 'dump', 'id', id, ...flags]);
      assert.ok(want !== undefined, `bpftool dumps ${name}`);
      assert.equal(ours(sys, ['dump', 'id', id, ...flags]), want, `${name} dump ${flags.join(' ')}`);
      compared++;
    }
    for (const key of keysOf(sys, m.fd)) {
      for (const flags of [[], ['-j']]) {
        const want = theirs(['map', 'lookup', 'id', id, 'key', ...key, ...flags]);
        assert.equal(ours(sys, ['lookup', 'id', id, 'key', ...key, ...flags]), want, `${name} lookup ${key.join(' ')} ${flags.join(' ')}`);
        compared++;
      }
    }
  }
  // What the fixture exercises shows in the output, so the comparison is not vacuous.
  const hashText = ours(sys, ['dump', 'id', String(mapInfo(obj.map('bv_hash').fd).id)]);
  for (const s of ['"f": {\n                "a": 0x5', '"name": "eth0"', '"color": "GREEN"', '"big": "BIG_A"', '"ptr": (nil)', '"wide": 0x12340000000000005678', '"": {']) assert.ok(hashText.includes(s), s);
  assert.match(ours(sys, ['dump', 'id', String(mapInfo(obj.map('.data').fd).id)]), /"\.data": \[\{\n\s+"data_int": -6/);
  process.stdout.write(`# BTF-formatted map output vs bpftool: ${compared} outputs byte-identical\n`);
});

kernelTest('map dump text and -p of every fixture map equal bpftool byte for byte', (sys) => {
  let same = 0;
  for (const f of readdirSync(fixturesDir).filter((x) => x.endsWith('.o') && !(x.replace(/\.o$/, '') in expectedRejections))) {
    const spec = loadObject(readFileSync(path.join(fixturesDir, f)), { objectName: f.replace(/\.o$/, '') });
    if (spec.programs.some((p) => p.type === 0)) continue; // a legacy section name needs --type: not a map-format concern
    // maps_zoo pins a map by name: under our own root, removed at the end, never /sys/fs/bpf itself.
    using obj = loadKernelObject(sys, spec, { pinPath: pinRoot() });
    for (const p of obj.programs.values()) p.testRun({ dataIn: new Uint8Array(64).fill(3) });
    for (const [name, m] of obj.maps) {
      const id = String(mapInfo(m.fd).id);
      for (const flags of [[], ['-p']]) {
        const want = theirs(['map', 'dump', 'id', id, ...flags]);
        if (want === undefined) continue; // maps bpftool cannot dump (ringbuf...): map.test.ts checks we refuse them too
        assert.equal(ours(sys, ['dump', 'id', id, ...flags]), want, `${f}: ${name} ${flags.join(' ')}`);
        same++;
      }
    }
  }
  process.stdout.write(`# fixture map dumps (text, -p) vs bpftool: ${same} byte-identical\n`);
  assert.ok(same >= 40);
});

test('formatBtfValue: btf_dumper rules on hand-built BTF (unsigned enum, CHAR encoding, bitfields, 128-bit, floats refused)', () => {
  const b = new BtfBuilder();
  const u32 = b.add({ kind: 'int', name: 'unsigned int', size: 4, signed: false, char: false, bool: false, bitOffset: 0, bits: 32 });
  const ch = b.add({ kind: 'int', name: 'mychar', size: 1, signed: false, char: true, bool: false, bitOffset: 0, bits: 8 });
  const en = b.add({ kind: 'enum', name: 'e', size: 4, signed: false, values: [{ name: 'TOP', value: 0xffffffff }, { name: 'ONE', value: 1 }] });
  const fl = b.add({ kind: 'float', name: 'float', size: 4 });
  const u64 = b.add({ kind: 'int', name: 'u64', size: 8, signed: false, char: false, bool: false, bitOffset: 0, bits: 64 });
  const st = b.add({
    kind: 'struct', name: 's', size: 16, kindFlag: true,
    members: [
      { name: 'e', type: en, bitOffset: 0, bitfieldSize: 0 },
      { name: 'c', type: ch, bitOffset: 32, bitfieldSize: 0 },
      { name: 'bits', type: u32, bitOffset: 43, bitfieldSize: 9 },
      { name: 'big', type: u64, bitOffset: 64, bitfieldSize: 0 },
    ],
  });
  const btf = b.build();
  const bytes = new Uint8Array(16);
  const dv = new DataView(bytes.buffer);
  dv.setUint32(0, 0xffffffff, true);
  bytes[4] = 7; // not printable: "\u0007" in JSON, 0x7 in text
  dv.setUint16(5, 0x1ff << 3, true);
  dv.setBigUint64(8, 0xfffffffffffffff0n, true);
  assert.deepEqual(formatBtfValue(btf, st, bytes), { e: 'TOP', c: '\u0007', bits: '0x1ff', big: new ExactInt(0xfffffffffffffff0n) });
  const w = new BpftoolJsonWriter(true);
  assert.equal(writeBtfValue(w, btf, st, bytes, 'plain'), true);
  assert.equal(w.text(), '{\n    "e": "TOP",\n    "c": 0x7,\n    "bits": 0x1ff,\n    "big": 18446744073709551600\n}');
  assert.throws(() => formatBtfValue(btf, fl, new Uint8Array(4)), BtfValueFormatError);
  const w2 = new BpftoolJsonWriter();
  assert.equal(writeBtfValue(w2, btf, fl, new Uint8Array(4), 'json'), false);
  assert.equal(w2.text(), '(unsupported-kind');
});

kernelTest('map dump name X matching several maps dumps each under its header, as bpftool (BTF text, hex text, -j, -p)', (sys) => {
  // Names unique to this process, so maps of concurrent tests cannot join the match.
  const objectName = `m${process.pid % 10_000_000}`;
  const spec = loadObject(compileBpf(BTF_VALUES_C), { objectName });
  using a = loadKernelObject(sys, spec);
  using b = loadKernelObject(sys, spec);
  for (const o of [a, b]) for (const p of o.programs.values()) p.testRun({ dataIn: new Uint8Array(64) });
  const dataName = mapInfo(a.map('.data').fd).name;
  assert.equal(mapInfo(b.map('.data').fd).name, dataName);
  const plainName = `kl_mf${process.pid % 10_000_000}`;
  using m1 = createMap(sys, { type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 2, name: plainName });
  using _m2 = createMap(sys, { type: MapType.ARRAY, keySize: 4, valueSize: 20, maxEntries: 2, name: plainName });
  new KernelMap(m1 as never, 'm1').set(new Uint8Array([1, 0, 0, 0]), new Uint8Array([9, 9, 9, 9]));
  let n = 0;
  for (const name of [dataName, plainName]) {
    for (const flags of [[], ['-j'], ['-p']]) {
      const want = theirs(['map', 'dump', 'name', name, ...flags]);
      assert.ok(want !== undefined);
      assert.equal(ours(sys, ['dump', 'name', name, ...flags]), want, `${name} ${flags.join(' ')}`);
      n++;
    }
  }
  assert.match(ours(sys, ['dump', 'name', plainName]), new RegExp(`^\\d+: hash  name ${plainName}  flags 0x0\\nkey: 01 00 00 00  value: 09 09 09 09\\nFound 1 element\\n\\n\\d+: array  name ${plainName}  flags 0x0\\n`));
  process.stdout.write(`# multi-map dumps vs bpftool: ${n} outputs identical\n`);
});
