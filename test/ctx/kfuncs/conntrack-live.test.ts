// The conntrack model against a live table: in a network namespace of the test's own, kfunc_ct.o's xdp_ct_alloc
// inserts a real UDP entry (bpf_xdp_ct_alloc + set_timeout + set_status + bpf_ct_insert_entry), then the lookups run
// in the kernel; the same entry (its status as the kernel reports it) is given to bpfkit's model, and every lookup —
// original and reply direction, another protocol, a ct->mark store read back by the next run — must agree. Then the
// whole sequence (allocations and insertions included, a duplicate insertion failing) from an empty table.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConntrackModel } from '../../../src/ctx/kfuncs/index.js';
import { loadObject } from '../../../src/elf/object-loader.js';
import { loadUserspace } from '../../../src/runtime/userspace-object.js';
import { fixturesDir } from '../../support/fixtures.js';
import { kernelTest } from '../../kernel/harness.js';

const NS = 'bpfkit-kfunc-ct';
const spec = loadObject(new Uint8Array(readFileSync(path.join(fixturesDir, 'kfunc', 'kfunc_ct.o'))), { objectName: 'kfunc_ct' });

function packet(proto: number, reverse = false): Uint8Array {
  const f = new Uint8Array(64);
  f.set([0x08, 0x00], 12);
  f[14] = 0x45;
  f[23] = proto;
  const a = [10, 7, 0, 1];
  const b = [10, 7, 0, 2];
  f.set(reverse ? b : a, 26);
  f.set(reverse ? a : b, 30);
  const dv = new DataView(f.buffer);
  dv.setUint16(34, reverse ? 5353 : 4242);
  dv.setUint16(36, reverse ? 4242 : 5353);
  return f;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

kernelTest('conntrack model: lookups of an entry inserted into a live table agree with the kernel', (sys, t) => {
  void sys;
  try {
    execFileSync('ip', ['netns', 'del', NS], { stdio: 'ignore' }); // left over from an interrupted run
  } catch {
    // none: the usual case
  }
  try {
    execFileSync('ip', ['netns', 'add', NS]);
  } catch (err) {
    t.skip(`cannot create network namespace ${NS}: ${String(err)}`);
    return;
  }
  try {
    execFileSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
    // Run after the insertion of a UDP entry: UDP lookups (original, reply), a TCP lookup (no entry), the UDP program
    // that stores ct->mark = 42 and tries change_status(0), then a lookup that reads the mark back.
    const after = [
      { program: 'xdp_ct_lookup', packet: packet(17) },
      { program: 'xdp_ct_lookup', packet: packet(17, true) },
      { program: 'xdp_ct_lookup', packet: packet(6) },
      { program: 'xdp_ct_lookup16', packet: packet(17, true) },
      { program: 'xdp_ct_lookup', packet: packet(17) },
    ];
    // Then: the same tuple allocated again (the insertion fails: XDP_ABORTED), a TCP entry inserted and found.
    const more = [
      { program: 'xdp_ct_alloc', packet: packet(17, true) },
      { program: 'xdp_ct_alloc', packet: packet(6) },
      { program: 'xdp_ct_lookup', packet: packet(6, true) },
    ];
    const runs = [{ program: 'xdp_ct_lookup', packet: packet(17) }, { program: 'xdp_ct_alloc', packet: packet(17) }, ...after, ...more];
    const child = fileURLToPath(new URL('./conntrack-live-child.ts', import.meta.url));
    const json = JSON.stringify(runs.map((r) => ({ program: r.program, packet: hex(r.packet) })));
    const kernel = JSON.parse(execFileSync('ip', ['netns', 'exec', NS, process.execPath, '--import', 'tsx', child, json], { encoding: 'utf8' })) as { retval: number; stats: string[] }[];
    // Before the insertion the table has nothing; the allocation inserted an entry and read its status.
    assert.equal(kernel[0]!.retval, 2, 'no entry before the insertion');
    assert.equal(kernel[0]!.stats[0], '-2', 'ENOENT before the insertion');
    assert.equal(kernel[1]!.retval, 2, `xdp_ct_alloc inserted an entry (opts.error ${kernel[1]!.stats[0]})`);
    const status = BigInt(kernel[2]!.stats[1]!);
    assert.equal(kernel[2]!.retval, 1, 'the kernel finds the inserted entry');
    const conntrack: ConntrackModel = { entries: [{ l4proto: 17, saddr: new Uint8Array([10, 7, 0, 1]), daddr: new Uint8Array([10, 7, 0, 2]), sport: 4242, dport: 5353, status }] };
    const diffs: string[] = [];
    for (const engine of ['interpreter', 'jit'] as const) {
      using obj = loadUserspace(spec, { verify: false, engine, conntrack, programs: ['xdp_ct_lookup', 'xdp_ct_lookup16'] });
      const stats = obj.map('ct_stats');
      after.forEach((r, i) => {
        const k = kernel[i + 2]!;
        for (let s = 0; s < 4; s++) stats.write(key(s), new Uint8Array(8), 0);
        const retval = obj.program(r.program).testRun({ data: r.packet }).retval;
        const ours = [0, 1, 2, 3].map((s) => new DataView(stats.read(key(s))!.buffer).getBigInt64(0, true).toString());
        if (retval !== k.retval || ours.join() !== k.stats.join()) diffs.push(`${engine} run ${i} (${r.program}): kernel ${k.retval} [${k.stats.join(', ')}], bpfkit ${retval} [${ours.join(', ')}]`);
      });
    }
    // The whole sequence from an empty table: bpfkit's alloc and insert make the entries the lookups then find.
    for (const engine of ['interpreter', 'jit'] as const) {
      using obj = loadUserspace(spec, { verify: false, engine, programs: [...new Set(runs.map((r) => r.program))] });
      const stats = obj.map('ct_stats');
      runs.forEach((r, i) => {
        const k = kernel[i]!;
        for (let s = 0; s < 4; s++) stats.write(key(s), new Uint8Array(8), 0);
        const retval = obj.program(r.program).testRun({ data: r.packet }).retval;
        const ours = [0, 1, 2, 3].map((s) => new DataView(stats.read(key(s))!.buffer).getBigInt64(0, true).toString());
        if (retval !== k.retval || ours.join() !== k.stats.join()) diffs.push(`${engine} empty table, run ${i} (${r.program}): kernel ${k.retval} [${k.stats.join(', ')}], bpfkit ${retval} [${ours.join(', ')}]`);
      });
    }
    assert.equal(kernel[7]!.retval, 0, 'the second insertion of a tuple fails (XDP_ABORTED)');
    console.log(`# conntrack live: status 0x${status.toString(16)}, ${after.length * 2 + runs.length * 2} runs compared, ${diffs.length} differ`);
    assert.deepEqual(diffs, []);
  } finally {
    execFileSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
  }
});

function key(k: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, k, true);
  return b;
}
