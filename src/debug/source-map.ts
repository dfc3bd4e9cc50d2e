// Per-program debug facts: slots, disassembly, C lines from BTF line info, functions, and breakpoint line resolution.

import { formatInstruction } from '../asm/format.js';
import type { ProgramSpec } from '../elf/object-spec.js';
import { isLdImm64, type Instruction, type SourceLine } from '../isa/instruction.js';

/** A function of a program: its name and slot range. */
export interface FunctionRange {
  /** Function name (the entry's is the program's). */
  readonly name: string;
  /** First slot. */
  readonly start: number;
  /** One past the last slot. */
  readonly end: number;
}

/** One program as the debugger sees it: slot-indexed instructions, their text and C lines. */
export class ProgramInfo {
  /** Instructions by slot (undefined for the second slot of an lddw). */
  readonly slots: readonly (Instruction | undefined)[];
  /** llvm-objdump text per slot ('' for a second lddw slot). */
  readonly text: readonly string[];
  /** The C line each slot belongs to: its own line info, else the last one before it in its function. */
  readonly lines: readonly (SourceLine | undefined)[];
  /** Whether the slot starts a C line: a line-info entry whose line differs from the previous slot's (where a C-line breakpoint stops). */
  readonly lineStart: readonly boolean[];
  /** Functions in slot order (the entry first). */
  readonly functions: readonly FunctionRange[];

  constructor(
    /** The blueprint. */
    readonly spec: ProgramSpec,
  ) {
    const slots: (Instruction | undefined)[] = [];
    for (const insn of spec.instructions) {
      slots.push(insn);
      if (isLdImm64(insn)) slots.push(undefined);
    }
    this.slots = slots;
    this.text = slots.map((i) => (i ? formatInstruction(i) : ''));
    const starts: { name: string; start: number }[] = [];
    slots.forEach((insn, s) => {
      if (s === 0) starts.push({ name: spec.name, start: 0 });
      else if (insn?.symbol !== undefined && !insn.symbol.startsWith('.') && !/^LBB/.test(insn.symbol)) starts.push({ name: insn.symbol, start: s });
    });
    this.functions = starts.map((f, i) => ({ name: f.name, start: f.start, end: starts[i + 1]?.start ?? slots.length }));
    const lines: (SourceLine | undefined)[] = [];
    const lineStart: boolean[] = [];
    let fn = 0;
    let last: SourceLine | undefined;
    slots.forEach((insn, s) => {
      while (fn + 1 < this.functions.length && s >= this.functions[fn + 1]!.start) {
        fn++;
        last = undefined;
      }
      const prev = last;
      if (insn?.source) last = insn.source;
      lines.push(last);
      // A new entry for the line the previous slot is on (another column) does not start it again.
      lineStart.push(insn?.source !== undefined && (prev === undefined || prev.line !== last!.line || prev.file !== last!.file));
    });
    this.lines = lines;
    this.lineStart = lineStart;
  }

  /** The program's name. */
  get name(): string {
    return this.spec.name;
  }

  /** The function slot `pc` is in. */
  functionAt(pc: number): FunctionRange {
    for (const f of this.functions) if (pc >= f.start && pc < f.end) return f;
    return this.functions[0]!;
  }
}

/** Whether a path the compiler recorded names the file a client asked for (same path, or one ends with the other at a `/`). */
export function sameFile(recorded: string, asked: string): boolean {
  const a = recorded.replace(/\\/g, '/');
  const b = asked.replace(/\\/g, '/');
  if (a === b) return true;
  const tail = (long: string, short: string): boolean => long.endsWith(short) && (long.length === short.length || long[long.length - short.length - 1] === '/');
  return tail(a, b.replace(/^\.\//, '')) || tail(b, a.replace(/^\.\//, ''));
}

/** The last component of a path (either separator). */
const baseName = (path: string): string => path.replace(/\\/g, '/').replace(/.*\//, '');

/** Where a C-line breakpoint lands. */
export interface ResolvedLine {
  /** The line with code it moved to (the asked line when that has code). */
  readonly line: number;
  /** The file as the compiler recorded it. */
  readonly file: string;
  /** Slots (per program name) where it stops. */
  readonly slots: ReadonlyMap<string, readonly number[]>;
}

/**
 * Resolves `file:line` over every program: the slots that start a line-info entry on that
 * line, or, when the line has no code, on the next line of the file that has some (as gdb
 * does). Undefined when no later line of the file has code.
 */
export function resolveLine(programs: Iterable<ProgramInfo>, file: string, line: number): ResolvedLine | undefined {
  const all = [...programs];
  // An object built on another machine (a CI builder, a colleague's checkout) records paths that
  // do not exist here: when no recorded path names the file, its base name does, as long as only
  // one recorded file has that base name.
  const recorded = new Set(all.flatMap((p) => p.slots.map((insn) => insn?.source?.file).filter((f): f is string => f !== undefined)));
  if (![...recorded].some((f) => sameFile(f, file))) {
    const byBase = [...recorded].filter((f) => baseName(f) === baseName(file));
    if (byBase.length !== 1) return undefined;
    file = byBase[0]!;
  }
  let best: { line: number; file: string } | undefined;
  for (const p of all) {
    p.slots.forEach((insn, s) => {
      const src = insn?.source;
      if (!src || !p.lineStart[s] || !sameFile(src.file, file) || src.line < line) return;
      if (!best || src.line < best.line) best = { line: src.line, file: src.file };
    });
  }
  if (!best) return undefined;
  const target = best;
  const slots = new Map<string, number[]>();
  for (const p of all) {
    p.slots.forEach((insn, s) => {
      const src = insn?.source;
      if (!src || !p.lineStart[s] || src.line !== target.line || !sameFile(src.file, target.file)) return;
      const list = slots.get(p.name) ?? [];
      list.push(s);
      slots.set(p.name, list);
    });
  }
  return { line: target.line, file: target.file, slots };
}
