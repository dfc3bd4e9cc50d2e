// Register state: the kernel's struct bpf_reg_state — a type, a fixed offset, a tracked variable part and ids.
import type { MapDef } from '../maps/map-ops.js';
import { type Tnum, TNUM_UNKNOWN, tnumConst, tnumIsConst } from './tnum.js';

/** Base register types (enum bpf_reg_type without flags). */
export type RegType =
  | 'not_init'
  | 'scalar'
  | 'ctx'
  | 'map_ptr'
  | 'map_value'
  | 'map_key'
  | 'stack'
  | 'pkt'
  | 'pkt_meta'
  | 'pkt_end'
  | 'mem'
  | 'sock'
  | 'sock_common'
  | 'tcp_sock'
  | 'btf_id'
  | 'func'
  | 'flow_keys'
  | 'dynptr'
  | 'tp_buffer';

/** The abstract value of one register (or one spilled stack slot). Mutable; states copy it. */
export interface Reg {
  /** Base type. */
  type: RegType;
  /** PTR_MAYBE_NULL: the pointer may be NULL (`map_value_or_null`). */
  maybeNull: boolean;
  /** MEM_RINGBUF: ring buffer memory from bpf_ringbuf_reserve. */
  ringbuf: boolean;
  /** MEM_RDONLY. */
  rdonly: boolean;
  /** Fixed offset of a pointer (`reg->off`). */
  off: number;
  /** Known and unknown bits of the variable part. */
  var: Tnum;
  /** Signed 64-bit minimum. */
  smin: bigint;
  /** Signed 64-bit maximum. */
  smax: bigint;
  /** Unsigned 64-bit minimum. */
  umin: bigint;
  /** Unsigned 64-bit maximum. */
  umax: bigint;
  /** Signed 32-bit minimum (of the low 32 bits). */
  s32min: bigint;
  /** Signed 32-bit maximum. */
  s32max: bigint;
  /** Unsigned 32-bit minimum. */
  u32min: bigint;
  /** Unsigned 32-bit maximum. */
  u32max: bigint;
  /** Id shared by copies: null checks and packet ranges propagate to every register with it; linked scalars. */
  id: number;
  /** Reference id of an acquired object (ring buffer record) this register points to. */
  refObjId: number;
  /** Packet pointers: bytes known to be in the packet after this pointer (`r=`); negative: AT/BEYOND pkt_end. */
  range: number;
  /** Map of a map pointer or map value pointer. */
  map: MapDef | undefined;
  /** Size of the memory a `mem` pointer points to. */
  memSize: number;
  /** Stack pointers: the frame whose stack they point into. */
  frameno: number;
  /** Function pointers: the subprogram index. */
  subprog: number;
  /** PTR_TO_BTF_ID: the kernel struct it points to (`nf_conn`), '' otherwise. */
  btf: string;
  /** PTR_TO_BTF_ID modifiers: {@link BTF_TRUSTED}, {@link BTF_UNTRUSTED}, {@link BTF_RCU}. */
  btfFlags: number;
  /** A dynptr stack slot's spilled register: its kind ({@link DynptrKind}), plus {@link DYNPTR_FIRST} on the first slot; 0 otherwise. */
  dynptr: number;
  /** Slices of a dynptr (`reg->dynptr_id`): the id of the dynptr they came from, so overwriting it invalidates them. */
  dynptrId: number;
}

/** PTR_TRUSTED. */
export const BTF_TRUSTED = 1;
/** PTR_UNTRUSTED. */
export const BTF_UNTRUSTED = 2;
/** MEM_RCU. */
export const BTF_RCU = 4;
/** Dynptr kinds (enum bpf_dynptr_type). */
export const DynptrKind = { LOCAL: 1, RINGBUF: 2, SKB: 3, XDP: 4 } as const;
/** The first of a dynptr's two stack slots. */
export const DYNPTR_FIRST = 8;

/** S64/U64/S32/U32 limits as BigInt. */
export const S64_MIN = -(1n << 63n);
export const S64_MAX = (1n << 63n) - 1n;
export const U64_MAX = (1n << 64n) - 1n;
export const S32_MIN = -(1n << 31n);
export const S32_MAX = (1n << 31n) - 1n;
export const U32_MAX = (1n << 32n) - 1n;

/** packet pointer `range` values: the pointer is at / beyond pkt_end (mark_pkt_end). */
export const AT_PKT_END = -1;
/** See {@link AT_PKT_END}. */
export const BEYOND_PKT_END = -2;

/** A fresh NOT_INIT register. */
export function notInit(): Reg {
  return {
    type: 'not_init',
    maybeNull: false,
    ringbuf: false,
    rdonly: false,
    off: 0,
    var: TNUM_UNKNOWN,
    smin: S64_MIN,
    smax: S64_MAX,
    umin: 0n,
    umax: U64_MAX,
    s32min: S32_MIN,
    s32max: S32_MAX,
    u32min: 0n,
    u32max: U32_MAX,
    id: 0,
    refObjId: 0,
    range: 0,
    map: undefined,
    memSize: 0,
    frameno: 0,
    subprog: 0,
    btf: '',
    btfFlags: 0,
    dynptr: 0,
    dynptrId: 0,
  };
}

/** A copy of a register (an explicit literal: one hidden class, no spread). */
export function cloneReg(r: Reg): Reg {
  return {
    type: r.type,
    maybeNull: r.maybeNull,
    ringbuf: r.ringbuf,
    rdonly: r.rdonly,
    off: r.off,
    var: r.var,
    smin: r.smin,
    smax: r.smax,
    umin: r.umin,
    umax: r.umax,
    s32min: r.s32min,
    s32max: r.s32max,
    u32min: r.u32min,
    u32max: r.u32max,
    id: r.id,
    refObjId: r.refObjId,
    range: r.range,
    map: r.map,
    memSize: r.memSize,
    frameno: r.frameno,
    subprog: r.subprog,
    btf: r.btf,
    btfFlags: r.btfFlags,
    dynptr: r.dynptr,
    dynptrId: r.dynptrId,
  };
}

/** Copies every field of `src` into `dst` (Object.assign without its generic slow path). */
export function copyReg(dst: Reg, src: Reg): void {
  dst.type = src.type;
  dst.maybeNull = src.maybeNull;
  dst.ringbuf = src.ringbuf;
  dst.rdonly = src.rdonly;
  dst.off = src.off;
  dst.var = src.var;
  dst.smin = src.smin;
  dst.smax = src.smax;
  dst.umin = src.umin;
  dst.umax = src.umax;
  dst.s32min = src.s32min;
  dst.s32max = src.s32max;
  dst.u32min = src.u32min;
  dst.u32max = src.u32max;
  dst.id = src.id;
  dst.refObjId = src.refObjId;
  dst.range = src.range;
  dst.map = src.map;
  dst.memSize = src.memSize;
  dst.frameno = src.frameno;
  dst.subprog = src.subprog;
  dst.btf = src.btf;
  dst.btfFlags = src.btfFlags;
  dst.dynptr = src.dynptr;
  dst.dynptrId = src.dynptrId;
}

/** Resets every field of `r` to the NOT_INIT defaults, then sets `type`. */
function reset(r: Reg, type: RegType): void {
  r.type = type;
  r.maybeNull = false;
  r.ringbuf = false;
  r.rdonly = false;
  r.off = 0;
  r.var = TNUM_UNKNOWN;
  r.smin = S64_MIN;
  r.smax = S64_MAX;
  r.umin = 0n;
  r.umax = U64_MAX;
  r.s32min = S32_MIN;
  r.s32max = S32_MAX;
  r.u32min = 0n;
  r.u32max = U32_MAX;
  r.id = 0;
  r.refObjId = 0;
  r.range = 0;
  r.map = undefined;
  r.memSize = 0;
  r.frameno = 0;
  r.subprog = 0;
  r.btf = '';
  r.btfFlags = 0;
  r.dynptr = 0;
  r.dynptrId = 0;
}

/** Makes `r` a scalar with nothing known (__mark_reg_unknown). */
export function markUnknown(r: Reg): void {
  reset(r, 'scalar');
}

/** Makes `r` NOT_INIT. */
export function markNotInit(r: Reg): void {
  reset(r, 'not_init');
}

/** Sets every bound and the tnum of `r` to the constant `v` (__mark_reg_known), keeping the type. */
export function markKnown(r: Reg, v: bigint): void {
  const u = BigInt.asUintN(64, v);
  r.var = tnumConst(u);
  r.smin = r.smax = BigInt.asIntN(64, u);
  r.umin = r.umax = u;
  const lo = BigInt.asUintN(32, u);
  r.s32min = r.s32max = BigInt.asIntN(32, lo);
  r.u32min = r.u32max = lo;
}

/** A scalar constant. */
export function scalarConst(v: bigint): Reg {
  const r = notInit();
  r.type = 'scalar';
  markKnown(r, v);
  return r;
}

/** A scalar with nothing known. */
export function scalarUnknown(): Reg {
  const r = notInit();
  r.type = 'scalar';
  return r;
}

/** A pointer of `type` with offset 0 and a known-zero variable part (mark_reg_known_zero + type). */
export function pointer(type: RegType): Reg {
  const r = notInit();
  markKnown(r, 0n);
  r.type = type;
  return r;
}

/** Sets the low 32 bits of `r` to the constant v (__mark_reg32_known). */
export function markKnown32(r: Reg, v: bigint): void {
  const lo = BigInt.asUintN(32, v);
  r.var = { value: (r.var.value & ~0xffffffffn) | lo, mask: r.var.mask & ~0xffffffffn };
  r.s32min = r.s32max = BigInt.asIntN(32, lo);
  r.u32min = r.u32max = lo;
}

/** Whether `r` is a pointer (anything but scalar / not_init). */
export const isPointer = (r: Reg): boolean => r.type !== 'scalar' && r.type !== 'not_init';

/** Whether `r` is a packet pointer (pkt or pkt_meta). */
export const isPktPointer = (r: Reg): boolean => r.type === 'pkt' || r.type === 'pkt_meta';

/** Whether `r` is pkt, pkt_meta or pkt_end. */
export const isPktPointerAny = (r: Reg): boolean => r.type === 'pkt' || r.type === 'pkt_meta' || r.type === 'pkt_end';

/** Whether `r` is the scalar constant 0 (register_is_null). */
export const isNullScalar = (r: Reg): boolean => r.type === 'scalar' && tnumIsConst(r.var) && r.var.value === 0n;

/** Whether `r` is a known constant scalar (64 or 32-bit view). */
export function isConst(r: Reg, is32: boolean): boolean {
  if (r.type !== 'scalar') return false;
  return is32 ? (r.var.mask & 0xffffffffn) === 0n : r.var.mask === 0n;
}

/** The constant value of `r` in the 64 or 32-bit view. */
export const constValue = (r: Reg, is32: boolean): bigint => (is32 ? r.var.value & 0xffffffffn : r.var.value);

const BASE_NAMES: Record<RegType, string> = {
  not_init: '?',
  scalar: 'scalar',
  ctx: 'ctx',
  map_ptr: 'map_ptr',
  map_value: 'map_value',
  map_key: 'map_key',
  stack: 'fp',
  pkt: 'pkt',
  pkt_meta: 'pkt_meta',
  pkt_end: 'pkt_end',
  mem: 'mem',
  sock: 'sock',
  sock_common: 'sock_common',
  tcp_sock: 'tcp_sock',
  btf_id: 'ptr_',
  func: 'func',
  flow_keys: 'flow_keys',
  dynptr: 'dynptr_ptr',
  tp_buffer: 'tp_buffer',
};

/** The kernel's reg_type_str: `map_value_or_null`, `ringbuf_mem`, `rdonly_mem`, `scalar`, `fp`. */
export function regTypeStr(r: Pick<Reg, 'type' | 'maybeNull' | 'ringbuf' | 'rdonly'> & Partial<Pick<Reg, 'btfFlags'>>): string {
  let prefix = '';
  if (r.rdonly) prefix += 'rdonly_';
  if (r.ringbuf) prefix += 'ringbuf_';
  const bf = r.btfFlags ?? 0;
  if (bf & BTF_RCU) prefix += 'rcu_';
  if (bf & BTF_UNTRUSTED) prefix += 'untrusted_';
  if (bf & BTF_TRUSTED) prefix += 'trusted_';
  if (r.type === 'btf_id' && r.maybeNull) return `${prefix}ptr_or_null_`;
  const postfix = r.maybeNull && (r.type === 'map_value' || r.type === 'mem' || r.type === 'sock' || r.type === 'sock_common' || r.type === 'tcp_sock' || r.type === 'btf_id' || r.type === 'map_key') ? '_or_null' : '';
  return `${prefix}${BASE_NAMES[r.type]}${postfix}`;
}

