// The conntrack model through loadUserspace: kfunc_ct.o's lookups find the entries the user supplies (either direction),
// read ct->status and ct->mark at the kernel's offsets, store ct->mark (kept for the next run), change status as
// nf_ct_change_status_common; with no entry, NULL and opts->error = -ENOENT as in a test run's namespace.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { ConntrackModel } from '../../../src/ctx/kfuncs/index.js';
import { loadObject } from '../../../src/elf/object-loader.js';
import { loadUserspace } from '../../../src/runtime/userspace-object.js';
import { fixturesDir } from '../../support/fixtures.js';

const spec = loadObject(new Uint8Array(readFileSync(path.join(fixturesDir, 'kfunc', 'kfunc_ct.o'))), { objectName: 'kfunc_ct' });

/** Ethernet/IPv4/TCP (proto 6) or UDP from 10.0.0.1:1000 to 10.0.0.2:80, or reversed. */
function packet(proto: number, reverse = false): Uint8Array {
  const f = new Uint8Array(64);
  f.set([0x08, 0x00], 12);
  f[14] = 0x45;
  f[23] = proto;
  const a = [10, 0, 0, 1];
  const b = [10, 0, 0, 2];
  f.set(reverse ? b : a, 26);
  f.set(reverse ? a : b, 30);
  const dv = new DataView(f.buffer);
  dv.setUint16(34, reverse ? 80 : 1000);
  dv.setUint16(36, reverse ? 1000 : 80);
  return f;
}

const stat = (obj: ReturnType<typeof loadUserspace>, slot: number): bigint => {
  const key = new Uint8Array(4);
  new DataView(key.buffer).setUint32(0, slot, true);
  const v = obj.map('ct_stats').read(key)!;
  return new DataView(v.buffer, v.byteOffset).getBigInt64(0, true);
};

for (const engine of ['interpreter', 'jit'] as const) {
  test(`conntrack model (${engine}): lookups find the supplied entry in both directions and see its status and mark`, () => {
    const conntrack: ConntrackModel = { entries: [{ l4proto: 6, saddr: new Uint8Array([10, 0, 0, 1]), daddr: new Uint8Array([10, 0, 0, 2]), sport: 1000, dport: 80, status: 0x18an, mark: 7 }] };
    using obj = loadUserspace(spec, { verify: false, engine, conntrack, programs: ['xdp_ct_lookup', 'xdp_ct_lookup16'] });
    const lookup = obj.program('xdp_ct_lookup');
    assert.equal(lookup.testRun({ data: packet(6) }).retval, 1, 'found: XDP_DROP');
    assert.equal(stat(obj, 0), 0n, 'opts.error');
    assert.equal(stat(obj, 1), 0x18an, 'ct->status');
    assert.equal(stat(obj, 2), 7n, 'ct->mark');
    assert.equal(lookup.testRun({ data: packet(6, true) }).retval, 1, 'the reply direction finds it too');
    assert.equal(lookup.testRun({ data: packet(17) }).retval, 2, 'UDP: no entry, XDP_PASS');
    assert.equal(stat(obj, 0), -2n, 'opts.error = -ENOENT');
    // xdp_ct_lookup16 (UDP) finds nothing; a TCP entry with UDP...: use the TCP program again after a mark store.
    assert.equal(obj.program('xdp_ct_lookup16').testRun({ data: packet(6) }).retval, 2);
    assert.equal(stat(obj, 0), -2n, 'xdp_ct_lookup16 looks up UDP: ENOENT');
  });

  test(`conntrack model (${engine}): an empty table is a test run's namespace — NULL and -ENOENT`, () => {
    using obj = loadUserspace(spec, { verify: false, engine, programs: ['xdp_ct_lookup'] });
    assert.equal(obj.program('xdp_ct_lookup').testRun({ data: packet(6) }).retval, 2);
    assert.equal(stat(obj, 0), -2n);
  });

  test(`conntrack model (${engine}): ct->mark stores persist and bpf_ct_change_status follows nf_ct_change_status_common`, () => {
    const conntrack: ConntrackModel = { entries: [{ l4proto: 17, saddr: new Uint8Array([10, 0, 0, 1]), daddr: new Uint8Array([10, 0, 0, 2]), sport: 1000, dport: 80, status: 0xan }] };
    using obj = loadUserspace(spec, { verify: false, engine, conntrack, programs: ['xdp_ct_lookup', 'xdp_ct_lookup16'] });
    // xdp_ct_lookup16: ct->mark = 42, change_timeout, change_status(ct, 0) (-EBUSY: would clear CONFIRMED), release.
    assert.equal(obj.program('xdp_ct_lookup16').testRun({ data: packet(17) }).retval, 2);
    assert.equal(stat(obj, 0), 0n);
    assert.equal(stat(obj, 3), 0n, 'opts.dir: original');
    // xdp_ct_lookup looks up with the packet's protocol (UDP): it reads the mark the other program stored.
    assert.equal(obj.program('xdp_ct_lookup').testRun({ data: packet(17, true) }).retval, 1);
    assert.equal(stat(obj, 2), 42n, 'the stored mark');
    assert.equal(stat(obj, 1), 0xan, 'status unchanged (change_status(0) is -EBUSY)');
  });
}
