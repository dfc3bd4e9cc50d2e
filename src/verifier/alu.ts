// ALU: the kernel's adjust_scalar_min_max_vals, adjust_ptr_min_max_vals and check_alu_op rules.
import {
  coerceRegToSizeSx,
  coerceSubregToSizeSx,
  markReg32Unbounded,
  markReg64Unbounded,
  regBoundsSync,
  updateReg32Bounds,
  updateRegBounds,
  zext32To64,
} from './bounds.js';
import { reject } from './env.js';
import { type SanitizeContext, type SanitizeInfo, sanitizeCheckBounds, sanitizeCommit, sanitizePre } from './sanitize.js';
import {
  cloneReg,
  copyReg,
  isPktPointer,
  markKnown,
  markKnown32,
  markUnknown,
  type Reg,
  regTypeStr,
  S32_MAX,
  S32_MIN,
  S64_MAX,
  S64_MIN,
  scalarConst,
  U32_MAX,
  U64_MAX,
} from './reg-state.js';
import {
  tnumAdd,
  tnumAnd,
  tnumArshift,
  tnumConst,
  tnumIsConst,
  tnumLshift,
  tnumMul,
  tnumNeg,
  tnumOr,
  tnumRshift,
  tnumString,
  tnumSub,
  tnumSubreg,
  tnumSubregIsConst,
  tnumXor,
} from './tnum.js';

/** ALU operation names by opcode high nibble, as bpf_alu_string prints them. */
export const ALU_STRING: Record<number, string> = {
  0x00: '+=', 0x10: '-=', 0x20: '*=', 0x30: '/=', 0x40: '|=', 0x50: '&=', 0x60: '<<=', 0x70: '>>=',
  0x80: 'neg', 0x90: '%=', 0xa0: '^=', 0xb0: '=', 0xc0: 's>>=', 0xd0: 'endian',
};

const BPF_MAX_VAR_OFF = 1n << 29n;
const s32 = (x: bigint): bigint => BigInt.asIntN(32, x);

const inS64 = (v: bigint): boolean => v >= S64_MIN && v <= S64_MAX;
const inS32 = (v: bigint): boolean => v >= S32_MIN && v <= S32_MAX;

function min4(a: bigint[]): bigint {
  return a.reduce((x, y) => (y < x ? y : x));
}
function max4(a: bigint[]): bigint {
  return a.reduce((x, y) => (y > x ? y : x));
}

function add32(d: Reg, s: Reg): void {
  const smin = d.s32min + s.s32min;
  const smax = d.s32max + s.s32max;
  if (!inS32(smin) || !inS32(smax)) {
    d.s32min = S32_MIN;
    d.s32max = S32_MAX;
  } else {
    d.s32min = smin;
    d.s32max = smax;
  }
  const umin = d.u32min + s.u32min;
  const umax = d.u32max + s.u32max;
  const minOv = umin > U32_MAX;
  const maxOv = umax > U32_MAX;
  if (!minOv && maxOv) {
    d.u32min = 0n;
    d.u32max = U32_MAX;
  } else {
    d.u32min = BigInt.asUintN(32, umin);
    d.u32max = BigInt.asUintN(32, umax);
  }
}

function add64(d: Reg, s: Reg): void {
  const smin = d.smin + s.smin;
  const smax = d.smax + s.smax;
  if (!inS64(smin) || !inS64(smax)) {
    d.smin = S64_MIN;
    d.smax = S64_MAX;
  } else {
    d.smin = smin;
    d.smax = smax;
  }
  const umin = d.umin + s.umin;
  const umax = d.umax + s.umax;
  const minOv = umin > U64_MAX;
  const maxOv = umax > U64_MAX;
  if (!minOv && maxOv) {
    d.umin = 0n;
    d.umax = U64_MAX;
  } else {
    d.umin = BigInt.asUintN(64, umin);
    d.umax = BigInt.asUintN(64, umax);
  }
}

function sub32(d: Reg, s: Reg): void {
  const smin = d.s32min - s.s32max;
  const smax = d.s32max - s.s32min;
  if (!inS32(smin) || !inS32(smax)) {
    d.s32min = S32_MIN;
    d.s32max = S32_MAX;
  } else {
    d.s32min = smin;
    d.s32max = smax;
  }
  const umin = d.u32min - s.u32max;
  const umax = d.u32max - s.u32min;
  const minOv = umin < 0n;
  const maxOv = umax < 0n;
  if (minOv && !maxOv) {
    d.u32min = 0n;
    d.u32max = U32_MAX;
  } else {
    d.u32min = BigInt.asUintN(32, umin);
    d.u32max = BigInt.asUintN(32, umax);
  }
}

function sub64(d: Reg, s: Reg): void {
  const smin = d.smin - s.smax;
  const smax = d.smax - s.smin;
  if (!inS64(smin) || !inS64(smax)) {
    d.smin = S64_MIN;
    d.smax = S64_MAX;
  } else {
    d.smin = smin;
    d.smax = smax;
  }
  const umin = d.umin - s.umax;
  const umax = d.umax - s.umin;
  const minOv = umin < 0n;
  const maxOv = umax < 0n;
  if (minOv && !maxOv) {
    d.umin = 0n;
    d.umax = U64_MAX;
  } else {
    d.umin = BigInt.asUintN(64, umin);
    d.umax = BigInt.asUintN(64, umax);
  }
}

function mul32(d: Reg, s: Reg): void {
  const umax = d.u32max * s.u32max;
  const umin = d.u32min * s.u32min;
  if (umax > U32_MAX || umin > U32_MAX) {
    d.u32min = 0n;
    d.u32max = U32_MAX;
  } else {
    d.u32min = umin;
    d.u32max = umax;
  }
  const p = [d.s32min * s.s32min, d.s32min * s.s32max, d.s32max * s.s32min, d.s32max * s.s32max];
  if (!p.every(inS32)) {
    d.s32min = S32_MIN;
    d.s32max = S32_MAX;
  } else {
    d.s32min = min4(p);
    d.s32max = max4(p);
  }
}

function mul64(d: Reg, s: Reg): void {
  const umax = d.umax * s.umax;
  const umin = d.umin * s.umin;
  if (umax > U64_MAX || umin > U64_MAX) {
    d.umin = 0n;
    d.umax = U64_MAX;
  } else {
    d.umin = umin;
    d.umax = umax;
  }
  const p = [d.smin * s.smin, d.smin * s.smax, d.smax * s.smin, d.smax * s.smax];
  if (!p.every(inS64)) {
    d.smin = S64_MIN;
    d.smax = S64_MAX;
  } else {
    d.smin = min4(p);
    d.smax = max4(p);
  }
}

function signedFromUnsigned32(d: Reg): void {
  if (s32(d.u32min) <= s32(d.u32max)) {
    d.s32min = s32(d.u32min);
    d.s32max = s32(d.u32max);
  } else {
    d.s32min = S32_MIN;
    d.s32max = S32_MAX;
  }
}

function signedFromUnsigned64(d: Reg): void {
  if (BigInt.asIntN(64, d.umin) <= BigInt.asIntN(64, d.umax)) {
    d.smin = BigInt.asIntN(64, d.umin);
    d.smax = BigInt.asIntN(64, d.umax);
  } else {
    d.smin = S64_MIN;
    d.smax = S64_MAX;
  }
}

function and32(d: Reg, s: Reg): void {
  const srcKnown = tnumSubregIsConst(s.var);
  const dstKnown = tnumSubregIsConst(d.var);
  const v32 = tnumSubreg(d.var);
  if (srcKnown && dstKnown) {
    markKnown32(d, v32.value);
    return;
  }
  d.u32min = v32.value;
  d.u32max = d.u32max < s.u32max ? d.u32max : s.u32max;
  signedFromUnsigned32(d);
}

function and64(d: Reg, s: Reg): void {
  if (tnumIsConst(s.var) && tnumIsConst(d.var)) {
    markKnown(d, d.var.value);
    return;
  }
  d.umin = d.var.value;
  d.umax = d.umax < s.umax ? d.umax : s.umax;
  signedFromUnsigned64(d);
  updateRegBounds(d);
}

function or32(d: Reg, s: Reg): void {
  const srcKnown = tnumSubregIsConst(s.var);
  const dstKnown = tnumSubregIsConst(d.var);
  const v32 = tnumSubreg(d.var);
  if (srcKnown && dstKnown) {
    markKnown32(d, v32.value);
    return;
  }
  d.u32min = d.u32min > s.u32min ? d.u32min : s.u32min;
  d.u32max = v32.value | v32.mask;
  signedFromUnsigned32(d);
}

function or64(d: Reg, s: Reg): void {
  if (tnumIsConst(s.var) && tnumIsConst(d.var)) {
    markKnown(d, d.var.value);
    return;
  }
  d.umin = d.umin > s.umin ? d.umin : s.umin;
  d.umax = d.var.value | d.var.mask;
  signedFromUnsigned64(d);
  updateRegBounds(d);
}

function xor32(d: Reg, s: Reg): void {
  const srcKnown = tnumSubregIsConst(s.var);
  const dstKnown = tnumSubregIsConst(d.var);
  const v32 = tnumSubreg(d.var);
  if (srcKnown && dstKnown) {
    markKnown32(d, v32.value);
    return;
  }
  d.u32min = v32.value;
  d.u32max = v32.value | v32.mask;
  signedFromUnsigned32(d);
}

function xor64(d: Reg, s: Reg): void {
  if (tnumIsConst(s.var) && tnumIsConst(d.var)) {
    markKnown(d, d.var.value);
    return;
  }
  d.umin = d.var.value;
  d.umax = d.var.value | d.var.mask;
  signedFromUnsigned64(d);
  updateRegBounds(d);
}

function lsh32Bounds(d: Reg, umin: bigint, umax: bigint): void {
  d.s32min = S32_MIN;
  d.s32max = S32_MAX;
  if (umax > 31n || d.u32max > 1n << (31n - umax)) {
    d.u32min = 0n;
    d.u32max = U32_MAX;
  } else {
    d.u32min <<= umin;
    d.u32max <<= umax;
  }
}

function lsh64(d: Reg, s: Reg): void {
  const umin = s.umin;
  const umax = s.umax;
  d.smax = umin === 32n && umax === 32n && d.s32max >= 0n ? d.s32max << 32n : S64_MAX;
  d.smin = umin === 32n && umax === 32n && d.s32min >= 0n ? d.s32min << 32n : S64_MIN;
  if (d.umax > 1n << (63n - umax)) {
    d.umin = 0n;
    d.umax = U64_MAX;
  } else {
    d.umin <<= umin;
    d.umax <<= umax;
  }
  lsh32Bounds(d, umin, umax);
  d.var = tnumLshift(d.var, Number(umin));
  updateRegBounds(d);
}

function lsh32(d: Reg, s: Reg): void {
  const sub = tnumSubreg(d.var);
  lsh32Bounds(d, s.u32min, s.u32max);
  d.var = tnumSubreg(tnumLshift(sub, Number(s.u32min)));
  markReg64Unbounded(d);
  updateReg32Bounds(d);
}

function rsh64(d: Reg, s: Reg): void {
  d.smin = S64_MIN;
  d.smax = S64_MAX;
  d.var = tnumRshift(d.var, Number(s.umin));
  d.umin >>= s.umax;
  d.umax >>= s.umin;
  markReg32Unbounded(d);
  updateRegBounds(d);
}

function rsh32(d: Reg, s: Reg): void {
  const sub = tnumSubreg(d.var);
  d.s32min = S32_MIN;
  d.s32max = S32_MAX;
  d.var = tnumRshift(sub, Number(s.u32min));
  d.u32min >>= s.u32max;
  d.u32max >>= s.u32min;
  markReg64Unbounded(d);
  updateReg32Bounds(d);
}

function arsh32(d: Reg, s: Reg): void {
  const sh = s.u32min;
  d.s32min >>= sh;
  d.s32max >>= sh;
  d.var = tnumArshift(tnumSubreg(d.var), Number(sh), 32);
  d.u32min = 0n;
  d.u32max = U32_MAX;
  markReg64Unbounded(d);
  updateReg32Bounds(d);
}

function arsh64(d: Reg, s: Reg): void {
  const sh = s.umin;
  d.smin >>= sh;
  d.smax >>= sh;
  d.var = tnumArshift(d.var, Number(sh), 64);
  d.umin = 0n;
  d.umax = U64_MAX;
  markReg32Unbounded(d);
  updateRegBounds(d);
}

/**
 * adjust_scalar_min_max_vals: `dst op= src` on two scalars, width 32 or 64, updating the tnum
 * and all bounds exactly as the kernel does (including the CVE-2021-3490 fix: a 32-bit
 * AND/OR/XOR of known subregisters sets the 32-bit bounds to the known value).
 */
export function scalarAlu(op: number, d: Reg, src: Reg, alu32: boolean): void {
  const bits = alu32 ? 32n : 64n;
  const srcKnown = alu32 ? tnumSubregIsConst(src.var) : tnumIsConst(src.var);
  const shiftOk = srcKnown && (alu32 ? src.u32max : src.umax) < bits;
  const safe = op === 0x00 || op === 0x10 || op === 0x80 || op === 0x50 || op === 0xa0 || op === 0x40 || op === 0x20 || ((op === 0x60 || op === 0x70 || op === 0xc0) && shiftOk);
  if (!safe) {
    markUnknown(d);
    return;
  }
  switch (op) {
    case 0x00:
      add32(d, src);
      add64(d, src);
      d.var = tnumAdd(d.var, src.var);
      break;
    case 0x10:
      sub32(d, src);
      sub64(d, src);
      d.var = tnumSub(d.var, src.var);
      break;
    case 0x80: {
      const old = cloneReg(d);
      markKnown(d, 0n);
      sub32(d, old);
      sub64(d, old);
      d.var = tnumNeg(old.var);
      break;
    }
    case 0x20:
      d.var = tnumMul(d.var, src.var);
      mul32(d, src);
      mul64(d, src);
      break;
    case 0x50:
      d.var = tnumAnd(d.var, src.var);
      and32(d, src);
      and64(d, src);
      break;
    case 0x40:
      d.var = tnumOr(d.var, src.var);
      or32(d, src);
      or64(d, src);
      break;
    case 0xa0:
      d.var = tnumXor(d.var, src.var);
      xor32(d, src);
      xor64(d, src);
      break;
    case 0x60:
      if (alu32) lsh32(d, src);
      else lsh64(d, src);
      break;
    case 0x70:
      if (alu32) rsh32(d, src);
      else rsh64(d, src);
      break;
    case 0xc0:
      if (alu32) arsh32(d, src);
      else arsh64(d, src);
      break;
  }
  if (alu32) zext32To64(d);
  regBoundsSync(d);
}

/** scalar(32)_min_max_add + tnum_add: `d += s` on bounds and tnum only (sync_linked_regs' delta). */
export function addBounds(d: Reg, s: Reg): void {
  add32(d, s);
  add64(d, s);
  d.var = tnumAdd(d.var, s.var);
}

/** check_reg_sane_offset: pointer math limits (BPF_MAX_VAR_OFF). */
function checkRegSaneOffset(r: Reg, ptrTypeStr: string): void {
  const known = tnumIsConst(r.var);
  const val = BigInt.asIntN(64, r.var.value);
  if (known && (val >= BPF_MAX_VAR_OFF || val <= -BPF_MAX_VAR_OFF)) reject(`math between ${ptrTypeStr} pointer and ${val} is not allowed`);
  if (BigInt(r.off) >= BPF_MAX_VAR_OFF || BigInt(r.off) <= -BPF_MAX_VAR_OFF) reject(`${ptrTypeStr} pointer offset ${r.off} is not allowed`);
  if (r.smin === S64_MIN) reject(`math between ${ptrTypeStr} pointer and register with unbounded min value is not allowed`);
  if (r.smin >= BPF_MAX_VAR_OFF || r.smin <= -BPF_MAX_VAR_OFF) reject(`value ${r.smin} makes ${ptrTypeStr} pointer be out of bounds`);
}

const ARITH_OK = new Set(['ctx', 'map_value', 'map_key', 'stack', 'pkt_meta', 'pkt', 'btf_id', 'mem', 'func', 'tp_buffer']);

/**
 * adjust_ptr_min_max_vals: `dst = ptr op off` where exactly one operand is a pointer. Writes
 * the result into `dst` (which may be the pointer or the scalar register). Rejects pointer
 * arithmetic on `*_or_null` types (the CVE-2022-23222 rule).
 */
export function pointerAlu(op: number, dstRegno: number, dst: Reg, ptr: Reg, offReg: Reg, is64: boolean, nextId: () => number, privileged: boolean, san?: SanitizeContext): void {
  const known = tnumIsConst(offReg.var);
  const { smin: sminVal, smax: smaxVal, umin: uminVal, umax: umaxVal } = offReg;
  if (!is64) {
    if (op === 0x10 && privileged) {
      markUnknown(dst);
      return;
    }
    reject(`R${dstRegno} 32-bit pointer arithmetic prohibited`);
  }
  if (ptr.maybeNull) reject(`R${dstRegno} pointer arithmetic on ${regTypeStr(ptr)} prohibited, null-check it first`);
  if (!ARITH_OK.has(ptr.type)) {
    const mapOk = ptr.type === 'map_ptr' && known && sminVal === 0n && op === 0x00;
    // PTR_TO_FLOW_KEYS: only constant offsets.
    const flowKeysOk = ptr.type === 'flow_keys' && known;
    if (!mapOk && !flowKeysOk) reject(`R${dstRegno} pointer arithmetic on ${regTypeStr(ptr)} prohibited`);
  }
  if ((known && (sminVal !== smaxVal || uminVal !== umaxVal)) || sminVal > smaxVal || uminVal > umaxVal) {
    markUnknown(dst);
    return;
  }
  const p = cloneReg(ptr);
  const tstr = regTypeStr(ptr);
  checkRegSaneOffset(offReg, tstr);
  checkRegSaneOffset(ptr, tstr);
  const out = cloneReg(p);
  markReg32Unbounded(out);
  // Unprivileged (no bypass_spec_v1): Spectre v1 masking of add/sub, see sanitize.ts.
  const sanitized = san && (op === 0x00 || op === 0x10);
  let info: SanitizeInfo | undefined;
  if (sanitized) info = sanitizePre(san, op === 0x00, p, offReg, dst !== offReg);
  switch (op) {
    case 0x00: {
      const sum = BigInt(p.off) + sminVal;
      if (known && sum === BigInt.asIntN(32, sum)) {
        out.smin = p.smin;
        out.smax = p.smax;
        out.umin = p.umin;
        out.umax = p.umax;
        out.var = p.var;
        out.off = Number(sum);
        break;
      }
      const smin = p.smin + sminVal;
      const smax = p.smax + smaxVal;
      if (!inS64(smin) || !inS64(smax)) {
        out.smin = S64_MIN;
        out.smax = S64_MAX;
      } else {
        out.smin = smin;
        out.smax = smax;
      }
      const umin = p.umin + uminVal;
      const umax = p.umax + umaxVal;
      if (umin > U64_MAX || umax > U64_MAX) {
        out.umin = 0n;
        out.umax = U64_MAX;
      } else {
        out.umin = umin;
        out.umax = umax;
      }
      out.var = tnumAdd(p.var, offReg.var);
      out.off = p.off;
      if (isPktPointer(p)) {
        out.id = nextId();
        out.range = 0;
      }
      break;
    }
    case 0x10: {
      if (dst === offReg) reject(`R${dstRegno} tried to subtract pointer from scalar`);
      if (p.type === 'stack') reject(`R${dstRegno} subtraction from stack pointer prohibited`);
      const diff = BigInt(p.off) - sminVal;
      if (known && diff === BigInt.asIntN(32, diff)) {
        out.smin = p.smin;
        out.smax = p.smax;
        out.umin = p.umin;
        out.umax = p.umax;
        out.var = p.var;
        out.off = Number(diff);
        break;
      }
      const smin = p.smin - smaxVal;
      const smax = p.smax - sminVal;
      if (!inS64(smin) || !inS64(smax)) {
        out.smin = S64_MIN;
        out.smax = S64_MAX;
      } else {
        out.smin = smin;
        out.smax = smax;
      }
      if (p.umin < umaxVal) {
        out.umin = 0n;
        out.umax = U64_MAX;
      } else {
        out.umin = p.umin - umaxVal;
        out.umax = p.umax - uminVal;
      }
      out.var = tnumSub(p.var, offReg.var);
      out.off = p.off;
      if (isPktPointer(p)) {
        out.id = nextId();
        if (sminVal < 0n) out.range = 0;
      }
      break;
    }
    case 0x50:
    case 0x40:
    case 0xa0:
      reject(`R${dstRegno} bitwise operator ${ALU_STRING[op]} on pointer prohibited`);
    // eslint-disable-next-line no-fallthrough
    default:
      reject(`R${dstRegno} pointer arithmetic with ${ALU_STRING[op]} operator prohibited`);
  }
  checkRegSaneOffset(out, tstr);
  regBoundsSync(out);
  if (san) sanitizeCheckBounds(san, out);
  if (sanitized) sanitizeCommit(san, info, op === 0x00, out);
  copyReg(dst, out);
}

const IMM_REGS = new Map<number, Reg>();

/**
 * A register as the operand of an immediate ALU op or jump (sign-extended imm). Shared per value:
 * every caller only reads it (a jump refines copies), so it is built once, not per instruction.
 */
export function immReg(imm: number): Reg {
  let r = IMM_REGS.get(imm);
  if (r === undefined) {
    if (IMM_REGS.size >= 4096) IMM_REGS.clear();
    r = scalarConst(BigInt(imm));
    IMM_REGS.set(imm, r);
  }
  return r;
}

/** `mov`: dst = src (64 or 32-bit, sign-extending variants), with the kernel's scalar id linking. */
export function aluMov(dst: Reg, src: Reg, alu32: boolean, sx: number, dstRegno: number, srcRegno: number, nextId: () => number, privileged: boolean): void {
  if (!alu32) {
    if (sx === 0) {
      if (src.type === 'scalar') assignScalarIdBeforeMov(src, nextId);
      copyReg(dst, src);
      return;
    }
    if (src.type !== 'scalar') {
      if (!privileged) reject(`R${srcRegno} sign-extension part of pointer`);
      markUnknown(dst);
      return;
    }
    const noSext = src.umax < 1n << BigInt(sx - 1);
    if (noSext) assignScalarIdBeforeMov(src, nextId);
    copyReg(dst, src);
    if (!noSext) dst.id = 0;
    coerceRegToSizeSx(dst, sx / 8);
    return;
  }
  if (src.type === 'scalar') {
    if (sx === 0) {
      const fits = src.umax <= U32_MAX;
      if (fits) assignScalarIdBeforeMov(src, nextId);
      copyReg(dst, src);
      if (!fits) dst.id = 0;
    } else {
      const noSext = src.umax < 1n << BigInt(sx - 1);
      if (noSext) assignScalarIdBeforeMov(src, nextId);
      copyReg(dst, src);
      if (!noSext) dst.id = 0;
      coerceSubregToSizeSx(dst, sx / 8);
    }
  } else {
    if (!privileged) reject(`R${srcRegno} partial copy of pointer`);
    markUnknown(dst);
  }
  zext32To64(dst);
  regBoundsSync(dst);
  void dstRegno;
}

/**
 * BPF_END / bswap: le on this little-endian target truncates, be and bswap reverse the low
 * `bits` bits. A constant stays a constant; anything else becomes an unknown `bits`-wide value.
 */
export function aluEnd(d: Reg, bits: number, swap: boolean): void {
  const m = bits >= 64 ? U64_MAX : (1n << BigInt(bits)) - 1n;
  if (tnumIsConst(d.var)) {
    let v = d.var.value & m;
    if (swap) {
      let out = 0n;
      for (let i = 0; i < bits / 8; i++) out = (out << 8n) | ((v >> BigInt(8 * i)) & 0xffn);
      v = out;
    }
    markKnown(d, v);
    return;
  }
  if (!swap && bits >= 64) return;
  markUnknown(d);
  if (bits < 64) {
    d.umax = m;
    d.smin = 0n;
    d.smax = m;
    regBoundsSync(d);
  }
}

/** assign_scalar_id_before_mov: a copied scalar gets an id so bounds learnt later reach the copy. */
function assignScalarIdBeforeMov(src: Reg, nextId: () => number): void {
  if ((src.id & (1 << 30)) !== 0) {
    // Only one `rX += const` link is tracked: copying a linked register cuts its link.
    src.id = 0;
    src.off = 0;
  }
  if (!src.id && !tnumIsConst(src.var)) src.id = nextId();
}

/** For messages: the tnum text. */
export const varOffString = (r: Reg): string => tnumString(r.var);

/** An immediate `mov` (__mark_reg_known with the sign-extended or zero-extended imm). */
export function aluMovImm(dst: Reg, imm: number, alu32: boolean): void {
  markUnknown(dst);
  markKnown(dst, alu32 ? BigInt(imm >>> 0) : BigInt(imm));
  void tnumConst;
}
