// The demo's committed files match their sources: examples/xdp_flow_stats.o (clang-16) and examples/traffic.pcap (the script).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeTraffic } from '../../scripts/make-example-pcap.js';
import { repoRoot } from '../support/fixtures.js';

const examples = join(repoRoot, 'examples');

function clangAvailable(): string | false {
  try {
    execFileSync('clang-16', ['--version'], { stdio: 'pipe' });
    return false;
  } catch {
    return 'clang-16 is not installed';
  }
}

test('examples/xdp_flow_stats.o is what clang-16 builds from xdp_flow_stats.c', { skip: clangAvailable() }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-example-'));
  try {
    const out = join(dir, 'xdp_flow_stats.o');
    // The flags of scripts/build-fixtures.sh, compiled from the source's own directory.
    execFileSync('clang-16', ['-O2', '-g', '-fdebug-compilation-dir=.', '-Wall', '-Werror', '-I/usr/include/x86_64-linux-gnu', '-target', 'bpf', '-c', 'xdp_flow_stats.c', '-o', out], { cwd: examples, stdio: 'pipe' });
    assert.ok(Buffer.compare(readFileSync(out), readFileSync(join(examples, 'xdp_flow_stats.o'))) === 0, 'rebuild with: cd examples && clang-16 -O2 -g -fdebug-compilation-dir=. -Wall -Werror -I/usr/include/x86_64-linux-gnu -target bpf -c xdp_flow_stats.c -o xdp_flow_stats.o');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('examples/traffic.pcap is what scripts/make-example-pcap.ts writes', () => {
  const committed = new Uint8Array(readFileSync(join(examples, 'traffic.pcap')));
  assert.ok(Buffer.compare(makeTraffic(), committed) === 0, 'regenerate with: node --import tsx scripts/make-example-pcap.ts');
});
