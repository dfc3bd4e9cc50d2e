// `bpfkit test-run`: the userspace backend against the kernel backend (BPF_PROG_TEST_RUN) on the same object and packet.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/output.js';
import { buildUdp, writePcap } from '../../src/packet/index.js';
import { kernelTest } from '../kernel/harness.js';
import { fixturePath, repoRoot } from '../support/fixtures.js';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t) };
  const code = await main(argv, io);
  return { code, out, err };
}

const dir = mkdtempSync(join(tmpdir(), 'bpfkit-test-run-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const packet = buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 53, payload: 'hello' });
const packetFile = join(dir, 'packet.bin');
writeFileSync(packetFile, packet);

kernelTest('test-run: user and kernel backends agree on retval and data_out', async () => {
  const cases: [string, string][] = [
    [fixturePath('xdp_stats'), 'xdp_stats_prog'],
    [fixturePath('tc_flow_filter'), 'tc_flow_filter'],
    [fixturePath('socket_filter'), 'socket_http_filter'],
    [fixturePath('tail_calls'), 'dispatcher'],
    [join(repoRoot, 'examples/xdp_flow_stats.o'), 'xdp_flow_stats'],
  ];
  for (const [obj, prog] of cases) {
    const user = await cli('test-run', obj, '--prog', prog, '--data-in', packetFile, '-j');
    const kernel = await cli('test-run', obj, '--prog', prog, '--data-in', packetFile, '--backend', 'kernel', '-j');
    assert.equal(user.code, 0, user.out + user.err);
    assert.equal(kernel.code, 0, kernel.out + kernel.err);
    const u = JSON.parse(user.out);
    const k = JSON.parse(kernel.out);
    assert.equal(u.retval, k.retval, `${prog} retval`);
    assert.equal(u.data_out, k.data_out, `${prog} data_out`);
    assert.equal(u.backend, 'user');
    assert.equal(k.backend, 'kernel');
    assert.ok(u.duration_ns >= 0 && k.duration_ns >= 0);
  }
});

test('test-run prints bpftool-like text, writes --data-out, reads a pcap as --data-in', async () => {
  const out = join(dir, 'out.bin');
  const r = await cli('test-run', fixturePath('xdp_stats'), '--prog', 'xdp_stats_prog', '--data-in', packetFile, '--data-out', out, '--repeat', '10');
  assert.equal(r.code, 0);
  assert.match(r.out, /^Return value: 2 \(pass\), duration \(average\): \d+ns, \d+ instructions/);
  assert.deepEqual(new Uint8Array(readFileSync(out)), packet);
  const pcapFile = join(dir, 'one.pcap');
  writeFileSync(pcapFile, writePcap([packet]));
  const j = JSON.parse((await cli('test-run', fixturePath('xdp_stats'), '--prog', 'xdp_stats_prog', '--data-in', pcapFile, '-j')).out);
  assert.equal(j.data_out, Buffer.from(packet).toString('hex'));
  assert.equal(j.repeat, 1);
});

test('test-run usage errors exit 2; a ctx_in the kernel would refuse exits 1 with ERR_INVALID_CONTEXT', async () => {
  // --prog may be left out for a one-program object, not for one with several.
  assert.equal((await cli('test-run', fixturePath('xdp_stats'), '--data-in', packetFile)).code, 0, 'one program, no --prog');
  const several = await cli('test-run', fixturePath('tail_calls'), '--data-in', packetFile);
  assert.equal(several.code, 2, 'several programs, no --prog');
  assert.match(several.err, /choose one with --prog NAME/);
  assert.equal((await cli('test-run', fixturePath('xdp_stats'), '--prog', 'xdp_stats_prog')).code, 2, 'no --data-in');
  assert.equal((await cli('test-run', fixturePath('xdp_stats'), '--prog', 'nope', '--data-in', packetFile)).code, 2);
  assert.equal((await cli('test-run', fixturePath('xdp_stats'), '--prog', 'xdp_stats_prog', '--data-in', packetFile, '--backend', 'gpu')).code, 2);
  const ctx = join(dir, 'ctx.bin');
  const md = new Uint8Array(24);
  new DataView(md.buffer).setUint32(4, packet.length, true); // data_end
  new DataView(md.buffer).setUint32(20, 1, true); // egress_ifindex: the kernel says EINVAL
  writeFileSync(ctx, md);
  const r = await cli('test-run', fixturePath('xdp_stats'), '--prog', 'xdp_stats_prog', '--data-in', packetFile, '--ctx-in', ctx, '-j');
  assert.equal(r.code, 1);
  assert.equal(JSON.parse(r.out).code, 'ERR_INVALID_CONTEXT');
});
