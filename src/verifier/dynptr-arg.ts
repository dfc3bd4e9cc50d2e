// Dynptr arguments of helpers and kfuncs: the kernel's process_dynptr_func, mark_stack_slots_dynptr and unmark_stack_slots_dynptr.
//
// A dynptr lives in two stack slots (16 bytes) marked STACK_DYNPTR; the first slot's spilled
// register carries its kind and id. A ring buffer dynptr (bpf_ringbuf_reserve_dynptr) is
// referenced: its slots carry the reference id until bpf_ringbuf_submit/discard_dynptr.
import { type Env, Rejected, reject } from './env.js';
import { checkMemAccess, destroyDynptrSlot, stackFrameOf } from './memory.js';
import { copyReg, DYNPTR_FIRST, DynptrKind, markNotInit, pointer, type Reg } from './reg-state.js';
import { curFrame, ownSlot, StackType } from './state.js';
import { tnumIsConst } from './tnum.js';

const MAX_BPF_STACK = 512;

/** dynptr_type_str, by kind. */
const KIND_NAMES: Readonly<Record<number, string>> = { [DynptrKind.LOCAL]: 'local', [DynptrKind.RINGBUF]: 'ringbuf', [DynptrKind.SKB]: 'skb', [DynptrKind.XDP]: 'xdp' };

/** What a dynptr argument is: its id, kind and (ring buffer dynptrs) reference. */
export interface DynptrArg {
  readonly id: number;
  readonly kind: number;
  readonly refObjId: number;
}

/** How a call uses its dynptr argument (the arg type's MEM_UNINIT / MEM_RDONLY / DYNPTR_TYPE_* flags). */
export interface DynptrUse {
  /** MEM_UNINIT: the call creates the dynptr in these slots. */
  readonly uninit: boolean;
  /** MEM_RDONLY: the call neither changes nor destroys the dynptr (a const dynptr is accepted). */
  readonly rdonly: boolean;
  /** DYNPTR_TYPE_*: the kind created, or the kind required (0: any). */
  readonly kind: number;
}

/** The stack slot index of a dynptr at `r` (dynptr_get_spi); -1 when out of the allocated stack (-ERANGE). */
export function dynptrSpi(env: Env, r: Reg): number {
  if (!tnumIsConst(r.var)) reject('dynptr has to be at a constant offset');
  const off = r.off + Number(BigInt.asIntN(64, r.var.value));
  if (off % 8 !== 0) reject(`cannot pass in dynptr at an offset=${off}`);
  const spi = (-off - 1) >> 3;
  if (spi + 1 < 2) reject(`cannot pass in dynptr at an offset=${off}`);
  if (off < -MAX_BPF_STACK) reject(`cannot pass in dynptr at an offset=${off}`);
  const f = stackFrameOf(env, r);
  return spi < f.stack.length ? spi : -1;
}

/**
 * process_dynptr_func for the register `regno` (a stack pointer, or a const dynptr pointer a
 * callback got): creates the dynptr when `use.uninit` (two 8-byte writes, then the slots; a
 * ring buffer dynptr acquires a reference), else checks it is initialised and of the required
 * kind. Returns what it found or made.
 */
export function processDynptrArg(env: Env, regno: number, use: DynptrUse): DynptrArg {
  const reg = curFrame(env.cur).regs[regno]!;
  if (reg.type !== 'stack' && reg.type !== 'dynptr') reject(`arg#${regno - 1} expected pointer to stack or const struct bpf_dynptr`);
  if (use.uninit) {
    if (reg.type === 'dynptr') reject('Dynptr has to be an uninitialized dynptr');
    let spi: number;
    try {
      spi = dynptrSpi(env, reg);
    } catch (e) {
      if (e instanceof Rejected) throw new Rejected(`${e.message}\nDynptr has to be an uninitialized dynptr`);
      throw e;
    }
    for (let i = 0; i < 16; i += 8) checkMemAccess(env, regno, i, 8, true, undefined, undefined, undefined, false);
    const f = stackFrameOf(env, reg);
    if (spi < 0) spi = dynptrSpi(env, reg);
    destroyDynptrSlot(env, f, spi);
    destroyDynptrSlot(env, f, spi - 1);
    const id = env.nextId();
    let refObjId = 0;
    if (use.kind === DynptrKind.RINGBUF) {
      refObjId = env.nextId();
      env.cur.refs.push({ id: refObjId, insn: env.insnIdx });
    }
    for (const [k, first] of [[spi, true], [spi - 1, false]] as const) {
      const slot = ownSlot(f, k);
      for (let i = 0; i < 8; i++) slot.types[i] = StackType.DYNPTR;
      copyReg(slot.spilled, pointer('dynptr'));
      slot.spilled.dynptr = use.kind | (first ? DYNPTR_FIRST : 0);
      slot.spilled.id = id;
      slot.spilled.refObjId = refObjId;
    }
    return { id, kind: use.kind, refObjId };
  }
  if (reg.type === 'dynptr' && !use.rdonly) reject('cannot pass pointer to const bpf_dynptr, the helper mutates it');
  let spilled: Reg;
  if (reg.type === 'dynptr') spilled = reg;
  else {
    const spi = dynptrSpi(env, reg);
    const f = stackFrameOf(env, reg);
    const a = spi >= 0 ? f.stack[spi] : undefined;
    const b = spi >= 1 ? f.stack[spi - 1] : undefined;
    const ok = a && b && (a.spilled.dynptr & DYNPTR_FIRST) !== 0 && a.types.every((t) => t === StackType.DYNPTR) && b.types.every((t) => t === StackType.DYNPTR);
    if (!ok) reject(`Expected an initialized dynptr as arg #${regno - 1}`);
    spilled = a!.spilled;
  }
  const kind = spilled.dynptr & 7;
  if (use.kind && kind !== use.kind) reject(`Expected a dynptr of type ${KIND_NAMES[use.kind] ?? '?'} as arg #${regno - 1}`);
  return { id: spilled.id, kind, refObjId: spilled.refObjId };
}

/**
 * The stack pointer `reg` names a referenced dynptr (check_func_arg for an OBJ_RELEASE dynptr
 * argument): its reference id; the kernel's messages otherwise.
 */
export function dynptrReleaseRef(env: Env, reg: Reg, regno: number): number {
  if (reg.type !== 'stack') reject('cannot release unowned const bpf_dynptr');
  let spi = -1;
  try {
    spi = dynptrSpi(env, reg);
  } catch (e) {
    if (!(e instanceof Rejected)) throw e;
  }
  const slot = spi >= 0 ? stackFrameOf(env, reg).stack[spi] : undefined;
  const ref = slot && slot.types[0] === StackType.DYNPTR ? slot.spilled.refObjId : 0;
  if (!ref) reject(`arg ${regno} is an unacquired reference`);
  return ref;
}

/** unmark_stack_slots_dynptr for a released ring buffer dynptr: its slots (and clones') become invalid stack. */
export function invalidateDynptrSlots(env: Env, reg: Reg, refObjId: number): void {
  const f = stackFrameOf(env, reg);
  for (let k = 0; k < f.stack.length; k++) {
    const s = f.stack[k];
    if (!s || s.types[0] !== StackType.DYNPTR || s.spilled.refObjId !== refObjId) continue;
    const slot = ownSlot(f, k);
    for (let i = 0; i < 8; i++) slot.types[i] = StackType.INVALID;
    markNotInit(slot.spilled);
  }
}
