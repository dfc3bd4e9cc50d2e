// The main loop: the kernel's do_check — walk every path, one instruction at a time, with branch
// exploration, state pruning, BPF-to-BPF frames and the complexity limit.
import { entryOf, isLdImm64, type Instruction } from '../isa/instruction.js';
import { Class, classOf, modeOf, Mode, type OpcodeEntry, opOf, OPCODES_BY_CODE, PseudoCall, PseudoLd, SIZE_BYTES, sizeOf, Source } from '../isa/opcodes.js';
import { aluEnd, aluMov, aluMovImm, ALU_STRING, immReg, pointerAlu, scalarAlu } from './alu.js';
import { ADD_CONST, isBranchTaken, J, markPtrOrNullRegs, regSetMinMax, syncLinkedRegs, tryMatchPktPointers } from './branch.js';
import { jumpTarget } from './cfg.js';
import { type Env, reject, Rejected } from './env.js';
import { checkHelperCall, checkResourceLeak } from './helper-call.js';
import { checkCallUnderLock } from './spin-lock.js';
import { checkKfuncCall, isIterNextCall } from './kfunc-call.js';
import { iterActiveAtR1, iterActiveDepthsDiffer, widenScalars, type WidenKeep } from './iter.js';
import { formatInsn, formatState, insnStateLine, snapshot } from './log.js';
import { checkMemAccess, checkPtrOffReg } from './memory.js';
import { checkGlobalCallArgs } from './global-args.js';
import { PathHistory, type PreciseMarks } from './backtrack.js';
import { computeNeeded } from './precision.js';
import { returnRange } from './return-code.js';
import { clearPktPointers, subprogChangesPktData } from './pkt-data.js';
import { type SanitizeContext, sanitizeScalar } from './sanitize.js';
import { initRegs, linked, linkedNeed, maskHi, maskLo, regsKey, statesCover, statesEqual } from './prune.js';
import { cloneReg, copyReg, notInit, isPointer, markKnown, markNotInit, markUnknown, pointer, type Reg, regTypeStr, S64_MAX, S64_MIN } from './reg-state.js';
import { cloneState, curFrame, newFrame, ownReg, ownRegs, StackType, type VState } from './state.js';

/** Statistics veristat prints. */
export interface CheckStats {
  /** Instructions processed over all paths. */
  processed: number;
  /** Most states stored at once. */
  peakStates: number;
  /** States stored in total. */
  totalStates: number;
  /** max_states_per_insn. */
  maxStatesPerInsn: number;
}

interface Checkpoint extends PreciseMarks {
  readonly state: VState;
  /** Taken inside a callback, a may_goto loop or with an open-coded iterator alive: compared with every scalar precise (see coversCur). */
  readonly inLoop: boolean;
  branches: number;
  hit: number;
  miss: number;
  /** Removed from its list (the kernel's eviction of a state that rarely helps pruning). */
  evicted: boolean;
  readonly parent: Checkpoint | undefined;
  /** The precision marks {@link lnRegs}..{@link lnHi} were computed for (-1: not yet). */
  lnKeyRegs: number;
  /** See {@link lnKeyRegs}. */
  lnKeyStack: bigint;
  /** Registers that matter in pruning against this state (its marks, the static need, linked scalars). */
  lnRegs: number;
  /** Stack slots that matter (low 32 bits). */
  lnLo: number;
  /** Stack slots that matter (high 32 bits). */
  lnHi: number;
  /** The live registers initialized in the state's innermost frame ({@link initRegs}). */
  readonly keyMask: number;
  /** {@link regsKey} of the state's innermost frame over {@link keyMask}. */
  readonly key: number;
}

interface Pending {
  /** Length of the path history at the push (the branch instruction included). */
  readonly histLen: number;
  readonly state: VState;
  readonly insn: number;
  readonly prev: number;
  readonly logPos: number;
  readonly parent: Checkpoint | undefined;
  /** Path-history entries since `parent` at the push. */
  readonly histSince: number;
}

const MAX_CALL_FRAMES = 8;
const MAY_GOTO = 0xe5;
const BPF_FUNC_LOOP = 181;
const BPF_FUNC_FOR_EACH_MAP_ELEM = 164;
const BPF_FUNC_USER_RINGBUF_DRAIN = 209;

const ALL_REGS_MASK = 0x7ff;
const COMPLEXITY_LIMIT_JMP_SEQ = 8192;
const ALL_SLOTS = (1n << 64n) - 1n;

function checkRegRead(regs: readonly Reg[], regno: number): Reg {
  if (regno > 10) reject(`R${regno} is invalid`);
  const r = regs[regno]!;
  if (r.type === 'not_init') reject(`R${regno} !read_ok`);
  return r;
}

function checkRegWrite(regno: number): void {
  if (regno > 10) reject(`R${regno} is invalid`);
  if (regno === 10) reject('frame pointer is read only');
}

/** A load or store through r10 (the kernel records stack accesses in the path history). */
function isStackSpillFill(insn: Instruction): boolean {
  const cls = insn.code & 0x07;
  return (cls === 0x01 && insn.src === 10) || ((cls === 0x03 || cls === 0x02) && insn.dst === 10);
}

/** Verifies the whole program from `env.cur` (the main entry); throws Rejected on the first error. */
export function doCheck(env: Env, maxInsns: number, stats: CheckStats, start = 0): void {
  const prog = env.prog;
  const onInsn = env.onInsn;
  const explored: (Checkpoint[] | undefined)[] = new Array<Checkpoint[] | undefined>(prog.length);
  const noCheckpoints: Checkpoint[] = [];
  const decoded: (OpcodeEntry | undefined)[] = new Array<OpcodeEntry | undefined>(prog.length);
  // Per instruction: a call of an iterator's `_next` kfunc (is_iter_next_insn), computed once.
  const iterNext: (boolean | undefined)[] = new Array<boolean | undefined>(prog.length);
  const pending: Pending[] = [];
  let parent: Checkpoint | undefined;
  let liveStates = 0;
  let jmps = 0;
  let prevJmps = 0;
  let prevInsns = 0;
  // Entries of the path history since the path's last checkpoint (the kernel's insn_hist_end -
  // insn_hist_start): visits of jump targets and stack spills/fills. Past 40 a checkpoint is
  // forced ("avoid accumulating infinitely long jmp history"): without it a loop whose exit
  // branch is explored first never gets a new checkpoint, and every precision walk goes back
  // to the loop's start (quadratic: verifier_search_pruning's short_loop1 took minutes).
  let histSince = 0;
  let idx = start;
  let lastSource: string | undefined;
  const log = env.log;
  // Privileged: a register compared with a constant matters only where the jump's outcome was
  // decided by its value, marked along the path (backtrack.ts) as the kernel does; unprivileged
  // (where the kernel makes every scalar precise) the static analysis counts every such operand.
  const dynamicPrecision = env.privileged;
  const needed = computeNeeded(prog, env.cfg, env.progType, !dynamicPrecision, env.attachType, dynamicPrecision);
  const history = new PathHistory(prog);
  /**
   * What widening against the loop entry `cp` keeps in state `s`: the scalars precise there (the
   * checkpoint's marks: scalars a later jump or pointer offset depended on, innermost frame).
   * Outer frames (marks are kept for the innermost frame only) are not widened: a loop nested in
   * a callback unrolls up to its nr_loops rather than lose what its caller's frame knows.
   */
  const keepAt = (cp: Checkpoint, s: VState): WidenKeep => (fr) =>
    fr === s.frames.length - 1 ? [cp.preciseRegs, maskLo(cp.preciseStack), maskHi(cp.preciseStack)] : [ALL_REGS_MASK, 0xffffffff, 0xffffffff];

  const finishPath = (): void => {
    let cp = parent;
    while (cp) {
      cp.branches--;
      if (cp.branches > 0) break;
      cp = cp.parent;
    }
  };

  /** Pops the next pending path into env.cur; false when none is left. */
  const popPath = (): boolean => {
    finishPath();
    const next = pending.pop();
    if (!next) return false;
    if (log.level === 1) log.reset(next.logPos);
    env.cur = next.state;
    parent = next.parent;
    idx = next.insn;
    history.length = next.histLen;
    histSince = next.histSince;
    if (log.level === 1) log.print(`from ${next.prev} to ${next.insn}:${formatState(env.cur)}\n`);
    // Level 2: a blank line, and the popped state again as the scratched state before the
    // next instruction (pop_stack marks every register and slot scratched).
    else if (log.level === 2) log.print(`\nfrom ${next.prev} to ${next.insn}:${formatState(env.cur)}\n${next.insn}:${formatState(env.cur)}\n`);
    return true;
  };

  const pushPath = (state: VState, insn: number): void => {
    if (pending.length >= COMPLEXITY_LIMIT_JMP_SEQ) reject(`The sequence of ${pending.length + 1} jumps is too complex.`);
    if (parent) parent.branches++;
    pending.push({ histLen: history.length, state, insn, prev: idx, logPos: log.position, parent, histSince });
  };
  env.pushState = pushPath;
  /**
   * states_equal of the current state against a checkpoint with no open branch at `at`. What
   * matters there (the static need, the checkpoint's precision marks, scalars linked to those)
   * depends on the checkpoint only: computed again only when its marks change.
   */
  // regsKey of the current state's innermost frame for the mask curKeyMask (-1: none yet), at one visit.
  let curKeyMask = -1;
  let curKey = 0;
  const coversCur = (cp: Checkpoint, at: number): boolean => {
    // Different register types or pointer offsets: no match (the comparison's first test).
    if (cp.keyMask !== curKeyMask) {
      curKeyMask = cp.keyMask;
      curKey = regsKey(curFrame(env.cur), curKeyMask);
    }
    if (cp.key !== curKey) return false;
    // Inside a bpf_loop callback, a may_goto or an iterator loop, a checkpoint's precision marks may not be
    // final while the loop is still being explored (the kernel compares such states with
    // RANGE_WITHIN, force_exact): every scalar is compared as precise there.
    if (cp.inLoop) return statesEqual(cp.state, env.cur, false, env.privileged, 0x7ff, ALL_SLOTS, needed.liveRegs[at]!, needed.liveStack[at]!);
    if (cp.lnKeyRegs !== cp.preciseRegs || cp.lnKeyStack !== cp.preciseStack) {
      const ps = cp.preciseStack;
      const lo = ps === 0n ? needed.stackLo[at]! : (needed.stackLo[at]! | maskLo(ps)) >>> 0;
      const hi = ps === 0n ? needed.stackHi[at]! : (needed.stackHi[at]! | maskHi(ps)) >>> 0;
      linkedNeed(cp.state.frames[cp.state.frames.length - 1]!, needed.regs[at]! | cp.preciseRegs, lo, hi);
      cp.lnKeyRegs = cp.preciseRegs;
      cp.lnKeyStack = ps;
      cp.lnRegs = linked.regs;
      cp.lnLo = linked.lo;
      cp.lnHi = linked.hi;
    }
    return statesCover(cp.state, env.cur, false, env.privileged, cp.lnRegs, cp.lnLo, cp.lnHi, needed.liveRegs[at]!, needed.liveLo[at]!, needed.liveHi[at]!, env.exploreAluLimits);
  };
  // Created once: a closure per instruction costs an allocation (and a __name call under tsx).
  const jumped = (): void => {
    jmps++;
  };

  for (;;) {
    const insn = prog[idx];
    env.insnIdx = idx;
    env.cur.insn = idx;
    if (++stats.processed > maxInsns) reject(`BPF program is too large. Processed ${stats.processed} insn`);
    if (!insn) reject(`invalid insn idx ${idx} insn_cnt ${prog.length}`);

    const isMayGoto = insn !== undefined && insn.code === MAY_GOTO;
    const callsCallback = insn !== undefined && insn.code === 0x85 && insn.src === 0 && (insn.imm === BPF_FUNC_LOOP || insn.imm === BPF_FUNC_FOR_EACH_MAP_ELEM || insn.imm === BPF_FUNC_USER_RINGBUF_DRAIN);
    let isIterNext = iterNext[idx];
    if (isIterNext === undefined) {
      isIterNext = insn !== undefined && insn.code === 0x85 && insn.src === 2 && isIterNextCall(env, insn);
      iterNext[idx] = isIterNext;
    }
    if (callsCallback) {
      // Back at a bpf_loop call after its callback: scalars that changed since the previous visit
      // are widened, so the iterations converge (widen_imprecise_scalars).
      let prev = parent;
      while (prev && prev.state.insn !== idx) prev = prev.parent;
      if (prev) widenScalars(prev.state, env.cur, keepAt(prev, env.cur));
    }
    // Every path's state as it arrives, also one about to be pruned (the debugger's opt-in view).
    if (onInsn !== undefined && insn !== undefined) onInsn(idx, env.cur, needed.liveRegs[idx]!);
    if (env.cfg.prunePoints[idx] || isMayGoto || callsCallback || isIterNext) {
      let list = explored[idx] ?? noCheckpoints;
      let pruned = false;
      let evict = false;
      curKeyMask = -1;
      // The kernel's is_state_visited: a new state is added after 2 jumps and 8 instructions (or at
      // a forced checkpoint); a state's miss count grows only when one is going to be added; inside
      // a loop still being explored, states are added less often (20 jumps or 100 instructions);
      // a state that missed more than 3 + 3 * hits times is evicted.
      const force = isMayGoto || callsCallback || isIterNext || histSince > 40;
      let addNew = force || (jmps - prevJmps >= 2 && stats.processed - prevInsns >= 8);
      // Newest first, as the kernel's list (new states are linked at its head).
      for (let k = list.length - 1; k >= 0; k--) {
        const cp = list[k]!;
        if (cp.branches > 0 && ((isMayGoto && cp.state.mayGotoDepth !== env.cur.mayGotoDepth) || callsCallback) && statesEqual(cp.state, env.cur, false, env.privileged)) {
          cp.hit++;
          pruned = true;
          break;
        }
        if (cp.branches > 0 && isIterNext) {
          // An iterator loop converges when an iteration comes back to `_next` in a state the
          // open one covers (range within), its iterator still ACTIVE; no infinite-loop check.
          if (statesEqual(cp.state, env.cur, false, env.privileged) && iterActiveAtR1(env.cur)) {
            cp.hit++;
            pruned = true;
            break;
          }
        } else if (cp.branches > 0) {
          if (!iterActiveDepthsDiffer(cp.state, env.cur) && cp.state.mayGotoDepth === env.cur.mayGotoDepth && cp.state.callbackDepth === env.cur.callbackDepth && statesEqual(cp.state, env.cur, true, env.privileged)) {
            reject(`infinite loop detected at insn ${idx}`);
          }
          if (!force && jmps - prevJmps < 20 && stats.processed - prevInsns < 100) addNew = false;
        } else if (coversCur(cp, idx)) {
          cp.hit++;
          pruned = true;
          // What mattered below the explored state matters on this path too (propagate_precision).
          if (dynamicPrecision && (cp.preciseRegs !== 0 || cp.preciseStack !== 0n)) history.markPrecise(parent, history.length, cp.preciseRegs, cp.preciseStack);
          break;
        }
        if (addNew) cp.miss++;
        // The kernel keeps a forced checkpoint still being explored for 64 misses; 3 here: a
        // callback or may_goto loop that never converges would otherwise compare every new state
        // with dozens of open ones (3x slower to reach the 1M limit), with the same verdict.
        const n = 3;
        if (cp.miss > cp.hit * n + n) {
          cp.evicted = true;
          evict = true;
        }
      }
      if (evict) {
        const before = list.length;
        list = list.filter((cp) => !cp.evicted);
        explored[idx] = list;
        liveStates -= before - list.length;
      }
      if (pruned) {
        if (log.level >= 1) log.print(`${idx}: safe\n`);
        if (!popPath()) return;
        continue;
      }
      if (addNew) {
        const state = cloneState(env.cur);
        const inner = curFrame(state);
        const keyMask = initRegs(inner, needed.liveRegs[idx]!);
        const inLoop = state.mayGotoDepth > 0 || state.callbackDepth > 0 || state.frames.some((f) => f.callback !== undefined || f.stack.some((slot) => slot !== undefined && slot.types[0] === StackType.ITER));
        const cp: Checkpoint = { state, inLoop, branches: 1, hit: 0, miss: 0, evicted: false, parent, histPos: history.length, preciseRegs: 0, preciseStack: 0n, lnKeyRegs: -1, lnKeyStack: 0n, lnRegs: 0, lnLo: 0, lnHi: 0, keyMask, key: regsKey(inner, keyMask) };
        if (list === noCheckpoints) {
          list = [];
          explored[idx] = list;
        }
        list.push(cp);
        parent = cp;
        histSince = 0;
        prevJmps = jmps;
        prevInsns = stats.processed;
        liveStates++;
        stats.totalStates++;
        if (liveStates > stats.peakStates) stats.peakStates = liveStates;
        if (list.length > stats.maxStatesPerInsn) stats.maxStatesPerInsn = list.length;
      }
    }

    if (dynamicPrecision) history.record(idx, insn, env.cur);
    if (env.cfg.jmpPoints[idx] || isStackSpillFill(insn)) histSince++;

    if (log.level >= 1) {
      const src = insn.source;
      const key = src ? `${src.file}:${src.line}:${src.column}` : undefined;
      if (src && key !== lastSource) {
        log.print(`; ${src.text.trim()} @ ${src.file}:${src.line}\n`);
        lastSource = key;
      }
      if (log.level === 1) log.print(`${idx}: ${formatInsn(insn)}\n`);
    }
    const before = log.level === 2 ? snapshot(env.cur) : undefined;

    if (isIterNext) {
      // find_prev_entry: the previous visit of this call on the path (the checkpoint just made is `parent`).
      let prev = parent?.parent;
      while (prev && (prev.state.insn !== idx || prev.branches === 0)) prev = prev.parent;
      env.loopEntry = prev?.state;
      env.loopKeep = prev ? keepAt(prev, env.cur) : undefined;
    }
    if (isMayGoto) {
      // may_goto: explore the fall-through with one more depth, scalars that changed since the
      // previous visit of this may_goto widened (the kernel's widen_imprecise_scalars).
      jmps++;
      const queued = cloneState(env.cur);
      queued.mayGotoDepth++;
      let prev = parent?.parent;
      while (prev && prev.state.insn !== idx) prev = prev.parent;
      if (prev) widenScalars(prev.state, queued, keepAt(prev, queued));
      pushPath(queued, idx + 1);
      idx = jumpTarget(insn, idx);
      continue;
    }
    let next: number | 'exit';
    try {
      // Decoded and checked once per instruction (the same on every path).
      let entry = decoded[idx];
      if (entry === undefined) {
        entry = decodeChecked(insn);
        decoded[idx] = entry;
      }
      next = step(env, insn, entry, idx, pushPath, jumped);
    } catch (e) {
      if (before) log.print(`${idx}: ${formatInsn(insn)}\n`);
      throw e;
    }
    if (env.preciseDemand !== 0 || env.preciseDemandStack) {
      // The instruction needed these registers' (slots') values (a jump decided by one, a
      // pointer offset, a helper's size or constant argument): mark them along the path.
      if (dynamicPrecision) history.markPrecise(parent, history.length - 1, env.preciseDemand, env.preciseDemandStack ?? 0n);
      env.preciseDemand = 0;
      env.preciseDemandStack = 0n;
    }
    if (before) log.print(insnStateLine(`${idx}: ${formatInsn(insn)}`, before, env.cur, insn));
    if (next === 'exit') {
      if (!popPath()) return;
      continue;
    }
    idx = next;
  }
}

function reservedMessage(insn: Instruction): string {
  const code = insn.code & 0xff;
  if (OPCODES_BY_CODE[code]!.length === 0) return `unknown opcode ${code.toString(16).padStart(2, '0')}`;
  switch (classOf(code)) {
    case Class.ALU:
    case Class.ALU64: {
      const op = opOf(code);
      if (op === 0xb0) return 'BPF_MOV uses reserved fields';
      if (op === 0x80) return 'BPF_NEG uses reserved fields';
      if (op === 0xd0) return 'BPF_END uses reserved fields';
      return 'BPF_ALU uses reserved fields';
    }
    case Class.LDX:
      return 'BPF_LDX uses reserved fields';
    case Class.ST:
      return 'BPF_ST uses reserved fields';
    case Class.STX:
      if (modeOf(code) === Mode.ATOMIC) return `BPF_ATOMIC uses invalid atomic opcode ${(insn.imm >>> 0).toString(16).padStart(2, '0')}`;
      return 'BPF_STX uses reserved fields';
    case Class.LD:
      if (isLdImm64(insn)) return 'unrecognized bpf_ld_imm64 insn';
      return 'BPF_LD_[ABS|IND] uses reserved fields';
    default: {
      const op = opOf(code);
      if (op === 0x00) return 'BPF_JA uses reserved fields';
      if (op === 0x80) return 'BPF_CALL uses reserved fields';
      if (op === 0x90) return 'BPF_EXIT uses reserved fields';
      return 'BPF_JMP/JMP32 uses reserved fields';
    }
  }
}

/** r0-r5: a call's result and clobbered argument registers. */
const R0_R5 = 0x3f;

/** The opcode table entry of `insn`; rejects an unknown opcode or reserved fields that are not zero. */
function decodeChecked(insn: Instruction): OpcodeEntry {
  const entry = entryOf(insn);
  if (!entry) reject(reservedMessage(insn));
  const f = entry.fields;
  if ((f.dst === 'zero' && insn.dst !== 0) || (f.src === 'zero' && insn.src !== 0) || (f.off === 'zero' && insn.off !== 0) || (f.imm === 'zero' && insn.imm !== 0)) {
    reject(reservedMessage(insn));
  }
  return entry;
}

/** Executes one instruction (`entry`: its checked decoding) abstractly; returns the next instruction index or 'exit' when the path ends. */
function step(env: Env, insn: Instruction, entry: OpcodeEntry, idx: number, push: (s: VState, insn: number) => void, jumped: () => void): number | 'exit' {
  const frame = curFrame(env.cur);
  const regs = frame.regs;
  const cls = entry.cls;
  // Copy-on-write: each case first owns the registers it may change (the state may share them
  // with a copy): the destination, a source that may get an id, r0-r5 for calls.
  switch (entry.kind) {
    case 'alu':
    case 'neg':
    case 'movsx':
    case 'end':
    case 'bswap':
    case 'addr_space_cast':
      if (insn.dst <= 10) ownReg(frame, insn.dst);
      if ((insn.code & Source.X) !== 0 && insn.src <= 10) ownReg(frame, insn.src);
      alu(env, insn, entry.kind, regs, cls === Class.ALU);
      return idx + 1;
    case 'ldx':
    case 'ldxsx': {
      if (insn.dst <= 10) ownReg(frame, insn.dst);
      checkRegRead(regs, insn.src);
      checkRegWrite(insn.dst);
      const srcType = regs[insn.src]!.type;
      const dst = regs[insn.dst]!;
      // The loaded value goes to a scratch register first (dst may be the address register).
      const tmp = LOAD_SCRATCH;
      copyReg(tmp, dst);
      checkMemAccess(env, insn.src, insn.off, SIZE_BYTES[sizeOf(insn.code)]!, false, tmp, undefined, undefined, entry.kind === 'ldxsx');
      copyReg(dst, tmp);
      saveAuxPtrType(env, idx, srcType);
      return idx + 1;
    }
    case 'stx': {
      // A spilled scalar without an id gets one (shared with the register).
      if (insn.src <= 10) ownReg(frame, insn.src);
      checkRegRead(regs, insn.src);
      checkRegRead(regs, insn.dst);
      const dstType = regs[insn.dst]!.type;
      checkMemAccess(env, insn.dst, insn.off, SIZE_BYTES[sizeOf(insn.code)]!, true, undefined, regs[insn.src]!, undefined, false, false, insn.src);
      saveAuxPtrType(env, idx, dstType);
      return idx + 1;
    }
    case 'st': {
      checkRegRead(regs, insn.dst);
      const dstType = regs[insn.dst]!.type;
      checkMemAccess(env, insn.dst, insn.off, SIZE_BYTES[sizeOf(insn.code)]!, true, undefined, undefined, insn.imm, false);
      saveAuxPtrType(env, idx, dstType);
      return idx + 1;
    }
    case 'atomic':
      // The fetched value goes to src (r0 for cmpxchg).
      if (insn.src <= 10) ownReg(frame, insn.src);
      ownReg(frame, 0);
      atomic(env, insn, entry.op ?? '', regs);
      return idx + 1;
    case 'lddw':
      if (insn.dst <= 10) ownReg(frame, insn.dst);
      ldImm64(env, insn, idx, regs);
      return idx + 2;
    case 'ldabs':
    case 'ldind':
      ownRegs(frame, R0_R5);
      ldAbs(env, insn, entry.kind, regs);
      if (env.cur.frames.length > 1) return ldAbsSubprogExit(env, idx, push);
      return idx + 1;
    case 'ja':
    case 'gotol':
      jumped();
      return jumpTarget(insn, idx);
    case 'may_goto':
      return reject('may_goto is handled by the main loop');
    case 'jmp':
      jumped();
      return condJmp(env, insn, idx, entry.op ?? '', cls === Class.JMP32, push);
    case 'call':
      jumped();
      ownRegs(frame, R0_R5);
      if (env.cur.activeLock) checkCallUnderLock(env, insn);
      if (insn.src === PseudoCall.HELPER) {
        checkHelperCall(env, insn.imm, idx);
        return idx + 1;
      }
      if (insn.src === PseudoCall.CALL) return funcCall(env, insn, idx);
      checkKfuncCall(env, insn, idx);
      return idx + 1;
    case 'exit':
      jumped();
      return exit(env);
  }
}

/** save_aux_ptr_type: one instruction may not access ctx on one path and another pointer type on another. */
function saveAuxPtrType(env: Env, idx: number, type: string): void {
  const prev = env.auxPtrType[idx];
  if (prev === undefined) {
    env.auxPtrType[idx] = type;
    return;
  }
  if (prev !== type && (specialPtr(prev) || specialPtr(type))) reject('same insn cannot be used with different pointers');
}

const specialPtr = (t: string): boolean => t === 'ctx' || t === 'sock' || t === 'sock_common' || t === 'tcp_sock' || t === 'btf_id';

function alu(env: Env, insn: Instruction, kind: string, regs: Reg[], alu32: boolean): void {
  const op = opOf(insn.code);
  const isX = (insn.code & Source.X) !== 0;
  if (kind === 'end' || kind === 'bswap' || kind === 'neg') {
    const d = checkRegRead(regs, insn.dst);
    checkRegWrite(insn.dst);
    if (kind === 'neg' && d.type === 'scalar') {
      scalarAlu(0x80, d, d, alu32);
      // A negated value is no longer a copy of anything.
      d.id = 0;
      d.off = 0;
      return;
    }
    if (isPointer(d) && !env.privileged) reject(`R${insn.dst} pointer arithmetic prohibited`);
    if (kind !== 'neg' && d.type === 'scalar') {
      // end.le: truncation on a little-endian target; end.be and bswap: byte reversal.
      aluEnd(d, insn.imm, kind === 'bswap' || (insn.code & Source.X) !== 0);
      d.id = 0;
      d.off = 0;
      return;
    }
    markUnknown(d);
    return;
  }
  if (kind === 'addr_space_cast') {
    // check_alu_op: prog->aux->arena before the operands (other spaces are invalid encodings, refused on decoding).
    if (!env.hasArena) reject('addr_space_cast insn can only be used in a program that has an associated arena');
    reject('bpfkit: arena address space casts are not modelled');
  }
  if (op === 0xb0) {
    // MOV
    if (isX) checkRegRead(regs, insn.src);
    checkRegWrite(insn.dst);
    const d = regs[insn.dst]!;
    if (isX) {
      const s = regs[insn.src]!;
      const sx = kind === 'movsx' ? insn.off : 0;
      aluMov(d, s, alu32, sx, insn.dst, insn.src, env.nextId, env.privileged);
    } else aluMovImm(d, insn.imm, alu32);
    return;
  }
  if (op > 0xd0) reject(`invalid BPF_ALU opcode ${op.toString(16)}`);
  if (isX) checkRegRead(regs, insn.src);
  checkRegRead(regs, insn.dst);
  if ((op === 0x30 || op === 0x90) && !isX && insn.imm === 0) reject('div by zero');
  if ((op === 0x60 || op === 0x70 || op === 0xc0) && !isX) {
    const size = alu32 ? 32 : 64;
    if (insn.imm < 0 || insn.imm >= size) reject(`invalid shift ${insn.imm}`);
  }
  checkRegWrite(insn.dst);
  const d = regs[insn.dst]!;
  if (isX) {
    const s = regs[insn.src]!;
    if (isPointer(s)) {
      if (isPointer(d)) {
        if (op === 0x10 && env.privileged) {
          markUnknown(d);
          return;
        }
        reject(`R${insn.dst} pointer ${ALU_STRING[op]} pointer prohibited`);
      }
      // scalar += pointer, pointer += scalar: the offset's value matters (adjust_reg_min_max_vals).
      env.preciseDemand |= 1 << insn.dst;
      pointerAlu(op, insn.dst, d, s, d, !alu32, env.nextId, env.privileged, sanitizeContext(env, insn, false));
      return;
    }
    if (isPointer(d)) {
      env.preciseDemand |= 1 << insn.src;
      pointerAlu(op, insn.dst, d, d, s, !alu32, env.nextId, env.privileged, sanitizeContext(env, insn, false));
      return;
    }
    if (!env.privileged && (op === 0x00 || op === 0x10)) sanitizeScalar(sanitizeContext(env, insn, false)!, op === 0x00);
    const id0 = d.id;
    const off0 = d.off;
    const srcCopy = d === s ? cloneReg(s) : s;
    scalarAlu(op, d, srcCopy, alu32);
    linkAddConst(env, d, id0, off0, op, srcCopy, alu32);
    return;
  }
  const k = immReg(insn.imm);
  if (isPointer(d)) {
    pointerAlu(op, insn.dst, d, d, k, !alu32, env.nextId, env.privileged, sanitizeContext(env, insn, true));
    return;
  }
  const id0 = d.id;
  const off0 = d.off;
  scalarAlu(op, d, k, alu32);
  linkAddConst(env, d, id0, off0, op, k, alu32);
}

/**
 * BPF_ADD_CONST: `rX += K` on a scalar linked to others (a copy) keeps the link with a constant
 * delta in `off`, so a later bound on either register bounds the other (sync_linked_regs).
 * Anything else cuts the link.
 */
function linkAddConst(env: Env, d: Reg, id0: number, off0: number, op: number, src: Reg, alu32: boolean): void {
  d.off = 0;
  d.id = 0;
  if (!env.privileged || (op !== 0x00 && op !== 0x10) || !id0 || d.type !== 'scalar' || alu32 || !isConstScalar(src)) return;
  let val = BigInt.asIntN(64, src.var.value);
  if (val < -(1n << 31n) || val > (1n << 31n) - 1n) return;
  if (op === 0x10) {
    if (val === -(1n << 31n)) return;
    val = -val;
  }
  if ((id0 & ADD_CONST) !== 0) return;
  d.id = id0 | ADD_CONST;
  d.off = Number(val) + off0;
}

/** The Spectre v1 sanitation context of an unprivileged ALU instruction (undefined when privileged). */
function sanitizeContext(env: Env, insn: Instruction, isK: boolean): SanitizeContext | undefined {
  if (env.privileged) return undefined;
  return {
    isK,
    dstRegno: insn.dst,
    srcRegno: insn.src,
    insnIdx: env.insnIdx,
    aux: env.aluAux,
    markExplore: () => {
      env.exploreAluLimits = true;
    },
  };
}

const isConstScalar = (r: Reg): boolean => r.type === 'scalar' && r.var.mask === 0n;

function atomic(env: Env, insn: Instruction, op: string, regs: Reg[]): void {
  if (op === 'load_acq' || op === 'store_rel') reject('bpfkit: load-acquire/store-release are not modelled');
  const size = SIZE_BYTES[sizeOf(insn.code)]!;
  if (size !== 4 && size !== 8) reject('invalid atomic operand size');
  checkRegRead(regs, insn.src);
  checkRegRead(regs, insn.dst);
  if (op === 'cmpxchg') checkRegRead(regs, 0);
  if (!env.privileged && isPointer(regs[insn.src]!)) reject(`R${insn.src} leaks addr into mem`);
  const d = regs[insn.dst]!;
  if (d.type === 'ctx' || d.type === 'flow_keys' || d.type === 'pkt' || d.type === 'pkt_meta' || d.type === 'pkt_end' || d.type === 'sock' || d.type === 'sock_common' || d.type === 'tcp_sock') {
    reject(`BPF_ATOMIC stores into R${insn.dst} ${regTypeStr(d)} is not allowed`);
  }
  const fetch = op.startsWith('fetch_') || op === 'xchg' || op === 'cmpxchg';
  const loadReg = op === 'cmpxchg' ? 0 : insn.src;
  if (fetch) checkRegWrite(loadReg);
  checkMemAccess(env, insn.dst, insn.off, size, false, undefined, undefined, undefined, false, true);
  let loaded: Reg | undefined;
  if (fetch) {
    loaded = cloneReg(regs[loadReg]!);
    checkMemAccess(env, insn.dst, insn.off, size, false, loaded, undefined, undefined, false);
  }
  checkMemAccess(env, insn.dst, insn.off, size, true, undefined, undefined, undefined, false);
  if (loaded) copyReg(regs[loadReg]!, loaded);
}

function ldImm64(env: Env, insn: Instruction, idx: number, regs: Reg[]): void {
  checkRegWrite(insn.dst);
  const d = regs[insn.dst]!;
  if (insn.src === PseudoLd.IMM64) {
    markUnknown(d);
    markKnown(d, (BigInt(insn.imm2 ?? 0) << 32n) | BigInt(insn.imm >>> 0));
    return;
  }
  if (insn.src === PseudoLd.FUNC) {
    if (!env.hasFuncInfo) reject('missing btf func_info');
    const k = env.cfg.subprogs.findIndex((sp) => sp.start === idx + insn.imm + 1);
    if (env.globalFuncs.has(k)) reject('callback function not static');
    copyReg(d, pointer('func'));
    d.subprog = k;
    return;
  }
  if (insn.src === PseudoLd.BTF_ID) reject('bpfkit: ksym loads are not modelled (they need the kernel\'s BTF)');
  const map = env.mapOf(idx);
  if (!map) reject(`fd ${insn.imm} is not pointing to valid bpf_map`);
  if (insn.src === PseudoLd.MAP_VALUE || insn.src === PseudoLd.MAP_IDX_VALUE) {
    copyReg(d, pointer('map_value'));
    d.map = map;
    d.off = insn.imm2 ?? 0;
    return;
  }
  copyReg(d, pointer('map_ptr'));
  d.map = map;
}

function ldAbs(env: Env, insn: Instruction, kind: string, regs: Reg[]): void {
  if (env.progType !== 1 && env.progType !== 3 && env.progType !== 4) reject('BPF_LD_[ABS|IND] instructions not allowed for this program type');
  if (env.cur.frames.some((f) => f.callback)) reject('cannot use BPF_LD_[ABS|IND] within callback');
  checkRegRead(regs, 6);
  checkResourceLeak(env, 'BPF_LD_[ABS|IND]', true);
  if (regs[6]!.type !== 'ctx') reject('at the time of BPF_LD_ABS|IND R6 !=ctx');
  if (kind === 'ldind') checkRegRead(regs, insn.src);
  checkPtrOffReg(regs[6]!, 6, false);
  for (let i = 0; i <= 5; i++) markNotInit(regs[i]!);
  markUnknown(regs[0]!);
}

/**
 * The hidden exit of LD_ABS/LD_IND in a subprogram: a load outside the packet returns 0 from the
 * function (bpf_gen_ld_abs). The path that loaded goes on at `idx + 1`; this one leaves the
 * function with R0 = 0 (the caller's r1-r5 clobbered, as at any return).
 */
function ldAbsSubprogExit(env: Env, idx: number, push: (s: VState, insn: number) => void): number | 'exit' {
  push(cloneState(env.cur), idx + 1);
  const frame = curFrame(env.cur);
  ownRegs(frame, 1);
  markKnown(frame.regs[0]!, 0n);
  return exit(env);
}

const LOAD_SCRATCH = notInit();
const IMM_SCRATCH_A = notInit();
const IMM_SCRATCH_B = notInit();

const JOP: Record<string, number> = { jeq: J.JEQ, jgt: J.JGT, jge: J.JGE, jset: J.JSET, jne: J.JNE, jsgt: J.JSGT, jsge: J.JSGE, jlt: J.JLT, jle: J.JLE, jslt: J.JSLT, jsle: J.JSLE };

function condJmp(env: Env, insn: Instruction, idx: number, opName: string, is32: boolean, push: (s: VState, insn: number) => void): number | 'exit' {
  const op = JOP[opName]!;
  const isX = (insn.code & Source.X) !== 0;
  const frame = curFrame(env.cur);
  const regs = frame.regs;
  let dst = checkRegRead(regs, insn.dst);
  let src: Reg;
  if (isX) {
    src = checkRegRead(regs, insn.src);
    if (!env.privileged && isPointer(src)) reject(`R${insn.src} pointer comparison prohibited`);
  } else src = immReg(insn.imm);
  const target = jumpTarget(insn, idx);
  const pred = isBranchTaken(dst, src, op, is32);
  // A decided jump relied on its scalar operands' values (check_cond_jmp_op's mark_chain_precision).
  if (pred !== -1) {
    if (dst.type === 'scalar') env.preciseDemand |= 1 << insn.dst;
    if (isX && src.type === 'scalar') env.preciseDemand |= 1 << insn.src;
  }
  if (pred === 1) return target;
  if (pred === 0) return idx + 1;
  const other = cloneState(env.cur);
  const otherFrame = curFrame(other);
  // Both states now share every register: each side refines its own copies.
  dst = ownReg(frame, insn.dst);
  const oDst = ownReg(otherFrame, insn.dst);
  // An immediate is refined in scratch copies (shared, read-only: see immReg), then dropped.
  let oSrc: Reg;
  let thisSrc: Reg;
  if (isX) {
    src = ownReg(frame, insn.src);
    oSrc = ownReg(otherFrame, insn.src);
    thisSrc = src;
  } else {
    oSrc = IMM_SCRATCH_A;
    thisSrc = IMM_SCRATCH_B;
    copyReg(oSrc, src);
    copyReg(thisSrc, src);
  }
  // Same-register compare: both operands are the same object in each state.
  regSetMinMax(oDst, oSrc, dst, thisSrc, op, is32);
  if (isX && src.type === 'scalar' && src.id) {
    syncLinkedRegs(env.cur, src);
    syncLinkedRegs(other, oSrc);
  }
  if (dst.type === 'scalar' && dst.id) {
    syncLinkedRegs(env.cur, dst);
    syncLinkedRegs(other, oDst);
  }
  // Two pointers, one maybe-NULL and one not: the maybe-NULL one is not NULL where they are
  // equal (the kernel's check_cond_jmp_op; not for PTR_TO_BTF_ID, which may be NULL unmarked).
  if (!is32 && isX && isPointer(src) && isPointer(dst) && src.maybeNull !== dst.maybeNull && src.type !== 'btf_id' && dst.type !== 'btf_id' && (op === J.JEQ || op === J.JNE)) {
    const eqFrame = op === J.JEQ ? otherFrame : frame;
    const regno = src.maybeNull ? insn.src : insn.dst;
    ownReg(eqFrame, regno).maybeNull = false;
  }
  if (!is32 && !isX && insn.imm === 0 && (op === J.JEQ || op === J.JNE) && dst.maybeNull && isPointer(dst)) {
    markPtrOrNullRegs(env.cur, dst, op === J.JNE);
    markPtrOrNullRegs(other, oDst, op === J.JEQ);
  } else {
    const matched = isX && !is32 && tryMatchPktPointers(op, dst, src, env.cur, other, dst, src, oDst, oSrc);
    if (!matched && isPointer(dst) && !env.privileged) reject(`R${insn.dst} pointer comparison prohibited`);
  }
  push(other, target);
  return idx + 1;
}

function funcCall(env: Env, insn: Instruction, idx: number): number {
  const target = idx + insn.imm + 1;
  const subprog = env.cfg.subprogs.findIndex((s) => s.start === target);
  if (subprog < 0) reject(`verifier bug. No program starts at insn ${target}`);
  const st = env.cur;
  const global = env.globalFuncs.get(subprog);
  if (global) {
    if (st.activeLock) reject('global function calls are not allowed while holding a lock,\nuse static function instead');
    // btf_check_subprog_call: the arguments must match the prototype; the callee is assumed valid.
    const regs = curFrame(st).regs;
    for (let i = 1; i <= global.args.length; i++) checkRegRead(regs, i);
    checkGlobalCallArgs(env, subprog, global);
    if (env.log.level >= 1) env.log.print(`Func#${subprog} ('${global.name}') is global and assumed valid.\n`);
    env.calledGlobals.add(subprog);
    for (let i = 0; i <= 5; i++) markNotInit(regs[i]!);
    markUnknown(regs[0]!);
    // A global function that may move the packet invalidates the caller's packet pointers.
    if (subprogChangesPktData(env, subprog)) clearPktPointers(env);
    return idx + 1;
  }
  if (st.frames.length >= MAX_CALL_FRAMES) reject(`the call stack of ${st.frames.length + 1} frames is too deep`);
  const caller = curFrame(st);
  const callee = newFrame(idx, st.frames.length, subprog);
  for (let i = 1; i <= 5; i++) callee.regs[i] = cloneReg(caller.regs[i]!);
  for (let i = 0; i <= 5; i++) markNotInit(caller.regs[i]!);
  st.frames.push(callee);
  return target;
}

function exit(env: Env): number | 'exit' {
  const st = env.cur;
  const frame = curFrame(st);
  if (st.frames.length > 1) {
    const r0 = frame.regs[0]!;
    if (frame.callback) {
      // A callback returns to its helper call, which is explored again (the next iteration).
      if (r0.type !== 'scalar') reject('R0 not a scalar value');
      // The range check relies on R0's value (prepare_func_exit's mark_chain_precision).
      env.preciseDemand |= 1;
      const { min, max } = frame.callback;
      if (r0.smin < min || r0.smax > max) {
        const parts = `${r0.smin > S64_MIN ? ` smin=${r0.smin}` : ''}${r0.smax < S64_MAX ? ` smax=${r0.smax}` : ''}`;
        reject(`At callback return the register R0 has${parts || ' unknown scalar value'} should have been in [${min}, ${max}]`);
      }
      st.frames.pop();
      return frame.callsite;
    }
    if (r0.type === 'stack') reject('cannot return stack pointer to the caller');
    st.frames.pop();
    const caller = curFrame(st);
    caller.regs[0] = cloneReg(r0);
    return frame.callsite + 1;
  }
  if (st.activeLock) reject('BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region');
  if (st.rcuLock) reject('bpf_rcu_read_unlock is missing');
  checkResourceLeak(env, 'BPF_EXIT instruction in main prog');
  const r0 = frame.regs[0]!;
  if (r0.type === 'not_init') reject('R0 !read_ok');
  if (env.entryIsSubprog && r0.type !== 'scalar') reject(`At subprogram exit the register R0 is not a scalar value (${regTypeStr(r0)})`);
  if (!env.privileged && isPointer(r0)) reject('R0 leaks addr as return value');
  const range = returnRange(env.progType, env.attachType);
  if (range) {
    // check_return_code: the value is decided by every path reaching here (mark_chain_precision).
    if (r0.type !== 'scalar') reject(`At program exit the register R0 is not a known value (${regTypeStr(r0)})`);
    env.preciseDemand |= 1;
    if (r0.smin < range[0] || r0.smax > range[1]) {
      const parts = `${r0.smin > S64_MIN ? ` smin=${r0.smin}` : ''}${r0.smax < S64_MAX ? ` smax=${r0.smax}` : ''}`;
      reject(`At program exit the register R0 has${parts || ' unknown scalar value'} should have been in [${range[0]}, ${range[1]}]`);
    }
  }
  return 'exit';
}

export { Rejected };
