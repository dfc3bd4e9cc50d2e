// `bpfkit map ...` with bpftool's grammar, checked against bpftool on the same maps.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { CommandArgs } from '../../src/cli/args.js';
import { mapUsage, parseBytes, runMap } from '../../src/cli/map.js';
import type { Io } from '../../src/cli/output.js';
import { loadObject } from '../../src/elf/index.js';
import { MapType } from '../../src/kernel/bpf/constants.js';
import { createMap } from '../../src/kernel/bpf/map-create.js';
import { possibleCpus } from '../../src/kernel/bpf/map-fd.js';
import { mapInfo } from '../../src/kernel/bpf/obj-info.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import type { Sys } from '../../src/kernel/sys.js';
import { expectedRejections, fixturesDir } from '../support/fixtures.js';
import { bpftool, kernelTest } from '../kernel/harness.js';

function run(sys: Sys, ...argv: string[]): { code: number; out: string } {
  let out = '';
  const io: Io = { out: (t) => (out += t), err: (t) => (out += t) };
  const code = runMap(new CommandArgs(argv, {}, mapUsage), io, sys);
  assert.equal(typeof code, 'number', 'only event-pipe runs asynchronously');
  return { code: code as number, out };
}

test('parseBytes: C numbers by default (0x0a, 10, 012), two hex digits after "hex", stops at keywords', () => {
  assert.deepEqual(parseBytes(['0x0a', '10', '012', '0', 'value', '1'], 0, ['value']), { bytes: [10, 10, 10, 0], next: 4 });
  assert.deepEqual(parseBytes(['hex', '0a', 'ff', '7'], 0, []), { bytes: [10, 255, 7], next: 4 });
  assert.throws(() => parseBytes(['256'], 0, []), /'256' is not a byte/);
  assert.throws(() => parseBytes(['hex', '0x0a'], 0, []), /not a byte in hex/);
});

kernelTest('update / lookup / delete by id with bpftool grammar; bpftool sees the same bytes', (sys) => {
  using m = createMap(sys, { type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 8, name: 'kl_cli_hash' });
  const id = String(mapInfo(m).id);
  assert.equal(run(sys, 'update', 'id', id, 'key', 'hex', '0a', '00', '00', '01', 'value', '1', '2', '3', '4', '5', '6', '7', '0x08').code, 0);
  const theirs = bpftool('map', 'lookup', 'id', id, 'key', 'hex', '0a', '00', '00', '01') as { key: string[]; value: string[] };
  const ours = JSON.parse(run(sys, 'lookup', 'id', id, 'key', '10', '0', '0', '1', '-j').out) as { key: string[]; value: string[] };
  assert.deepEqual(ours, { key: theirs.key, value: theirs.value });
  assert.deepEqual(ours.value, ['0x01', '0x02', '0x03', '0x04', '0x05', '0x06', '0x07', '0x08']);
  assert.match(run(sys, 'lookup', 'id', id, 'key', 'hex', '0a', '00', '00', '01').out, /^key: 0a 00 00 01 {2}value: 01 02 03 04 05 06 07 08\n$/);
  assert.throws(() => run(sys, 'update', 'id', id, 'key', 'hex', '0a', '00', '00', '01', 'value', '0', '0', '0', '0', '0', '0', '0', '0', 'noexist'), /EEXIST/);
  assert.throws(() => run(sys, 'update', 'id', id, 'key', '1', '2', 'value', '0'), /key expected 4 bytes, got 2/);
  const dump = JSON.parse(run(sys, 'dump', 'id', id, '-j').out) as unknown[];
  assert.deepEqual(dump, bpftool('map', 'dump', 'id', id));
  assert.equal(run(sys, 'delete', 'id', id, 'key', 'hex', '0a', '00', '00', '01').code, 0);
  assert.throws(() => run(sys, 'lookup', 'id', id, 'key', 'hex', '0a', '00', '00', '01'), /not found/);
  assert.match(run(sys, 'dump', 'id', id).out, /^Found 0 elements\n$/);
});

kernelTest('per-CPU: update writes every CPU, dump -j has bpftool\'s "values" per CPU', (sys) => {
  using m = createMap(sys, { type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, name: 'kl_cli_pcpu' });
  const id = String(mapInfo(m).id);
  run(sys, 'update', 'id', id, 'key', '1', '0', '0', '0', 'value', 'hex', 'aa', 'bb', 'cc', 'dd');
  const ours = JSON.parse(run(sys, 'dump', 'id', id, '-j').out) as { key: string[]; values: { cpu: number; value: string[] }[] }[];
  assert.deepEqual(ours, bpftool('map', 'dump', 'id', id));
  assert.equal(ours[1]!.values.length, possibleCpus(sys));
  assert.ok(ours[1]!.values.every((v) => v.value.join(' ') === '0xaa 0xbb 0xcc 0xdd'));
});

kernelTest('show name / pinned, pin; prog array value given as a program reference', (sys) => {
  const s = loadObject(readFileSync(path.join(fixturesDir, 'tail_calls.o')), { objectName: 'tail_calls' });
  using obj = loadKernelObject(sys, s);
  const pin = `/sys/fs/bpf/bpfkit-kl-mappin-${process.pid}`;
  try {
    const tableId = String(mapInfo(obj.map('jump_table').fd).id);
    assert.equal(run(sys, 'pin', 'id', tableId, pin).code, 0);
    const shown = JSON.parse(run(sys, 'show', 'pinned', pin, '-j').out) as Record<string, unknown>;
    const theirs = bpftool('map', 'show', 'pinned', pin) as Record<string, unknown>;
    for (const [k, v] of Object.entries(theirs)) if (k !== 'pids') assert.deepEqual(shown[k], v, k);
    const byName = JSON.parse(run(sys, 'show', 'name', 'jump_table', '-j').out) as { id: number }[];
    assert.ok(byName.some((x) => String(x.id) === tableId));
    const progB = obj.program('prog_b').info().id;
    assert.equal(run(sys, 'update', 'pinned', pin, 'key', '3', '0', '0', '0', 'value', 'id', String(progB)).code, 0);
    const entry = bpftool('map', 'lookup', 'pinned', pin, 'key', '3', '0', '0', '0') as { value: number | string[] };
    const value = Array.isArray(entry.value) ? Number.parseInt(entry.value.slice().reverse().map((b) => b.slice(2)).join(''), 16) : entry.value;
    assert.equal(value, progB, 'slot 3 holds prog_b');
  } finally {
    rmSync(pin, { force: true });
  }
});

kernelTest('map dump -j of every fixture map after a test run equals bpftool map dump -j, "formatted" (BTF) included', (sys) => {
  const root = `/sys/fs/bpf/bpfkit-kl-dump-${process.pid}`;
  mkdirSync(root, { recursive: true });
  let same = 0;
  try {
    for (const f of readdirSync(fixturesDir).filter((x) => x.endsWith('.o') && !(x.replace(/\.o$/, '') in expectedRejections))) {
      const spec = loadObject(readFileSync(path.join(fixturesDir, f)), { objectName: f.replace(/\.o$/, '') });
      if (spec.programs.some((p) => p.type === 0)) continue; // legacy section names need a program type given: not a map concern
      using obj = loadKernelObject(sys, spec, { pinPath: root });
      for (const p of obj.programs.values()) p.testRun({ dataIn: new Uint8Array(64).fill(3) });
      for (const [name, m] of obj.maps) {
        const id = String(mapInfo(m.fd).id);
        let theirs: unknown;
        try {
          theirs = JSON.parse(execFileSync('bpftool', ['map', 'dump', 'id', id, '-j'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
        } catch {
          assert.throws(() => run(sys, 'dump', 'id', id, '-j'), `${f}: ${name}: bpftool cannot dump it, neither should we`);
          continue;
        }
        assert.deepEqual(JSON.parse(run(sys, 'dump', 'id', id, '-j').out), theirs, `${f}: ${name}`);
        same++;
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  process.stdout.write(`# map dump -j vs bpftool: ${same} maps identical\n`);
  assert.ok(same >= 20);
});
