// Spectre v1 rules for unprivileged pointer arithmetic: sanitize_ptr_alu, sanitize_check_bounds and
// the per-instruction masking state that must agree on every path (REASON_PATHS).
import { reject } from './env.js';
import type { Reg } from './reg-state.js';
import { tnumIsConst, tnumString } from './tnum.js';

/** What the kernel remembers per instruction for masking (insn_aux_data alu_state / alu_limit). */
export interface AluAux {
  readonly state: number;
  readonly limit: bigint;
}

/** The instruction being sanitized: its registers, source kind and the program's masking states. */
export interface SanitizeContext {
  /** BPF_K: can_skip_alu_sanitation (only the bounds check applies). */
  readonly isK: boolean;
  readonly dstRegno: number;
  readonly srcRegno: number;
  readonly insnIdx: number;
  /** Per instruction masking state, shared by every path of the verification. */
  readonly aux: Map<number, AluAux>;
  /** Sets env->explore_alu_limits (a variable offset was sanitized). */
  readonly markExplore: () => void;
}

const SANITIZE_SRC = 1;
const SANITIZE_DST = 2;
const NEG_VALUE = 4;
/** BPF_ALU_NON_POINTER: the instruction did scalar arithmetic on some path. */
export const ALU_NON_POINTER = 8;
const IMMEDIATE = 16;
const MAX_BPF_STACK = 512n;
const BPF_MAX_VAR_OFF = 1n << 29n;
const PROHIBITED = 'pointer arithmetic with it prohibited for !root';

/** The pre-operation half of sanitize_ptr_alu; returns what the commit half needs. */
export interface SanitizeInfo {
  readonly maskToLeft: boolean;
  readonly state: number;
  readonly limit: bigint;
}

/** retrieve_ptr_limit: how far the pointer may move (u32), or the reason it may not. */
function ptrLimit(ptr: Reg, maskToLeft: boolean): bigint | 'type' | 'limit' {
  let max: bigint;
  let limit: bigint;
  if (ptr.type === 'stack') {
    max = MAX_BPF_STACK + (maskToLeft ? 1n : 0n);
    limit = -(ptr.var.value + BigInt(ptr.off));
  } else if (ptr.type === 'map_value' && ptr.map) {
    max = BigInt(ptr.map.valueSize);
    limit = (maskToLeft ? ptr.smin : ptr.umax) + BigInt(ptr.off);
  } else return 'type';
  limit = BigInt.asUintN(32, limit);
  return limit >= max ? 'limit' : limit;
}

/** sanitize_err for the pre-operation reasons. */
function fail(ctx: SanitizeContext, reason: 'type' | 'limit' | 'bounds' | 'paths', opName: string, offIsDst: boolean): never {
  switch (reason) {
    case 'bounds':
      return reject(`R${offIsDst ? ctx.dstRegno : ctx.srcRegno} has unknown scalar with mixed signed bounds, ${PROHIBITED}`);
    case 'type':
      return reject(`R${offIsDst ? ctx.srcRegno : ctx.dstRegno} has pointer with unsupported alu operation, ${PROHIBITED}`);
    case 'paths':
      return reject(`R${ctx.dstRegno} tried to ${opName} from different maps, paths or scalars, ${PROHIBITED}`);
    default:
      return reject(`R${ctx.dstRegno} tried to ${opName} beyond pointer bounds, ${PROHIBITED}`);
  }
}

/** Records the instruction's masking state; a different one on another path is REASON_PATHS. */
function updateAux(ctx: SanitizeContext, state: number, limit: bigint): boolean {
  const old = ctx.aux.get(ctx.insnIdx);
  if (old && (old.state !== state || old.limit !== limit)) return false;
  ctx.aux.set(ctx.insnIdx, { state, limit });
  return true;
}

/** sanitize_ptr_alu before the operation (add or sub of `off` to `ptr`). */
export function sanitizePre(ctx: SanitizeContext, isAdd: boolean, ptr: Reg, off: Reg, ptrIsDst: boolean): SanitizeInfo | undefined {
  if (ctx.isK) return undefined;
  const offIsImm = tnumIsConst(off.var);
  const offIsNeg = off.smin < 0n;
  if (!offIsImm && (off.smin < 0n) !== (off.smax < 0n)) fail(ctx, 'bounds', '', !ptrIsDst);
  const maskToLeft = (isAdd && offIsNeg) || (!isAdd && !offIsNeg);
  const limit = ptrLimit(ptr, maskToLeft);
  if (typeof limit === 'string') fail(ctx, limit, isAdd ? 'add' : 'sub', !ptrIsDst);
  if (!offIsImm) ctx.markExplore();
  const state = (offIsNeg ? NEG_VALUE : 0) | (offIsImm ? IMMEDIATE : 0) | (ptrIsDst ? SANITIZE_SRC : SANITIZE_DST);
  return { maskToLeft, state, limit };
}

/** sanitize_check_bounds: an unprivileged pointer result must stay inside its object. */
export function sanitizeCheckBounds(ctx: SanitizeContext, out: Reg): void {
  if (out.type === 'stack') {
    const off = BigInt(out.off) + BigInt.asIntN(64, out.var.value);
    if (!tnumIsConst(out.var)) reject(`R${ctx.dstRegno} variable stack access prohibited for !root, var_off=${tnumString(out.var)} off=${BigInt.asIntN(32, off)}`);
    if (off >= 0n || off < -MAX_BPF_STACK) reject(`R${ctx.dstRegno} stack pointer arithmetic goes out of range, prohibited for !root; off=${BigInt.asIntN(32, off)}`);
  } else if (out.type === 'map_value' && out.map) {
    const o = BigInt(out.off);
    const ok = out.smin >= 0n && out.smin + o >= 0n && out.umax < BPF_MAX_VAR_OFF && out.umax + o + 1n <= BigInt(out.map.valueSize);
    if (!ok) reject(`R${ctx.dstRegno} pointer arithmetic of map value goes out of range, prohibited for !root`);
  }
}

/** sanitize_ptr_alu after the operation (the commit window): the masking limit must agree on every path. */
export function sanitizeCommit(ctx: SanitizeContext, info: SanitizeInfo | undefined, isAdd: boolean, out: Reg): void {
  if (!info) return;
  const limit = ptrLimit(out, info.maskToLeft);
  const opName = isAdd ? 'add' : 'sub';
  if (typeof limit === 'string') fail(ctx, limit, opName, false);
  const diff = info.limit > limit ? info.limit - limit : limit - info.limit;
  if (!updateAux(ctx, info.state, diff)) fail(ctx, 'paths', opName, false);
}

/** sanitize_val_alu: scalar add/sub from a register marks the instruction as non-pointer arithmetic. */
export function sanitizeScalar(ctx: SanitizeContext, isAdd: boolean): void {
  if (ctx.isK) return;
  if (!updateAux(ctx, ALU_NON_POINTER, 0n)) fail(ctx, 'paths', isAdd ? 'add' : 'sub', false);
}
