// BTF dumps (raw text, JSON, C) against bpftool btf dump on every fixture, the BTF test sources and vmlinux; the C compiles with clang.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { dumpBtfC, dumpBtfRaw, parseBtf } from '../../src/btf/index.js';
import { btfBytesOfFile } from '../../src/cli/btf.js';
import { fixturesDir } from '../support/fixtures.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';
const btfFixtures = path.join(import.meta.dirname, 'fixtures');

function bpftool(...args: string[]): string {
  return execFileSync('bpftool', args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
}

/** libbpf >= 1.2 marks 1-byte enums `mode(byte)` so their size survives; the installed bpftool (libbpf 1.1) does not. */
const withoutModeByte = (c: string): string => c.replaceAll(' __attribute__((mode(byte)))', '');

/** Compiles `header` included from a BPF C file with clang-16; throws with clang's message on an error. */
function compiles(header: string, use = ''): void {
  const dir = mkdtempSync(path.join(tmpdir(), 'bpfkit-btf-c-'));
  try {
    writeFileSync(path.join(dir, 'types.h'), header);
    writeFileSync(path.join(dir, 'use.c'), `#include "types.h"\n${use}\nint bpfkit_dummy;\n`);
    execFileSync('clang-16', ['-target', 'bpf', '-O2', '-g', '-c', path.join(dir, 'use.c'), '-o', path.join(dir, 'use.o')], { stdio: ['ignore', 'ignore', 'pipe'] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function objects(): string[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'bpfkit-btf-dump-'));
  const built = ['types.c', 'core.c', 'btf_values.c'].map((c) => {
    const out = path.join(dir, c.replace(/\.c$/, '.o'));
    execFileSync('clang-16', ['-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', path.join(btfFixtures, c), '-o', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    return out;
  });
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return [...readdirSync(fixturesDir).filter((f) => f.endsWith('.o')).map((f) => path.join(fixturesDir, f)), ...built];
}

test('btf dump raw, -j, -p and format c of every fixture object equal bpftool byte for byte; the C compiles', () => {
  let files = 0;
  for (const file of objects()) {
    const btf = parseBtf(btfBytesOfFile(file));
    const name = path.basename(file);
    assert.equal(dumpBtfRaw(btf), bpftool('btf', 'dump', 'file', file), `${name} raw`);
    assert.equal(`${dumpBtfRaw(btf, { json: true })}\n`, bpftool('btf', 'dump', 'file', file, '-j'), `${name} -j`);
    assert.equal(`${dumpBtfRaw(btf, { json: true, pretty: true })}\n`, bpftool('btf', 'dump', 'file', file, '-p'), `${name} -p`);
    const c = dumpBtfC(btf);
    assert.equal(withoutModeByte(c), bpftool('btf', 'dump', 'file', file, 'format', 'c'), `${name} format c`);
    if (!name.includes('bpfeb')) compiles(c);
    files++;
  }
  process.stdout.write(`# btf dump raw/-j/-p/c vs bpftool: ${files} objects byte-identical\n`);
  assert.ok(files >= 15);
});

test('btf dump of vmlinux: raw and -j byte-identical to bpftool; format c equal but for mode(byte) on 1-byte enums, and it compiles', { skip: existsSync(VMLINUX) ? false : `${VMLINUX} is absent (kernel built without CONFIG_DEBUG_INFO_BTF)` }, () => {
  const btf = parseBtf(btfBytesOfFile(VMLINUX));
  const raw = dumpBtfRaw(btf);
  assert.ok(raw === bpftool('btf', 'dump', 'file', VMLINUX), 'raw text differs from bpftool');
  assert.ok(`${dumpBtfRaw(btf, { json: true })}\n` === bpftool('btf', 'dump', 'file', VMLINUX, '-j'), 'JSON differs from bpftool');
  const c = dumpBtfC(btf);
  assert.ok(withoutModeByte(c) === bpftool('btf', 'dump', 'file', VMLINUX, 'format', 'c'), 'C differs from bpftool beyond mode(byte)');
  // The 1-byte enums keep their size only with mode(byte): a struct embedding one lays out as the kernel's.
  const oneByteEnums = btf.types.filter((t) => (t.kind === 'enum' || t.kind === 'enum64') && t.size === 1 && t.values.length > 0).length;
  assert.equal(c.split(' __attribute__((mode(byte)))').length - 1, oneByteEnums);
  compiles(c, 'int pid_of(struct task_struct *t) { return t->pid; }\n_Static_assert(sizeof(struct sk_buff) > 100, "sk_buff");');
  process.stdout.write(`# vmlinux: ${btf.types.length - 1} types, ${raw.length} bytes of raw dump identical; C compiles (${oneByteEnums} enums with mode(byte))\n`);
});

test('dumpBtfRaw ids: only the root types asked for, in that order (bpftool btf dump map)', () => {
  const btf = parseBtf(btfBytesOfFile(path.join(fixturesDir, 'xdp_stats.o')));
  const text = dumpBtfRaw(btf, { ids: [3, 1] });
  assert.match(text, /^\[3\] [^\n]*\n(\t[^\n]*\n)*\[1\] /);
  assert.equal(dumpBtfRaw(btf, { ids: [] }), '');
});
