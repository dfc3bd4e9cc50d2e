// A fixed sample of the kernel's verifier selftests (linux-source-6.12's progs/verifier_*.c, built
// with clang-16 into a cache outside the repo): bpfkit's verdict must equal the running kernel's on
// every program whose annotation the kernel meets. The whole suite: bench/verifier-selftests.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildSelftests, findTarball } from '../../bench/verifier-selftests/build.js';
import { compareObject, kernelFacts, totals, type ProgramRow, type SkippedRow } from '../../bench/verifier-selftests/compare.js';
import { vmlinuxBtf } from '../../src/kernel/index.js';
import { kernelTest } from '../kernel/harness.js';

/**
 * The sample: files of every kind of rule (packet access, map values, spills, 32-bit
 * subregisters, helper arguments, lwt/cgroup/netfilter/raw_tp types, return codes, spin locks,
 * LD_ABS in subprograms, reference tracking...). Fixed, so a change of verdict is a failure.
 */
const SAMPLE = [
  'verifier_array_access',
  'verifier_cgroup_skb',
  'verifier_div0',
  'verifier_helper_packet_access',
  'verifier_helper_restricted',
  'verifier_helper_value_access',
  'verifier_ld_ind',
  'verifier_lwt',
  'verifier_masking',
  'verifier_meta_access',
  'verifier_netfilter_ctx',
  'verifier_netfilter_retcode',
  'verifier_raw_tp_writable',
  'verifier_sock_addr',
  'verifier_sock',
  'verifier_spill_fill',
  'verifier_spin_lock',
  'verifier_subreg',
  'verifier_uninit',
  'verifier_value_or_null',
  'verifier_value_ptr_arith',
  'verifier_var_off',
  'verifier_xdp_direct_packet_access',
] as const;

const describe = (r: ProgramRow): string =>
  `${r.file}:${r.program} [${r.type}]: kernel ${r.kernel}s${r.kernelMessage ? ` (${r.kernelMessage})` : ''}, bpfkit ${r.bpfkit}${r.bpfkit === 'accept' ? 's' : `s: ${r.bpfkitMessage ?? ''}`}`;

const tarball = findTarball();
if (tarball === undefined) {
  test('verifier selftests sample: bpfkit agrees with the kernel', { skip: 'no /usr/src/linux-source-*.tar.xz (apt-get install linux-source-6.12)' }, () => undefined);
} else {
  kernelTest('verifier selftests sample: bpfkit agrees with the kernel on every program, none looser', async (sys) => {
    const built = await buildSelftests({ only: SAMPLE, tarball });
    const notBuilt = built.filter((b) => !b.object).map((b) => `${b.name}: ${b.note ?? ''}`);
    assert.deepEqual(notBuilt, [], 'every sampled file builds with clang-16');
    const facts = kernelFacts(sys, vmlinuxBtf(sys));
    const rows: ProgramRow[] = [];
    const skipped: SkippedRow[] = [];
    for (const b of built) {
      const r = compareObject(facts, b.object!);
      rows.push(...r.rows);
      skipped.push(...r.skipped);
    }
    const t = totals(rows, skipped);
    console.log(`# ${SAMPLE.length} selftest files: ${t.programs} programs compared with the kernel, ${t.agree} agree, ${t.looser} looser, ${t.stricter} stricter, ${t.errors} no verdict; ${t.skipped} left out`);
    // The kernel meets most annotations: a sample that compares almost nothing proves nothing.
    assert.ok(t.programs >= 300, `only ${t.programs} programs compared`);
    assert.deepEqual(rows.filter((r) => r.agreement === 'looser').map(describe), [], 'bpfkit accepts what the kernel rejects');
    assert.deepEqual(rows.filter((r) => r.agreement !== 'agree').map(describe), [], 'bpfkit disagrees with the kernel');
  });
}
