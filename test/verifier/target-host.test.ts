// `VerifyOptions.target` / `bpfkit verify --target host`: the running kernel's permissions (program
// types, helpers per type, kfuncs) probed and honoured — bpfkit's verdict with the host target
// compared with the kernel's own BPF_PROG_LOAD, whatever this build permits.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { alu64, call, exit, type Instruction } from '../../src/isa/index.js';
import { BpfAttachType, BpfFuncId, BpfProgType } from '../../src/isa/uapi.generated.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { encode } from '../../src/isa/encode.js';
import { HostProbeError, hostTarget, vmlinuxBtf } from '../../src/kernel/index.js';
import { VerifierError } from '../../src/kernel/verifier-error.js';
import type { VerifierTarget } from '../../src/verifier/index.js';
import { verifyInstructions } from '../../src/verifier/verify.js';
import { kernelTest } from '../kernel/harness.js';
import { FakeSys } from '../kernel/fake-sys.js';
import { kernelVerify } from './kernel-oracle.js';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/output.js';
import { loadObject } from '../../src/elf/object-loader.js';
import { readFileSync } from 'node:fs';
import { fixturesDir } from '../support/fixtures.js';
import { objectProgramVerdict } from './fixture-oracle.js';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t) };
  const code = await main(argv, io);
  return { code, out, err };
}

const T = BpfProgType;
const EPERM = 1;
const ADJUST_META = BpfFuncId.xdp_adjust_meta;
/** r2 = 0; call bpf_xdp_adjust_meta; r0 = 2; exit — a correct call wherever the helper is allowed. */
const adjustMeta: Instruction[] = [alu64.mov.imm(2, 0), call.helper(ADJUST_META), alu64.mov.imm(0, 2), exit()];

kernelTest('bpf_xdp_adjust_meta with --target host: the running kernel\'s verdict and message in XDP and TC', (sys) => {
  const target = hostTarget(sys, { cacheDir: null });
  const seen: string[] = [];
  for (const type of [T.XDP, T.SCHED_CLS, T.SOCKET_FILTER]) {
    const k = kernelVerify(sys, type, adjustMeta, new Map());
    const b = verifyInstructions(adjustMeta, { programType: type, target });
    assert.deepEqual([b.verdict, b.message], [k.verdict, k.message], `type ${type}`);
    seen.push(`${type}:${k.verdict}`);
  }
  // Whatever this build does in XDP, TC never has the helper: the comparison saw a refusal.
  assert.ok(seen.includes(`${T.SCHED_CLS}:reject`), seen.join(' '));
  console.log(`# adjust_meta on this kernel: ${seen.join(' ')}`);
});

kernelTest('a target that refuses a helper the upstream model allows gives the kernel\'s own refusal message', (sys) => {
  // A build without bpf_xdp_adjust_meta in XDP, as recorded answers (no kernel needed for the verdict)...
  const recorded: VerifierTarget = { name: 'recorded 6.18 build', helperAllowed: (type, id) => !(type === T.XDP && id === ADJUST_META) };
  const b = verifyInstructions(adjustMeta, { programType: T.XDP, target: recorded });
  const upstream = verifyInstructions(adjustMeta, { programType: T.XDP });
  assert.equal(upstream.verdict, 'accept');
  // ...words it as the kernel words a type without the helper.
  const k = kernelVerify(sys, T.SCHED_CLS, adjustMeta, new Map());
  assert.equal(k.verdict, 'reject');
  assert.deepEqual([b.verdict, b.message], ['reject', k.message]);
  assert.match(b.hint ?? '', /not available to this program type/);
});

kernelTest('helpers per program type with --target host: every helper the kernel refuses is refused with its message (XDP, TC, socket filter, cgroup_skb)', (sys) => {
  const target = hostTarget(sys, { cacheDir: null });
  const ids: number[] = Object.values(BpfFuncId).filter((v) => v > 0);
  let refused = 0;
  let hostOnly = 0;
  const wrong: string[] = [];
  for (const type of [T.XDP, T.SCHED_CLS, T.SOCKET_FILTER, T.CGROUP_SKB]) {
    for (const id of ids) {
      const insns = [call.helper(id), exit()];
      const k = kernelVerify(sys, type, insns, new Map(), { logLevel: 1 });
      if (k.verdict !== 'reject' || !/cannot use helper/.test(k.message ?? '')) continue;
      refused++;
      const b = verifyInstructions(insns, { programType: type, target });
      if (b.message !== k.message) wrong.push(`type ${type} helper ${id}: kernel ${k.message ?? ''}, bpfkit ${b.verdict} ${b.message ?? ''}`);
      if (!/cannot use helper/.test(verifyInstructions(insns, { programType: type }).message ?? '')) hostOnly++;
    }
  }
  console.log(`# ${refused} (type, helper) refusals of the kernel, bpfkit --target host equal on all but ${wrong.length}; ${hostOnly} refused by this build only (the upstream model allows them)`);
  assert.ok(refused > 100, `only ${refused} refusals compared`);
  assert.deepEqual(wrong, []);
});

kernelTest('program types with --target host: a tracing program is refused exactly when the kernel refuses to load one', (sys) => {
  const target = hostTarget(sys, { cacheDir: null });
  const fn = vmlinuxBtf(sys).typesByName('bpf_fentry_test1').find((t) => t.kind === 'func');
  if (!fn) return;
  const insns = [alu64.mov.imm(0, 0), exit()];
  let kernelLoads: boolean;
  try {
    loadProgram(sys, { type: T.TRACING, insns: encode(insns), license: 'GPL', expectedAttachType: BpfAttachType.TRACE_FENTRY, attachBtfId: fn.id, logLevel: 1 }).close();
    kernelLoads = true;
  } catch (err) {
    if (err instanceof VerifierError && err.errno !== EPERM) throw err;
    kernelLoads = false;
  }
  const b = verifyInstructions(insns, { programType: T.TRACING, target });
  const typeRefused = /does not load programs of type tracing/.test(b.message ?? '');
  assert.equal(typeRefused, !kernelLoads, `kernel loads fentry: ${kernelLoads}; bpfkit: ${b.verdict} ${b.message ?? ''}`);
  // A type the kernel loads is never refused for its type.
  const xdp = verifyInstructions([alu64.mov.imm(0, 2), exit()], { programType: T.XDP, target });
  assert.equal(xdp.verdict, 'accept');
});

kernelTest('host answers are cached per boot id and reused', (sys) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-target-'));
  try {
    const first = hostTarget(sys, { cacheDir: dir });
    const answer = first.helperAllowed(T.XDP, ADJUST_META);
    first.programTypeAllowed(T.XDP);
    assert.equal(first.stats.probed, 2);
    first.save();
    const files = readdirSync(dir);
    assert.deepEqual(files, [`${first.bootId}.json`]);
    const second = hostTarget(sys, { cacheDir: dir });
    assert.equal(second.helperAllowed(T.XDP, ADJUST_META), answer);
    assert.equal(second.programTypeAllowed(T.XDP), true);
    assert.deepEqual(second.stats, { cached: 2, probed: 0 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('no bpf(2) permission: hostTarget throws HostProbeError naming why', () => {
  const sys = new FakeSys().failWith(EPERM);
  assert.throws(() => hostTarget(sys, { cacheDir: null }), (e: unknown) => e instanceof HostProbeError && e.code === 'ERR_HOST_PROBE' && /not permitted \(EPERM\)/.test(e.message));
});

kernelTest('bpfkit verify --target host: each program of the kfunc dynptr fixture gets the kernel\'s verdict and message; the answers land in the per-boot cache', async (sys) => {
  const file = path.join(fixturesDir, 'kfunc', 'kfunc_dynptr.o');
  const spec = loadObject(new Uint8Array(readFileSync(file)), { objectName: 'kfunc_dynptr' });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-target-cli-'));
  const saved = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = dir;
  try {
    const r = await cli('verify', file, '--target', 'host', '-j');
    const reports = JSON.parse(r.out) as { name: string; verdict: string; message: string | null }[];
    assert.equal(reports.length, spec.programs.length);
    for (const p of spec.programs) {
      const k = objectProgramVerdict(sys, { key: p.name, file, spec, program: p.name });
      const ours = reports.find((x) => x.name === p.name)!;
      assert.deepEqual([ours.verdict, ours.message ?? undefined], [k.verdict, k.message], p.name);
    }
    assert.equal(readdirSync(path.join(dir, 'bpfkit', 'target')).length, 1, 'one cache file for this boot');
  } finally {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved;
    rmSync(dir, { recursive: true, force: true });
  }
  const bad = await cli('verify', file, '--target', 'nowhere');
  // A usage error (exit 2, as every command's).
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--target must be upstream or host/);
});
