// The terminal front-end's command interpreter (gdb's words): one line in, text out; the CLI feeds it stdin.

import { BpfkitError } from '../errors.js';
import { compileExpression, formatValue } from './expression.js';
import type { DebugSession, StopInfo } from './session.js';
import { registerViews } from './views.js';

/** The commands, for `help`. */
export const REPL_HELP = `commands:
  break FILE:LINE [if EXPR]   break at a C line (a line without code moves to the next one)
  break *PC [if EXPR]         break at an instruction (slot) of the debugged program; b for short
  delete N                    remove breakpoint N
  step | s, next | n          next C line, into / over BPF-to-BPF calls
  stepi | si, nexti | ni      one instruction, into / over calls
  finish                      run until the current function returns
  continue | c                run to the next breakpoint (through the next packets)
  packet                      run to the start of the next packet (breakpoints still stop)
  print EXPR | p EXPR         r1, w2, ctx->data_end, *(u32 *)(r10 - 8), r2 + 14 ...
  regs                        registers and what the verifier knew of each here
  x/NFU ADDR                  examine memory: N units, F x|d|u, U b|h|w|g (x/16xb r10-16)
  bt                          the call frames
  info breakpoints            the breakpoints
  list                        the instructions around the current one
  quit | q                    leave
`;

/** A REPL over a session that has been started (`session.start(true)`). */
export class DebugRepl {
  /** True after `quit`. */
  done = false;

  constructor(private readonly session: DebugSession) {}

  /** A description of the current stop (what gdb prints when the program stops). */
  where(stop: StopInfo | undefined = this.session.stopped): string {
    if (!stop) {
      const res = this.session.results;
      const counts = new Map<string, number>();
      for (const r of res) counts.set(r.error ? 'error' : r.verdict!, (counts.get(r.error ? 'error' : r.verdict!) ?? 0) + 1);
      return `[terminated] all ${res.length} packet${res.length === 1 ? '' : 's'} ran: ${[...counts].map(([v, n]) => `${n} ${v}`).join(', ')}\n`;
    }
    const info = this.session.info(stop.program);
    const fn = info.functionAt(stop.pc).name;
    const line = info.lines[stop.pc];
    let head = '';
    if (stop.reason === 'breakpoint') head = `Breakpoint ${stop.breakpoints.join(', ')}, `;
    else if (stop.reason === 'exception') head = `Program faulted: ${stop.exception?.message}\n`;
    else if (stop.reason === 'entry' || stop.reason === 'packet') head = `Packet ${stop.packet}, `;
    let out = `${head}${fn} () at ${line ? `${line.file.split('/').pop()}:${line.line}` : `${stop.program}:${stop.pc}`} [packet ${stop.packet}, insn ${stop.step}]\n`;
    if (line) out += `${line.line}\t${line.text.trim()}\n`;
    out += `=> ${stop.pc}: ${info.text[stop.pc]}\n`;
    return out;
  }

  /** Runs one command line; returns its output. Errors are printed, never thrown. */
  execute(input: string): string {
    const line = input.trim();
    if (line === '') return '';
    const [word = '', ...restWords] = line.split(/\s+/);
    const rest = line.slice(word.length).trim();
    try {
      return this.run(word, rest, restWords);
    } catch (e) {
      if (e instanceof BpfkitError) return `error: ${e.message}\n`;
      throw e;
    }
  }

  private run(word: string, rest: string, words: string[]): string {
    const s = this.session;
    const x = /^x(?:\/(\d*)([xdu]?)([bhwg]?))?$/.exec(word);
    if (x) return this.examine(Number(x[1] || '1'), x[2] || 'x', x[3] || 'b', rest);
    switch (word) {
      case 'help':
      case 'h':
        return REPL_HELP;
      case 'quit':
      case 'q':
        this.done = true;
        return '';
      case 'break':
      case 'b':
        return this.break(rest);
      case 'delete':
      case 'd': {
        const id = Number(words[0]);
        return s.deleteBreakpoint(id) ? `Deleted breakpoint ${id}\n` : `error: no breakpoint ${words[0] ?? ''}\n`;
      }
      case 'info':
        if (words[0] === 'breakpoints' || words[0] === 'break' || words[0] === 'b') return this.infoBreakpoints();
        if (words[0] === 'registers' || words[0] === 'reg') return this.regs();
        return `error: info breakpoints | info registers\n`;
      case 'step':
      case 's':
        return this.where(s.stepIn('line'));
      case 'next':
      case 'n':
        return this.where(s.next('line'));
      case 'stepi':
      case 'si':
        return this.where(s.stepIn('instruction'));
      case 'nexti':
      case 'ni':
        return this.where(s.next('instruction'));
      case 'finish':
        return this.where(s.stepOut());
      case 'continue':
      case 'c':
        return this.where(s.continue());
      case 'packet':
        return this.where(s.nextPacket());
      case 'print':
      case 'p': {
        if (rest === '') return 'error: print EXPR\n';
        const v = compileExpression(rest)(s.scope());
        return `${rest} = ${formatValue(v)}\n`;
      }
      case 'regs':
        return this.regs();
      case 'bt':
      case 'backtrace':
      case 'where':
        return s.frames().map((f, i) => `#${i}  ${f.function} () at ${f.line ? `${f.line.file.split('/').pop()}:${f.line.line}` : '?'}  [${f.program}:${f.pc}]\n`).join('');
      case 'list':
      case 'l':
        return this.list();
      default:
        return `error: unknown command '${word}' (help lists them)\n`;
    }
  }

  private break(rest: string): string {
    const s = this.session;
    const m = /^(\S+)(?:\s+if\s+(.+))?$/.exec(rest);
    if (!m) return 'error: break FILE:LINE | break *PC [if EXPR]\n';
    const where = m[1]!;
    const condition = m[2]?.trim();
    const cond = condition ? { condition } : {};
    if (where.startsWith('*')) {
      const pc = Number(where.slice(1));
      const current = this.session.stopped?.program;
      // setInstructionBreakpoints replaces the set: keep the instruction ones already there.
      const lineIds = new Set(s.lineBreakpointIds());
      const existing = s.breakpoints().filter((b) => b.pc !== undefined && b.program !== undefined && !lineIds.has(b.id));
      const out = s.setInstructionBreakpoints([...existing.map((b) => ({ pc: b.pc!, program: b.program!, ...(b.condition ? { condition: b.condition } : {}) })), { pc, ...(current ? { program: current } : {}), ...cond }]);
      const b = out[out.length - 1]!;
      return b.verified ? `Breakpoint ${b.id} at ${b.program}:${b.pc}${b.line !== undefined ? `: file ${b.file?.split('/').pop()}, line ${b.line}` : ''}\n` : `error: ${b.message}\n`;
    }
    const fl = /^(.*):(\d+)$/.exec(where);
    let file: string;
    let line: number;
    if (fl) {
      file = fl[1]!;
      line = Number(fl[2]);
    } else if (/^\d+$/.test(where)) {
      const stop = s.stopped;
      const cur = stop ? s.info(stop.program).lines[stop.pc] : undefined;
      const any = cur ?? [...s.programs.values()].flatMap((p) => p.lines).find((l) => l !== undefined);
      if (!any) return 'error: the object has no line info: use break *PC\n';
      file = any.file;
      line = Number(where);
    } else return 'error: break FILE:LINE | break LINE | break *PC [if EXPR]\n';
    // setLineBreakpoints replaces the file's set: keep the ones already there.
    const lineIds = new Set(s.lineBreakpointIds());
    const keep = s.breakpoints().filter((b) => lineIds.has(b.id) && b.file !== undefined && b.line !== undefined && sameBase(b.file, file));
    const out = s.setLineBreakpoints(file, [...keep.map((b) => ({ line: b.line!, ...(b.condition ? { condition: b.condition } : {}) })), { line, ...cond }]);
    const b = out[out.length - 1]!;
    if (!b.verified) return `error: ${b.message}\n`;
    return `${b.message ? `${b.message}\n` : ''}Breakpoint ${b.id} at ${b.program}:${b.pc}: file ${b.file?.split('/').pop()}, line ${b.line}\n`;
  }

  private infoBreakpoints(): string {
    const list = this.session.breakpoints();
    if (list.length === 0) return 'No breakpoints.\n';
    return `Num  Where\n${list.map((b) => `${String(b.id).padEnd(4)} ${b.verified ? `${b.program}:${b.pc}${b.line !== undefined ? ` (${b.file?.split('/').pop()}:${b.line})` : ''}` : `(pending) ${b.message}`}${b.condition ? ` if ${b.condition}` : ''}\n`).join('')}`;
  }

  private regs(): string {
    const f = this.session.frames()[0]!;
    const views = registerViews(this.session, f.depth);
    return f.regs.map((v, i) => `r${String(i).padEnd(3)} ${formatValue(v).padEnd(44)} ${views?.[i] ? `verifier: ${views[i]!.text}` : views ? 'verifier: not initialised' : ''}\n`).join('');
  }

  private examine(count: number, fmt: string, unit: string, expr: string): string {
    if (expr === '') return 'error: x/NFU ADDR\n';
    const size = { b: 1, h: 2, w: 4, g: 8 }[unit as 'b' | 'h' | 'w' | 'g'];
    const addr = compileExpression(expr)(this.session.scope());
    const n = Math.min(Math.max(count, 1), 4096);
    const bytes = this.session.read(addr, n * size);
    const perRow = Math.max(1, 16 / size);
    let out = '';
    for (let i = 0; i < n; i++) {
      if (i % perRow === 0) out += `${i > 0 ? '\n' : ''}0x${(addr + BigInt(i * size)).toString(16)}:`;
      let v = 0n;
      for (let k = size - 1; k >= 0; k--) v = (v << 8n) | BigInt(bytes[i * size + k]!);
      out += fmt === 'x' ? ` 0x${v.toString(16).padStart(size * 2, '0')}` : fmt === 'd' ? ` ${BigInt.asIntN(size * 8, v)}` : ` ${v}`;
    }
    return `${out}\n`;
  }

  private list(): string {
    const stop = this.session.stopped;
    if (!stop) return 'error: the program is not stopped\n';
    const info = this.session.info(stop.program);
    let out = '';
    for (let pc = Math.max(0, stop.pc - 5); pc < Math.min(info.slots.length, stop.pc + 6); pc++) {
      if (!info.slots[pc]) continue;
      const l = info.lineStart[pc] ? info.lines[pc] : undefined;
      if (l) out += `   ; ${l.text.trim()}  (${l.file.split('/').pop()}:${l.line})\n`;
      out += `${pc === stop.pc ? '=>' : '  '} ${String(pc).padStart(4)}: ${info.text[pc]}\n`;
    }
    return out;
  }
}

function sameBase(a: string, b: string): boolean {
  return a === b || a.endsWith(`/${b}`) || b.endsWith(`/${a}`);
}
