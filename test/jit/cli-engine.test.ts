// `bpfkit run` and `bpfkit test-run` with --engine jit|interpreter: the same verdicts, maps and outputs either way.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/output.js';
import { repoRoot } from '../support/fixtures.js';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t) };
  const code = await main(argv, io);
  return { code, out, err };
}

const obj = join(repoRoot, 'examples/xdp_flow_stats.o');
const pcap = join(repoRoot, 'examples/traffic.pcap');
const update = ['--map-update', 'allowed_flows', ...'key hex 0a 00 00 01 0a 00 00 02 9c 40 00 35 11 00 00 00 value hex 00 00 00 00 00 00 00 00'.split(' ')];

test('bpfkit run --engine: the JIT (default) and the interpreter report the same verdicts, per-CPU counts and maps', async () => {
  const strip = (j: Record<string, unknown>): Record<string, unknown> => {
    const { elapsed_ms: _e, packets_per_second: _p, engine: _g, ...rest } = j;
    return rest;
  };
  const jit = await cli('run', obj, '--pcap', pcap, '--cpus', '4', ...update, '--json');
  const interp = await cli('run', obj, '--pcap', pcap, '--cpus', '4', '--engine', 'interpreter', ...update, '--json');
  assert.equal(jit.code, 0, jit.err);
  assert.equal(interp.code, 0, interp.err);
  const a = JSON.parse(jit.out) as Record<string, unknown>;
  const b = JSON.parse(interp.out) as Record<string, unknown>;
  assert.equal(a['engine'], 'jit');
  assert.equal(b['engine'], 'interpreter');
  assert.deepEqual(strip(a), strip(b));
  const text = await cli('run', obj, '--pcap', pcap, ...update);
  assert.match(text.out, /\(RSS over 1 queue\), jit\n/);
  const bad = await cli('run', obj, '--pcap', pcap, '--engine', 'fast');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--engine must be jit or interpreter, got 'fast'/);
});

test('bpfkit test-run --engine: same retval, data_out and instruction count', async () => {
  const base = ['test-run', join(repoRoot, 'examples/xdp_stats.o'), '--prog', 'xdp_stats_prog', '--data-in', pcap, '--repeat', '10', '--json'];
  const a = JSON.parse((await cli(...base)).out) as Record<string, unknown>;
  const b = JSON.parse((await cli(...base, '--engine', 'interpreter')).out) as Record<string, unknown>;
  assert.equal(a['engine'], 'jit');
  assert.equal(b['engine'], 'interpreter');
  for (const k of ['retval', 'data_out', 'instructions']) assert.deepEqual(a[k], b[k], k);
  const kernelEngine = await cli('test-run', join(repoRoot, 'examples/xdp_stats.o'), '--prog', 'xdp_stats_prog', '--data-in', pcap, '--backend', 'kernel', '--engine', 'jit');
  assert.equal(kernelEngine.code, 2);
});
