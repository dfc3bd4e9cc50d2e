// `bpfkit verify`: verdicts, the rejected instruction with its C line, message, hint, statistics,
// JSON, exit codes — on C programs with the classic mistakes (test/fixtures/verifier).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/output.js';
import { verifierFixturesDir } from './fixture-oracle.js';
import { FIXTURE_GOLDEN, readGolden } from './golden.js';
import { compileBpf } from '../support/clang.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t) };
  return { code: await main(argv, io), out, err };
}
const fixture = (name: string) => path.join(verifierFixturesDir, `${name}.o`);
const golden = readGolden(FIXTURE_GOLDEN);

test('verify: a correct program is accepted, exit 0, with veristat statistics', async () => {
  const { code, out } = await run('verify', fixture('checked'));
  assert.equal(code, 0, out);
  assert.match(out, /^xdp_checked \(xdp, section xdp\): accepted$/m);
  assert.match(out, /processed [1-9]\d* insns, peak states \d+, total states \d+, \d+ us/);
});

/** The classic mistakes: the line the kernel blames, in each C file. */
const MISTAKES: [string, string, number][] = [
  ['missing_bounds', 'xdp_missing_bounds', 16],
  ['missing_null_check', 'xdp_missing_null_check', 21],
  ['unbounded_index', 'xdp_unbounded_index', 34],
];

for (const [file, prog, line] of MISTAKES) {
  test(`verify: ${file}.o is rejected at line ${line} with the kernel's reason and a hint`, async () => {
    const kernel = golden.programs[`verifier-fixtures/${file}.o:${prog}`]!;
    const { code, out } = await run('verify', fixture(file), '--json');
    assert.equal(code, 1, out);
    const [r] = JSON.parse(out) as { verdict: string; insn: number; line: { file: string; line: number } | null; message: string; hint: string | null; processed_insns: number }[];
    assert.ok(r);
    assert.equal(r.verdict, 'reject');
    assert.equal(r.insn, kernel.insn, `kernel rejects at insn ${kernel.insn}: ${kernel.message}`);
    assert.equal(r.line?.file.replace(/^\.\//, ''), `${file}.c`);
    assert.equal(r.line?.line, line);
    assert.ok(r.message === kernel.message || r.message === kernel.detail, `bpfkit "${r.message}" vs kernel "${kernel.detail} / ${kernel.message}"`);
    assert.ok(r.hint && r.hint.length > 20, 'a hint');
    assert.match(r.hint, new RegExp(`line ${line}`));
    assert.ok(r.processed_insns > 0);
  });
}

test('verify: text output names the instruction, the C line, the message and the hint', async () => {
  const { code, out } = await run('verify', fixture('missing_bounds'));
  assert.equal(code, 1);
  assert.match(out, /^xdp_missing_bounds \(xdp, section xdp\): rejected$/m);
  assert.match(out, /^ {2}insn 1: \(71\) r2 = \*\(u8 \*\)\(r1 \+12\)$/m);
  assert.match(out, /^ {2}line (\.\/)?missing_bounds\.c:16:\d+: if \(eth->h_proto == bpf_htons\(ETH_P_IPV6\)\)$/m);
  assert.match(out, /^ {2}hint: the packet pointer was dereferenced before it was compared with data_end: add `if \(data \+ 14 > data_end\) return XDP_DROP;` \(the whole Ethernet header; this access reads up to byte 13\) before line 16/m);
});

test('verify: --log-level 2 prints the register states, --prog selects, usage errors exit 2', async () => {
  const lvl = await run('verify', fixture('checked'), '--log-level', '2');
  assert.equal(lvl.code, 0);
  assert.match(lvl.out, /R1=ctx\(\)|R1_w=ctx|R1=ctx/);
  assert.equal((await run('verify', fixture('checked'), '--prog', 'nope')).code, 2);
  assert.equal((await run('verify', fixture('checked'), '--log-level', '7')).code, 2);
  assert.equal((await run('verify')).code, 2);
  const one = await run('verify', fixture('checked'), '--prog', 'xdp_checked', '-j');
  assert.equal((JSON.parse(one.out) as unknown[]).length, 1);
});

test('verify --unprivileged: the rules for a loader without CAP_BPF (a pointer stored into a map leaks)', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bpfkit-unpriv-'));
  try {
    const obj = path.join(dir, 'unpriv_leak.o');
    writeFileSync(obj, compileBpf(path.join(import.meta.dirname, 'c', 'unpriv_leak.c')));
    const root = await run('verify', obj, '--json');
    assert.equal(root.code, 0, root.out);
    const nobody = await run('verify', obj, '--unprivileged', '--json');
    assert.equal(nobody.code, 1, nobody.out);
    const [r] = JSON.parse(nobody.out) as { verdict: string; message: string; line: { line: number } | null }[];
    assert.equal(r?.verdict, 'reject');
    assert.equal(r?.message, 'R0 leaks addr into map');
    assert.equal(r?.line?.line, 7);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
