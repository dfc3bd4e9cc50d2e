// Packet pointers invalidated by calls that may move the packet: clear_all_pkt_pointers, and which
// subprograms may change packet data (a helper that does, a tail call, or a subprogram that does).
import { helperById } from '../isa/helpers.js';
import type { Env } from './env.js';
import { markNotInit, markUnknown } from './reg-state.js';
import { forEachReg } from './state.js';

const BPF_FUNC_TAIL_CALL = 12;

/**
 * clear_all_pkt_pointers: every packet pointer of every frame (and slices of skb/xdp dynptrs)
 * becomes unknown (privileged; unreadable unprivileged), as after bpf_skb_pull_data.
 */
export function clearPktPointers(env: Env): void {
  forEachReg(
    env.cur,
    (r) => r.type === 'pkt' || r.type === 'pkt_meta' || r.type === 'pkt_end' || (r.type === 'mem' && (r.dynptr === 3 || r.dynptr === 4)),
    (r) => {
      if (env.privileged) markUnknown(r);
      else markNotInit(r);
    },
  );
}

/**
 * Whether a call of helper `id` invalidates the caller's packet pointers. Not bpf_tail_call in the
 * program itself: a tail call that returns failed and changed nothing (the running kernel keeps
 * the pointers); it marks a global function that makes it, below.
 */
export function helperChangesPktData(id: number): boolean {
  return id !== BPF_FUNC_TAIL_CALL && helperById(id)?.changesPktData === true;
}

const cache = new WeakMap<Env, boolean[]>();

/**
 * The kernel's subprog_info[].changes_pkt_data: the subprogram, or one it calls, calls a helper
 * that changes packet data or makes a tail call. A call to such a global function invalidates
 * the caller's packet pointers.
 */
export function subprogChangesPktData(env: Env, subprog: number): boolean {
  let known = cache.get(env);
  if (!known) {
    known = computeAll(env);
    cache.set(env, known);
  }
  return known[subprog] ?? false;
}

function computeAll(env: Env): boolean[] {
  const subs = env.cfg.subprogs;
  const direct = subs.map(() => false);
  const calls: number[][] = subs.map(() => []);
  subs.forEach((sp, k) => {
    for (let i = sp.start; i < sp.end; i++) {
      const insn = env.prog[i];
      if (!insn || insn.code !== 0x85) continue;
      // A tail call marks its subprogram too (the called program may move the packet and a
      // global function's caller cannot tell whether it ran); in the main program it does not
      // invalidate anything (a failed tail call changed nothing).
      if (insn.src === 0 && (insn.imm === BPF_FUNC_TAIL_CALL || helperChangesPktData(insn.imm))) direct[k] = true;
      if (insn.src === 1) {
        const callee = subs.findIndex((s) => s.start === i + insn.imm + 1);
        if (callee >= 0) calls[k]!.push(callee);
      }
    }
  });
  // Propagate through calls until nothing changes (call graphs are small).
  for (let changed = true; changed; ) {
    changed = false;
    for (let k = 0; k < subs.length; k++) {
      if (!direct[k] && calls[k]!.some((c) => direct[c])) {
        direct[k] = true;
        changed = true;
      }
    }
  }
  return direct;
}
