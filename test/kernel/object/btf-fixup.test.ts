// BTF made loadable: DATASEC sizes/offsets equal libbpf's (the BTF bpftool loaded), sanitised BTF still loads, kconfig parsing.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { BtfBuilder, parseBtf, type DatasecType } from '../../../src/btf/index.js';
import { loadObject } from '../../../src/elf/index.js';
import { loadBtf } from '../../../src/kernel/bpf/btf-load.js';
import { fixupBtf, sanitize, type SanitizableKind } from '../../../src/kernel/object/btf-fixup.js';
import { kernelVersionCode, parseKconfig } from '../../../src/kernel/object/kconfig.js';
import { expectedRejections, fixturesDir } from '../../support/fixtures.js';
import { bpftool, kernelTest } from '../harness.js';

const fixtures = readdirSync(fixturesDir).filter((f) => f.endsWith('.o') && !(f.replace(/\.o$/, '') in expectedRejections) && f !== 'legacy_maps.o');
const spec = (f: string) => loadObject(readFileSync(path.join(fixturesDir, f)), { objectName: f.replace(/\.o$/, '') });

kernelTest('DATASEC sizes and variable offsets equal those of the BTF libbpf loaded, for every fixture', () => {
  let compared = 0;
  for (const f of fixtures) {
    const dir = `/sys/fs/bpf/bpfkit-kl-btf-${process.pid}`;
    mkdirSync(dir, { recursive: true });
    let theirs: Map<string, { size: number; vars: [number, number][] }>;
    // bpftool (libbpf) pins by-name maps under /sys/fs/bpf: remove the ones this load creates.
    const byName = spec(f).maps.filter((m) => m.pinning === 'by_name').map((m) => `/sys/fs/bpf/${m.name}`);
    const preexisting = new Set(byName.filter((p) => existsSync(p)));
    try {
      execFileSync('bpftool', ['prog', 'loadall', path.join(fixturesDir, f), dir], { stdio: 'pipe' });
      const first = readdirSync(dir)[0]!;
      const btfId = (bpftool('prog', 'show', 'pinned', path.join(dir, first)) as { btf_id: number }).btf_id;
      const dump = bpftool('btf', 'dump', 'id', String(btfId)) as { types: { kind: string; name: string; size: number; vars: { offset: number; size: number }[] }[] };
      theirs = new Map(dump.types.filter((t) => t.kind === 'DATASEC').map((t) => [t.name, { size: t.size, vars: t.vars.map((v) => [v.offset, v.size] as [number, number]) }]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
      for (const p of byName) if (!preexisting.has(p)) rmSync(p, { force: true });
    }
    const s = spec(f);
    const ours = parseBtf(fixupBtf(s, s.btf!).bytes);
    for (const t of ours.types) {
      if (t.kind !== 'datasec' || !theirs.has(t.name)) continue;
      const want = theirs.get(t.name)!;
      assert.deepEqual({ size: t.size, vars: t.vars.map((v) => [v.offset, v.size]) }, want, `${f}: DATASEC ${t.name}`);
      compared++;
    }
  }
  process.stdout.write(`# DATASEC fix-ups vs libbpf: ${compared} sections equal\n`);
  assert.ok(compared >= 15);
});

kernelTest('sanitised BTF (every optional kind replaced) has none of those kinds left and the kernel accepts it', (sys) => {
  const all: SanitizableKind[] = ['datasec', 'func', 'float', 'decl_tag', 'type_tag', 'enum64'];
  for (const f of ['subprogs_globals.o', 'core_kfunc.o', 'maps_zoo.o']) {
    const s = spec(f);
    const fixed = parseBtf(fixupBtf(s, s.btf!, new Set(all)).bytes);
    const kinds = new Set(fixed.types.map((t) => t.kind));
    for (const k of ['var', 'datasec', 'func', 'func_proto', 'float', 'decl_tag', 'type_tag', 'enum64']) assert.ok(!kinds.has(k as never), `${f}: ${k} left`);
    loadBtf(sys, fixed.encode()).close();
  }
});

test('sanitize: global functions become static when the kernel lacks them; other kinds untouched', () => {
  const b = new BtfBuilder();
  const i = b.add({ kind: 'int', name: 'int', size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 });
  const p = b.add({ kind: 'func_proto', name: '', returnType: i, params: [] });
  const f = b.add({ kind: 'func', name: 'f', type: p, linkage: 'global' });
  const changes: string[] = [];
  sanitize(b, new Set(['global_func']), changes);
  assert.equal((b.typeById(f) as { linkage: string }).linkage, 'static');
  assert.equal(b.typeById(p).kind, 'func_proto');
  assert.equal(changes.length, 1);
});

test('fixupBtf: kconfig VARs at the loader-computed offsets, kfunc params named, .ksyms entries are VARs', () => {
  const s = spec('core_kfunc.o');
  const btf = parseBtf(fixupBtf(s, s.btf!).bytes);
  const kcfg = btf.typeByName('.kconfig', 'datasec') as DatasecType;
  const offsets = Object.fromEntries(kcfg.vars.map((v) => [btf.typeById(v.type).name, v.offset]));
  for (const e of s.externs.filter((x) => x.kind === 'kconfig')) assert.equal(offsets[e.name], e.offset, e.name);
  const ksyms = btf.typeByName('.ksyms', 'datasec') as DatasecType;
  assert.ok(ksyms.vars.every((v) => btf.typeById(v.type).kind === 'var'));
  for (const t of btf.types) if (t.kind === 'func') assert.notEqual(t.linkage, 'extern');
});

test('kconfig: .config lines and kernel version codes', () => {
  const cfg = parseKconfig('# comment\nCONFIG_HZ=250\nCONFIG_BPF=y\nCONFIG_NAME="x y"\n# CONFIG_FOO is not set\n');
  assert.deepEqual([...cfg], [['CONFIG_HZ', '250'], ['CONFIG_BPF', 'y'], ['CONFIG_NAME', '"x y"'], ['CONFIG_FOO', 'n']]);
  assert.equal(kernelVersionCode('6.18.44-fc-v669\n'), (6 << 16) + (18 << 8) + 44);
  assert.equal(kernelVersionCode('5.4.300'), (5 << 16) + (4 << 8) + 255, 'patch capped at 255');
  assert.throws(() => kernelVersionCode('linux'), /cannot parse/);
});
