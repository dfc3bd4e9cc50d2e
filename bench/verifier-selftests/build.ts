// Builds the kernel's verifier selftests (progs/verifier_*.c of Debian's linux-source tarball) with
// clang-16 as the selftests' Makefile does, into a cache directory outside the repository.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Where Debian's linux-source package puts its tarball. */
export const TARBALL_DIR = '/usr/src';

/** The tarball to build from: linux-source-6.12 (the newest linux-source-* otherwise), or undefined when none is installed. */
export function findTarball(dir = TARBALL_DIR): string | undefined {
  if (!existsSync(dir)) return undefined;
  const all = readdirSync(dir)
    .filter((f) => /^linux-source-[\d.]+\.tar\.xz$/.test(f))
    .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const preferred = all.find((f) => f === 'linux-source-6.12.tar.xz') ?? all.at(-1);
  return preferred === undefined ? undefined : path.join(dir, preferred);
}

/** The cache directory: $BPFKIT_SELFTESTS_CACHE, or ~/.cache/bpfkit/verifier-selftests (never inside the repository). */
export function cacheDir(): string {
  return process.env['BPFKIT_SELFTESTS_CACHE'] ?? path.join(process.env['XDG_CACHE_HOME'] ?? path.join(os.homedir(), '.cache'), 'bpfkit', 'verifier-selftests');
}

/** One compiled selftest file. */
export interface BuiltFile {
  /** `verifier_and` (the file's name without `.c`). */
  readonly name: string;
  /** The object, or undefined when clang could not build it. */
  readonly object?: string;
  /** Why it was not built, or what was changed to build it (programs dropped, -Werror off). */
  readonly note?: string;
}

/** The extracted tree: the selftests' directory and the tarball's tools/lib/bpf and uapi headers. */
interface Tree {
  readonly selftests: string;
  readonly libbpf: string;
  readonly uapi: string;
}

/** Extracts what the build needs (once per tarball; an interrupted extraction is redone). */
function extract(tarball: string, cache: string): Tree {
  const base = path.basename(tarball, '.tar.xz');
  const root = path.join(cache, 'src', base);
  const tree: Tree = {
    selftests: path.join(root, 'tools/testing/selftests/bpf'),
    libbpf: path.join(root, 'tools/lib/bpf'),
    uapi: path.join(root, 'tools/include/uapi'),
  };
  const done = path.join(cache, 'src', `${base}.done`);
  if (existsSync(done)) return tree;
  const tmp = path.join(cache, 'src', `${base}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  execFileSync('tar', ['xJf', tarball, '-C', tmp, '--strip-components=1', '--wildcards', `${base}/tools/testing/selftests/bpf/*.h`, `${base}/tools/testing/selftests/bpf/progs/*`, `${base}/tools/lib/bpf/*.h`, `${base}/tools/include/*`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  rmSync(root, { recursive: true, force: true });
  renameSync(tmp, root);
  writeFileSync(done, `${new Date().toISOString()}\n`);
  return tree;
}

/**
 * The include directory of generated headers: vmlinux.h of the running kernel (bpftool's
 * `btf dump ... format c`), libbpf's BPF-side headers from the tarball (bpf_helpers.h with
 * `__arg_ctx` and friends) and bpf_helper_defs.h from libbpf-dev (the tarball ships no generated one).
 */
function includeDir(cache: string, tree: Tree): string {
  const release = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  const dir = path.join(cache, 'include', release);
  const vmlinux = path.join(dir, 'vmlinux.h');
  if (existsSync(path.join(dir, '.done'))) return dir;
  mkdirSync(path.join(dir, 'bpf'), { recursive: true });
  const c = execFileSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'c'], { maxBuffer: 1 << 30, encoding: 'utf8' });
  writeFileSync(vmlinux, c);
  for (const h of ['bpf_helpers.h', 'bpf_tracing.h', 'bpf_core_read.h', 'bpf_endian.h']) writeFileSync(path.join(dir, 'bpf', h), readFileSync(path.join(tree.libbpf, h)));
  writeFileSync(path.join(dir, 'bpf', 'bpf_helper_defs.h'), readFileSync('/usr/include/bpf/bpf_helper_defs.h'));
  writeFileSync(path.join(dir, '.done'), `${release}\n`);
  return dir;
}

/** The selftests Makefile's flags (BPF_CFLAGS, CLANG_SYS_INCLUDES, the default -mcpu=v3 flavour). */
function clangArgs(include: string, tree: Tree, werror: boolean): string[] {
  return [
    '-g', '-Wall', ...(werror ? ['-Werror'] : []), '-D__TARGET_ARCH_x86', '-mlittle-endian',
    '-I', include, '-I', tree.selftests, '-I', path.join(tree.selftests, 'progs'), '-I', tree.uapi,
    '-idirafter', '/usr/lib/llvm-16/lib/clang/16/include', '-idirafter', '/usr/local/include',
    '-idirafter', '/usr/include/x86_64-linux-gnu', '-idirafter', '/usr/include',
    '-Wno-compare-distinct-pointer-types', '-O2', '--target=bpf', '-mcpu=v3', '-c',
  ];
}

function run(cmd: string, args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e) => resolve({ code: -1, stderr: e.message }));
    child.on('close', (code) => resolve({ code: code ?? -1, stderr }));
  });
}

/**
 * Removes the test functions (from their `SEC(` line to the closing `}` in column 0) that
 * contain the given lines: clang-16 cannot assemble a few of them (cpu v4 instructions).
 * Returns the new source and the names of the functions dropped.
 */
function dropFunctions(source: string, lines: ReadonlySet<number>): { source: string; dropped: string[] } {
  const text = source.split('\n');
  const dropped: string[] = [];
  const remove = new Set<number>();
  for (const line of lines) {
    let start = line - 1;
    while (start >= 0 && !text[start]!.startsWith('SEC(')) start--;
    let end = line - 1;
    while (end < text.length && text[end] !== '}') end++;
    if (start < 0 || end >= text.length) continue;
    for (let i = start; i <= end; i++) remove.add(i);
    const name = text.slice(start, end + 1).join('\n').match(/(\w+)\s*\([^()]*\)\s*\{/);
    dropped.push(name?.[1] ?? `line ${line}`);
  }
  return { source: text.map((l, i) => (remove.has(i) ? '' : l)).join('\n'), dropped: [...new Set(dropped)] };
}

/** Compiles one file (cached by modification time): as is, then without -Werror, then without the functions clang cannot assemble. */
async function compile(file: string, out: string, include: string, tree: Tree): Promise<BuiltFile> {
  const name = path.basename(file, '.c');
  const noteFile = `${out}.note`;
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(file).mtimeMs) {
    return { name, object: out, ...(existsSync(noteFile) ? { note: readFileSync(noteFile, 'utf8') } : {}) };
  }
  const tmp = `${out}.tmp-${process.pid}`;
  const finish = (note?: string): BuiltFile => {
    renameSync(tmp, out);
    if (note) writeFileSync(noteFile, note);
    else rmSync(noteFile, { force: true });
    return { name, object: out, ...(note ? { note } : {}) };
  };
  let r = await run('clang-16', [...clangArgs(include, tree, true), file, '-o', tmp]);
  if (r.code === 0) return finish();
  // vmlinux.h is the running kernel's, not 6.12's: const qualifiers on a few kfunc arguments differ.
  r = await run('clang-16', [...clangArgs(include, tree, false), file, '-o', tmp]);
  if (r.code === 0) return finish('built without -Werror (vmlinux.h of the running kernel differs from 6.12)');
  const bad = new Set([...r.stderr.matchAll(new RegExp(`${name}\\.c:(\\d+):\\d+: error:`, 'g'))].map((m) => Number(m[1])));
  if (bad.size > 0) {
    const { source, dropped } = dropFunctions(readFileSync(file, 'utf8'), bad);
    const copy = `${out}.src-${process.pid}.c`;
    writeFileSync(copy, `#line 1 "${file}"\n${source}`);
    try {
      const again = await run('clang-16', [...clangArgs(include, tree, false), '-I', path.dirname(file), copy, '-o', tmp]);
      if (again.code === 0) return finish(`clang-16 cannot build ${dropped.join(', ')} (dropped)`);
      r = again;
    } finally {
      rmSync(copy, { force: true });
    }
  }
  rmSync(tmp, { force: true });
  const first = r.stderr.split('\n').find((l) => l.includes('error:')) ?? r.stderr.split('\n')[0] ?? '';
  return { name, note: `clang-16 cannot build it: ${first.replace(/^.*?error: /, '')}` };
}

/** Options of {@link buildSelftests}. */
export interface BuildOptions {
  /** Only these files (names without `.c`); default every progs/verifier_*.c. */
  readonly only?: readonly string[];
  /** Parallel clang processes (default 2). */
  readonly jobs?: number;
  /** The tarball (default {@link findTarball}). */
  readonly tarball?: string;
}

/** Extracts (once), generates the headers (once per kernel release) and compiles the verifier selftests. */
export async function buildSelftests(options: BuildOptions = {}): Promise<BuiltFile[]> {
  const tarball = options.tarball ?? findTarball();
  if (tarball === undefined) throw new Error(`no linux-source tarball under ${TARBALL_DIR} (apt-get install linux-source-6.12)`);
  const cache = cacheDir();
  mkdirSync(cache, { recursive: true });
  const tree = extract(tarball, cache);
  const include = includeDir(cache, tree);
  const objDir = path.join(cache, 'obj', path.basename(tarball, '.tar.xz'), path.basename(include));
  mkdirSync(objDir, { recursive: true });
  const progs = path.join(tree.selftests, 'progs');
  const names = readdirSync(progs)
    .filter((f) => /^verifier_.*\.c$/.test(f))
    .map((f) => f.slice(0, -2))
    .filter((n) => !options.only || options.only.includes(n))
    .sort();
  const missing = (options.only ?? []).filter((n) => !names.includes(n));
  if (missing.length) throw new Error(`no such selftest file: ${missing.join(', ')}`);
  const results: BuiltFile[] = new Array(names.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length) {
      const i = next++;
      const n = names[i]!;
      results[i] = await compile(path.join(progs, `${n}.c`), path.join(objDir, `${n}.o`), include, tree);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.jobs ?? 2) }, worker));
  return results;
}
