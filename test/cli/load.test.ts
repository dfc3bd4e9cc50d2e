// `bpfkit load`: pins outlive the CLI process (checked with bpftool), typed failures and exit codes.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { CommandArgs } from '../../src/cli/args.js';
import { loadOptions, loadUsage, runLoad } from '../../src/cli/load.js';
import type { Io } from '../../src/cli/output.js';
import { fixturesDir, repoRoot, xdpToolsDir } from '../support/fixtures.js';
import { bpftool, kernelTest } from '../kernel/harness.js';

function cli(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync('node', ['--import', 'tsx', `${repoRoot}/src/cli/bin.ts`, ...args], { encoding: 'utf8', cwd: repoRoot });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function capture(): Io & { text: () => string } {
  let out = '';
  return { out: (t) => (out += t), err: (t) => (out += t), text: () => out };
}

kernelTest('load --pin DIR in a child process: programs and maps stay pinned after it exits, same tags as bpftool sees', () => {
  const dir = `/sys/fs/bpf/bpfkit-kl-load-${process.pid}`;
  try {
    const r = cli('load', path.join(fixturesDir, 'tail_calls.o'), '--pin', dir, '-j');
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(r.out) as { programs: { name: string; id: number; tag: string; pinned: string }[]; maps: { name: string; pinned?: string }[] };
    assert.deepEqual(doc.programs.map((p) => p.name).sort(), ['dispatcher', 'prog_a', 'prog_b']);
    for (const p of doc.programs) {
      assert.equal(p.pinned, `${dir}/${p.name}`);
      const shown = bpftool('prog', 'show', 'pinned', p.pinned) as { id: number; tag: string };
      assert.deepEqual([shown.id, shown.tag], [p.id, p.tag], 'the pinned program is the one the CLI loaded');
    }
    assert.deepEqual(readdirSync(`${dir}/maps`).sort(), ['hits', 'jump_table']);
    // The prog array filled by the loader survives too: bpftool dumps its program ids.
    const table = bpftool('map', 'dump', 'pinned', `${dir}/maps/jump_table`) as { key: string[]; value: number }[];
    assert.ok(table.length >= 2, 'prog array entries');
    const text = execFileSync('bpftool', ['prog', 'show', 'pinned', `${dir}/dispatcher`], { encoding: 'utf8' });
    assert.match(text, /name dispatcher/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

kernelTest('load in-process: text summary; by-name pins go under --pin-root; nothing leaks', (sys) => {
  const root = `/sys/fs/bpf/bpfkit-kl-root-${process.pid}`;
  execFileSync('mkdir', ['-p', root]);
  try {
    const io = capture();
    const code = runLoad(new CommandArgs([path.join(xdpToolsDir, 'xdpfilt_alw_eth.o'), '--pin-root', root], loadOptions, loadUsage), io, sys);
    assert.equal(code, 0);
    assert.match(io.text(), /loaded .*xdpfilt_alw_eth\.o: 1 program, 2 maps \(released on exit/);
    assert.deepEqual(readdirSync(root).sort(), ['filter_ethernet', 'xdp_stats_map'], 'pinned by name under --pin-root');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

kernelTest('load failures: a typed kernel failure exits 1 with JSON error and code; bad usage exits 2; no pins left', () => {
  const dir = `/sys/fs/bpf/bpfkit-kl-bad-${process.pid}`;
  const missing = cli('load', '/nonexistent.o', '-j');
  assert.equal(missing.code, 1);
  assert.equal((JSON.parse(missing.out) as { code: string }).code, 'ERR_FILE_READ');
  assert.equal(cli('load').code, 2);
  assert.equal(cli('load', path.join(fixturesDir, 'xdp_stats.o'), '--log-level', '9').code, 2);
  // xdpdump_bpf.o's fentry programs need a target program: the kernel BTF lookup fails, typed.
  const bad = cli('load', path.join(xdpToolsDir, 'xdpdump_bpf.o'), '--pin', dir, '-j');
  assert.equal(bad.code, 1);
  assert.equal((JSON.parse(bad.out) as { code: string }).code, 'ERR_KERNEL_SYMBOL');
  assert.equal(existsSync(`${dir}/maps`) && readdirSync(`${dir}/maps`).length > 0, false);
  rmSync(dir, { recursive: true, force: true });
});

kernelTest('without privileges (uid nobody, no capabilities): exit 1 with EPERM and what to grant', () => {
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', 'node', '--import', 'tsx', `${repoRoot}/src/cli/bin.ts`, 'load', path.join(fixturesDir, 'xdp_stats.o'), '-j'], { encoding: 'utf8', cwd: repoRoot });
  assert.equal(r.status, 1, r.stderr);
  const doc = JSON.parse(r.stdout) as { error: string; code: string };
  assert.equal(doc.code, 'ERR_KERNEL');
  assert.match(doc.error, /EPERM.*CAP_BPF/);
});
