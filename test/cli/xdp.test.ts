// `bpfkit xdp ...` as a user runs it: features of real devices; subcommand table and usage errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/output.js';
import { XDP_SUBCOMMANDS } from '../../src/cli/xdp.js';
import { kernelTest } from '../kernel/harness.js';
import { createVethPair, nsEnter, withNetns } from '../support/netns.js';
import { repoRoot } from '../support/fixtures.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t) };
  const code = await main(argv, io);
  return { code, out, err };
}

test('xdp: subcommands in a table; unknown subcommand and missing IFACE are usage errors', async () => {
  assert.deepEqual(Object.keys(XDP_SUBCOMMANDS).slice(0, 4), ['load', 'unload', 'status', 'features']);
  const bad = await run('xdp', 'frobnicate');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /unknown xdp subcommand 'frobnicate' \(expected load, unload, status, features/);
  const missing = await run('xdp', 'features');
  assert.equal(missing.code, 2);
  assert.match(missing.err, /missing IFACE/);
  const help = await run('xdp', '--help');
  for (const name of Object.keys(XDP_SUBCOMMANDS)) assert.match(help.out, new RegExp(`bpfkit xdp ${name}`));
});

kernelTest('xdp features: a veth has basic, redirect and rx-sg and all three RX metadata kfuncs; lo has none; unknown interface is typed', async () => {
  await withNetns('bkxf-', async (ns) => {
    using pair = createVethPair({ prefix: 'bkxf', a: { ns }, b: { ns } });
    const cli = (...args: string[]) => JSON.parse(nsEnter(ns, ['node', '--import', 'tsx', `${repoRoot}/src/cli/bin.ts`, 'xdp', 'features', ...args, '-j'], { timeoutMs: 60_000 })) as Record<string, unknown>;
    const veth = cli(pair.a.name);
    assert.equal(veth['ifindex'], pair.a.ifindex);
    assert.deepEqual(veth['xdp_features'], ['basic', 'redirect', 'rx-sg']);
    assert.equal(veth['xdp_features_flags'], 0x23);
    assert.deepEqual(veth['xdp_rx_metadata_features'], ['timestamp', 'hash', 'vlan-tag']);
    const lo = cli('lo');
    assert.deepEqual([lo['ifindex'], lo['xdp_features'], lo['xdp_features_flags']], [1, [], 0]);
    const text = nsEnter(ns, ['node', '--import', 'tsx', `${repoRoot}/src/cli/bin.ts`, 'xdp', 'features', pair.a.name], { timeoutMs: 60_000 });
    assert.match(text, /^NETDEV_XDP_ACT_BASIC: +yes$/m);
    assert.match(text, /^NETDEV_XDP_ACT_NDO_XMIT_SG: +no$/m);
  });
  const gone = await run('xdp', 'features', 'bk-no-such0');
  assert.equal(gone.code, 1);
  assert.match(gone.err, /no such network interface: "bk-no-such0" \[ERR_NO_SUCH_INTERFACE\]/);
});
