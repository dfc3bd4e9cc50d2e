// bpf_spin_lock: taking and releasing the lock (process_spin_lock) and what a program may call while it holds one.
import type { Instruction } from '../isa/instruction.js';
import { PseudoCall } from '../isa/opcodes.js';
import { type Env, reject } from './env.js';
import { kfuncNameById } from './kfunc-resolve.js';
import type { VerifierMap } from './memory.js';
import type { Reg } from './reg-state.js';
import { tnumIsConst } from './tnum.js';

const BPF_FUNC_SPIN_UNLOCK = 94;

/** Kfuncs a program may call while holding a bpf_spin_lock (kfunc_spin_allowed: graph API, bpf_iter_num_*, resilient locks). */
const SPIN_ALLOWED_KFUNCS: ReadonlySet<string> = new Set([
  'bpf_list_push_front_impl', 'bpf_list_push_back_impl', 'bpf_list_pop_front', 'bpf_list_pop_back', 'bpf_list_front', 'bpf_list_back',
  'bpf_rbtree_add_impl', 'bpf_rbtree_remove', 'bpf_rbtree_first', 'bpf_rbtree_root', 'bpf_rbtree_left', 'bpf_rbtree_right', 'bpf_refcount_acquire_impl',
  'bpf_iter_num_new', 'bpf_iter_num_next', 'bpf_iter_num_destroy',
  'bpf_res_spin_lock', 'bpf_res_spin_unlock', 'bpf_res_spin_lock_irqsave', 'bpf_res_spin_unlock_irqrestore',
]);

/** do_check: under a bpf_spin_lock only bpf_spin_unlock, the kfuncs above and static bpf-to-bpf calls are allowed. */
export function checkCallUnderLock(env: Env, insn: Instruction): void {
  if (insn.src === PseudoCall.HELPER && insn.imm !== BPF_FUNC_SPIN_UNLOCK) reject('function calls are not allowed while holding a lock');
  if (insn.src === PseudoCall.KFUNC_CALL) {
    const name = insn.off === 0 ? (insn.reference ?? kfuncNameById(env.kernelBtf, insn.imm)) : undefined;
    if (name === undefined || !SPIN_ALLOWED_KFUNCS.has(name)) reject('function calls are not allowed while holding a lock');
  }
}

/**
 * process_spin_lock: bpf_spin_lock/bpf_spin_unlock on a map value's lock at its constant offset.
 * One lock at a time; the unlock must name the same value (map, and the pointer's id).
 */
export function processSpinLock(env: Env, reg: Reg, regno: number, isLock: boolean): void {
  if (!tnumIsConst(reg.var)) reject(`R${regno} doesn't have constant offset. bpf_spin_lock has to be at the constant offset`);
  const map = reg.map!;
  const fields = (map as VerifierMap).fields;
  if (fields === undefined && !map.btfValueTypeId) reject(`map '${map.name}' has to have BTF in order to use bpf_spin_lock`);
  const lock = (fields ?? []).find((f) => f.name === 'bpf_spin_lock');
  if (!lock) reject(`map '${map.name}' has no valid bpf_spin_lock`);
  const off = BigInt.asIntN(64, reg.var.value) + BigInt(reg.off);
  if (off !== BigInt(lock.off)) reject(`off ${off} doesn't point to 'struct bpf_spin_lock' that is at ${lock.off}`);
  const cur = env.cur;
  if (isLock) {
    if (cur.activeLock) reject('Locking two bpf_spin_locks are not allowed');
    cur.activeLock = { map, id: reg.id };
    return;
  }
  if (!cur.activeLock) reject('bpf_spin_unlock without taking a lock');
  if (cur.activeLock.map !== map || cur.activeLock.id !== reg.id) reject('bpf_spin_unlock of different lock');
  cur.activeLock = undefined;
}
