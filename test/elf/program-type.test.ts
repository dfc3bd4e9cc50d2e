// programType / --type: bpftool's type names resolved as bpftool resolves them (checked against
// bpftool prog loadall ... type T on the running kernel), bpftool's override rule, untyped
// programs refused with a typed error, and legacy_sections.o run under a given type in userspace
// with the kernel's results.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { ProgramTypeTargetError, UnknownProgramTypeError, UntypedProgramError } from '../../src/elf/errors.js';
import { loadObject } from '../../src/elf/object-loader.js';
import { applyProgramType, programTypeNames, resolveProgramType } from '../../src/elf/program-type.js';
import { legacySectionType } from '../../src/elf/section-defs.js';
import { BpfAttachType, BpfProgType } from '../../src/isa/uapi.generated.js';
import { programTypeName } from '../../src/isa/program-types.js';
import { KernelError } from '../../src/kernel/kernel-error.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import { loadUserspace } from '../../src/runtime/userspace-object.js';
import { BpfkitError } from '../../src/errors.js';
import { compileBpf } from '../support/clang.js';
import { fixturePath } from '../support/fixtures.js';
import { BpftoolLoadError, bpftoolLoadAll, libbpfDump, libbpfLoad } from '../support/libbpf-oracle.js';
import { kernelTest } from '../kernel/harness.js';

const legacy = () => loadObject(new Uint8Array(readFileSync(fixturePath('legacy_sections'))), { objectName: 'legacy_sections' });

test('type names resolve as bpftool resolves them: section names (also with "/" appended), then kernel names and values', () => {
  const cases: [string | number, string, number | undefined][] = [
    ['xdp', 'xdp', BpfAttachType.XDP],
    ['classifier', 'sched_cls', undefined],
    ['tc', 'sched_cls', undefined],
    ['action', 'sched_act', undefined],
    ['socket', 'socket_filter', undefined],
    ['cgroup/skb', 'cgroup_skb', undefined],
    ['cgroup/bind4', 'cgroup_sock_addr', BpfAttachType.CGROUP_INET4_BIND],
    ['kprobe', 'kprobe', undefined],
    ['tracepoint', 'tracepoint', undefined],
    ['xdp.frags', 'xdp', BpfAttachType.XDP],
    ['sk_lookup', 'sk_lookup', BpfAttachType.SK_LOOKUP],
    // The kernel's names (bpftool prints them, bpfkit also takes them): no expected attach type.
    ['sched_cls', 'sched_cls', undefined],
    ['socket_filter', 'socket_filter', undefined],
    ['sched_act', 'sched_act', undefined],
    ['cgroup_skb', 'cgroup_skb', undefined],
    [BpfProgType.XDP, 'xdp', undefined],
    ['3', 'sched_cls', undefined],
  ];
  for (const [given, type, attach] of cases) {
    const r = resolveProgramType(given);
    assert.equal(r.progType, type, `${given}`);
    assert.equal(r.progTypeValue, BpfProgType[type.toUpperCase() as keyof typeof BpfProgType], `${given} value`);
    assert.equal(r.attachTypeValue, attach, `${given} expected attach type`);
  }
  for (const bad of ['bogus', '', 'unspec', 0, 9999, 'xdp_prog', -1]) {
    assert.throws(() => resolveProgramType(bad), (e: unknown) => e instanceof UnknownProgramTypeError && e.code === 'ERR_UNKNOWN_PROGRAM_TYPE' && e.valid.includes('classifier') && e.valid.includes('sched_cls'), `${bad}`);
  }
  assert.ok(programTypeNames().includes('xdp') && !programTypeNames().includes('unspec'));
});

test('legacy_sections.o: untyped sections stay untyped (as libbpf 1.x leaves them), with warnings naming libbpf < 1.0\'s prefix rule', () => {
  const spec = legacy();
  const types = Object.fromEntries(spec.programs.map((p) => [p.name, programTypeName(p.type)]));
  assert.deepEqual(types, { xdp_prog_simple: 'unspec', xdp_parse: 'unspec', lb_count: 'unspec', sock_keep: 'unspec', cls_mark: 'unspec', typed_xdp: 'xdp' });
  assert.ok(spec.warnings.some((w) => /section "xdp_prog".*--type.*libbpf < 1\.0 read it as xdp/.test(w)), spec.warnings.join('\n'));
  assert.equal(legacySectionType('xdp_prog'), 'xdp');
  assert.equal(legacySectionType('classifier_ingress'), 'classifier');
  assert.equal(legacySectionType('loadbalancer'), undefined);
});

test("a given type replaces every program's, as bpftool's type does; per-program types; flags dropped when the type changes", () => {
  const spec = legacy();
  const all = applyProgramType(spec, 'xdp');
  for (const p of all.programs) {
    assert.equal(p.type, BpfProgType.XDP, p.name);
    assert.equal(p.expectedAttachType, BpfAttachType.XDP, `${p.name}: expected attach type of "xdp"`);
  }
  // SEC("xdp") given "classifier": sched_cls, no expected attach type, a warning.
  const cls = applyProgramType(spec, 'classifier');
  const typed = cls.programs.find((p) => p.name === 'typed_xdp')!;
  assert.equal(typed.type, BpfProgType.SCHED_CLS);
  assert.equal(typed.expectedAttachType, undefined);
  assert.ok(cls.warnings.some((w) => /typed_xdp.*sched_cls.*not xdp/.test(w)));
  // Per program: the others keep their section's type.
  const per = applyProgramType(spec, { sock_keep: 'socket', cls_mark: 'sched_cls', lb_count: 6 });
  assert.deepEqual(
    per.programs.map((p) => [p.name, programTypeName(p.type)]),
    [['xdp_prog_simple', 'unspec'], ['xdp_parse', 'unspec'], ['lb_count', 'xdp'], ['sock_keep', 'socket_filter'], ['cls_mark', 'sched_cls'], ['typed_xdp', 'xdp']],
  );
  assert.throws(() => applyProgramType(spec, { nope: 'xdp' }), (e: unknown) => e instanceof ProgramTypeTargetError && e.program === 'nope');
  // libbpf forgets the section's definition when the type changes: xdp.frags loses BPF_F_XDP_HAS_FRAGS
  // under sched_cls, keeps it under xdp.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-frags-'));
  try {
    const src = path.join(dir, 'frags.c');
    writeFileSync(src, '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("xdp.frags") int f(struct xdp_md *c) { return XDP_PASS; }\nchar _l[] SEC("license") = "GPL";\n');
    const frags = loadObject(compileBpf(src));
    assert.equal(frags.programs[0]!.flags, 1 << 5);
    assert.equal(applyProgramType(frags, 'xdp').programs[0]!.flags, 1 << 5);
    assert.equal(applyProgramType(frags, 'classifier').programs[0]!.flags, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('untyped programs: loadUserspace skips them with the reason, refuses them by name with UntypedProgramError; programType runs them', () => {
  using plain = loadUserspace(legacy(), { cpus: 1 });
  assert.deepEqual([...plain.programs.keys()], ['typed_xdp']);
  assert.match(plain.skipped.get('xdp_parse')!, /section "xdp_pass".*--type TYPE \(CLI\) or programType \(API\)/);
  assert.throws(
    () => loadUserspace(legacy(), { programs: ['lb_count'] }),
    (e: unknown) => e instanceof UntypedProgramError && e.code === 'ERR_PROGRAM_UNTYPED' && e.section === 'loadbalancer' && e.suggestion === undefined && /--type/.test(e.message),
  );
  using typed = loadUserspace(legacy(), { programType: 'xdp' });
  assert.equal(typed.programs.size, 6);
});

const PIN_ROOT = `/sys/fs/bpf/bpfkit-ptype-${process.pid}`;
after(() => rmSync(PIN_ROOT, { recursive: true, force: true }));

kernelTest('untyped programs never reach the kernel: UntypedProgramError before any map is created', (sys) => {
  mkdirSync(PIN_ROOT, { recursive: true });
  const total = () => [...sys.bpfCalls.values()].reduce((a, b) => a + b, 0);
  const before = total();
  assert.throws(() => loadKernelObject(sys, legacy(), { pinPath: PIN_ROOT }), (e: unknown) => e instanceof UntypedProgramError && e.program === 'xdp_prog_simple' && e.suggestion === 'xdp');
  assert.equal(total(), before, 'no bpf(2) call');
  // Only the typed program asked for: loads.
  using obj = loadKernelObject(sys, legacy(), { programs: ['typed_xdp'], pinPath: PIN_ROOT });
  assert.equal(obj.programs.size, 1);
});

/** bpftool's TYPE list from `bpftool prog help`. */
function bpftoolTypes(): string[] {
  // bpftool prints its help on stderr (and exits 0 or not, depending on the version).
  let help: string;
  try {
    help = execFileSync('bash', ['-c', 'bpftool prog help 2>&1'], { encoding: 'utf8' });
  } catch (err) {
    help = String((err as { stdout?: string }).stdout ?? '');
  }
  const m = /TYPE := \{([^}]*)\}/s.exec(help);
  assert.ok(m, 'bpftool prog help lists its types');
  return m[1]!.split('|').map((t) => t.trim()).filter((t) => t !== '');
}

kernelTest("every bpftool type name: bpfkit loads as bpftool's `prog loadall OBJ DIR type T` loads (same verdict, same program type)", async (sys) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-anytype-'));
  mkdirSync(PIN_ROOT, { recursive: true });
  try {
    const src = path.join(dir, 'anytype.c');
    // No context access, return 0: valid for most types, so the verdict depends on type and attach type.
    writeFileSync(src, '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("anything") int anytype(void *ctx) { return 0; }\nchar _l[] SEC("license") = "GPL";\n');
    const bytes = compileBpf(src);
    const obj = path.join(dir, 'anytype.o');
    writeFileSync(obj, bytes);
    const spec = loadObject(bytes);
    const types = bpftoolTypes();
    assert.ok(types.length >= 30, `bpftool lists ${types.length} types`);
    const problems: string[] = [];
    let loaded = 0;
    for (const t of types) {
      let want: string | undefined;
      try {
        want = (await bpftoolLoadAll(obj, { type: t })).programs[0]?.type;
      } catch (err) {
        if (!(err instanceof BpftoolLoadError)) throw err;
      }
      let mine: string | undefined;
      let why = '';
      try {
        using k = loadKernelObject(sys, spec, { programType: t, pinPath: PIN_ROOT });
        mine = programTypeName(k.program('anytype').info().type);
      } catch (err) {
        if (!(err instanceof BpfkitError || err instanceof KernelError)) throw err;
        why = (err as Error).message.split('\n')[0]!;
      }
      if (mine !== want) problems.push(`type ${t}: bpfkit ${mine ?? `refused (${why})`}, bpftool ${want ?? 'refused'}`);
      if (want) loaded++;
    }
    process.stdout.write(`# bpftool type names: ${types.length} compared with bpftool (${loaded} load, ${types.length - loaded} refused by both), ${problems.length} mismatches\n`);
    assert.deepEqual(problems, []);
    assert.ok(loaded >= 15, `only ${loaded} types loaded`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

kernelTest('legacy_sections.o under a given type: userspace test runs equal BPF_PROG_TEST_RUN (xdp, and lb_count as sched_cls)', (sys) => {
  mkdirSync(PIN_ROOT, { recursive: true });
  const packets = [14, 40, 60, 61, 64, 201, 1000].map((n) => {
    const p = new Uint8Array(n);
    for (let i = 0; i < n; i++) p[i] = (i * 37 + n) & 0xff;
    // IPv6 (xdp_parse drops it) where the packet holds its header, else an EtherType the skb
    // test run takes without a network header (0x88b5, local experimental).
    const v6 = n >= 54 && n % 2 === 1;
    p[12] = v6 ? 0x86 : 0x88;
    p[13] = v6 ? 0xdd : 0xb5;
    return p;
  });
  let cases = 0;
  for (const programType of ['xdp', { lb_count: 'classifier', sock_keep: 'socket', cls_mark: 'classifier' }] as const) {
    using user = loadUserspace(legacy(), { programType, programs: typeof programType === 'string' ? undefined : ['lb_count', 'sock_keep', 'cls_mark'] });
    using kern = loadKernelObject(sys, legacy(), { programType, pinPath: PIN_ROOT, ...(typeof programType === 'string' ? {} : { programs: ['lb_count', 'sock_keep', 'cls_mark'] }) });
    for (const [name, up] of user.programs) {
      assert.equal(up.type, kern.program(name).spec.type, `${name}: same type`);
      for (const data of packets) {
        const u = up.testRun({ data });
        const k = kern.program(name).testRun({ dataIn: data });
        assert.equal(u.retval, k.retval, `${name} (${programTypeName(up.type)}) on ${data.length} bytes`);
        assert.deepEqual(u.dataOut, k.dataOut, `${name}: packet out`);
        cases++;
      }
    }
    // The counters each program bumped agree too.
    assert.deepEqual([...user.bpfMap('lb_hits').entries()].map(([k, v]) => [[...k], [...v]]), [...kern.map('lb_hits').entries()].map(([k, v]) => [[...k], [...v]]), 'lb_hits');
  }
  process.stdout.write(`# legacy_sections under --type: ${cases} test runs equal the kernel's\n`);
  assert.ok(cases >= 50);
});

const LAZY_SRC = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("?xdp") int lazy_xdp(struct xdp_md *ctx) { return XDP_DROP; }
SEC("xdp") int eager_xdp(struct xdp_md *ctx) { return XDP_PASS; }
char _l[] SEC("license") = "GPL";
`;

kernelTest('SEC("?xdp"): typed by the name after "?", autoload off — opened and loaded like libbpf (skipped unless named)', async (sys) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-lazy-'));
  mkdirSync(PIN_ROOT, { recursive: true });
  try {
    const src = path.join(dir, 'lazy.c');
    writeFileSync(src, LAZY_SRC);
    const bytes = compileBpf(src);
    const file = path.join(dir, 'lazy.o');
    writeFileSync(file, bytes);
    const spec = loadObject(bytes);
    assert.deepEqual(
      spec.programs.map((p) => [p.name, p.section, programTypeName(p.type), p.autoload !== false]),
      [['lazy_xdp', 'xdp', 'xdp', false], ['eager_xdp', 'xdp', 'xdp', true]],
    );
    const want = await libbpfDump(file);
    assert.deepEqual(
      want.programs.map((p) => [p.name, p.section, p.typeName, p.autoload]),
      spec.programs.map((p) => [p.name, p.section, programTypeName(p.type), p.autoload !== false]),
      'libbpf opens it the same way',
    );
    // bpftool 7.1 (libbpf 1.1) loads it but then fails to pin the program it skipped, so the
    // oracle is libbpf's own bpf_object__load.
    const loaded = await libbpfLoad(file);
    assert.ok(loaded.load.ok, loaded.log);
    const libbpfLoaded = loaded.load.programs.filter((p) => p.id !== undefined && p.id > 0);
    {
      using obj = loadKernelObject(sys, spec, { pinPath: PIN_ROOT });
      assert.deepEqual([...obj.programs.keys()], libbpfLoaded.map((p) => p.name), 'the programs libbpf loads');
      assert.equal(obj.program('eager_xdp').info().xlatedProgLen / 8, libbpfLoaded[0]!.xlatedInsnCount);
    }
    using named = loadKernelObject(sys, spec, { programs: ['lazy_xdp'], pinPath: PIN_ROOT });
    assert.equal(named.program('lazy_xdp').testRun({ dataIn: new Uint8Array(64) }).retval, 1, 'named: loaded and runs (XDP_DROP)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
