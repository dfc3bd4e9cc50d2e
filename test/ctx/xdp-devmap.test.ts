// struct xdp_md's egress_ifindex per expected attach type, against the kernel's BPF_PROG_LOAD: c/xdp_devmap_ctx.o's
// programs (xdp/devmap reads it, as xdp-tools' xdp-bench redirect_devmap_multi does; plain xdp, xdp/cpumap, narrow
// loads and stores are refused) — verdict and message equal; the attach type comes from the section, as in libbpf.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadObject } from '../../src/elf/object-loader.js';
import { BpfAttachType } from '../../src/isa/uapi.generated.js';
import { verifyProgram } from '../../src/verifier/verify.js';
import { kernelTest } from '../kernel/harness.js';
import { AgreementReport, compareVerdicts } from '../verifier/agreement.js';
import { objectProgramVerdict } from '../verifier/fixture-oracle.js';

const file = path.join(import.meta.dirname, 'c', 'xdp_devmap_ctx.o');
const spec = loadObject(new Uint8Array(readFileSync(file)), { objectName: 'xdp_devmap_ctx' });

kernelTest('xdp egress_ifindex: readable by xdp/devmap programs only, as the kernel decides', (sys) => {
  assert.equal(spec.programs.find((p) => p.name === 'devmap_egress_ifindex')?.expectedAttachType, BpfAttachType.XDP_DEVMAP);
  const report = new AgreementReport('xdp_devmap_ctx');
  let equal = 0;
  for (const p of spec.programs) {
    const { processedInsns: _p, timeUsec: _t, ...kernel } = objectProgramVerdict(sys, { key: p.name, file, spec, program: p.name });
    assert.equal(kernel.error, undefined, `${p.name}: the loader refused it (${kernel.error})`);
    assert.equal(kernel.verdict, p.name.startsWith('bad_') ? 'reject' : 'accept', `${p.name}: the kernel's verdict is not the one the fixture was written for (${kernel.message ?? ''})`);
    const r = verifyProgram(p, spec, { privileged: true });
    const ours = r.message === undefined ? { verdict: r.verdict } : { verdict: r.verdict, message: r.message };
    const outcome = compareVerdicts(kernel, ours);
    if (outcome === 'exact' || outcome === 'agree') equal++;
    report.add({ name: p.name, outcome, kernel, ours });
  }
  console.log(report.format(100));
  console.log(`# xdp_devmap_ctx: ${equal}/${spec.programs.length} equal the kernel (verdict and message)`);
  assert.equal(equal, spec.programs.length);
});
