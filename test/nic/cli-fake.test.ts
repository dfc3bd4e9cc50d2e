// `bpfkit nic` subcommands a veth cannot exercise (rings, coalescing, RSS tables), over a fake device; and usage errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandArgs } from '../../src/cli/args.js';
import { UsageError } from '../../src/cli/errors.js';
import { nicOptions, nicUsage, runNic } from '../../src/cli/nic.js';
import type { Io } from '../../src/cli/output.js';
import { EthtoolCoalesce, EthtoolMsg, EthtoolRings, EthtoolRss } from '../../src/kernel/ethtool/ethtool.generated.js';
import { GenlFakeSys } from '../kernel/ethtool/genl-fake.js';
import { nicFamily } from '../kernel/ethtool/fake-nic.js';

function run(sys: GenlFakeSys, ...argv: string[]): { code: number; out: string } {
  let out = '';
  const io: Io = { out: (t) => void (out += t), err: () => undefined };
  const code = runNic(new CommandArgs(argv, nicOptions, nicUsage), io, sys);
  return { code, out };
}

const lastSet = (sys: GenlFakeSys, cmd: number) => {
  const r = sys.requests.filter((q) => q.cmd === cmd).at(-1);
  assert.ok(r, `no request ${cmd}`);
  return r.attrs;
};

const u32s = (b: Uint8Array | undefined) => {
  assert.ok(b);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return Array.from({ length: b.length / 4 }, (_, i) => v.getUint32(i * 4, true));
};

test('nic rss: equal N and weight W... build ethtool\'s tables of the size the device reports; hkey and hfunc by name', () => {
  const sys = new GenlFakeSys({ ethtool: nicFamily() });
  assert.equal(run(sys, 'rss', 'eth9', 'equal', '4').code, 0);
  const equal = u32s(lastSet(sys, EthtoolMsg.RSS_SET).get(EthtoolRss.INDIR));
  assert.equal(equal.length, 128);
  assert.deepEqual(equal.slice(0, 6), [0, 1, 2, 3, 0, 1]);

  run(sys, 'rss', 'eth9', 'weight', '3', '1');
  const weighted = u32s(lastSet(sys, EthtoolMsg.RSS_SET).get(EthtoolRss.INDIR));
  assert.equal(weighted.filter((q) => q === 0).length, 96);
  assert.equal(weighted.filter((q) => q === 1).length, 32);

  run(sys, 'rss', 'eth9', 'hkey', 'be:ef:00:01', 'hfunc', 'xor');
  const a = lastSet(sys, EthtoolMsg.RSS_SET);
  assert.deepEqual([...a.get(EthtoolRss.HKEY)!], [0xbe, 0xef, 0, 1]);
  assert.equal(a.u32(EthtoolRss.HFUNC), 2, 'xor is string 1 of ETH_SS_RSS_HASH_FUNCS: bit 1');
  assert.equal(a.has(EthtoolRss.INDIR), false, 'no table change asked');

  assert.throws(() => run(sys, 'rss', 'eth9', 'hfunc', 'md5'), (e: unknown) => e instanceof UsageError && /unknown hash function 'md5' \(this kernel knows toeplitz, xor, crc32\)/.test(e.message));
  assert.throws(() => run(sys, 'rss', 'eth9', 'hkey', 'xyz'), UsageError);
  assert.throws(() => run(sys, 'rss', 'eth9', 'weight'), UsageError);

  const shown = JSON.parse(run(sys, 'rss', 'eth9', '--json').out) as { hfunc: string[]; indir: number[] };
  assert.deepEqual(shown.hfunc, ['toeplitz']);
  assert.equal(shown.indir.length, 128);
});

test('nic rings and coalesce: ethtool words to attributes', () => {
  const sys = new GenlFakeSys({ ethtool: nicFamily() });
  const r = run(sys, 'rings', 'eth9', 'rx', '4096', 'tx', '2048');
  assert.equal(r.code, 0);
  assert.match(r.out, /RX:\s+8192\s+1024/);
  const rings = lastSet(sys, EthtoolMsg.RINGS_SET);
  assert.deepEqual([rings.u32(EthtoolRings.RX), rings.u32(EthtoolRings.TX)], [4096, 2048]);

  const c = run(sys, 'coalesce', 'eth9', 'rx-usecs', '50', 'adaptive-rx', 'off');
  assert.equal(c.code, 0);
  const co = lastSet(sys, EthtoolMsg.COALESCE_SET);
  assert.deepEqual([co.u32(EthtoolCoalesce.RX_USECS), co.u8(EthtoolCoalesce.USE_ADAPTIVE_RX)], [50, 0]);
  assert.match(c.out, /adaptive-rx: on/, 'prints what the device reports after the set');
});

test('usage errors: missing or bad values, unknown words, --apply without --save', () => {
  const sys = new GenlFakeSys({ ethtool: nicFamily() });
  const bad: [string[], RegExp][] = [
    [['channels', 'eth9', 'rx'], /'rx' needs a value/],
    [['channels', 'eth9', 'rx', 'many'], /rx needs a non-negative integer, got 'many'/],
    [['channels', 'eth9', 'queues', '4'], /unknown parameter 'queues'/],
    [['channels', 'eth9', 'rx', '99999999999'], /out of range/],
    [['rings', 'eth9', 'rx-mini'], /needs a value/],
    [['coalesce', 'eth9', 'adaptive-rx', 'yes'], /expected on or off/],
    [['frobnicate', 'eth9'], /unknown nic subcommand 'frobnicate'/],
    [['audit', 'eth9', '--apply'], /--apply needs --save FILE/],
    [['audit', 'eth9', '--save', 'x.json'], /--save only goes with --apply/],
    [['show'], /missing DEV/],
  ];
  for (const [argv, re] of bad) assert.throws(() => run(sys, ...argv), (e: unknown) => e instanceof UsageError && re.test(e.message), argv.join(' '));
  assert.equal(sys.requests.filter((r) => ([EthtoolMsg.CHANNELS_SET, EthtoolMsg.RINGS_SET, EthtoolMsg.COALESCE_SET] as number[]).includes(r.cmd)).length, 0, 'no set was sent');
});
