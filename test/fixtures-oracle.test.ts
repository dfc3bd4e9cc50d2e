// Checks the committed BPF fixtures: reproducible from source, opened by libbpf, loaded by the kernel.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  expectedRejections,
  fixtureProgramTypes,
  fixtureName,
  fixturePath,
  fixturesDir,
  goldenDir,
  goldenPath,
  listFixtures,
  repoRoot,
  xdpToolsObjects,
} from './support/fixtures.js';
import {
  LibbpfOpenError,
  bpftoolAvailable,
  bpftoolLoadAll,
  ensureBpffs,
  libbpfAvailable,
  libbpfDump,
  legacyLoad,
  libbpfLoad,
} from './support/libbpf-oracle.js';

function hasTool(cmd: string, arg = '--version'): boolean {
  try {
    execFileSync(cmd, [arg], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

const isRoot = process.getuid?.() === 0;

describe('fixture objects', () => {
  it('lists every fixture the build script makes', () => {
    const names = listFixtures().map(fixtureName);
    for (const n of [
      'atomics_alu',
      'core_kfunc',
      'legacy_maps',
      'lpm_trie',
      'maps_zoo',
      'ringbuf',
      'socket_filter',
      'subprogs_globals',
      'tail_calls',
      'raw_insns',
      'tc_flow_filter',
      'xdp_stats',
      'xdp_stats.bpfeb',
    ]) {
      assert.ok(names.includes(n), `missing fixture ${n}.o`);
      for (const kind of ['objdump-d', 'objdump-S', 'objdump-dr', 'btf'] as const) {
        assert.ok(readFileSync(goldenPath(n, kind), 'utf8').length > 0, `empty golden ${n}.${kind}`);
      }
    }
  });

  // clang's output is deterministic for one clang build: the script compiles from the source
  // directory with -fdebug-compilation-dir=. so no path leaks in. A different clang version
  // (or another distribution's 16.x build) emits different bytes; then this test fails and
  // `npm run fixtures` with that clang regenerates everything (review the golden diffs).
  const tools = ['clang-16', 'llvm-objdump-16'].filter((t) => !hasTool(t));
  if (!hasTool('bpftool', 'version')) tools.push('bpftool');
  it('committed .o and golden files are up to date with their C sources', { skip: tools.length ? `missing ${tools.join(', ')}` : false }, () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-fixtures-'));
    try {
      execFileSync('bash', [path.join(repoRoot, 'scripts/build-fixtures.sh'), '--out-dir', out], { stdio: 'pipe' });
      const objs = readdirSync(out).filter((f) => f.endsWith('.o')).sort();
      assert.deepEqual(objs, listFixtures().map((p) => path.basename(p)), 'fixture set differs from the build recipe');
      const stale: string[] = [];
      for (const f of objs) {
        if (!readFileSync(path.join(out, f)).equals(readFileSync(path.join(fixturesDir, f)))) stale.push(f);
      }
      const goldens = readdirSync(path.join(out, 'golden')).sort();
      assert.deepEqual(goldens, readdirSync(goldenDir).sort(), 'golden file set differs');
      for (const g of goldens) {
        if (readFileSync(path.join(out, 'golden', g), 'utf8') !== readFileSync(path.join(goldenDir, g), 'utf8')) {
          stale.push(`golden/${g}`);
        }
      }
      for (const f of ['xdp_stats.c', 'xdp_stats.o']) {
        if (!readFileSync(path.join(repoRoot, 'examples', f)).equals(readFileSync(path.join(fixturesDir, f)))) {
          stale.push(`examples/${f}`);
        }
      }
      assert.deepEqual(stale, [], 'stale fixtures: run `npm run fixtures` and commit');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  // Each fixture exists to exercise something; if a source edit or a clang change makes
  // it disappear from the output, the fixture no longer tests what it claims.
  const coverage: Array<[string, RegExp, string]> = [
    ['socket_filter', /r0 = \*\(u8 \*\)skb\[0x/, 'ldabsb'],
    ['socket_filter', /r0 = \*\(u16 \*\)skb\[0x/, 'ldabsh'],
    ['socket_filter', /r0 = \*\(u32 \*\)skb\[0x/, 'ldabsw'],
    ['socket_filter', /r0 = \*\(u8 \*\)skb\[r\d\]/, 'ldindb'],
    ['socket_filter', /r0 = \*\(u16 \*\)skb\[r\d\]/, 'ldindh'],
    ['socket_filter', /r0 = \*\(u32 \*\)skb\[r\d\]/, 'ldindw'],
    ['atomics_alu', /lock \*\(u64 \*\)\(r\d \+ 0x0\) \|= r\d/, 'atomic or64'],
    ['atomics_alu', /r\d = atomic_fetch_xor\(\(u64/, 'atomic fetch xor64'],
    ['atomics_alu', /cmpxchg_64/, 'cmpxchg64'],
    ['atomics_alu', /xchg_64/, 'xchg64'],
    ['atomics_alu', /be64/, 'be64'],
    ['atomics_alu', /be32/, 'be32'],
    ['atomics_alu', /be16/, 'be16'],
    ['atomics_alu', /w\d+ s>>= w\d+/, 'arsh32 reg'],
    ['atomics_alu', /w\d+ = -w\d+/, 'neg32'],
    ['atomics_alu', /w\d+ %= /, 'mod32'],
    ['atomics_alu', /r\d+ \/= r\d+/, 'div64 reg'],
    ['atomics_alu', /if w\d+ s< /, 'jslt32'],
    ['tc_flow_filter', /lock \*\(u64 \*\)/, 'atomic add64'],
    ['subprogs_globals', /R_BPF_64_32\s+\.text/, 'bpf-to-bpf call'],
    ['subprogs_globals', /R_BPF_64_32\s+global_mix/, 'call of a global function'],
    ['subprogs_globals', /R_BPF_64_64\s+\.bss/, 'static .bss variable'],
    ['core_kfunc', /R_BPF_64_32\s+bpf_cast_to_kern_ctx/, 'kfunc call'],
    ['core_kfunc', /R_BPF_64_64\s+LINUX_KERNEL_VERSION/, '__kconfig extern'],
    ['tail_calls', /call 0xc$/m, 'bpf_tail_call'],
    ['ringbuf', /call 0x83$/m, 'bpf_ringbuf_reserve'],
    ['raw_insns', /\t7a 0a f0 ff fd ff ff ff\t/, 'st dw'],
    ['raw_insns', /\t72 0a ff ff 88 00 00 00\t/, 'st b'],
    ['raw_insns', /\t3f 32 01 00 00 00 00 00\t/, 'sdiv64'],
    ['raw_insns', /\tbf 24 08 00 00 00 00 00\t/, 'movsx8'],
    ['raw_insns', /\t91 a5 ff ff 00 00 00 00\t/, 'ldsx8'],
    ['raw_insns', /\td7 04 00 00 40 00 00 00\t/, 'bswap64'],
    ['raw_insns', /\t06 00 00 00 01 00 00 00\t/, 'gotol'],
  ];
  it('golden disassemblies contain the instructions each fixture exists for', () => {
    const missing: string[] = [];
    for (const [name, re, what] of coverage) {
      const kind = name === 'atomics_alu' ? 'objdump-dr-alu32' : name === 'raw_insns' ? 'objdump-d' : 'objdump-dr';
      if (!re.test(readFileSync(goldenPath(name, kind), 'utf8'))) missing.push(`${name}: ${what}`);
    }
    assert.deepEqual(missing, []);
  });
});

describe('libbpf oracle', () => {
  const lib = libbpfAvailable();
  const skip = lib.ok ? false : lib.reason;

  it('describes xdp_stats.o: one xdp program, one percpu_array 4/16/5', { skip }, async () => {
    const d = await libbpfDump(fixturePath('xdp_stats'));
    assert.equal(d.object.name, 'xdp_stats');
    assert.deepEqual(
      d.programs.map((p) => [p.name, p.section, p.typeName, p.expectedAttachTypeName, p.insnCount]),
      [['xdp_stats_prog', 'xdp', 'xdp', 'xdp', 21]],
    );
    assert.deepEqual(
      d.maps.map((m) => [m.name, m.typeName, m.keySize, m.valueSize, m.maxEntries, m.mapFlags, m.pinPath]),
      [['xdp_stats_map', 'percpu_array', 4, 16, 5, 0, null]],
    );
  });

  it('opens every fixture (and refuses exactly the expected ones)', { skip }, async () => {
    let programs = 0;
    let maps = 0;
    for (const obj of listFixtures()) {
      const name = fixtureName(obj);
      const rejection = expectedRejections[name];
      if (rejection) {
        await assert.rejects(libbpfDump(obj), (err: unknown) => {
          assert.ok(err instanceof LibbpfOpenError);
          assert.match(err.log, new RegExp(rejection.libbpf.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
          return true;
        });
        continue;
      }
      const d = await libbpfDump(obj);
      assert.ok(d.programs.length > 0, `${name}: no programs`);
      programs += d.programs.length;
      maps += d.maps.length;
    }
    const refused = Object.keys(expectedRejections).length;
    console.log(
      `libbpf opened ${listFixtures().length - refused} fixtures (${refused} refused as expected): ${programs} programs, ${maps} maps`,
    );
  });

  it('describes the other fixtures the way their sources say', { skip }, async () => {
    const zoo = await libbpfDump(fixturePath('maps_zoo'));
    const byName = new Map(zoo.maps.map((m) => [m.name, m]));
    assert.equal(byName.get('zoo_array')?.pinPath, '/sys/fs/bpf/zoo_array');
    assert.equal(byName.get('zoo_hash')?.mapFlags, 1); // BPF_F_NO_PREALLOC
    assert.equal(byName.get('zoo_bloom')?.mapExtra, 3);
    assert.deepEqual(byName.get('zoo_array_of_maps')?.inner?.typeName, 'array');

    const sg = await libbpfDump(fixturePath('subprogs_globals'));
    assert.deepEqual(sg.programs.map((p) => [p.name, p.section, p.typeName]), [
      ['xdp_count', 'xdp', 'xdp'],
      ['xdp_limit', 'xdp', 'xdp'],
      ['tc_count', 'tc', 'sched_cls'],
    ]);
    assert.deepEqual(
      sg.maps.filter((m) => m.internal).map((m) => [m.name, m.valueSize]).sort(),
      // libbpf names a custom section's map after the section alone when object + section
      // would not fit the kernel's 15 characters.
      [['.data.counters', 32], ['subprogs.bss', 24], ['subprogs.data', 20], ['subprogs.rodata', 9]],
    );

    const sock = await libbpfDump(fixturePath('socket_filter'));
    assert.equal(sock.programs[0]?.typeName, 'socket_filter');
  });

  it('opens every xdp-tools object', { skip: skip || (xdpToolsObjects().length === 0 ? 'xdp-tools not installed (apt-get install xdp-tools)' : false) }, async () => {
    let programs = 0;
    let maps = 0;
    for (const obj of xdpToolsObjects()) {
      const d = await libbpfDump(obj);
      assert.ok(d.programs.length > 0, `${obj}: no programs`);
      programs += d.programs.length;
      maps += d.maps.length;
    }
    console.log(`libbpf opened ${xdpToolsObjects().length} xdp-tools objects: ${programs} programs, ${maps} maps`);
  });
});

describe('kernel oracle', () => {
  const lib = libbpfAvailable();
  const fs = isRoot ? ensureBpffs() : { ok: false, reason: 'not root: the kernel will not load BPF programs' };
  const skip = !lib.ok ? lib.reason : !fs.ok ? fs.reason : false;

  it('the kernel verifier accepts every loadable fixture', { skip }, async () => {
    const failures: string[] = [];
    const loaded: string[] = [];
    for (const obj of listFixtures()) {
      const name = fixtureName(obj);
      if (expectedRejections[name]) continue;
      const type = fixtureProgramTypes[name];
      if (type !== undefined) {
        // Untyped sections: libbpf loads them only when told the type, as bpftool's `type`.
        const r = await bpftoolLoadAll(obj, { type });
        loaded.push(`${name}(type ${type}: ${r.programs.map((p) => `${p.name}:${p.type}`).join(',')})`);
        continue;
      }
      const d = await libbpfLoad(obj);
      if (!d.load.ok) {
        failures.push(`${name}: ${d.load.error}\n${d.log.split('\n').slice(-20).join('\n')}`);
        continue;
      }
      for (const p of d.load.programs) assert.ok(p.id && p.id > 0, `${name}/${p.name}: no kernel id`);
      loaded.push(`${name}(${d.load.programs.map((p) => `${p.name}:${p.xlatedInsnCount}`).join(',')})`);
    }
    console.log(`kernel verified: ${loaded.join(' ')}`);
    assert.deepEqual(failures, []);
  });

  it('the kernel verifier accepts legacy_maps.o through the legacy loader', { skip }, async () => {
    const r = await legacyLoad(fixturePath('legacy_maps'));
    assert.equal(r.error, undefined);
    assert.deepEqual(
      r.maps?.map((m) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries, m.mapFlags, m.errno]),
      [
        ['legacy_counts', 2, 4, 8, 4, 0, undefined], // BPF_MAP_TYPE_ARRAY
        ['legacy_hash', 1, 4, 4, 64, 1, undefined], // BPF_MAP_TYPE_HASH, BPF_F_NO_PREALLOC
      ],
    );
    assert.deepEqual(r.programs?.map((p) => [p.section, p.insnCount, p.ok, p.type]), [['xdp', 22, true, 6]]);
    assert.equal(r.ok, true);
  });

  it('bpftool loadall agrees with libbpf on map shapes', { skip: skip || (bpftoolAvailable().ok ? false : bpftoolAvailable().reason) }, async () => {
    for (const name of ['xdp_stats', 'maps_zoo', 'tc_flow_filter']) {
      const lib = await libbpfDump(fixturePath(name));
      const tool = await bpftoolLoadAll(fixturePath(name));
      assert.ok(tool.programs.length === lib.programs.length, `${name}: program count`);
      for (const m of tool.maps) {
        // The kernel keeps 15 characters of a map name.
        const spec = lib.maps.find((s) => s.name.slice(0, 15) === m.name);
        assert.ok(spec, `${name}: kernel map ${m.name} not in libbpf's list`);
        assert.deepEqual(
          [m.bytes_key, m.bytes_value, m.max_entries],
          [spec.keySize, spec.valueSize, spec.maxEntries],
          `${name}/${m.name}`,
        );
      }
      if (name === 'xdp_stats') {
        assert.deepEqual(
          tool.maps.map((m) => [m.name, m.type, m.bytes_key, m.bytes_value, m.max_entries]),
          [['xdp_stats_map', 'percpu_array', 4, 16, 5]],
        );
        assert.equal(tool.programs[0]?.type, 'xdp');
      }
    }
  });
});
