// Global functions' arguments from their BTF prototype and `arg:` decl tags: the kernel's btf_prepare_func_args, btf_is_prog_ctx_type and btf_validate_prog_ctx_type.
//
// A global function is verified once on its own, so each argument's register type comes from
// its declaration: an int is a scalar; a pointer is the program's context (declared as the
// type's context struct, or tagged `__arg_ctx`), a dynptr (`struct bpf_dynptr *`), a trusted
// kernel object (`__arg_trusted`, possibly `__arg_nullable`), or else memory of the pointee's
// size that may be NULL unless tagged `__arg_nonnull`.
import type { Btf, BtfType } from '../btf/index.js';
import { essentialName, typesByEssentialName } from '../btf/core-candidates.js';
import type { ObjectSpec, ProgramSpec } from '../elf/object-spec.js';
import { BpfAttachType as A, BpfProgType as T } from '../isa/uapi.generated.js';
import { processDynptrArg } from './dynptr-arg.js';
import { type Env, type GlobalArg, type GlobalFunc, Rejected, reject } from './env.js';
import { checkHelperMemAccess, checkPtrOffReg } from './memory.js';
import { cloneReg, regTypeStr } from './reg-state.js';
import { curFrame } from './state.js';

/**
 * The context struct each program type's programs see (include/linux/bpf_types.h), by the name
 * btf_is_prog_ctx_type compares; kprobe's is the typedef bpf_user_pt_regs_t (struct pt_regs on
 * x86-64). Types absent here (tracing, lsm, struct_ops, ext, syscall, tracepoint, lirc) have no
 * named context struct: only `__arg_ctx` makes a context argument.
 */
const CTX_STRUCT: Readonly<Record<number, string>> = {
  [T.SOCKET_FILTER]: '__sk_buff',
  [T.SCHED_CLS]: '__sk_buff',
  [T.SCHED_ACT]: '__sk_buff',
  [T.XDP]: 'xdp_md',
  [T.CGROUP_SKB]: '__sk_buff',
  [T.CGROUP_SOCK]: 'bpf_sock',
  [T.CGROUP_SOCK_ADDR]: 'bpf_sock_addr',
  [T.LWT_IN]: '__sk_buff',
  [T.LWT_OUT]: '__sk_buff',
  [T.LWT_XMIT]: '__sk_buff',
  [T.LWT_SEG6LOCAL]: '__sk_buff',
  [T.SOCK_OPS]: 'bpf_sock_ops',
  [T.SK_SKB]: '__sk_buff',
  [T.SK_MSG]: 'sk_msg_md',
  [T.FLOW_DISSECTOR]: '__sk_buff',
  [T.KPROBE]: 'pt_regs',
  [T.PERF_EVENT]: 'bpf_perf_event_data',
  [T.RAW_TRACEPOINT]: 'bpf_raw_tracepoint_args',
  [T.RAW_TRACEPOINT_WRITABLE]: 'bpf_raw_tracepoint_args',
  [T.CGROUP_DEVICE]: 'bpf_cgroup_dev_ctx',
  [T.CGROUP_SYSCTL]: 'bpf_sysctl',
  [T.CGROUP_SOCKOPT]: 'bpf_sockopt',
  [T.SK_REUSEPORT]: 'sk_reuseport_md',
  [T.SK_LOOKUP]: 'bpf_sk_lookup',
  [T.NETFILTER]: 'bpf_nf_ctx',
};

/** btf_is_projection_of: the uapi context and the kernel struct it projects. */
const PROJECTIONS: Readonly<Record<string, string>> = { __sk_buff: 'sk_buff', xdp_md: 'xdp_buff' };

const isModifier = (t: BtfType): boolean => t.kind === 'typedef' || t.kind === 'const' || t.kind === 'volatile' || t.kind === 'restrict' || t.kind === 'type_tag';

/** Skips modifiers (typedefs too unless `keepTypedef`) from type `id`. */
function skipModifiers(btf: Btf, id: number, keepTypedef = false): BtfType {
  let t = btf.typeById(id);
  while (isModifier(t) && !(keepTypedef && t.kind === 'typedef')) t = btf.typeById((t as { type: number }).type);
  return t;
}

/** btf_type_str: the kind as the kernel's log spells it (`STRUCT`, `FWD`; void is `UNKNOWN`). */
const kindStr = (t: BtfType): string => (t.kind === 'void' ? 'UNKNOWN' : t.kind.toUpperCase());

const isStruct = (t: BtfType): boolean => t.kind === 'struct' || t.kind === 'union';
const isU64 = (t: BtfType): boolean => t.kind === 'int' && t.size === 8;

/** btf_is_prog_ctx_type: a pointer (`ptr`'s pointee) to the program type's context struct, by name. */
function isProgCtxType(btf: Btf, ptr: BtfType & { type: number }, progType: number): boolean {
  if (progType === T.KPROBE) {
    const td = skipModifiers(btf, ptr.type, true);
    if (td.kind === 'typedef' && td.name === 'bpf_user_pt_regs_t') return true;
  }
  const t = skipModifiers(btf, ptr.type);
  if (t.kind !== 'struct') return false;
  const ctx = CTX_STRUCT[progType];
  return ctx !== undefined && (t.name === ctx || PROJECTIONS[ctx] === t.name);
}

/** btf_validate_prog_ctx_type: what an `__arg_ctx` pointer may point to; the kernel's complaint, or undefined. */
function validateCtxArg(btf: Btf, ptr: BtfType & { type: number }, arg: number, progType: number, attachType: number | undefined): string | undefined {
  if (progType === T.KPROBE || progType === T.PERF_EVENT) {
    const td = skipModifiers(btf, ptr.type, true);
    if (td.kind === 'typedef' && td.name === 'bpf_user_pt_regs_t') return undefined;
  }
  const t = skipModifiers(btf, ptr.type);
  if (t.kind === 'void') return undefined;
  if (!t.name) return `arg#${arg} type doesn't have a name`;
  switch (progType) {
    case T.KPROBE:
    case T.PERF_EVENT:
      // x86-64: bpf_user_pt_regs_t is struct pt_regs.
      if (isStruct(t) && t.name === 'pt_regs') return undefined;
      break;
    case T.RAW_TRACEPOINT:
    case T.RAW_TRACEPOINT_WRITABLE:
    case T.LSM:
    case T.STRUCT_OPS:
      if (isU64(t)) return undefined;
      break;
    case T.TRACING:
      if (attachType === A.TRACE_RAW_TP && ((isStruct(t) && t.name === 'bpf_raw_tracepoint_args') || isU64(t))) return undefined;
      if (attachType === A.TRACE_ITER && isStruct(t) && t.name.startsWith('bpf_iter__')) return undefined;
      if ((attachType === A.TRACE_FENTRY || attachType === A.TRACE_FEXIT || attachType === A.MODIFY_RETURN) && isU64(t)) return undefined;
      break;
    case T.TRACEPOINT:
    case T.SYSCALL:
    case T.EXT:
      return undefined;
    default:
      break;
  }
  const ctx = progType === T.KPROBE ? 'pt_regs' : CTX_STRUCT[progType];
  if (ctx === undefined) return `arg#${arg} should be void pointer`;
  if (!isStruct(t) || t.name !== ctx) return `arg#${arg} should be \`struct ${ctx} *\``;
  return undefined;
}

/** `arg:` decl tags on parameter `i` of function type `fnId`, without the prefix. */
function argTags(btf: Btf, fnId: number, i: number): string[] {
  return btf.types.filter((t) => t.kind === 'decl_tag' && t.type === fnId && t.componentIdx === i && t.name.startsWith('arg:')).map((t) => t.name.slice(4));
}

const KNOWN_TAGS: ReadonlySet<string> = new Set(['ctx', 'trusted', 'nonnull', 'nullable', 'arena']);

/** The result of preparing one parameter: its argument, or the kernel's complaint. */
type Prepared = GlobalArg | { readonly invalid: string } | Rejected;

function prepareArg(btf: Btf, kernelBtf: Btf | undefined, fn: BtfType & { id: number; name: string }, p: { name: string; type: number }, i: number, progType: number, attachType: number | undefined): Prepared {
  const tags = argTags(btf, fn.id, i);
  const unknown = tags.find((t) => !KNOWN_TAGS.has(t));
  if (unknown !== undefined) return { invalid: `arg#${i} has unsupported set of tags` };
  const has = (t: string): boolean => tags.includes(t);
  const t = skipModifiers(btf, p.type);
  if (t.kind === 'ptr') {
    if (has('ctx') || isProgCtxType(btf, t, progType)) {
      if (tags.some((x) => x !== 'ctx')) return { invalid: `arg#${i} has invalid combination of tags` };
      const bad = has('ctx') ? validateCtxArg(btf, t, i, progType, attachType) : undefined;
      return bad ? { invalid: bad } : { kind: 'ctx' };
    }
    const pointee = skipModifiers(btf, t.type);
    if ((pointee.kind === 'struct' || (pointee.kind === 'fwd' && pointee.fwdKind === 'struct')) && pointee.name === 'bpf_dynptr') {
      return tags.length ? { invalid: `arg#${i} has invalid combination of tags` } : { kind: 'dynptr' };
    }
    if (has('trusted')) {
      if (has('nonnull')) return { invalid: `arg#${i} has invalid combination of tags` };
      // btf_get_ptr_to_btf_id: the kernel type of the same essential name (task_struct___local -> task_struct), exactly one.
      const local = skipModifiers(btf, t.type);
      if (kernelBtf) {
        const cands = typesByEssentialName(kernelBtf, essentialName(local.name ?? '')).filter((c) => c.kind === local.kind);
        if (cands.length !== 1) return { invalid: `arg#${i} reference type('${kindStr(local)} ${local.name ?? ''}') ${cands.length === 0 ? 'has no matches' : 'is ambiguous'}` };
      }
      return { kind: 'btf_id', btf: essentialName(local.name ?? ''), nullable: has('nullable') };
    }
    if (has('arena')) return new Rejected(`bpfkit: arena argument ${p.name} of global function ${fn.name}() is not modelled`);
    if (has('nullable')) return { invalid: `arg#${i} has invalid combination of tags` };
    let size: number;
    try {
      size = pointee.kind === 'void' ? 0 : btf.resolveSize(pointee.id);
    } catch {
      size = 0;
    }
    if (!size && pointee.kind !== 'void') return { invalid: `arg#${i} reference type('${kindStr(pointee)} ${pointee.name ?? ''}') size cannot be determined: -22` };
    if (!size) return { invalid: `arg#${i} reference type('UNKNOWN ') size cannot be determined: -22` };
    return { kind: 'mem', size, nullable: !has('nonnull') };
  }
  if (tags.length) return { invalid: `arg#${i} has pointer tag, but is not a pointer type` };
  if (t.kind === 'int' || t.kind === 'enum' || t.kind === 'enum64') return { kind: 'scalar' };
  return { invalid: `Arg#${i} type ${t.kind} in ${fn.name}() is not supported yet.` };
}

/**
 * The global functions of a program by their first instruction's slot (btf_prepare_func_args):
 * each argument's kind, or the kernel's complaint about the prototype (reported at a call).
 * `slotOf` maps instruction indexes to slots. A Rejected result is a prototype bpfkit does not model.
 */
export function globalFunctions(program: ProgramSpec, object: ObjectSpec | undefined, progType: number, attachType: number | undefined, kernelBtf: Btf | undefined, slotOf: ArrayLike<number>): ReadonlyMap<number, GlobalFunc> | Rejected {
  const out = new Map<number, GlobalFunc>();
  const btf = object?.btf;
  if (!btf) return out;
  for (const fi of program.funcInfo) {
    if (fi.insn === 0) continue;
    const fn = btf.typeById(fi.typeId);
    if (fn.kind !== 'func' || fn.linkage !== 'global') continue;
    const proto = btf.typeById(fn.type);
    if (proto.kind !== 'func_proto') continue;
    const args: GlobalArg[] = [];
    let invalid: string | undefined;
    for (const [i, p] of proto.params.entries()) {
      const a = prepareArg(btf, kernelBtf, fn, p, i, progType, attachType);
      if (a instanceof Rejected) return a;
      if ('invalid' in a) {
        invalid = a.invalid;
        break;
      }
      args.push(a);
    }
    out.set(slotOf[fi.insn]!, { name: fn.name, args, ...(invalid === undefined ? {} : { invalid }) });
  }
  return out;
}

const isNullScalar = (r: { type: string; var: { mask: bigint; value: bigint } }): boolean => r.type === 'scalar' && r.var.mask === 0n && r.var.value === 0n;

/**
 * btf_check_func_arg_match at a call of global function `g` (subprogram `subprog`): each
 * register against its argument. A mismatch is refused as the kernel does, with the reason
 * before "Caller passes invalid args into func#N ('name')".
 */
export function checkGlobalCallArgs(env: Env, subprog: number, g: GlobalFunc): void {
  try {
    if (g.invalid) reject(g.invalid);
    const regs = curFrame(env.cur).regs;
    g.args.forEach((a, i) => {
      const regno = i + 1;
      const r = regs[regno]!;
      switch (a.kind) {
        case 'scalar':
          if (r.type !== 'scalar') reject(`R${regno} is not a scalar`);
          break;
        case 'ctx':
          if (r.type === 'ctx') checkPtrOffReg(r, regno, false);
          else reject(`arg#${i} expects pointer to ctx`);
          break;
        case 'mem': {
          // check_mem_reg: NULL passes; a maybe-NULL pointer is checked as if it were not NULL.
          if (isNullScalar(r)) break;
          const notNull = cloneReg(r);
          notNull.maybeNull = false;
          regs[regno] = notNull;
          try {
            checkHelperMemAccess(env, regno, a.size, false, true, false);
          } finally {
            regs[regno] = r;
          }
          if (!a.nullable && r.maybeNull) reject(`arg#${i} is expected to be non-NULL`);
          break;
        }
        case 'dynptr':
          processDynptrArg(env, regno, { uninit: false, rdonly: true, kind: 0 });
          break;
        case 'btf_id':
          if (a.nullable && isNullScalar(r)) break;
          if (r.type !== 'btf_id' || (r.maybeNull && !a.nullable)) reject(`R${regno} type=${regTypeStr(r)} expected=ptr_, trusted_ptr_, rcu_ptr_`);
          if (r.btf !== a.btf) reject(`R${regno} is of type ${r.btf ?? ''} but ${a.btf} is expected`);
          break;
      }
    });
  } catch (e) {
    // The reason, then the kernel's last line (the result's message; the reason is its detail).
    if (e instanceof Rejected) throw new Rejected(`${e.message}\nCaller passes invalid args into func#${subprog} ('${g.name}')`);
    throw e;
  }
}
