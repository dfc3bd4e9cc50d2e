// The object loader against libbpf itself: every fixture and every xdp-tools object must give
// the programs and maps libbpf's bpf_object__open() sees in the same file.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadObject, objectNameFromPath } from '../../src/elf/object-loader.js';
import type { ObjectSpec } from '../../src/elf/object-spec.js';
import { ObjectError } from '../../src/elf/object-error.js';
import { encode, PseudoCall, PseudoLd } from '../../src/isa/index.js';
import { libbpfAvailable, libbpfDump, LibbpfOpenError } from '../support/libbpf-oracle.js';
import { fixturePath, listFixtures, xdpToolsObjects } from '../support/fixtures.js';

const load = (p: string): ObjectSpec => loadObject(new Uint8Array(readFileSync(p)), { objectName: objectNameFromPath(p) });

async function compareWithLibbpf(path: string): Promise<'compared' | 'refused'> {
  let oracle;
  try {
    oracle = await libbpfDump(path);
  } catch (e) {
    if (e instanceof LibbpfOpenError) return 'refused';
    throw e;
  }
  const spec = load(path);
  const progs = spec.programs.map((p) => ({ name: p.name, section: p.section, type: p.type, attach: p.expectedAttachType ?? 0, insns: p.ownInsnCount }));
  const want = oracle.programs.map((p) => ({ name: p.name, section: p.section, type: p.type, attach: p.expectedAttachType, insns: p.insnCount }));
  const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : 1);
  assert.deepEqual(progs.sort(byName), want.sort(byName), `${path}: programs`);
  const maps = spec.maps.map((m) => ({
    name: m.kernelName ?? m.name, type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.flags,
    extra: m.mapExtra ?? 0, pinned: m.pinning === 'by_name',
    inner: m.innerMap ? [m.innerMap.type, m.innerMap.keySize, m.innerMap.valueSize, m.innerMap.maxEntries, m.innerMap.flags] : null,
  }));
  const wantMaps = oracle.maps.map((m) => ({
    name: m.name, type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.mapFlags,
    extra: m.mapExtra, pinned: m.pinPath !== null,
    inner: m.inner ? [m.inner.type, m.inner.keySize, m.inner.valueSize, m.inner.maxEntries, m.inner.mapFlags] : null,
  }));
  assert.deepEqual(maps, wantMaps, `${path}: maps`);
  return 'compared';
}

const libbpf = libbpfAvailable();

test('every fixture loads with the programs and maps libbpf sees', { skip: libbpf.ok ? false : libbpf.reason }, async () => {
  let compared = 0;
  for (const p of listFixtures()) if ((await compareWithLibbpf(p)) === 'compared') compared++;
  assert.ok(compared >= 11, `compared ${compared} fixtures`);
});

test('every xdp-tools object loads with the programs and maps libbpf sees', { skip: libbpf.ok ? false : libbpf.reason }, async () => {
  const objs = xdpToolsObjects();
  assert.ok(objs.length > 0, 'xdp-tools objects are installed (apt-get install xdp-tools)');
  let compared = 0;
  for (const p of objs) if ((await compareWithLibbpf(p)) === 'compared') compared++;
  console.log(`# xdp-tools: ${compared} of ${objs.length} objects compared with libbpf`);
  assert.equal(compared, objs.length);
});

test('parsing is deterministic: the same bytes give deep-equal specs', () => {
  for (const p of listFixtures()) {
    const a = load(p);
    const b = load(p);
    assert.deepEqual(a.programs, b.programs);
    assert.deepEqual(a.maps, b.maps);
  }
});

test('subprograms are linked after the entry function and every program encodes', () => {
  const spec = load(fixturePath('subprogs_globals'));
  const count = spec.programs.find((p) => p.name === 'xdp_count')!;
  const syms = count.instructions.filter((i) => i.symbol).map((i) => i.symbol);
  assert.equal(syms[0], 'xdp_count');
  assert.ok(syms.includes('account') && syms.includes('global_mix'), `linked functions: ${syms.join(', ')}`);
  // Calls carry references that encode() resolves into relative offsets.
  const calls = count.instructions.filter((i) => i.code === 0x85 && i.src === PseudoCall.CALL);
  assert.ok(calls.length > 0 && calls.every((c) => c.reference && syms.includes(c.reference)));
  for (const p of spec.programs) assert.ok(encode(p.instructions).length >= p.ownInsnCount * 8);
  // Global data loads became map-value loads with the variable's offset.
  const dataLoads = count.instructions.filter((i) => i.code === 0x18 && i.src === PseudoLd.MAP_VALUE);
  assert.ok(dataLoads.some((i) => i.reference === '.rodata'));
  const rodata = spec.maps.find((m) => m.name === '.rodata')!;
  assert.equal(rodata.kernelName, 'subprogs.rodata');
  assert.equal(rodata.readOnly, true);
  assert.equal(rodata.data!.length, rodata.valueSize);
  // Func info: one record per linked function, at its first instruction.
  assert.equal(count.funcInfo.length, syms.length);
  assert.deepEqual(count.funcInfo.map((f) => count.instructions[f.insn]!.symbol), syms);
});

test('prog arrays and map-in-map get their initial values from .rel.maps', () => {
  const tc = load(fixturePath('tail_calls'));
  assert.deepEqual(tc.maps.find((m) => m.name === 'jump_table')!.initEntries, [{ key: 0, value: 'prog_a' }, { key: 2, value: 'prog_b' }]);
  const zoo = load(fixturePath('maps_zoo'));
  assert.deepEqual(zoo.maps.find((m) => m.name === 'zoo_array_of_maps')!.initEntries, [{ key: 0, value: 'zoo_inner_a' }, { key: 2, value: 'zoo_inner_b' }]);
  assert.deepEqual(zoo.maps.find((m) => m.name === 'zoo_hash_of_maps')!.initEntries, [{ key: 1, value: 'zoo_inner_b' }]);
});

test('kfunc calls, ksyms and kconfig externs are rewritten as libbpf rewrites them', () => {
  const spec = load(fixturePath('core_kfunc'));
  const prog = spec.programs[0]!;
  const kfuncs = prog.instructions.filter((i) => i.code === 0x85 && i.src === PseudoCall.KFUNC_CALL).map((i) => i.reference);
  assert.deepEqual([...new Set(kfuncs)].sort(), ['bpf_cast_to_kern_ctx', 'bpf_rcu_read_lock', 'bpf_rcu_read_unlock']);
  const kcfg = spec.externs.filter((e) => e.kind === 'kconfig').map((e) => [e.name, e.offset, e.size, e.weak]);
  assert.deepEqual(kcfg, [['CONFIG_HZ', 0, 4, true], ['LINUX_KERNEL_VERSION', 4, 4, false]]);
  assert.ok(prog.instructions.some((i) => i.code === 0x18 && i.src === PseudoLd.MAP_VALUE && i.reference === '.kconfig' && i.imm2 === 4));
  assert.ok(prog.coreRelos.length > 0, 'CO-RE relocations are carried');
  assert.ok(prog.coreRelos.every((r) => prog.instructions[r.insn] !== undefined));
});

test('source lines from BTF line info are attached to instructions', () => {
  const spec = load(fixturePath('xdp_stats'));
  const withSource = spec.programs[0]!.instructions.filter((i) => i.source);
  assert.ok(withSource.length > 3);
  // llvm emits line 0 for compiler-generated code; the kernel keeps those records too.
  assert.ok(withSource.every((i) => i.source!.file.endsWith('xdp_stats.c') && i.source!.line >= 0));
  assert.ok(withSource.filter((i) => i.source!.line > 0).length > 3);
  assert.ok(withSource.some((i) => /bpf_map_lookup_elem/.test(i.source!.text)), withSource.map((i) => i.source!.text).join('\n'));
});

test('legacy SEC("maps") definitions and big-endian objects load', () => {
  const legacy = load(fixturePath('legacy_maps'));
  assert.ok(legacy.maps.length >= 2 && legacy.maps.every((m) => m.origin === 'legacy' && m.keySize > 0));
  const le = load(fixturePath('xdp_stats'));
  const be = load(fixturePath('xdp_stats.bpfeb'));
  assert.equal(be.byteOrder, 'be');
  assert.deepEqual(be.maps.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries]), le.maps.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries]));
  assert.deepEqual(be.programs[0]!.instructions.map((i) => [i.code, i.dst, i.src, i.off, i.imm]), le.programs[0]!.instructions.map((i) => [i.code, i.dst, i.src, i.off, i.imm]));
});

test('a non-BPF ELF is refused with a typed error', () => {
  assert.throws(() => loadObject(new Uint8Array(readFileSync('/usr/bin/ls'))), (e: unknown) => e instanceof ObjectError && /not a BPF object: e_machine is 62/.test(e.message));
});
