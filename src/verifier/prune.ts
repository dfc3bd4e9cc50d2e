// State pruning: the kernel's states_equal / regsafe / stacksafe — an explored safe state subsumes the current one.
import { type Reg, type RegType, scalarUnknown } from './reg-state.js';
import { type FuncState, type StackSlot, StackType, type VState } from './state.js';
import { tnumIn } from './tnum.js';

/**
 * Maps ids of the old state to ids of the current one; a mismatch means not equivalent (check_ids).
 * A state holds few ids, so two parallel arrays searched linearly beat Maps; one instance is
 * reset and reused by every states_equal call (no allocation per comparison).
 */
class IdMap {
  private readonly olds: number[] = [];
  private readonly curs: number[] = [];
  private n = 0;
  reset(): void {
    this.n = 0;
  }
  check(oldId: number, curId: number): boolean {
    if (!oldId && !curId) return true;
    if (!oldId || !curId) return false;
    const olds = this.olds;
    const curs = this.curs;
    for (let i = 0; i < this.n; i++) {
      if (olds[i] === oldId) return curs[i] === curId;
      if (curs[i] === curId) return false;
    }
    olds[this.n] = oldId;
    curs[this.n] = curId;
    this.n++;
    return true;
  }
  /** check_scalar_ids: an old id of 0 matches anything; otherwise as check(). */
  checkScalar(oldId: number, curId: number): boolean {
    if (!oldId) return true;
    if (!curId) return false;
    return this.check(oldId, curId);
  }
}

const sharedIds = new IdMap();

const ALL = (1n << 64n) - 1n;
/** BPF_ADD_CONST (see branch.ts). */
const ADD_CONST = 1 << 30;

const rangeWithin = (o: Reg, c: Reg): boolean =>
  o.umin <= c.umin && o.umax >= c.umax && o.smin <= c.smin && o.smax >= c.smax && o.u32min <= c.u32min && o.u32max >= c.u32max && o.s32min <= c.s32min && o.s32max >= c.s32max;

/** env->explore_alu_limits during one statesCover: every live scalar must be identical. */
let strictScalars = false;

const scalarsIdentical = (o: Reg, c: Reg): boolean =>
  o.off === c.off &&
  o.var.value === c.var.value &&
  o.var.mask === c.var.mask &&
  o.umin === c.umin &&
  o.umax === c.umax &&
  o.smin === c.smin &&
  o.smax === c.smax &&
  o.u32min === c.u32min &&
  o.u32max === c.u32max &&
  o.s32min === c.s32min &&
  o.s32max === c.s32max;

/** regsafe: every value `cur` may hold was handled safely by `old`. `exact`: the registers must be identical. */
export function regSafe(o: Reg, c: Reg, ids: IdMap, exact: boolean, precise = true): boolean {
  if (exact) {
    return (
      o.type === c.type &&
      o.maybeNull === c.maybeNull &&
      o.ringbuf === c.ringbuf &&
      o.rdonly === c.rdonly &&
      o.off === c.off &&
      o.var.value === c.var.value &&
      o.var.mask === c.var.mask &&
      o.umin === c.umin &&
      o.umax === c.umax &&
      o.smin === c.smin &&
      o.smax === c.smax &&
      o.u32min === c.u32min &&
      o.u32max === c.u32max &&
      o.s32min === c.s32min &&
      o.s32max === c.s32max &&
      o.range === c.range &&
      o.map === c.map &&
      o.memSize === c.memSize &&
      o.frameno === c.frameno &&
      o.btf === c.btf &&
      o.btfFlags === c.btfFlags &&
      o.dynptr === c.dynptr &&
      ids.check(o.dynptrId, c.dynptrId) &&
      ids.check(o.id, c.id) &&
      ids.check(o.refObjId, c.refObjId)
    );
  }
  if (o.type === 'not_init') return true;
  if (c.type === 'not_init') return false;
  if (o.type !== c.type || o.maybeNull !== c.maybeNull || o.ringbuf !== c.ringbuf || o.rdonly !== c.rdonly) return false;
  switch (o.type) {
    case 'scalar':
      if (strictScalars) return scalarsIdentical(o, c) && ids.checkScalar(o.id, c.id);
      if (!precise) return true;
      if ((o.id & ADD_CONST) !== (c.id & ADD_CONST)) return false;
      if ((o.id & ADD_CONST) !== 0 && o.off !== c.off) return false;
      return rangeWithin(o, c) && tnumIn(o.var, c.var) && ids.checkScalar(o.id, c.id);
    case 'map_value':
    case 'map_key':
    case 'mem':
      return o.off === c.off && o.map === c.map && o.memSize === c.memSize && rangeWithin(o, c) && tnumIn(o.var, c.var) && ids.check(o.id, c.id) && ids.check(o.refObjId, c.refObjId) && ids.check(o.dynptrId, c.dynptrId);
    case 'pkt':
    case 'pkt_meta':
      if (o.range > c.range) return false;
      if (o.off !== c.off) return false;
      if (!ids.check(o.id, c.id)) return false;
      return rangeWithin(o, c) && tnumIn(o.var, c.var);
    default:
      return regSafe(o, c, ids, true);
  }
}

/** Bit `i` (0..63) of the 64-bit mask given as its low and high 32-bit halves. */
const bitAt = (lo: number, hi: number, i: number): boolean => (i < 32 ? (lo >>> i) & 1 : i < 64 ? (hi >>> (i - 32)) & 1 : 0) !== 0;

/** The low 32 bits of a 64-bit slot mask, as a number. */
export const maskLo = (m: bigint): number => Number(m & 0xffffffffn);
/** The high 32 bits of a 64-bit slot mask, as a number. */
export const maskHi = (m: bigint): number => Number(m >> 32n);

/** An unknown scalar: what 8 bytes of unknown stack data read as (the kernel's unbound_reg). */
const UNBOUND: Reg = Object.freeze(scalarUnknown());

/** scalar_reg_for_stack: a slot's 64-bit spilled scalar, {@link UNBOUND} when all 8 bytes are unknown data, else undefined. */
function scalarForStack(s: StackSlot | undefined, privileged: boolean): Reg | undefined {
  if (s === undefined) return privileged ? UNBOUND : undefined;
  const t = s.types;
  if (t[0] === StackType.SPILL && s.spilled.type === 'scalar') return s.spilled;
  for (let i = 0; i < 8; i++) if (t[i] !== StackType.MISC && !(t[i] === StackType.INVALID && privileged)) return undefined;
  return UNBOUND;
}

function stackSafe(o: FuncState, c: FuncState, ids: IdMap, exact: boolean, privileged: boolean, preciseLo: number, preciseHi: number, liveLo: number, liveHi: number): boolean {
  const n = Math.max(o.stack.length, exact ? c.stack.length : 0);
  for (let spi = 0; spi < n; spi++) {
    if (!exact && !bitAt(liveLo, liveHi, spi)) continue;
    const os = o.stack[spi];
    const cs = c.stack[spi];
    if (!exact) {
      // A 64-bit scalar spill against 8 bytes of unknown data (MISC; also INVALID, privileged)
      // or the reverse: both read as scalars, compared as such (stacksafe's scalar_reg_for_stack).
      const oReg = scalarForStack(os, privileged);
      const cReg = oReg === undefined ? undefined : scalarForStack(cs, privileged);
      if (oReg !== undefined && cReg !== undefined && (oReg === UNBOUND || cReg === UNBOUND)) {
        if (!regSafe(oReg, cReg, ids, false, oReg === UNBOUND || bitAt(preciseLo, preciseHi, spi))) return false;
        continue;
      }
    }
    for (let i = 0; i < 8; i++) {
      const ot = os?.types[i] ?? StackType.INVALID;
      const ct = cs?.types[i] ?? StackType.INVALID;
      if (exact) {
        if (ot !== ct) return false;
        continue;
      }
      if (ot === StackType.INVALID) continue;
      if (privileged && ot === StackType.MISC) continue;
      if (ot === StackType.MISC && ct !== StackType.MISC && ct !== StackType.ZERO && !(ct === StackType.SPILL && cs!.spilled.type === 'scalar')) return false;
      if (ot === StackType.MISC) continue;
      if (ot !== ct) return false;
    }
    // A dynptr: the same kind and slot, its id mapped consistently (stacksafe's STACK_DYNPTR case).
    if (os !== undefined && os.types[0] === StackType.DYNPTR) {
      if (!cs || !regSafe(os.spilled, cs.spilled, ids, true)) return false;
      continue;
    }
    // An iterator: the same type and state, its reference mapped consistently; the depth is not
    // compared (stacksafe's STACK_ITER case: it would keep iterations from converging).
    if (os !== undefined && os.types[0] === StackType.ITER) {
      if (!cs || cs.types[0] !== StackType.ITER || os.spilled.btf !== cs.spilled.btf || os.spilled.subprog !== cs.spilled.subprog || !ids.check(os.spilled.refObjId, cs.spilled.refObjId)) return false;
      continue;
    }
    const oSpill = os !== undefined && os.types[7] === StackType.SPILL;
    if (oSpill || (exact && cs !== undefined && cs.types[7] === StackType.SPILL)) {
      if (!cs || !os) return false;
      if (!regSafe(os.spilled, cs.spilled, ids, exact, bitAt(preciseLo, preciseHi, spi))) return false;
    }
  }
  return true;
}

/** linkedNeed's results (module scratch, read right after the call): registers and the slot mask's halves. */
export const linked = { regs: 0, lo: 0, hi: 0 };
const linkedIds: number[] = [];

/**
 * The needed registers and slots (`lo`, `hi`: the slot mask's halves) of the old frame `f` grown
 * by every scalar sharing a base id (BPF_ADD_CONST aside) with a needed one: a jump on one of them
 * refines all (sync_linked_regs), so their links must match as well (the kernel marks linked
 * registers precise together). Results in {@link linked}; they depend on `f` and the masks only.
 */
export function linkedNeed(f: FuncState, regs: number, lo: number, hi: number): void {
  linked.regs = regs;
  linked.lo = lo;
  linked.hi = hi;
  const ids = linkedIds;
  ids.length = 0;
  for (let r = 0; r <= 10; r++) {
    if ((regs & (1 << r)) === 0) continue;
    const o = f.regs[r]!;
    if (o.type === 'scalar' && o.id) ids.push(o.id & ~ADD_CONST);
  }
  for (let spi = 0; spi < f.stack.length && spi < 64; spi++) {
    const slot = f.stack[spi];
    if (!slot || slot.types[7] !== StackType.SPILL || slot.spilled.type !== 'scalar' || !slot.spilled.id) continue;
    if (bitAt(lo, hi, spi)) ids.push(slot.spilled.id & ~ADD_CONST);
  }
  if (ids.length === 0) return;
  for (let r = 0; r <= 10; r++) {
    const o = f.regs[r]!;
    if (o.type === 'scalar' && o.id && ids.includes(o.id & ~ADD_CONST)) linked.regs |= 1 << r;
  }
  for (let spi = 0; spi < f.stack.length && spi < 64; spi++) {
    const slot = f.stack[spi];
    if (!slot || slot.types[7] !== StackType.SPILL || slot.spilled.type !== 'scalar' || !slot.spilled.id) continue;
    if (ids.includes(slot.spilled.id & ~ADD_CONST)) {
      if (spi < 32) linked.lo = (linked.lo | (1 << spi)) >>> 0;
      else linked.hi = (linked.hi | (1 << (spi - 32))) >>> 0;
    }
  }
}

/**
 * A cheap necessary condition of regsafe for the innermost frame's live registers, checked before
 * the full comparison (most misses differ in a pointer's type or fixed offset, or a packet range).
 */
function quickRegsMatch(of: FuncState, cf: FuncState, live: number, need: number): boolean {
  for (let r = 0; r <= 10; r++) {
    if ((live & (1 << r)) === 0) continue;
    const o = of.regs[r]!;
    if (o.type === 'not_init') continue;
    const c = cf.regs[r]!;
    if (o.type !== c.type) return false;
    if (o.type === 'scalar') {
      // A needed scalar must lie within the old one's unsigned and signed 64-bit ranges.
      if ((need & (1 << r)) !== 0 && (o.umin > c.umin || o.umax < c.umax || o.smin > c.smin || o.smax < c.smax)) return false;
      continue;
    }
    if (o.off !== c.off) return false;
    if ((o.type === 'pkt' || o.type === 'pkt_meta') && o.range > c.range) return false;
  }
  return true;
}

const TYPE_CODE: Record<RegType, number> = {
  not_init: 0,
  scalar: 1,
  ctx: 2,
  map_ptr: 3,
  map_value: 4,
  map_key: 5,
  stack: 6,
  pkt: 7,
  pkt_meta: 8,
  pkt_end: 9,
  mem: 10,
  sock: 11,
  sock_common: 12,
  tcp_sock: 13,
  btf_id: 14,
  func: 15,
  flow_keys: 31,
  dynptr: 16,
  tp_buffer: 17,
};

/** The registers of `live` that are initialized in `f` (the ones {@link quickRegsMatch} compares). */
export function initRegs(f: FuncState, live: number): number {
  let m = 0;
  for (let r = 0; r <= 10; r++) if ((live & (1 << r)) !== 0 && f.regs[r]!.type !== 'not_init') m |= 1 << r;
  return m;
}

/**
 * A hash of the types of `f`'s registers in `mask` and the fixed offsets of its pointers among
 * them: two frames with different keys for the same mask fail {@link quickRegsMatch} (their
 * types or pointer offsets differ), so a pruning loop can skip the comparison with one number.
 */
export function regsKey(f: FuncState, mask: number): number {
  let h = 0;
  for (let r = 0; r <= 10; r++) {
    if ((mask & (1 << r)) === 0) continue;
    const x = f.regs[r]!;
    const code = TYPE_CODE[x.type];
    h = Math.imul(h ^ (code === 1 ? 1 : (x.off * 32 + code) | 0), 0x9e3779b1) + r;
  }
  return h | 0;
}

const ALL32 = 0xffffffff;

/**
 * states_equal: whether `cur` is covered by the explored state `old` (same frames and call
 * sites, every register and stack slot safe, the same references). `exact` compares for
 * equality (infinite loop detection). `needed` (see precision.ts) says which scalars of the
 * innermost frame may matter: the others match any scalar, as imprecise scalars do in the kernel;
 * registers and slots that are not live (never read before written) are not compared at all,
 * as the kernel skips what the explored state never read.
 */
export function statesEqual(o: VState, c: VState, exact: boolean, privileged: boolean, neededRegs = 0x7ff, neededStack = ALL, liveRegs = 0x7ff, liveStack = ALL): boolean {
  if (o.frames.length !== c.frames.length) return false;
  let need = neededRegs;
  let needLo = maskLo(neededStack);
  let needHi = maskHi(neededStack);
  if (!exact) {
    // A scalar linked (same id) to one that matters is refined with it: it matters too.
    linkedNeed(o.frames[o.frames.length - 1]!, need, needLo, needHi);
    need = linked.regs;
    needLo = linked.lo;
    needHi = linked.hi;
  }
  return statesCover(o, c, exact, privileged, need, needLo, needHi, liveRegs, maskLo(liveStack), maskHi(liveStack));
}

/**
 * {@link statesEqual} with the innermost frame's masks as numbers (slot masks as 32-bit halves),
 * the needed ones already grown by {@link linkedNeed} (which depends on the old state only, so a
 * caller comparing against one explored state many times computes it once).
 */
export function statesCover(
  o: VState,
  c: VState,
  exact: boolean,
  privileged: boolean,
  need: number,
  needLo: number,
  needHi: number,
  liveRegs: number,
  liveLo: number,
  liveHi: number,
  exploreAluLimits = false,
): boolean {
  if (!exploreAluLimits) return cover(o, c, exact, privileged, need, needLo, needHi, liveRegs, liveLo, liveHi);
  // explore_alu_limits (an unprivileged variable pointer offset was sanitized): no scalar is
  // widened, so every path reaching a sanitized instruction shows its own masking limit.
  strictScalars = true;
  try {
    return cover(o, c, exact, privileged, 0x7ff, ALL32, ALL32, liveRegs, liveLo, liveHi);
  } finally {
    strictScalars = false;
  }
}

function cover(o: VState, c: VState, exact: boolean, privileged: boolean, need: number, needLo: number, needHi: number, liveRegs: number, liveLo: number, liveHi: number): boolean {
  if (o.frames.length !== c.frames.length) return false;
  if (o.refs.length !== c.refs.length) return false;
  if ((o.rcuLock ?? false) !== (c.rcuLock ?? false)) return false;
  if (!exact && !quickRegsMatch(o.frames[o.frames.length - 1]!, c.frames[c.frames.length - 1]!, liveRegs, need)) return false;
  const ids = sharedIds;
  ids.reset();
  // The same lock held, its id mapped consistently (states_equal's active_lock test, before the registers).
  const ol = o.activeLock;
  const cl = c.activeLock;
  if (ol || cl) {
    if (!ol || !cl || ol.map !== cl.map || !ol.id !== !cl.id) return false;
    if (ol.id && !ids.check(ol.id, cl.id)) return false;
  }
  for (let i = 0; i < o.frames.length; i++) {
    const of = o.frames[i]!;
    const cf = c.frames[i]!;
    if (of.callsite !== cf.callsite) return false;
    // func_states_equal: a state that entered more callback iterations does not cover one with fewer.
    if (of.loopDepth > cf.loopDepth) return false;
    const inner = i === o.frames.length - 1;
    const needR = inner ? need : 0x7ff;
    const live = inner && !exact ? liveRegs : 0x7ff;
    for (let r = 0; r <= 10; r++) {
      if ((live & (1 << r)) === 0) continue;
      if (!regSafe(of.regs[r]!, cf.regs[r]!, ids, exact, (needR & (1 << r)) !== 0)) return false;
    }
    if (inner) {
      if (!stackSafe(of, cf, ids, exact, privileged, needLo, needHi, liveLo, liveHi)) return false;
    } else if (!stackSafe(of, cf, ids, exact, privileged, ALL32, ALL32, ALL32, ALL32)) return false;
  }
  for (let i = 0; i < o.refs.length; i++) if (!ids.check(o.refs[i]!.id, c.refs[i]!.id)) return false;
  return true;
}
