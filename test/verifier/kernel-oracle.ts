// The kernel as the verifier oracle: load a program with real maps (fds patched in) through
// BPF_PROG_LOAD and reduce the answer to a verdict, the log's reason line and the statistics.
import { type Instruction, encode } from '../../src/isa/index.js';
import { PseudoLd } from '../../src/isa/opcodes.js';
import { createMap, loadProgram, type MapFd, type Sys, VerifierError } from '../../src/kernel/index.js';
import type { MapDef } from '../../src/maps/map-ops.js';

/** What the kernel said about one program. */
export interface KernelVerdict {
  readonly verdict: 'accept' | 'reject';
  /** The log's last meaningful line on rejection (`R0 !read_ok`). */
  readonly message?: string;
  /** The meaningful line before it, when the kernel explains in two lines. */
  readonly detail?: string;
  /** Instruction index of the last instruction line the log shows. */
  readonly insn?: number;
}

/** A verdict plus what only a live load knows. */
export interface LiveVerdict extends KernelVerdict {
  /** `processed N insns`, when the log had it. */
  readonly processedInsns?: number;
  /** `verification time X usec`, with log level 4 (BPF_LOG_STATS). */
  readonly timeUsec?: number;
  /** The whole log. */
  readonly log: string;
}

// Lines that are statistics, register states, source or instructions, not a reason.
const NOT_REASON = /^(processed \d+ insns|verification time|stack depth|mark_precise|from \d+ to \d+|\d+: |; |\s*$|func#\d+ @\d+|last_idx|regs=|parent (didn't )?had|Live regs|Global function|Func#|\(\w+\) )/;
const INSN_LINE = /^(\d+): \([0-9a-f]{2}\)/;

/** Reduces a kernel verifier log to its reason line(s) and the failing instruction. */
export function reasonOf(log: string): Pick<KernelVerdict, 'message' | 'detail' | 'insn'> {
  const lines = log.split('\n').map((l) => l.trimEnd());
  const reasons: number[] = [];
  for (let i = lines.length - 1; i >= 0 && reasons.length < 2; i--) {
    const l = lines[i]!;
    if (INSN_LINE.test(l)) break;
    if (!NOT_REASON.test(l)) reasons.push(i);
  }
  let insn: number | undefined;
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = INSN_LINE.exec(lines[i]!);
    if (m) {
      insn = Number(m[1]);
      break;
    }
  }
  // The kernel prints some reasons without a newline before the statistics line.
  const message = reasons[0] === undefined ? undefined : lines[reasons[0]]!.replace(/processed \d+ insns \(limit.*$/, '');
  const detail = reasons[1] === undefined ? undefined : lines[reasons[1]];
  return { ...(message === undefined ? {} : { message }), ...(detail === undefined ? {} : { detail }), ...(insn === undefined ? {} : { insn }) };
}

/** Creates every map in `defs` (closed after `fn`), keyed by name. */
export function withMaps<T>(sys: Sys, defs: Iterable<MapDef>, fn: (fds: ReadonlyMap<string, MapFd>) => T): T {
  const fds = new Map<string, MapFd>();
  try {
    for (const d of defs) fds.set(d.name, createMap(sys, { name: d.name, type: d.type, keySize: d.keySize, valueSize: d.valueSize, maxEntries: d.maxEntries, flags: d.flags }));
    return fn(fds);
  } finally {
    for (const fd of fds.values()) fd.close();
  }
}

/** Replaces each map reference of `lddw` (by name) with the map's fd, as a loader does. */
export function patchMaps(insns: readonly Instruction[], fds: ReadonlyMap<string, MapFd>): Instruction[] {
  return insns.map((insn) => {
    if (insn.code !== 0x18 || insn.reference === undefined || (insn.src !== PseudoLd.MAP_FD && insn.src !== PseudoLd.MAP_VALUE)) return insn;
    const fd = fds.get(insn.reference);
    if (!fd) throw new Error(`no map named ${insn.reference}`);
    const { reference: _drop, ...rest } = insn;
    return { ...rest, imm: fd.raw };
  });
}

const STATS = /processed (\d+) insns/;
const TIME = /verification time (\d+) usec/;

/** Loads `insns` as `type` (maps patched from `fds`) and returns the kernel's verdict. */
export function kernelVerify(sys: Sys, type: number, insns: readonly Instruction[], fds: ReadonlyMap<string, MapFd>, options: { logLevel?: number; expectedAttachType?: number } = {}): LiveVerdict {
  const bytes = encode(patchMaps(insns, fds));
  const logLevel = options.logLevel ?? 1;
  try {
    using prog = loadProgram(sys, { type, insns: bytes, license: 'GPL', logLevel, ...(options.expectedAttachType ? { expectedAttachType: options.expectedAttachType } : {}) });
    return { verdict: 'accept', log: prog.verifierLog, ...stats(prog.verifierLog) };
  } catch (err) {
    if (!(err instanceof VerifierError)) throw err;
    return { verdict: 'reject', log: err.log, ...reasonOf(err.log), ...stats(err.log) };
  }
}

function stats(log: string): { processedInsns?: number; timeUsec?: number } {
  const p = STATS.exec(log);
  const t = TIME.exec(log);
  return { ...(p ? { processedInsns: Number(p[1]) } : {}), ...(t ? { timeUsec: Number(t[1]) } : {}) };
}

/** Names of the maps a program's `lddw` instructions refer to. */
export function referencedMaps(insns: readonly Instruction[]): string[] {
  const names = new Set<string>();
  for (const i of insns) if (i.code === 0x18 && i.reference !== undefined && (i.src === PseudoLd.MAP_FD || i.src === PseudoLd.MAP_VALUE)) names.add(i.reference);
  return [...names];
}

/**
 * The kernel's verdict on one program whose maps are named from `defs`. Maps are created fresh
 * for each program: a prog array remembers the type of the first program that used it, so a
 * shared one would make verdicts depend on the order of loading.
 */
export function kernelVerifyFresh(sys: Sys, type: number, insns: readonly Instruction[], defs: ReadonlyMap<string, MapDef>, options: { logLevel?: number } = {}): LiveVerdict {
  const wanted = referencedMaps(insns).map((n) => {
    const d = defs.get(n);
    if (!d) throw new Error(`no map named ${n}`);
    return d;
  });
  return withMaps(sys, wanted, (fds) => kernelVerify(sys, type, insns, fds, options));
}
