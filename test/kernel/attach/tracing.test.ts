// Tracing and cgroup links on the real kernel through `bpfkit attach` / `bpfkit link`: raw_tp, tracepoint, cgroup_skb
// attach, run (counters in .bss) and show as bpftool shows them; kprobe, fentry, unknown targets and wrong types are refused
// with a typed error and leave nothing behind.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { main } from '../../../src/cli/main.js';
import type { Io } from '../../../src/cli/output.js';
import { loadObject } from '../../../src/elf/index.js';
import { linkInfo } from '../../../src/kernel/bpf/obj-info.js';
import { fdById, ids } from '../../../src/kernel/bpf/obj-id.js';
import { programInfo } from '../../../src/kernel/bpf/obj-info.js';
import { loadKernelObject } from '../../../src/kernel/object/load-object.js';
import { attachRawTracepoint } from '../../../src/kernel/attach/tracing.js';
import { TracepointNotFoundError } from '../../../src/kernel/attach/tracing-errors.js';
import { WrongProgramTypeError } from '../../../src/kernel/attach/errors.js';
import { withNetns, nsExec } from '../../support/netns.js';
import { kernelTest } from '../harness.js';
import { ensureTracefs } from '../../support/tracefs.js';

const OBJ = path.join(import.meta.dirname, 'c', 'tracing_progs.o');
const PIN_DIR = `/sys/fs/bpf/bpfkit-trace-${process.pid}`;

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => (out += t), err: (t) => (err += t) };
  const code = await main(argv, io);
  return { code, out, err };
}

/** Ids of live programs named `name` (nothing of ours may survive a refused attach). */
function liveProgs(name: string): number[] {
  const out: number[] = [];
  for (const id of ids(realSysForIds, 'prog')) {
    try {
      using fd = fdById(realSysForIds, 'prog', id);
      if (programInfo(fd).name === name) out.push(id);
    } catch {
      // gone
    }
  }
  return out;
}
let realSysForIds: Parameters<typeof ids>[0];

/** bpftool's fields must be ours, value for value (bpfkit may add newer bpftool's fields). */
function assertBpftoolSubset(ours: Record<string, unknown>, linkId: number): void {
  const theirs = JSON.parse(execFileSync('bpftool', ['link', 'show', 'id', String(linkId), '-j'], { encoding: 'utf8' })) as Record<string, unknown>;
  delete theirs['pids'];
  for (const [k, v] of Object.entries(theirs)) assert.deepEqual(ours[k], v, `field ${k}: bpfkit ${JSON.stringify(ours[k])}, bpftool ${JSON.stringify(v)}`);
}

function bss(sys: Parameters<typeof ids>[0], progId: number): DataView {
  using prog = fdById(sys, 'prog', progId);
  const mapId = programInfo(prog).mapIds[0]!;
  const out = execFileSync('bpftool', ['map', 'dump', 'id', String(mapId), '-j'], { encoding: 'utf8' });
  const rec = (JSON.parse(out) as { value: string[] }[])[0]!;
  return new DataView(Uint8Array.from(rec.value.map((h) => Number.parseInt(h, 16))).buffer);
}

/** Makes `count` kfree_skb drops: UDP datagrams to a closed port on lo in a fresh namespace. */
async function udpDrops(count: number): Promise<void> {
  await withNetns('bpfkit-trd-', (ns) => {
    nsExec(ns, ['ip', 'link', 'set', 'lo', 'up']);
    nsExec(ns, ['python3', '-c', `import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor _ in range(${count}): s.sendto(b"x",("127.0.0.1",9))`]);
  });
}


kernelTest('attach raw_tp and tracepoint: links pinned, programs run on kfree_skb, link show -j / text as bpftool', async (sys) => {
  realSysForIds = sys;
  const tracefs = ensureTracefs();
  assert.ok(tracefs.ok, tracefs.reason);
  mkdirSync(PIN_DIR, { recursive: true });
  try {
    for (const [kind, prog, offset, tp] of [['raw_tp', 'rawtp_kfree', 8, 'kfree_skb'], ['tracepoint', 'tp_kfree', 0, 'skb:kfree_skb']] as const) {
      const pin = `${PIN_DIR}/${kind}`;
      const r = await cli('attach', kind, OBJ, '--prog', prog, '--pin', pin, '-j');
      assert.equal(r.code, 0, r.err);
      const res = JSON.parse(r.out) as { prog_id: number; link_id: number; target: string };
      assert.equal(res.target, tp);
      await udpDrops(5);
      assert.ok(bss(sys, res.prog_id).getBigUint64(offset, true) >= 5n, `${kind} ran on the 5 drops`);
      const shown = JSON.parse((await cli('link', 'show', 'pinned', pin, '-j')).out) as Record<string, unknown>;
      assert.equal(shown['id'], res.link_id);
      assert.equal(shown['type'], kind === 'raw_tp' ? 'raw_tracepoint' : 'perf_event');
      assert.equal(shown['tp_name'], 'kfree_skb');
      if (kind === 'tracepoint') assert.equal(shown['event_type'], 'tracepoint');
      assertBpftoolSubset(shown, res.link_id);
      const text = (await cli('link', 'show', 'id', String(res.link_id))).out;
      if (kind === 'raw_tp') assert.equal(text, execFileSync('bpftool', ['link', 'show', 'id', String(res.link_id)], { encoding: 'utf8' }));
      const list = JSON.parse((await cli('link', 'list', '-j')).out) as { id: number }[];
      assert.ok(list.some((l) => l.id === res.link_id));
      rmSync(pin);
      assert.throws(() => fdById(sys, 'link', res.link_id), /ENOENT/, 'removing the pin detached the link');
    }
  } finally {
    rmSync(PIN_DIR, { recursive: true, force: true });
  }
});

kernelTest('attach cgroup (cgroup_skb ingress) to a cgroup v2 directory: link as bpftool shows it, bpftool cgroup lists it', async (sys) => {
  realSysForIds = sys;
  const cg = `/sys/fs/cgroup/unified/bpfkit-trace-${process.pid}`;
  mkdirSync(PIN_DIR, { recursive: true });
  mkdirSync(cg);
  try {
    const pin = `${PIN_DIR}/cg`;
    const r = await cli('attach', 'cgroup', OBJ, cg, '--prog', 'cg_ingress', '--pin', pin, '-j');
    assert.equal(r.code, 0, r.err);
    const res = JSON.parse(r.out) as { prog_id: number; link_id: number; attach_type: string };
    assert.equal(res.attach_type, 'cgroup_inet_ingress');
    const shown = JSON.parse((await cli('link', 'show', 'id', String(res.link_id), '-j')).out) as Record<string, unknown>;
    assertBpftoolSubset(shown, res.link_id);
    assert.equal((await cli('link', 'show', 'id', String(res.link_id))).out, execFileSync('bpftool', ['link', 'show', 'id', String(res.link_id)], { encoding: 'utf8' }));
    const listed = JSON.parse(execFileSync('bpftool', ['cgroup', 'show', cg, '-j'], { encoding: 'utf8' })) as { id: number; attach_type: string }[];
    assert.deepEqual(listed.map((l) => [l.id, l.attach_type]), [[res.prog_id, 'cgroup_inet_ingress']]);
    // The wrong cgroup kind (v1 hierarchy) and a missing directory: typed errors, nothing attached.
    for (const [dir, msg] of [['/sys/fs/cgroup/cpu', /not a cgroup v2 directory/], [`${cg}-missing`, /no such directory/]] as const) {
      const bad = await cli('attach', 'cgroup', OBJ, dir, '--prog', 'cg_ingress', '--pin', `${PIN_DIR}/cg2`);
      assert.equal(bad.code, 1);
      assert.match(bad.err, msg);
      assert.match(bad.err, /ERR_NO_SUCH_CGROUP/);
      assert.equal(bad.err.trim().split('\n').length, 1);
      assert.ok(!existsSync(`${PIN_DIR}/cg2`));
    }
    rmSync(pin);
    assert.deepEqual(JSON.parse(execFileSync('bpftool', ['cgroup', 'show', cg, '-j'], { encoding: 'utf8' }).trim() || '[]'), []);
  } finally {
    rmSync(PIN_DIR, { recursive: true, force: true });
    rmdirSync(cg);
  }
});

kernelTest('refused: kprobe (no kprobes here), fentry (EPERM even as root), unknown tracepoint/function, wrong program type — one line, exit 1, nothing left', async (sys) => {
  realSysForIds = sys;
  ensureTracefs();
  mkdirSync(PIN_DIR, { recursive: true });
  try {
    const before = { kp: liveProgs('kp_ip_rcv').length, fe: liveProgs('fentry_ip_rcv').length, tp: liveProgs('tp_kfree').length, raw: liveProgs('rawtp_kfree').length };
    const cases: [string[], RegExp, string][] = [
      [['kprobe', OBJ, '--prog', 'kp_ip_rcv'], /kprobes not supported: this kernel has neither the kprobe PMU .* nor tracefs kprobe_events/, 'ERR_NOT_SUPPORTED'],
      [['kretprobe', OBJ, 'ip_rcv', '--prog', 'kp_ip_rcv'], /kretprobes not supported/, 'ERR_NOT_SUPPORTED'],
      [['fentry', OBJ, '--prog', 'fentry_ip_rcv'], /fentry\/ip_rcv: the kernel refused the tracing program .* with EPERM although the process is root/, 'ERR_TRACING_REFUSED'],
      [['fexit', OBJ, 'no_such_function_bk', '--prog', 'fentry_ip_rcv'], /no function "no_such_function_bk" in vmlinux BTF/, 'ERR_NO_SUCH_FUNCTION'],
      [['tracepoint', OBJ, 'skb:no_such_tp', '--prog', 'tp_kfree'], /no tracepoint "skb:no_such_tp"/, 'ERR_NO_SUCH_TRACEPOINT'],
      [['raw_tp', OBJ, 'no_such_raw_tp', '--prog', 'rawtp_kfree'], /no tracepoint "no_such_raw_tp"/, 'ERR_NO_SUCH_TRACEPOINT'],
      [['raw_tp', OBJ, 'kfree_skb', '--prog', 'tp_kfree'], /is a tracepoint program; raw tracepoint kfree_skb takes raw_tracepoint or raw_tracepoint_writable programs/, 'ERR_WRONG_PROGRAM_TYPE'],
    ];
    for (const [argv, msg, code] of cases) {
      const pin = `${PIN_DIR}/x`;
      const r = await cli('attach', ...argv, '--pin', pin);
      assert.equal(r.code, 1, `${argv.join(' ')}: ${r.err}`);
      assert.match(r.err, msg);
      assert.ok(r.err.includes(`[${code}]`), r.err);
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
      assert.ok(!existsSync(pin), 'no pin left');
    }
    assert.deepEqual({ kp: liveProgs('kp_ip_rcv').length, fe: liveProgs('fentry_ip_rcv').length, tp: liveProgs('tp_kfree').length, raw: liveProgs('rawtp_kfree').length }, before, 'no program left loaded');
    // The API: a raw tracepoint the kernel lacks, and the wrong type, as typed errors.
    using obj = loadKernelObject(sys, loadObject(readFileSync(OBJ)), { programs: ['rawtp_kfree', 'tp_kfree'] });
    assert.throws(() => attachRawTracepoint(sys, obj.program('rawtp_kfree').fd, 'bk_nope'), TracepointNotFoundError);
    assert.throws(() => attachRawTracepoint(sys, obj.program('tp_kfree').fd, 'kfree_skb'), WrongProgramTypeError);
    using link = attachRawTracepoint(sys, obj.program('rawtp_kfree').fd, 'kfree_skb');
    assert.equal(linkInfo(link.link).progId, obj.program('rawtp_kfree').info().id);
  } finally {
    rmSync(PIN_DIR, { recursive: true, force: true });
  }
});
