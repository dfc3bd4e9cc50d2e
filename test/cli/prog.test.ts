// `bpfkit prog list|show|dump` against bpftool on the same programs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CommandArgs } from '../../src/cli/args.js';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/output.js';
import { progUsage, runProg } from '../../src/cli/prog.js';
import { loadObject } from '../../src/elf/index.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import type { Sys } from '../../src/kernel/sys.js';
import { fixturesDir } from '../support/fixtures.js';
import { bpftool, kernelTest } from '../kernel/harness.js';

function run(sys: Sys, ...argv: string[]): { code: number; out: string } {
  let out = '';
  const io: Io = { out: (t) => (out += t), err: (t) => (out += t) };
  const code = runProg(new CommandArgs(argv, {}, progUsage), io, sys);
  return { code, out };
}

const load = (sys: Sys, name: string) => loadKernelObject(sys, loadObject(readFileSync(path.join(fixturesDir, `${name}.o`)), { objectName: name }));

kernelTest('prog show id N -j: the fields bpftool prints, equal (loaded_at within 2 s)', (sys) => {
  using obj = load(sys, 'socket_filter');
  const id = obj.program('socket_http_filter').info().id;
  const ours = JSON.parse(run(sys, 'show', 'id', String(id), '-j').out) as Record<string, unknown>;
  const theirs = bpftool('prog', 'show', 'id', String(id)) as Record<string, unknown>;
  assert.equal(ours['name'], 'socket_http_filter', 'full name from BTF, past 15 characters');
  for (const [k, v] of Object.entries(theirs)) {
    if (k === 'pids') continue;
    if (k === 'loaded_at') assert.ok(Math.abs((ours[k] as number) - (v as number)) <= 2);
    else assert.deepEqual(ours[k], v, k);
  }
  const text = run(sys, 'show', 'id', String(id)).out;
  assert.match(text, new RegExp(`^${id}: socket_filter  name socket_http_filter  tag ${theirs['tag']}  gpl\n\tloaded_at \\S+  uid 0\n\txlated \\d+B  jited \\d+B  memlock \\d+B\n\tbtf_id \\d+\n$`));
});

kernelTest('prog list -j includes our programs; show name/tag find them; unknown ids are typed errors', (sys) => {
  using obj = load(sys, 'tail_calls');
  const ids = [...obj.programs.values()].map((p) => p.info().id);
  const all = JSON.parse(run(sys, 'list', '-j').out) as { id: number }[];
  for (const id of ids) assert.ok(all.some((p) => p.id === id));
  const byName = JSON.parse(run(sys, 'show', 'name', 'dispatcher', '-j').out) as { id: number }[];
  assert.ok(byName.some((p) => p.id === obj.program('dispatcher').info().id));
  const tag = obj.program('prog_a').info().tag;
  const byTag = JSON.parse(run(sys, 'show', 'tag', tag, '-j').out) as { tag: string }[];
  assert.ok(byTag.length >= 1 && byTag.every((p) => p.tag === tag));
  assert.throws(() => run(sys, 'show', 'name', 'no_such_prog_kl'), /no prog matches name no_such_prog_kl/);
  assert.throws(() => run(sys, 'show', 'id', 'x'), /id must be a number/);
});

kernelTest('prog dump xlated id N: the instruction lines bpftool prints; -j has bpftool disasm strings; jited splits functions', (sys) => {
  using obj = load(sys, 'subprogs_globals');
  const id = obj.program('xdp_limit').info().id;
  const ours = run(sys, 'dump', 'xlated', 'id', String(id)).out;
  assert.equal(ours, execFileSync('bpftool', ['prog', 'dump', 'xlated', 'id', String(id)], { encoding: 'utf8' }));
  const j = JSON.parse(run(sys, 'dump', 'xlated', 'id', String(id), '-j').out) as { disasm: string }[];
  const tj = (bpftool('prog', 'dump', 'xlated', 'id', String(id)) as { disasm: string }[]).map((x) => x.disasm);
  assert.deepEqual(j.map((x) => x.disasm), tj);
  const jited = JSON.parse(run(sys, 'dump', 'jited', 'id', String(id), '-j').out) as { name: string; opcodes: string[] }[];
  assert.ok(jited.length >= 2, 'entry + subprograms');
  assert.match(jited[0]!.name, /^bpf_prog_[0-9a-f]{16}_xdp_limit$/);
  assert.equal(jited.reduce((n, f) => n + f.opcodes.length, 0), obj.program('xdp_limit').info().jitedProgLen);
});

kernelTest('through main(): usage errors exit 2, a missing id exits 1 with the errno in the message', async () => {
  let out = '';
  const io: Io = { out: (t) => (out += t), err: (t) => (out += t) };
  assert.equal(await main(['prog', 'dump', 'nothing', 'id', '1'], io), 2);
  assert.equal(await main(['prog', 'frobnicate'], io), 2);
  out = '';
  assert.equal(await main(['prog', 'show', 'id', '4000000000', '-j'], io), 1);
  assert.match((JSON.parse(out) as { error: string }).error, /ENOENT/);
});
