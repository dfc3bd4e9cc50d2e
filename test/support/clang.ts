// Compiles a small BPF C source with clang-16 for a test, in a temporary directory it removes.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

/** `clang-16 -O2 -g -target bpf -c src` (with Debian's multiarch headers for asm/types.h); returns the object's bytes. */
export function compileBpf(src: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-clang-'));
  try {
    const out = join(dir, basename(src).replace(/\.c$/, '.o'));
    execFileSync('clang-16', ['-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', src, '-o', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
