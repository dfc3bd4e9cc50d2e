// libxdp's protocol, the parts that need no freplace: config layout against libxdp's own dispatcher object, planning, pins, refusals.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadObject } from '../../../src/elf/object-loader.js';
import { decodeLibxdpConfig, LIBXDP_CONFIG_SIZE, libxdpPins, planLibxdpDispatcher, type LibxdpPlanProgram } from '../../../src/kernel/xdp-multi/libxdp.js';
import { TooManyXdpProgramsError, XdpProgramNoBtfError } from '../../../src/kernel/xdp-multi/errors.js';
import { xdpRunConfig } from '../../../src/runtime/xdp-run-config.js';
import { repoRoot } from '../../support/fixtures.js';

const C = `${repoRoot}/test/kernel/xdp-multi/c`;
const LIBXDP_DISPATCHER = '/usr/lib/x86_64-linux-gnu/bpf/xdp-dispatcher.o';
const spec = (n: string) => loadObject(new Uint8Array(readFileSync(`${C}/xdp_mp_${n}.o`)), { objectName: `xdp_mp_${n}` });
const prog = (n: string, loaded = false): { spec: ReturnType<typeof spec>; program: LibxdpPlanProgram } => {
  const s = spec(n);
  const p = s.programs[0]!;
  const rc = xdpRunConfig(s, p.name);
  return { spec: s, program: { name: p.name, priority: rc.priority, chainCallActions: rc.chainCallActions, flags: p.flags, loaded, size: p.instructions.length } };
};

test('libxdp protocol: the config layout is that of the installed libxdp dispatcher object (struct xdp_dispatcher_config, 10 stubs, version 2 metadata)', { skip: existsSync(LIBXDP_DISPATCHER) ? false : 'xdp-tools dispatcher object not installed' }, () => {
  const d = loadObject(new Uint8Array(readFileSync(LIBXDP_DISPATCHER)), { objectName: 'xdp-dispatcher' });
  const btf = d.btf!;
  const conf = btf.typesByName('xdp_dispatcher_config').find((t) => t.kind === 'struct');
  assert.ok(conf && conf.kind === 'struct');
  assert.equal(conf.size, LIBXDP_CONFIG_SIZE);
  assert.deepEqual(conf.members.map((m) => [m.name, m.bitOffset / 8]), [['magic', 0], ['dispatcher_version', 1], ['num_progs_enabled', 2], ['is_xdp_frags', 3], ['chain_call_actions', 4], ['run_prios', 44], ['program_flags', 84]]);
  for (let i = 0; i < 10; i++) assert.ok(btf.typesByName(`prog${i}`).some((t) => t.kind === 'func'), `stub prog${i}`);
  const meta = btf.typesByName('xdp_metadata').find((t) => t.kind === 'datasec');
  assert.ok(meta && meta.kind === 'datasec');
  const v = btf.typeById(meta.vars[0]!.type);
  assert.ok(v.kind === 'var' && v.name === 'dispatcher_version');
  const ptr = btf.skipQualifiers(v.type);
  const arr = ptr.kind === 'ptr' ? btf.skipQualifiers(ptr.type) : ptr;
  assert.equal(arr.kind === 'array' ? arr.nelems : -1, 2);
});

test('libxdp protocol: planning a dispatcher keeps loaded programs, sorts by priority, adds the stub retval bit, and round-trips the config', () => {
  const kept: LibxdpPlanProgram = { name: 'kept', priority: 30, chainCallActions: 1 << 2, flags: 0, loaded: true, size: 10 };
  const plan = planLibxdpDispatcher('eth0', [kept], [prog('filter'), prog('tx'), prog('count')]);
  assert.deepEqual(plan.programs.map((p) => [p.name, p.priority]), [['mp_soft_drop', 5], ['mp_count', 10], ['mp_filter', 20], ['kept', 30]]);
  assert.deepEqual(plan.targets, ['prog0', 'prog1', 'prog2', 'prog3']);
  assert.equal(plan.frags, false);
  const c = decodeLibxdpConfig(plan.config);
  assert.equal(plan.config.length, LIBXDP_CONFIG_SIZE);
  assert.deepEqual([c.version, c.numProgsEnabled, c.isXdpFrags], [2, 4, false]);
  assert.deepEqual(c.chainCallActions.slice(0, 5), [0x80000006, 0x80000004, 0x80000004, 0x80000004, 0]);
  assert.deepEqual(c.runPrios.slice(0, 5), [5, 10, 20, 30, 0]);
  assert.deepEqual(c.programFlags.slice(0, 4), [0, 0, 0, 0]);
  // Frags only when every program has them.
  const fr = (name: string): LibxdpPlanProgram => ({ name, priority: 1, chainCallActions: 4, flags: 1 << 5, loaded: true, size: 1 });
  assert.equal(planLibxdpDispatcher('eth0', [fr('a'), fr('b')], []).frags, true);
  assert.equal(planLibxdpDispatcher('eth0', [fr('a'), fr('b')], [], false).frags, false);
  assert.deepEqual(decodeLibxdpConfig(planLibxdpDispatcher('eth0', [fr('a'), kept], []).config).programFlags.slice(0, 2), [32, 0]);
  assert.deepEqual(libxdpPins('/sys/fs/bpf', 4, 77, 2), { dir: '/sys/fs/bpf/xdp/dispatch-4-77', prog: ['/sys/fs/bpf/xdp/dispatch-4-77/prog0-prog', '/sys/fs/bpf/xdp/dispatch-4-77/prog1-prog'], link: ['/sys/fs/bpf/xdp/dispatch-4-77/prog0-link', '/sys/fs/bpf/xdp/dispatch-4-77/prog1-link'] });
});

test('libxdp protocol: a program without BTF cannot be a freplace target; more than 10 programs do not fit', () => {
  const nobtf = loadObject(new Uint8Array(readFileSync(`${C}/xdp_mp_nobtf.o`)), { objectName: 'xdp_mp_nobtf' });
  assert.equal(nobtf.btf, undefined);
  const p = nobtf.programs[0]!;
  assert.throws(
    () => planLibxdpDispatcher('eth0', [], [{ spec: nobtf, program: { name: p.name, priority: 50, chainCallActions: 4, flags: 0, loaded: false, size: 1 } }]),
    (e: unknown) => e instanceof XdpProgramNoBtfError && e.code === 'ERR_XDP_NO_BTF' && /program "mp_soft_drop" has no BTF, so it cannot replace a libxdp dispatcher slot.*clang -g/.test(e.message),
  );
  const many = Array.from({ length: 9 }, (_, i): LibxdpPlanProgram => ({ name: `p${i}`, priority: 50, chainCallActions: 4, flags: 0, loaded: true, size: 1 }));
  assert.throws(() => planLibxdpDispatcher('eth0', many, [prog('count'), prog('filter')]), (e: unknown) => e instanceof TooManyXdpProgramsError && e.slots === 10 && e.loaded === 9 && e.adding === 2);
});
