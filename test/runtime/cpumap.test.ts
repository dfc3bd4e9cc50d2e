// Cpumap redirects: bpf_redirect_map into a cpumap returns what the kernel's BPF_PROG_TEST_RUN returns (XDP_REDIRECT
// to a filled slot, the flags' fallback action to an empty one), program fds in cpumap values resolve like the
// kernel's, and the pipeline runs redirected frames on the target CPU through the entry's xdp/cpumap program.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadObject } from '../../src/elf/index.js';
import { XdpAction } from '../../src/isa/uapi.generated.js';
import { updateElem } from '../../src/kernel/bpf/map-elem.js';
import { KernelError } from '../../src/kernel/kernel-error.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import { CpuMap } from '../../src/maps/cpumap.js';
import { MapErrno } from '../../src/maps/errors.js';
import { buildUdp, CaptureReader, PcapWriter, writePcap } from '../../src/packet/index.js';
import { Pipeline } from '../../src/runtime/pipeline.js';
import { loadUserspace } from '../../src/runtime/index.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/output.js';
import { compileBpf } from '../support/clang.js';
import { kernelTest, u32 } from '../kernel/harness.js';
import { mapsMoreObject } from '../maps/maps-more.js';

const spec = () => loadObject(mapsMoreObject(), { objectName: 'maps_more' });
const val = (qsize: number, fd: number): Uint8Array => {
  const v = new Uint8Array(8);
  v.set(u32(qsize), 0);
  v.set(u32(fd), 4);
  return v;
};

kernelTest('bpf_redirect_map into a cpumap: XDP_REDIRECT to a filled slot, the fallback action to an empty one, as BPF_PROG_TEST_RUN', (sys) => {
  using kernel = loadKernelObject(sys, spec());
  using user = loadUserspace(spec(), { cpus: 2, programs: ['xdp_to_cpu', 'xdp_on_cpu'] });
  const data = buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, payload: 'cpumap' });
  const run = () => [kernel.program('xdp_to_cpu').testRun({ dataIn: data }).retval, user.program('xdp_to_cpu').testRun({ data }).retval];
  let [k, u] = run();
  assert.equal(u, k, 'empty slot');
  assert.equal(u, XdpAction.PASS, 'the flags (XDP_PASS) are the fallback');
  // Fill CPU 0 (the test run's rx queue 0 picks it), with the cpumap program.
  const kProg = kernel.program('xdp_on_cpu');
  updateElem(kernel.map('cpu_map').fd, u32(0), val(192, kProg.fd.raw), 0);
  const uProg = user.program('xdp_on_cpu');
  user.bpfMap('cpu_map').set(u32(0), val(192, uProg.id));
  [k, u] = run();
  assert.equal(u, k, 'filled slot');
  assert.equal(u, XdpAction.REDIRECT);
  // Read back: qsize and the program's id.
  const kv = kernel.map('cpu_map').get(u32(0))!;
  assert.deepEqual(kv.subarray(0, 4), u32(192));
  assert.equal(new DataView(kv.buffer, kv.byteOffset).getUint32(4, true), kProg.info().id);
  assert.deepEqual(user.bpfMap('cpu_map').get(u32(0)), val(192, uProg.id));
  // A program not loaded for BPF_XDP_CPUMAP: the kernel fails the entry allocation (ENOMEM); so does bpfkit.
  let kErr = 0;
  try {
    updateElem(kernel.map('cpu_map').fd, u32(1), val(64, kernel.program('xdp_to_cpu').fd.raw), 0);
  } catch (e) {
    kErr = (e as KernelError).errno;
  }
  const ops = user.mapOps.get('cpu_map') as CpuMap;
  assert.equal(ops.write(u32(1), val(64, user.program('xdp_to_cpu').id), 0), -kErr);
  assert.equal(kErr, MapErrno.ENOMEM);
  // Emptied (qsize 0): the fallback again.
  updateElem(kernel.map('cpu_map').fd, u32(0), val(0, 0), 0);
  user.bpfMap('cpu_map').set(u32(0), val(0, 0));
  [k, u] = run();
  assert.equal(u, k, 'emptied slot');
  assert.equal(u, XdpAction.PASS);
});

test('pipeline: frames redirected into a cpumap run on the target CPU through the entry program, whose verdict decides', () => {
  using obj = loadUserspace(spec(), { cpus: 2, programs: ['xdp_to_cpu', 'xdp_on_cpu'] });
  const onCpu = obj.program('xdp_on_cpu');
  const cpus = obj.mapOps.get('cpu_map') as CpuMap;
  assert.equal(cpus.write(u32(0), val(128, onCpu.id), 0), 0);
  assert.deepEqual(cpus.entry(0), { qsize: 128, progId: onCpu.id, program: onCpu });
  // 20 frames; the source MAC's last byte (frame byte 11) varies, byte 13 (the EtherType's low byte) is 0x00: IPv4.
  // Odd frames get EtherType 0x0801 (byte 13 odd): the cpumap program drops them.
  const frames = Array.from({ length: 20 }, (_, i) => {
    const f = buildUdp({ src: `10.0.0.${i + 1}`, dst: '10.0.0.200', sport: 1000 + i, dport: 53, payload: `frame ${i}` });
    if (i % 2 === 1) f[13] = 0x01;
    return f;
  });
  const pass = new PcapWriter();
  const drop = new PcapWriter();
  // One queue: every frame arrives on rx queue 0, so the program redirects all to CPU 0.
  const r = new Pipeline(obj.program('xdp_to_cpu'), { cpus: 1, sinks: { pass, drop } }).push(writePcap(frames)).end();
  assert.deepEqual(r.verdicts.map((v) => [v.verdict, v.packets]), [['redirect', 20]]);
  assert.ok(r.cpumap);
  assert.deepEqual(r.cpumap.cpus.map((c) => [c.cpu, c.packets]), [[0, 20]]);
  assert.deepEqual(r.cpumap.verdicts.map((v) => [v.verdict, v.packets]), [['drop', 10], ['pass', 10]]);
  const read = (w: PcapWriter) => [...new CaptureReader().push(w.flush()).end()];
  const passed = read(pass);
  assert.equal(passed.length, 10);
  for (const p of passed) assert.equal(p.buffer[p.offset + 13], 0x00, 'only even (IPv4) frames pass');
  assert.equal(read(drop).length, 10);
  // Without a program on the entry, a redirected frame goes to the stack: pass.
  assert.equal(cpus.write(u32(0), val(128, 0), 0), 0);
  const r2 = new Pipeline(obj.program('xdp_to_cpu'), { cpus: 1 }).push(writePcap(frames)).end();
  assert.deepEqual(r2.cpumap?.verdicts.map((v) => [v.verdict, v.packets]), [['pass', 20]]);
  // An empty slot: no redirect, the fallback (XDP_PASS), no cpumap stage.
  assert.equal(cpus.delete(u32(0), 0), 0);
  const r3 = new Pipeline(obj.program('xdp_to_cpu'), { cpus: 1 }).push(writePcap(frames)).end();
  assert.deepEqual(r3.verdicts.map((v) => [v.verdict, v.packets]), [['pass', 20]]);
  assert.equal(r3.cpumap, undefined);
});

test('cpumap from user space: the kernel order of errors, CPUs the runtime lacks are ENODEV, only xdp/cpumap programs', () => {
  using obj = loadUserspace(spec(), { cpus: 2, programs: ['xdp_to_cpu', 'xdp_on_cpu'] });
  const m = obj.mapOps.get('cpu_map') as CpuMap;
  assert.equal(m.write(u32(2), val(1, 0), 0), -MapErrno.ENODEV, 'CPU 2 of a 2-CPU runtime');
  assert.equal(m.write(u32(4), val(1, 0), 0), -MapErrno.E2BIG);
  assert.equal(m.write(u32(0), val(16385, 0), 0), -MapErrno.EOVERFLOW);
  assert.equal(m.write(u32(0), val(1, 0), 1), -MapErrno.EEXIST);
  assert.equal(m.write(u32(0), val(1, 0), 3), -MapErrno.EINVAL);
  assert.equal(m.write(u32(0), val(1, obj.program('xdp_to_cpu').id), 0), -MapErrno.ENOMEM, 'not an xdp/cpumap program');
  assert.equal(m.write(u32(0), val(1, 99), 0), -MapErrno.ENOMEM, 'no such program');
  assert.equal(m.delete(u32(4), 0), -MapErrno.EINVAL);
  assert.throws(() => obj.bpfMap('cpu_map').set(u32(0), val(1, 99)), /ENOMEM/);
});

test('bpfkit run: a cpumap entry set with --map-update (qsize, program id) sends redirected frames through the cpumap program', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bpfkit-cpumap-run-'));
  try {
    const bytes = compileBpf(path.join(import.meta.dirname, 'c', 'cpumap_redirect.c'));
    const obj = path.join(dir, 'cpumap_redirect.o');
    const pcap = path.join(dir, 'in.pcap');
    writeFileSync(obj, bytes);
    const frames = Array.from({ length: 12 }, (_, i) => {
      const f = buildUdp({ src: `10.2.0.${i + 1}`, dst: '10.2.0.99', sport: 2000 + i, dport: 53, payload: 'run' });
      if (i % 3 === 0) f[13] = 0x01;
      return f;
    });
    writeFileSync(pcap, writePcap(frames));
    const id = loadObject(bytes, { objectName: 'cpumap_redirect' }).programs.findIndex((p) => p.name === 'xdp_on_cpu') + 1;
    let out = '';
    const io: Io = { out: (s) => void (out += s), err: (s) => void (out += s) };
    const code = await main(['run', obj, '--pcap', pcap, '--prog', 'xdp_to_cpu', '--map-update', 'cpu_map', ...`key 0 0 0 0 value 64 0 0 0 ${id} 0 0 0`.split(' '), '-j'], io);
    assert.equal(code, 0, out);
    const r = JSON.parse(out) as { verdicts: { verdict: string; packets: number }[]; cpumap: { per_cpu: { cpu: number; packets: number }[]; verdicts: { verdict: string; packets: number }[] } };
    assert.deepEqual(r.verdicts.map((v) => [v.verdict, v.packets]), [['redirect', 12]]);
    assert.deepEqual(r.cpumap.per_cpu.map((c) => [c.cpu, c.packets]), [[0, 12]]);
    assert.deepEqual(r.cpumap.verdicts.map((v) => [v.verdict, v.packets]), [['drop', 4], ['pass', 8]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

kernelTest('bpf_redirect_map flags into a cpumap: the fallback action, and XDP_ABORTED above XDP_TX, as BPF_PROG_TEST_RUN', (sys) => {
  const bytes = compileBpf(path.join(import.meta.dirname, 'c', 'cpumap_redirect.c'));
  const s = loadObject(bytes, { objectName: 'cpumap_redirect' });
  using kernel = loadKernelObject(sys, s);
  using user = loadUserspace(s, { cpus: 2 });
  const data = buildUdp({ src: '10.3.0.1', dst: '10.3.0.2', sport: 5, dport: 6, payload: 'flags' });
  const names = ['to_cpu_aborted', 'to_cpu_drop', 'to_cpu_tx', 'to_cpu_4', 'to_cpu_broadcast', 'to_cpu_9'];
  const seen = new Set<number>();
  for (const filled of [false, true]) {
    if (filled) {
      updateElem(kernel.map('cpu_map').fd, u32(0), val(32, 0), 0);
      user.bpfMap('cpu_map').set(u32(0), val(32, 0));
    }
    for (const name of names) {
      const k = kernel.program(name).testRun({ dataIn: data }).retval;
      const u = user.program(name).testRun({ data }).retval;
      assert.equal(u, k, `${name}, slot ${filled ? 'filled' : 'empty'}`);
      seen.add(k);
    }
  }
  assert.deepEqual([...seen].sort(), [XdpAction.ABORTED, XdpAction.DROP, XdpAction.TX, XdpAction.REDIRECT].sort());
});

kernelTest('the cpumap second stage equals the kernel\'s: live-frames test runs redirect to CPU 1, whose cpumap program counts and judges each frame', async (sys) => {
  const bytes = compileBpf(path.join(import.meta.dirname, 'c', 'cpumap_redirect.c'));
  const s = loadObject(bytes, { objectName: 'cpumap_redirect' });
  using kernel = loadKernelObject(sys, s);
  using user = loadUserspace(s, { cpus: 2 });
  updateElem(kernel.map('cpu_map').fd, u32(1), val(64, kernel.program('xdp_on_cpu').fd.raw), 0);
  user.bpfMap('cpu_map').set(u32(1), val(64, user.program('xdp_on_cpu').id));
  const frames = Array.from({ length: 24 }, (_, i) => {
    const f = buildUdp({ src: `10.4.0.${i + 1}`, dst: '10.4.0.200', sport: 3000 + i, dport: 80, payload: 'x'.repeat(i) });
    if (i % 4 === 1) f[13] = 0x03;
    return f;
  });
  const BPF_F_TEST_XDP_LIVE_FRAMES = 2;
  for (const f of frames) assert.equal(kernel.program('xdp_to_cpu1').testRun({ dataIn: f, flags: BPF_F_TEST_XDP_LIVE_FRAMES }).retval, 0, 'live frames report 0');
  const r = new Pipeline(user.program('xdp_to_cpu1'), { cpus: 1 }).push(writePcap(frames)).end();
  const perCpu = (o: { map(n: string): { getPerCpu(k: Uint8Array): Uint8Array[] | undefined } }, key: number): bigint[] => (o.map('on_cpu_seen').getPerCpu(u32(key)) ?? []).map((b) => new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
  // The kernel's cpumap kthread runs the frames asynchronously: wait until it has seen them all.
  for (let i = 0; i < 100 && (perCpu(kernel, 0)[1] ?? 0n) < BigInt(frames.length); i++) await new Promise((res) => setTimeout(res, 20));
  const userMaps = { map: (n: string) => user.bpfMap(n) };
  for (const key of [0, 1]) assert.deepEqual(perCpu(userMaps, key), perCpu(kernel, key), `on_cpu_seen[${key}] per CPU`);
  assert.deepEqual(perCpu(kernel, 0), [0n, 24n], 'every frame ran on CPU 1');
  assert.deepEqual(perCpu(kernel, 1), [0n, 18n]);
  assert.deepEqual(r.cpumap?.cpus.map((c) => [c.cpu, c.packets]), [[1, 24]]);
  assert.deepEqual(r.cpumap?.verdicts.map((v) => [v.verdict, v.packets]), [['drop', 6], ['pass', 18]]);
});
