// probeKfunc against BPF_PROG_LOAD: its answer for every kfunc the kfunc fixtures call equals the kernel's load of
// the fixture; a kfunc whose set the type lacks is refused; verifyProgram told by the probe gives the kernel's verdict.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { loadObject } from '../../src/elf/object-loader.js';
import { BpfProgType } from '../../src/isa/uapi.generated.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { probeKfunc } from '../../src/kernel/kfunc-probe.js';
import { vmlinuxBtf } from '../../src/kernel/object/vmlinux.js';
import { VerifierError } from '../../src/kernel/verifier-error.js';
import { KfuncNotInKernelError } from '../../src/verifier/kfunc-resolve.js';
import { verifyProgram } from '../../src/verifier/verify.js';
import { fixturesDir } from '../support/fixtures.js';
import { objectProgramVerdict } from '../verifier/fixture-oracle.js';
import { kernelTest } from './harness.js';

const kfuncDir = path.join(fixturesDir, 'kfunc');
/** The fixtures whose programs call kfuncs correctly (kfunc_bad holds one mistake per program). */
const FILES = readdirSync(kfuncDir).filter((f) => f.endsWith('.o') && f !== 'kfunc_bad.o').sort();

kernelTest('probeKfunc agrees with the kernel loading each kfunc fixture program', (sys) => {
  const btf = vmlinuxBtf(sys);
  let compared = 0;
  const refused: string[] = [];
  for (const f of FILES) {
    const file = path.join(kfuncDir, f);
    const spec = loadObject(new Uint8Array(readFileSync(file)), { objectName: f.replace(/\.o$/, '') });
    for (const p of spec.programs) {
      const kfuncs = p.externs.filter((n) => btf.typesByName(n).some((t) => t.kind === 'func'));
      if (kfuncs.length === 0) continue;
      const v = objectProgramVerdict(sys, { key: `${f}:${p.name}`, file, spec, program: p.name });
      const text = `${v.message ?? ''}\n${v.error ?? ''}`;
      const named = /calling kernel function (\w+) is not allowed|^(\w+)\(\) is not allowed/m.exec(text);
      if (v.verdict === 'accept') {
        for (const k of kfuncs) assert.equal(probeKfunc(sys, p.type, k), true, `${f}:${p.name} loads, yet the probe says type ${p.type} may not call ${k}`);
        compared += kfuncs.length;
      } else if (named) {
        const k = (named[1] ?? named[2])!;
        assert.equal(probeKfunc(sys, p.type, k), false, `${f}:${p.name}: the kernel refuses ${k}, the probe allows it`);
        refused.push(`${k} in type ${p.type}`);
        compared++;
      }
    }
  }
  console.log(`# kfunc probe: ${compared} (program, kfunc) answers equal the kernel's load; refused by this build: ${refused.join(', ') || 'none'}`);
  assert.ok(compared >= 10, `only ${compared} answers compared`);
});

kernelTest('probeKfunc: a kfunc outside the type\'s set is refused, as a bare BPF_PROG_LOAD says; one absent from the BTF throws', (sys) => {
  const btf = vmlinuxBtf(sys);
  const bareLoad = (type: number, kfunc: string): string => {
    const id = btf.typesByName(kfunc).find((t) => t.kind === 'func')!.id;
    const insns = new Uint8Array(24);
    insns[0] = 0x85;
    insns[1] = 0x20;
    new DataView(insns.buffer).setInt32(4, id, true);
    insns[8] = 0xb7;
    insns[16] = 0x95;
    try {
      loadProgram(sys, { type, insns, license: 'GPL', logLevel: 1 }).close();
      return '';
    } catch (err) {
      assert.ok(err instanceof VerifierError);
      return err.log;
    }
  };
  for (const [type, kfunc] of [
    [BpfProgType.XDP, 'bpf_dynptr_from_skb'],
    [BpfProgType.SCHED_CLS, 'bpf_dynptr_from_xdp'],
    [BpfProgType.SCHED_CLS, 'bpf_dynptr_from_skb'],
    [BpfProgType.XDP, 'bpf_dynptr_from_xdp'],
  ] as const) {
    const kernelRefuses = bareLoad(type, kfunc).includes(`calling kernel function ${kfunc} is not allowed`);
    assert.equal(probeKfunc(sys, type, kfunc), !kernelRefuses, `${kfunc} in type ${type}`);
  }
  assert.equal(probeKfunc(sys, BpfProgType.XDP, 'bpf_dynptr_from_skb'), false);
  assert.equal(probeKfunc(sys, BpfProgType.SCHED_CLS, 'bpf_dynptr_from_skb'), true);
  assert.throws(() => probeKfunc(sys, BpfProgType.XDP, 'bpf_no_such_kfunc_bpfkit'), KfuncNotInKernelError);
});

kernelTest('verifyProgram given kfuncRefused from the probe gives the kernel verdict on xdp_dynptr_rdwr', (sys) => {
  const file = path.join(kfuncDir, 'kfunc_dynptr.o');
  const spec = loadObject(new Uint8Array(readFileSync(file)), { objectName: 'kfunc_dynptr' });
  for (const p of spec.programs) {
    const kernel = objectProgramVerdict(sys, { key: p.name, file, spec, program: p.name });
    const r = verifyProgram(p, spec, { privileged: true, kernelBtf: vmlinuxBtf(sys), kfuncRefused: (t, k) => !probeKfunc(sys, t, k) });
    assert.equal(r.verdict, kernel.verdict, `${p.name}: bpfkit ${r.verdict}, kernel ${kernel.verdict} (${kernel.message ?? ''})`);
  }
});
