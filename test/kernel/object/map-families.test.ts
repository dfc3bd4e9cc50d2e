// Map families created like libbpf creates them: c/map_families.o loaded by bpftool (libbpf) and by loadKernelObject,
// each map's `bpftool map show` fields and BTF key/value ids compared; the arena fixture refused alike by both.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { loadObject } from '../../../src/elf/index.js';
import { getPinnedObject } from '../../../src/kernel/bpf/obj-pin.js';
import { mapInfo } from '../../../src/kernel/bpf/obj-info.js';
import { KernelError } from '../../../src/kernel/kernel-error.js';
import { loadKernelObject } from '../../../src/kernel/object/load-object.js';
import { bpftool, kernelTest } from '../harness.js';

const dir = path.join(import.meta.dirname, 'c');
const PIN_ROOT = `/sys/fs/bpf/bpfkit-mf-${process.pid}`;

const spec = (name: string): ReturnType<typeof loadObject> => loadObject(new Uint8Array(readFileSync(path.join(dir, `${name}.o`))), { objectName: name });

/** The fields compared: bpftool's, and from the kernel's map info whether BTF key/value types are set and map_extra. */
function shape(fd: Parameters<typeof mapInfo>[0]): Record<string, unknown> {
  const info = mapInfo(fd);
  const show = bpftool('map', 'show', 'id', String(info.id)) as Record<string, unknown>;
  return {
    type: show['type'],
    bytes_key: show['bytes_key'],
    bytes_value: show['bytes_value'],
    max_entries: show['max_entries'],
    flags: show['flags'],
    btf: show['btf_id'] !== undefined,
    btf_key: info.btfKeyTypeId !== 0,
    btf_value: info.btfValueTypeId !== 0,
    map_extra: String(info.mapExtra),
  };
}

kernelTest('map families: loadKernelObject creates each map as libbpf (bpftool prog loadall) does', (sys) => {
  const file = path.join(dir, 'map_families.o');
  const theirs = new Map<string, Record<string, unknown>>();
  mkdirSync(PIN_ROOT, { recursive: true });
  try {
    execFileSync('bpftool', ['prog', 'loadall', file, path.join(PIN_ROOT, 'p'), 'pinmaps', path.join(PIN_ROOT, 'm')], { stdio: 'pipe' });
    for (const name of readdirSync(path.join(PIN_ROOT, 'm'))) {
      using fd = getPinnedObject(sys, path.join(PIN_ROOT, 'm', name), 'map');
      theirs.set(name, shape(fd));
    }
  } finally {
    rmSync(PIN_ROOT, { recursive: true, force: true });
  }
  using obj = loadKernelObject(sys, spec('map_families'));
  const families: string[] = [];
  for (const [name, want] of theirs) {
    const ours = shape(obj.map(name).fd);
    assert.deepEqual(ours, want, `map ${name}: bpfkit ${JSON.stringify(ours)} libbpf ${JSON.stringify(want)}`);
    families.push(String(want['type']));
  }
  console.log(`# map families equal libbpf's: ${families.sort().join(', ')} (${families.length} maps)`);
  assert.equal(families.length, 9);
});

kernelTest('map families: an arena the kernel refuses is refused by both loaders, nothing left loaded', (sys) => {
  const file = path.join(dir, 'arena_map.o');
  mkdirSync(PIN_ROOT, { recursive: true });
  let libbpfError = '';
  try {
    execFileSync('bpftool', ['prog', 'loadall', file, path.join(PIN_ROOT, 'p'), 'pinmaps', path.join(PIN_ROOT, 'm')], { stdio: 'pipe' });
  } catch (err) {
    libbpfError = String((err as { stderr?: Buffer }).stderr ?? err);
  } finally {
    rmSync(PIN_ROOT, { recursive: true, force: true });
  }
  let ours: unknown;
  try {
    loadKernelObject(sys, spec('arena_map')).close();
  } catch (err) {
    ours = err;
  }
  if (!libbpfError) {
    // This kernel creates arenas: bpfkit must too.
    assert.equal(ours, undefined, `libbpf creates the arena, bpfkit fails: ${String(ours)}`);
    return;
  }
  const m = /map 'arena': failed to create: .*\((-?\d+)\)/.exec(libbpfError);
  assert.ok(m, `libbpf failed for another reason: ${libbpfError}`);
  assert.ok(ours instanceof KernelError, `libbpf refuses the arena (${m[1]}), bpfkit: ${String(ours)}`);
  assert.equal(-ours.errno, Number(m[1]), `errno: bpfkit ${ours.errno}, libbpf ${m[1]}`);
  assert.match(ours.message, /arena/);
});
