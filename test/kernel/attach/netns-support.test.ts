// test/support/netns.ts: namespaces and veth pairs come up, carry traffic, and are gone afterwards.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { createVethPair, nsExec, sendUdp, withNetns, withVethPair } from '../../support/netns.js';

const rxPackets = (ns: string, dev: string): number =>
  (JSON.parse(nsExec(ns, ['ip', '-j', '-s', 'link', 'show', 'dev', dev])) as { stats64: { rx: { packets: number } } }[])[0]?.stats64.rx.packets ?? 0;

const root = process.getuid?.() === 0;
const netnsList = (): string => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
const linkExists = (name: string): boolean => {
  try {
    execFileSync('ip', ['link', 'show', 'dev', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

test('two namespaces joined by a veth pair: ping works; everything is removed, also after a failure', { skip: root ? false : 'needs root' }, async () => {
  let names: string[] = [];
  await assert.rejects(
    withNetns('bpfkit-at-', async (a) =>
      withNetns('bpfkit-at-', async (b) => {
        await withVethPair({ prefix: 'bkat', a: { ns: a, address: '10.213.0.1/24' }, b: { ns: b, address: '10.213.0.2/24' } }, (pair) => {
          names = [a.name, b.name, pair.a.name, pair.b.name];
          assert.ok(pair.a.name.length <= 15 && pair.b.name.length <= 15);
          assert.match(pair.a.mac, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
          const before = rxPackets(b.name, pair.b.name);
          sendUdp(a, '10.213.0.2', 9999, 5, 100);
          assert.ok(rxPackets(b.name, pair.b.name) - before >= 5, 'the datagrams crossed the pair');
          throw new Error('boom');
        });
      }),
    ),
    /boom/,
  );
  assert.equal(names.length, 4);
  const list = netnsList();
  for (const ns of names.slice(0, 2)) assert.ok(!list.includes(ns), `${ns} still exists`);
});

test('a root-namespace veth end is deleted on dispose', { skip: root ? false : 'needs root' }, () => {
  let name: string;
  {
    using pair = createVethPair({ prefix: 'bkat' });
    name = pair.a.name;
    assert.ok(linkExists(name));
    assert.ok(pair.a.ifindex > 0);
  }
  assert.equal(linkExists(name), false);
});
