// loadKernelObject against the kernel and bpftool: every fixture and xdp-tools object, tags, global data, pins, rollback.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadObject } from '../../../src/elf/index.js';
import { parseBtf } from '../../../src/btf/index.js';
import type { ObjectSpec } from '../../../src/elf/object-spec.js';
import { MapType } from '../../../src/kernel/bpf/constants.js';
import { createMap } from '../../../src/kernel/bpf/map-create.js';
import { lookupElem, updateElem } from '../../../src/kernel/bpf/map-elem.js';
import { mapInfo } from '../../../src/kernel/bpf/obj-info.js';
import { pinObject } from '../../../src/kernel/bpf/obj-pin.js';
import { KernelError } from '../../../src/kernel/kernel-error.js';
import { PinMismatchError, UnknownObjectNameError } from '../../../src/kernel/object/errors.js';
import { kernelVersionCode, readKernelConfig } from '../../../src/kernel/object/kconfig.js';
import { attachTargetName, loadKernelObject } from '../../../src/kernel/object/load-object.js';
import { vmlinuxBtf } from '../../../src/kernel/object/vmlinux.js';
import { VerifierError } from '../../../src/kernel/verifier-error.js';
import { describeMap } from '../../../src/kernel/introspect/map-show.js';
import { expectedRejections, fixturesDir, xdpToolsDir } from '../../support/fixtures.js';
import { BpftoolLoadError, bpftoolLoadAll } from '../../support/libbpf-oracle.js';
import { kernelTest, u32 } from '../harness.js';

const PIN_ROOT = `/sys/fs/bpf/bpfkit-kl-${process.pid}`;
mkdirSync(PIN_ROOT, { recursive: true });
after(() => rmSync(PIN_ROOT, { recursive: true, force: true }));

function objects(): string[] {
  const fixtures = readdirSync(fixturesDir)
    .filter((f) => f.endsWith('.o') && !(f.replace(/\.o$/, '') in expectedRejections))
    .map((f) => path.join(fixturesDir, f));
  const tools = existsSync(xdpToolsDir) ? readdirSync(xdpToolsDir).filter((f) => f.endsWith('.o')).map((f) => path.join(xdpToolsDir, f)) : [];
  return [...fixtures, ...tools].sort();
}

function spec(file: string): ObjectSpec {
  return loadObject(readFileSync(file), { objectName: path.basename(file, '.o') });
}

kernelTest('every object bpftool loads, loadKernelObject loads, with the same program tags and xlated sizes', async (sys) => {
  let agree = 0;
  let bothRefuse = 0;
  let programs = 0;
  let maps = 0;
  const problems: string[] = [];
  for (const file of objects()) {
    let oracle;
    // bpftool pins by-name maps under /sys/fs/bpf; make sure none this call creates stays behind.
    const byName = spec(file).maps.filter((m) => m.pinning === 'by_name').map((m) => `/sys/fs/bpf/${m.name}`);
    const preexisting = new Set(byName.filter((p) => existsSync(p)));
    try {
      oracle = await bpftoolLoadAll(file);
    } catch (err) {
      if (!(err instanceof BpftoolLoadError)) throw err;
    } finally {
      for (const p of byName) if (!preexisting.has(p)) rmSync(p, { force: true });
    }
    const dir = path.join(PIN_ROOT, path.basename(file, '.o').replace(/\./g, '_')); // bpffs refuses '.' in names
    mkdirSync(dir, { recursive: true });
    try {
      if (!oracle) {
        assert.throws(() => loadKernelObject(sys, spec(file), { pinPath: dir }).close(), `${file}: bpftool refuses it, so should we`);
        bothRefuse++;
        continue;
      }
      const obj = loadKernelObject(sys, spec(file), { pinPath: dir });
      try {
        for (const want of oracle.programs) {
          const mine = [...obj.programs.values()].find((p) => p.name === want.name || p.name.slice(0, 15) === want.name);
          if (!mine) {
            problems.push(`${file}: no program ${want.name}`);
            continue;
          }
          const info = mine.info();
          programs++;
          if (info.tag !== want.tag || info.xlatedProgLen !== want.bytes_xlated) problems.push(`${file}: ${want.name}: tag ${info.tag} (${info.xlatedProgLen} B) vs bpftool ${want.tag} (${want.bytes_xlated} B)`);
          if (info.mapIds.length !== (want.map_ids?.length ?? 0)) problems.push(`${file}: ${want.name}: ${info.mapIds.length} maps vs bpftool ${want.map_ids?.length ?? 0}`);
          if ((info.btfId !== 0) !== (want.btf_id !== undefined)) problems.push(`${file}: ${want.name}: BTF ${info.btfId} vs bpftool ${want.btf_id}`);
        }
        assert.equal(obj.programs.size, oracle.programs.length, `${file}: program count`);
        const ourMaps = [...obj.maps.values()].map((m) => describeMap(m.fd));
        for (const want of oracle.maps) {
          const mine = ourMaps.find((m) => m.name === want.name);
          if (!mine) {
            problems.push(`${file}: no map ${want.name}`);
            continue;
          }
          // libbpf 1.1 (Debian's) makes every global-data map BPF_F_MMAPABLE; libbpf >= 1.2, and
          // bpfkit's object loader, only those with a non-static variable (map_is_mmapable).
          const mmapableOnly = want.name!.includes('.') && ((mine.flags ^ want.flags) & ~0x400) === 0;
          for (const k of ['type', 'flags', 'bytes_key', 'bytes_value', 'max_entries'] as const) {
            if (k === 'flags' && mmapableOnly) continue;
            if (mine[k] !== want[k]) problems.push(`${file}: map ${want.name}: ${k} ${mine[k]} vs bpftool ${want[k]}`);
          }
          if ((mine.btf_id !== undefined) !== (want.btf_id !== undefined)) problems.push(`${file}: map ${want.name}: BTF ${mine.btf_id} vs bpftool ${want.btf_id}`);
          maps++;
        }
        agree++;
      } finally {
        obj.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  process.stdout.write(`# loader vs bpftool: ${agree} objects load alike (${programs} programs: tags; ${maps} maps: shapes), ${bothRefuse} refused by both\n`);
  assert.deepEqual(problems, []);
  assert.ok(agree >= 20, `only ${agree} objects compared`);
});

kernelTest('global data: .data/.bss filled from the object, .rodata frozen, program reads them', (sys) => {
  const s = spec(path.join(fixturesDir, 'subprogs_globals.o'));
  using obj = loadKernelObject(sys, s);
  for (const m of s.maps.filter((x) => x.origin === 'global-data')) {
    const km = obj.map(m.name);
    assert.deepEqual(km.get(u32(0)), Uint8Array.from(m.data!), `${m.name} contents`);
    assert.equal(mapInfo(km.fd).name, m.kernelName ?? m.name);
    if (m.readOnly) assert.throws(() => km.set(u32(0), m.data!), (e: unknown) => e instanceof KernelError && e.errnoName === 'EPERM', '.rodata is frozen');
  }
  const bss = obj.map('.bss');
  const before = bss.get(u32(0))!;
  const r = obj.program('xdp_count').testRun({ dataIn: new Uint8Array(64), repeat: 3 });
  assert.ok(r.retval >= 0);
  assert.notDeepEqual(bss.get(u32(0)), before, 'running the program changed .bss');
});

kernelTest('kconfig and CO-RE: the program sees LINUX_KERNEL_VERSION, CONFIG_HZ and vmlinux offsets', (sys) => {
  using obj = loadKernelObject(sys, spec(path.join(fixturesDir, 'core_kfunc.o')));
  const kconfig = obj.map('.kconfig').get(u32(0))!;
  const dv = new DataView(kconfig.buffer, kconfig.byteOffset);
  const release = new TextDecoder().decode(sys.readFile('/proc/sys/kernel/osrelease'));
  const values = new Set([dv.getUint32(0, true), dv.getUint32(4, true)]);
  assert.ok(values.has(kernelVersionCode(release)), 'LINUX_KERNEL_VERSION in .kconfig');
  const hz = readKernelConfig(sys)?.get('CONFIG_HZ');
  if (hz) assert.ok(values.has(Number(hz)), 'CONFIG_HZ in .kconfig');
  const r = obj.program('xdp_core_kfunc').testRun({ dataIn: new Uint8Array(64) });
  assert.equal(r.retval, 2, 'XDP_PASS (the CO-RE enum value relocation)');
  const facts = obj.map('facts').get(u32(0))!;
  const f = new DataView(facts.buffer, facts.byteOffset);
  assert.equal(Number(f.getBigUint64(0, true)), kernelVersionCode(release), 'facts.kernel_version');
  assert.equal(Number(f.getBigUint64(40, true)), 64, 'facts.len from xdp_buff data/data_end at the kernel offsets');
  assert.equal(Number(f.getBigUint64(72, true)), 2, 'facts.xdp_pass_value');
  assert.equal(Number(f.getBigUint64(56, true)), vmlinuxBtf(sys).resolveSize(vmlinuxBtf(sys).typeByName('task_struct', 'struct').id), 'facts.task_size = sizeof(struct task_struct) in vmlinux');
});

kernelTest('tail calls: the prog array is filled from the object, the dispatcher jumps', (sys) => {
  const s = spec(path.join(fixturesDir, 'tail_calls.o'));
  using obj = loadKernelObject(sys, s);
  const table = obj.map('jump_table');
  const init = s.maps.find((m) => m.name === 'jump_table')!.initEntries;
  assert.ok(init.length > 0);
  for (const e of init) {
    const id = new DataView(table.get(u32(e.key))!.buffer).getUint32(0, true);
    assert.equal(id, obj.program(e.value).info().id, `slot ${e.key} holds ${e.value}`);
  }
});

kernelTest('pinning by name: a second load reuses the pin; a pin of another shape is a PinMismatchError; nothing leaks', (sys) => {
  const dir = path.join(PIN_ROOT, 'byname');
  mkdirSync(dir, { recursive: true });
  try {
    const s = spec(path.join(xdpToolsDir, 'xdpfilt_alw_eth.o'));
    const first = loadKernelObject(sys, s, { pinPath: dir });
    try {
      assert.deepEqual([...first.report.pinned.keys()].sort(), ['filter_ethernet', 'xdp_stats_map']);
      const second = loadKernelObject(sys, s, { pinPath: dir });
      try {
        assert.deepEqual([...second.report.reusedPins].sort(), ['filter_ethernet', 'xdp_stats_map']);
        assert.equal(mapInfo(second.map('xdp_stats_map').fd).id, mapInfo(first.map('xdp_stats_map').fd).id);
      } finally {
        second.close();
      }
    } finally {
      first.close();
    }
    for (const f of readdirSync(dir)) rmSync(path.join(dir, f));
    // Now a wrong-shape map where filter_ethernet should be.
    using wrong = createMap(sys, { type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
    pinObject(wrong, path.join(dir, 'filter_ethernet'));
    assert.throws(
      () => loadKernelObject(sys, s, { pinPath: dir }),
      (e: unknown) => e instanceof PinMismatchError && e.differences.some((d) => d.startsWith('key_size')),
    );
    assert.deepEqual(readdirSync(dir), ['filter_ethernet'], 'the failed load left no pin behind');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

kernelTest('a devmap pinned by name is reused although the kernel added BPF_F_RDONLY_PROG to its flags (libbpf clears it before comparing)', (sys) => {
  const dir = path.join(PIN_ROOT, 'devmap');
  mkdirSync(dir, { recursive: true });
  try {
    const s = spec(path.join(fixturesDir, 'xdp_stats.o'));
    const model = s.maps[0]!;
    const withDevmap: ObjectSpec = { ...s, maps: [...s.maps, { ...model, name: 'tx_port', type: MapType.DEVMAP, keySize: 4, valueSize: 4, maxEntries: 8, flags: 0, pinning: 'by_name' as const, keyTypeId: 0, valueTypeId: 0 }] };
    const first = loadKernelObject(sys, withDevmap, { pinPath: dir });
    try {
      assert.equal(mapInfo(first.map('tx_port').fd).flags & 0x80, 0x80, 'the kernel sets BPF_F_RDONLY_PROG on devmaps');
      const second = loadKernelObject(sys, withDevmap, { pinPath: dir });
      try {
        assert.deepEqual([...second.report.reusedPins], ['tx_port']);
        assert.equal(mapInfo(second.map('tx_port').fd).id, mapInfo(first.map('tx_port').fd).id);
      } finally {
        second.close();
      }
    } finally {
      first.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

kernelTest('a verifier rejection is a VerifierError naming the program; every map and pin is released', (sys) => {
  const s = spec(path.join(fixturesDir, 'xdp_stats.o'));
  const prog = s.programs[0]!;
  // r0 = r5 (uninitialised) before the first instruction.
  const bad: ObjectSpec = {
    ...s,
    maps: s.maps.map((m) => ({ ...m, pinning: 'by_name' as const })),
    programs: [{ ...prog, instructions: [{ code: 0xbf, dst: 0, src: 5, off: 0, imm: 0 }, { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }], funcInfo: [], coreRelos: [] }],
  };
  const dir = path.join(PIN_ROOT, 'reject');
  mkdirSync(dir, { recursive: true });
  try {
    assert.throws(
      () => loadKernelObject(sys, bad, { pinPath: dir }),
      (e: unknown) => e instanceof VerifierError && /program "xdp_stats_prog"/.test(e.message) && /R5 !read_ok/.test(e.log),
    );
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => loadKernelObject(sys, s, { programs: ['nope'] }), UnknownObjectNameError);
});

kernelTest('programs subset and map replacement: only the chosen program loads, the given map is used and left open', (sys) => {
  const s = spec(path.join(fixturesDir, 'subprogs_globals.o'));
  using obj = loadKernelObject(sys, s, { programs: ['xdp_count'] });
  assert.deepEqual([...obj.programs.keys()], ['xdp_count']);
  const x = spec(path.join(fixturesDir, 'xdp_stats.o'));
  using mine = createMap(sys, { type: MapType.PERCPU_ARRAY, keySize: 4, valueSize: 16, maxEntries: 5 });
  const obj2 = loadKernelObject(sys, x, { mapReplacements: { xdp_stats_map: mine } });
  obj2.program('xdp_stats_prog').testRun({ dataIn: new Uint8Array(60) });
  obj2.close();
  assert.equal(mine.closed, false);
  const v = lookupElem(mine, u32(2));
  assert.ok(v && v.some((b) => b !== 0), 'the program counted into the replacement map');
  updateElem(mine, u32(0), new Uint8Array(v.length));
});

function bpftoolPinned(file: string, dir: string): void {
  execFileSync('bpftool', ['prog', 'loadall', file, dir, 'pinmaps', path.join(dir, 'maps')], { stdio: 'pipe' });
}

kernelTest('core_kfunc run by us and by bpftool (libbpf) fills the same facts, except the pid', (sys) => {
  const file = path.join(fixturesDir, 'core_kfunc.o');
  const dir = path.join(PIN_ROOT, 'core-oracle');
  try {
    bpftoolPinned(file, dir);
    execFileSync('bash', ['-c', `head -c 64 /dev/zero > /tmp/bpfkit-kl-${process.pid}.pkt`]);
    execFileSync('bpftool', ['prog', 'run', 'pinned', path.join(dir, 'xdp_core_kfunc'), 'data_in', `/tmp/bpfkit-kl-${process.pid}.pkt`], { stdio: 'pipe' });
    const dump = JSON.parse(execFileSync('bpftool', ['map', 'dump', 'pinned', path.join(dir, 'maps', 'facts'), '-j'], { encoding: 'utf8' })) as { value: string[] }[];
    const theirs = Uint8Array.from(dump[0]!.value.map((h) => parseInt(h, 16)));
    using obj = loadKernelObject(sys, spec(file));
    obj.program('xdp_core_kfunc').testRun({ dataIn: new Uint8Array(64) });
    const ours = obj.map('facts').get(u32(0))!;
    const fields = ['kernel_version', 'hz', 'ifindex', 'queue', 'frame_sz', 'len', 'pid', 'task_size', 'exists_mask', 'xdp_pass_value'];
    const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
    fields.forEach((name, i) => {
      if (name === 'pid') return;
      assert.equal(dv(ours).getBigUint64(i * 8, true), dv(theirs).getBigUint64(i * 8, true), `facts.${name}`);
    });
    assert.equal(dv(ours).getBigUint64(64, true), 11n, 'exists mask: type, tgid, enum value; not the missing field');
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(`/tmp/bpfkit-kl-${process.pid}.pkt`, { force: true });
  }
});

kernelTest('bpftool prog dump xlated: our load and the bpftool load of the same object print the same instructions', (sys) => {
  const mask = (s: string) => s.replace(/map\[id:\d+\]/g, 'map[id:N]').replace(/\[id:\d+\]/g, '[id:N]');
  for (const name of ['tc_flow_filter', 'subprogs_globals', 'tail_calls']) {
    const file = path.join(fixturesDir, `${name}.o`);
    const dir = path.join(PIN_ROOT, `xlated-${name}`);
    try {
      bpftoolPinned(file, dir);
      using obj = loadKernelObject(sys, spec(file));
      for (const p of obj.programs.values()) {
        const ours = execFileSync('bpftool', ['prog', 'dump', 'xlated', 'id', String(p.info().id)], { encoding: 'utf8' });
        const theirs = execFileSync('bpftool', ['prog', 'dump', 'xlated', 'pinned', path.join(dir, p.name)], { encoding: 'utf8' });
        assert.equal(mask(ours), mask(theirs), `${name}/${p.name}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

kernelTest('map-in-map: the outer maps hold the inner maps the object names (by id)', (sys) => {
  const dir = path.join(PIN_ROOT, 'zoo');
  mkdirSync(dir, { recursive: true });
  try {
    const s = spec(path.join(fixturesDir, 'maps_zoo.o'));
    using obj = loadKernelObject(sys, s, { pinPath: dir });
    for (const outer of s.maps.filter((m) => m.initEntries.length > 0)) {
      for (const e of outer.initEntries) {
        const got = lookupElem(obj.map(outer.name).fd, u32(e.key));
        assert.ok(got, `${outer.name}[${e.key}]`);
        assert.equal(new DataView(got.buffer).getUint32(0, true), mapInfo(obj.map(e.value).fd).id, `${outer.name}[${e.key}] = ${e.value}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

kernelTest('a rejection of an object with BTF names the C line: line_info reaches the kernel', (sys) => {
  const s = spec(path.join(fixturesDir, 'xdp_stats.o'));
  const prog = s.programs[0]!;
  const at = prog.instructions.findIndex((i) => i.code === 0x15); // if (!rec) -> drop the NULL check
  const instructions = prog.instructions.map((insn, i) => (i === at ? { ...insn, code: 0x05, dst: 0, imm: 0, off: 0 } : insn));
  assert.throws(
    () => loadKernelObject(sys, { ...s, programs: [{ ...prog, instructions }] }),
    (e: unknown) => e instanceof VerifierError && /map_value_or_null/.test(e.summary) && e.sourceLine?.startsWith('rec->rx_packets++; @ xdp_stats.c:') === true && e.insn === 11,
  );
});

kernelTest('diagnostics_channel: bpfkit:prog:load per program and bpfkit:object:load per object', async (sys) => {
  const dc = await import('node:diagnostics_channel');
  const progs: { name: string; id: number }[] = [];
  const objects: { programs: string[] }[] = [];
  const onProg = (m: unknown) => progs.push(m as { name: string; id: number });
  const onObj = (m: unknown) => objects.push(m as { programs: string[] });
  dc.subscribe('bpfkit:prog:load', onProg);
  dc.subscribe('bpfkit:object:load', onObj);
  try {
    using obj = loadKernelObject(sys, spec(path.join(fixturesDir, 'tail_calls.o')));
    assert.deepEqual(progs.map((p) => p.name).sort(), ['dispatcher', 'prog_a', 'prog_b']);
    assert.equal(progs.find((p) => p.name === 'prog_a')!.id, obj.program('prog_a').info().id);
    assert.deepEqual(objects.map((o) => o.programs.length), [3]);
  } finally {
    dc.unsubscribe('bpfkit:prog:load', onProg);
    dc.unsubscribe('bpfkit:object:load', onObj);
  }
});

test('attach targets are looked up under libbpf\'s BTF names, and exist in this kernel\'s BTF', () => {
  assert.deepEqual(attachTargetName('tp_btf/sched_switch', 'sched_switch'), { name: 'btf_trace_sched_switch', kind: 'typedef' });
  assert.deepEqual(attachTargetName('iter/bpf_map_elem', 'bpf_map_elem'), { name: 'bpf_iter_bpf_map_elem', kind: 'func' });
  assert.deepEqual(attachTargetName('iter.s/task', 'task'), { name: 'bpf_iter_task', kind: 'func' });
  assert.deepEqual(attachTargetName('lsm/file_open', 'file_open'), { name: 'bpf_lsm_file_open', kind: 'func' });
  assert.deepEqual(attachTargetName('fentry/tcp_v4_rcv', 'tcp_v4_rcv'), { name: 'tcp_v4_rcv', kind: 'func' });
  if (!existsSync('/sys/kernel/btf/vmlinux')) return;
  const vm = parseBtf(new Uint8Array(readFileSync('/sys/kernel/btf/vmlinux')));
  for (const [section, target] of [['iter/bpf_map_elem', 'bpf_map_elem'], ['tp_btf/sched_switch', 'sched_switch'], ['lsm/file_open', 'file_open']] as const) {
    const { name, kind } = attachTargetName(section, target);
    assert.ok(vm.typesByName(name).some((t) => t.kind === kind), `${name} (${kind}) is in the kernel's BTF`);
  }
});
