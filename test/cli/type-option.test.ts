// `--type TYPE` on every command that reads an object's programs: legacy_sections.o (sections libbpf
// 1.x cannot type) inspected, disassembled, verified, test-run (user and kernel), run and loaded,
// with the kernel and bpftool as oracles; the untyped and unknown-type errors.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/output.js';
import { buildUdp, writePcap } from '../../src/packet/index.js';
import { kernelTest } from '../kernel/harness.js';
import { fixturePath } from '../support/fixtures.js';
import { createVethPair } from '../support/netns.js';
import { compileBpf } from '../support/clang.js';
import { bpftoolLoadAll } from '../support/libbpf-oracle.js';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t) };
  const code = await main(argv, io);
  return { code, out, err };
}

const obj = fixturePath('legacy_sections');
const dir = mkdtempSync(join(tmpdir(), 'bpfkit-type-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const packet = buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 53, payload: 'hello, a payload long enough for a TX' });
const packetFile = join(dir, 'packet.bin');
writeFileSync(packetFile, packet);

test('every object-reading command takes --type and lists it in its help', async () => {
  for (const cmd of ['inspect', 'disasm', 'verify', 'run', 'test-run', 'load', 'attach']) {
    const r = await cli(cmd, '--help');
    assert.equal(r.code, 0, cmd);
    assert.match(r.out, /--type VALUE/, `${cmd} --help`);
    assert.match(r.out, /\[--type TYPE\]/, `${cmd} usage`);
  }
});

test('inspect and disasm work untyped (type unspec) and show the given type', async () => {
  const plain = JSON.parse((await cli('inspect', obj, '-j')).out);
  assert.equal(plain.programs.find((p: { name: string }) => p.name === 'xdp_parse').type, 'unspec');
  assert.ok(plain.warnings.some((w: string) => /xdp_pass.*--type/.test(w)));
  const typed = JSON.parse((await cli('inspect', obj, '--type', 'classifier', '-j')).out);
  assert.deepEqual([...new Set(typed.programs.map((p: { type: string }) => p.type))], ['sched_cls']);
  assert.ok(typed.warnings.some((w: string) => /typed_xdp.*sched_cls.*not xdp/.test(w)), 'the override of SEC("xdp") is reported');
  const d = await cli('disasm', obj, '--prog', 'lb_count', '--type', 'xdp', '-j');
  assert.equal(d.code, 0, d.err);
  assert.match(d.out, /"type":"xdp"/);
});

test('verify: untyped programs are a typed error naming the section and --type; a given type verifies them', async () => {
  const untyped = await cli('verify', obj);
  assert.equal(untyped.code, 1);
  assert.match(untyped.err, /program "xdp_prog_simple": libbpf cannot tell the program type from section "xdp_prog"; pass --type TYPE.*e\.g\. --type xdp.*\[ERR_PROGRAM_UNTYPED\]/);
  const xdp = JSON.parse((await cli('verify', obj, '--type', 'xdp', '-j')).out);
  assert.deepEqual(xdp.map((r: { verdict: string }) => r.verdict), Array(6).fill('accept'));
  // --type classifier: xdp_parse dereferences what is skb->len as sched_cls — rejected, as by the kernel.
  const cls = await cli('verify', obj, '--type', 'classifier', '-j');
  assert.equal(cls.code, 1);
  const byName = Object.fromEntries(JSON.parse(cls.out).map((r: { name: string; verdict: string }) => [r.name, r.verdict]));
  assert.equal(byName.xdp_parse, 'reject');
  assert.equal(byName.lb_count, 'accept');
  const bad = await cli('verify', obj, '--type', 'xdp_prog');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /unknown program type "xdp_prog"; valid types: .*classifier.*sched_cls.*\[ERR_UNKNOWN_PROGRAM_TYPE\]/);
  const empty = await cli('verify', obj, '--type', '');
  assert.equal(empty.code, 2);
});

test('test-run and run: untyped refused, typed runs', async () => {
  const no = await cli('test-run', obj, '--prog', 'lb_count', '--data-in', packetFile);
  assert.equal(no.code, 1);
  assert.match(no.err, /section "loadbalancer".*--type/);
  const yes = await cli('test-run', obj, '--prog', 'lb_count', '--data-in', packetFile, '--type', 'xdp', '-j');
  assert.equal(yes.code, 0, yes.err);
  assert.equal(JSON.parse(yes.out).verdict, 'tx');
  const pcap = join(dir, 'in.pcap');
  writeFileSync(pcap, writePcap([{ data: packet }]));
  const run = await cli('run', obj, '--pcap', pcap, '--prog', 'xdp_parse', '--type', 'xdp', '-j');
  assert.equal(run.code, 0, run.err);
  const untypedRun = await cli('run', obj, '--pcap', pcap, '--prog', 'xdp_parse');
  assert.equal(untypedRun.code, 1);
  assert.match(untypedRun.err, /ERR_PROGRAM_UNTYPED/);
});

kernelTest('--type on the kernel backend: test-run equals the userspace run; load gives bpftool type xdp / type classifier tags and types', async () => {
  for (const [type, prog] of [['xdp', 'lb_count'], ['classifier', 'lb_count'], ['xdp', 'xdp_parse'], ['socket', 'sock_keep'], ['action', 'cls_mark']] as const) {
    const user = await cli('test-run', obj, '--prog', prog, '--data-in', packetFile, '--type', type, '-j');
    const kernel = await cli('test-run', obj, '--prog', prog, '--data-in', packetFile, '--type', type, '--backend', 'kernel', '-j');
    assert.equal(user.code, 0, user.err);
    assert.equal(kernel.code, 0, kernel.err);
    const u = JSON.parse(user.out);
    const k = JSON.parse(kernel.out);
    assert.equal(u.retval, k.retval, `${prog} as ${type}`);
    assert.equal(u.data_out, k.data_out, `${prog} as ${type}`);
    assert.equal(u.type, k.type);
  }
  const untyped = await cli('load', obj);
  assert.equal(untyped.code, 1);
  assert.match(untyped.err, /ERR_PROGRAM_UNTYPED/);
  for (const type of ['xdp', 'classifier']) {
    const mine = await cli('load', obj, '--type', type, '-j');
    if (type === 'classifier') {
      // xdp_parse is invalid as sched_cls: the kernel refuses the object, as it refuses bpftool's load.
      assert.equal(mine.code, 1);
      assert.match(mine.out + mine.err, /program \\"xdp_parse\\".*invalid mem access 'scalar'.*ERR_VERIFIER/);
      await assert.rejects(bpftoolLoadAll(obj, { type }));
      continue;
    }
    assert.equal(mine.code, 0, mine.err);
    const want = await bpftoolLoadAll(obj, { type });
    const ours = JSON.parse(mine.out).programs as { name: string; type: string; tag: string }[];
    assert.deepEqual(
      ours.map((p) => [p.name.slice(0, 15), p.type, p.tag]).sort(),
      want.programs.map((p) => [p.name!, p.type, p.tag]).sort(),
    );
  }
});

kernelTest('attach xdp / tc load untyped programs as xdp / sched_cls (as xdp-loader and tc do), --type still wins', async () => {
  using pair = createVethPair({ prefix: 'bkty' });
  const att = await cli('attach', 'xdp', obj, '--dev', pair.a.name, '--prog', 'xdp_parse', '--mode', 'skb', '-j');
  assert.equal(att.code, 0, att.out + att.err);
  try {
    const doc = JSON.parse(att.out) as { prog_id: number };
    const shown = JSON.parse(execFileSync('bpftool', ['prog', 'show', 'id', String(doc.prog_id), '-j'], { encoding: 'utf8' })) as { type: string; name: string };
    assert.deepEqual([shown.type, shown.name], ['xdp', 'xdp_parse']);
  } finally {
    assert.equal((await cli('detach', 'xdp', '--dev', pair.a.name)).code, 0);
  }
  // tc: lb_count (SEC("loadbalancer")) as sched_cls on a clsact filter; --type xdp makes it no TC program.
  const tc = await cli('attach', 'tc', obj, '--dev', pair.a.name, '--prog', 'lb_count', '--direction', 'ingress', '--classic', '-j');
  assert.equal(tc.code, 0, tc.out + tc.err);
  try {
    const doc = JSON.parse(tc.out) as { prog_id?: number; id?: number };
    const id = doc.prog_id ?? doc.id;
    const shown = JSON.parse(execFileSync('bpftool', ['prog', 'show', 'id', String(id), '-j'], { encoding: 'utf8' })) as { type: string };
    assert.equal(shown.type, 'sched_cls');
  } finally {
    assert.equal((await cli('detach', 'tc', '--dev', pair.a.name, '--direction', 'ingress', '--classic')).code, 0);
  }
  const wrong = await cli('attach', 'tc', obj, '--dev', pair.a.name, '--type', 'xdp', '--direction', 'ingress', '--classic');
  assert.equal(wrong.code, 2);
  assert.match(wrong.err, /no TC \(sched_cls\) program/);
});

test('inspect reports SEC("?xdp") programs as libbpf opens them: section xdp, type xdp, autoload false', async () => {
  const src = join(dir, 'lazy.c');
  writeFileSync(src, '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("?xdp") int lazy_xdp(struct xdp_md *c) { return XDP_DROP; }\nchar _l[] SEC("license") = "GPL";\n');
  const o = join(dir, 'lazy.o');
  writeFileSync(o, compileBpf(src));
  const doc = JSON.parse((await cli('inspect', o, '-j')).out);
  assert.deepEqual(doc.programs.map((p: { name: string; section: string; type: string; autoload?: boolean }) => [p.name, p.section, p.type, p.autoload]), [['lazy_xdp', 'xdp', 'xdp', false]]);
});
