// bpfkit agent on a cgroup (cgroup_skb/egress, a cgroup link), a raw tracepoint and a tracepoint (sys_enter): attached
// and counting, a config change swapping both (the cgroup link updated in place, the raw tracepoint
// relinked), kill -9 then adoption, an entry removed from the config detached, detach on exit.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../support/fixtures.js';
import { ensureTracefs } from '../support/tracefs.js';
import { bpftool, kernelTest } from '../kernel/harness.js';
import { startAgent, type AgentProcess, type LogLine } from './agent-process.js';
import { linkById, metricValue } from './traffic.js';

const HOOKS = join(repoRoot, 'test/agent/c/hooks.o');

type LoggedEntry = { name: string; action: string; progId?: number; linkId?: number };
const entriesOf = (l: LogLine): Map<string, LoggedEntry> => new Map((l['entries'] as LoggedEntry[]).map((e) => [e.name, e]));
const applied = (gen: number) => (l: LogLine) => l.msg === 'config applied' && l['generation'] === gen;

/** Where cgroup v2 is mounted, if anywhere. */
function cgroup2Root(): string | undefined {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .find((f) => f[2] === 'cgroup2')?.[1];
}

/** Sends `count` UDP datagrams to 127.0.0.1 from a process inside `cgroup`. */
function sendFromCgroup(cgroup: string, count: number): void {
  const py = `import socket\\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\\nfor _ in range(${count}): s.sendto(b"c",("127.0.0.1",9))`;
  execFileSync('sh', ['-c', `echo $$ > ${cgroup}/cgroup.procs && exec python3 -c "$(printf '${py}')"`], { stdio: 'pipe' });
}

const root = cgroup2Root();

kernelTest('agent: cgroup, raw tracepoint and tracepoint attach points — counting, swapped on a config change, adopted after kill -9, detached on exit', async (_sys, t) => {
  if (!root) {
    t.skip('no cgroup2 mount on this machine: the cgroup attach point cannot be tried');
    return;
  }
  const tracefs = ensureTracefs();
  if (!tracefs.ok) {
    t.skip(`the tracepoint attach point cannot be tried: ${tracefs.reason}`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-agent-hooks-'));
  const bpffs = `/sys/fs/bpf/bpfkit-test-agenth-${process.pid}`;
  const cgroup = join(root, `bpfkit-agent-test-${process.pid}`);
  const cfgPath = join(dir, 'agent.yaml');
  const agents: AgentProcess[] = [];
  try {
    mkdirSync(cgroup);
    const config = (step: number) => `
bpffs: ${bpffs}
listen: 127.0.0.1:0
onExit: detach
objects:
  - { path: ${HOOKS}, globals: { step: ${step} } }
programs:
  - { name: egress, object: ${HOOKS}, program: count_egress, cgroup: { path: ${cgroup}, attach: egress } }
  - { name: syscalls, object: ${HOOKS}, program: count_sys_enter, rawTracepoint: { name: sys_enter } }
  - { name: tp, object: ${HOOKS}, program: count_tp_sys_enter, tracepoint: { category: raw_syscalls, name: sys_enter } }
metrics:
  - { map: hook_counts, type: gauge, keyLabel: hook, keyNames: { "0": cgroup_egress, "1": sys_enter, "2": tp_sys_enter } }
`;
    writeFileSync(cfgPath, config(1));
    let agent = await startAgent(['--config', cfgPath]);
    agents.push(agent);
    const first = entriesOf(await agent.waitFor(applied(1)));
    assert.equal(first.get('egress')!.action, 'created');
    assert.equal(first.get('syscalls')!.action, 'created');
    assert.equal(first.get('tp')!.action, 'created');
    assert.equal((bpftool('link', 'show', 'id', String(first.get('tp')!.linkId)) as { type: string }).type, 'perf_event');
    const attached = bpftool('cgroup', 'show', cgroup) as { id: number; attach_type: string }[];
    assert.deepEqual(attached.map((a) => [a.id, a.attach_type]), [[first.get('egress')!.progId, 'cgroup_inet_egress']]);
    assert.equal(linkById(first.get('syscalls')!.linkId!)?.prog_id, first.get('syscalls')!.progId);

    const value = async (hook: string) => metricValue((await agent.get('/metrics')).body, 'bpfkit_agent_map_hook_counts', { hook }) ?? 0n;
    sendFromCgroup(cgroup, 20);
    const afterSend = await value('cgroup_egress');
    assert.ok(afterSend >= 20n, `cgroup egress counted ${afterSend} of 20 datagrams`);
    assert.ok((await value('sys_enter')) > 0n, 'sys_enter counted nothing');
    assert.ok((await value('tp_sys_enter')) > 0n, 'the raw_syscalls/sys_enter tracepoint counted nothing');

    // step 1 -> 3: .rodata changes, so both programs are replaced.
    writeFileSync(cfgPath, config(3));
    agent.child.kill('SIGHUP');
    const second = entriesOf(await agent.waitFor(applied(2), 30_000));
    assert.equal(second.get('egress')!.action, 'updated');
    assert.equal(second.get('egress')!.linkId, first.get('egress')!.linkId, 'the cgroup link is updated in place');
    assert.notEqual(second.get('egress')!.progId, first.get('egress')!.progId);
    assert.equal(second.get('syscalls')!.action, 'updated');
    assert.notEqual(second.get('syscalls')!.linkId, first.get('syscalls')!.linkId, 'a raw tracepoint gets a new link');
    assert.equal(linkById(first.get('syscalls')!.linkId!), undefined, 'the old raw tracepoint link is gone');
    assert.equal(second.get('tp')!.action, 'updated');
    assert.equal(linkById(first.get('tp')!.linkId!), undefined, 'the old perf event link is gone');
    assert.equal(linkById(second.get('tp')!.linkId!)?.prog_id, second.get('tp')!.progId);
    const base = await value('cgroup_egress');
    sendFromCgroup(cgroup, 10);
    const stepped = (await value('cgroup_egress')) - base;
    assert.ok(stepped >= 30n && stepped % 3n === 0n, `the new program adds 3 per packet: +${stepped} for 10 datagrams`);

    agent.child.kill('SIGKILL');
    await agent.exited;
    agent = await startAgent(['--config', cfgPath]);
    agents.push(agent);
    const third = entriesOf(await agent.waitFor(applied(1)));
    for (const name of ['egress', 'syscalls', 'tp']) {
      assert.equal(third.get(name)!.action, 'adopted', name);
      assert.equal(third.get(name)!.progId, second.get(name)!.progId, name);
    }

    assert.match((await agent.get('/metrics')).body, /^# TYPE bpfkit_agent_map_hook_counts gauge$/m);

    // An entry taken out of the config is detached; the other stays as it is.
    writeFileSync(cfgPath, config(3).replace(/ {2}- \{ name: syscalls,.*\n/, ''));
    agent.child.kill('SIGHUP');
    const fourth = await agent.waitFor((l) => l.msg === 'config applied' && l['generation'] === 2, 30_000);
    assert.deepEqual(fourth['removed'], ['syscalls']);
    assert.equal(entriesOf(fourth).get('egress')!.action, 'unchanged');
    assert.equal(entriesOf(fourth).get('tp')!.action, 'unchanged');
    assert.equal(linkById(second.get('syscalls')!.linkId!), undefined, 'the removed raw tracepoint link is still there');
    assert.equal(existsSync(`${bpffs}/links/syscalls`), false);

    // SIGINT under --on-exit keep: the agent exits and the programs stay; the next one adopts them.
    agent.child.kill('SIGKILL');
    await agent.exited;
    const restarted = await startAgent(['--config', cfgPath, '--on-exit', 'keep']);
    agents.push(restarted);
    const kept = entriesOf(await restarted.waitFor(applied(1)));
    restarted.child.kill('SIGINT');
    assert.equal(await restarted.exited, 0);
    assert.equal(linkById(kept.get('egress')!.linkId!)?.prog_id, kept.get('egress')!.progId, 'onExit keep detached the cgroup link');
    assert.equal(linkById(kept.get('tp')!.linkId!)?.prog_id, kept.get('tp')!.progId, 'onExit keep detached the tracepoint link');
    agent = await startAgent(['--config', cfgPath]);
    agents.push(agent);
    assert.equal(entriesOf(await agent.waitFor(applied(1))).get('egress')!.action, 'adopted');

    agent.child.kill('SIGTERM');
    assert.equal(await agent.exited, 0);
    // bpftool prints nothing at all for a cgroup without programs.
    assert.match(execFileSync('bpftool', ['cgroup', 'show', cgroup, '-j'], { encoding: 'utf8' }), /^(\[\])?\s*$/);
    assert.equal(linkById(second.get('syscalls')!.linkId!), undefined);
    assert.equal(linkById(second.get('tp')!.linkId!), undefined);
    assert.equal(existsSync(bpffs), false);
  } finally {
    for (const a of agents) a.kill();
    if (existsSync(bpffs)) execFileSync('rm', ['-rf', bpffs]);
    try {
      rmdirSync(cgroup);
    } catch {
      // still populated for a moment, or never made
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
