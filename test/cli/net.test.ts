// `bpfkit net` against `bpftool net` in a namespace: same XDP and cls_bpf entries, same field names; TCX too.
import assert from 'node:assert/strict';
import { repoRoot } from '../support/fixtures.js';
import { createVethPair, nsEnter, withNetns } from '../support/netns.js';
import { kernelTest } from '../kernel/harness.js';

const bpfkit = (ns: Parameters<typeof nsEnter>[0], ...args: string[]): string => nsEnter(ns, ['node', '--import', 'tsx', `${repoRoot}/src/cli/bin.ts`, ...args], { timeoutMs: 60_000 });

interface NetDoc {
  xdp: Record<string, unknown>[];
  tc: Record<string, unknown>[];
}

kernelTest('net -j lists what bpftool net -j lists (xdp, clsact), plus TCX with prog_id/link_id; dev filters', async () => {
  await withNetns('bpfkit-at-', async (ns) => {
    using pair = createVethPair({ prefix: 'bkat', a: { ns }, b: { ns } });
    const xdpObj = `${repoRoot}/examples/xdp_stats.o`;
    const tcObj = `${repoRoot}/test/fixtures/tc_flow_filter.o`;
    bpfkit(ns, 'attach', 'xdp', xdpObj, '--dev', pair.a.name, '--mode', 'skb');
    bpfkit(ns, 'attach', 'xdp', xdpObj, '--dev', pair.b.name, '--mode', 'native');
    bpfkit(ns, 'attach', 'tc', tcObj, '--dev', pair.b.name, '--direction', 'ingress', '--classic');
    const tcx = JSON.parse(bpfkit(ns, 'attach', 'tc', tcObj, '--dev', pair.b.name, '--direction', 'egress', '-j')) as { prog_id: number };
    const ours = (JSON.parse(bpfkit(ns, 'net', '-j')) as NetDoc[])[0] as NetDoc;
    const theirs = (JSON.parse(nsEnter(ns, ['bpftool', 'net', '-j'])) as NetDoc[])[0] as NetDoc;
    assert.deepEqual(ours.xdp, theirs.xdp);
    assert.equal(ours.xdp.length, 2);
    assert.deepEqual(
      ours.tc.filter((t) => String(t['kind']).startsWith('clsact')),
      theirs.tc.filter((t) => String(t['kind']).startsWith('clsact')),
    );
    const tcxEntry = ours.tc.find((t) => t['kind'] === 'tcx/egress');
    assert.deepEqual(tcxEntry, { devname: pair.b.name, ifindex: pair.b.ifindex, kind: 'tcx/egress', name: 'tc_flow_filter', prog_id: tcx.prog_id, link_id: 0 });
    const onlyA = (JSON.parse(bpfkit(ns, 'net', 'show', 'dev', pair.a.name, '-j')) as NetDoc[])[0] as NetDoc;
    assert.deepEqual(onlyA, { xdp: ours.xdp.filter((x) => x['devname'] === pair.a.name), tc: [] });
    const text = bpfkit(ns, 'net', '--dev', pair.b.name);
    const drv = ours.xdp.find((x) => x['devname'] === pair.b.name);
    assert.match(text, new RegExp(`^xdp:\\n${pair.b.name}\\(${pair.b.ifindex}\\) driver id ${String(drv?.['id'])}\\n\\ntc:\\n`));
    assert.match(text, new RegExp(`${pair.b.name}\\(${pair.b.ifindex}\\) clsact/ingress tc_flow_filter.o:\\[tc\\] id \\d+\\n`));
    assert.match(text, new RegExp(`${pair.b.name}\\(${pair.b.ifindex}\\) tcx/egress tc_flow_filter prog_id ${tcx.prog_id} link_id 0\\n`));
  });
});
