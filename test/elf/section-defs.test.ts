// Checks SEC() name matching against libbpf itself (libbpf_prog_type_by_name, compiled with gcc -lbpf).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SECTION_DEFS, matchSection } from '../../src/elf/section-defs.js';

test('matching follows libbpf: exact names, "+" prefixes with a "/" separator, first match wins', () => {
  const cases: [string, string | undefined, string | undefined, { sleepable?: boolean; frags?: boolean; target?: string }?][] = [
    ['xdp', 'xdp', 'xdp'],
    ['xdp.frags', 'xdp', 'xdp', { frags: true }],
    ['xdp/devmap', 'xdp', 'xdp_devmap'],
    ['xdp.frags/devmap', 'xdp', 'xdp_devmap', { frags: true }],
    ['xdp/cpumap', 'xdp', 'xdp_cpumap'],
    ['tc', 'sched_cls', undefined],
    ['tc/ingress', 'sched_cls', 'tcx_ingress'],
    ['tc/egress', 'sched_cls', 'tcx_egress'],
    ['tcx/ingress', 'sched_cls', 'tcx_ingress'],
    ['tcx/egress', 'sched_cls', 'tcx_egress'],
    ['classifier', 'sched_cls', undefined],
    ['action', 'sched_act', undefined],
    ['socket', 'socket_filter', undefined],
    ['sk_skb/stream_parser', 'sk_skb', 'sk_skb_stream_parser'],
    ['kprobe/do_sys_open', 'kprobe', undefined, { target: 'do_sys_open' }],
    ['kprobe', 'kprobe', undefined],
    ['tracepoint/syscalls/sys_enter_open', 'tracepoint', undefined, { target: 'syscalls/sys_enter_open' }],
    ['fentry/tcp_connect', 'tracing', 'trace_fentry', { target: 'tcp_connect' }],
    ['fentry.s/tcp_connect', 'tracing', 'trace_fentry', { sleepable: true }],
    ['cgroup_skb/ingress', 'cgroup_skb', 'cgroup_inet_ingress'],
    ['lwt_in', 'lwt_in', undefined],
    ['netfilter', 'netfilter', 'netfilter'],
    ['struct_ops/my_op', 'struct_ops', undefined, { target: 'my_op' }],
    ['syscall', 'syscall', undefined, { sleepable: true }],
    ['kprobex', undefined, undefined],
    ['xdp/foo', undefined, undefined],
    ['xdp_foo', undefined, undefined],
    ['tc/foo', undefined, undefined],
    ['socket/1', undefined, undefined],
    ['', undefined, undefined],
  ];
  for (const [name, progType, attachType, extra] of cases) {
    const m = matchSection(name);
    assert.equal(m?.progType, progType, `${name}: program type`);
    if (m === undefined) continue;
    assert.equal(m.attachType, attachType, `${name}: attach type`);
    if (extra?.sleepable !== undefined) assert.equal(m.sleepable, extra.sleepable, `${name}: sleepable`);
    assert.equal(m.xdpFrags, extra?.frags ?? false, `${name}: frags`);
    if (extra?.target !== undefined) assert.equal(m.target, extra.target, `${name}: target`);
  }
  assert.equal(new Set(SECTION_DEFS.map((d) => d.pattern)).size, SECTION_DEFS.length, 'patterns are unique');
});

// Section names Debian's libbpf 1.1 predates (added in libbpf 1.2 - 1.5). Where the installed
// libbpf does not know one of these, the test says so and checks only what it knows.
const NEWER_THAN_LIBBPF_1_1 = new Set([
  'tc/ingress', 'tc/egress', 'tcx/ingress', 'tcx/egress', 'netkit/primary', 'netkit/peer',
  'uprobe.multi', 'uretprobe.multi', 'uprobe.multi.s', 'uretprobe.multi.s',
  'kprobe.session', 'uprobe.session', 'uprobe.session.s',
  'cgroup/connect_unix', 'cgroup/sendmsg_unix', 'cgroup/recvmsg_unix', 'cgroup/getpeername_unix', 'cgroup/getsockname_unix',
  'struct_ops.s', 'netfilter', 'usdt.s', 'sk_skb/verdict',
]);

/** Section names to try: each pattern bare, and with a target where a suffix is allowed, plus near misses. */
function sampleNames(): string[] {
  const names: string[] = [];
  for (const d of SECTION_DEFS) {
    if (d.suffix !== 'required') names.push(d.prefix);
    if (d.suffix !== 'none') names.push(`${d.prefix}/some_target`);
  }
  names.push('xdp/foo', 'xdp_foo', 'xdpx', 'tc/foo', 'tcx', 'socket/1', 'kprobex', 'sk_skb/foo', 'cgroup/foo', 'classifier/x', 'maps', '.text', 'license', 'fentry_x');
  return names;
}

test('program type and expected attach type agree with libbpf_prog_type_by_name()', (t) => {
  const names = sampleNames();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-secdefs-'));
  try {
    if (spawnSync('gcc', ['--version']).status !== 0) return t.skip('gcc is not installed');
    writeFileSync(path.join(dir, 'secdefs.c'), `
#include <stdio.h>
#include <bpf/libbpf.h>
static int quiet(enum libbpf_print_level l, const char *f, va_list a) { return 0; }
int main(int argc, char **argv) {
  libbpf_set_print(quiet);
  for (int i = 1; i < argc; i++) {
    enum bpf_prog_type pt; enum bpf_attach_type at;
    if (libbpf_prog_type_by_name(argv[i], &pt, &at) == 0) printf("%d %d\\n", (int)pt, (int)at);
    else printf("- -\\n");
  }
  return 0;
}`);
    const build = spawnSync('gcc', ['-o', path.join(dir, 'secdefs'), path.join(dir, 'secdefs.c'), '-lbpf'], { encoding: 'utf8' });
    if (build.status !== 0) return t.skip(`cannot build against libbpf (apt-get install libbpf-dev): ${build.stderr.split('\n')[0]}`);
    const lines = execFileSync(path.join(dir, 'secdefs'), names, { encoding: 'utf8' }).trim().split('\n');
    assert.equal(lines.length, names.length);
    const unknownToLibbpf: string[] = [];
    let agreed = 0;
    names.forEach((name, i) => {
      const [pt, at] = lines[i]!.split(' ');
      const ours = matchSection(name);
      if (pt === '-') {
        if (ours === undefined) return void agreed++;
        const base = ours.def.prefix;
        assert.ok(NEWER_THAN_LIBBPF_1_1.has(base), `libbpf does not know "${name}" but bpfkit matches it as ${ours.def.pattern}`);
        unknownToLibbpf.push(name);
        return;
      }
      assert.ok(ours, `libbpf knows "${name}" (prog type ${pt}) but bpfkit does not`);
      assert.equal(ours.progTypeValue, Number(pt), `"${name}": program type`);
      assert.equal(ours.attachTypeValue, Number(at), `"${name}": expected attach type`);
      agreed++;
    });
    t.diagnostic(`${agreed}/${names.length} section names agree with the installed libbpf; ` +
      `${unknownToLibbpf.length} newer than it, unchecked: ${unknownToLibbpf.join(' ')}`);
    assert.ok(agreed >= 100, `only ${agreed} names compared`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
