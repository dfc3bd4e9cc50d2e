// One selftest object's programs: the kernel's verdict (BPF_PROG_LOAD as test_loader.c loads them,
// privileged, with their auxiliary programs and flags) against bpfkit's verifier.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadObject, programTypeName, verifyProgram, type ObjectSpec, type ProgramSpec } from '../../src/index.js';
import type { Btf } from '../../src/btf/index.js';
import { KernelError, loadKernelObject, probeHelper, VerifierError, type Sys } from '../../src/kernel/index.js';
import { expectations, loadFlags, missingMessage, type Expectation } from './annotations.js';

/** How bpfkit's verdict relates to the kernel's. */
export type Agreement = 'agree' | 'looser' | 'stricter' | 'error';

/** One compared program. */
export interface ProgramRow {
  /** `verifier_and` (the source file without `.c`). */
  readonly file: string;
  readonly program: string;
  readonly description: string;
  readonly section: string;
  /** The program type (bpftool's name). */
  readonly type: string;
  /** What the annotation expects (privileged). */
  readonly expected: 'accept' | 'reject';
  readonly kernel: 'accept' | 'reject';
  /** The kernel's reason line when it rejects. */
  readonly kernelMessage?: string;
  /** The first `__msg` the kernel's log lacks (its wording changed since 6.12), when one does. */
  readonly annotationMessageMissing?: string;
  readonly bpfkit: 'accept' | 'reject' | 'error';
  readonly bpfkitMessage?: string;
  /** Instruction of bpfkit's rejection. */
  readonly bpfkitInsn?: number;
  readonly agreement: Agreement;
}

/** A program left out, and why (the kernel does not meet its annotation, the loader failed...). */
export interface SkippedRow {
  readonly file: string;
  readonly program: string;
  readonly reason: string;
}

/** What the comparison needs from the running kernel, asked once. */
export interface KernelFacts {
  readonly sys: Sys;
  readonly kernelBtf?: Btf;
  readonly helperRefused: (type: number, helper: number) => boolean;
}

/** The kernel's BTF and a cached helper probe. */
export function kernelFacts(sys: Sys, kernelBtf: Btf | undefined): KernelFacts {
  const cache = new Map<string, boolean>();
  return {
    sys,
    ...(kernelBtf ? { kernelBtf } : {}),
    helperRefused: (type, helper) => {
      const key = `${type}:${helper}`;
      let refused = cache.get(key);
      if (refused === undefined) {
        try {
          refused = !probeHelper(sys, type, helper);
        } catch {
          // A type the probe cannot load (it needs an attach target): nothing refused.
          refused = false;
        }
        cache.set(key, refused);
      }
      return refused;
    },
  };
}

const EPERM = 1;

/** The kernel's verdict on `p` loaded with the object's auxiliary programs. */
function kernelVerdict(facts: KernelFacts, spec: ObjectSpec, p: ProgramSpec, e: Expectation, auxiliary: readonly string[]): { verdict: 'accept' | 'reject'; message?: string; log?: string } | { skip: string } {
  const flags = loadFlags(e);
  const flagged: ObjectSpec = { ...spec, programs: spec.programs.map((q) => (q.name === p.name ? { ...q, flags: q.flags | flags } : q)) };
  try {
    using _obj = loadKernelObject(facts.sys, flagged, { programs: [p.name, ...auxiliary.filter((a) => a !== p.name)], logLevel: e.expectFailure ? Math.max(1, e.logLevel & 3) : 0 });
    return { verdict: 'accept' };
  } catch (err) {
    if (err instanceof VerifierError) {
      if (err.errno === EPERM) return { skip: `the kernel refuses the program with EPERM (this build refuses the type): ${err.summary}` };
      return { verdict: 'reject', message: err.summary, log: err.log };
    }
    if (err instanceof KernelError && err.op.includes('PROG_LOAD')) {
      if (err.errnoName === 'EPERM') return { skip: `the kernel refuses the program with EPERM (this build refuses the type)` };
      return { verdict: 'reject', message: err.message, log: '' };
    }
    return { skip: `bpfkit's loader fails before BPF_PROG_LOAD: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` };
  }
}

/** The expectation of a program without any tag: test_loader runs it privileged and expects success. */
const untagged = (fn: string): Expectation => ({ priv: true, expectFailure: false, messages: [], description: fn, auxiliary: false, flags: [], logLevel: 0, arches: [] });

/** Compares every privileged test program of one object; never throws for what the object holds. */
export function compareObject(facts: KernelFacts, file: string, filter?: (program: string) => boolean): { rows: ProgramRow[]; skipped: SkippedRow[] } {
  const name = path.basename(file, '.o');
  const rows: ProgramRow[] = [];
  const skipped: SkippedRow[] = [];
  let spec: ObjectSpec;
  try {
    spec = loadObject(new Uint8Array(readFileSync(file)), { objectName: name });
  } catch (err) {
    skipped.push({ file: name, program: '(object)', reason: `bpfkit cannot read the object: ${err instanceof Error ? err.message : String(err)}` });
    return { rows, skipped };
  }
  const tags = spec.btf ? expectations(spec.btf) : new Map<string, Expectation>();
  const auxiliary = spec.programs.filter((p) => tags.get(p.name)?.auxiliary).map((p) => p.name);
  for (const p of spec.programs) {
    const e = tags.get(p.name) ?? untagged(p.name);
    if (!e.priv || e.auxiliary) continue;
    if (filter && !filter(p.name)) continue;
    const skip = (reason: string): void => void skipped.push({ file: name, program: p.name, reason });
    if (e.btfPath !== undefined) {
      skip(`needs a custom BTF (${e.btfPath})`);
      continue;
    }
    if (e.arches.length && !e.arches.includes('X86_64')) {
      skip(`for ${e.arches.join(', ')} only`);
      continue;
    }
    const k = kernelVerdict(facts, spec, p, e, auxiliary);
    if ('skip' in k) {
      skip(k.skip);
      continue;
    }
    const expected = e.expectFailure ? 'reject' : 'accept';
    if (k.verdict !== expected) {
      skip(`the running kernel does not meet the annotation: expected ${expected}, the kernel ${k.verdict}s${k.message ? ` (${k.message})` : ''}`);
      continue;
    }
    // The verdict is what is compared; a reason worded otherwise than in 6.12 (`invalid write to
    // stack` for `invalid indirect access to stack`) is noted, not left out.
    const missing = expected === 'reject' ? missingMessage(k.log ?? '', e.messages) : undefined;
    let bpfkit: ProgramRow['bpfkit'];
    let bpfkitMessage: string | undefined;
    let bpfkitInsn: number | undefined;
    try {
      // The program as loaded: its __flag()s (BPF_F_STRICT_ALIGNMENT) are the verifier's too.
      const r = verifyProgram({ ...p, flags: p.flags | loadFlags(e) }, spec, { privileged: true, helperRefused: facts.helperRefused, ...(facts.kernelBtf ? { kernelBtf: facts.kernelBtf } : {}) });
      bpfkit = r.verdict;
      bpfkitMessage = r.message;
      bpfkitInsn = r.insn;
    } catch (err) {
      bpfkit = 'error';
      bpfkitMessage = err instanceof Error ? `${err.name}: ${err.message.split('\n')[0]}` : String(err);
    }
    const agreement: Agreement = bpfkit === 'error' ? 'error' : bpfkit === k.verdict ? 'agree' : bpfkit === 'accept' ? 'looser' : 'stricter';
    rows.push({
      file: name,
      program: p.name,
      description: e.description,
      section: p.section,
      type: p.type === 0 ? 'unspec' : programTypeName(p.type),
      expected,
      kernel: k.verdict,
      ...(k.message ? { kernelMessage: k.message } : {}),
      ...(missing !== undefined ? { annotationMessageMissing: missing } : {}),
      bpfkit,
      ...(bpfkitMessage ? { bpfkitMessage } : {}),
      ...(bpfkitInsn !== undefined ? { bpfkitInsn } : {}),
      agreement,
    });
  }
  return { rows, skipped };
}

/** Totals of a comparison. */
export interface Totals {
  readonly programs: number;
  readonly agree: number;
  readonly looser: number;
  readonly stricter: number;
  readonly errors: number;
  readonly skipped: number;
  /** agree / programs, in percent (one decimal). */
  readonly agreementPercent: number;
}

/** Counts the rows. */
export function totals(rows: readonly ProgramRow[], skipped: readonly SkippedRow[]): Totals {
  const count = (a: Agreement): number => rows.filter((r) => r.agreement === a).length;
  const agree = count('agree');
  return {
    programs: rows.length,
    agree,
    looser: count('looser'),
    stricter: count('stricter'),
    errors: count('error'),
    skipped: skipped.length,
    agreementPercent: rows.length ? Math.round((agree / rows.length) * 1000) / 10 : 0,
  };
}
