// `bpfkit btf dump id|prog|map` and `btf show` on loaded objects, against bpftool on the same BTF ids.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { CommandArgs } from '../../src/cli/args.js';
import { btfUsage, runBtf } from '../../src/cli/btf.js';
import type { Io } from '../../src/cli/output.js';
import { loadObject } from '../../src/elf/index.js';
import { mapInfo } from '../../src/kernel/bpf/obj-info.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import type { Sys } from '../../src/kernel/sys.js';
import { compileBpf } from '../support/clang.js';
import { bpftool, kernelTest } from '../kernel/harness.js';

function ours(sys: Sys, argv: string[]): string {
  let out = '';
  const io: Io = { out: (t) => (out += t), err: (t) => (out += t) };
  runBtf(new CommandArgs(argv, {}, btfUsage), io, sys);
  return out;
}

function theirs(argv: string[]): string {
  const r = spawnSync('bpftool', argv, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, `bpftool ${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

kernelTest('btf dump id / prog / map [key|value|kv|all] in raw, -j and c equal bpftool for a loaded object; btf show lists its users', (sys) => {
  using obj = loadKernelObject(sys, loadObject(compileBpf(path.join(import.meta.dirname, '..', 'btf', 'fixtures', 'btf_values.c')), { objectName: 'btf_values' }));
  const prog = obj.program('bv_fill').info();
  const btfId = String(prog.btfId);
  assert.notEqual(btfId, '0');
  const mapId = String(mapInfo(obj.map('bv_hash').fd).id);
  const cases = [
    ['dump', 'id', btfId],
    ['dump', 'id', btfId, '-j'],
    ['dump', 'id', btfId, 'format', 'c'],
    ['dump', 'prog', 'id', String(prog.id)],
    ['dump', 'prog', 'id', String(prog.id), 'format', 'c'],
    ['dump', 'map', 'id', mapId],
    ['dump', 'map', 'id', mapId, 'key', '-p'],
    ['dump', 'map', 'id', mapId, 'value'],
    ['dump', 'map', 'id', mapId, 'kv', 'format', 'c'],
    ['dump', 'map', 'id', mapId, 'all'],
  ];
  for (const c of cases) assert.equal(ours(sys, c), theirs(['btf', ...c]), c.join(' '));
  const shown = JSON.parse(ours(sys, ['show', 'id', btfId, '-j'])) as { map_ids: number[]; prog_ids: number[] };
  const want = bpftool('btf', 'show', 'id', btfId) as { map_ids: number[]; prog_ids: number[] };
  assert.deepEqual(shown.prog_ids, [prog.id]);
  assert.deepEqual([...shown.map_ids].sort(), [...want.map_ids].sort(), 'bpftool lists map ids in hash order');
  assert.deepEqual(shown, { ...want, map_ids: shown.map_ids });
  assert.match(ours(sys, ['show']), new RegExp(`^${btfId}: name <anon>  size \\d+B  prog_ids ${prog.id}  map_ids [\\d,]+$`, 'm'));
  assert.throws(() => ours(sys, ['dump', 'id', btfId, '-j', 'format', 'c']), /JSON output for C-syntax dump is not supported/);
  assert.throws(() => ours(sys, ['dump', 'nothing', '1']), /unrecognized BTF source specifier: 'nothing'/);
  process.stdout.write(`# btf dump of a loaded object vs bpftool: ${cases.length} outputs identical\n`);
});
