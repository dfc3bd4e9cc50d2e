// `bpfkit verify OBJ`: bpfkit's verifier on each program of an object — accepted or rejected, and
// on rejection the instruction, the C source line, the kernel's message and a hint; veristat's
// statistics (processed insns, states, time); exit code 1 when any program is rejected.

import { formatInstruction } from '../asm/format.js';
import type { Btf } from '../btf/index.js';
import type { ObjectSpec, ProgramSpec } from '../elf/object-spec.js';
import { type Instruction, type SourceLine, slotOffsets } from '../isa/instruction.js';
import { programTypeName } from '../isa/program-types.js';
import { explainRejection } from '../verifier/explain.js';
import { verifyProgram, type VerifyResult } from '../verifier/verify.js';
import { createKernelSys } from '../kernel/koffi-sys.js';
import { HostProbeError, hostTarget } from '../kernel/host-target.js';
import { probeKfunc } from '../kernel/kfunc-probe.js';
import type { Sys } from '../kernel/sys.js';
import { kernelBtfFor } from './kernel-btf.js';
import { type CommandArgs, type OptionSpec, TYPE_OPTION } from './args.js';
import { assertProgramTyped } from '../elf/program-type.js';
import { UsageError } from './errors.js';
import { readObject } from './load-file.js';
import { type Io, json, table } from './output.js';

/** Usage text of `verify`. */
export const verifyUsage = 'bpfkit verify OBJ [--prog NAME] [--type TYPE] [--log-level 1|2] [--unprivileged] [--target upstream|host] [--json|-j]';

/** Options of `verify`. */
export const verifyOptions: OptionSpec = {
  prog: { type: 'string' },
  'log-level': { type: 'string' },
  // The rules the kernel applies to a loader without CAP_BPF/CAP_PERFMON (pointer leaks, Spectre masking...).
  unprivileged: { type: 'boolean' },
  // upstream (default): bpfkit's 6.18 model; host: what the running kernel permits, probed (cached per boot).
  target: { type: 'string' },
  ...TYPE_OPTION,
};

/** One program's verdict as `verify` reports it (the JSON shape, snake_case like bpftool/veristat). */
export interface VerifyReport {
  readonly name: string;
  readonly section: string;
  readonly type: string;
  readonly verdict: 'accept' | 'reject';
  readonly insn: number | null;
  /** The rejected instruction, in the kernel log's syntax. */
  readonly insn_text: string | null;
  readonly line: { file: string; line: number; column: number; text: string } | null;
  readonly message: string | null;
  readonly hint: string | null;
  readonly processed_insns: number;
  readonly peak_states: number;
  readonly total_states: number;
  readonly duration_us: number;
}

/** The index of the instruction at slot `slot`, or -1. */
function indexOfSlot(insns: readonly Instruction[], slot: number | undefined): number {
  if (slot === undefined) return -1;
  const slots = slotOffsets(insns);
  for (let i = 0; i < insns.length; i++) if (slots[i] === slot) return i;
  return -1;
}

/** The source line of instruction `i`: its own, or the last one before it (as the kernel log shows it). */
function sourceOf(insns: readonly Instruction[], i: number): SourceLine | undefined {
  for (let j = i; j >= 0; j--) {
    const s = insns[j]?.source;
    if (s) return s;
    if (insns[j]?.symbol !== undefined && j !== i) return undefined;
  }
  return undefined;
}

/** Builds the report of one program from the verifier's result. */
export function verifyReport(program: ProgramSpec, result: VerifyResult): VerifyReport {
  const index = result.verdict === 'reject' ? indexOfSlot(program.instructions, result.insn) : -1;
  const insn = program.instructions[index];
  const src = result.line ?? sourceOf(program.instructions, index);
  const line = result.verdict === 'reject' && src ? { file: src.file, line: src.line, column: src.column, text: src.text } : null;
  const hint = result.verdict === 'reject' ? (result.hint ?? explainRejection({ ...result, ...(line ? { line } : {}) }, program.instructions)) : undefined;
  return {
    name: program.name,
    section: program.section,
    type: programTypeName(program.type),
    verdict: result.verdict,
    insn: result.verdict === 'reject' && result.insn !== undefined ? result.insn : null,
    insn_text: insn ? formatInstruction(insn, { syntax: 'kernel' }) : null,
    line,
    message: result.verdict === 'reject' ? (result.message ?? null) : null,
    hint: hint ?? null,
    processed_insns: result.processedInsns,
    peak_states: result.peakStates,
    total_states: result.totalStates,
    duration_us: Math.round(result.durationNs / 1000),
  };
}

function text(r: VerifyReport): string {
  const lines = [`${r.name} (${r.type}, section ${r.section}): ${r.verdict === 'accept' ? 'accepted' : 'rejected'}`];
  if (r.verdict === 'reject') {
    if (r.insn !== null) lines.push(`  insn ${r.insn}: ${r.insn_text ?? '?'}`);
    if (r.line) lines.push(`  line ${r.line.file}:${r.line.line}:${r.line.column}: ${r.line.text.trim()}`);
    lines.push(`  message: ${r.message ?? '(none)'}`);
    if (r.hint) lines.push(`  hint: ${r.hint}`);
  }
  lines.push(`  processed ${r.processed_insns} insns, peak states ${r.peak_states}, total states ${r.total_states}, ${r.duration_us} us`);
  return lines.join('\n') + '\n';
}

/**
 * The kfuncs this machine's kernel refuses for a program type although its BTF has them (one 6.18
 * build refuses bpf_dynptr_slice_rdwr), asked through bpf(2) on first use and cached. Where the
 * kernel cannot answer (no bpf(2) access, no koffi), nothing is refused.
 */
function machineKfuncRefused(btf: Btf): (type: number, kfunc: string) => boolean {
  let sys: Sys | null | undefined;
  return (type, kfunc) => {
    if (sys === undefined) {
      try {
        sys = createKernelSys();
      } catch {
        sys = null;
      }
    }
    if (!sys) return false;
    try {
      return !probeKfunc(sys, type, kfunc, btf);
    } catch {
      return false;
    }
  };
}

/** The running kernel's Sys for --target host; HostProbeError when bpf(2) cannot be reached at all. */
function hostSys(): Sys {
  try {
    return createKernelSys();
  } catch (e) {
    throw new HostProbeError(`bpf(2) is not reachable from this process: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/** Runs `verify`. Exit code 0 when every program is accepted, 1 when any is rejected. */
export function verify(args: CommandArgs, io: Io): number {
  const file = args.positional(0, 'OBJ', verifyUsage);
  args.done(verifyUsage);
  const levelText = args.value('log-level') ?? '0';
  if (!['0', '1', '2'].includes(levelText)) throw new UsageError(`--log-level must be 1 or 2, got '${levelText}'`, verifyUsage);
  const logLevel = Number(levelText) as 0 | 1 | 2;
  const targetName = args.value('target') ?? 'upstream';
  if (targetName !== 'upstream' && targetName !== 'host') throw new UsageError(`--target must be upstream or host, got '${targetName}'`, verifyUsage);
  const spec: ObjectSpec = readObject(file, args.programType(verifyUsage));
  const wanted = args.value('prog');
  const programs = wanted === undefined ? spec.programs : spec.programs.filter((p) => p.name === wanted);
  if (wanted !== undefined && programs.length === 0) {
    throw new UsageError(`no program named '${wanted}' in ${file} (programs: ${spec.programs.map((p) => p.name).join(', ') || 'none'})`, verifyUsage);
  }
  // The kernel takes no untyped program: say which one and how to type it, before verifying any.
  for (const p of programs) assertProgramTyped(p);
  // kfuncs and CO-RE are checked against this machine's kernel, as BPF_PROG_LOAD would.
  const kernelBtf = kernelBtfFor(spec);
  // --target host: program types, maps, helpers and kfuncs as the running kernel permits them (HostProbeError when it cannot be asked).
  const target = targetName === 'host' ? hostTarget(hostSys(), kernelBtf ? { kernelBtf } : {}) : undefined;
  const kfuncRefused = kernelBtf && !target ? machineKfuncRefused(kernelBtf) : undefined;
  const results = programs.map((p) => {
    const result = verifyProgram(p, spec, { logLevel, privileged: !args.flag('unprivileged'), ...(kernelBtf ? { kernelBtf } : {}), ...(kfuncRefused ? { kfuncRefused } : {}), ...(target ? { target } : {}) });
    return { report: verifyReport(p, result), log: result.log };
  });
  target?.save();
  if (args.json) {
    io.out(json(results.map((r) => (logLevel > 0 ? { ...r.report, log: r.log } : r.report)), args.pretty));
  } else {
    for (const r of results) {
      if (logLevel > 0 && r.log) io.out(r.log.endsWith('\n') ? r.log : `${r.log}\n`);
      io.out(text(r.report));
    }
    if (results.length > 1) {
      io.out(
        '\n' +
          table(
            ['Program', 'Verdict', 'Duration (us)', 'Insns', 'States', 'Peak states'],
            results.map(({ report: r }) => [r.name, r.verdict === 'accept' ? 'success' : 'failure', r.duration_us, r.processed_insns, r.total_states, r.peak_states]),
            '',
          ),
      );
    }
  }
  return results.some((r) => r.report.verdict === 'reject') ? 1 : 0;
}
