// The kernel's verifier statistics (BPF_LOG_STATS) for one program, and what bpfkit's verifier is told about the running kernel.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { ObjectSpec } from '../../src/elf/object-spec.js';
import { loadKernelObject, probeHelper, probeKfunc, VerifierError, vmlinuxBtf, type Sys } from '../../src/kernel/index.js';
import type { VerifyOptions } from '../../src/verifier/verify.js';

/** The committed fixtures that reproduce big programs' shapes. */
export const pruneFixturesDir = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'fixtures', 'prune');

/** The kernel's BPF_LOG_STATS figures. */
export interface KernelStats {
  processedInsns: number;
  totalStates: number;
  peakStates: number;
  maxStatesPerInsn: number;
  timeUsec: number;
}

/** The statistics lines of a BPF_LOG_STATS log (undefined when absent). */
export function parseStats(log: string): KernelStats | undefined {
  const p = /processed (\d+) insns \(limit \d+\) max_states_per_insn (\d+) total_states (\d+) peak_states (\d+)/.exec(log);
  const t = /verification time (\d+) usec/.exec(log);
  if (!p || !t) return undefined;
  return { processedInsns: Number(p[1]), maxStatesPerInsn: Number(p[2]), totalStates: Number(p[3]), peakStates: Number(p[4]), timeUsec: Number(t[1]) };
}

/** One load of `program` of `spec` with BPF_LOG_STATS: its statistics, or the kernel's refusal. */
export function kernelStats(sys: Sys, spec: ObjectSpec, program: string): KernelStats | { error: string } {
  const pinPath = `/sys/fs/bpf/bpfkit-prune-${process.pid}`;
  mkdirSync(pinPath, { recursive: true });
  try {
    using obj = loadKernelObject(sys, spec, { programs: [program], logLevel: 4, pinPath });
    return parseStats(obj.program(program).fd.verifierLog) ?? { error: 'no statistics in the log' };
  } catch (err) {
    if (err instanceof VerifierError) return { error: err.message.split('\n')[0]! };
    return { error: err instanceof Error ? err.message : String(err) };
  } finally {
    rmSync(pinPath, { recursive: true, force: true });
  }
}

/** What bpfkit's verifier is told about the running kernel (as `bpfkit verify --target host` would). */
export function hostFacts(sys: Sys): VerifyOptions {
  const o: VerifyOptions = { logLevel: 0 };
  try {
    o.kernelBtf = vmlinuxBtf(sys);
  } catch {
    // No /sys/kernel/btf/vmlinux: programs that need it are refused by both.
  }
  const helpers = new Map<string, boolean>();
  o.helperRefused = (type, helper) => {
    const k = `${type}/${helper}`;
    if (!helpers.has(k)) {
      try {
        helpers.set(k, !probeHelper(sys, type, helper));
      } catch {
        helpers.set(k, false);
      }
    }
    return helpers.get(k)!;
  };
  const kfuncs = new Map<string, boolean>();
  o.kfuncRefused = (type, kfunc) => {
    const k = `${type}/${kfunc}`;
    if (!kfuncs.has(k)) {
      try {
        kfuncs.set(k, !probeKfunc(sys, type, kfunc));
      } catch {
        kfuncs.set(k, false);
      }
    }
    return kfuncs.get(k)!;
  };
  return o;
}
