// The verifier's public API: verify instructions or an object's program the way the kernel's bpf_check does.
import type { Btf } from '../btf/index.js';
import { applyCoreRelos } from '../btf/core-patch.js';
import type { ObjectSpec, ProgramSpec } from '../elf/object-spec.js';
import { verifierOps } from '../ctx/registry.js';
import { resolveReferences } from '../isa/encode.js';
import { isLdImm64, type Instruction, slotOffsets, type SourceLine } from '../isa/instruction.js';
import { OPCODES_BY_CODE, PseudoLd } from '../isa/opcodes.js';
import { BpfMapType, BpfProgType } from '../isa/uapi.generated.js';
import type { MapDef } from '../maps/map-ops.js';
import { checkCfg, isPseudoCall, type SlotProgram } from './cfg.js';
import { type CheckStats, doCheck } from './check.js';
import { kfuncPrecheck } from './kfunc-call.js';
import { resolveTracingTarget, tracingOps, type TracingTarget } from './btf-ctx.js';
import { type Env, type GlobalArg, type GlobalFunc, Rejected } from './env.js';
import { fastcallStackDepths } from './fastcall.js';
import { globalFunctions } from './global-args.js';
import { VerifierRejection } from './errors.js';
import { explainRejection } from './explain.js';
import { formatState, VerifierLog } from './log.js';
import type { VerifierMap } from './memory.js';
import { mapValueFields } from './map-fields.js';
import { targetRefusal, type VerifierTarget } from './target.js';
import { BTF_TRUSTED, DYNPTR_FIRST, DynptrKind, pointer, type Reg, scalarUnknown } from './reg-state.js';
import { newFrame, type VState } from './state.js';

/** The verifier's state at one instruction: frames (registers, stack slots), acquired references. */
export type VerifierState = VState;

/** Options of {@link verifyInstructions} and {@link verifyProgram}. */
export interface VerifyOptions {
  /** `enum bpf_prog_type`; default: the program spec's type (XDP for bare instructions). */
  programType?: number;
  /**
   * `enum bpf_attach_type` the program is loaded for (BPF_PROG_LOAD's expected_attach_type):
   * return-code ranges depend on it (`cgroup/recvmsg4` must return 1). Default: the program
   * spec's (from its section name); none for bare instructions.
   */
  expectedAttachType?: number;
  /**
   * Maps by the `reference` (map name) or `imm` (fd) of `ld.map_fd` / `ld.map_value`
   * instructions. {@link verifyProgram} takes them from the object by default.
   */
  maps?: ReadonlyMap<string | number, MapDef>;
  /** 0: verdict only; 1: the failing path, as the kernel logs it; 2: every instruction with the register state. */
  logLevel?: 0 | 1 | 2;
  /** Root with CAP_BPF + CAP_PERFMON (default true). false: the unprivileged rules, checked against the kernel as nobody (docs/verifier.md). */
  privileged?: boolean;
  /** Complexity limit in processed instructions (default 1,000,000, BPF_COMPLEXITY_LIMIT_INSNS). */
  maxProcessedInsns?: number;
  /** License; GPL-only helpers need a GPL-compatible one (default: the program's, or "GPL"). */
  license?: string;
  /**
   * Helpers the target kernel refuses for a program type although 6.18's source offers them:
   * builds differ (one refuses bpf_xdp_adjust_meta in XDP). The kernel backend's `probeHelper`
   * answers it for the running kernel; default: none refused.
   */
  helperRefused?: (programType: number, helperId: number) => boolean;
  /**
   * The kernel's BTF (/sys/kernel/btf/vmlinux, parsed; `vmlinuxBtf(sys)` in the kernel layer).
   * With it, kfunc prototypes are the kernel's own (a kfunc it lacks is named in the rejection),
   * raw `call kfunc` ids are named, loads through kernel struct pointers (`ct->mark`) are
   * checked against the kernel's layout, and {@link verifyProgram} applies CO-RE relocations
   * against it first, as the loader does. Without it, kfuncs use bpfkit's 6.18 table and kernel
   * struct loads are refused.
   */
  kernelBtf?: Btf;
  /**
   * Kfuncs the target kernel refuses (`NAME() is not allowed`) although 6.18's source offers
   * them: builds differ (this machine's refuses bpf_dynptr_slice_rdwr). Ask the running kernel by
   * loading a program that calls the kfunc correctly (test/verifier/kfunc-call.test.ts does);
   * default: none refused.
   */
  kfuncRefused?: (programType: number, kfunc: string) => boolean;
  /**
   * Called as each path reaches an instruction (also a path about to be pruned there), with the
   * slot index, the verifier's state (registers and stack per frame) and the registers live there
   * (bit r: read before written on some path on; a dead register's state is what pruning
   * ignores). Opt-in: the debugger records what the verifier believed at each instruction. The
   * state is live — copy what you keep.
   */
  onInsn?: (insn: number, state: VerifierState, liveRegs: number) => void;
  /** The program is device-bound (BPF_F_XDP_DEV_BOUND_ONLY or an ifindex): XDP RX metadata kfuncs need it. */
  devBound?: boolean;
  /**
   * BPF_F_STRICT_ALIGNMENT: every load and store aligned to its size (packet accesses counting
   * NET_IP_ALIGN), as on an architecture without efficient unaligned access. Default: the
   * program spec's flags ({@link verifyProgram}), else false.
   */
  strictAlignment?: boolean;
  /**
   * The kernel to verify for: `'upstream'` (default) is bpfkit's model of upstream 6.18; a
   * {@link VerifierTarget} takes away what that kernel lacks — program types, map types, helpers
   * and kfuncs per program type (`hostTarget(sys)` in the kernel layer probes the running kernel,
   * as `bpfkit verify --target host` does). Combined with {@link helperRefused} and
   * {@link kfuncRefused} when those are given too.
   */
  target?: 'upstream' | VerifierTarget;
  /**
   * BPF_F_SLEEPABLE: the program may sleep (syscall programs must). Default: the program spec's
   * flags ({@link verifyProgram}), else false.
   */
  sleepable?: boolean;
  /**
   * A tracing program's attach target (`xdp_exception` for tp_btf, the function for
   * fentry/fexit/fmod_ret, the iterator for iter); default: the section's ({@link verifyProgram}).
   * With {@link kernelBtf}, its BTF prototype types the context's u64 arguments as the kernel's
   * btf_ctx_access does; a target the BTF lacks is a rejection naming it.
   */
  attachTarget?: string;
}

/** The verdict with what veristat reports. */
export interface VerifyResult {
  /** Whether the kernel's rules accept the program. */
  verdict: 'accept' | 'reject';
  /** Instruction (slot) index of the rejection. */
  insn?: number;
  /** C source line of that instruction (BTF line info). */
  line?: { file: string; line: number; column: number; text: string };
  /** The kernel's message (the log's last line): `R1 invalid mem access 'scalar'`, `R0 !read_ok`. */
  message?: string;
  /** Plain-language explanation and fix, when one is known. */
  hint?: string;
  /** Instructions processed over all paths. */
  processedInsns: number;
  /** Most states stored at once. */
  peakStates: number;
  /** States stored in total. */
  totalStates: number;
  /** Wall time of the verification. */
  durationNs: number;
  /** The log at the requested level, ending with the kernel's statistics line. */
  log: string;
}

const BPF_MAP_TYPE_ARRAY = 2;

const GPL_COMPATIBLE = new Set(['GPL', 'GPL v2', 'GPL and additional rights', 'Dual BSD/GPL', 'Dual MIT/GPL', 'Dual MPL/GPL']);

const now = (): number => (globalThis.performance ? globalThis.performance.now() : Date.now());

/** The kernel's indexing: one entry per slot, undefined for the second half of an lddw. */
function toSlots(insns: readonly Instruction[]): Instruction[] {
  const out: Instruction[] = [];
  for (const i of insns) {
    out.push(i);
    if (isLdImm64(i)) (out as (Instruction | undefined)[]).push(undefined);
  }
  return out;
}

function sourceOf(insns: readonly Instruction[], slot: number): SourceLine | undefined {
  let s = 0;
  let last: SourceLine | undefined;
  for (const i of insns) {
    if (s > slot) break;
    if (i.source) last = i.source;
    s += isLdImm64(i) ? 2 : 1;
  }
  return last;
}

interface Prepared {
  prog: SlotProgram;
  maps: (VerifierMap | undefined)[];
}

/** resolve_pseudo_ldimm64: opcodes the kernel knows, lddw halves, map references. */
function prepare(slots: SlotProgram, maps: ReadonlyMap<string | number, MapDef> | undefined): Prepared | Rejected {
  const out: (VerifierMap | undefined)[] = [];
  for (let i = 0; i < slots.length; i++) {
    const insn = slots[i];
    if (!insn) continue;
    if (OPCODES_BY_CODE[insn.code & 0xff]!.length === 0) return new Rejected(`unknown opcode ${(insn.code & 0xff).toString(16).padStart(2, '0')}`);
    if (!isLdImm64(insn)) continue;
    if (insn.src === PseudoLd.IMM64 || insn.src === PseudoLd.FUNC || insn.src === PseudoLd.BTF_ID) continue;
    if (insn.src !== PseudoLd.MAP_FD && insn.src !== PseudoLd.MAP_VALUE && insn.src !== PseudoLd.MAP_IDX && insn.src !== PseudoLd.MAP_IDX_VALUE) return new Rejected('unrecognized bpf_ld_imm64 insn');
    if ((insn.src === PseudoLd.MAP_FD || insn.src === PseudoLd.MAP_IDX) && (insn.imm2 ?? 0) !== 0) return new Rejected('unrecognized bpf_ld_imm64 insn');
    const map = (insn.reference !== undefined ? maps?.get(insn.reference) : undefined) ?? maps?.get(insn.imm);
    if (!map) return new Rejected(`fd ${insn.imm} is not pointing to valid bpf_map`);
    if (insn.src === PseudoLd.MAP_VALUE || insn.src === PseudoLd.MAP_IDX_VALUE) {
      const off = (insn.imm2 ?? 0) >>> 0;
      // Only arrays have map_direct_value_addr, and only with one entry.
      if (map.type !== BPF_MAP_TYPE_ARRAY) return new Rejected('no direct value access support for this map type');
      if (map.maxEntries !== 1 || off >= map.valueSize) return new Rejected(`invalid access to map value pointer, value_size=${map.valueSize} off=${off}`);
    }
    out[i] = map;
  }
  return { prog: slots, maps: out };
}

interface Internal {
  funcInfo: boolean;
  license: string;
  /** Global functions by their first slot. */
  globals?: ReadonlyMap<number, GlobalFunc>;
  /** A rejection found before verification (unmodelled BTF). */
  failure?: string;
}

function run(insns0: readonly Instruction[], programType: number, options: VerifyOptions, internal: Internal): VerifyResult {
  const start = now();
  const level = options.logLevel ?? 0;
  const log = new VerifierLog(level);
  const stats: CheckStats = { processed: 0, peakStates: 0, totalStates: 0, maxStatesPerInsn: 0 };
  const privileged = options.privileged ?? true;
  let insns: readonly Instruction[] = insns0;
  let failure: { message: string; insn?: number } | undefined;
  const finish = (): VerifyResult => {
    const durationNs = Math.round((now() - start) * 1e6);
    if (failure) {
      const lines = failure.message.split('\n');
      for (const l of lines) log.print(`${l}\n`);
    }
    log.print(`processed ${stats.processed} insns (limit ${options.maxProcessedInsns ?? 1_000_000}) max_states_per_insn ${stats.maxStatesPerInsn} total_states ${stats.totalStates} peak_states ${stats.peakStates} mark_read 0\n`);
    const base = { processedInsns: stats.processed, peakStates: stats.peakStates, totalStates: stats.totalStates, durationNs, log: log.toString() };
    if (!failure) return { verdict: 'accept', ...base };
    const lines = failure.message.split('\n');
    const src = failure.insn === undefined ? undefined : sourceOf(insns, failure.insn);
    const message = lines[lines.length - 1]!;
    const detail = lines.length > 1 ? lines[lines.length - 2] : undefined;
    const line = src ? { file: src.file, line: src.line, column: src.column, text: src.text } : undefined;
    const hint = explainRejection({ message, ...(detail ? { detail } : {}), ...(failure.insn === undefined ? {} : { insn: failure.insn }), ...(line ? { line } : {}), log: base.log }, insns);
    return {
      verdict: 'reject',
      ...(failure.insn === undefined ? {} : { insn: failure.insn }),
      ...(line ? { line } : {}),
      message,
      ...(hint ? { hint } : {}),
      ...base,
    };
  };
  if (internal.failure) {
    failure = { message: internal.failure };
    return finish();
  }
  if (insns.length === 0) {
    failure = { message: 'no instructions' };
    return finish();
  }
  // bpf_check_attach_target... check_attach_btf_id: a syscall program runs from bpf(2), in a context that may sleep.
  if (programType === BpfProgType.SYSCALL && !options.sleepable) {
    failure = { message: 'Syscall programs can only be sleepable' };
    return finish();
  }
  try {
    insns = resolveReferences(insns);
  } catch (e) {
    failure = { message: e instanceof Error ? e.message : String(e) };
    return finish();
  }
  const slots = toSlots(insns);
  if (slots.length > 1_000_000) {
    failure = { message: `BPF program is too large (${slots.length} insns)` };
    return finish();
  }
  // add_subprog_and_kfunc: bpf-to-bpf calls, kfunc calls and callback addresses need CAP_BPF.
  if (!privileged && slots.some((i) => i && ((i.code === 0x85 && (i.src === 1 || i.src === 2)) || (i.code === 0x18 && i.src === 4)))) {
    failure = { message: 'loading/calling other bpf or kernel functions are allowed for CAP_BPF and CAP_SYS_ADMIN' };
    return finish();
  }
  const kfuncFailure = kfuncPrecheck(slots, { gpl: GPL_COMPATIBLE.has(internal.license), kernelBtf: options.kernelBtf, devBound: options.devBound ?? false });
  if (kfuncFailure) {
    failure = { message: kfuncFailure };
    return finish();
  }
  const cfg = checkCfg(slots, privileged);
  if ('message' in cfg) {
    failure = { message: cfg.message, ...(cfg.insn === undefined ? {} : { insn: cfg.insn }) };
    return finish();
  }
  if (!internal.funcInfo) {
    for (let k = 1; k < cfg.subprogs.length; k++) {
      const sp = cfg.subprogs[k]!;
      for (let i = sp.start; i < sp.end; i++) {
        const insn = slots[i];
        if (!insn) continue;
        if ((insn.code & 0x07) === 0 && ((insn.code & 0xe0) === 0x20 || (insn.code & 0xe0) === 0x40)) {
          failure = { message: 'LD_ABS is not allowed in subprogs without BTF' };
          return finish();
        }
        if (insn.code === 0x85 && insn.src === 0 && insn.imm === 12) {
          failure = { message: 'tail_call is not allowed in subprogs without BTF' };
          return finish();
        }
      }
    }
  }
  const prepared = prepare(slots, options.maps);
  if (prepared instanceof Rejected) {
    failure = { message: prepared.message };
    return finish();
  }
  const target = options.target === 'upstream' ? undefined : options.target;
  if (target) {
    const refused = targetRefusal(target, programType, new Set(prepared.maps.filter((m): m is VerifierMap => m !== undefined)));
    if (refused) {
      failure = { message: refused };
      return finish();
    }
  }
  // BPF_PROG_TYPE_TRACING with a target and the kernel's BTF: the target's prototype types the context.
  let tracing: { btf: Btf; target: TracingTarget } | undefined;
  if (programType === BpfProgType.TRACING && options.kernelBtf && options.attachTarget !== undefined && options.expectedAttachType !== undefined) {
    const target = resolveTracingTarget(options.kernelBtf, options.expectedAttachType, options.attachTarget);
    if (typeof target === 'string') {
      failure = { message: target };
      return finish();
    }
    tracing = { btf: options.kernelBtf, target };
  }
  let idGen = 0;
  const main = newFrame(-1, 0, 0);
  main.regs[1] = pointer('ctx');
  const env: Env = {
    prog: slots,
    cfg,
    log,
    ops: tracing ? tracingOps(tracing.btf, tracing.target) : verifierOps(programType),
    progType: programType,
    attachType: options.expectedAttachType,
    privileged,
    strictAlignment: options.strictAlignment ?? false,
    hasFuncInfo: internal.funcInfo,
    gpl: GPL_COMPATIBLE.has(internal.license),
    helperRefused: combineRefusals(options.helperRefused, target?.helperAllowed?.bind(target)),
    kernelBtf: options.kernelBtf,
    kfuncRefused: combineRefusals(options.kfuncRefused, target?.kfuncAllowed?.bind(target)),
    mapOf: (i) => prepared.maps[i],
    hasArena: prepared.maps.some((m) => m?.type === BpfMapType.ARENA),
    nextId: () => ++idGen,
    cur: { frames: [main], refs: [], insn: 0, mayGotoDepth: 0, callbackDepth: 0 },
    insnIdx: 0,
    stackDepth: cfg.subprogs.map(() => 0),
    auxPtrType: [],
    aluAux: new Map(),
    exploreAluLimits: false,
    tailCallReachable: cfg.subprogs.map(() => false),
    globalFuncs: new Map([...(internal.globals ?? [])].map(([slot, g]) => [cfg.subprogs.findIndex((sp) => sp.start === slot), g] as const).filter(([k]) => k > 0)),
    calledGlobals: new Set(),
    entryIsSubprog: false,
    pushState: () => {
      throw new Error('pushState before doCheck');
    },
    preciseDemand: 0,
    onInsn: options.onInsn,
  };
  if (level >= 1) log.print(`func#0 @0\n0:${formatState(env.cur)}\n`);
  try {
    doCheck(env, options.maxProcessedInsns ?? 1_000_000, stats);
    // do_check_subprogs: every global function a path called is verified on its own.
    const done = new Set<number>();
    for (let k = nextGlobal(env, done); k !== undefined; k = nextGlobal(env, done)) {
      done.add(k);
      const g = env.globalFuncs.get(k)!;
      const frame = newFrame(-1, 0, k);
      g.args.forEach((a, i) => {
        frame.regs[i + 1] = globalArgReg(a, () => ++idGen);
      });
      env.cur = { frames: [frame], refs: [], insn: cfg.subprogs[k]!.start, mayGotoDepth: 0, callbackDepth: 0 };
      env.entryIsSubprog = true;
      if (level >= 1) log.print(`Validating ${g.name}() func#${k}...\n${cfg.subprogs[k]!.start}:${formatState(env.cur)}\n`);
      doCheck(env, (options.maxProcessedInsns ?? 1_000_000) - stats.processed, stats, cfg.subprogs[k]!.start);
    }
    // remove_fastcall_spills_fills runs first: spill slots of inlined bpf_fastcall calls do not count.
    const depth = checkMaxStackDepth(slots, cfg.subprogs, fastcallStackDepths(slots, cfg.subprogs, env.stackDepth));
    if (depth) failure = { message: depth };
  } catch (e) {
    // Anything but a rejection is a bpfkit bug; it still ends in a (stricter) verdict, never a throw.
    failure = e instanceof Rejected ? { message: e.message, insn: env.insnIdx } : { message: `bpfkit internal error: ${e instanceof Error ? e.message : String(e)}`, insn: env.insnIdx };
  }
  return finish();
}

/** The register a global function starts with for argument `a` (do_check_common). */
function globalArgReg(a: GlobalArg, nextId: () => number): Reg {
  switch (a.kind) {
    case 'scalar':
      return scalarUnknown();
    case 'ctx':
      return pointer('ctx');
    case 'dynptr':
      // CONST_PTR_TO_DYNPTR to a local dynptr (mark_dynptr_cb_reg).
      return Object.assign(pointer('dynptr'), { dynptr: DynptrKind.LOCAL | DYNPTR_FIRST, id: nextId() });
    case 'btf_id': {
      const r = pointer('btf_id');
      r.btf = a.btf;
      r.btfFlags = BTF_TRUSTED;
      if (a.nullable) {
        r.maybeNull = true;
        r.id = nextId();
      }
      return r;
    }
    case 'mem': {
      const r = pointer('mem');
      r.memSize = a.size;
      if (a.nullable) {
        r.maybeNull = true;
        r.id = nextId();
      }
      return r;
    }
  }
}

/** A refusal callback that refuses what `refused` refuses or `allowed` does not allow (undefined when neither is given). */
function combineRefusals<K>(refused: ((type: number, what: K) => boolean) | undefined, allowed: ((type: number, what: K) => boolean) | undefined): ((type: number, what: K) => boolean) | undefined {
  if (!allowed) return refused;
  if (!refused) return (t, w) => !allowed(t, w);
  return (t, w) => refused(t, w) || !allowed(t, w);
}

function nextGlobal(env: Env, done: ReadonlySet<number>): number | undefined {
  for (const k of env.calledGlobals) if (!done.has(k)) return k;
  return undefined;
}

/** check_max_stack_depth: the combined stack of a call chain (each frame rounded up to 16) must fit 512 bytes. */
function checkMaxStackDepth(slots: SlotProgram, subprogs: readonly { start: number; end: number }[], depth: readonly number[]): string | undefined {
  // round_up_stack_depth with the JIT (this machine): 16-byte granularity, an unused frame costs 0.
  const round = (d: number): number => Math.ceil(d / 16) * 16;
  const calls: number[][] = subprogs.map((sp) => {
    const out: number[] = [];
    for (let i = sp.start; i < sp.end; i++) {
      const insn = slots[i];
      if (insn && isPseudoCall(insn)) {
        const k = subprogs.findIndex((s) => s.start === i + insn.imm + 1);
        if (k >= 0) out.push(k);
      }
    }
    return out;
  });
  let err: string | undefined;
  // The kernel walks every call chain, recursive ones too (do_check may have followed a bounded
  // recursion): a ninth frame is refused ("verifier limitation in detecting max stack depth").
  // A subprogram already walked at the same frame number with at least this stack found no
  // error below it: walking it again cannot (keeps the walk linear in wide call graphs).
  const walked = new Map<number, number>();
  const walk = (k: number, total: number, frames: number): void => {
    if (err) return;
    const key = k * 16 + frames;
    if ((walked.get(key) ?? -1) >= total) return;
    walked.set(key, total);
    const t = total + round(depth[k] ?? 0);
    if (t > 512) {
      err = `combined stack size of ${frames} calls is ${t}. Too large`;
      return;
    }
    for (const c of calls[k]!) {
      if (err) return;
      // `frames` is the new callee's 0-based frame number, as the kernel counts.
      if (frames >= 8) {
        err = `the call stack of ${frames} frames is too deep !`;
        return;
      }
      walk(c, t, frames + 1);
    }
  };
  walk(0, 0, 1);
  return err;
}

/**
 * Verifies a list of instructions (lddw counts as one; jump labels are resolved first) with the
 * kernel's rules for `options.programType` (default XDP). Never throws for a bad program: the
 * verdict says why.
 */
export function verifyInstructions(insns: readonly Instruction[], options: VerifyOptions = {}): VerifyResult {
  return run(insns, options.programType ?? BpfProgType.XDP, options, { funcInfo: false, license: options.license ?? 'GPL' });
}

/**
 * Verifies one program of an object. Maps come from `object.maps` (by name; frozen `.rodata`
 * contents are known, as libbpf freezes them before loading) unless `options.maps` is given.
 */
export function verifyProgram(program: ProgramSpec, object?: ObjectSpec, options: VerifyOptions = {}): VerifyResult {
  let maps = options.maps;
  if (!maps && object) {
    const m = new Map<string | number, MapDef>();
    for (const spec of object.maps) {
      // The value's special fields (bpf_spin_lock...), as the kernel reads them from the map's BTF.
      const fields = object.btf && spec.valueTypeId ? mapValueFields(object.btf, spec.valueTypeId) : undefined;
      const def: VerifierMap = { ...spec, ...(spec.readOnly && spec.data ? { frozenData: spec.data } : {}), ...(fields ? { fields } : {}) };
      m.set(spec.name, def);
    }
    maps = m;
  }
  const type = options.programType ?? program.type;
  let globals: ReadonlyMap<number, GlobalFunc> | Rejected;
  try {
    const attach = options.expectedAttachType ?? (type === program.type ? program.expectedAttachType : undefined);
    globals = globalFunctions(program, object, type, attach, options.kernelBtf, slotOffsets(program.instructions));
  } catch (e) {
    globals = new Rejected(`bpfkit: BTF of the global functions: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (globals instanceof Rejected) {
    return run([], type, options, { funcInfo: true, license: 'GPL', failure: globals.message });
  }
  let instructions = program.instructions;
  if (options.kernelBtf && object?.btf && program.coreRelos.length > 0) {
    // The loader applies CO-RE against the kernel's BTF before BPF_PROG_LOAD: verify what it loads.
    try {
      instructions = applyCoreRelos(object.btf, options.kernelBtf, instructions, program.coreRelos).instructions;
    } catch (e) {
      return run([], type, options, { funcInfo: true, license: 'GPL', failure: `bpfkit: CO-RE relocation: ${e instanceof Error ? e.message : String(e)}` });
    }
  }
  const returnFailure = subprogReturnFailure(program, object);
  if (returnFailure) return run([], type, options, { funcInfo: true, license: 'GPL', failure: returnFailure });
  // The section's attach type (cgroup/recvmsg4), unless the caller retyped the program.
  const attachType = options.expectedAttachType ?? (type === program.type ? program.expectedAttachType : undefined);
  const strictAlignment = options.strictAlignment ?? (program.flags & BPF_F_STRICT_ALIGNMENT) !== 0;
  const sleepable = options.sleepable ?? (program.flags & BPF_F_SLEEPABLE) !== 0;
  const attachTarget = options.attachTarget ?? (type === program.type ? program.attachTo : undefined);
  return run(instructions, type, { ...options, strictAlignment, sleepable, ...(attachTarget === undefined ? {} : { attachTarget }), ...(maps ? { maps } : {}), ...(attachType === undefined ? {} : { expectedAttachType: attachType }) }, {
    funcInfo: program.funcInfo.length > 0,
    license: options.license ?? (program.license || object?.license || 'GPL'),
    globals,
  });
}

const BPF_F_STRICT_ALIGNMENT = 1;
const BPF_F_SLEEPABLE = 16;

/**
 * check_btf_func: a subprogram using LD_ABS/LD_IND or a tail call must return an integer in its
 * BTF prototype (their hidden exits return 0 from it).
 */
function subprogReturnFailure(program: ProgramSpec, object: ObjectSpec | undefined): string | undefined {
  const btf = object?.btf;
  if (!btf || program.funcInfo.length < 2) return undefined;
  const slotOf = slotOffsets(program.instructions);
  const slots = toSlots(program.instructions);
  const starts = program.funcInfo.map((fi) => slotOf[fi.insn] ?? slots.length);
  for (let k = 1; k < program.funcInfo.length; k++) {
    let t;
    try {
      const fn = btf.typeById(program.funcInfo[k]!.typeId);
      const proto = fn.kind === 'func' ? btf.typeById(fn.type) : undefined;
      if (!proto || proto.kind !== 'func_proto') continue;
      t = btf.skipTypedefs(proto.returnType);
    } catch {
      continue;
    }
    if ((t.kind === 'int' && t.size <= 8) || t.kind === 'enum' || t.kind === 'enum64') continue;
    let ldAbs = false;
    let tailCall = false;
    for (let i = starts[k]!; i < (starts[k + 1] ?? slots.length); i++) {
      const insn = slots[i];
      if (!insn) continue;
      if ((insn.code & 0x07) === 0 && ((insn.code & 0xe0) === 0x20 || (insn.code & 0xe0) === 0x40)) ldAbs = true;
      if (insn.code === 0x85 && insn.src === 0 && insn.imm === 12) tailCall = true;
    }
    if (ldAbs) return "LD_ABS is only allowed in functions that return 'int'.";
    if (tailCall) return "tail_call is only allowed in functions that return 'int'.";
  }
  return undefined;
}

/** Like {@link verifyProgram}, but throws a {@link VerifierRejection} when the program is rejected. */
export function assertVerified(program: ProgramSpec, object?: ObjectSpec, options: VerifyOptions = {}): VerifyResult {
  const r = verifyProgram(program, object, options);
  if (r.verdict === 'reject') {
    throw new VerifierRejection({
      ...(r.insn === undefined ? {} : { insn: r.insn }),
      ...(r.line ? { line: r.line } : {}),
      message: r.message ?? 'rejected',
      ...(r.hint ? { hint: r.hint } : {}),
      log: r.log,
    });
  }
  return r;
}

export { VerifierRejection };
