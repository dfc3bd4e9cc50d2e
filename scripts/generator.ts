// What every scripts/gen-*.ts shares: bpftool's BTF dump, and the write-or---check command line.
//
// A generator is `render(btfPath) => text`; `runGenerator` parses `[--check] [--btf PATH]`,
// then either writes the output atomically or (CI) exits 1 naming the first differing line.
import { execFileSync } from 'node:child_process';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

/** Prints `name: message` and exits 2 (the generator cannot run). */
export function failWith(name: string): (message: string) => never {
  return (message) => {
    process.stderr.write(`${name}: ${message}\n`);
    process.exit(2);
  };
}

/** The `types` of `bpftool btf dump file PATH -j` (BPFTOOL=path overrides bpftool). */
export function dumpBtfTypes<T>(btfPath: string, fail: (message: string) => never): T[] {
  const bpftool = process.env.BPFTOOL ?? 'bpftool';
  let json: string;
  try {
    json = execFileSync(bpftool, ['btf', 'dump', 'file', btfPath, '-j'], { maxBuffer: 1 << 30, encoding: 'utf8' });
  } catch (err) {
    fail(`cannot dump BTF from ${btfPath} with ${bpftool}: ${(err as Error).message}`);
  }
  const parsed = JSON.parse(json) as { types?: T[] };
  if (!Array.isArray(parsed.types)) fail('unexpected bpftool output: no "types" array');
  return parsed.types;
}

/**
 * Runs a generator as a command: renders from `--btf PATH` (default the running kernel's BTF)
 * and writes `out` atomically, or with `--check` exits 1 when the committed file differs.
 */
export function runGenerator(name: string, out: string, render: (btfPath: string) => string, argv = process.argv.slice(2)): void {
  const fail = failWith(name);
  const btfIdx = argv.indexOf('--btf');
  const btfPath = btfIdx >= 0 ? (argv[btfIdx + 1] ?? fail('--btf needs a path')) : '/sys/kernel/btf/vmlinux';
  const text = render(btfPath);
  if (argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(out, 'utf8');
    } catch {
      // a missing file counts as drift
    }
    if (current !== text) {
      const a = current.split('\n');
      const b = text.split('\n');
      const at = a.findIndex((line, i) => line !== b[i]);
      process.stderr.write(`${name}: ${out} is out of date (first difference at line ${(at < 0 ? a.length : at) + 1}); run node --import tsx scripts/${name}.ts\n`);
      process.exit(1);
    }
    process.stdout.write(`${name}: ${out} is up to date\n`);
    return;
  }
  const tmp = `${out}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, out);
  process.stdout.write(`${name}: wrote ${out}\n`);
}
