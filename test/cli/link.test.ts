// `bpfkit link list|show` with an XDP link on a veth pair the test creates, against bpftool.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { CommandArgs } from '../../src/cli/args.js';
import { linkUsage, runLink } from '../../src/cli/link.js';
import type { Io } from '../../src/cli/output.js';
import { loadObject } from '../../src/elf/index.js';
import { AttachType } from '../../src/kernel/bpf/constants.js';
import { createLink } from '../../src/kernel/bpf/link.js';
import { pinObject } from '../../src/kernel/bpf/obj-pin.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import type { Sys } from '../../src/kernel/sys.js';
import { fixturesDir } from '../support/fixtures.js';
import { createVethPair } from '../support/netns.js';
import { bpftool, kernelTest } from '../kernel/harness.js';

function run(sys: Sys, ...argv: string[]): string {
  let out = '';
  const io: Io = { out: (t) => (out += t), err: (t) => (out += t) };
  assert.equal(runLink(new CommandArgs(argv, {}, linkUsage), io, sys), 0);
  return out;
}

kernelTest('link list / show id / show pinned: the XDP link we made, as bpftool lists it', (sys) => {
  using pair = createVethPair({ prefix: 'bpfkit-kl-' });
  using obj = loadKernelObject(sys, loadObject(readFileSync(path.join(fixturesDir, 'xdp_stats.o')), { objectName: 'xdp_stats' }));
  const prog = obj.program('xdp_stats_prog');
  using link = createLink(sys, { prog: prog.fd, attachType: AttachType.XDP, targetIfindex: pair.b.ifindex });
  const pin = `/sys/fs/bpf/bpfkit-kl-link-${process.pid}`;
  try {
    pinObject(link, pin);
    const all = JSON.parse(run(sys, 'list', '-j')) as { id: number; type: string; prog_id: number; ifindex?: number }[];
    const mine = all.find((l) => l.prog_id === prog.info().id)!;
    assert.deepEqual([mine.type, mine.ifindex], ['xdp', pair.b.ifindex]);
    const theirs = bpftool('link', 'show', 'id', String(mine.id)) as Record<string, unknown>;
    assert.deepEqual([theirs['id'], theirs['type'], theirs['prog_id']], [mine.id, mine.type, mine.prog_id]);
    assert.deepEqual(JSON.parse(run(sys, 'show', 'pinned', pin, '-j')), mine);
    assert.equal(run(sys, 'show', 'id', String(mine.id)), `${mine.id}: xdp  prog ${mine.prog_id}  ifindex ${pair.b.ifindex}\n`);
  } finally {
    rmSync(pin, { force: true });
  }
});
