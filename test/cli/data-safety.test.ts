// Data safety of the commands that write files: outputs that are inputs are refused, write errors
// name the output, a bad capture record still reports what came before it, progress lines stay
// out of pipes, and load's whole verifier log is there on request.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { makeTraffic } from '../../scripts/make-example-pcap.js';
import { kernelTest } from '../kernel/harness.js';
import { repoRoot } from '../support/fixtures.js';

const example = (f: string): string => path.join(repoRoot, 'examples', f);

function cli(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync('node', ['--import', 'tsx', `${repoRoot}/src/cli/bin.ts`, ...args], { encoding: 'utf8', cwd: repoRoot, maxBuffer: 1 << 26, timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(path.join(tmpdir(), 'bpfkit-safety-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An Ethernet/IPv4/UDP frame to port 53. */
function udpFrame(): Uint8Array {
  return Uint8Array.from([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0, 0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0, 53, 0, 53, 0, 8, 0, 0]);
}

test('run --out-pass naming the capture being read is refused, and the capture is untouched', () => {
  withDir((dir) => {
    const pcap = path.join(dir, 'in.pcap');
    writeFileSync(pcap, readFileSync(example('traffic.pcap')));
    const before = statSync(pcap).size;
    const r = cli('run', example('xdp_stats.o'), '--pcap', pcap, '--out-pass', path.join(dir, '.', 'in.pcap'));
    assert.equal(r.code, 1);
    assert.match(r.err, /is the same file as the input .*in\.pcap.*\[ERR_OUTPUT_IS_INPUT\]/);
    assert.equal(statSync(pcap).size, before);
    assert.deepEqual(readdirSync(dir), ['in.pcap']);
    const twice = cli('run', example('xdp_stats.o'), '--pcap', pcap, '--out-pass', path.join(dir, 'a.pcap'), '--out-drop', path.join(dir, 'a.pcap'));
    assert.equal(twice.code, 2);
    assert.match(twice.err, /--out-drop and --out-pass name the same file/);
  });
});

test('an unwritable --out-pass is a write error naming the output, not a read error of the input', () => {
  withDir((dir) => {
    const out = path.join(dir, 'missing', 'x.pcap');
    const r = cli('run', example('xdp_stats.o'), '--pcap', example('traffic.pcap'), '--out-pass', out);
    assert.equal(r.code, 1);
    assert.match(r.err, new RegExp(`${out.replace(/[.]/g, '\\.')}: cannot write: no such directory .*\\[ERR_FILE_WRITE\\]`));
    assert.doesNotMatch(r.err, /ERR_FILE_READ|internal error/);
  });
});

test('a truncated capture reports the packets before the bad record and says how to go on', () => {
  withDir((dir) => {
    const full = readFileSync(example('traffic.pcap'));
    const pcap = path.join(dir, 'cut.pcap');
    writeFileSync(pcap, full.subarray(0, 100_000));
    const r = cli('run', example('xdp_stats.o'), '--pcap', pcap, '--out-pass', path.join(dir, 'pass.pcap'), '-j');
    assert.equal(r.code, 1);
    const doc = JSON.parse(r.out) as { packets: number; code: string; error: string; verdicts: { packets: number }[] };
    assert.ok(doc.packets > 100 && doc.packets < 3000, `${doc.packets} packets before the bad record`);
    assert.equal(doc.verdicts.reduce((s, v) => s + v.packets, 0) <= doc.packets, true);
    assert.equal(doc.code, 'ERR_PCAP_MALFORMED');
    assert.match(doc.error, /truncated record.*the results cover the \d+ packets before it \(pass --skip-bad-records/);
    assert.ok(existsSync(path.join(dir, 'pass.pcap')), 'the packets before the bad record are written');
    const skip = cli('run', example('xdp_stats.o'), '--pcap', pcap, '--skip-bad-records', '-j');
    assert.equal(skip.code, 0, skip.err);
    assert.equal((JSON.parse(skip.out) as { packets: number }).packets, doc.packets);
  });
});

test('progress lines go to stderr only on a terminal or with --progress', () => {
  withDir((dir) => {
    const pcap = path.join(dir, 'big.pcap');
    writeFileSync(pcap, makeTraffic(270_000));
    const quiet = cli('run', example('xdp_stats.o'), '--pcap', pcap);
    assert.equal(quiet.code, 0, quiet.err);
    assert.doesNotMatch(quiet.err, /\r|packets\/s/, 'no progress lines in a pipe');
    const asked = cli('run', example('xdp_stats.o'), '--pcap', pcap, '--progress');
    assert.equal(asked.code, 0, asked.err);
    assert.match(asked.err, /\r {2}262144 packets \(\d+%\), \d+ packets\/s/);
  });
});

test('test-run: outputs that are inputs refused before running; unwritable outputs named; --prog optional with one program', () => {
  withDir((dir) => {
    const data = path.join(dir, 'frame.bin');
    writeFileSync(data, udpFrame());
    const same = cli('test-run', example('xdp_stats.o'), '--data-in', data, '--data-out', data);
    assert.equal(same.code, 1);
    assert.match(same.err, /\[ERR_OUTPUT_IS_INPUT\]/);
    assert.deepEqual([...readFileSync(data)], [...udpFrame()]);
    const bad = cli('test-run', example('xdp_stats.o'), '--data-in', data, '--data-out', path.join(dir, 'no', 'out.bin'));
    assert.equal(bad.code, 1);
    assert.match(bad.err, /out\.bin: cannot write: no such directory .*\[ERR_FILE_WRITE\]/);
    assert.doesNotMatch(bad.err, /internal error/);
    const ok = cli('test-run', example('xdp_stats.o'), '--data-in', data, '--data-out', path.join(dir, 'out.bin'), '-j');
    assert.equal(ok.code, 0, ok.err);
    assert.equal((JSON.parse(ok.out) as { retval: number }).retval, 2);
    assert.deepEqual(readdirSync(dir).sort(), ['frame.bin', 'out.bin']);
    const many = cli('test-run', example('xdp_flow_stats.o'), '--data-in', data);
    if ((JSON.parse(cli('inspect', example('xdp_flow_stats.o'), '-j').out) as { programs: unknown[] }).programs.length > 1) {
      assert.equal(many.code, 2);
      assert.match(many.err, /choose one with --prog NAME/);
    }
  });
});

kernelTest('load --pin-root DIR creates DIR as bpftool does; a rejected program\'s whole log goes to --log-file', () => {
  const root = `/sys/fs/bpf/bpfkit-safety-${process.pid}`;
  try {
    const r = cli('load', example('xdp_flow_stats.o'), '--pin-root', `${root}/a/b`, '-j');
    assert.equal(r.code, 0, r.err);
    assert.ok(existsSync(`${root}/a/b`));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  withDir((dir) => {
    // An out-of-bounds packet read after a few branches: the kernel's log is longer than the error.
    const src = path.join(dir, 'bad.c');
    writeFileSync(src, `#include <linux/bpf.h>
#define SEC(n) __attribute__((section(n), used))
SEC("xdp") int bad(struct xdp_md *ctx) {
  unsigned char *d = (unsigned char *)(long)ctx->data, *e = (unsigned char *)(long)ctx->data_end;
  int x = 0;
  if (d + 14 > e) return 1;
  if (d[12] == 8) x += d[13];
  if (d[0] == 1) x += d[1];
  return x + d[20];
}
char _license[] SEC("license") = "GPL";`);
    const obj = path.join(dir, 'bad.o');
    spawnSync('clang-16', ['-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', src, '-o', obj]);
    const plain = cli('load', obj);
    assert.equal(plain.code, 1);
    assert.match(plain.err, /outside of the packet|invalid access to packet/);
    assert.match(plain.err, /lines omitted/);
    assert.match(plain.err, /the whole verifier log: --log-file F writes it/);
    const log = path.join(dir, 'verifier.log');
    const withFile = cli('load', obj, '--log-file', log);
    assert.equal(withFile.code, 1);
    assert.match(withFile.err, /whole verifier log \(\d+ lines\) is in .*verifier\.log/);
    const text = readFileSync(log, 'utf8');
    assert.match(text, /outside of the packet|invalid access to packet/);
    assert.ok(text.split('\n').length > plain.err.split('\n').length, 'the file holds more than the error shows');
    const printed = cli('load', obj, '--log-level', '1');
    assert.ok(printed.err.includes(text.trim().split('\n')[0]!), 'the log is printed with --log-level');
  });
});
