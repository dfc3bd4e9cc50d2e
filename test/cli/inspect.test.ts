// `bpfkit inspect`: JSON in bpftool's words, checked against bpftool's own view of the same
// object after it loads it; bad input gives a typed error and the right exit code.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/output.js';
import { fixturePath } from '../support/fixtures.js';
import { bpftoolAvailable, bpftoolLoadAll } from '../support/libbpf-oracle.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t) };
  const code = await main(argv, io);
  return { code, out, err };
}

test('inspect -j names programs and maps the way bpftool does', async () => {
  const { code, out } = await run('inspect', fixturePath('xdp_stats'), '-j');
  assert.equal(code, 0);
  const doc = JSON.parse(out);
  assert.deepEqual(doc.programs.map((p: { name: string; section: string; type: string; insns: number; license: string }) => [p.name, p.section, p.type, p.license]), [['xdp_stats_prog', 'xdp', 'xdp', 'GPL']]);
  assert.deepEqual(doc.maps[0], { name: 'xdp_stats_map', type: 'percpu_array', bytes_key: 4, bytes_value: 16, max_entries: 5, flags: 0, pinning: 'none', section: '.maps', btf_key_type_id: doc.maps[0].btf_key_type_id, btf_value_type_id: doc.maps[0].btf_value_type_id });
  assert.ok(doc.btf.types > 0 && doc.btf.line_info > 0);
});

const bpftool = bpftoolAvailable();
test('inspect -j map shapes equal what bpftool shows after loading the object', { skip: bpftool.ok ? false : bpftool.reason }, async () => {
  for (const name of ['tc_flow_filter', 'lpm_trie', 'ringbuf', 'subprogs_globals']) {
    const path = fixturePath(name);
    const doc = JSON.parse((await run('inspect', path, '-j')).out);
    const loaded = await bpftoolLoadAll(path);
    const ours = doc.maps.map((m: { kernel_name?: string; name: string; type: string; bytes_key: number; bytes_value: number; max_entries: number }) => [m.kernel_name ?? m.name, m.type, m.bytes_key, m.bytes_value, m.max_entries]).sort();
    const theirs = loaded.maps.map((m) => [m.name, m.type, m.bytes_key, m.bytes_value, m.max_entries]).sort();
    assert.deepEqual(ours, theirs, name);
    const progTypes = loaded.programs.map((p) => p.type).sort();
    assert.deepEqual(doc.programs.map((p: { type: string }) => p.type).sort(), progTypes, name);
  }
});

test('inspect prints a readable summary', async () => {
  const { code, out } = await run('inspect', fixturePath('tail_calls'));
  assert.equal(code, 0);
  assert.match(out, /Programs \(3\):/);
  assert.match(out, /jump_table\s+prog_array\s+4\s+4\s+4\s+0x0\s+init \[0\]=prog_a \[2\]=prog_b/);
});

test('bad input: typed errors, exit code 1, JSON errors with -j; usage errors exit 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-cli-'));
  try {
    const missing = await run('inspect', join(dir, 'nope.o'));
    assert.equal(missing.code, 1);
    assert.match(missing.err, /nope\.o: no such file \[ERR_FILE_READ\]/);

    const garbage = join(dir, 'garbage.o');
    writeFileSync(garbage, 'this is not an ELF file at all, just text');
    const g = await run('inspect', garbage, '-j');
    assert.equal(g.code, 1);
    assert.equal(JSON.parse(g.out).code, 'ERR_ELF_MALFORMED');

    const truncated = join(dir, 'truncated.o');
    writeFileSync(truncated, readFileSync(fixturePath('xdp_stats')).subarray(0, 700));
    const t = await run('inspect', truncated);
    assert.equal(t.code, 1);
    assert.match(t.err, /truncated\.o: .*\[ERR_(ELF|BTF)_MALFORMED\]/);

    assert.equal((await run('inspect')).code, 2);
    assert.equal((await run('inspect', fixturePath('xdp_stats'), '--bogus')).code, 2);
    assert.equal((await run('frobnicate')).code, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
