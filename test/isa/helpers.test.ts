// Checks helper ids, a table of prototypes read in the kernel source, and the allowed sets against the running kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BpfFuncId, BpfFuncIdBounds, BpfProgType } from '../../src/isa/uapi.generated.js';
import {
  HELPERS, formatHelperProto, helperAllowed, helperById, helperByName, helperProto, helpersFor,
} from '../../src/isa/helpers.js';
import type { ProgramTypeName } from '../../src/isa/program-types.js';

test('helper ids and names agree with the generated bpf_func_id enum', () => {
  assert.equal(HELPERS.length, BpfFuncIdBounds.__BPF_FUNC_MAX_ID - 1);
  for (const [name, id] of Object.entries(BpfFuncId)) {
    if (name === 'unspec') {
      assert.equal(helperById(id), undefined);
      continue;
    }
    assert.equal(helperById(id)?.name, name);
    assert.equal(helperByName(name)?.id, id);
    assert.equal(helperByName(`bpf_${name}`)?.id, id);
  }
  assert.equal(helperByName('map_lookup_elem')?.id, 1);
  assert.equal(helperByName('bpf_map_lookup_elem')?.id, 1);
  assert.equal(helperById(1)?.name, 'map_lookup_elem');
  assert.equal(helperByName('bpf_nope'), undefined);
  assert.equal(helperById(100000), undefined);
});

// [helper, program type, expected signature, gpl_only, pkt_access] — each read from the
// bpf_func_proto struct in Linux 6.18 (kernel/bpf/helpers.c, net/core/filter.c).
const protoTable: [string, ProgramTypeName, string, boolean, boolean][] = [
  ['map_lookup_elem', 'xdp', 'RET_PTR_TO_MAP_VALUE_OR_NULL bpf_map_lookup_elem(ARG_CONST_MAP_PTR, ARG_PTR_TO_MAP_KEY)', false, true],
  ['map_update_elem', 'sched_cls', 'RET_INTEGER bpf_map_update_elem(ARG_CONST_MAP_PTR, ARG_PTR_TO_MAP_KEY, ARG_PTR_TO_MAP_VALUE, ARG_ANYTHING)', false, true],
  ['map_delete_elem', 'socket_filter', 'RET_INTEGER bpf_map_delete_elem(ARG_CONST_MAP_PTR, ARG_PTR_TO_MAP_KEY)', false, true],
  ['map_pop_elem', 'xdp', 'RET_INTEGER bpf_map_pop_elem(ARG_CONST_MAP_PTR, ARG_PTR_TO_MAP_VALUE | MEM_UNINIT | MEM_WRITE)', false, false],
  ['ktime_get_ns', 'xdp', 'RET_INTEGER bpf_ktime_get_ns()', false, false],
  ['get_current_comm', 'kprobe', 'RET_INTEGER bpf_get_current_comm(ARG_PTR_TO_UNINIT_MEM, ARG_CONST_SIZE)', false, false],
  ['strtol', 'xdp', 'RET_INTEGER bpf_strtol(ARG_PTR_TO_MEM | MEM_RDONLY, ARG_CONST_SIZE, ARG_ANYTHING, ARG_PTR_TO_FIXED_SIZE_MEM | MEM_UNINIT | MEM_WRITE | MEM_ALIGNED [8])', false, false],
  ['snprintf', 'xdp', 'RET_INTEGER bpf_snprintf(ARG_PTR_TO_MEM_OR_NULL, ARG_CONST_SIZE_OR_ZERO, ARG_PTR_TO_CONST_STR, ARG_PTR_TO_MEM | PTR_MAYBE_NULL | MEM_RDONLY, ARG_CONST_SIZE_OR_ZERO)', true, false],
  ['spin_lock', 'sched_cls', 'RET_VOID bpf_spin_lock(ARG_PTR_TO_SPIN_LOCK)', false, false],
  ['csum_diff', 'xdp', 'RET_INTEGER bpf_csum_diff(ARG_PTR_TO_MEM | PTR_MAYBE_NULL | MEM_RDONLY, ARG_CONST_SIZE_OR_ZERO, ARG_PTR_TO_MEM | PTR_MAYBE_NULL | MEM_RDONLY, ARG_CONST_SIZE_OR_ZERO, ARG_ANYTHING)', false, true],
  ['l3_csum_replace', 'sched_cls', 'RET_INTEGER bpf_l3_csum_replace(ARG_PTR_TO_CTX, ARG_ANYTHING, ARG_ANYTHING, ARG_ANYTHING, ARG_ANYTHING)', false, false],
  ['skb_load_bytes_relative', 'socket_filter', 'RET_INTEGER bpf_skb_load_bytes_relative(ARG_PTR_TO_CTX, ARG_ANYTHING, ARG_PTR_TO_UNINIT_MEM, ARG_CONST_SIZE, ARG_ANYTHING)', false, false],
  ['redirect', 'sched_cls', 'RET_INTEGER bpf_redirect(ARG_ANYTHING, ARG_ANYTHING)', false, false],
  ['redirect_neigh', 'sched_cls', 'RET_INTEGER bpf_redirect_neigh(ARG_ANYTHING, ARG_PTR_TO_MEM | PTR_MAYBE_NULL | MEM_RDONLY, ARG_CONST_SIZE_OR_ZERO, ARG_ANYTHING)', false, false],
  ['clone_redirect', 'sched_act', 'RET_INTEGER bpf_clone_redirect(ARG_PTR_TO_CTX, ARG_ANYTHING, ARG_ANYTHING)', false, false],
  ['sk_fullsock', 'sched_cls', 'RET_PTR_TO_SOCKET_OR_NULL bpf_sk_fullsock(ARG_PTR_TO_SOCK_COMMON)', false, false],
  ['tcp_raw_check_syncookie_ipv4', 'xdp', 'RET_INTEGER bpf_tcp_raw_check_syncookie_ipv4(ARG_PTR_TO_FIXED_SIZE_MEM | MEM_RDONLY [20], ARG_PTR_TO_FIXED_SIZE_MEM | MEM_RDONLY [20])', true, true],
  ['xdp_store_bytes', 'xdp', 'RET_INTEGER bpf_xdp_store_bytes(ARG_PTR_TO_CTX, ARG_ANYTHING, ARG_PTR_TO_MEM | MEM_RDONLY, ARG_CONST_SIZE)', false, false],
  ['ringbuf_submit', 'xdp', 'RET_VOID bpf_ringbuf_submit(ARG_PTR_TO_RINGBUF_MEM | OBJ_RELEASE, ARG_ANYTHING)', false, false],
];

test('prototypes match the kernel source, table-driven', () => {
  for (const [name, progType, signature, gpl, pkt] of protoTable) {
    const helper = helperByName(name);
    assert.ok(helper, name);
    const proto = helperProto(helper, progType);
    assert.ok(proto, `${name} in ${progType}`);
    assert.equal(formatHelperProto(helper, proto), signature);
    assert.equal(proto.gplOnly, gpl, `${name} gpl_only`);
    assert.equal(proto.pktAccess, pkt, `${name} pkt_access`);
  }
});

test('composite types are decomposed the way the verifier sees them', () => {
  const load = helperProto('skb_load_bytes', 'sched_cls');
  assert.ok(load);
  const uninit = load.args[2]!;
  assert.equal(uninit.text, 'ARG_PTR_TO_UNINIT_MEM');
  assert.equal(uninit.base, 'ARG_PTR_TO_MEM');
  assert.deepEqual([...uninit.flags].sort(), ['MEM_UNINIT', 'MEM_WRITE']);
  const reserve = helperProto('ringbuf_reserve', 'xdp');
  assert.ok(reserve);
  assert.equal(reserve.ret.base, 'RET_PTR_TO_MEM');
  assert.deepEqual([...reserve.ret.flags].sort(), ['MEM_RINGBUF', 'PTR_MAYBE_NULL']);
  const lookup = helperProto(1, BpfProgType.XDP);
  assert.equal(lookup?.ret.base, 'RET_PTR_TO_MAP_VALUE');
  assert.deepEqual(lookup?.ret.flags, ['PTR_MAYBE_NULL']);
});

test('per program type flavours and allowed sets', () => {
  assert.equal(helperProto('redirect', 'xdp')?.kernelName, 'bpf_xdp_redirect_proto');
  assert.equal(helperProto('redirect', 'sched_cls')?.kernelName, 'bpf_redirect_proto');
  assert.ok(helperAllowed('xdp_adjust_head', 'xdp'));
  assert.ok(!helperAllowed('xdp_adjust_head', 'sched_cls'));
  assert.ok(!helperAllowed('skb_store_bytes', 'xdp'));
  assert.ok(helperAllowed('bpf_skb_store_bytes', BpfProgType.SCHED_CLS));
  assert.ok(!helperAllowed('ktime_get_coarse_ns', 'kprobe'));
  assert.ok(!helperAllowed('map_lookup_elem', 'no_such_type'));
  assert.ok(!helperAllowed('map_lookup_elem', 99));
  assert.ok(helperByName('skb_store_bytes')?.changesPktData);
  assert.ok(!helperByName('map_lookup_elem')?.changesPktData);
});

// The oracle: load `call <id>; r0 = 0; exit` as each program type and read the verifier log.
// A helper the program type may not call is refused with "program of this type cannot use
// helper" (6.x; older kernels said "unknown func"); an id the kernel lacks with "invalid func".
// Any other outcome (success, or a complaint about the arguments) means the call is allowed.
// `bpftool feature probe` would be the obvious oracle, but bpftool 7.1 (libbpf 1.1) only
// recognises the old wording and so reports every helper as available for every type on this
// kernel; this probe uses both wordings.
const PROBE_C = `
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <errno.h>
static char log_buf[1 << 16];
int main(int argc, char **argv) {
  int max_id = atoi(argv[1]);
  for (int a = 2; a < argc; a++) {
    int type = atoi(argv[a]);
    for (int id = 1; id < max_id; id++) {
      struct bpf_insn insns[3];
      memset(insns, 0, sizeof insns);
      insns[0].code = BPF_JMP | BPF_CALL; insns[0].imm = id;
      insns[1].code = BPF_ALU64 | BPF_MOV | BPF_K;
      insns[2].code = BPF_JMP | BPF_EXIT;
      union bpf_attr attr;
      memset(&attr, 0, sizeof attr);
      log_buf[0] = 0;
      attr.prog_type = type; attr.insns = (unsigned long)insns; attr.insn_cnt = 3;
      attr.license = (unsigned long)"GPL";
      attr.log_buf = (unsigned long)log_buf; attr.log_size = sizeof log_buf; attr.log_level = 1;
      int fd = syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
      if (fd >= 0) close(fd);
      else if (errno == EPERM && !log_buf[0]) { printf("EPERM\\n"); return 0; }
      int refused = fd < 0 && (strstr(log_buf, "cannot use helper") || strstr(log_buf, "unknown func") || strstr(log_buf, "invalid func"));
      printf("%d %d %d\\n", type, id, !refused);
    }
  }
  return 0;
}`;

const CHECKED: ProgramTypeName[] = ['xdp', 'sched_cls', 'sched_act', 'socket_filter', 'kprobe', 'tracepoint', 'raw_tracepoint', 'perf_event'];

test('every helper bpfkit allows is allowed by the running kernel (raw BPF_PROG_LOAD probe)', (t) => {
  if (spawnSync('gcc', ['--version']).status !== 0) return t.skip('gcc is not installed: cannot build the probe');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-helpers-'));
  try {
    writeFileSync(path.join(dir, 'probe.c'), PROBE_C);
    execFileSync('gcc', ['-O1', '-o', path.join(dir, 'probe'), path.join(dir, 'probe.c')]);
    const out = execFileSync(path.join(dir, 'probe'), [String(BpfFuncIdBounds.__BPF_FUNC_MAX_ID), ...CHECKED.map((n) => String(BpfProgType[n.toUpperCase() as keyof typeof BpfProgType]))], { encoding: 'utf8' });
    if (out.startsWith('EPERM')) return t.skip('the kernel does not allow this process to load BPF programs (EPERM)');
    const kernel = new Map<string, Set<number>>();
    for (const line of out.trim().split('\n')) {
      const [type, id, ok] = line.split(' ').map(Number) as [number, number, number];
      const name = CHECKED.find((n) => BpfProgType[n.toUpperCase() as keyof typeof BpfProgType] === type)!;
      if (!kernel.has(name)) kernel.set(name, new Set());
      if (ok) kernel.get(name)!.add(id);
    }
    const wrong: string[] = [];
    const report: string[] = [];
    for (const progType of CHECKED) {
      const allowedByKernel = kernel.get(progType) ?? new Set<number>();
      const ours = helpersFor(progType);
      for (const h of ours) if (!allowedByKernel.has(h.id)) wrong.push(`${h.name} in ${progType}`);
      const missing = [...allowedByKernel].filter((id) => !helperAllowed(id, progType)).map((id) => helperById(id)?.name ?? `#${id}`);
      report.push(`${progType}: kernel allows ${allowedByKernel.size}, bpfkit models ${ours.length}, lacking ${missing.length}` +
        (progType === 'xdp' || progType === 'sched_cls' || progType === 'socket_filter' ? ` (${missing.join(' ')})` : ''));
    }
    for (const line of report) t.diagnostic(line);
    assert.deepEqual(wrong, [], 'bpfkit allows helpers the kernel refuses');
    // The core program types must be close to complete, not a token subset.
    assert.ok(helpersFor('xdp').length >= 60 && helpersFor('sched_cls').length >= 90 && helpersFor('socket_filter').length >= 45);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
