// A debug session over the reference interpreter: breakpoints, stepping, stops, by deterministic replay.
//
// The interpreter runs a packet to its end in one call, so a stop cannot be resumed in place.
// Instead every stop is reached by replay: a fresh userspace object (maps as the session set
// them up) runs the packets before the stop's, then the stop's packet with the interpreter's
// step hook, which counts instructions and throws at the target. Helpers are deterministic (the
// runtime's clock is a counter, its random source seeded), so the replay reaches the same state;
// the object stays alive at the stop for inspection (registers, stack, packet, maps).

import type { ObjectSpec } from '../elf/object-spec.js';
import { helperName } from '../asm/kernel-syntax.js';
import { BpfkitError } from '../errors.js';
import { verdictName } from '../runtime/verdicts.js';
import { programTypeOps } from '../ctx/registry.js';
import { loadUserspace, type LoadUserspaceOptions, type UserspaceObject } from '../runtime/userspace-object.js';
import type { UserspaceProgram } from '../runtime/userspace-program.js';
import { ProgramNotFoundError } from '../runtime/errors.js';
import { Interpreter } from '../vm/interpreter.js';
import type { PreparedProgram } from '../vm/program.js';
import { DebugStateError } from './errors.js';
import { compileExpression, type CompiledExpression, type EvalScope } from './expression.js';
import { ProgramInfo, resolveLine } from './source-map.js';
import { recordVerifierViews, type VerifierViews } from './verifier-view.js';

/** One packet the session runs. */
export interface DebugPacket {
  /** The frame's bytes. */
  readonly data: Uint8Array;
  /** `deliver` (default): as a NIC hands it to the program (bpfkit run); `test-run`: BPF_PROG_TEST_RUN's context (bpfkit test-run --data-in). */
  readonly mode?: 'deliver' | 'test-run';
}

/** Options of a {@link DebugSession}. */
export interface DebugSessionOptions {
  /** The program to debug (default: the object's first program the runtime can run). */
  readonly program?: string;
  /** The packets, run in order. */
  readonly packets: readonly DebugPacket[];
  /** Packets before this index run without stopping (`--packet N`); default 0. */
  readonly firstPacket?: number;
  /** Called on each fresh object before the first packet: map updates (`--map-update`). */
  readonly setup?: (obj: UserspaceObject) => void;
  /** loadUserspace options (model, clock, verifyOptions...); engine and verify are the session's. */
  readonly load?: Omit<LoadUserspaceOptions, 'engine' | 'verify' | 'programs'>;
  /** Stop at the first instruction of every packet, as at a breakpoint (default false). */
  readonly stopOnEachPacket?: boolean;
  /** Receives what the session reports between stops (a packet's verdict). */
  readonly onOutput?: (text: string) => void;
}

/** Why the session stopped. */
export type StopReason = 'entry' | 'step' | 'breakpoint' | 'exception' | 'packet';

/** Where and why the session stopped. */
export interface StopInfo {
  /** Why. */
  readonly reason: StopReason;
  /** Index of the packet being run. */
  readonly packet: number;
  /** Instructions executed in this packet's run, counting the one about to run. */
  readonly step: number;
  /** The program running (a tail call changes it). */
  readonly program: string;
  /** The slot about to run. */
  readonly pc: number;
  /** Breakpoint ids that hit. */
  readonly breakpoints: readonly number[];
  /** For an exception: the error's message and code. */
  readonly exception?: { readonly message: string; readonly code: string };
}

/** A call frame of the program (innermost first in {@link DebugSession.frames}). */
export interface DebugFrame {
  /** Depth: 0 is the entry's frame. */
  readonly depth: number;
  /** The program the frame runs. */
  readonly program: string;
  /** The function the slot is in. */
  readonly function: string;
  /** The frame's slot: the current instruction, or the call it waits on. */
  readonly pc: number;
  /** The C line of that slot, when the object has line info. */
  readonly line?: { readonly file: string; readonly line: number; readonly column: number; readonly text: string };
  /** r0..r10 of the frame: live for the innermost, as at the call for the others. */
  readonly regs: readonly bigint[];
}

/** A breakpoint as set: where it landed, whether it resolved. */
export interface Breakpoint {
  /** Its id (stable for the session). */
  readonly id: number;
  /** Whether it resolved to at least one instruction. */
  readonly verified: boolean;
  /** Why not, or where a line breakpoint moved to. */
  readonly message?: string;
  /** For a line breakpoint: the line it stops at (the next line with code when the asked one had none). */
  readonly line?: number;
  /** The file as the compiler recorded it. */
  readonly file?: string;
  /** Program and slot of an instruction breakpoint (the first slot of a line breakpoint). */
  readonly program?: string;
  /** See program. */
  readonly pc?: number;
  /** The condition, when it has one. */
  readonly condition?: string;
}

/** An instruction breakpoint request. */
export interface InstructionBreakpointRequest {
  /** The slot. */
  readonly pc: number;
  /** The program (default: the entry). */
  readonly program?: string;
  /** Stop only when this expression is non-zero. */
  readonly condition?: string;
}

/** A source breakpoint request. */
export interface LineBreakpointRequest {
  /** 1-based line. */
  readonly line: number;
  /** Stop only when this expression is non-zero. */
  readonly condition?: string;
}

/** What a packet's run ended with. */
export interface PacketResult {
  /** Packet index. */
  readonly packet: number;
  /** r0's low 32 bits, when the run completed. */
  readonly retval?: number;
  /** The verdict's name (`XDP_PASS`), when the run completed. */
  readonly verdict?: string;
  /** Instructions executed. */
  readonly instructions: number;
  /** The fault or the reason the packet did not run. */
  readonly error?: string;
}

/** The last helper call the program made before the stop. */
export interface HelperCall {
  /** Helper name (`map_lookup_elem`) or `#id`. */
  readonly name: string;
  /** Its id. */
  readonly id: number;
  /** Program and slot of the call. */
  readonly program: string;
  /** See program. */
  readonly pc: number;
  /** r1..r5 at the call. */
  readonly args: readonly bigint[];
  /** r0 after it (undefined while the helper is still running a callback, or after a tail call). */
  readonly result?: bigint;
  /** For a tail call that jumped: the program it went to. */
  readonly tailCallTo?: string;
}

/** Step granularity: C lines (default) or instructions. */
export type Granularity = 'line' | 'instruction';

interface Bp {
  readonly id: number;
  readonly where: Map<string, Set<number>>;
  readonly condition: CompiledExpression | undefined;
  readonly info: Breakpoint;
}

interface StepEvent {
  readonly packet: number;
  readonly step: number;
  readonly program: string;
  readonly pc: number;
  readonly depth: number;
  readonly interp: Interpreter;
}

class Pause {
  constructor(readonly reason: StopReason, readonly breakpoints: readonly number[]) {}
}

interface World {
  readonly obj: UserspaceObject;
  readonly program: UserspaceProgram;
  readonly interp: Interpreter;
  readonly names: Map<PreparedProgram, string>;
}

const TWO32 = 4294967296;

/**
 * A debug session: one program of an object over a list of packets. Pure (no Node APIs): the
 * CLI's DAP server and REPL and the browser playground drive it.
 */
export class DebugSession {
  /** Programs of the object the runtime can run, by name. */
  readonly programs = new Map<string, ProgramInfo>();
  /** The program debugged. */
  readonly entry: string;
  /** Packets that completed (or faulted, or could not run) so far, in order. */
  readonly results: PacketResult[] = [];
  private readonly views = new Map<string, VerifierViews>();
  private readonly lineBps = new Map<string, Bp[]>();
  private instructionBps: Bp[] = [];
  private nextBpId = 1;
  private world: World | undefined;
  private stopInfo: StopInfo | undefined;
  private stack: { program: string; pc: number; regs: bigint[] | undefined }[] = [];
  private helper: HelperCall | undefined;
  private ctxAddress = 0;
  private done = false;
  private started = false;

  constructor(
    /** The object. */
    readonly spec: ObjectSpec,
    private readonly options: DebugSessionOptions,
  ) {
    const probe = this.newWorldObject();
    try {
      for (const p of probe.programs.values()) this.programs.set(p.name, new ProgramInfo(p.spec));
      const wanted = options.program;
      if (wanted !== undefined && !probe.programs.has(wanted)) {
        const why = probe.skipped.get(wanted);
        if (why) throw new DebugStateError('program', `"${wanted}" cannot run in userspace: ${why}`);
        throw new ProgramNotFoundError(wanted, [...probe.programs.keys()]);
      }
      // By default the first program no prog array starts with (a tail-call target is a later stage).
      const targets = new Set(spec.maps.flatMap((m) => m.initEntries.map((e) => String(e.value))));
      const names = [...probe.programs.keys()];
      const first = wanted ?? names.find((n) => !targets.has(n)) ?? names[0];
      if (first === undefined) throw new DebugStateError('program', `no program the userspace runtime can run (${[...probe.skipped.values()].join('; ') || 'the object has no programs'})`);
      this.entry = first;
    } finally {
      probe.close();
    }
    const n = options.packets.length;
    const fp = options.firstPacket ?? 0;
    if (!Number.isInteger(fp) || fp < 0 || (n > 0 && fp >= n)) throw new DebugStateError('packet', `packet ${fp} is not in 0..${n - 1}`);
  }

  private newWorldObject(): UserspaceObject {
    return loadUserspace(this.spec, { ...this.options.load, engine: 'interpreter', verify: false });
  }

  /** The verifier's verdict and per-instruction view of a program (computed once, on demand). */
  verifierViews(program = this.entry): VerifierViews {
    let v = this.views.get(program);
    if (!v) {
      const info = this.info(program);
      v = recordVerifierViews(info.spec, this.spec, this.options.load?.verifyOptions ?? {});
      this.views.set(program, v);
    }
    return v;
  }

  /** The debug facts of a program. */
  info(program: string): ProgramInfo {
    const p = this.programs.get(program);
    if (!p) throw new ProgramNotFoundError(program, [...this.programs.keys()]);
    return p;
  }

  /** Where the session is stopped, or undefined (not started, running, or terminated). */
  get stopped(): StopInfo | undefined {
    return this.stopInfo;
  }

  /** True once every packet has run. */
  get terminated(): boolean {
    return this.done;
  }

  /** The object at the stop (maps, memory), or undefined when not stopped. */
  get object(): UserspaceObject | undefined {
    return this.stopInfo ? this.world?.obj : undefined;
  }

  /** The last helper call before the stop. */
  get lastHelper(): HelperCall | undefined {
    return this.stopInfo ? this.helper : undefined;
  }

  // ---- breakpoints ----

  /** Replaces the C-line breakpoints of `file`; each result says where it landed (a line without code moves to the next line with code). */
  setLineBreakpoints(file: string, requests: readonly LineBreakpointRequest[]): Breakpoint[] {
    const out: Bp[] = [];
    for (const r of requests) {
      const id = this.nextBpId++;
      const condition = r.condition ? compileExpression(r.condition) : undefined;
      const resolved = Number.isInteger(r.line) && r.line > 0 ? resolveLine(this.programs.values(), file, r.line) : undefined;
      if (!resolved) {
        out.push({ id, where: new Map(), condition, info: { id, verified: false, message: `no code at or after ${file}:${r.line}`, ...(r.condition ? { condition: r.condition } : {}) } });
        continue;
      }
      const where = new Map<string, Set<number>>();
      for (const [p, slots] of resolved.slots) where.set(p, new Set(slots));
      const [firstProg, firstSlots] = [...resolved.slots.entries()][0]!;
      const moved = resolved.line !== r.line ? `line ${r.line} has no code: moved to line ${resolved.line}` : undefined;
      out.push({
        id,
        where,
        condition,
        info: { id, verified: true, line: resolved.line, file: resolved.file, program: firstProg, pc: firstSlots[0]!, ...(moved ? { message: moved } : {}), ...(r.condition ? { condition: r.condition } : {}) },
      });
    }
    if (out.length === 0) this.lineBps.delete(file);
    else this.lineBps.set(file, out);
    return out.map((b) => b.info);
  }

  /** Replaces every instruction breakpoint. */
  setInstructionBreakpoints(requests: readonly InstructionBreakpointRequest[]): Breakpoint[] {
    this.instructionBps = requests.map((r) => {
      const id = this.nextBpId++;
      const program = r.program ?? this.entry;
      const condition = r.condition ? compileExpression(r.condition) : undefined;
      const info = this.programs.get(program);
      const cond = r.condition ? { condition: r.condition } : {};
      if (!info) return { id, where: new Map(), condition, info: { id, verified: false, message: `no program "${program}" (programs: ${[...this.programs.keys()].join(', ')})`, ...cond } };
      if (!Number.isInteger(r.pc) || r.pc < 0 || r.pc >= info.slots.length || info.slots[r.pc] === undefined) {
        return { id, where: new Map(), condition, info: { id, verified: false, message: `${program} has no instruction at slot ${r.pc} (0..${info.slots.length - 1})`, ...cond } };
      }
      const line = info.lines[r.pc];
      return { id, where: new Map([[program, new Set([r.pc])]]), condition, info: { id, verified: true, program, pc: r.pc, ...(line ? { line: line.line, file: line.file } : {}), ...cond } };
    });
    return this.instructionBps.map((b) => b.info);
  }

  /** Every breakpoint set. */
  breakpoints(): Breakpoint[] {
    return [...[...this.lineBps.values()].flat(), ...this.instructionBps].map((b) => b.info);
  }

  /** Ids of the C-line breakpoints (the others are instruction breakpoints). */
  lineBreakpointIds(): number[] {
    return [...this.lineBps.values()].flat().map((b) => b.id);
  }

  /** Removes a breakpoint by id; false when there is none. */
  deleteBreakpoint(id: number): boolean {
    for (const [file, list] of this.lineBps) {
      const rest = list.filter((b) => b.id !== id);
      if (rest.length !== list.length) {
        if (rest.length === 0) this.lineBps.delete(file);
        else this.lineBps.set(file, rest);
        return true;
      }
    }
    const before = this.instructionBps.length;
    this.instructionBps = this.instructionBps.filter((b) => b.id !== id);
    return this.instructionBps.length !== before;
  }

  private hits(ev: StepEvent): number[] {
    const out: number[] = [];
    const check = (b: Bp): void => {
      if (!b.where.get(ev.program)?.has(ev.pc)) return;
      if (b.condition) {
        let v: bigint;
        try {
          v = b.condition(this.scopeFor(ev.interp, ev.pc));
        } catch {
          v = 1n; // a condition that cannot be evaluated stops, as gdb does
        }
        if (v === 0n) return;
      }
      out.push(b.id);
    };
    for (const list of this.lineBps.values()) list.forEach(check);
    this.instructionBps.forEach(check);
    return out;
  }

  // ---- execution ----

  /** Starts: stops at the first instruction of the first debugged packet when `stopOnEntry`, else runs to a breakpoint. */
  start(stopOnEntry = true): StopInfo | undefined {
    if (this.started) throw new DebugStateError('launch', 'the session has already started');
    this.started = true;
    return this.advance((ev) => (stopOnEntry ? 'entry' : this.atBreakpoint(ev)), false);
  }

  private atBreakpoint(ev: StepEvent): StopReason | undefined {
    return this.hits(ev).length > 0 ? 'breakpoint' : undefined;
  }

  /** Runs to the next breakpoint (across packets); undefined when every packet has run. */
  continue(): StopInfo | undefined {
    this.mustBeStopped('continue');
    return this.advance(() => undefined, false);
  }

  /** Runs the rest of this packet (breakpoints still stop) and stops at the first instruction of the next one that runs. */
  nextPacket(): StopInfo | undefined {
    const from = this.mustBeStopped('nextPacket');
    return this.advance((ev) => (ev.packet !== from.packet && ev.step === 1 ? 'packet' : undefined), false);
  }

  /** Steps over calls: to the next C line (or instruction) at this depth or shallower. */
  next(granularity: Granularity = 'line'): StopInfo | undefined {
    const from = this.mustBeStopped('next');
    const depth = this.stack.length - 1;
    const line = this.info(from.program).lines[from.pc];
    return this.advance((ev) => {
      if (ev.depth > depth) return undefined;
      if (granularity === 'instruction' || ev.depth < depth) return 'step';
      return this.newLine(ev, from.program, line) ? 'step' : undefined;
    }, true);
  }

  /** Steps into calls: to the next C line (or instruction), at any depth. */
  stepIn(granularity: Granularity = 'line'): StopInfo | undefined {
    const from = this.mustBeStopped('stepIn');
    const depth = this.stack.length - 1;
    const line = this.info(from.program).lines[from.pc];
    return this.advance((ev) => (granularity === 'instruction' || ev.depth !== depth || this.newLine(ev, from.program, line) ? 'step' : undefined), true);
  }

  /** Runs until the current function returns (in the entry frame: to the next packet). */
  stepOut(): StopInfo | undefined {
    this.mustBeStopped('stepOut');
    const depth = this.stack.length - 1;
    return this.advance((ev) => (ev.depth < depth ? 'step' : undefined), true);
  }

  private newLine(ev: StepEvent, program: string, line: { file: string; line: number } | undefined): boolean {
    const info = this.programs.get(ev.program);
    const l = info?.lines[ev.pc];
    if (!l) return line === undefined && (ev.program !== program || ev.pc !== this.stopInfo?.pc);
    return !line || ev.program !== program || l.line !== line.line || l.file !== line.file;
  }

  private mustBeStopped(request: string): StopInfo {
    if (this.done) throw new DebugStateError(request, 'the session has terminated (every packet has run)');
    if (!this.stopInfo) throw new DebugStateError(request, this.started ? 'the program is not stopped' : 'the session has not started (launch first)');
    return this.stopInfo;
  }

  private createWorld(): World {
    const obj = this.newWorldObject();
    try {
      this.options.setup?.(obj);
      const program = obj.program(this.entry);
      const interp = program.engine;
      if (!(interp instanceof Interpreter)) throw new DebugStateError('launch', `program "${this.entry}" does not run in the interpreter`);
      const names = new Map<PreparedProgram, string>();
      for (const p of obj.programs.values()) names.set(p.prepared, p.name);
      return { obj, program, interp, names };
    } catch (e) {
      obj.close();
      throw e;
    }
  }

  /** Runs packet `index` in `w` (the hook, when set, is already on the interpreter). Returns instructions executed. */
  private runPacket(w: World, index: number): void {
    const packet = this.options.packets[index]!;
    const prog = w.program;
    if (packet.mode === 'test-run') {
      const r1 = prog.context.setup(packet.data, undefined);
      prog.execute(r1, 0);
    } else {
      prog.run(packet.data);
    }
  }

  private result(w: World, index: number, error?: unknown): PacketResult {
    if (error !== undefined) {
      const msg = error instanceof Error ? error.message : String(error);
      return { packet: index, instructions: w.interp.executed, error: msg };
    }
    const retval = w.interp.retLo >>> 0;
    return { packet: index, retval, verdict: verdictName(w.program.type, retval), instructions: w.interp.executed };
  }

  /**
   * Replays from the start to the first step after the current stop where `target` says stop
   * (breakpoints always stop). Undefined when every packet ran: the session has terminated.
   */
  private advance(target: (ev: StepEvent) => StopReason | undefined, stepping: boolean): StopInfo | undefined {
    const from = this.stopInfo ? { packet: this.stopInfo.packet, step: this.stopInfo.step } : { packet: this.options.firstPacket ?? 0, step: 0 };
    this.world?.obj.close();
    this.world = undefined;
    this.stopInfo = undefined;
    const w = this.createWorld();
    this.world = w;
    const packets = this.options.packets;
    this.results.length = 0;
    for (let p = 0; p < from.packet; p++) {
      try {
        this.runPacket(w, p);
        this.results.push(this.result(w, p));
      } catch (e) {
        if (!(e instanceof BpfkitError)) throw e;
        this.results.push(this.result(w, p, e));
      }
    }
    for (let p = from.packet; p < packets.length; p++) {
      let step = 0;
      this.stack = [];
      this.helper = undefined;
      const skip = p === from.packet ? from.step : 0;
      let pending: { id: number; program: string; pc: number; depth: number; args: bigint[] } | undefined;
      w.interp.stepHook = (pc, depth, prepared) => {
        step++;
        const program = w.names.get(prepared) ?? '?';
        if (step === 1) this.ctxAddress = Number(w.interp.reg(1));
        // The shadow call stack: a deeper frame was entered by the previous slot's call.
        if (depth >= this.stack.length) {
          const caller = this.stack[this.stack.length - 1];
          if (caller) caller.regs = regsOf(w.interp);
          while (this.stack.length <= depth) this.stack.push({ program, pc, regs: undefined });
        } else if (depth < this.stack.length - 1) this.stack.length = depth + 1;
        const top = this.stack[depth]!;
        // A tail call replaced the frame's program at the same depth.
        if (pending && depth <= pending.depth) {
          const tail = program !== pending.program || (depth === pending.depth && pc !== pending.pc + 1);
          this.helper = { name: helperName(pending.id) ?? `#${pending.id}`, id: pending.id, program: pending.program, pc: pending.pc, args: pending.args, ...(tail ? { tailCallTo: program } : { result: w.interp.reg(0) }) };
          pending = undefined;
        }
        top.program = program;
        top.pc = pc;
        top.regs = undefined;
        const insn = this.programs.get(program)?.slots[pc];
        if (insn && insn.code === 0x85 && insn.src === 0) {
          const args = [1, 2, 3, 4, 5].map((i) => w.interp.reg(i));
          pending = { id: insn.imm, program, pc, depth, args };
          this.helper = { name: helperName(insn.imm) ?? `#${insn.imm}`, id: insn.imm, program, pc, args };
        }
        if (step <= skip) return;
        const ev: StepEvent = { packet: p, step, program, pc, depth, interp: w.interp };
        const bps = this.hits(ev);
        if (bps.length > 0) throw new Pause('breakpoint', bps);
        if (step === 1 && this.options.stopOnEachPacket && p !== from.packet) throw new Pause('packet', []);
        // Stepping ran off the end of the stop's packet: stop at the next packet's entry.
        if (stepping && step === 1 && p !== from.packet) throw new Pause('step', []);
        const r = target(ev);
        if (r !== undefined) throw new Pause(r, []);
      };
      try {
        this.runPacket(w, p);
        const res = this.result(w, p);
        this.results.push(res);
        if (p >= from.packet) this.options.onOutput?.(`packet ${p}: ${res.verdict} (retval ${res.retval}), ${res.instructions} instructions\n`);
      } catch (e) {
        w.interp.stepHook = undefined;
        if (e instanceof Pause) {
          const top = this.stack[this.stack.length - 1]!;
          this.stopInfo = { reason: e.reason, packet: p, step, program: top.program, pc: top.pc, breakpoints: e.breakpoints };
          return this.stopInfo;
        }
        if (!(e instanceof BpfkitError)) throw e;
        const res = this.result(w, p, e);
        this.results.push(res);
        if (step === 0 || (p === from.packet && step <= skip)) {
          // Not run (a frame the type cannot receive), or the fault the session already stopped at.
          this.options.onOutput?.(`packet ${p}: ${step === 0 ? 'not run' : 'fault'}: ${e.message}\n`);
        } else {
          const top = this.stack[this.stack.length - 1]!;
          this.stopInfo = { reason: 'exception', packet: p, step, program: top.program, pc: top.pc, breakpoints: [], exception: { message: e.message, code: e.code } };
          return this.stopInfo;
        }
      } finally {
        w.interp.stepHook = undefined;
      }
    }
    this.done = true;
    this.stack = [];
    return undefined;
  }

  // ---- inspection ----

  /** The call frames at the stop, innermost first. */
  frames(): DebugFrame[] {
    this.mustBeStopped('stackTrace');
    const w = this.world!;
    const out: DebugFrame[] = [];
    for (let d = this.stack.length - 1; d >= 0; d--) {
      const f = this.stack[d]!;
      const info = this.programs.get(f.program);
      const line = info?.lines[f.pc];
      const regs = d === this.stack.length - 1 ? regsOf(w.interp) : (f.regs ?? []);
      out.push({ depth: d, program: f.program, function: info ? info.functionAt(f.pc).name : f.program, pc: f.pc, ...(line ? { line } : {}), regs });
    }
    return out;
  }

  /** An expression scope at the stop, for frame `depth` (default: the innermost). */
  scope(depth?: number): EvalScope {
    this.mustBeStopped('evaluate');
    const frames = this.frames();
    const f = depth === undefined ? frames[0]! : frames.find((x) => x.depth === depth);
    if (!f) throw new DebugStateError('evaluate', `no frame ${depth} (frames 0..${frames.length - 1})`);
    return this.scopeWith(f.regs, f.pc);
  }

  private scopeFor(interp: Interpreter, pc: number): EvalScope {
    return this.scopeWith(regsOf(interp), pc);
  }

  private scopeWith(regs: readonly bigint[], pc: number): EvalScope {
    return {
      pc,
      reg: (i) => regs[i] ?? 0n,
      read: (address, size) => this.read(address, size),
      ctxField: (name) => this.ctxField(name),
    };
  }

  /** `size` bytes at a virtual address of the program's address space (MemoryFault when unmapped). */
  read(address: bigint, size: number): Uint8Array {
    const w = this.world;
    if (!w) throw new DebugStateError('read', 'the program is not stopped');
    return w.obj.space.read(Number(address), size);
  }

  /** The context's fields (name, offset, size, value) as the program type lays them out. */
  ctxFields(): { name: string; offset: number; size: number; value: bigint }[] {
    const w = this.world;
    if (!w || !this.stopInfo) return [];
    const ops = programTypeOps(w.program.type);
    if (!ops) return [];
    const out: { name: string; offset: number; size: number; value: bigint }[] = [];
    for (let off = 0; off < ops.ctxSize; ) {
      let size = 0;
      let name = '';
      for (const s of [8, 4]) {
        const c = ops.checkAccess(off, s, false);
        if ('field' in c) {
          size = s;
          name = c.field;
          break;
        }
      }
      if (size === 0) {
        off += 4;
        continue;
      }
      const value = this.loadCtx(off, size);
      if (value !== undefined) out.push({ name, offset: off, size, value });
      off += size;
    }
    return out;
  }

  private ctxField(name: string): bigint | undefined {
    return this.ctxFields().find((f) => f.name === name)?.value;
  }

  /** A context load as the program would see it (rewritten fields through the context's load hook). */
  private loadCtx(off: number, size: number): bigint | undefined {
    const w = this.world!;
    const space = w.obj.space;
    const hi = Math.floor(this.ctxAddress / TWO32);
    const region = space.regionOf(hi);
    if (!region) return undefined;
    const at = (this.ctxAddress >>> 0) - region.start + off;
    const hook = space.hooks[region.id];
    if (hook) {
      const out = new Int32Array(2);
      if (hook(at, size, out)) return BigInt.asUintN(64, (BigInt(out[1]!) << 32n) | BigInt(out[0]! >>> 0));
    }
    if (at < 0 || at + size > region.size) return undefined;
    const b = region.bytes().subarray(at, at + size);
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    return v;
  }

  /** The packet as the program sees it now (`data` .. `data_end`), or undefined when the type has no such fields. */
  packet(): { address: bigint; bytes: Uint8Array } | undefined {
    const data = this.ctxField('data');
    const end = this.ctxField('data_end');
    if (data === undefined || end === undefined || end < data) return undefined;
    try {
      return { address: data, bytes: this.read(data, Number(end - data)) };
    } catch {
      return undefined;
    }
  }

  /** Stack bytes of frame `depth` (512, lowest address first) and the frame pointer's address. */
  stackBytes(depth: number): { fp: bigint; bytes: Uint8Array } | undefined {
    const w = this.world;
    if (!w || !this.stopInfo) return undefined;
    const region = w.interp.stacks[depth];
    if (!region) return undefined;
    return { fp: BigInt(region.address(region.size)), bytes: region.bytes().slice() };
  }

  /** Releases the object at the stop. */
  close(): void {
    this.world?.obj.close();
    this.world = undefined;
    this.stopInfo = undefined;
  }
}

function regsOf(interp: Interpreter): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i <= 10; i++) out.push(interp.reg(i));
  return out;
}
