// The real-programs harness core: one object's programs through inspect, disasm, verify, the kernel
// backend and userspace test runs, each compared with bpftool's load and the kernel's BPF_PROG_TEST_RUN.

import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import * as api from '../../src/index.js';
import { assertVerified, loadObject, loadUserspace, objectNameFromPath, programTypeName, verifyProgram, type MapSpec, type ObjectSpec, type ProgramSpec } from '../../src/index.js';
import * as kernelApi from '../../src/kernel/index.js';
import { getPinnedObject, KernelError, KernelMap, loadKernelObject, openPinnedMap, testRun, VerifierError, vmlinuxBtf, type KernelObject, type Sys } from '../../src/kernel/index.js';
import { main as cli } from '../../src/cli/main.js';
import { bpftoolLoadAll, type BpftoolLoad } from './bpftool.js';
import { classify, errorCode, errorMessage, type Cause } from './causes.js';
import { l3Packets, skLookupContexts, type CorpusPacket, type RunInput } from './corpus.js';
import { equalUpToClock, hexEqualUpToClock, hostClock, timed, type ClockWindow } from './clock-window.js';
import { comparableMaps, mapDifference, snapshot } from './map-state.js';

/**
 * A program type for an object: one for all its programs (bpftool's `type T`), one per program
 * name, or `'legacy'`: each untyped program gets the type bpfkit's untyped-section error suggests
 * (libbpf < 1.0's reading of its section name).
 */
export type TypeChoice = string | Readonly<Record<string, string>>;

/**
 * Map entries to store before the test runs: map name -> entries, each a key and a value in hex,
 * or `keys: [from, to]` for every u32 key of that range (little-endian; array maps, hash rings).
 */
export type MapSeeds = Readonly<Record<string, readonly SeedEntry[]>>;

/** One seed entry: a key, or a range of u32 keys, and the value (hex bytes). */
export type SeedEntry = { readonly key: string; readonly value: string } | { readonly keys: readonly [number, number]; readonly value: string };

/** Every (key, value) pair a seed entry stands for. */
function* seedPairs(entries: readonly SeedEntry[]): Generator<[Uint8Array, Uint8Array]> {
  for (const e of entries) {
    const value = hex(e.value);
    if ('key' in e) {
      yield [hex(e.key), value];
      continue;
    }
    for (let k = e.keys[0]; k <= e.keys[1]; k++) {
      const key = new Uint8Array(4);
      new DataView(key.buffer).setUint32(0, k, true);
      yield [key, value];
    }
  }
}

/** What the harness needs besides the object. */
export interface MeasureOptions {
  /** The real kernel. */
  readonly sys: Sys;
  /** A directory in a bpffs for the reference's pins and by-name maps (emptied after each object). */
  readonly pinRoot: string;
  /** The packets each packet program is test-run on. */
  readonly packets: readonly CorpusPacket[];
  /** Userspace engines compared with the kernel (default both). */
  readonly engines?: readonly ('jit' | 'interpreter')[];
  /** The object's program type, when its sections do not give one. */
  readonly type?: TypeChoice;
  /** Map entries for the test runs (both sides). */
  readonly seeds?: MapSeeds;
  /**
   * max_entries per map name, set before anything loads, as the project's own loader sets them
   * (libbpf's bpf_map__set_max_entries: xdp-tools' xdp-bench leaves them 0 in the object).
   * bpftool cannot resize, so the kernel's verdict then comes from bpfkit's kernel load.
   */
  readonly maxEntries?: Readonly<Record<string, number>>;
  /** Skip the test runs (verdicts and tags only). */
  readonly noTestRuns?: boolean;
}

/** The kernel's or bpfkit's verdict on one program. */
export type Verdict = 'accept' | 'reject' | 'error' | 'unknown';

/** What the harness measured for one program. */
export interface ProgramResult {
  /** Object path as given (relative to the directory walked). */
  readonly object: string;
  readonly program: string;
  readonly section: string;
  /** Program type loaded (bpftool's name), after the type map. */
  readonly type: string;
  /** `bpfkit inspect OBJ --json` and `bpfkit disasm OBJ --json` exit 0. */
  readonly inspect: boolean;
  readonly disasm: boolean;
  /** bpfkit's verifier. */
  readonly verify: Verdict;
  /** `bpfkit verify OBJ --json [--type T]`'s verdict (the command a user runs; it may be told less than the library call). */
  readonly cliVerify: Verdict;
  /** cliVerify === kernel (undefined when the kernel's verdict is unknown). */
  readonly cliAgrees: boolean | undefined;
  readonly verifyMessage?: string;
  /** The kernel's BPF_PROG_LOAD verdict, and which load gave it. */
  readonly kernel: Verdict;
  readonly kernelBy: 'bpftool' | 'bpfkit' | 'none';
  readonly kernelMessage?: string;
  /** verify === kernel (undefined when the kernel's verdict is unknown). */
  readonly verdictAgrees: boolean | undefined;
  /** Prog tags of bpftool's load and bpfkit's kernel load. */
  readonly bpftoolTag?: string;
  readonly bpfkitTag?: string;
  readonly tagAgrees: boolean | undefined;
  /** Userspace test runs (packet x engine) and how many equal the kernel's. */
  readonly runs: number;
  readonly runsAgree: number;
  /** Of runsAgree, the runs equal only up to clock values (clock-window.ts). */
  readonly runsClock?: number;
  /** Why runs were not made (a type outside the packet corpus, the kernel refusing test runs). */
  readonly runsSkipped?: string;
  /** The first differing run, for the report. */
  readonly firstMismatch?: string;
  /** Map contents after the runs compared with the kernel's (one check per engine), and how many were equal. */
  readonly mapChecks: number;
  readonly mapChecksAgree: number;
  /** Of mapChecksAgree, the checks equal only up to clock values. */
  readonly mapChecksClock?: number;
  readonly firstMapDifference?: string;
  /** Every failure met, classified. */
  readonly causes: readonly Cause[];
}

/** Program types BPF_PROG_TEST_RUN runs on a packet (data_in): xdp, tc, socket filter, cgroup_skb, lwt, flow dissector. */
const PACKET_TYPES = new Set(['xdp', 'sched_cls', 'sched_act', 'socket_filter', 'cgroup_skb', 'lwt_in', 'lwt_out', 'lwt_xmit', 'lwt_seg6local', 'flow_dissector']);

/** Types whose test run takes a context or an L3 packet instead of the Ethernet corpus. */
const CONTEXT_TYPES = new Set(['sk_lookup', 'netfilter']);

/** The test-run inputs of a program type: the corpus, sk_lookup contexts, or L3 packets for netfilter. */
function runInputs(type: string, packets: readonly CorpusPacket[]): readonly RunInput[] {
  if (type === 'sk_lookup') return skLookupContexts();
  if (type === 'netfilter') return l3Packets(packets);
  return packets;
}

/** The library's `applyProgramType` when this version has it (looked up at run time: the harness runs on older commits too). */
function programTypeApi(): ((spec: ObjectSpec, option: TypeChoice) => ObjectSpec) | undefined {
  return optionalApi<(spec: ObjectSpec, option: TypeChoice) => ObjectSpec>(api, 'applyProgramType');
}

/** A library function by name when this version exports it (the harness runs on older commits too). */
function optionalApi<F>(module: object, name: string): F | undefined {
  const fn = (module as Record<string, unknown>)[name];
  return typeof fn === 'function' ? (fn as F) : undefined;
}

/**
 * Per-program types for the untyped programs of `spec`, from the `suggestion` of the library's
 * untyped-program error (undefined when this version has no such error, or nothing is untyped).
 */
export function legacyTypes(spec: ObjectSpec): Record<string, string> | undefined {
  const check = optionalApi<(p: ProgramSpec) => void>(api, 'assertProgramTyped');
  if (!check) return undefined;
  const out: Record<string, string> = {};
  for (const p of spec.programs) {
    try {
      check(p);
    } catch (e) {
      const suggestion = (e as { suggestion?: unknown }).suggestion;
      if (typeof suggestion === 'string') out[p.name] = suggestion;
    }
  }
  return Object.keys(out).length ? out : undefined;
}

/**
 * What the verifier and the userspace runtime are told about the running kernel, as a user
 * comparing with it would: its BTF (kfuncs, CO-RE, kernel structs) and the helpers this build
 * refuses (probed once). Passed loosely: versions without the options ignore them.
 */
function kernelFacts(sys: Sys): Record<string, unknown> {
  const facts: Record<string, unknown> = {};
  try {
    facts['kernelBtf'] = vmlinuxBtf(sys);
  } catch {
    // No /sys/kernel/btf/vmlinux: programs that need it fail, and say so.
  }
  const probe = optionalApi<(sys: Sys, type: number, helper: number) => boolean>(kernelApi, 'probeHelper');
  if (probe) {
    // A probe the kernel cannot answer (a type that needs an expected attach type) refuses nothing.
    facts['helperRefused'] = (type: number, helper: number) => {
      try {
        return !probe(sys, type, helper);
      } catch {
        return false;
      }
    };
  }
  const probeK = optionalApi<(sys: Sys, type: number, kfunc: string) => boolean>(kernelApi, 'probeKfunc');
  if (probeK) {
    // Kfuncs this build refuses for the type (bpf_dynptr_slice_rdwr on one 6.18 build); unanswerable: not refused.
    facts['kfuncRefused'] = (type: number, kfunc: string) => {
      try {
        return !probeK(sys, type, kfunc);
      } catch {
        return false;
      }
    };
  }
  return facts;
}

/** Verdicts of `bpfkit verify OBJ --json` by program name; with `--prog`/`--type` where given. An error: every program 'error'. */
async function cliVerdicts(argv: string[]): Promise<{ verdicts: Map<string, Verdict>; error: string }> {
  let out = '';
  let error = '';
  const io = { out: (t: string) => void (out += t), err: (t: string) => void (error += t) };
  const verdicts = new Map<string, Verdict>();
  try {
    await cli(['verify', ...argv, '--json'], io);
    const rows = JSON.parse(out) as { name: string; verdict: 'accept' | 'reject' }[];
    for (const r of rows) verdicts.set(r.name, r.verdict);
  } catch (e) {
    error ||= errorMessage(e);
  }
  return { verdicts, error: error.trim().split('\n')[0] ?? '' };
}

/** Runs a CLI command in this process; true when it exits 0. Output is discarded, errors kept. */
async function cliWorks(argv: string[]): Promise<{ ok: boolean; error: string }> {
  let error = '';
  const io = { out: () => undefined, err: (t: string) => void (error += t) };
  try {
    const code = await cli(argv, io);
    return { ok: code === 0, error: error.trim().split('\n')[0] ?? '' };
  } catch (e) {
    return { ok: false, error: errorMessage(e) };
  }
}

function hex(bytes: string): Uint8Array {
  const clean = bytes.replace(/[\s:]/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** One test run's outcome on either side: a return value and packet (and ctx_out for context-only runs), or an error. */
type Outcome = { retval: number; data: Uint8Array; ctx?: Uint8Array } | { error: string };

function describe(o: Outcome, other?: Outcome): string {
  if ('error' in o) return `error ${o.error}`;
  let text = `retval ${o.retval}, ${o.data.length} bytes`;
  if (other && !('error' in other) && other.retval === o.retval && other.data.length === o.data.length) {
    const at = o.data.findIndex((b, i) => b !== other.data[i]);
    if (at >= 0) text += ` (byte ${at}: 0x${o.data[at]!.toString(16)})`;
  }
  return text;
}

/** Helpers whose results differ between two runs by design (clocks, random numbers): id -> name. */
const NONDETERMINISTIC: ReadonlyMap<number, string> = new Map([
  [5, 'bpf_ktime_get_ns'],
  [7, 'bpf_get_prandom_u32'],
  [118, 'bpf_jiffies64'],
  [125, 'bpf_ktime_get_boot_ns'],
  [160, 'bpf_ktime_get_coarse_ns'],
  [208, 'bpf_ktime_get_tai_ns'],
]);

/** The clock/random helpers a program calls (comma-separated), or undefined. */
function nondeterministicHelpers(p: ProgramSpec): string | undefined {
  const names = new Set<string>();
  for (const i of p.instructions) if (i.code === 0x85 && i.src === 0 && NONDETERMINISTIC.has(i.imm)) names.add(NONDETERMINISTIC.get(i.imm)!);
  return names.size ? [...names].join(', ') : undefined;
}

/** How two differing outcomes differ, as a cause key. */
function mismatchOf(kernel: Outcome, user: Outcome): string {
  if ('error' in kernel) return `the kernel refuses the run (${kernel.error}), bpfkit runs it`;
  if ('error' in user) return `bpfkit fails the run (${user.error}), the kernel runs it`;
  if (kernel.retval !== user.retval) return 'return value differs';
  if (kernel.ctx && user.ctx && !equalBytes(kernel.ctx, user.ctx)) return 'same return value, ctx_out differs';
  return kernel.data.length === user.data.length ? 'same return value, output packet bytes differ' : 'same return value, output packet length differs';
}

/** The clock helpers whose values clock-window.ts can recognise in the output. */
const CLOCK_HELPERS = ['bpf_ktime_get_ns', 'bpf_ktime_get_boot_ns', 'bpf_ktime_get_coarse_ns'];

/** Same return value and ctx_out, and packets equal up to clock values (clock-window.ts). */
function sameUpToClock(kernel: Outcome, user: Outcome, kw: ClockWindow, uw: ClockWindow): boolean {
  if ('error' in kernel || 'error' in user) return false;
  if (kernel.retval !== user.retval || (kernel.ctx && user.ctx && !equalBytes(kernel.ctx, user.ctx))) return false;
  return equalUpToClock(kernel.data, user.data, kw, uw);
}

function sameOutcome(a: Outcome, b: Outcome): boolean {
  if ('error' in a || 'error' in b) return 'error' in a && 'error' in b;
  return a.retval === b.retval && equalBytes(a.data, b.data) && (a.ctx === undefined || b.ctx === undefined || equalBytes(a.ctx, b.ctx));
}

const UNSUPPORTED_RUN = new Set(['ENOTSUPP', 'EOPNOTSUPP', 'ENOTSUP']);

/** The kernel's test runs of one program, packet by packet (before userspace runs, so map state matches run for run). */
function kernelRuns(prog: Parameters<typeof testRun>[0], packets: readonly RunInput[]): { outcomes: Outcome[]; unsupported?: string } {
  const outcomes: Outcome[] = [];
  for (const p of packets) {
    try {
      // A context-only run (sk_lookup) must not ask for data_out: the kernel refuses it (EINVAL).
      const r = testRun(prog, { dataIn: p.data, ...(p.data.length === 0 ? { dataOutSize: 0 } : {}), ...(p.ctxIn ? { ctxIn: p.ctxIn, ctxOutSize: p.ctxIn.length } : {}) });
      outcomes.push({ retval: r.retval, data: r.dataOut, ...(p.ctxIn && r.ctxOut ? { ctx: r.ctxOut } : {}) });
    } catch (e) {
      if (!(e instanceof KernelError)) throw e;
      if (UNSUPPORTED_RUN.has(e.errnoName)) return { outcomes, unsupported: `the kernel does not test-run this type (${e.errnoName})` };
      outcomes.push({ error: e.errnoName });
    }
  }
  return { outcomes };
}

function seedKernel(maps: ReadonlyMap<string, KernelMap>, seeds: MapSeeds | undefined): void {
  for (const [name, entries] of Object.entries(seeds ?? {})) {
    const m = maps.get(name);
    if (!m) throw new Error(`seed: no kernel map "${name}"`);
    for (const [key, value] of seedPairs(entries)) m.set(key, value);
  }
}

/** Measures every program of one object. Never throws for anything the object does; kernel objects are released. */
export async function measureObject(file: string, label: string, options: MeasureOptions): Promise<ProgramResult[]> {
  const engines = options.engines ?? ['jit', 'interpreter'];
  const objectCauses: Cause[] = [];
  let spec: ObjectSpec;
  try {
    spec = loadObject(new Uint8Array(readFileSync(file)), { objectName: objectNameFromPath(file) });
    const sizes = options.maxEntries;
    if (sizes) spec = { ...spec, maps: spec.maps.map((m) => (sizes[m.name] !== undefined ? { ...m, maxEntries: sizes[m.name]! } : m)) };
  } catch (e) {
    const c = classify(e);
    return [{ object: label, program: '(object)', section: '', type: '', inspect: false, disasm: false, verify: 'error', cliVerify: 'error', cliAgrees: undefined, verifyMessage: c.message, kernel: 'unknown', kernelBy: 'none', verdictAgrees: undefined, tagAgrees: undefined, runs: 0, runsAgree: 0, mapChecks: 0, mapChecksAgree: 0, causes: [c] }];
  }
  const inspect = await cliWorks(['inspect', file, '--json']);
  const disasm = await cliWorks(['disasm', file, '--json']);
  if (!inspect.ok) objectCauses.push({ kind: 'error', key: `inspect: ${inspect.error.replace(/\/\S+\.o/g, 'OBJ')}`, message: inspect.error });
  if (!disasm.ok) objectCauses.push({ kind: 'error', key: `disasm: ${disasm.error.replace(/\/\S+\.o/g, 'OBJ')}`, message: disasm.error });

  const untyped = spec.programs.filter((p) => p.type === 0).map((p) => p.name);
  let type: TypeChoice | undefined = options.type;
  if (type === 'legacy') type = legacyTypes(spec);
  // bpftool takes one type for every program: a per-program choice reaches it only when it is one type for all.
  let bpftoolType = typeof type === 'string' ? type : undefined;
  if (type !== undefined && typeof type === 'object') {
    const kinds = new Set(Object.values(type));
    if (kinds.size === 1 && Object.keys(type).length === spec.programs.length) bpftoolType = [...kinds][0];
  }
  if (type !== undefined) {
    const apply = programTypeApi();
    if (apply) {
      try {
        spec = apply(spec, type);
      } catch (e) {
        objectCauses.push(classify(e));
      }
    } else if (untyped.length) {
      objectCauses.push({ kind: 'untyped section', key: 'no programType option in this version', message: `sections of ${untyped.join(', ')} give no program type and the library cannot be told one` });
    }
  }

  // `bpfkit verify` as a user runs it: one call per object, or per program when types differ.
  const cli = new Map<string, Verdict>();
  const cliErrors = new Map<string, string>();
  const cliCalls: { argv: string[]; programs: string[] }[] =
    type !== undefined && typeof type === 'object'
      ? spec.programs.map((p) => ({ argv: [file, '--prog', p.name, ...(type[p.name] ? ['--type', type[p.name]!] : [])], programs: [p.name] }))
      : [{ argv: [file, ...(typeof type === 'string' ? ['--type', type] : [])], programs: spec.programs.map((p) => p.name) }];
  for (const call of cliCalls) {
    const r = await cliVerdicts(call.argv);
    for (const name of call.programs) {
      cli.set(name, r.verdicts.get(name) ?? 'error');
      if (!r.verdicts.has(name)) cliErrors.set(name, r.error);
    }
  }

  // The reference: bpftool loads the whole object (one type for all, as `type T` does).
  const byName = spec.maps.filter((m) => m.pinning === 'by_name').map((m) => `/sys/fs/bpf/${m.name}`);
  let ref: BpftoolLoad | undefined;
  const results: ProgramResult[] = [];
  const facts = kernelFacts(options.sys);
  try {
    ref = bpftoolLoadAll(file, options.pinRoot, bpftoolType, byName);
    for (const p of spec.programs) {
      const row = await measureProgram(label, spec, p, ref, options, engines, inspect.ok, disasm.ok, objectCauses, facts);
      const cliVerify = cli.get(p.name) ?? 'error';
      const cliAgrees = row.kernel === 'accept' || row.kernel === 'reject' ? cliVerify === row.kernel : undefined;
      const causes = [...row.causes];
      // Where the command disagrees and the library call does not, the command is told less (types, BTF).
      if (cliAgrees === false && row.verdictAgrees === true) {
        causes.push({ kind: 'verifier disagrees', key: `bpfkit verify (CLI) ${cliVerify}s where the library call ${row.verify}s: ${cliErrors.get(p.name) ?? 'the command does not tell the verifier what the library call does (kernel BTF, refused helpers)'}`.slice(0, 200), message: cliErrors.get(p.name) ?? '' });
      }
      results.push({ ...row, cliVerify, cliAgrees, causes });
    }
  } finally {
    ref?.release();
  }
  return results;
}

async function measureProgram(
  label: string,
  spec: ObjectSpec,
  p: ProgramSpec,
  ref: BpftoolLoad,
  options: MeasureOptions,
  engines: readonly ('jit' | 'interpreter')[],
  inspectOk: boolean,
  disasmOk: boolean,
  objectCauses: readonly Cause[],
  facts: Record<string, unknown>,
): Promise<Omit<ProgramResult, 'cliVerify' | 'cliAgrees'>> {
  const causes: Cause[] = [...objectCauses];
  const type = p.type === 0 ? 'unspec' : programTypeName(p.type);

  // bpfkit's verifier (the library call `bpfkit verify` makes).
  let verify: Verdict;
  let verifyMessage: string | undefined;
  try {
    const verifyOptions: Parameters<typeof verifyProgram>[2] = { ...facts };
    const r = verifyProgram(p, spec, verifyOptions);
    verify = r.verdict;
    verifyMessage = r.message;
  } catch (e) {
    verify = 'error';
    const c = classify(e);
    verifyMessage = c.message;
    causes.push(c);
  }

  // bpfkit's kernel backend: this program alone (its maps fresh), kept open for the test runs.
  let kobj: KernelObject | undefined;
  const kernelPins = path.join(options.pinRoot, `k${(loads++).toString(36)}`);
  let bpfkitTag: string | undefined;
  let bpfkitKernel: Verdict;
  let bpfkitKernelMessage: string | undefined;
  try {
    try {
      // Maps pinned by name go to a directory of this load alone, removed with it.
      mkdirSync(kernelPins, { recursive: true });
      kobj = loadKernelObject(options.sys, spec, { programs: [p.name], pinPath: kernelPins });
      bpfkitTag = kobj.program(p.name).info().tag;
      bpfkitKernel = 'accept';
    } catch (e) {
      // The kernel refusing the program (its verifier, or BPF_PROG_LOAD's errno) is a verdict, not a bpfkit failure.
      if (e instanceof VerifierError || (e instanceof KernelError && e.op.includes('PROG_LOAD'))) {
        bpfkitKernel = 'reject';
        bpfkitKernelMessage = errorMessage(e);
      } else {
        bpfkitKernel = 'error';
        const c = classify(e);
        bpfkitKernelMessage = c.message;
        // A symbol this kernel lacks stops libbpf too (bpftool fails alike): the kernel's refusal.
        if (!ref.ok && /not found in the kernel's BTF/.test(c.message) && !ref.tags.has(p.name)) causes.push({ kind: 'kernel refuses', key: `this kernel's BTF lacks it: ${c.key}`, message: c.message });
        else causes.push({ ...c, key: `kernel load: ${c.key}` });
      }
    }

    // The kernel's verdict: bpftool's load when it settles it, else bpfkit's kernel load.
    const bpftoolTag = ref.tags.get(p.name);
    let kernel: Verdict = 'unknown';
    let kernelBy: ProgramResult['kernelBy'] = 'none';
    let kernelMessage: string | undefined;
    if (bpftoolTag !== undefined) {
      kernel = 'accept';
      kernelBy = 'bpftool';
    } else if (ref.refused.has(p.name)) {
      kernel = 'reject';
      kernelBy = 'bpftool';
      kernelMessage = ref.error;
    } else if (bpfkitKernel === 'accept' || bpfkitKernel === 'reject') {
      kernel = bpfkitKernel;
      kernelBy = 'bpfkit';
      kernelMessage = bpfkitKernelMessage;
    } else {
      kernelMessage = ref.error;
    }
    if (kernelBy === 'bpftool' && bpfkitKernel !== 'error' && bpfkitKernel !== kernel) {
      causes.push({ kind: 'kernel refuses', key: `bpfkit's kernel load ${bpfkitKernel}s what bpftool's load ${kernel}s`, message: bpfkitKernelMessage ?? '' });
    }
    const verdictAgrees = kernel === 'accept' || kernel === 'reject' ? verify === kernel : undefined;
    // An untyped program's verdicts differ because it has no type: its untyped-section cause says so.
    if (verdictAgrees === false && verify !== 'error' && type !== 'unspec') {
      const c = classify(new Error(verifyMessage ?? kernelMessage ?? ''));
      causes.push(
        c.kind === 'error'
          ? { kind: 'verifier disagrees', key: `bpfkit ${verify}s, kernel ${kernel}s: ${(verify === 'reject' ? verifyMessage : kernelMessage) ?? ''}`.slice(0, 160), message: verifyMessage ?? '' }
          : { ...c, key: `${c.key} (bpfkit's verifier, ${type})` },
      );
    }
    const tagAgrees = bpftoolTag !== undefined && bpfkitTag !== undefined ? bpftoolTag === bpfkitTag : undefined;
    if (tagAgrees === false) causes.push({ kind: 'tag differs', key: 'instruction stream differs from libbpf\'s', message: `bpftool ${bpftoolTag}, bpfkit ${bpfkitTag}` });

    // Test runs: the kernel first (bpfkit's load, else bpftool's pin), then each userspace engine.
    let runs = 0;
    let runsAgree = 0;
    let runsClock = 0;
    let mapChecksClock = 0;
    let runsSkipped: string | undefined;
    let firstMismatch: string | undefined;
    let mismatchKind: string | undefined;
    let mapChecks = 0;
    let mapChecksAgree = 0;
    let firstMapDifference: string | undefined;
    if (options.noTestRuns) runsSkipped = 'test runs off';
    else if (kernel !== 'accept') runsSkipped = 'the kernel does not load it';
    else if (!PACKET_TYPES.has(type) && !CONTEXT_TYPES.has(type)) runsSkipped = `no test-run inputs for ${type}`;
    else {
      const inputs = runInputs(type, options.packets);
      const pin = ref.pins.get(p.name);
      let pinned: ReturnType<typeof getPinnedObject<'prog'>> | undefined;
      const seedMaps = new Map<string, KernelMap>();
      try {
        let progFd: Parameters<typeof testRun>[0];
        if (kobj) {
          progFd = kobj.program(p.name).fd;
          for (const [name, m] of kobj.maps) seedMaps.set(name, m);
        } else {
          pinned = getPinnedObject(options.sys, pin!, 'prog');
          progFd = pinned;
          for (const [name, mp] of ref.mapPins) seedMaps.set(name, new KernelMap(openPinnedMap(options.sys, mp), name));
        }
        seedKernel(seedMaps, options.seeds);
        const timedKernel = timed(() => kernelRuns(progFd, inputs));
        const k = timedKernel.value;
        // A program that stores the time runs in userspace on the host's clocks (clock-window.ts).
        const clocked = CLOCK_HELPERS.some((h) => nondeterministicHelpers(p)?.includes(h));
        // The kernel's maps after its runs (bpfkit's own load: fresh maps for this program alone).
        const dataMaps = kobj ? comparableMaps(spec.maps).filter((m) => kobj!.maps.has(m.name)) : [];
        const kernelMaps = new Map(dataMaps.map((m) => [m.name, snapshot(kobj!.maps.get(m.name)!, m)]));
        if (k.unsupported) runsSkipped = k.unsupported;
        else {
          for (const engine of engines) {
            const r = userRuns(spec, p.name, engine, inputs, options.seeds, facts, dataMaps, clocked);
            if ('setup' in r) {
              runs += inputs.length;
              // The runtime's verifier refusing what bpfkit's verify refused is the verdict's cause, already listed.
              const sameRejection = verify === 'reject' && r.code === 'ERR_VERIFIER_REJECT';
              if (!sameRejection) causes.push({ ...r.setup, key: r.setup.kind === 'error' ? `userspace: ${r.setup.key}` : r.setup.key });
              firstMismatch ??= `${engine}: cannot set up: ${r.setup.message}`;
              continue;
            }
            // Maps after the runs: not compared when a run stopped at a call or field userspace does
            // not model (the kernel's runs went on and wrote what userspace's could not).
            const stoppedUnmodelled = r.firstError !== undefined && classify(r.firstError).kind.startsWith('missing');
            if (dataMaps.length && !stoppedUnmodelled) {
              mapChecks++;
              const diff = dataMaps.map((m) => mapDifference(m.name, kernelMaps.get(m.name)!, r.maps.get(m.name)!)).find((d) => d !== undefined);
              const tolerant = (kv: string, uv: string): boolean => hexEqualUpToClock(kv, uv, timedKernel.window, r.window);
              if (diff === undefined) mapChecksAgree++;
              else if (clocked && dataMaps.every((m) => mapDifference(m.name, kernelMaps.get(m.name)!, r.maps.get(m.name)!, tolerant) === undefined)) {
                mapChecksAgree++;
                mapChecksClock++;
              } else firstMapDifference ??= `${engine}: ${diff}`;
            }
            inputs.forEach((pkt, i) => {
              runs++;
              const want = k.outcomes[i]!;
              const got = r.outcomes[i]!;
              if (sameOutcome(want, got)) runsAgree++;
              else if (clocked && sameUpToClock(want, got, timedKernel.window, r.window)) {
                runsAgree++;
                runsClock++;
              } else {
                firstMismatch ??= `${engine} ${pkt.name}: kernel ${describe(want, got)}, bpfkit ${describe(got, want)}`;
                mismatchKind ??= mismatchOf(want, got);
                // A userspace error where the kernel ran: the error names the cause (a helper, a fault).
                if ('error' in got && !('error' in want) && r.firstError !== undefined) {
                  const c = classify(r.firstError);
                  causes.push(c.kind === 'error' ? { ...c, kind: 'test run differs', key: `userspace run error: ${c.key}` } : c);
                }
              }
            });
          }
          if (firstMapDifference !== undefined && !causes.some((c) => c.kind.startsWith('missing') || c.key.startsWith('userspace'))) {
            const clock = nondeterministicHelpers(p);
            causes.push({ kind: 'map contents differ', key: clock ? `after the runs (calls ${clock}: time/random differ by design)` : 'after the runs', message: firstMapDifference });
          }
          if (mismatchKind !== undefined && !causes.some((c) => c.key.startsWith('userspace') || c.kind.startsWith('missing') || c.kind === 'untyped section' || c.kind === 'test run differs')) {
            const clock = nondeterministicHelpers(p);
            causes.push({ kind: 'test run differs', key: clock ? `${mismatchKind ?? 'differs'} (calls ${clock}: time/random differ by design)` : (mismatchKind ?? 'differs'), message: firstMismatch ?? '' });
          }
        }
      } catch (e) {
        const c = classify(e);
        runsSkipped = `kernel test run not set up: ${c.message}`;
        causes.push({ ...c, key: `kernel test run: ${c.key}` });
      } finally {
        pinned?.close();
        if (!kobj) for (const m of seedMaps.values()) m.close();
      }
    }
    return {
      object: label,
      program: p.name,
      section: p.section,
      type,
      inspect: inspectOk,
      disasm: disasmOk,
      verify,
      ...(verifyMessage !== undefined ? { verifyMessage } : {}),
      kernel,
      kernelBy,
      ...(kernelMessage !== undefined ? { kernelMessage } : {}),
      verdictAgrees,
      ...(bpftoolTag !== undefined ? { bpftoolTag } : {}),
      ...(bpfkitTag !== undefined ? { bpfkitTag } : {}),
      tagAgrees,
      runs,
      runsAgree,
      ...(runsClock ? { runsClock } : {}),
      ...(mapChecksClock ? { mapChecksClock } : {}),
      ...(runsSkipped !== undefined ? { runsSkipped } : {}),
      ...(firstMismatch !== undefined ? { firstMismatch } : {}),
      mapChecks,
      mapChecksAgree,
      ...(firstMapDifference !== undefined ? { firstMapDifference } : {}),
      causes: dedupe(causes),
    };
  } finally {
    kobj?.close();
    rmSync(kernelPins, { recursive: true, force: true });
  }
}

let loads = 0;

function dedupe(causes: readonly Cause[]): Cause[] {
  const seen = new Set<string>();
  return causes.filter((c) => {
    const k = `${c.kind}\u0000${c.key}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** One engine's userspace runs of a program on every packet, or why it could not be set up. */
function userRuns(
  spec: ObjectSpec,
  name: string,
  engine: 'jit' | 'interpreter',
  packets: readonly RunInput[],
  seeds: MapSeeds | undefined,
  facts: Record<string, unknown>,
  dataMaps: readonly MapSpec[],
  clocked = false,
): { outcomes: Outcome[]; firstError?: unknown; maps: Map<string, Map<string, string>>; window: ClockWindow } | { setup: Cause; code: string } {
  let obj: ReturnType<typeof loadUserspace>;
  try {
    // The runtime's verify hook with what the kernel comparison needs (its BTF, refused helpers),
    // as a user of the public API passes it; versions whose loadUserspace takes kernelBtf get it too.
    const kernelBtf: Record<string, unknown> = { kernelBtf: facts['kernelBtf'] };
    const verify = (program: ProgramSpec, object: ObjectSpec): void => void assertVerified(program, object, { ...facts });
    const loadOptions: Parameters<typeof loadUserspace>[1] = { ...kernelBtf, programs: [name], engine, verify, ...(clocked ? { clock: hostClock } : {}) };
    obj = loadUserspace(spec, loadOptions);
  } catch (e) {
    return { setup: classify(e), code: errorCode(e) };
  }
  try {
    const prog = obj.programs.get(name);
    if (!prog) return { setup: classify(new Error(obj.skipped.get(name) ?? `program "${name}" not instantiated`)), code: 'ERR_NOT_INSTANTIATED' };
    for (const [map, entries] of Object.entries(seeds ?? {})) {
      const m = obj.bpfMap(map);
      for (const [key, value] of seedPairs(entries)) m.set(key, value);
    }
    let firstError: unknown;
    const lo = process.hrtime.bigint();
    const outcomes: Outcome[] = packets.map((pkt) => {
      try {
        const r = prog.testRun({ data: pkt.data, ...(pkt.ctxIn ? { ctxIn: pkt.ctxIn } : {}) });
        return { retval: r.retval, data: r.dataOut, ...(pkt.ctxIn ? { ctx: r.ctxOut } : {}) };
      } catch (e) {
        firstError ??= e;
        return { error: errorCode(e) };
      }
    });
    const maps = new Map(dataMaps.map((m) => [m.name, snapshot(obj.bpfMap(m.name), m)]));
    return { outcomes, maps, window: { lo, hi: process.hrtime.bigint() }, ...(firstError !== undefined ? { firstError } : {}) };
  } finally {
    obj[Symbol.dispose]();
  }
}

/** The path of `file` relative to `dir`, as the report and the type map name objects. */
export function objectLabel(dir: string, file: string): string {
  return path.relative(dir, file) || path.basename(file);
}
