// bpf_fastcall stack accounting: the kernel's mark_fastcall_patterns, check_fastcall_stack_contract and remove_fastcall_spills_fills, as they change a subprogram's stack depth.
//
// Around a call the JIT inlines (bpf_get_smp_processor_id on x86-64, the bpf_cast_to_kern_ctx and
// bpf_rdonly_cast kfuncs), clang spills the caller-saved registers the call does not touch to the
// lowest stack slots and fills them back after it:
//
//     *(u64 *)(r10 - 8) = r1; call bpf_get_smp_processor_id; r1 = *(u64 *)(r10 - 8)
//
// The kernel removes such spill/fill pairs, and with them their slots from the subprogram's stack
// depth, when nothing else in the subprogram touches those slots. check_max_stack_depth then
// counts the smaller depth (verifier_bpf_fastcall: cumulative_stack_depth).
import { Class, Mode, PseudoCall } from '../isa/opcodes.js';
import type { Instruction } from '../isa/instruction.js';
import { helperById } from '../isa/helpers.js';
import { BpfFuncId } from '../isa/uapi.generated.js';
import { jumpTarget, type SlotProgram } from './cfg.js';

const STX_DW = Class.STX | Mode.MEM | 0x18;
const LDX_DW = Class.LDX | Mode.MEM | 0x18;
/** r0-r5. */
const ALL_CALLER_SAVED = 0x3f;
const S16_MIN = -32768;

/** Helpers with allow_fastcall that this kernel's x86-64 JIT inlines (verifier_inlines_helper_call). */
const INLINED_HELPERS: ReadonlySet<number> = new Set([BpfFuncId.get_smp_processor_id]);
/** Helpers whose proto has allow_fastcall (the pattern is kept, not removed, when not inlined). */
const FASTCALL_HELPERS: ReadonlySet<number> = new Set([BpfFuncId.get_smp_processor_id]);
/** KF_FASTCALL kfuncs and their argument counts (always inlined). */
const FASTCALL_KFUNCS: Readonly<Record<string, number>> = { bpf_cast_to_kern_ctx: 1, bpf_rdonly_cast: 2 };

/** The registers a call clobbers as bpf_fastcall sees them (r0 when it returns a value, then its arguments), and whether it is inlined. */
function callFacts(insn: Instruction): { clobbered: number; inlined: boolean } | undefined {
  if (insn.src === PseudoCall.HELPER) {
    const h = helperById(insn.imm);
    if (!h) return undefined;
    // helper_fastcall_clobber_mask: r0 for a non-void result, r1..rN for the arguments.
    const proto = h.protos[0];
    if (!proto) return undefined;
    let mask = proto.ret.base === 'RET_VOID' ? 0 : 1;
    proto.args.forEach((_a, i) => (mask |= 1 << (i + 1)));
    return { clobbered: mask, inlined: FASTCALL_HELPERS.has(insn.imm) && INLINED_HELPERS.has(insn.imm) };
  }
  if (insn.src === PseudoCall.KFUNC_CALL) {
    const n = insn.reference === undefined ? undefined : FASTCALL_KFUNCS[insn.reference];
    if (n === undefined) return undefined;
    let mask = 1;
    for (let i = 1; i <= n; i++) mask |= 1 << i;
    return { clobbered: mask, inlined: true };
  }
  return undefined;
}

/**
 * The stack depth of each subprogram after remove_fastcall_spills_fills: `depth[k]` unchanged,
 * or the depth above the removed spill slots when subprogram k's only use of its lowest slots is
 * the spill/fill pairs of inlined calls.
 */
export function fastcallStackDepths(slots: SlotProgram, subprogs: readonly { start: number; end: number }[], depth: readonly number[]): number[] {
  const targets = new Set<number>();
  slots.forEach((insn, i) => {
    if (!insn) return;
    const cls = insn.code & 0x07;
    if ((cls === Class.JMP || cls === Class.JMP32) && insn.code !== (Class.JMP | 0x90) && insn.code !== (Class.JMP | 0x80)) targets.add(jumpTarget(insn, i));
  });
  return subprogs.map((sp, k) => {
    let lowest = 0;
    for (let i = sp.start; i < sp.end; i++) {
      const insn = slots[i];
      if (insn && insn.code === STX_DW && insn.dst === 10) lowest = Math.min(lowest, insn.off);
    }
    let stackOff = 0;
    let keep = false;
    let modified = false;
    const pattern = new Set<number>();
    for (let c = sp.start; c < sp.end; c++) {
      const call = slots[c];
      if (!call || call.code !== (Class.JMP | 0x80)) continue;
      const facts = callFacts(call);
      if (!facts || facts.clobbered === ALL_CALLER_SAVED) continue;
      let expected = ~facts.clobbered & ALL_CALLER_SAVED;
      let i = 1;
      let off = lowest;
      for (; i <= 6; i++, off += 8) {
        if (c - i < sp.start || c + i >= sp.end) break;
        if (targets.has(c - i + 1) || targets.has(c + i)) break;
        const stx = slots[c - i];
        const ldx = slots[c + i];
        if (!stx || !ldx || stx.code !== STX_DW || ldx.code !== LDX_DW || stx.dst !== 10 || ldx.src !== 10) break;
        if (stx.src !== ldx.dst || ((1 << stx.src) & expected) === 0) break;
        if (stx.off !== off || ldx.off !== off) break;
        expected &= ~(1 << stx.src);
        pattern.add(c - i).add(c + i);
      }
      if (i === 1) continue;
      if (facts.inlined) modified = true;
      else keep = true;
      stackOff = Math.min(stackOff, off);
    }
    if (!modified || keep) return depth[k] ?? 0;
    // check_fastcall_stack_contract: anything else reaching below stackOff (or any pointer to the stack) keeps the slots.
    for (let i = sp.start; i < sp.end; i++) {
      const insn = slots[i];
      if (!insn || pattern.has(i)) continue;
      const cls = insn.code & 0x07;
      const isMem = cls === Class.LDX || cls === Class.ST || cls === Class.STX;
      if (isMem && (cls === Class.LDX ? insn.src : insn.dst) === 10 && insn.off < stackOff) stackOff = S16_MIN;
      // r10 used as a value (a stack pointer handed on) may reach the slots any way.
      if ((cls === Class.ALU64 || cls === Class.ALU) && (insn.code & 0x08) !== 0 && insn.src === 10) stackOff = S16_MIN;
      if (isMem && cls === Class.STX && insn.src === 10) stackOff = S16_MIN;
    }
    return stackOff === S16_MIN ? (depth[k] ?? 0) : -stackOff;
  });
}
