// bpfkit agent with two XDP entries on one interface: they run on bpfkit's dispatcher (XdpMultiProg) in
// priority order; a swap under traffic passes no blocked datagram; kill -9 and restart adopt the
// dispatcher's programs; onExit: detach unloads it.
import assert from 'node:assert/strict';
import type { Socket } from 'node:dgram';
import { copyFileSync, existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { repoRoot } from '../support/fixtures.js';
import { createVethPair, nsExec, staticNeighbour, withNetns, type VethPair } from '../support/netns.js';
import { bpftool, kernelTest } from '../kernel/harness.js';
import { startAgent, type AgentProcess, type LogLine } from './agent-process.js';
import { BLOCKED, linkById, metricValue, OPEN, receiver, sendAlternating, sendUdpCount, settle, xdpProgIds } from './traffic.js';

const C = join(repoRoot, 'test/agent/c');
const XDP_STATS = join(repoRoot, 'examples/xdp_stats.o');
const net = `10.${120 + (process.pid % 40)}.${(process.pid >> 6) % 200}`;

type LoggedEntry = { name: string; action: string; status: string; attach: string; progId?: number; linkId?: number };
const entriesOf = (l: LogLine): Map<string, LoggedEntry> => new Map((l['entries'] as LoggedEntry[]).map((e) => [e.name, e]));
const applied = (gen: number) => (l: LogLine) => l.msg === 'config applied' && l['generation'] === gen;

kernelTest('agent: two XDP entries on one interface share the dispatcher; swap under traffic, restart adoption, detach', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-agent-multi-'));
  const bpffs = `/sys/fs/bpf/bpfkit-test-agentm-${process.pid}`;
  const filterObj = join(dir, 'filter.o');
  const cfgPath = join(dir, 'agent.yaml');
  const agents: AgentProcess[] = [];
  const sockets: Socket[] = [];
  let pair: VethPair | undefined;
  try {
    await withNetns('bpfkit-agm-', async (ns) => {
      pair = createVethPair({ prefix: 'bkam', b: { ns, address: `${net}.2/24` } });
      nsExec(undefined, ['ip', 'addr', 'add', `${net}.1/24`, 'dev', pair.a.name]);
      staticNeighbour(ns, pair.b.name, `${net}.1`, pair.a.mac);
      copyFileSync(join(C, 'port_filter_a.o'), filterObj);
      writeFileSync(
        cfgPath,
        `
bpffs: ${bpffs}
listen: 127.0.0.1:0
onExit: detach
objects:
  - { path: ${filterObj}, globals: { blocked_port: ${BLOCKED} } }
programs:
  - { name: filter, object: ${filterObj}, program: port_filter, xdp: { interface: ${pair.a.name}, mode: skb, priority: 10 } }
  - { name: stats, object: ${XDP_STATS}, program: xdp_stats_prog, xdp: { interface: ${pair.a.name}, mode: skb, priority: 20 } }
metrics:
  - { map: filter_stats }
  - { map: xdp_stats_map, keyLabel: action, keyNames: { "1": drop, "2": pass } }
`,
      );
      let agent = await startAgent(['--config', cfgPath]);
      agents.push(agent);
      const first = entriesOf(await agent.waitFor(applied(1)));
      const f1 = first.get('filter')!;
      const s1 = first.get('stats')!;
      assert.equal(f1.action, 'created');
      assert.equal(s1.action, 'created');
      assert.match(f1.attach, /\[dispatcher\]/);
      assert.equal(f1.linkId, s1.linkId, 'one dispatcher link for both');
      const dispatcher = xdpProgIds().get(pair.a.name)!;
      assert.ok(![f1.progId, s1.progId].includes(dispatcher), 'the interface runs the dispatcher, not a component');
      assert.equal((bpftool('prog', 'show', 'id', String(dispatcher)) as { name: string }).name, 'bpfkit_dispatch');

      // Priority order: the filter (10) drops before xdp_stats (20) sees the packet.
      const rxBlocked = await receiver(`${net}.1`, BLOCKED);
      const rxOpen = await receiver(`${net}.1`, OPEN);
      sockets.push(rxBlocked.sock, rxOpen.sock);
      sendUdpCount(ns, `${net}.1`, BLOCKED, 40);
      sendUdpCount(ns, `${net}.1`, OPEN, 25);
      await settle(() => rxOpen.count() === 25);
      const m1 = (await agent.get('/metrics')).body;
      assert.equal(metricValue(m1, 'bpfkit_agent_map_filter_stats_total', { field: 'dropped' }), 40n, 'the filter on the dispatcher counted the blocked datagrams (its own maps)');
      const statsPass = metricValue(m1, 'bpfkit_agent_map_xdp_stats_map_total', { action: 'pass', field: 'rx_packets' })!;
      assert.ok(statsPass >= 25n && statsPass < 65n, `xdp_stats after the filter saw ${statsPass}: the dropped ones must not reach it`);
      assert.equal(rxBlocked.count(), 0);

      // Swap the filter under traffic: the dispatcher is rebuilt and swapped with BPF_LINK_UPDATE.
      let sent = { blocked: 0, open: 0 };
      const traffic = sendAlternating(ns, `${net}.1`, 2, () => {
        setTimeout(() => {
          copyFileSync(join(C, 'port_filter_b.o'), `${filterObj}.tmp`);
          renameSync(`${filterObj}.tmp`, filterObj);
          agent.child.kill('SIGHUP');
        }, 600);
      }).then((s) => (sent = s));
      const second = entriesOf(await agent.waitFor(applied(2), 30_000));
      await traffic;
      await settle(() => rxOpen.count() >= 25 + sent.open * 0.9);
      console.log(`# dispatcher swap under traffic: ${sent.blocked} blocked + ${sent.open} open sent; at the peer ${rxBlocked.count()} blocked, ${rxOpen.count() - 25} open`);
      assert.ok(sent.blocked > 300);
      assert.equal(rxBlocked.count(), 0, 'a blocked datagram passed during the swap');
      assert.equal(second.get('filter')!.action, 'updated');
      assert.notEqual(second.get('filter')!.progId, f1.progId);
      assert.equal(second.get('stats')!.action, 'unchanged');
      assert.equal(second.get('stats')!.progId, s1.progId);
      assert.equal(second.get('filter')!.linkId, f1.linkId, 'the dispatcher link stays');

      // kill -9, restart: the dispatcher's programs are adopted as they are.
      agent.child.kill('SIGKILL');
      await agent.exited;
      assert.ok(linkById(f1.linkId!), 'the dispatcher link survived kill -9');
      agent = await startAgent(['--config', cfgPath]);
      agents.push(agent);
      const third = entriesOf(await agent.waitFor(applied(1)));
      for (const name of ['filter', 'stats']) {
        assert.equal(third.get(name)!.action, 'adopted', name);
        assert.equal(third.get(name)!.progId, second.get(name)!.progId, name);
      }
      assert.equal(xdpProgIds().get(pair.a.name), linkById(f1.linkId!)!.prog_id);

      // onExit: detach unloads the dispatcher and removes the agent's bpffs directory.
      agent.child.kill('SIGTERM');
      assert.equal(await agent.exited, 0);
      assert.equal(xdpProgIds().has(pair.a.name), false);
      assert.equal(existsSync(bpffs), false);
    });
  } finally {
    for (const a of agents) a.kill();
    for (const s of sockets) s.close();
    pair?.delete();
    if (existsSync(bpffs)) execFileSync('rm', ['-rf', bpffs]);
    rmSync(dir, { recursive: true, force: true });
  }
});
