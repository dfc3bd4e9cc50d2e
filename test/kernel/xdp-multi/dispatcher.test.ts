// bpfkit's dispatcher against the userspace chain: the same packets through BPF_PROG_TEST_RUN of the dispatcher and through XdpChain.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadObject } from '../../../src/elf/object-loader.js';
import { decode } from '../../../src/isa/decode.js';
import { encode } from '../../../src/isa/encode.js';
import { AttachType, ProgType } from '../../../src/kernel/bpf/constants.js';
import { lookupElem } from '../../../src/kernel/bpf/map-elem.js';
import { loadProgram } from '../../../src/kernel/bpf/prog-load.js';
import { testRun } from '../../../src/kernel/bpf/prog-test-run.js';
import { loadKernelObject } from '../../../src/kernel/object/load-object.js';
import { dispatcherInstructions, STATS_LAYOUT } from '../../../src/kernel/xdp-multi/dispatcher.js';
import { createValueMap, decodeStats } from '../../../src/kernel/xdp-multi/state.js';
import { buildArp, buildUdp } from '../../../src/packet/frame-builder.js';
import { loadUserspace } from '../../../src/runtime/userspace-object.js';
import { XdpChain } from '../../../src/runtime/xdp-chain.js';
import { sortChain, xdpRunConfig } from '../../../src/runtime/xdp-run-config.js';
import { repoRoot } from '../../support/fixtures.js';
import { kernelTest } from '../harness.js';

const C = `${repoRoot}/test/kernel/xdp-multi/c`;
const NAMES = ['filter', 'late', 'count', 'tx'];

kernelTest('dispatcher: test runs of the kernel dispatcher and the userspace chain agree on every verdict, per-program counts and map contents', (sys) => {
  const specs = NAMES.map((n) => loadObject(new Uint8Array(readFileSync(`${C}/xdp_mp_${n}.o`)), { objectName: `xdp_mp_${n}` }));
  const objs = specs.map((s) => loadKernelObject(sys, s));
  const stats = specs.map(() => createValueMap(sys, 'bk_test_stats', STATS_LAYOUT.size, new Uint8Array(STATS_LAYOUT.size)));
  try {
    const members = sortChain(
      specs.map((spec, i) => {
        const p = spec.programs[0]!;
        const rc = xdpRunConfig(spec, p.name);
        return { i, name: p.name, priority: rc.priority, chainCallActions: rc.chainCallActions, loaded: false, size: 0, sequence: i };
      }),
    );
    assert.deepEqual(members.map((m) => [m.name, m.priority, m.chainCallActions]), [['mp_soft_drop', 5, 6], ['mp_count', 10, 4], ['mp_filter', 20, 4], ['mp_late', 50, 4]]);
    const insns = encode(
      dispatcherInstructions(members.map((m) => ({ code: decode(encode(objs[m.i]!.program(m.name).instructions)), chainCallActions: m.chainCallActions, statsFd: stats[m.i]!.raw }))),
    );
    using disp = loadProgram(sys, { type: ProgType.XDP, insns, license: 'GPL', name: 'bk_disp_test', expectedAttachType: AttachType.XDP });
    const user = specs.map((s) => loadUserspace(s));
    const chain = new XdpChain(members.map((m) => ({ program: user[m.i]!.programs.get(m.name)!, name: m.name, priority: m.priority, chainCallActions: m.chainCallActions })));
    const packets: Uint8Array[] = [];
    for (let k = 0; k < 60; k++) {
      const dport = [7777, 9999, 5555, 80][k % 4]!;
      packets.push(buildUdp({ src: '10.1.0.1', dst: '10.1.0.2', sport: 1000 + k, dport, payload: new Uint8Array(k % 7) }));
    }
    packets.push(buildArp({ op: 1, senderIp: '10.1.0.1', targetIp: '10.1.0.2' }));
    const expectVerdict = (_p: Uint8Array, i: number): number => (i === 60 ? 2 : [2, 1, 2, 2][i % 4]!);
    packets.forEach((p, i) => {
      const kernel = testRun(disp, { dataIn: p, programType: ProgType.XDP }).retval;
      const userspace = chain.run(p).verdict;
      assert.equal(userspace, kernel, `packet ${i}`);
      assert.equal(kernel, expectVerdict(p, i), `packet ${i}`);
    });
    // Per-program figures: the dispatcher's stats maps against the chain's counters.
    const counts = chain.counts();
    members.forEach((m, pos) => {
      const k = decodeStats(lookupElem(stats[m.i]!, new Uint8Array(4)));
      const u = counts[pos]!;
      assert.equal(k.packets, BigInt(u.packets), m.name);
      const names = ['XDP_ABORTED', 'XDP_DROP', 'XDP_PASS', 'XDP_TX', 'XDP_REDIRECT'];
      for (const row of u.verdicts) assert.equal(k.verdicts[names[row.retval] ?? 'other'], BigInt(row.packets), `${m.name} ${row.verdict}`);
    });
    // soft_drop drops 5555 but DROP continues; count sees all 61; filter ends the chain for 9999; late sees the rest.
    assert.deepEqual(counts.map((c) => c.packets), [61, 61, 61, 46]);
    // Map contents agree: the counter's and the filter's maps.
    const maps: [number, string, number][] = [[2, 'mp_counts', 3], [0, 'mp_drops', 1], [1, 'mp_late_counts', 4]];
    for (const [o, map, n] of maps) {
      for (let k = 0; k < n; k++) {
        const key = new Uint8Array(4);
        new DataView(key.buffer).setUint32(0, k, true);
        assert.deepEqual(lookupElem(objs[o]!.map(map).fd, key), user[o]!.map(map).read(key), `${map}[${k}]`);
      }
    }
    assert.equal(new DataView(user[2]!.map('mp_counts').read(new Uint8Array(4))!.buffer).getBigUint64(0, true), 61n);
    for (const u of user) u.close();
  } finally {
    for (const s of stats) s.close();
    for (const o of objs) o.close();
  }
});
