// The verification environment shared by the checks: program, log, id generator, current state, and how a check rejects.
import type { Btf } from '../btf/index.js';
import type { MapDef } from '../maps/map-ops.js';
import type { ProgramTypeOps } from '../ctx/program-type-ops.js';
import type { CfgInfo, SlotProgram } from './cfg.js';
import type { VerifierLog } from './log.js';
import type { AluAux } from './sanitize.js';
import type { VState } from './state.js';
import type { WidenKeep } from './iter.js';

/** Thrown inside the checks to stop verification with the kernel's message; never escapes verify(). */
export class Rejected {
  constructor(
    /** The kernel's message (no trailing newline). */
    readonly message: string,
    /** Extra lines printed before the message. */
    readonly detail?: string,
  ) {}
}

/** Rejects: throws {@link Rejected}. */
export function reject(message: string): never {
  throw new Rejected(message);
}

/**
 * A global function's argument, from its BTF prototype and `arg:` tags (btf_prepare_func_args):
 * a scalar, the context, memory of `size` bytes (NULL allowed unless `__arg_nonnull`), a dynptr
 * (CONST_PTR_TO_DYNPTR inside), or a trusted kernel object `btf` (`__arg_trusted`, NULL allowed
 * with `__arg_nullable`).
 */
export type GlobalArg =
  | { readonly kind: 'scalar' }
  | { readonly kind: 'ctx' }
  | { readonly kind: 'mem'; readonly size: number; readonly nullable: boolean }
  | { readonly kind: 'dynptr' }
  | { readonly kind: 'btf_id'; readonly btf: string; readonly nullable: boolean };

/** A global (BTF_FUNC_GLOBAL) subprogram: verified once on its own, assumed valid at calls. */
export interface GlobalFunc {
  /** Its name, for the log. */
  readonly name: string;
  /** R1.. as the prototype declares them. */
  readonly args: readonly GlobalArg[];
  /** The kernel's complaint about the prototype (`arg#0 has invalid combination of tags`): a call is refused with it. */
  readonly invalid?: string;
}

/** Everything the checks share. */
export interface Env {
  /** Slot-indexed program. */
  readonly prog: SlotProgram;
  /** Control-flow facts. */
  readonly cfg: CfgInfo;
  /** The log. */
  readonly log: VerifierLog;
  /** Program type ops, when bpfkit models the type. */
  readonly ops: ProgramTypeOps | undefined;
  /** enum bpf_prog_type. */
  readonly progType: number;
  /** enum bpf_attach_type the program is loaded for (expected_attach_type), when given. */
  readonly attachType: number | undefined;
  /** Root with CAP_BPF + CAP_PERFMON (allow_ptr_leaks, allow_uninit_stack, bpf_capable). */
  readonly privileged: boolean;
  /** Whether the program came with BTF func info (needed for callbacks, LD_ABS and tail calls in subprograms). */
  readonly hasFuncInfo: boolean;
  /** BPF_F_STRICT_ALIGNMENT: every access aligned to its size (env->strict_alignment). */
  readonly strictAlignment: boolean;
  /** Whether the program's license is GPL-compatible. */
  readonly gpl: boolean;
  /** The kernel's BTF (kfunc prototypes, kernel struct layouts), when the caller has it. */
  readonly kernelBtf: Btf | undefined;
  /** Kfuncs the target kernel's build refuses although their set is registered (VerifyOptions.kfuncRefused). */
  readonly kfuncRefused?: ((programType: number, kfunc: string) => boolean) | undefined;
  /** Helpers the target kernel's build refuses for this type although the kernel's source offers them (VerifyOptions.helperRefused). */
  readonly helperRefused: ((programType: number, helperId: number) => boolean) | undefined;
  /** Resolves the map an lddw refers to. */
  mapOf(insnIndex: number): MapDef | undefined;
  /** Whether an lddw of the program names an arena map (prog->aux->arena). */
  readonly hasArena: boolean;
  /** Next id (env->id_gen). */
  nextId(): number;
  /** The state being verified. */
  cur: VState;
  /** Current instruction index. */
  insnIdx: number;
  /** Per subprogram: deepest stack byte used. */
  readonly stackDepth: number[];
  /** Per instruction: the pointer type a load/store used first (save_aux_ptr_type). */
  readonly auxPtrType: (string | undefined)[];
  /** Per instruction: the Spectre v1 masking state of unprivileged add/sub (alu_state, alu_limit). */
  readonly aluAux: Map<number, AluAux>;
  /** env->explore_alu_limits: a variable pointer offset was sanitized, so pruning compares scalars exactly. */
  exploreAluLimits: boolean;
  /** Per subprogram: whether it calls bpf_tail_call. */
  readonly tailCallReachable: boolean[];
  /** Global functions by subprogram index. */
  readonly globalFuncs: ReadonlyMap<number, GlobalFunc>;
  /** Global functions a verified path called (do_check_subprogs verifies those). */
  readonly calledGlobals: Set<number>;
  /** Whether the path being verified started at a global subprogram (its exit rules differ). */
  entryIsSubprog: boolean;
  /** Queues another path to explore (push_stack), starting at `insn`. */
  pushState(state: VState, insn: number): void;
  /** Called with the state before each instruction verified on any path (VerifyOptions.onInsn). */
  readonly onInsn?: ((insn: number, state: VState, liveRegs: number) => void) | undefined;
  /** At an iterator `_next` call: the state of the previous visit of that call on this path (find_prev_entry), for widening. */
  loopEntry?: VState | undefined;
  /** What widening at {@link loopEntry} keeps (the scalars precise there). */
  loopKeep?: WidenKeep | undefined;
  /** Registers whose scalar value the current instruction's outcome depended on (set by the checks, consumed by the main loop). */
  preciseDemand: number;
  /** Stack slots (bit spi) of the innermost frame whose spilled scalar the current instruction relied on (a constant map key). */
  preciseDemandStack?: bigint;
}
