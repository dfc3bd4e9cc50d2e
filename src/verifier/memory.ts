// Memory access checks: the kernel's check_mem_access for ctx, stack, packet, map value and mem pointers, and helper buffers.
import type { MapDef } from '../maps/map-ops.js';
import { coerceRegToSize, coerceRegToSizeSx } from './bounds.js';
import { checkPtrToBtfAccess, mapStructLoad } from './btf-access.js';
import { type Env, reject } from './env.js';
import type { MapField } from './map-fields.js';
import {
  BTF_TRUSTED,
  DYNPTR_FIRST,
  DynptrKind,
  cloneReg,
  copyReg,
  isNullScalar,
  isPktPointer,
  isPointer,
  markKnown,
  markNotInit,
  markUnknown,
  pointer,
  type Reg,
  regTypeStr,
  scalarUnknown,
  S64_MIN,
} from './reg-state.js';
import { curFrame, forEachReg, type FuncState, ownSlot, StackType, type StackSlot } from './state.js';
import { tnumAdd, tnumConst, tnumIsAligned, tnumIsConst, tnumString } from './tnum.js';

/** A map as the verifier sees it: the definition plus, for frozen read-only maps, the initial bytes. */
export interface VerifierMap extends MapDef {
  /** Initial value bytes of a read-only global data map (.rodata): loads from it are constants. */
  readonly frozenData?: Uint8Array;
  /** Special fields of the value (bpf_spin_lock, bpf_timer...) from the object's BTF; absent when the map has no BTF. */
  readonly fields?: readonly MapField[];
}

/** check_map_access's btf_record walk: no load, store or helper access may touch a special field (kptrs are not recorded). */
function checkMapFields(reg: Reg, off: number, size: number): void {
  const fields = (reg.map as VerifierMap | undefined)?.fields;
  if (!fields) return;
  const o = BigInt(off);
  for (const f of fields) {
    const p = BigInt(f.off);
    if (reg.smin + o < p + BigInt(f.size) && p < reg.umax + o + BigInt(size)) reject(`${f.name} cannot be accessed directly by load/store`);
  }
}

const BPF_MAX_VAR_OFF = 1n << 29n;
const MAX_BPF_STACK = 512;
const BPF_F_RDONLY_PROG = 0x80;
const BPF_F_WRONLY_PROG = 0x100;

/** The frame a stack pointer points into. */
export function stackFrameOf(env: Env, r: Reg): FuncState {
  return env.cur.frames[r.frameno] ?? curFrame(env.cur);
}

/**
 * destroy_if_dynptr_stack_slot: a write over part of an unreferenced dynptr destroys both of its
 * slots and invalidates the slices taken from it; a referenced (ring buffer) one may not be overwritten.
 */
export function destroyDynptrSlot(env: Env, f: FuncState, spi0: number): void {
  const s = f.stack[spi0];
  if (!s || s.types[0] !== StackType.DYNPTR) return;
  const spi = (s.spilled.dynptr & DYNPTR_FIRST) !== 0 ? spi0 : spi0 + 1;
  const first = f.stack[spi];
  if (first && (first.spilled.dynptr & 7) === DynptrKind.RINGBUF) reject('cannot overwrite referenced dynptr');
  const id = first?.spilled.id ?? 0;
  for (const k of [spi, spi - 1]) {
    if (k < 0) continue;
    const slot = ownSlot(f, k);
    for (let i = 0; i < 8; i++) slot.types[i] = StackType.INVALID;
    markNotInit(slot.spilled);
  }
  // Only plain PTR_TO_MEM slices (local dynptrs): skb/xdp slices carry their type flag and the kernel leaves them.
  if (id) forEachReg(env.cur, (r) => r.type === 'mem' && r.dynptrId === id && r.dynptr === 0 && !r.rdonly && !r.ringbuf, (r) => (env.privileged ? markUnknown(r) : markNotInit(r)));
}

/** Slot `spi` of `f` for writing (created, or copied when shared with another state). */
const slotAt = (f: FuncState, spi: number): StackSlot => ownSlot(f, spi);

function growStack(env: Env, f: FuncState, size: number): void {
  const d = env.stackDepth[f.subprog] ?? 0;
  if (size > d) env.stackDepth[f.subprog] = size;
}

/** __check_mem_access: [off, off+size) within [0, memSize), else the kernel's per-type message. */
function checkMemBounds(reg: Reg, regno: number, off: bigint, size: number, memSize: number, zeroOk: boolean): boolean {
  const sizeOk = size > 0 || (size === 0 && zeroOk);
  if (off >= 0n && sizeOk && off + BigInt(size) <= BigInt(memSize)) return true;
  const o = BigInt.asIntN(32, off);
  switch (reg.type) {
    case 'map_key':
      throw reject(`invalid access to map key, key_size=${memSize} off=${o} size=${size}`);
    case 'map_value':
      throw reject(`invalid access to map value, value_size=${memSize} off=${o} size=${size}`);
    case 'pkt':
    case 'pkt_meta':
    case 'pkt_end':
      throw reject(`invalid access to packet, off=${o} size=${size}, R${regno}(id=${reg.id},off=${o},r=${memSize})`);
    default:
      throw reject(`invalid access to memory, mem_size=${memSize} off=${o} size=${size}`);
  }
}

/** check_mem_bounds; a rejection's message gets a second line, the reason (no closure per access). */
function checkMemBoundsOr(reg: Reg, regno: number, off: bigint, size: number, memSize: number, zeroOk: boolean, second: SecondLine): void {
  try {
    checkMemBounds(reg, regno, off, size, memSize, zeroOk);
  } catch (e) {
    if (e && typeof e === 'object' && 'message' in e) reject(`${(e as { message: string }).message}\nR${regno} ${SECOND_LINE[second]}`);
    throw e;
  }
}

const MIN_OUTSIDE = 0;
const MAX_OUTSIDE = 1;
const PKT_OUTSIDE = 2;
type SecondLine = typeof MIN_OUTSIDE | typeof MAX_OUTSIDE | typeof PKT_OUTSIDE;
const SECOND_LINE = ['min value is outside of the allowed memory range', 'max value is outside of the allowed memory range', 'offset is outside of the packet'] as const;

/** check_mem_region_access: a variable-offset access into a region of `memSize` bytes. */
export function checkMemRegionAccess(env: Env, reg: Reg, regno: number, off: number, size: number, memSize: number, zeroOk: boolean): void {
  const o = BigInt(off);
  if (reg.smin < 0n && (reg.smin === S64_MIN || o + reg.smin !== BigInt.asIntN(32, o + reg.smin) || reg.smin + o < 0n)) {
    reject(`R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`);
  }
  checkMemBoundsOr(reg, regno, reg.smin + o, size, memSize, zeroOk, MIN_OUTSIDE);
  if (reg.umax >= BPF_MAX_VAR_OFF) reject(`R${regno} unbounded memory access, make sure to bounds check any such access`);
  checkMemBoundsOr(reg, regno, reg.umax + o, size, memSize, zeroOk, MAX_OUTSIDE);
  void env;
}

/** check_packet_access. */
export function checkPacketAccess(reg: Reg, regno: number, off: number, size: number, zeroOk: boolean): void {
  if (reg.smin < 0n) reject(`R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`);
  if (reg.range < 0) reject(`R${regno} offset is outside of the packet`);
  checkMemBoundsOr(reg, regno, BigInt(off), size, reg.range, zeroOk, PKT_OUTSIDE);
}

function mapCaps(map: MapDef): { read: boolean; write: boolean } {
  return { read: (map.flags & BPF_F_WRONLY_PROG) === 0, write: (map.flags & BPF_F_RDONLY_PROG) === 0 };
}

/** check_map_access_type. */
export function checkMapAccessType(map: MapDef, off: number, size: number, write: boolean): void {
  const caps = mapCaps(map);
  if (write && !caps.write) reject(`write into map forbidden, value_size=${map.valueSize} off=${off} size=${size}`);
  if (!write && !caps.read) reject(`read from map forbidden, value_size=${map.valueSize} off=${off} size=${size}`);
}

/** __check_ptr_off_reg: ctx and other pointers that must be passed or dereferenced unmodified. */
export function checkPtrOffReg(reg: Reg, regno: number, fixedOffOk: boolean): void {
  if (reg.off < 0) reject(`negative offset ${regTypeStr(reg)} ptr R${regno} off=${reg.off} disallowed`);
  if (!fixedOffOk && reg.off) reject(`dereference of modified ${regTypeStr(reg)} ptr R${regno} off=${reg.off} disallowed`);
  if (!tnumIsConst(reg.var) || reg.var.value !== 0n) reject(`variable ${regTypeStr(reg)} access var_off=${tnumString(reg.var)} disallowed`);
}

type Access = 'read' | 'write' | 'helper';

/** check_stack_access_within_bounds; returns [minOff, maxOff) relative to the frame pointer. */
function checkStackBounds(env: Env, reg: Reg, regno: number, off: number, size: number, access: Access): [number, number] {
  const extra = access === 'helper' ? ' indirect access to' : access === 'read' ? ' read from' : ' write to';
  let minOff: bigint;
  let maxOff: bigint;
  if (tnumIsConst(reg.var)) {
    minOff = BigInt.asIntN(64, reg.var.value) + BigInt(off);
    maxOff = minOff + BigInt(size);
  } else {
    if (reg.smax >= BPF_MAX_VAR_OFF || reg.smin <= -BPF_MAX_VAR_OFF) reject(`invalid unbounded variable-offset${extra} stack R${regno}`);
    minOff = reg.smin + BigInt(off);
    maxOff = reg.smax + BigInt(off) + BigInt(size);
  }
  const bad = minOff < BigInt(-MAX_BPF_STACK) || minOff >= 0n || maxOff > 0n || size < 0;
  if (bad) {
    if (tnumIsConst(reg.var)) reject(`invalid${extra} stack R${regno} off=${off} size=${size}`);
    reject(`invalid variable-offset${extra} stack R${regno} var_off=${tnumString(reg.var)} off=${off} size=${size}`);
  }
  growStack(env, stackFrameOf(env, reg), Number(-minOff));
  return [Number(minOff), Number(maxOff)];
}

const isSpilled = (s: StackSlot | undefined): boolean => s !== undefined && s.types[7] === StackType.SPILL;

/** The register value of a full 8-byte fill, a narrower fill or plain bytes (check_stack_read_fixed_off). */
/** Unprivileged (no allow_uninit_stack): a read below the stack the program has written so far. */
function unallocatedRead(env: Env, f: FuncState, regno: number, off: number, size: number): void {
  if (!env.privileged && -off > f.stack.length * 8) reject(`invalid read from stack R${regno} off=${off} size=${size}`);
}

function stackReadFixed(env: Env, f: FuncState, off: number, size: number, dst: Reg | undefined, regno = 10): void {
  unallocatedRead(env, f, regno, off, size);
  const slot = -off - 1;
  const spi = Math.floor(slot / 8);
  const s = f.stack[spi];
  const types = s?.types ?? [0, 0, 0, 0, 0, 0, 0, 0];
  if (s && isSpilled(s)) {
    let spillSize = 1;
    for (let i = 7; i > 0 && types[i - 1] === StackType.SPILL; i--) spillSize++;
    const sp = s.spilled;
    if (size !== 8 || spillSize !== 8) {
      if (sp.type !== 'scalar') reject('invalid size of register fill');
      if (!dst) return;
      if (size <= spillSize && off % 8 === 0) {
        copyReg(dst, sp);
        if (!(sp.umax < 1n << BigInt(size * 8))) {
          dst.id = 0;
          dst.off = 0;
        }
      } else {
        let spillCnt = 0;
        let zeroCnt = 0;
        for (let i = 0; i < size; i++) {
          const t = types[(slot - i) % 8]!;
          if (t === StackType.SPILL) spillCnt++;
          else if (t === StackType.ZERO) zeroCnt++;
          else if (t === StackType.MISC) continue;
          else if (t === StackType.INVALID && env.privileged) continue;
          else reject(`invalid read from stack off ${off}+${i} size ${size}`);
        }
        if (spillCnt === size && tnumIsConst(sp.var) && sp.var.value === 0n) {
          markUnknown(dst);
          markKnown(dst, 0n);
        } else if (zeroCnt === size) {
          markUnknown(dst);
          markKnown(dst, 0n);
        } else markUnknown(dst);
      }
      return;
    }
    if (dst) copyReg(dst, sp);
    // No destination: an atomic reads the slot as a scalar, which would leak a spilled pointer.
    else if (!env.privileged && sp.type !== 'scalar') reject(`leaking pointer from stack off ${off}`);
    return;
  }
  let zeros = 0;
  for (let i = 0; i < size; i++) {
    const t = types[(slot - i) % 8]!;
    if (t === StackType.MISC) continue;
    if (t === StackType.ZERO) {
      zeros++;
      continue;
    }
    if (t === StackType.INVALID && env.privileged) continue;
    reject(`invalid read from stack off ${off}+${i} size ${size}`);
  }
  if (dst) {
    markUnknown(dst);
    if (zeros === size) markKnown(dst, 0n);
  }
}

/** save_register_state: `r` spilled into the top `size` bytes of slot `s`, the rest MISC (ZERO kept). */
function saveSpill(s: StackSlot, r: Reg, size: number): void {
  s.spilled = cloneReg(r);
  let i = 8;
  for (; i > 8 - size; i--) s.types[i - 1] = StackType.SPILL;
  for (; i > 0; i--) if (s.types[i - 1] !== StackType.ZERO) s.types[i - 1] = StackType.MISC;
}

/** check_stack_write_fixed_off. `value` is the stored register (undefined for BPF_ST), `imm` the ST immediate. */
function stackWriteFixed(env: Env, f: FuncState, off: number, size: number, value: Reg | undefined, imm: number | undefined, valueRegno = -1): void {
  const slot = -off - 1;
  const spi = Math.floor(slot / 8);
  destroyDynptrSlot(env, f, spi);
  const s = slotAt(f, spi);
  if (!env.privileged && isSpilled(s) && s.spilled.type !== 'scalar' && size !== 8) reject('attempt to corrupt spilled pointer on stack');
  if (value && off % 8 === 0 && value.type === 'scalar' && env.privileged) {
    const fits = value.umax < (size >= 8 ? 1n << 64n : 1n << BigInt(size * 8));
    if (fits && !value.id && !tnumIsConst(value.var)) value.id = env.nextId();
    saveSpill(s, value, size);
    if (!fits) s.spilled.id = 0;
    return;
  }
  if (!value && off % 8 === 0 && imm !== undefined && env.privileged) {
    const tmp = scalarUnknown();
    markKnown(tmp, BigInt(imm));
    saveSpill(s, tmp, size);
    return;
  }
  if (value && value.type !== 'scalar' && value.type !== 'not_init') {
    if (size !== 8) reject('invalid size of register spill');
    if (value.type === 'stack' && f !== curFrame(env.cur)) reject('cannot spill pointers to stack into stack frame of the caller');
    saveSpill(s, value, size);
    return;
  }
  markNotInit(s.spilled);
  // A slot that held a spilled register is scrubbed (is_stack_slot_special + scrub_spilled_slot).
  if (s.types[7] === StackType.SPILL) for (let i = 0; i < 8; i++) if (s.types[i] !== StackType.INVALID) s.types[i] = StackType.MISC;
  let type: number = StackType.MISC;
  if ((value && isNullScalar(value)) || (!value && imm === 0)) {
    type = StackType.ZERO;
    // STACK_ZERO records the value: the stored register is precise (backtracking cannot follow it).
    if (value && valueRegno >= 0) env.preciseDemand |= 1 << valueRegno;
  }
  for (let i = 0; i < size; i++) s.types[(slot - i) % 8] = type as StackType;
}

/** check_stack_write_var_off (privileged rules). */
function stackWriteVar(env: Env, f: FuncState, minOff: number, maxOff: number, value: Reg | undefined, imm: number | undefined, valueRegno = -1): void {
  const writingZero = (value && isNullScalar(value)) || (!value && imm === 0);
  // Zeros recorded as STACK_ZERO: the stored register is precise (check_stack_write_var_off).
  if (writingZero && value && valueRegno >= 0) env.preciseDemand |= 1 << valueRegno;
  for (let i = minOff; i < maxOff; i++) destroyDynptrSlot(env, f, Math.floor((-i - 1) / 8));
  for (let i = minOff; i < maxOff; i++) {
    const slot = -i - 1;
    const spi = Math.floor(slot / 8);
    const s = slotAt(f, spi);
    markNotInit(s.spilled);
    const idx = slot % 8;
    const t = s.types[idx]!;
    if (t === StackType.INVALID && !env.privileged) reject(`uninit stack in range of var-offset write prohibited for !root; insn ${env.insnIdx}, off: ${i}`);
    s.types[idx] = writingZero && t === StackType.ZERO ? StackType.ZERO : StackType.MISC;
  }
}

/** check_stack_read_var_off via check_stack_range_initialized. */
function stackReadVar(env: Env, f: FuncState, reg: Reg, regno: number, minOff: number, maxOff: number, size: number, dst: Reg | undefined): void {
  let zeros = 0;
  for (let i = minOff; i < maxOff; i++) {
    const slot = -i - 1;
    const spi = Math.floor(slot / 8);
    const s = f.stack[spi];
    const t = s?.types[slot % 8] ?? StackType.INVALID;
    if (t === StackType.MISC) continue;
    if (t === StackType.ZERO) {
      zeros++;
      continue;
    }
    if (t === StackType.INVALID && env.privileged) continue;
    if (isSpilled(s) && (s!.spilled.type === 'scalar' || env.privileged)) continue;
    reject(`invalid read from stack R${regno} var_off ${tnumString(reg.var)}+${i - minOff} size ${size}`);
  }
  if (dst) {
    markUnknown(dst);
    if (zeros === maxOff - minOff) markKnown(dst, 0n);
  }
}

/** Reads a constant from a frozen read-only map's initial data (bpf_map_direct_read), little-endian. */
function directRead(data: Uint8Array, off: number, size: number): bigint | undefined {
  if (off < 0 || off + size > data.length) return undefined;
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[off + i]!);
  return v;
}

/** The kernel struct behind a map type (its map_btf_id), as check_ptr_to_map_access names it. */
function mapStructName(type: number | undefined): string {
  switch (type) {
    case 1: // HASH
    case 5: // PERCPU_HASH
    case 9: // LRU_HASH
    case 10: // LRU_PERCPU_HASH
      return 'bpf_htab';
    case 2: // ARRAY
    case 3: // PROG_ARRAY
    case 6: // PERCPU_ARRAY
      return 'bpf_array';
    case 14: // DEVMAP
      return 'bpf_dtab';
    case 27: // RINGBUF
      return 'bpf_ringbuf_map';
    default:
      return 'bpf_map';
  }
}

/**
 * check_mem_access: a load (`write` false, result into `dst`) or store (of `value`, or the ST
 * immediate) of `size` bytes at `regs[regno] + off`.
 */
export function checkMemAccess(
  env: Env,
  regno: number,
  off0: number,
  size: number,
  write: boolean,
  dst: Reg | undefined,
  value: Reg | undefined,
  imm: number | undefined,
  signExtend: boolean,
  strictAlignment = false,
  valueRegno = -1,
): void {
  const frame = curFrame(env.cur);
  const reg = frame.regs[regno]!;
  // Unprivileged: a pointer stored anywhere but the stack leaks its address.
  const leaks = (where: string): void => {
    if (write && value && !env.privileged && isPointer(value)) reject(`R${valueRegno} leaks addr into ${where}`);
  };
  checkPtrAlignment(reg, off0, size, strictAlignment || env.strictAlignment);
  const off = off0 + reg.off;
  let loaded = false;
  if (reg.maybeNull) reject(`R${regno} invalid mem access '${regTypeStr(reg)}'`);
  switch (reg.type) {
    case 'map_value': {
      leaks('map');
      const map = reg.map!;
      checkMapAccessType(map, off, size, write);
      checkMemRegionAccess(env, reg, regno, off, size, map.valueSize, false);
      checkMapFields(reg, off, size);
      if (!write && dst) {
        const frozen = (map as VerifierMap).frozenData;
        const v = frozen && tnumIsConst(reg.var) && (map.flags & BPF_F_RDONLY_PROG) !== 0 ? directRead(frozen, off + Number(reg.var.value), size) : undefined;
        markUnknown(dst);
        if (v !== undefined) markKnown(dst, signExtend ? BigInt.asIntN(size * 8, v) : v);
        loaded = true;
      }
      break;
    }
    case 'map_key': {
      if (write) reject(`write to change key R${regno} not allowed`);
      checkMemRegionAccess(env, reg, regno, off, size, reg.map!.keySize, false);
      if (dst) {
        markUnknown(dst);
        loaded = true;
      }
      break;
    }
    case 'tp_buffer': {
      // check_tp_buffer_access: a writable tracepoint's buffer, at a constant non-negative offset (its size is checked at attach).
      leaks('tp_buffer');
      if (off0 < 0) reject(`R${regno} invalid tracepoint buffer access: off=${off0}, size=${size}`);
      if (!tnumIsConst(reg.var) || reg.var.value !== 0n) reject(`R${regno} invalid variable buffer offset: off=${off0}, var_off=${tnumString(reg.var)}`);
      if (!write && dst) {
        markUnknown(dst);
        loaded = true;
      }
      break;
    }
    case 'mem': {
      leaks('mem');
      if (reg.maybeNull) reject(`R${regno} invalid mem access '${regTypeStr(reg)}'`);
      if (write && reg.rdonly) reject(`R${regno} cannot write into ${regTypeStr(reg)}`);
      checkMemRegionAccess(env, reg, regno, off, size, reg.memSize, false);
      if (!write && dst) {
        markUnknown(dst);
        loaded = true;
      }
      break;
    }
    case 'ctx': {
      leaks('ctx');
      checkPtrOffReg(reg, regno, false);
      const ops = env.ops;
      if (!ops) reject(`invalid bpf_context access off=${off} size=${size}`);
      const res = ops.checkAccess(off, size, write, signExtend, env.privileged, env.attachType);
      if ('reason' in res) {
        if (res.detail) env.log.print(`${res.detail}\n`);
        reject(res.reason);
      }
      if (!write && dst) {
        if (res.type === 'scalar') markUnknown(dst);
        else {
          const t = res.type === 'sock_common' || res.type === 'sock' ? res.type : res.type;
          copyReg(dst, pointer(t));
          if ((t === 'sock' || t === 'sock_common') && !res.notNull) dst.maybeNull = true;
          // netfilter's ctx->state / ctx->skb: PTR_TO_BTF_ID | PTR_TRUSTED to the named kernel struct.
          if (t === 'btf_id') {
            dst.btf = res.btf ?? '';
            dst.btfFlags = res.trusted === false ? 0 : BTF_TRUSTED;
            if (res.maybeNull) dst.maybeNull = true;
          }
          if (dst.maybeNull) dst.id = env.nextId();
        }
        loaded = true;
      }
      break;
    }
    case 'flow_keys': {
      // check_flow_keys_access: a fixed offset inside struct bpf_flow_keys (56 bytes); stores allowed.
      leaks('flow keys');
      if (off < 0 || off + size > 56) reject(`invalid access to flow keys off=${off} size=${size}`);
      if (!write && dst) {
        markUnknown(dst);
        loaded = true;
      }
      break;
    }
    case 'stack': {
      const [minOff, maxOff] = checkStackBounds(env, reg, regno, off, size, write ? 'write' : 'read');
      const f = stackFrameOf(env, reg);
      if (tnumIsConst(reg.var)) {
        const o = off + Number(BigInt.asIntN(64, reg.var.value));
        if (write) stackWriteFixed(env, f, o, size, value, imm, valueRegno);
        else stackReadFixed(env, f, o, size, dst, regno);
      } else if (write) stackWriteVar(env, f, minOff, maxOff, value, imm, valueRegno);
      else stackReadVar(env, f, reg, regno, minOff, maxOff, size, dst);
      loaded = !write && dst !== undefined;
      break;
    }
    case 'pkt':
    case 'pkt_meta': {
      if (write && !pktWritable(env)) reject('cannot write into packet');
      leaks('packet');
      checkPacketAccess(reg, regno, off, size, false);
      if (!write && dst) {
        markUnknown(dst);
        loaded = true;
      }
      break;
    }
    case 'map_ptr': {
      if (!env.privileged) reject(`'struct ${mapStructName(reg.map?.type)}' access is allowed only to CAP_PERFMON and CAP_SYS_ADMIN`);
      if (off < 0) reject(`R${regno} is ${mapStructName(reg.map?.type)} invalid negative access: off=${off}`);
      if (write) reject(`only read from ${mapStructName(reg.map?.type)} is supported`);
      if (env.kernelBtf) {
        // The map type's kernel struct walked as btf_struct_access does (map->ops: a BTF pointer).
        mapStructLoad(env.kernelBtf, mapStructName(reg.map?.type), off, size, dst);
        if (dst) loaded = true;
        break;
      }
      // Without the kernel's BTF: struct bpf_map's map_type, key_size, value_size, max_entries, map_extra, map_flags, id... are scalars.
      if (off < 16 || off + size > 48) reject(`bpfkit: reading struct bpf_map at off=${off} size=${size} is not modelled (pass kernelBtf)`);
      if (dst) {
        markUnknown(dst);
        loaded = true;
      }
      break;
    }
    case 'sock':
    case 'sock_common':
    case 'tcp_sock': {
      if (write) reject(`R${regno} cannot write into ${regTypeStr(reg)}`);
      if (reg.smin < 0n) reject(`R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`);
      if (!sockAccessOk(reg.type, off, size)) reject(`R${regno} invalid ${regTypeStr(reg)} access off=${off} size=${size}`);
      if (dst) {
        markUnknown(dst);
        loaded = true;
      }
      break;
    }
    case 'btf_id': {
      leaks('mem');
      checkPtrToBtfAccess(env, reg, regno, off, size, write, dst);
      loaded = !write && dst !== undefined;
      break;
    }
    default:
      reject(`R${regno} invalid mem access '${regTypeStr(reg)}'`);
  }
  if (loaded && dst && size < 8 && dst.type === 'scalar') {
    if (signExtend) coerceRegToSizeSx(dst, size);
    else coerceRegToSize(dst, size);
  }
}

const ALIGN_DESC: Partial<Record<string, string>> = { map_key: 'key ', map_value: 'value ', ctx: 'context ', flow_keys: 'flow keys ', stack: 'stack ', sock: 'sock ', sock_common: 'sock_common ', tcp_sock: 'tcp_sock ' };

/** check_ptr_alignment: the stack is always strict; other pointers when `strict` (atomics, BPF_F_STRICT_ALIGNMENT). */
export function checkPtrAlignment(reg: Reg, off: number, size: number, strict0: boolean): void {
  const strict = strict0 || reg.type === 'stack';
  if (!strict || size === 1) return;
  const varText = tnumIsConst(reg.var) ? BigInt.asIntN(64, reg.var.value).toString() : tnumString(reg.var);
  if (reg.type === 'pkt' || reg.type === 'pkt_meta') {
    if (!tnumIsAligned(tnumAdd(reg.var, tnumConst(BigInt(2 + reg.off + off))), size)) reject(`misaligned packet access off 2+${varText}+${reg.off}+${off} size ${size}`);
    return;
  }
  if (!tnumIsAligned(tnumAdd(reg.var, tnumConst(BigInt(reg.off + off))), size)) reject(`misaligned ${ALIGN_DESC[reg.type] ?? ''}access off ${varText}+${reg.off}+${off} size ${size}`);
}

/** bpf_sock_is_valid_access / bpf_sock_common_is_valid_access (struct bpf_sock, 80 bytes). */
function sockAccessOk(type: string, off: number, size: number): boolean {
  // bpf_tcp_sock_is_valid_access: u64 only at bytes_received (80) and bytes_acked (88), u32 elsewhere up to icsk_retransmits.
  if (type === 'tcp_sock') return off >= 0 && off < 112 && off % size === 0 && size === (off === 80 || off === 88 ? 8 : 4);
  if (off < 0 || off >= 80 || off % size !== 0) return false;
  if (type === 'sock_common' && off >= 8 && off < 24) return false;
  const narrow = size <= 4 && (size & (size - 1)) === 0;
  if (off === 4 || off === 8 || off === 12 || off === 44 || off === 72 || off === 76 || (off >= 24 && off < 44) || (off >= 52 && off < 72)) return narrow;
  if (off >= 48 && off < 52) return off + size <= 50 ? narrow : size === 4 && off === 48;
  return size === 4;
}

/** may_access_direct_pkt_data for writes: XDP, TC, lwt_xmit (12), sk_skb (14), sk_msg (16) and cgroup_sockopt (25, its option buffer) may write packets; socket filters, cgroup_skb, lwt_in/out/seg6local, sk_reuseport and flow dissectors may not. */
export function pktWritable(env: Env): boolean {
  // cgroup_sockopt (25): optval..optval_end is the option buffer, writable.
  return env.progType === 6 || env.progType === 3 || env.progType === 4 || env.progType === 12 || env.progType === 14 || env.progType === 16 || env.progType === 25;
}

/** check_helper_mem_access: a helper reads or writes `size` bytes through `regs[regno]`. */
export function checkHelperMemAccess(env: Env, regno: number, size: number, write: boolean, zeroOk: boolean, rawMode: boolean): void {
  const frame = curFrame(env.cur);
  const reg = frame.regs[regno]!;
  switch (reg.type) {
    case 'pkt':
    case 'pkt_meta':
      checkPacketAccess(reg, regno, reg.off, size, zeroOk);
      return;
    case 'map_key':
      checkMemRegionAccess(env, reg, regno, reg.off, size, reg.map!.keySize, zeroOk);
      return;
    case 'map_value':
      checkMapAccessType(reg.map!, reg.off, size, write);
      checkMemRegionAccess(env, reg, regno, reg.off, size, reg.map!.valueSize, zeroOk);
      checkMapFields(reg, reg.off, size);
      return;
    case 'mem':
      if (reg.rdonly && write) reject(`R${regno} cannot write into ${regTypeStr(reg)}`);
      checkMemRegionAccess(env, reg, regno, reg.off, size, reg.memSize, zeroOk);
      return;
    case 'stack':
      checkStackRangeInitialized(env, reg, regno, reg.off, size, zeroOk, write, rawMode);
      return;
    default:
      if (zeroOk && size === 0 && isNullScalar(reg)) return;
      reject(`R${regno} type=${regTypeStr(reg)} expected=fp`);
  }
}

/** check_stack_range_initialized. */
function checkStackRangeInitialized(env: Env, reg: Reg, regno: number, off: number, size: number, zeroOk: boolean, write: boolean, rawMode0: boolean): void {
  if (size === 0 && !zeroOk) reject('invalid zero-sized read');
  let rawMode = rawMode0;
  checkStackBounds(env, reg, regno, off, size, write ? 'write' : 'read');
  let minOff: number;
  let maxOff: number;
  if (tnumIsConst(reg.var)) {
    minOff = maxOff = Number(BigInt.asIntN(64, reg.var.value)) + off;
  } else {
    rawMode = false;
    minOff = Number(reg.smin) + off;
    maxOff = Number(reg.smax) + off;
  }
  const f = stackFrameOf(env, reg);
  if (rawMode) {
    for (let i = 0; i < size; i++) stackWriteFixed(env, f, minOff + i, 1, undefined, undefined);
    return;
  }
  if (tnumIsConst(reg.var)) unallocatedRead(env, f, regno, minOff, size);
  for (let i = minOff; i < maxOff + size; i++) {
    const slot = -i - 1;
    const spi = Math.floor(slot / 8);
    const s = slotAt(f, spi);
    const idx = slot % 8;
    const t = s.types[idx]!;
    if (t === StackType.MISC) continue;
    if (t === StackType.ZERO || (t === StackType.INVALID && env.privileged)) {
      if (write) s.types[idx] = StackType.MISC;
      continue;
    }
    if (isSpilled(s) && (s.spilled.type === 'scalar' || env.privileged)) {
      if (write) {
        markUnknown(s.spilled);
        for (let j = 0; j < 8; j++) if (s.types[j] === StackType.SPILL) s.types[j] = StackType.MISC;
      }
      continue;
    }
    if (tnumIsConst(reg.var)) reject(`invalid${write ? ' indirect' : ''} read from stack R${regno} off ${minOff}+${i - minOff} size ${size}`);
    reject(`invalid${write ? ' indirect' : ''} read from stack R${regno} var_off ${tnumString(reg.var)}+${i - minOff} size ${size}`);
  }
}

/** Whether `r` is a packet pointer (re-export for callers). */
export const isPkt = isPktPointer;
