// `bpfkit prog dump xlated [linum] [-j]` with BTF prototypes and source lines, byte for byte against bpftool on every fixture program.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { CommandArgs } from '../../src/cli/args.js';
import type { Io } from '../../src/cli/output.js';
import { progUsage, runProg } from '../../src/cli/prog.js';
import { loadObject } from '../../src/elf/index.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import type { Sys } from '../../src/kernel/sys.js';
import { compileBpf } from '../support/clang.js';
import { expectedRejections, fixturesDir } from '../support/fixtures.js';
import { kernelTest } from '../kernel/harness.js';
import { after } from 'node:test';

const PIN_ROOT = `/sys/fs/bpf/bpfkit-pd-${process.pid}`;
const pinRoot = (): string => {
  mkdirSync(PIN_ROOT, { recursive: true });
  return PIN_ROOT;
};
after(() => rmSync(PIN_ROOT, { recursive: true, force: true }));

function ours(sys: Sys, argv: string[]): string {
  let out = '';
  const io: Io = { out: (t) => (out += t), err: (t) => (out += t) };
  runProg(new CommandArgs(argv, {}, progUsage), io, sys);
  return out;
}

function theirs(argv: string[]): string {
  const r = spawnSync('bpftool', argv, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

kernelTest('prog dump xlated [linum|opcodes] [-j|-p] of every fixture program equals bpftool byte for byte (prototypes, ; source lines, file/line/col, raw bytes)', (sys) => {
  let programs = 0;
  let sourceLines = 0;
  const objects: [string, Uint8Array][] = readdirSync(fixturesDir)
    // bpftool 7.1's disassembler predates cpu v4 (sdiv prints as `/=`, movsx as a plain mov), and
    // raw_insns is made of those: introspect.test.ts leaves it out for the same reason.
    .filter((f) => f.endsWith('.o') && f !== 'raw_insns.o' && !(f.replace(/\.o$/, '') in expectedRejections))
    .map((f) => [f, new Uint8Array(readFileSync(path.join(fixturesDir, f)))]);
  objects.push(['btf_values.c', compileBpf(path.join(import.meta.dirname, '..', 'btf', 'fixtures', 'btf_values.c'))]);
  for (const [name, bytes] of objects) {
    const spec = loadObject(bytes, { objectName: name.replace(/\.[co]$/, '') });
    if (spec.programs.some((p) => p.type === 0) || spec.byteOrder !== 'le') continue; // legacy section names need --type; bpfeb cannot load here
    // maps_zoo pins a map by name: under our own root, removed at the end, never /sys/fs/bpf itself.
    using obj = loadKernelObject(sys, spec, { pinPath: pinRoot() });
    for (const [pname, p] of obj.programs) {
      const id = String(p.info().id);
      for (const flags of [[], ['linum'], ['-j'], ['linum', '-p'], ['opcodes'], ['opcodes', '-j']]) {
        const text = ours(sys, ['dump', 'xlated', 'id', id, ...flags]);
        assert.equal(text, theirs(['prog', 'dump', 'xlated', 'id', id, ...flags]), `${name}: ${pname} ${flags.join(' ')}`);
        if (flags.length === 0) sourceLines += text.split('\n').filter((l) => l.startsWith('; ')).length;
      }
      programs++;
    }
  }
  process.stdout.write(`# prog dump xlated vs bpftool: ${programs} programs x 6 forms byte-identical, ${sourceLines} source lines\n`);
  assert.ok(programs >= 15);
  assert.ok(sourceLines >= 200);
});

kernelTest('prog dump xlated: the prototype heads each function; linum adds file, line and column', (sys) => {
  using obj = loadKernelObject(sys, loadObject(readFileSync(path.join(fixturesDir, 'subprogs_globals.o')), { objectName: 'subprogs_globals' }));
  const id = String(obj.program('xdp_limit').info().id);
  const text = ours(sys, ['dump', 'xlated', 'id', id, 'linum']);
  assert.match(text, /^int xdp_limit\(struct xdp_md \* ctx\):\n; [^\n]+ \[file:[^\]]*subprogs_globals\.c line_num:\d+ line_col:\d+\]\n {3}0: \(/);
  assert.ok(text.split('\n').filter((l) => /^\S.*\):$/.test(l)).length >= 2, 'subprograms have their prototypes too');
  assert.throws(() => ours(sys, ['dump', 'jited', 'id', id, 'linum']), /unexpected argument 'linum'/);
});
