// Introspection against bpftool: prog/map/link show records and xlated dumps of every fixture, field by field.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after } from 'node:test';
import type { Sys } from '../../../src/kernel/sys.js';
import { loadObject } from '../../../src/elf/index.js';
import { AttachType } from '../../../src/kernel/bpf/constants.js';
import { createLink } from '../../../src/kernel/bpf/link.js';
import { describeLink, describeMap, listLinks, listMaps } from '../../../src/kernel/introspect/map-show.js';
import { dumpJited, dumpXlated, formatXlated } from '../../../src/kernel/introspect/prog-dump.js';
import { describeProgram, listPrograms } from '../../../src/kernel/introspect/prog-show.js';
import { loadKernelObject } from '../../../src/kernel/object/load-object.js';
import { expectedRejections, fixtureProgramTypes, fixturesDir } from '../../support/fixtures.js';
import { createVethPair } from '../../support/netns.js';
import { bpftool, kernelTest } from '../harness.js';

const fixtures = readdirSync(fixturesDir)
  .filter((f) => f.endsWith('.o') && !(f.replace(/\.o$/, '') in expectedRejections))
  .map((f) => path.join(fixturesDir, f));
// Sections libbpf cannot type load with the fixture's type, as bpftool's `type T`.
const spec = (f: string) => loadObject(readFileSync(f), { objectName: path.basename(f, '.o'), programType: fixtureProgramTypes[path.basename(f, '.o')] });
// maps_zoo pins a map by name: keep such pins in our own directory, removed at the end.
const PIN_ROOT = `/sys/fs/bpf/bpfkit-kl-intro-${process.pid}`;
mkdirSync(PIN_ROOT, { recursive: true });
after(() => rmSync(PIN_ROOT, { recursive: true, force: true }));
const loadAll = (sys: Sys, f: string) => loadKernelObject(sys, spec(f), { pinPath: PIN_ROOT });

kernelTest('prog show and map show: every field bpftool prints, equal for every program and map of every fixture', (sys) => {
  let progs = 0;
  let maps = 0;
  for (const f of fixtures) {
    using obj = loadAll(sys, f);
    for (const p of obj.programs.values()) {
      const ours = describeProgram(p.fd) as unknown as Record<string, unknown>;
      const theirs = bpftool('prog', 'show', 'id', String(ours['id'])) as Record<string, unknown>;
      for (const [k, v] of Object.entries(theirs)) {
        if (k === 'pids') continue;
        if (k === 'loaded_at') assert.ok(Math.abs((ours[k] as number) - (v as number)) <= 2, `${f}: ${p.name}: loaded_at ${ours[k]} vs ${v}`);
        else assert.deepEqual(ours[k], v, `${f}: ${p.name}: ${k}`);
      }
      progs++;
    }
    for (const m of obj.maps.values()) {
      const ours = describeMap(m.fd) as unknown as Record<string, unknown>;
      const theirs = bpftool('map', 'show', 'id', String(ours['id'])) as Record<string, unknown>;
      for (const [k, v] of Object.entries(theirs)) if (k !== 'pids') assert.deepEqual(ours[k], v, `${f}: map ${m.name}: ${k}`);
      maps++;
    }
  }
  process.stdout.write(`# introspection vs bpftool: ${progs} programs, ${maps} maps, all fields equal\n`);
  assert.ok(progs >= 12 && maps >= 20);
});

kernelTest('listPrograms / listMaps include what we loaded, in id order like bpftool', (sys) => {
  using obj = loadKernelObject(sys, spec(path.join(fixturesDir, 'tail_calls.o')));
  const ids = [...obj.programs.values()].map((p) => p.info().id);
  const all = listPrograms(sys);
  assert.deepEqual([...all.map((p) => p.id)].sort((a, b) => a - b), all.map((p) => p.id));
  for (const id of ids) assert.ok(all.some((p) => p.id === id));
  const mapIds = listMaps(sys).map((m) => m.id);
  for (const m of obj.maps.values()) assert.ok(mapIds.includes(describeMap(m.fd).id));
});

kernelTest('xlated dump: the same instruction lines as bpftool prog dump xlated for every fixture program', (sys) => {
  let n = 0;
  let lines = 0;
  for (const f of fixtures) {
    // bpftool 7.1's disassembler predates cpu v4 (it prints sdiv as `/=`, movsx as a plain mov);
    // raw_insns is made of those, and ours prints them as the running kernel's verifier log does.
    if (f.endsWith('raw_insns.o')) continue;
    using obj = loadAll(sys, f);
    for (const p of obj.programs.values()) {
      const ours = formatXlated(dumpXlated(p.fd));
      const theirs = execFileSync('bpftool', ['prog', 'dump', 'xlated', 'id', String(p.info().id)], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => /^\s*\d+: \(/.test(l))
        .map((l) => `${l}\n`)
        .join('');
      assert.equal(ours, theirs, `${f}: ${p.name}`);
      lines += ours.split('\n').length - 1;
      const jited = dumpJited(p.fd);
      assert.equal(jited.bytes.length, p.info().jitedProgLen);
      assert.equal(jited.functions.reduce((s, fn) => s + fn.bytes.length, 0), jited.bytes.length);
      n++;
    }
  }
  process.stdout.write(`# xlated dumps vs bpftool: ${n} programs, ${lines} lines identical\n`);
});

kernelTest('link show: an XDP link on a veth we created, as bpftool link show prints it', (sys) => {
  using pair = createVethPair({ prefix: 'bpfkit-kl-' });
  using obj = loadKernelObject(sys, spec(path.join(fixturesDir, 'xdp_stats.o')));
  using link = createLink(sys, { prog: obj.program('xdp_stats_prog').fd, attachType: AttachType.XDP, targetIfindex: pair.a.ifindex });
  const ours = describeLink(link);
  assert.equal(ours.type, 'xdp');
  assert.equal(ours.ifindex, pair.a.ifindex);
  const theirs = bpftool('link', 'show', 'id', String(ours.id)) as Record<string, unknown>;
  // bpftool 7.1 prints id, type, prog_id (and pids); newer ones add devname/ifindex for XDP links.
  for (const [k, v] of Object.entries(theirs)) if (k in ours) assert.deepEqual((ours as unknown as Record<string, unknown>)[k], v, k);
  assert.deepEqual([theirs['id'], theirs['type'], theirs['prog_id']], [ours.id, 'xdp', obj.program('xdp_stats_prog').info().id]);
  assert.ok(listLinks(sys).some((l) => l.id === ours.id));
});
