// Conditional jumps: the kernel's is_branch_taken, reg_set_min_max (incl. JMP32), packet-range and null-check learning.
import { markRegUnbounded, regBoundsSync, regBoundsSane } from './bounds.js';
import { addBounds } from './alu.js';
import {
  AT_PKT_END,
  BEYOND_PKT_END,
  copyReg,
  scalarConst,
  constValue,
  isConst,
  isPktPointer,
  isPktPointerAny,
  isPointer,
  type Reg,
  U32_MAX,
  U64_MAX,
} from './reg-state.js';
import { hasSpinLock } from './map-fields.js';
import { forEachReg, type VState } from './state.js';
import { tnumAnd, tnumConst, tnumOverlap, tnumIntersect, tnumIsConst, tnumOr, tnumSubreg, tnumWithSubreg } from './tnum.js';

/** Jump op codes (high nibble). */
export const J = { JEQ: 0x10, JGT: 0x20, JGE: 0x30, JSET: 0x40, JNE: 0x50, JSGT: 0x60, JSGE: 0x70, JLT: 0xa0, JLE: 0xb0, JSLT: 0xc0, JSLE: 0xd0 } as const;
/** The reverse of JSET (the false branch of `if a & b`), an internal marker like the kernel's BPF_JSET | BPF_X. */
const JSET_REV = 0x48;

/** flip_opcode: the same comparison with operands swapped. */
export function flipOpcode(op: number): number {
  switch (op) {
    case J.JGT: return J.JLT;
    case J.JLT: return J.JGT;
    case J.JGE: return J.JLE;
    case J.JLE: return J.JGE;
    case J.JSGT: return J.JSLT;
    case J.JSLT: return J.JSGT;
    case J.JSGE: return J.JSLE;
    case J.JSLE: return J.JSGE;
    default: return op;
  }
}

/** rev_opcode: the negated comparison (the fall-through branch). */
function revOpcode(op: number): number {
  switch (op) {
    case J.JEQ: return J.JNE;
    case J.JNE: return J.JEQ;
    case J.JSET: return JSET_REV;
    case JSET_REV: return J.JSET;
    case J.JGT: return J.JLE;
    case J.JLE: return J.JGT;
    case J.JGE: return J.JLT;
    case J.JLT: return J.JGE;
    case J.JSGT: return J.JSLE;
    case J.JSLE: return J.JSGT;
    case J.JSGE: return J.JSLT;
    case J.JSLT: return J.JSGE;
    default: return op;
  }
}

interface View {
  umin: bigint;
  umax: bigint;
  smin: bigint;
  smax: bigint;
}
const view = (r: Reg, is32: boolean): View => (is32 ? { umin: r.u32min, umax: r.u32max, smin: r.s32min, smax: r.s32max } : { umin: r.umin, umax: r.umax, smin: r.smin, smax: r.smax });

function isScalarBranchTaken(r1: Reg, r2: Reg, op: number, is32: boolean): -1 | 0 | 1 {
  let t1 = is32 ? tnumSubreg(r1.var) : r1.var;
  let t2 = is32 ? tnumSubreg(r2.var) : r2.var;
  const a = view(r1, is32);
  const b = view(r2, is32);
  switch (op) {
    case J.JEQ:
      if (tnumIsConst(t1) && tnumIsConst(t2)) return t1.value === t2.value ? 1 : 0;
      if (a.umin > b.umax || a.umax < b.umin) return 0;
      if (a.smin > b.smax || a.smax < b.smin) return 0;
      if (!is32) {
        if (r1.u32min > r2.u32max || r1.u32max < r2.u32min) return 0;
        if (r1.s32min > r2.s32max || r1.s32max < r2.s32min) return 0;
      }
      if (!tnumOverlap(t1, t2)) return 0;
      break;
    case J.JNE:
      if (tnumIsConst(t1) && tnumIsConst(t2)) return t1.value !== t2.value ? 1 : 0;
      if (a.umin > b.umax || a.umax < b.umin) return 1;
      if (a.smin > b.smax || a.smax < b.smin) return 1;
      if (!is32) {
        if (r1.u32min > r2.u32max || r1.u32max < r2.u32min) return 1;
        if (r1.s32min > r2.s32max || r1.s32max < r2.s32min) return 1;
      }
      if (!tnumOverlap(t1, t2)) return 1;
      break;
    case J.JSET: {
      if (!isConst(r2, is32)) {
        [t1, t2] = [t2, t1];
        if (!isConst(r1, is32)) return -1;
      }
      if ((~t1.mask & t1.value & t2.value) !== 0n) return 1;
      if (((t1.mask | t1.value) & t2.value) === 0n) return 0;
      break;
    }
    case J.JGT:
      if (a.umin > b.umax) return 1;
      if (a.umax <= b.umin) return 0;
      break;
    case J.JSGT:
      if (a.smin > b.smax) return 1;
      if (a.smax <= b.smin) return 0;
      break;
    case J.JLT:
      if (a.umax < b.umin) return 1;
      if (a.umin >= b.umax) return 0;
      break;
    case J.JSLT:
      if (a.smax < b.smin) return 1;
      if (a.smin >= b.smax) return 0;
      break;
    case J.JGE:
      if (a.umin >= b.umax) return 1;
      if (a.umax < b.umin) return 0;
      break;
    case J.JSGE:
      if (a.smin >= b.smax) return 1;
      if (a.smax < b.smin) return 0;
      break;
    case J.JLE:
      if (a.umax <= b.umin) return 1;
      if (a.umin > b.umax) return 0;
      break;
    case J.JSLE:
      if (a.smax <= b.smin) return 1;
      if (a.smin > b.smax) return 0;
      break;
  }
  return -1;
}

function isPktPtrBranchTaken(dst: Reg, src: Reg, op0: number): -1 | 0 | 1 {
  let pkt: Reg;
  let op = op0;
  if (src.type === 'pkt_end') pkt = dst;
  else if (dst.type === 'pkt_end') {
    pkt = src;
    op = flipOpcode(op);
  } else return -1;
  if (pkt.range >= 0) return -1;
  switch (op) {
    case J.JLE:
    case J.JGT:
      if (pkt.range === BEYOND_PKT_END) return op === J.JGT ? 1 : 0;
      break;
    case J.JLT:
    case J.JGE:
      if (pkt.range === BEYOND_PKT_END || pkt.range === AT_PKT_END) return op === J.JGE ? 1 : 0;
      break;
  }
  return -1;
}

/** reg_not_null: a pointer type that can never be NULL. */
export function regNotNull(r: Reg): boolean {
  if (r.maybeNull) return false;
  return r.type === 'sock' || r.type === 'tcp_sock' || r.type === 'map_value' || r.type === 'map_key' || r.type === 'sock_common' || r.type === 'mem' || r.type === 'map_ptr';
}

/** is_branch_taken: 1 always taken, 0 never, -1 unknown. */
export function isBranchTaken(r1: Reg, r2: Reg, op: number, is32: boolean): -1 | 0 | 1 {
  if (isPktPointerAny(r1) && isPktPointerAny(r2) && !is32) return isPktPtrBranchTaken(r1, r2, op);
  if (isPointer(r1) || isPointer(r2)) {
    // A non-null pointer's low 32 bits may still be zero: 6.18 stable builds predict no 32-bit
    // comparison of a pointer (older ones predicted JEQ/JNE 0 as for 64 bits). Not predicting is
    // the sound choice and the one this machine's kernel makes ("R6 pointer comparison
    // prohibited" for an unprivileged `if w6 == 0`); on an older build bpfkit is stricter, never looser.
    if (is32) return -1;
    let a = r1;
    let b = r2;
    let o = op;
    if (!isConst(b, is32)) {
      o = flipOpcode(o);
      [a, b] = [b, a];
    }
    if (!isConst(b, is32)) return -1;
    if (!regNotNull(a)) return -1;
    if (constValue(b, is32) !== 0n) return -1;
    if (o === J.JEQ) return 0;
    if (o === J.JNE) return 1;
    return -1;
  }
  return isScalarBranchTaken(r1, r2, op, is32);
}

const maxB = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const minB = (a: bigint, b: bigint): bigint => (a < b ? a : b);

function regsRefineCondOp(ra: Reg, rb: Reg, op0: number, is32: boolean): void {
  let r1 = ra;
  let r2 = rb;
  let op = op0;
  if (op === J.JGE || op === J.JGT || op === J.JSGE || op === J.JSGT) {
    op = flipOpcode(op);
    [r1, r2] = [r2, r1];
  }
  switch (op) {
    case J.JEQ:
      if (is32) {
        r1.u32min = maxB(r1.u32min, r2.u32min);
        r1.u32max = minB(r1.u32max, r2.u32max);
        r1.s32min = maxB(r1.s32min, r2.s32min);
        r1.s32max = minB(r1.s32max, r2.s32max);
        r2.u32min = r1.u32min;
        r2.u32max = r1.u32max;
        r2.s32min = r1.s32min;
        r2.s32max = r1.s32max;
        const t = tnumIntersect(tnumSubreg(r1.var), tnumSubreg(r2.var));
        r1.var = tnumWithSubreg(r1.var, t);
        r2.var = tnumWithSubreg(r2.var, t);
      } else {
        r1.umin = maxB(r1.umin, r2.umin);
        r1.umax = minB(r1.umax, r2.umax);
        r1.smin = maxB(r1.smin, r2.smin);
        r1.smax = minB(r1.smax, r2.smax);
        r2.umin = r1.umin;
        r2.umax = r1.umax;
        r2.smin = r1.smin;
        r2.smax = r1.smax;
        r1.var = tnumIntersect(r1.var, r2.var);
        r2.var = r1.var;
      }
      break;
    case J.JNE: {
      if (!isConst(r2, is32)) [r1, r2] = [r2, r1];
      if (!isConst(r2, is32)) break;
      const val = constValue(r2, is32);
      if (is32) {
        const s = BigInt.asIntN(32, val);
        if (r1.u32min === val) r1.u32min++;
        if (r1.u32max === val) r1.u32max = BigInt.asUintN(32, r1.u32max - 1n);
        if (r1.s32min === s) r1.s32min++;
        if (r1.s32max === s) r1.s32max--;
      } else {
        const s = BigInt.asIntN(64, val);
        if (r1.umin === val) r1.umin++;
        if (r1.umax === val) r1.umax = BigInt.asUintN(64, r1.umax - 1n);
        if (r1.smin === s) r1.smin++;
        if (r1.smax === s) r1.smax--;
      }
      break;
    }
    case J.JSET: {
      if (!isConst(r2, is32)) [r1, r2] = [r2, r1];
      if (!isConst(r2, is32)) break;
      const val = constValue(r2, is32);
      if (val === 0n || (val & (val - 1n)) !== 0n) break;
      if (is32) r1.var = tnumWithSubreg(r1.var, tnumOr(tnumSubreg(r1.var), tnumConst(val)));
      else r1.var = tnumOr(r1.var, tnumConst(val));
      break;
    }
    case JSET_REV: {
      if (!isConst(r2, is32)) [r1, r2] = [r2, r1];
      if (!isConst(r2, is32)) break;
      const val = constValue(r2, is32);
      markRegUnbounded(r1);
      if (is32) r1.var = tnumWithSubreg(r1.var, tnumAnd(tnumSubreg(r1.var), tnumConst(BigInt.asUintN(32, ~val))));
      else r1.var = tnumAnd(r1.var, tnumConst(BigInt.asUintN(64, ~val)));
      break;
    }
    case J.JLE:
      if (is32) {
        r1.u32max = minB(r1.u32max, r2.u32max);
        r2.u32min = maxB(r1.u32min, r2.u32min);
      } else {
        r1.umax = minB(r1.umax, r2.umax);
        r2.umin = maxB(r1.umin, r2.umin);
      }
      break;
    case J.JLT:
      if (is32) {
        r1.u32max = minB(r1.u32max, BigInt.asUintN(32, r2.u32max - 1n));
        r2.u32min = maxB(BigInt.asUintN(32, r1.u32min + 1n), r2.u32min);
      } else {
        r1.umax = minB(r1.umax, BigInt.asUintN(64, r2.umax - 1n));
        r2.umin = maxB(BigInt.asUintN(64, r1.umin + 1n), r2.umin);
      }
      break;
    case J.JSLE:
      if (is32) {
        r1.s32max = minB(r1.s32max, r2.s32max);
        r2.s32min = maxB(r1.s32min, r2.s32min);
      } else {
        r1.smax = minB(r1.smax, r2.smax);
        r2.smin = maxB(r1.smin, r2.smin);
      }
      break;
    case J.JSLT:
      if (is32) {
        r1.s32max = minB(r1.s32max, BigInt.asIntN(32, r2.s32max - 1n));
        r2.s32min = maxB(BigInt.asIntN(32, r1.s32min + 1n), r2.s32min);
      } else {
        r1.smax = minB(r1.smax, BigInt.asIntN(64, r2.smax - 1n));
        r2.smin = maxB(BigInt.asIntN(64, r1.smin + 1n), r2.smin);
      }
      break;
  }
}

/**
 * reg_set_min_max: refine the registers of both successors of `if r1 op r2`. A register whose
 * bounds contradict each other afterwards (a branch the bounds cannot tell is dead) gets
 * unbounded ranges, keeping its tnum, as reg_bounds_sanity_check does.
 */
export function regSetMinMax(trueR1: Reg, trueR2: Reg, falseR1: Reg, falseR2: Reg, op: number, is32: boolean): void {
  if (falseR1.type !== 'scalar' || falseR2.type !== 'scalar') return;
  regsRefineCondOp(falseR1, falseR2, revOpcode(op), is32);
  regBoundsSync(falseR1);
  regBoundsSync(falseR2);
  regsRefineCondOp(trueR1, trueR2, op, is32);
  regBoundsSync(trueR1);
  regBoundsSync(trueR2);
  if (!regBoundsSane(trueR1)) markRegUnbounded(trueR1);
  if (!regBoundsSane(trueR2)) markRegUnbounded(trueR2);
  if (!regBoundsSane(falseR1)) markRegUnbounded(falseR1);
  if (!regBoundsSane(falseR2)) markRegUnbounded(falseR2);
}

/** sync_linked_regs: every scalar sharing `known`'s id gets its bounds. */
/** The id flag of a scalar linked to others with a constant delta in `off` (BPF_ADD_CONST). */
export const ADD_CONST = 1 << 30;

/**
 * sync_linked_regs: every scalar sharing `known`'s id gets its bounds; one linked with a
 * constant delta (BPF_ADD_CONST) gets them shifted by the difference of the deltas.
 */
export function syncLinkedRegs(s: VState, known: Reg): void {
  if (known.type !== 'scalar' || !known.id) return;
  const base = known.id & ~ADD_CONST;
  forEachReg(s, (r) => r !== known && r.type === 'scalar' && (r.id & ~ADD_CONST) === base, (r) => {
    const id = r.id;
    const off = r.off;
    const plain = ((r.id & ADD_CONST) === 0 && (known.id & ADD_CONST) === 0) || r.off === known.off;
    copyReg(r, known);
    r.id = id;
    r.off = off;
    if (!plain) {
      const delta = scalarConst(BigInt((r.off - known.off) | 0));
      addBounds(r, delta);
    }
  });
}

/** mark_ptr_or_null_regs: after `if rX == 0`, every copy of rX becomes a scalar 0 or a non-null pointer. */
export function markPtrOrNullRegs(s: VState, reg: Reg, isNull: boolean): void {
  const id = reg.id;
  const refObjId = reg.refObjId;
  if (refObjId && refObjId === id && isNull) {
    const i = s.refs.findIndex((r) => r.id === id);
    if (i >= 0) s.refs.splice(i, 1);
  }
  if (!id) return;
  forEachReg(s, (r) => r.maybeNull && r.id === id && isPointer(r), (r) => {
    if (isNull) {
      r.type = 'scalar';
      r.maybeNull = false;
      r.ringbuf = false;
      r.rdonly = false;
      r.id = 0;
      r.refObjId = 0;
      r.map = undefined;
      r.off = 0;
      r.memSize = 0;
      return;
    }
    r.maybeNull = false;
    // A map value pointer that may point to a bpf_spin_lock keeps its id: it names the locked value.
    if (!(r.type === 'map_value' && hasSpinLock(r.map))) r.id = 0;
  });
}

const MAX_PACKET_OFF = 0xffff;

/** find_good_pkt_pointers: every packet pointer with `dst`'s id learns `range`. */
function findGoodPktPointers(s: VState, dst: Reg, type: string, rangeRightOpen: boolean): void {
  if (dst.off < 0 || (dst.off === 0 && rangeRightOpen)) return;
  if (dst.umax > BigInt(MAX_PACKET_OFF) || dst.umax + BigInt(dst.off) > BigInt(MAX_PACKET_OFF)) return;
  let newRange = dst.off;
  if (rangeRightOpen) newRange++;
  const id = dst.id;
  forEachReg(
    s,
    (r) => r.type === type && r.id === id && r.range < newRange,
    (r) => {
      r.range = newRange;
    },
  );
}

function markPktEnd(r: Reg, rangeOpen: boolean): void {
  if (r.type !== 'pkt') return;
  r.range = rangeOpen ? BEYOND_PKT_END : AT_PKT_END;
}

const isInitPkt = (r: Reg, type: string): boolean => r.type === type && r.off === 0 && tnumIsConst(r.var) && r.var.value === 0n;

/**
 * try_match_pkt_pointers: a comparison of a packet pointer with pkt_end (or meta with data)
 * proves a range in one successor. `thisDst/thisSrc` are the fall-through registers,
 * `otherDst/otherSrc` the jump target's. Returns false when the comparison is not of that kind.
 */
export function tryMatchPktPointers(
  op: number,
  dst: Reg,
  src: Reg,
  thisState: VState,
  otherState: VState,
  thisDst: Reg,
  thisSrc: Reg,
  otherDst: Reg,
  otherSrc: Reg,
): boolean {
  const dstFirst = (dst.type === 'pkt' && src.type === 'pkt_end') || (dst.type === 'pkt_meta' && isInitPkt(src, 'pkt'));
  const srcFirst = (dst.type === 'pkt_end' && src.type === 'pkt') || (isInitPkt(dst, 'pkt') && src.type === 'pkt_meta');
  switch (op) {
    case J.JGT:
      if (dstFirst) {
        findGoodPktPointers(thisState, dst, dst.type, false);
        markPktEnd(otherDst, true);
      } else if (srcFirst) {
        findGoodPktPointers(otherState, src, src.type, true);
        markPktEnd(thisSrc, false);
      } else return false;
      break;
    case J.JLT:
      if (dstFirst) {
        findGoodPktPointers(otherState, dst, dst.type, true);
        markPktEnd(thisDst, false);
      } else if (srcFirst) {
        findGoodPktPointers(thisState, src, src.type, false);
        markPktEnd(otherSrc, true);
      } else return false;
      break;
    case J.JGE:
      if (dstFirst) {
        findGoodPktPointers(thisState, dst, dst.type, true);
        markPktEnd(otherDst, false);
      } else if (srcFirst) {
        findGoodPktPointers(otherState, src, src.type, false);
        markPktEnd(thisSrc, true);
      } else return false;
      break;
    case J.JLE:
      if (dstFirst) {
        findGoodPktPointers(otherState, dst, dst.type, false);
        markPktEnd(thisDst, true);
      } else if (srcFirst) {
        findGoodPktPointers(thisState, src, src.type, true);
        markPktEnd(otherSrc, false);
      } else return false;
      break;
    default:
      return false;
  }
  return true;
}

/** Whether a packet pointer register is readable (for messages). */
export const pktReg = isPktPointer;
void U32_MAX;
void U64_MAX;
