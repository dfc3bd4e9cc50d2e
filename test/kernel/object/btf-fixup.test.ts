// BTF made loadable: DATASEC sizes/offsets equal libbpf's (the BTF bpftool loaded), sanitised BTF still loads, kconfig parsing.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { BtfBuilder, parseBtf, type DatasecType } from '../../../src/btf/index.js';
import { loadObject } from '../../../src/elf/index.js';
import { loadBtf } from '../../../src/kernel/bpf/btf-load.js';
import { BTF_KIND_FEATURES, missingBtfKinds } from '../../../src/kernel/object/btf-features.js';
import { fixupBtf, sanitize, type SanitizableKind } from '../../../src/kernel/object/btf-fixup.js';
import { kernelVersionCode, parseKconfig } from '../../../src/kernel/object/kconfig.js';
import { expectedRejections, fixtureProgramTypes, fixturesDir, xdpToolsDir } from '../../support/fixtures.js';
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
      const type = fixtureProgramTypes[f.replace(/\.o$/, '')]; // sections libbpf cannot type load as bpftool's `type T`
      execFileSync('bpftool', ['prog', 'loadall', path.join(fixturesDir, f), dir, ...(type ? ['type', type] : [])], { stdio: 'pipe' });
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

kernelTest('BTF kind probes: every kind the running kernel is new enough for is found (none sanitised needlessly)', (sys) => {
  const release = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  const [maj, min] = release.split('.').map((x) => Number.parseInt(x, 10)) as [number, number];
  const missing = missingBtfKinds(sys);
  for (const [kind, feature] of Object.entries(BTF_KIND_FEATURES)) {
    const [fm, fn] = feature.minKernel.split('.').map(Number) as [number, number];
    if (maj > fm || (maj === fm && min >= fn)) assert.ok(!missing.has(kind as SanitizableKind), `${kind} (since ${feature.minKernel}) reported missing on ${release}`);
  }
});

test('fixupBtf: the in-place patch equals the re-encode through BtfBuilder, byte for byte, on every fixture and xdp-tools object', () => {
  const objects = [
    ...readdirSync(fixturesDir).filter((f) => f.endsWith('.o')).map((f) => path.join(fixturesDir, f)),
    ...(existsSync(xdpToolsDir) ? readdirSync(xdpToolsDir).filter((f) => f.endsWith('.o')).map((f) => path.join(xdpToolsDir, f)) : []),
  ];
  let patched = 0;
  for (const file of objects) {
    let s;
    try {
      s = loadObject(readFileSync(file), { objectName: path.basename(file, '.o') });
    } catch {
      continue;
    }
    if (!s.btf) continue;
    const fast = fixupBtf(s, s.btf);
    // A "missing" kind this BTF does not use sends fixupBtf down the builder path with nothing to sanitise.
    const kinds = new Set(s.btf.types.map((t) => t.kind));
    const absent = (['enum64', 'type_tag', 'decl_tag', 'float'] as const).find((k) => !kinds.has(k));
    if (absent === undefined) continue;
    const slow = fixupBtf(s, s.btf, new Set<SanitizableKind>([absent]));
    assert.deepEqual(fast.changes, slow.changes, `${file}: changes`);
    assert.deepEqual(parseBtf(fast.bytes).types, parseBtf(slow.bytes).types, `${file}: types`);
    assert.deepEqual(fast.bytes, slow.bytes, `${file}: bytes`);
    if (fast.bytes !== s.btf.bytes) patched++;
  }
  assert.ok(patched >= 15, `${patched} objects compared`);
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

test('kconfigValue: bool, tristate, char, integers and strings at their offsets; weak misses stay 0, strong ones throw', async () => {
  const { gzipSync } = await import('node:zlib');
  const { kconfigValue, KconfigError } = await import('../../../src/kernel/object/kconfig.js');
  const b = new BtfBuilder();
  const bool = b.add({ kind: 'int', name: '_Bool', size: 1, signed: false, char: false, bool: true, bitOffset: 0, bits: 8 });
  const chr = b.add({ kind: 'int', name: 'char', size: 1, signed: true, char: true, bool: false, bitOffset: 0, bits: 8 });
  const u64 = b.add({ kind: 'int', name: 'u64', size: 8, signed: false, char: false, bool: false, bitOffset: 0, bits: 64 });
  const tri = b.add({ kind: 'enum', name: 'libbpf_tristate', size: 4, signed: false, values: [{ name: 'TRI_NO', value: 0 }, { name: 'TRI_YES', value: 1 }, { name: 'TRI_MODULE', value: 2 }] });
  const str = b.add({ kind: 'array', name: '', type: chr, indexType: u64, nelems: 8 });
  const v = (name: string, type: number) => b.add({ kind: 'var', name, type, linkage: 'extern' });
  const ids = { bpf: v('CONFIG_BPF', bool), mod: v('CONFIG_MODTEST', tri), c: v('CONFIG_CHR', chr), hz: v('CONFIG_HZ', u64), s: v('CONFIG_S', str), weak: v('CONFIG_ABSENT', u64) };
  const btf = b.build();
  const config = 'CONFIG_BPF=y\nCONFIG_MODTEST=m\nCONFIG_CHR=y\nCONFIG_HZ=250\nCONFIG_S="abcdefghij"\n';
  const files: Record<string, Uint8Array> = { '/proc/config.gz': gzipSync(config), '/proc/sys/kernel/osrelease': new TextEncoder().encode('6.1.0\n') };
  const sys = { readFile: (p: string) => files[p] ?? (() => { throw new Error(`ENOENT ${p}`); })() } as unknown as Parameters<typeof kconfigValue>[0];
  const ext = (name: string, btfTypeId: number, offset: number, size: number, weak = false) => ({ name, kind: 'kconfig' as const, weak, btfTypeId, offset, size });
  const externs = [ext('CONFIG_BPF', ids.bpf, 0, 1), ext('CONFIG_CHR', ids.c, 1, 1), ext('CONFIG_MODTEST', ids.mod, 4, 4), ext('CONFIG_HZ', ids.hz, 8, 8), ext('CONFIG_S', ids.s, 16, 8), ext('CONFIG_ABSENT', ids.weak, 24, 8, true)];
  const map = { name: '.kconfig', valueSize: 32 } as Parameters<typeof kconfigValue>[1];
  const value = kconfigValue(sys, map, externs, btf);
  const dv = new DataView(value.buffer);
  assert.deepEqual([value[0], value[1], dv.getUint32(4, true), dv.getBigUint64(8, true)], [1, 'y'.charCodeAt(0), 2, 250n]);
  assert.equal(new TextDecoder().decode(value.subarray(16, 23)), 'abcdefg', 'string cut to the array, NUL kept');
  assert.equal(value[23], 0);
  assert.equal(dv.getBigUint64(24, true), 0n, 'weak and absent: 0');
  assert.throws(() => kconfigValue(sys, map, [ext('CONFIG_ABSENT', ids.weak, 24, 8)], btf), KconfigError);
});
