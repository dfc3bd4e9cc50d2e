// The helper sets of cgroup_skb, lwt_*, flow_dissector, sk_lookup and netfilter against the running kernel: every helper id
// loaded in a `call id` program of each type (with the expected attach type it needs); bpfkit may allow none the kernel refuses.
import assert from 'node:assert/strict';
import { alu64, call, encode, exit, program, r0 } from '../../src/isa/index.js';
import { helperById } from '../../src/isa/helpers.js';
import { BpfFuncIdBounds } from '../../src/isa/uapi.generated.js';
import { cgroupSkbOps } from '../../src/ctx/cgroup-skb.js';
import { flowDissectorOps } from '../../src/ctx/flow-dissector.js';
import { lwtInOps, lwtOutOps, lwtSeg6localOps, lwtXmitOps } from '../../src/ctx/lwt.js';
import { netfilterOps } from '../../src/ctx/netfilter.js';
import { skLookupOps } from '../../src/ctx/sk-lookup.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { KernelError } from '../../src/kernel/kernel-error.js';
import { VerifierError } from '../../src/kernel/verifier-error.js';
import { kernelTest } from '../kernel/harness.js';

kernelTest('the new program types allow no helper the kernel refuses, and lack few it allows', (sys) => {
  const wrong: string[] = [];
  for (const ops of [cgroupSkbOps, lwtInOps, lwtOutOps, lwtXmitOps, lwtSeg6localOps, flowDissectorOps, skLookupOps, netfilterOps]) {
    let kernelAllows = 0;
    let both = 0;
    for (let id = 1; id < BpfFuncIdBounds.__BPF_FUNC_MAX_ID; id++) {
      // "cannot use helper" / "unknown func" / "invalid func": refused for this type; anything else
      // (an argument complaint, or success) means the type may call it.
      let allowed = true;
      try {
        loadProgram(sys, { type: ops.type, insns: encode(program(call.helper(id), alu64.mov.imm(r0, 0), exit())), license: 'GPL', logLevel: 1, ...(ops.expectedAttachType !== undefined ? { expectedAttachType: ops.expectedAttachType } : {}) }).close();
      } catch (err) {
        if (!(err instanceof VerifierError) && !(err instanceof KernelError)) throw err;
        const log = err instanceof VerifierError ? err.log : '';
        if (/cannot use helper|unknown func|invalid func/.test(log)) allowed = false;
      }
      const mine = ops.helperAllowed(id);
      if (allowed) kernelAllows++;
      if (allowed && mine) both++;
      if (mine && !allowed) wrong.push(`${ops.name}: bpf_${helperById(id)?.name ?? id}`);
    }
    process.stdout.write(`# ${ops.name}: the kernel allows ${kernelAllows} helpers, bpfkit models ${both} of them\n`);
    // Not a token subset: the base, skb and type-specific helpers are there.
    assert.ok(both >= 45, `${ops.name}: only ${both} of ${kernelAllows}`);
  }
  assert.deepEqual(wrong, [], 'bpfkit allows helpers the kernel refuses');
});
