// `bpfkit attach` / `detach` run as separate processes inside a namespace: attachments and pins outlive them.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/output.js';
import { linkInfo } from '../../src/kernel/bpf/obj-info.js';
import { getPinnedObject, openPinnedMap } from '../../src/kernel/bpf/obj-pin.js';
import { lookupElem } from '../../src/kernel/bpf/map-elem.js';
import { splitPerCpu } from '../../src/kernel/bpf/map-fd.js';
import { repoRoot } from '../support/fixtures.js';
import { createVethPair, nsEnter, nsExec, sendUdp, staticNeighbour, withNetns, type Netns } from '../support/netns.js';
import { kernelTest, u32 } from '../kernel/harness.js';
import { ipLinkXdp, tcFilters } from '../kernel/attach/oracle.js';

/** Runs the CLI in `ns` as its own process (nsenter: bpffs stays visible); returns exit code and output. */
function cli(ns: Netns, ...args: string[]): { code: number; out: string; err: string } {
  return run(nsEnter, ns, args);
}

function run(how: typeof nsEnter, ns: Netns, args: string[]): { code: number; out: string; err: string } {
  try {
    const out = how(ns, ['node', '--import', 'tsx', `${repoRoot}/src/cli/bin.ts`, ...args], { timeoutMs: 60_000 });
    return { code: 0, out, err: '' };
  } catch (e) {
    const cause = (e as { cause?: { status?: number; stdout?: string; stderr?: string } }).cause;
    return { code: cause?.status ?? -1, out: cause?.stdout ?? '', err: cause?.stderr ?? '' };
  }
}

const net = `10.${200 + (process.pid % 50)}.${((process.pid >> 6) % 250) + 1}`;

kernelTest('attach xdp --pin in one process, traffic counted, link reopened from the pin in another, detach removes link and pin', async (sys) => {
  const pinDir = `/sys/fs/bpf/bpfkit-at-${process.pid}`;
  try {
    await withNetns('bpfkit-at-', async (nsA) =>
      withNetns('bpfkit-at-', async (nsB) => {
        using pair = createVethPair({ prefix: 'bkat', a: { ns: nsA, address: `${net}.1/24` }, b: { ns: nsB, address: `${net}.2/24` } });
        staticNeighbour(nsB, pair.b.name, `${net}.1`, pair.a.mac);
        // A answers closed ports with ICMP; a static entry keeps it from ARPing (which B's reply would add to the count).
        staticNeighbour(nsA, pair.a.name, `${net}.2`, pair.b.mac);
        const att = cli(nsA, 'attach', 'xdp', `${repoRoot}/examples/xdp_stats.o`, '--dev', pair.a.name, '--mode', 'native', '--pin', `${pinDir}/xdp_link`, '--pin-maps', `${pinDir}/maps`, '-j');
        assert.equal(att.code, 0, att.err);
        const doc = JSON.parse(att.out) as { prog: string; prog_id: number; devname: string; ifindex: number; mode: string; via: string; link_id: number; pinned: string; pinned_maps: string[] };
        assert.deepEqual([doc.prog, doc.devname, doc.ifindex, doc.mode, doc.via, doc.pinned], ['xdp_stats_prog', pair.a.name, pair.a.ifindex, 'driver', 'link', `${pinDir}/xdp_link`]);
        // The CLI process is gone; the link lives on through its pin.
        assert.deepEqual(ipLinkXdp(nsA, pair.a.name), [{ mode: 1, progId: doc.prog_id }]);
        {
          using link = getPinnedObject(sys, `${pinDir}/xdp_link`, 'link');
          const info = linkInfo(link);
          assert.deepEqual([info.id, info.progId, info.ifindex], [doc.link_id, doc.prog_id, pair.a.ifindex]);
        }
        sendUdp(nsB, `${net}.1`, 9, 25, 64);
        {
          using stats = openPinnedMap(sys, `${pinDir}/maps/xdp_stats_map`);
          const raw = lookupElem(stats, u32(2));
          assert.ok(raw);
          const packets = splitPerCpu(raw, 16).reduce((s, v) => s + new DataView(v.buffer, v.byteOffset).getBigUint64(0, true), 0n);
          assert.equal(packets, 25n);
        }
        // A second attach is refused with the kernel's reason and who is there.
        const busy = cli(nsA, 'attach', 'xdp', `${repoRoot}/examples/xdp_stats.o`, '--dev', pair.a.name, '--mode', 'native');
        assert.equal(busy.code, 1);
        assert.match(busy.err, new RegExp(`EBUSY.*\\(prog ${doc.prog_id}, native mode, link ${doc.link_id}\\) \\[ERR_KERNEL\\]`));
        // Under `ip netns exec` /sys is remounted without bpffs: a typed error, not a hang.
        const hidden = run(nsExec, nsA, ['attach', 'xdp', `${repoRoot}/examples/xdp_stats.o`, '--dev', pair.a.name, '--pin', `${pinDir}/other/link`]);
        assert.equal(hidden.code, 1);
        assert.match(hidden.err, /is not inside a mounted bpffs .*\[ERR_NOT_BPFFS\]/);
        // No --pin: the pin of the detached link is found under /sys/fs/bpf and removed.
        const det = cli(nsA, 'detach', 'xdp', '--dev', pair.a.name);
        assert.equal(det.code, 0, det.err);
        assert.equal(det.out, `detached xdp prog id ${doc.prog_id} (native mode, link ${doc.link_id}) from ${pair.a.name}\nremoved pin ${pinDir}/xdp_link\n`);
        assert.deepEqual(ipLinkXdp(nsA, pair.a.name), []);
        assert.throws(() => getPinnedObject(sys, `${pinDir}/xdp_link`, 'link'), /ENOENT/);
      }),
    );
  } finally {
    rmSync(pinDir, { recursive: true, force: true });
  }
});

kernelTest('attach tc --classic and default TCX outlive the command; detach tc removes them', async () => {
  await withNetns('bpfkit-at-', async (ns) => {
    using pair = createVethPair({ prefix: 'bkat', a: { ns }, b: { ns } });
    const obj = `${repoRoot}/test/fixtures/tc_flow_filter.o`;
    const classic = cli(ns, 'attach', 'tc', obj, '--dev', pair.a.name, '--direction', 'egress', '--classic');
    assert.equal(classic.code, 0, classic.err);
    const m = /prog id (\d+)\) to (\S+) \(ifindex (\d+)\) as clsact\/egress via cls_bpf filter pref 1 handle 1/.exec(classic.out);
    assert.ok(m, classic.out);
    assert.deepEqual(tcFilters(ns, pair.a.name, 'egress'), [{ pref: 1, handle: 1, name: 'tc_flow_filter.o:[tc]', progId: Number(m[1]), da: true }]);
    // No --direction: it comes from the section name (tcx/ingress) of a program compiled here.
    const tcxObj = compileTcx();
    let tcx: ReturnType<typeof cli>;
    try {
      tcx = cli(ns, 'attach', 'tc', tcxObj, '--dev', pair.a.name, '-j');
    } finally {
      rmSync(dirname(tcxObj), { recursive: true, force: true });
    }
    assert.equal(tcx.code, 0, tcx.err);
    const doc = JSON.parse(tcx.out) as { kind: string; prog_id: number; prog: string };
    assert.deepEqual([doc.kind, doc.prog], ['tcx/ingress', 'bk_tcx_next']);
    const listed = JSON.parse(cli(ns, 'net', '-j').out) as [{ tc: { kind: string; prog_id?: number; id?: number }[] }];
    assert.deepEqual(listed[0].tc.map((t) => [t.kind, t.prog_id ?? t.id]), [
      ['tcx/ingress', doc.prog_id],
      ['clsact/egress', Number(m[1])],
    ]);
    assert.equal(cli(ns, 'detach', 'tc', '--dev', pair.a.name, '--direction', 'egress').code, 0);
    assert.equal(cli(ns, 'detach', 'tc', '--dev', pair.a.name, '--direction', 'ingress').code, 0);
    assert.deepEqual(tcFilters(ns, pair.a.name, 'egress'), []);
    assert.deepEqual((JSON.parse(cli(ns, 'net', '-j').out) as [{ tc: unknown[] }])[0].tc, []);
  });
});

/** Compiles a one-line `SEC("tcx/ingress")` program with clang-16 into a temporary directory. */
function compileTcx(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-at-'));
  const src = join(dir, 'tcx_next.c');
  writeFileSync(src, '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("tcx/ingress") int bk_tcx_next(struct __sk_buff *skb) { return -1; }\nchar _license[] SEC("license") = "GPL";\n');
  const multiarch = process.arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu';
  try {
    nsExec(undefined, ['clang-16', '-O2', '-g', '-target', 'bpf', `-I/usr/include/${multiarch}`, '-c', src, '-o', join(dir, 'tcx_next.o')]);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return join(dir, 'tcx_next.o');
}

/** Captures the CLI's output in this process. */
function capture(): Io & { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '', out: (t: string) => void (io.stdout += t), err: (t: string) => void (io.stderr += t) };
  return io;
}

test('usage mistakes exit 2 and say what is wrong', async () => {
  const cases: [string[], RegExp][] = [
    [['attach'], /missing what to attach/],
    [['attach', 'xdp', 'x.o'], /missing --dev IFACE/],
    [['attach', 'sk', 'x.o', '--dev', 'lo'], /expected xdp, tc, tracepoint, .*got 'sk'/],
    [['attach', 'xdp', 'x.o', '--dev', 'lo', '--mode', 'fast'], /--mode must be skb, native or hw/],
    [['attach', 'tc', `${repoRoot}/test/fixtures/tc_flow_filter.o`, '--dev', 'lo'], /missing --direction/],
    [['attach', 'tc', 'x.o', '--dev', 'lo', '--direction', 'up'], /--direction must be ingress or egress/],
    [['attach', 'tc', 'x.o', '--dev', 'lo', '--direction', 'ingress', '--classic', '--pin', '/sys/fs/bpf/x'], /--pin needs a link/],
    [['detach', 'tc', '--dev', 'lo', '--direction', 'ingress', '--classic', '--tcx'], /exclude each other/],
    [['net', 'dev'], /dev needs an interface name/],
  ];
  for (const [argv, want] of cases) {
    const io = capture();
    assert.equal(await main(argv, io), 2, argv.join(' '));
    assert.match(io.stderr, want, argv.join(' '));
  }
});

test('attach picks the only program of the right type, or asks for --prog', { skip: process.getuid?.() === 0 ? false : 'needs root' }, async () => {
  const io = capture();
  assert.equal(await main(['attach', 'tc', `${repoRoot}/examples/xdp_stats.o`, '--dev', 'lo', '--direction', 'ingress'], io), 2);
  assert.match(io.stderr, /the object has no TC \(sched_cls\) program \(programs: xdp_stats_prog \[xdp\]\)/);
  const io2 = capture();
  assert.equal(await main(['attach', 'xdp', `${repoRoot}/examples/xdp_stats.o`, '--dev', 'lo', '--prog', 'nope'], io2), 2);
  assert.match(io2.stderr, /no program 'nope' in the object \(it has: xdp_stats_prog\)/);
});
