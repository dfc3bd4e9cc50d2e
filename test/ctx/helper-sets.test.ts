// The helper set of every verify-only program type (and attach type where it matters) vs the kernel's get_func_proto: never a helper the kernel refuses.
import assert from 'node:assert/strict';
import { cgroupSockAddrOps, SOCK_ADDR_ATTACH_TYPES } from '../../src/ctx/cgroup-sock-addr.js';
import { cgroupSockoptOps } from '../../src/ctx/cgroup-sockopt.js';
import type { ProgramTypeOps } from '../../src/ctx/program-type-ops.js';
import { VERIFIER_ONLY_OPS } from '../../src/ctx/registry.js';
import { alu64, call, encode, exit, program, r0 } from '../../src/isa/index.js';
import { helperById } from '../../src/isa/helpers.js';
import { BpfProgLoadFlags } from '../../src/isa/program-types.js';
import { BpfAttachType, BpfFuncIdBounds, BpfProgType } from '../../src/isa/uapi.generated.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { KernelError } from '../../src/kernel/kernel-error.js';
import { VerifierError } from '../../src/kernel/verifier-error.js';
import { kernelTest } from '../kernel/harness.js';

/** The verify-only types, each with its default attach type, then the attach types whose helper set differs (bpf_bind at connect, bpf_get_retval by hook, bpf_setsockopt at cgroup/setsockopt). */
const CASES: readonly { ops: ProgramTypeOps; attachType: number | undefined }[] = [
  ...VERIFIER_ONLY_OPS.map((ops) => ({ ops, attachType: ops.expectedAttachType })),
  ...SOCK_ADDR_ATTACH_TYPES.filter((t) => t !== cgroupSockAddrOps.expectedAttachType).map((attachType) => ({ ops: cgroupSockAddrOps, attachType })),
  { ops: cgroupSockoptOps, attachType: BpfAttachType.CGROUP_SETSOCKOPT },
];

for (const { ops, attachType } of CASES) {
  const label = attachType === ops.expectedAttachType ? ops.name : `${ops.name} (attach type ${attachType})`;
  kernelTest(`${label}: every helper bpfkit allows, the kernel allows too`, (sys) => {
    let kernelAllows = 0;
    let both = 0;
    const looser: string[] = [];
    for (let id = 1; id < BpfFuncIdBounds.__BPF_FUNC_MAX_ID; id++) {
      // `call id; r0 = 0; exit`: "cannot use helper" / "unknown func" when the type may not call it;
      // any other outcome (an argument complaint) means it may.
      let ok = true;
      try {
        loadProgram(sys, { type: ops.type, insns: encode(program(call.helper(id), alu64.mov.imm(r0, 0), exit())), license: 'GPL', logLevel: 1, ...(ops.type === BpfProgType.SYSCALL ? { flags: BpfProgLoadFlags.SLEEPABLE } : {}), ...(attachType !== undefined ? { expectedAttachType: attachType } : {}) }).close();
      } catch (e) {
        if (!(e instanceof VerifierError) && !(e instanceof KernelError)) throw e;
        if (!(e instanceof VerifierError) || /cannot use helper|unknown func|invalid func/.test(e.log)) ok = false;
      }
      const mine = ops.helperAllowed(id, attachType);
      if (ok) kernelAllows++;
      if (ok && mine) both++;
      if (mine && !ok) looser.push(`bpf_${helperById(id)?.name ?? id}`);
    }
    process.stdout.write(`# ${label}: the kernel allows ${kernelAllows} helpers, bpfkit models ${both} of them\n`);
    assert.deepEqual(looser, [], 'helpers bpfkit allows and the kernel refuses');
    // syscall programs (sleepable) also get bpf_sys_bpf, bpf_copy_from_user*, bpf_d_path... which bpfkit does not model.
    const unmodelled = ops.type === BpfProgType.SYSCALL ? 40 : 30;
    assert.ok(both >= kernelAllows - unmodelled, `only ${both} of the kernel's ${kernelAllows} helpers are modelled`);
  });
}
