// Rules found by the kernel's verifier selftests (bench/verifier-selftests.ts), one program each
// rebuilt with the builder: bpfkit's verdict and message must equal the running kernel's.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Instruction, alu64, call, exit, jmp, label, ld, ldx, program, st } from '../../src/isa/index.js';
import { BpfAttachType, BpfProgType } from '../../src/isa/uapi.generated.js';
import type { Sys } from '../../src/kernel/index.js';
import { verifyInstructions, type VerifyOptions } from '../../src/verifier/verify.js';
import { kernelTest } from '../kernel/harness.js';
import { kernelVerify, kernelVerifyFresh } from './kernel-oracle.js';
import { CORPUS_MAPS } from './corpus/index.js';
import { buildSelftests, findTarball } from '../../bench/verifier-selftests/build.js';
import { compareObject, kernelFacts } from '../../bench/verifier-selftests/compare.js';
import { vmlinuxBtf } from '../../src/kernel/index.js';

const now = (): number => performance.now();

/** bpfkit's verdict, failing when it takes longer than `ms` (a hang guard, not a benchmark). */
function timed(name: string, insns: readonly Instruction[], ms: number, options: VerifyOptions = {}): ReturnType<typeof verifyInstructions> {
  const t0 = now();
  const r = verifyInstructions(insns, options);
  const took = now() - t0;
  assert.ok(took < ms, `${name}: ${Math.round(took)} ms (limit ${ms})`);
  return r;
}

test('a loop whose exit branch is explored first gets checkpoints: precision walks stay short (verifier_search_pruning short_loop1)', () => {
  // r7 = *(u16 *)(r1 + 0); 1: r7 += 0x1ab064b9; if r7 & 0x702000 goto 1b; r7 &= 0x1ee60e; r7 += r1; if r7 s> 0x37d2 goto +0; r0 = 0; exit
  // Without a forced checkpoint after 40 history entries, every walk went back to the loop's
  // start: 120,000 instructions took 88 s (quadratic); the kernel stops at 1M ("too large").
  const insns = program(
    ldx.h(7, 1, 0),
    label('top'),
    alu64.add.imm(7, 0x1ab064b9),
    jmp.jset.imm(7, 0x702000, 'top'),
    alu64.and.imm(7, 0x1ee60e),
    alu64.add.reg(7, 1),
    jmp.jsgt.imm(7, 0x37d2, 'next'),
    label('next'),
    alu64.mov.imm(0, 0),
    exit(),
  );
  const r = timed('short_loop1', insns, 15_000, { programType: BpfProgType.KPROBE, maxProcessedInsns: 200_000 });
  assert.equal(r.verdict, 'reject');
  assert.equal(r.message, 'BPF program is too large. Processed 200001 insn');
});

/** bpfkit's verdict and message next to the kernel's for each case; returns the mismatches. */
function compareWithKernel(sys: Sys, cases: readonly Case[]): string[] {
  const out: string[] = [];
  for (const c of cases) {
    const k = kernelVerify(sys, c.type, c.insns, new Map(), c.attach === undefined ? {} : { expectedAttachType: c.attach });
    const b = verifyInstructions(c.insns, { programType: c.type, ...(c.attach === undefined ? {} : { expectedAttachType: c.attach }) });
    if (k.verdict !== c.expect) out.push(`${c.name}: the kernel ${k.verdict}s (${k.message ?? ''}), the case expects ${c.expect}`);
    if (b.verdict !== k.verdict || (k.verdict === 'reject' && b.message !== k.message)) out.push(`${c.name}: kernel ${k.verdict} (${k.message ?? ''}), bpfkit ${b.verdict} (${b.message ?? ''})`);
  }
  return out;
}

/** One program to compare with the kernel. */
interface Case {
  readonly name: string;
  readonly type: number;
  readonly attach?: number;
  readonly insns: readonly Instruction[];
  /** What the kernel does (checked, so a case that stopped testing anything is noticed). */
  readonly expect: 'accept' | 'reject';
}

const T = BpfProgType;
const A = BpfAttachType;
const returns = (v: number): Instruction[] => [alu64.mov.imm(0, v), exit()];

kernelTest('return codes: the ranges of check_return_code per program type and attach type (verifier_sock_addr, verifier_cgroup_inv_retcode)', (sys) => {
  const cases: Case[] = [];
  const hook = (name: string, type: number, attach: number | undefined, ok: number[], bad: number[]): void => {
    for (const v of ok) cases.push({ name: `${name} returns ${v}`, type, ...(attach === undefined ? {} : { attach }), insns: returns(v), expect: 'accept' });
    for (const v of bad) cases.push({ name: `${name} returns ${v}`, type, ...(attach === undefined ? {} : { attach }), insns: returns(v), expect: 'reject' });
  };
  hook('recvmsg4', T.CGROUP_SOCK_ADDR, A.CGROUP_UDP4_RECVMSG, [1], [0, 2]);
  hook('recvmsg_unix', T.CGROUP_SOCK_ADDR, A.CGROUP_UNIX_RECVMSG, [1], [0]);
  hook('getpeername6', T.CGROUP_SOCK_ADDR, A.CGROUP_INET6_GETPEERNAME, [1], [0]);
  hook('getsockname4', T.CGROUP_SOCK_ADDR, A.CGROUP_INET4_GETSOCKNAME, [1], [0]);
  hook('bind4', T.CGROUP_SOCK_ADDR, A.CGROUP_INET4_BIND, [0, 3], [4, -1]);
  hook('bind6', T.CGROUP_SOCK_ADDR, A.CGROUP_INET6_BIND, [2], [4]);
  hook('connect4', T.CGROUP_SOCK_ADDR, A.CGROUP_INET4_CONNECT, [0, 1], [2]);
  hook('sendmsg6', T.CGROUP_SOCK_ADDR, A.CGROUP_UDP6_SENDMSG, [1], [2]);
  hook('cgroup_skb egress', T.CGROUP_SKB, A.CGROUP_INET_EGRESS, [0, 3], [4]);
  hook('cgroup_skb ingress', T.CGROUP_SKB, A.CGROUP_INET_INGRESS, [1], [2]);
  hook('cgroup/sock', T.CGROUP_SOCK, A.CGROUP_INET_SOCK_CREATE, [0, 1], [2]);
  hook('sock_ops', T.SOCK_OPS, undefined, [1], [2]);
  hook('cgroup/dev', T.CGROUP_DEVICE, A.CGROUP_DEVICE, [1], [2]);
  hook('cgroup/sysctl', T.CGROUP_SYSCTL, A.CGROUP_SYSCTL, [1], [2]);
  hook('cgroup/getsockopt', T.CGROUP_SOCKOPT, A.CGROUP_GETSOCKOPT, [1], [2]);
  hook('netfilter', T.NETFILTER, A.NETFILTER, [0, 1], [2]);
  hook('sk_lookup', T.SK_LOOKUP, A.SK_LOOKUP, [1], [2]);
  // A pointer is "not a known value" (cgroup_inv_retcode test6); a masked load is in range (test2 needs ctx rules).
  cases.push({ name: 'cgroup/sock returns its ctx', type: T.CGROUP_SOCK, attach: A.CGROUP_INET_SOCK_CREATE, insns: [alu64.mov.reg(0, 1), exit()], expect: 'reject' });
  cases.push({ name: 'cgroup_skb egress returns skb->len', type: T.CGROUP_SKB, attach: A.CGROUP_INET_EGRESS, insns: [ldx.w(0, 1, 0), exit()], expect: 'reject' });
  cases.push({ name: 'cgroup_skb egress returns skb->len & 3', type: T.CGROUP_SKB, attach: A.CGROUP_INET_EGRESS, insns: [ldx.w(0, 1, 0), alu64.and.imm(0, 3), exit()], expect: 'accept' });
  assert.deepEqual(compareWithKernel(sys, cases), []);
  // Each rejection is explained with the range the type allows.
  const r = verifyInstructions(returns(0), { programType: T.CGROUP_SOCK_ADDR, expectedAttachType: A.CGROUP_UDP4_RECVMSG });
  assert.match(r.hint ?? '', /must be in \[1, 1\]/);
});

kernelTest('a tail call in the main program leaves packet pointers valid (one in a global function does not: below)', (sys) => {
  // A failed tail call changed nothing; the kernel keeps the checked packet pointers.
  const checked = [ldx.w(6, 1, 76), ldx.w(7, 1, 80), alu64.mov.reg(0, 6), alu64.add.imm(0, 4), jmp.jgt.reg(0, 7, 'out')];
  const tail = [ld.map_fd(2, 'progs'), alu64.mov.imm(3, 0), call.helper('tail_call')];
  const cases = [
    { name: 'write after a tail call', insns: program(...checked, ...tail, st.w(6, 0, 1), label('out'), alu64.mov.imm(0, 0), exit()), expect: 'accept' },
    { name: 'write before a tail call', insns: program(...checked, st.w(6, 0, 1), ...tail, label('out'), alu64.mov.imm(0, 0), exit()), expect: 'accept' },
  ] as const;
  for (const c of cases) {
    const k = kernelVerifyFresh(sys, BpfProgType.SCHED_CLS, c.insns, CORPUS_MAPS);
    const b = verifyInstructions(c.insns, { programType: BpfProgType.SCHED_CLS, maps: CORPUS_MAPS });
    assert.equal(k.verdict, c.expect, `${c.name}: kernel ${k.message ?? ''}`);
    assert.deepEqual([b.verdict, b.message], [k.verdict, k.message], c.name);
  }
});

/** Programs of the kernel's selftests bpfkit accepted although the kernel rejects them: now equal (verdict; message where the kernel's reason line is stable). */
const FIXED: readonly (readonly [string, string])[] = [
  ['verifier_sock', 'invalidate_pkt_pointers_from_global_func'],
  ['verifier_sock', 'invalidate_pkt_pointers_by_tail_call'],
  ['verifier_sock_addr', 'recvmsg4_bad_return_code'],
  ['verifier_sock_addr', 'bind6_bad_return_code'],
  ['verifier_cgroup_inv_retcode', 'with_invalid_return_code_test6'],
  ['verifier_loops1', 'bounded_recursion'],
  // bpf_spin_lock (process_spin_lock, check_map_access's fields, calls and exits under a lock).
  ...['lock_test2_direct_ld_st', 'lock_test3_direct_ld_st', 'lock_test4_direct_ld_st', 'call_within_a_locked_region', 'spin_lock_test6_missing_unlock', 'lock_test7_unlock_without_lock', 'spin_lock_test8_double_lock', 'spin_lock_test9_different_lock', 'test11_ld_abs_under_lock', 'reg_id_for_map_value'].map((p) => ['verifier_spin_lock', p] as const),
  // LD_ABS/LD_IND in subprograms: int return type, the hidden exit returning 0.
  ...['ld_abs_subprog_early_exit', 'ld_ind_subprog_early_exit', 'ld_abs_void_subprog_reject', 'ld_ind_void_subprog_reject'].map((p) => ['verifier_ld_ind', p] as const),
  // Sockets derived from a released reference.
  ...['bpf_tcp_sock_after_release', 'bpf_sk_fullsock_after_release', 'sk_fullsock_tp_after_release'].map((p) => ['verifier_ref_tracking', p] as const),
  ['verifier_sock', 'skb_sk_beyond_last_field_2'],
  // BPF_F_STRICT_ALIGNMENT from the program's flags.
  ['verifier_direct_packet_access', 'packet_access_test17_pruning_alignment'],
  // A register past r10 is the verifier's rejection, not the loader's.
  ['verifier_uninit', 'read_invalid_register'],
];

const tarball = findTarball();
if (tarball === undefined) {
  test('selftest programs bpfkit was looser on', { skip: 'no /usr/src/linux-source-*.tar.xz (apt-get install linux-source-6.12)' }, () => undefined);
} else {
  kernelTest('selftest programs bpfkit was looser on now get the kernel\'s verdict and message', async (sys) => {
    const files = [...new Set(FIXED.map(([f]) => f))];
    const built = await buildSelftests({ only: files, tarball });
    const facts = kernelFacts(sys, vmlinuxBtf(sys));
    const wrong: string[] = [];
    let compared = 0;
    for (const b of built) {
      const wanted = new Set(FIXED.filter(([f]) => f === b.name).map(([, p]) => p));
      const { rows } = compareObject(facts, b.object!, (p) => wanted.has(p));
      compared += rows.length;
      for (const r of rows) {
        // The kernel prefixes some reasons with the instruction ("10: (63) *(u32 *)(r7 +0) = r1: R7 ...").
        const kernelReason = r.kernelMessage?.replace(/^\d+: \([0-9a-f]{2}\) [^:]*: /, '');
        if (r.bpfkit !== r.kernel || r.bpfkitMessage !== kernelReason) wrong.push(`${r.file}:${r.program}: kernel ${r.kernel} (${kernelReason ?? ''}), bpfkit ${r.bpfkit} (${r.bpfkitMessage ?? ''})`);
      }
    }
    assert.equal(compared, FIXED.length, 'every listed program is compared (the kernel still meets its annotation)');
    assert.deepEqual(wrong, []);
  });
}

kernelTest('a recursive subprogram is refused by the static call-depth walk, however shallow the recursion runs (verifier_loops1 bounded_recursion)', (sys) => {
  // main: r1 = 0; call f; exit.  f: r1 += 1; r0 = r1; if r1 < 4 goto +1; exit; call f; exit.
  const insns = program(alu64.mov.imm(1, 0), call.func('f'), exit(), label('f'), alu64.add.imm(1, 1), alu64.mov.reg(0, 1), jmp.jlt.imm(1, 4, 'again'), exit(), label('again'), call.func('f'), exit());
  const k = kernelVerify(sys, BpfProgType.TRACEPOINT, insns, new Map());
  const b = verifyInstructions(insns, { programType: BpfProgType.TRACEPOINT });
  assert.equal(k.verdict, 'reject');
  assert.deepEqual([b.verdict, b.message], [k.verdict, k.message]);
  assert.match(b.hint ?? '', /8 frames deep/);
});
