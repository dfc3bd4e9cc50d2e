// Kfunc calls: the kernel's check_kfunc_call — arguments typed from the kfunc's BTF prototype (scalars, ctx, memory and
// size pairs, PTR_TO_BTF_ID with trust and reference rules, dynptrs on the stack), acquire/release, KF_RET_NULL, RCU.
import { programTypeName } from '../isa/program-types.js';
import { type Env, Rejected, reject } from './env.js';
import { type KfuncParamType, kfuncNameById, KfuncNotInKernelError, type ResolvedKfunc, resolveKfunc } from './kfunc-resolve.js';
import { releaseReference } from './helper-call.js';
import { checkHelperMemAccess, checkPtrOffReg, pktWritable } from './memory.js';
import { processDynptrArg } from './dynptr-arg.js';
import { type IterArg, processIterArg, processIterNextCall } from './iter.js';
import { KFUNC_FIRST_MEMBER, kfuncProto } from '../isa/kfunc-protos.js';
import { BTF_RCU, BTF_TRUSTED, BTF_UNTRUSTED, copyReg, DynptrKind, isNullScalar, markNotInit, markUnknown, pointer, type Reg, regTypeStr } from './reg-state.js';
import { curFrame, forEachReg } from './state.js';
import { tnumIsConst } from './tnum.js';
import type { Instruction } from '../isa/instruction.js';

const BPF_MAX_VAR_SIZ = 1n << 29n;

interface Meta {
  readonly name: string;
  readonly k: ResolvedKfunc;
  refObjId: number;
  releaseRegno: number;
  constFound: boolean;
  constValue: bigint;
  /** The initialised dynptr argument: its id and kind. */
  dynptrId: number;
  dynptrKind: number;
  /** bpf_cast_to_kern_ctx: the kernel context struct. */
  kernCtx: string;
  /** The iterator of a KF_ITER_NEXT / KF_ITER_DESTROY call. */
  iter: IterArg | undefined;
}

const has = (k: ResolvedKfunc, f: string): boolean => (k.proto.flags as readonly string[]).includes(f);
const isRelease = (k: ResolvedKfunc): boolean => has(k, 'KF_RELEASE');
/** The KF_ITER_* kind of a kfunc, if it is an iterator method. */
function iterKind(k: ResolvedKfunc): 'new' | 'next' | 'destroy' | undefined {
  if (has(k, 'KF_ITER_NEW')) return 'new';
  if (has(k, 'KF_ITER_NEXT')) return 'next';
  if (has(k, 'KF_ITER_DESTROY')) return 'destroy';
  return undefined;
}
/**
 * is_kfunc_trusted_args. In 6.18 every kfunc's pointer arguments are trusted (checked against
 * the kernel: a NULL opts to bpf_xdp_ct_lookup is "Possibly NULL pointer passed to trusted
 * arg3"); KF_TRUSTED_ARGS in the table documents the source's flags.
 */
const trustedArgs = (_k: ResolvedKfunc): boolean => true;

/** The context structs of a program type (uapi and kernel; btf_is_prog_ctx_type with bpf_ctx_convert). */
function ctxStructs(progType: number): readonly string[] {
  switch (progType) {
    case 6:
      return ['xdp_md', 'xdp_buff'];
    case 1: case 3: case 4: case 8: case 10: case 11: case 12: case 14: case 18:
      return ['__sk_buff', 'sk_buff'];
    default:
      return [];
  }
}

/** get_kern_ctx_btf_id: the kernel struct bpf_cast_to_kern_ctx returns. */
function kernCtxStruct(progType: number): string | undefined {
  if (progType === 6) return 'xdp_buff';
  if ([1, 3, 4, 8, 10, 11, 12, 14, 18].includes(progType)) return 'sk_buff';
  return undefined;
}

/** The register's struct for PTR_TO_BTF_ID matching (reg2btf_ids for sockets). */
function regStruct(r: Reg): string | undefined {
  switch (r.type) {
    case 'btf_id': return r.btf;
    case 'sock': return 'sock';
    case 'sock_common': return 'sock_common';
    case 'tcp_sock': return 'tcp_sock';
    default: return undefined;
  }
}

/** is_rcu_reg: a MEM_RCU pointer (KF_RCU kfuncs accept it). */
const isRcuReg = (r: Reg): boolean => r.type === 'btf_id' && (r.btfFlags & BTF_RCU) !== 0;

/** is_trusted_reg. */
function isTrustedReg(r: Reg): boolean {
  if (r.refObjId) return true;
  if (r.type === 'btf_id') return (r.btfFlags & BTF_TRUSTED) !== 0 && (r.btfFlags & BTF_UNTRUSTED) === 0;
  return r.type === 'sock' || r.type === 'sock_common' || r.type === 'tcp_sock';
}

/**
 * btf_struct_ids_match: `have` is `want`, or (unless strict) its first member at offset 0 is,
 * recursively — `struct nf_conn___init` begins with a `struct nf_conn`.
 */
export function structsMatch(env: Pick<Env, 'kernelBtf'>, have: string, want: string, strict: boolean): boolean {
  if (have === want) return true;
  if (strict) return false;
  const btf = env.kernelBtf;
  if (!btf) {
    for (let cur: string | undefined = have, depth = 0; cur !== undefined && depth < 8; cur = KFUNC_FIRST_MEMBER[cur], depth++) if (cur === want) return true;
    return have === `${want}___init`;
  }
  let cur = have;
  for (let depth = 0; depth < 8; depth++) {
    const t = btf.typesByName(cur).find((x) => x.kind === 'struct');
    if (!t || t.kind !== 'struct' || t.members.length === 0) return false;
    const m = t.members[0]!;
    if (m.bitOffset !== 0) return false;
    let mt = btf.typeById(m.type);
    while (mt.kind === 'typedef' || mt.kind === 'const' || mt.kind === 'volatile') mt = btf.typeById(mt.type);
    if (mt.kind !== 'struct') return false;
    if (mt.name === want) return true;
    cur = mt.name;
  }
  return false;
}

/** check_mem_size_reg for a kfunc size argument (read, then write, zero allowed). */
function checkKfuncMemSize(env: Env, size: Reg, regno: number, i: number): void {
  // check_mem_size_reg relies on the size's bounds: precise.
  env.preciseDemand |= 1 << regno;
  try {
    const mem = curFrame(env.cur).regs[regno - 1]!;
    const wasNull = mem.maybeNull;
    mem.maybeNull = false;
    try {
      if (size.smin < 0n) reject(`R${regno} min value is negative, either use unsigned or 'var &= const'`);
      if (size.umax >= BPF_MAX_VAR_SIZ) reject(`R${regno} unbounded memory access, use 'var &= const' or 'if (var < const)'`);
      checkHelperMemAccess(env, regno - 1, Number(size.umax), false, true, false);
      checkHelperMemAccess(env, regno - 1, Number(size.umax), true, true, false);
    } finally {
      mem.maybeNull = wasNull;
    }
  } catch (e) {
    if (e instanceof Rejected) throw new Rejected(`${e.message}\narg#${i} arg#${i + 1} memory, len pair leads to invalid memory access`);
    throw e;
  }
}

function processDynptr(env: Env, regno: number, uninit: boolean, kind: number, meta: Meta): void {
  const d = processDynptrArg(env, regno, { uninit, rdonly: true, kind });
  meta.dynptrId = d.id;
  meta.dynptrKind = d.kind;
}

function checkArgs(env: Env, meta: Meta): void {
  const { k, name } = meta;
  const regs = curFrame(env.cur).regs;
  const params = k.params;
  if (params.length > 5) reject(`Function ${name} has ${params.length} > 5 args`);
  for (let i = 0; i < params.length; i++) {
    const regno = i + 1;
    const reg = regs[regno]!;
    const a = params[i]!;
    if (a.kind === 'scalar') {
      if (reg.type !== 'scalar') reject(`R${regno} is not a scalar`);
      if (a.name.endsWith('__k')) {
        if (!tnumIsConst(reg.var)) reject(`R${regno} must be a known constant`);
        env.preciseDemand |= 1 << regno;
        meta.constFound = true;
        meta.constValue = reg.var.value;
      }
      continue;
    }
    // No read_ok check: an uninitialised register fails the argument's own check, as in the kernel.
    if (a.name.endsWith('__ign')) continue;
    const nullable = a.name.endsWith('__nullable') || a.name.endsWith('__opt');
    if (trustedArgs(k) && (isNullScalar(reg) || reg.maybeNull) && !nullable) reject(`Possibly NULL pointer passed to trusted arg${i}`);
    if (reg.refObjId) {
      if (isRelease(k) && meta.refObjId) reject(`verifier internal error: more than one arg with ref_obj_id R${regno} ${reg.refObjId} ${meta.refObjId}`);
      meta.refObjId = reg.refObjId;
      if (isRelease(k)) meta.releaseRegno = regno;
    }
    const kind = argKind(env, meta, a, params, i, reg);
    if (kind === 'null') continue;
    if (kind === 'btf_id' && trustedArgs(k) && !isTrustedReg(reg)) {
      if (!has(k, 'KF_RCU')) reject(`R${regno} must be referenced or trusted`);
      if (!isRcuReg(reg)) reject(`R${regno} must be a rcu pointer`);
    }
    if (kind === 'iter') {
      const it = iterKind(k)!;
      const size = a.pointee!.size ?? 0;
      meta.iter = processIterArg(env, regno, a.pointee!.name, size, it);
      if (meta.iter && it === 'next') meta.refObjId = meta.iter.refObjId;
      continue;
    }
    // check_func_arg_reg_off
    if (isRelease(k) && reg.refObjId) {
      if (reg.off) reject(`R${regno} must have zero offset when passed to release func or trusted arg to kfunc`);
      checkPtrOffReg(reg, regno, false);
    } else if (!['stack', 'pkt', 'pkt_meta', 'map_key', 'map_value', 'mem', 'scalar'].includes(reg.type)) {
      checkPtrOffReg(reg, regno, reg.type === 'btf_id' && (reg.btfFlags & BTF_UNTRUSTED) === 0);
    }
    switch (kind) {
      case 'ctx':
        if (reg.type !== 'ctx') reject(`arg#${i} expected pointer to ctx, but got ${regTypeStr(reg)}`);
        if (name === 'bpf_cast_to_kern_ctx') {
          const s = kernCtxStruct(env.progType);
          if (!s) reject(`bpfkit: bpf_cast_to_kern_ctx for program type ${programTypeName(env.progType)} is not modelled`);
          meta.kernCtx = s;
        }
        break;
      case 'dynptr': {
        const uninit = a.name.endsWith('__uninit');
        const kindOf = name === 'bpf_dynptr_from_skb' ? DynptrKind.SKB : name === 'bpf_dynptr_from_xdp' ? DynptrKind.XDP : 0;
        if (uninit && !kindOf) reject(`bpfkit: kfunc ${name} initialising a dynptr is not modelled`);
        processDynptr(env, regno, uninit, kindOf, meta);
        break;
      }
      case 'btf_id': {
        if (reg.type !== 'btf_id' && !regStruct(reg)) reject(`arg#${i} is ${regTypeStr(reg)} expected ${regTypeStr({ ...reg, maybeNull: false, btfFlags: reg.btfFlags & BTF_TRUSTED })} or socket`);
        if (reg.type === 'btf_id' && (reg.btfFlags & BTF_UNTRUSTED) !== 0) reject(`arg#${i} is ${regTypeStr(reg)} expected ptr_ or socket`);
        const want = a.pointee!.name;
        const have = regStruct(reg)!;
        // Flavours (`nf_conn___init` of `nf_conn`) are no-cast aliases: matched strictly.
        const flavour = (n: string): string => n.replace(/___.*$/, '');
        const strict = (isRelease(k) && reg.refObjId !== 0) || flavour(have) === flavour(want);
        const projection = (want === '__sk_buff' && have === 'sk_buff') || (want === 'xdp_md' && have === 'xdp_buff');
        if (!projection && !structsMatch(env, have, want, strict)) {
          reject(`kernel function ${name} args#${i} expected pointer to ${a.pointee!.str} ${want} but R${regno} has a pointer to STRUCT ${have}`);
        }
        break;
      }
      case 'mem': {
        const size = a.pointee!.size;
        if (size === undefined) reject(`arg#${i} reference type('${a.pointee!.str} ${a.pointee!.name}') size cannot be determined: -22`);
        if (isNullScalar(reg)) {
          env.preciseDemand |= 1 << regno;
          break;
        }
        const wasNull = reg.maybeNull;
        reg.maybeNull = false;
        try {
          checkHelperMemAccess(env, regno, size, false, true, false);
          checkHelperMemAccess(env, regno, size, true, true, false);
        } finally {
          reg.maybeNull = wasNull;
        }
        break;
      }
      case 'mem_size': {
        const sizeReg = regs[regno + 1]!;
        const sizeArg = params[i + 1]!;
        if (!isNullScalar(reg) || !a.name.endsWith('__opt')) checkKfuncMemSize(env, sizeReg, regno + 1, i);
        if (sizeArg.name.endsWith('__szk')) {
          if (!tnumIsConst(sizeReg.var)) reject(`R${regno + 1} must be a known constant`);
          env.preciseDemand |= 1 << (regno + 1);
          meta.constFound = true;
          meta.constValue = sizeReg.var.value;
        }
        i++;
        break;
      }
    }
  }
  if (isRelease(k) && !meta.releaseRegno) reject(`release kernel function ${name} expects refcounted PTR_TO_BTF_ID`);
}

type ArgKind = 'ctx' | 'null' | 'dynptr' | 'iter' | 'btf_id' | 'mem' | 'mem_size';

/** get_kfunc_ptr_arg_type. */
function argKind(env: Env, meta: Meta, a: KfuncParamType, params: readonly KfuncParamType[], i: number, reg: Reg): ArgKind {
  const p = a.pointee!;
  if (meta.name === 'bpf_cast_to_kern_ctx') return 'ctx';
  if (p.kind === 'struct' && ctxStructs(env.progType).includes(p.name)) return 'ctx';
  if (a.name.endsWith('__nullable') && isNullScalar(reg)) {
    // A NULL decided by the register's value: precise, as a helper's NULL argument.
    env.preciseDemand |= 1 << (i + 1);
    return 'null';
  }
  if (p.kind === 'struct' && p.name === 'bpf_dynptr') return 'dynptr';
  // is_kfunc_arg_iter: the first argument of an iterator method.
  if (i === 0 && iterKind(meta.k) !== undefined) return 'iter';
  // A context pointer where another struct is expected is checked as a kernel pointer (and is not trusted).
  if (reg.type === 'btf_id' || regStruct(reg) || (reg.type === 'ctx' && p.kind === 'struct')) {
    if (p.kind !== 'struct') reject(`kernel function ${meta.name} args#${i} pointer type ${p.str} ${p.name} is not supported`);
    return 'btf_id';
  }
  const next = params[i + 1];
  const nextReg = curFrame(env.cur).regs[i + 2];
  const memSize = next !== undefined && next.kind === 'scalar' && (next.name.endsWith('__sz') || next.name.endsWith('__szk')) && nextReg !== undefined && nextReg.type === 'scalar';
  if (p.kind !== 'scalar' && !p.scalarStruct && (memSize ? p.kind !== 'void' : true)) {
    reject(`arg#${i} pointer type ${p.str} ${p.name} must point to ${memSize ? 'void, ' : ''}scalar, or struct with scalar`);
  }
  return memSize ? 'mem_size' : 'mem';
}

/** The name a `call kfunc` calls: an object's extern name, or the kernel BTF id's. */
function kfuncName(insn: Instruction, kernelBtf: Env['kernelBtf']): string {
  const name = insn.reference ?? kfuncNameById(kernelBtf, insn.imm);
  if (name === undefined) {
    if (!kernelBtf) reject(`bpfkit: kfunc call to BTF id ${insn.imm} needs the kernel's BTF to be named (pass kernelBtf)`);
    reject(`kernel btf_id ${insn.imm} is not a function`);
  }
  return name;
}

/** Whether `insn` (a `call kfunc`) calls an iterator's `_next` method (KF_ITER_NEXT). */
export function isIterNextCall(env: Env, insn: Instruction): boolean {
  const name = insn.reference ?? kfuncNameById(env.kernelBtf, insn.imm);
  return name !== undefined && (kfuncProto(name)?.flags.includes('KF_ITER_NEXT') ?? false);
}

/** XDP RX metadata kfuncs (bpf_dev_bound_kfunc_id). */
export const DEV_BOUND_KFUNCS: ReadonlySet<string> = new Set(['bpf_xdp_metadata_rx_timestamp', 'bpf_xdp_metadata_rx_hash', 'bpf_xdp_metadata_rx_vlan_tag']);

/**
 * add_kfunc_call, before any instruction is verified: every kfunc call of a GPL-compatible
 * program, named in the kernel's BTF; RX metadata kfuncs only in a device-bound program (this
 * kernel's message). Returns the first failure's message.
 */
export function kfuncPrecheck(insns: readonly (Instruction | undefined)[], opts: { gpl: boolean; kernelBtf: Env['kernelBtf']; devBound: boolean }): string | undefined {
  try {
    for (const insn of insns) {
      if (!insn || insn.code !== 0x85 || insn.src !== 2) continue;
      if (!opts.gpl) return 'cannot call kernel function from non-GPL compatible program';
      const name = kfuncName(insn, opts.kernelBtf);
      if (DEV_BOUND_KFUNCS.has(name) && !opts.devBound) return 'metadata kfuncs require device-bound program';
    }
  } catch (e) {
    if (e instanceof Rejected) return e.message;
    throw e;
  }
  return undefined;
}

/** check_kfunc_call: a `call kfunc` at the current instruction. */
export function checkKfuncCall(env: Env, insn: Instruction, insnIdx: number): void {
  const name = kfuncName(insn, env.kernelBtf);
  let k: ResolvedKfunc | undefined;
  try {
    k = resolveKfunc(name, env.kernelBtf);
  } catch (e) {
    if (e instanceof KfuncNotInKernelError) reject(e.message);
    throw e;
  }
  if (!k) reject(`bpfkit: kfunc ${name} is not modelled (docs/kfuncs.md lists the ones that are)`);
  if (!(k.proto.progs as readonly string[]).includes(programTypeName(env.progType))) reject(`calling kernel function ${name} is not allowed`);
  const meta: Meta = { name, k, refObjId: 0, releaseRegno: 0, constFound: false, constValue: 0n, dynptrId: 0, dynptrKind: 0, kernCtx: '', iter: undefined };
  checkArgs(env, meta);
  // Builds differ: this kernel refuses bpf_dynptr_slice_rdwr after checking its arguments.
  if (env.kfuncRefused?.(env.progType, name)) reject(`${name}() is not allowed`);
  const st = env.cur;
  if (name === 'bpf_rcu_read_lock' || name === 'bpf_rcu_read_unlock') {
    const lock = name === 'bpf_rcu_read_lock';
    if (st.rcuLock) {
      if (lock) reject(`nested rcu read lock (kernel function ${name})`);
      forEachReg(st, (r) => r.type === 'btf_id' && (r.btfFlags & BTF_RCU) !== 0, (r) => {
        r.btfFlags = (r.btfFlags & ~BTF_RCU) | BTF_UNTRUSTED;
        r.maybeNull = false;
      });
      st.rcuLock = false;
    } else if (lock) st.rcuLock = true;
    else reject(`unmatched rcu read unlock (kernel function ${name})`);
  }
  const regs = curFrame(st).regs;
  if (meta.releaseRegno) {
    if (!releaseReference(env, regs[meta.releaseRegno]!.refObjId)) reject(`kfunc ${name}#${k.btfId} reference has not been acquired before`);
  }
  for (let i = 0; i <= 5; i++) markNotInit(regs[i]!);
  const r0 = regs[0]!;
  const ret = k.ret;
  const acquire = has(k, 'KF_ACQUIRE');
  if (acquire && !(ret.kind === 'ptr' && ret.pointee?.kind === 'struct')) reject('acquire kernel function does not return PTR_TO_BTF_ID');
  if (ret.kind === 'scalar') {
    markUnknown(r0);
    return;
  }
  if (ret.kind === 'void') return;
  const p = ret.pointee!;
  if (name === 'bpf_cast_to_kern_ctx') {
    copyReg(r0, pointer('btf_id'));
    r0.btf = meta.kernCtx;
    r0.btfFlags = BTF_TRUSTED;
  } else if (name === 'bpf_rdonly_cast') {
    rdonlyCast(env, r0, meta.constValue);
  } else if (name === 'bpf_dynptr_slice' || name === 'bpf_dynptr_slice_rdwr') {
    copyReg(r0, pointer('mem'));
    r0.memSize = Number(meta.constValue);
    r0.dynptr = meta.dynptrKind;
    if (name === 'bpf_dynptr_slice') r0.rdonly = true;
    else if ((meta.dynptrKind === DynptrKind.SKB || meta.dynptrKind === DynptrKind.XDP) && !pktWritable(env)) reject('the prog does not allow writes to packet data');
    r0.dynptrId = meta.dynptrId;
  } else if (p.kind === 'void') {
    markUnknown(r0);
    return;
  } else if (p.kind !== 'struct') {
    if (p.size === undefined) reject(`kernel function ${name} returns pointer type ${p.str} ${p.name} is not supported`);
    copyReg(r0, pointer('mem'));
    r0.memSize = p.size;
    r0.rdonly = true;
    if (meta.refObjId) r0.refObjId = meta.refObjId;
  } else {
    copyReg(r0, pointer('btf_id'));
    r0.btf = p.name;
  }
  if (has(k, 'KF_RET_NULL')) {
    r0.maybeNull = true;
    r0.id = env.nextId();
  }
  if (meta.iter && iterKind(k) === 'next') processIterNextCall(env, meta.iter, env.loopEntry, env.loopKeep);
  if (acquire) {
    const id = env.nextId();
    st.refs.push({ id, insn: insnIdx });
    if (has(k, 'KF_RET_NULL')) r0.id = id;
    r0.refObjId = id;
  }
}

/**
 * bpf_rdonly_cast's return: an untrusted pointer to the struct the constant BTF id names (loads
 * only, each checked against the kernel's layout), or with id 0 untrusted read-only memory of no
 * size (6.18's PTR_TO_MEM | MEM_RDONLY | PTR_UNTRUSTED).
 */
function rdonlyCast(env: Env, r0: Reg, id: bigint): void {
  if (id === 0n) {
    copyReg(r0, pointer('mem'));
    r0.rdonly = true;
    r0.btfFlags = BTF_UNTRUSTED;
    return;
  }
  const btf = env.kernelBtf;
  if (!btf) reject(`bpfkit: bpf_rdonly_cast to BTF id ${id} needs the kernel's BTF (pass kernelBtf)`);
  let t;
  try {
    t = btf.typeById(Number(id));
  } catch {
    t = undefined;
  }
  if (!t || (t.kind !== 'struct' && t.kind !== 'union')) reject('kfunc bpf_rdonly_cast type ID argument must be of a struct or void');
  copyReg(r0, pointer('btf_id'));
  r0.btf = t.name;
  r0.btfFlags = BTF_UNTRUSTED;
}
