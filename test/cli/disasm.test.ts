// `bpfkit disasm`: linked programs in llvm-objdump's and the verifier log's syntax, with source.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/output.js';
import { assemble } from '../../src/asm/index.js';
import { encode } from '../../src/isa/index.js';
import { fixturePath } from '../support/fixtures.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t) };
  return { code: await main(argv, io), out, err };
}

/** Instruction text of llvm-objdump's listing, without addresses and bytes. */
const textOf = (listing: string) =>
  listing
    .split('\n')
    .map((l) => /^\s+\d+:\t(?:[0-9a-f]{2} )*[0-9a-f]{2}\t(.*)$/.exec(l)?.[1]?.trim())
    .filter((t): t is string => t !== undefined);

test('disasm --source agrees with llvm-objdump -S on a single-function program', async () => {
  const { code, out } = await run('disasm', fixturePath('xdp_stats'), '--source');
  assert.equal(code, 0);
  const ours = textOf(out);
  const theirs = textOf(execFileSync('llvm-objdump-16', ['-d', '-S', fixturePath('xdp_stats')], { encoding: 'utf8' }));
  assert.equal(ours.length, theirs.length);
  // The loader turns `r1 = 0x0 ll` against a map into a map-fd lddw, which we print by map name.
  // Jump annotations differ only in naming: clang's local LBB labels are not kept in a linked
  // program, so we print objdump's own fallback form <func+0x98>.
  const bare = (t: string) => t.replace(/ <[^>]+>$/, '');
  ours.forEach((t, i) => assert.equal(bare(t), /^r1 = map\[xdp_stats_map\] ll$/.test(t) ? theirs[i]!.replace('r1 = 0x0 ll', t) : bare(theirs[i]!), `insn ${i}`));
  for (const line of ['rec = bpf_map_lookup_elem(&xdp_stats_map, &action);', 'rec->rx_packets++;']) assert.ok(out.includes(`; \t${line}`), line);
});

test('disasm --syntax kernel prints the verifier log form with map names', async () => {
  const { code, out } = await run('disasm', fixturePath('xdp_stats'), '--syntax', 'kernel');
  assert.equal(code, 0);
  assert.match(out, /^0: \(b7\) r2 = 2$/m);
  assert.match(out, /^6: \(18\) r1 = map\[xdp_stats_map\]$/m);
  assert.match(out, /^8: \(85\) call bpf_map_lookup_elem#1$/m);
  assert.match(out, /^20: \(95\) exit$/m);
});

test('disasm links subprograms after the entry function and labels them', async () => {
  const { out } = await run('disasm', fixturePath('subprogs_globals'), '--prog', 'xdp_count', '--no-raw');
  assert.match(out, /^0000000000000000 <xdp_count>:$/m);
  assert.match(out, /<account>:$/m);
  assert.match(out, /^\s+0:\tcall pc\+0x12 <packet_len>$/m);
  assert.match(out, /^\s+8:\tcall pc\+0xe <account>$/m);
});

test('disasm -j: every instruction with pc, bytes, text and source', async () => {
  const { code, out } = await run('disasm', fixturePath('xdp_stats'), '-j', '--decimal');
  assert.equal(code, 0);
  const [prog] = JSON.parse(out);
  assert.equal(prog.name, 'xdp_stats_prog');
  assert.deepEqual(prog.insns[0], { pc: 0, symbol: 'xdp_stats_prog', opcodes: 'b7 02 00 00 02 00 00 00', text: 'r2 = 2', source: prog.insns[0].source });
  assert.equal(prog.insns.at(-1).text, 'exit');
  assert.equal(prog.insns.find((i: { pc: number }) => i.pc === 6).reference, 'xdp_stats_map');
});

test('disasm output assembles back to the same bytes', async () => {
  for (const name of ['xdp_stats', 'atomics_alu', 'socket_filter', 'tc_flow_filter']) {
    const { out } = await run('disasm', fixturePath(name), '--no-raw');
    const { out: raw } = await run('disasm', fixturePath(name), '-j');
    const want = JSON.parse(raw)
      .flatMap((p: { insns: { opcodes: string }[] }) => p.insns.map((i) => i.opcodes))
      .join(' ');
    const got = Array.from(encode(assemble(out)), (b) => b.toString(16).padStart(2, '0')).join(' ');
    assert.equal(got, want, name);
  }
});

test('disasm: unknown program and bad syntax are usage errors', async () => {
  const r = await run('disasm', fixturePath('xdp_stats'), '--prog', 'nope');
  assert.equal(r.code, 2);
  assert.match(r.err, /no program named 'nope'.*programs: xdp_stats_prog/);
  assert.equal((await run('disasm', fixturePath('xdp_stats'), '--syntax', 'intel')).code, 2);
});
