// The Debug Adapter Protocol server: requests in, responses and events out, over a DebugSession (pure; the CLI gives it a transport).

import { BpfkitError } from '../errors.js';
import { DapProtocolError } from './errors.js';
import { compileExpression, formatValue } from './expression.js';
import type { DebugSession, StopInfo } from './session.js';
import { frameScopes, type ViewNode } from './views.js';

/** A DAP message as sent (response or event). */
export type DapMessage = Record<string, unknown>;

/** Options of a {@link DapServer}. */
export interface DapServerOptions {
  /** Creates the session (at `launch`; launch arguments are passed through). */
  readonly createSession: (args: Record<string, unknown>) => DebugSession;
  /** Sends one message to the client. */
  readonly send: (message: DapMessage) => void;
  /** Called after `disconnect` was answered: the host closes the transport. */
  readonly onDisconnect?: () => void;
}

const THREAD_ID = 1;

/** The program index and slot of an instruction address (`0x<program><slot * 8 as 8 hex digits>`). */
function parseAddress(ref: string): { program: number; slot: number } | undefined {
  const m = /^0x([0-9a-fA-F]{1,16})$/.exec(ref.trim());
  if (!m) return undefined;
  const v = BigInt(`0x${m[1]}`);
  const off = Number(v & 0xffffffffn);
  if (off % 8 !== 0) return undefined;
  return { program: Number(v >> 32n), slot: off / 8 };
}

const b64chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
function base64(b: Uint8Array): string {
  let out = '';
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i]! << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    out += b64chars[(n >> 18) & 63]! + b64chars[(n >> 12) & 63]! + (i + 1 < b.length ? b64chars[(n >> 6) & 63]! : '=') + (i + 2 < b.length ? b64chars[n & 63]! : '=');
  }
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Serves the Debug Adapter Protocol for one client: initialize, launch, configurationDone,
 * setBreakpoints, setInstructionBreakpoints, threads, stackTrace, scopes, variables, next,
 * stepIn, stepOut, continue, evaluate, disassemble, readMemory, disconnect. A malformed or
 * out-of-order request gets an error response (success false, a message), never a throw.
 */
export class DapServer {
  private seq = 1;
  private initialized = false;
  private launched: Record<string, unknown> | undefined;
  private configured = false;
  private session: DebugSession | undefined;
  private started = false;
  private refs = new Map<number, () => ViewNode[]>();
  private nextRef = 1;
  private pendingBps: { kind: 'line'; file: string; args: Record<string, unknown>; reply: (body?: Record<string, unknown>) => void }[] = [];

  constructor(private readonly options: DapServerOptions) {}

  private send(m: DapMessage): void {
    this.options.send({ seq: this.seq++, ...m });
  }

  /** Sends an event. */
  event(event: string, body?: Record<string, unknown>): void {
    this.send({ type: 'event', event, ...(body ? { body } : {}) });
  }

  /** Handles one incoming message (a parsed JSON value, or a framing error). */
  handle(message: unknown): void {
    if (message instanceof DapProtocolError) {
      this.send({ type: 'response', request_seq: 0, success: false, command: '', message: message.message });
      return;
    }
    if (!isObject(message) || message['type'] !== 'request' || typeof message['command'] !== 'string' || typeof message['seq'] !== 'number') {
      const seq = isObject(message) && typeof message['seq'] === 'number' ? message['seq'] : 0;
      const command = isObject(message) && typeof message['command'] === 'string' ? message['command'] : '';
      this.send({ type: 'response', request_seq: seq, success: false, command, message: 'malformed message: a request needs "type": "request", a numeric "seq" and a string "command"' });
      return;
    }
    const command = message['command'];
    const args = message['arguments'] === undefined ? {} : message['arguments'];
    const reply = (body?: Record<string, unknown>): void => this.send({ type: 'response', request_seq: message['seq'], success: true, command, ...(body ? { body } : {}) });
    const fail = (text: string, code?: string): void =>
      this.send({ type: 'response', request_seq: message['seq'], success: false, command, message: text, body: { error: { id: 1, format: text, ...(code ? { variables: { code } } : {}) } } });
    try {
      if (!isObject(args)) throw new DapProtocolError(command, '"arguments" must be an object');
      this.dispatch(command, args, reply);
    } catch (e) {
      if (e instanceof BpfkitError) fail(`${e.message} [${e.code}]`, e.code);
      else fail(`internal error: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private need(command: string): DebugSession {
    if (!this.initialized) throw new DapProtocolError(command, 'send initialize first');
    if (!this.session) throw new DapProtocolError(command, 'no session: send launch first');
    return this.session;
  }

  private stoppedSession(command: string): DebugSession {
    const s = this.need(command);
    if (!s.stopped) throw new DapProtocolError(command, s.terminated ? 'the program has terminated' : 'the program is not stopped');
    return s;
  }

  private dispatch(command: string, args: Record<string, unknown>, reply: (body?: Record<string, unknown>) => void): void {
    if (command !== 'initialize' && command !== 'disconnect' && !this.initialized) throw new DapProtocolError(command, 'send initialize first');
    switch (command) {
      case 'initialize':
        if (this.initialized) throw new DapProtocolError(command, 'already initialized');
        this.initialized = true;
        reply({
          supportsConfigurationDoneRequest: true,
          supportsConditionalBreakpoints: true,
          supportsEvaluateForHovers: true,
          supportsInstructionBreakpoints: true,
          supportsDisassembleRequest: true,
          supportsReadMemoryRequest: true,
          supportsSteppingGranularity: true,
          supportsTerminateRequest: false,
        });
        this.event('initialized');
        return;
      case 'launch': {
        if (this.launched) throw new DapProtocolError(command, 'already launched');
        this.session = this.options.createSession(args);
        this.launched = args;
        reply();
        for (const p of this.pendingBps.splice(0)) this.dispatch('setBreakpoints', p.args, p.reply);
        this.maybeStart();
        return;
      }
      case 'configurationDone':
        this.configured = true;
        reply();
        this.maybeStart();
        return;
      case 'setBreakpoints': {
        const source = args['source'];
        const path = isObject(source) ? (typeof source['path'] === 'string' ? source['path'] : typeof source['name'] === 'string' ? source['name'] : undefined) : undefined;
        if (path === undefined) throw new DapProtocolError(command, 'needs source.path');
        const list = args['breakpoints'] ?? (Array.isArray(args['lines']) ? (args['lines'] as unknown[]).map((line) => ({ line })) : []);
        if (!Array.isArray(list)) throw new DapProtocolError(command, '"breakpoints" must be an array');
        const reqs = list.map((b, i) => {
          if (!isObject(b) || typeof b['line'] !== 'number') throw new DapProtocolError(command, `breakpoint ${i} needs a numeric line`);
          return { line: b['line'], ...(typeof b['condition'] === 'string' && b['condition'].trim() !== '' ? { condition: b['condition'] } : {}) };
        });
        if (!this.session) {
          // Before launch (some clients send breakpoints first): answered once the session exists.
          this.pendingBps.push({ kind: 'line', file: path, args, reply });
          return;
        }
        const out = this.session.setLineBreakpoints(path, reqs);
        reply({
          breakpoints: out.map((b) => ({ id: b.id, verified: b.verified, ...(b.line !== undefined ? { line: b.line } : {}), ...(b.message ? { message: b.message } : {}), source: { path: b.file ?? path }, ...(b.pc !== undefined ? { instructionReference: this.address(b.program!, b.pc) } : {}) })),
        });
        return;
      }
      case 'setInstructionBreakpoints': {
        const s = this.need(command);
        const list = args['breakpoints'];
        if (!Array.isArray(list)) throw new DapProtocolError(command, '"breakpoints" must be an array');
        const names = [...s.programs.keys()];
        const reqs = list.map((b, i) => {
          if (!isObject(b) || typeof b['instructionReference'] !== 'string') throw new DapProtocolError(command, `breakpoint ${i} needs an instructionReference`);
          const a = parseAddress(b['instructionReference']);
          if (!a) throw new DapProtocolError(command, `breakpoint ${i}: '${b['instructionReference']}' is not an instruction address (0x<program><slot*8>)`);
          const off = typeof b['offset'] === 'number' ? b['offset'] : 0;
          return { program: names[a.program - 1] ?? `#${a.program}`, pc: a.slot + Math.trunc(off / 8), ...(typeof b['condition'] === 'string' && b['condition'] !== '' ? { condition: b['condition'] } : {}) };
        });
        const out = s.setInstructionBreakpoints(reqs);
        reply({ breakpoints: out.map((b) => ({ id: b.id, verified: b.verified, ...(b.message ? { message: b.message } : {}), ...(b.pc !== undefined ? { instructionReference: this.address(b.program!, b.pc) } : {}), ...(b.line !== undefined ? { line: b.line } : {}) })) });
        return;
      }
      case 'threads': {
        const s = this.session;
        reply({ threads: [{ id: THREAD_ID, name: s ? `${s.entry}${s.stopped ? ` (packet ${s.stopped.packet})` : ''}` : 'bpf' }] });
        return;
      }
      case 'stackTrace': {
        const s = this.stoppedSession(command);
        const frames = s.frames();
        const start = typeof args['startFrame'] === 'number' ? args['startFrame'] : 0;
        const levels = typeof args['levels'] === 'number' && args['levels'] > 0 ? args['levels'] : frames.length;
        reply({
          stackFrames: frames.slice(start, start + levels).map((f) => ({
            id: f.depth + 1,
            name: `${f.function}${f.program !== f.function ? ` (${f.program})` : ''}`,
            line: f.line?.line ?? 0,
            column: f.line?.column ?? 0,
            ...(f.line ? { source: { name: f.line.file.split('/').pop(), path: f.line.file } } : {}),
            instructionPointerReference: this.address(f.program, f.pc),
          })),
          totalFrames: frames.length,
        });
        return;
      }
      case 'scopes': {
        const s = this.stoppedSession(command);
        const depth = this.frameDepth(s, args, command);
        reply({ scopes: frameScopes(s, depth).map((sc) => ({ name: sc.name, variablesReference: this.ref(sc.nodes), expensive: sc.expensive })) });
        return;
      }
      case 'variables': {
        this.stoppedSession(command);
        const ref = args['variablesReference'];
        const get = typeof ref === 'number' ? this.refs.get(ref) : undefined;
        if (!get) throw new DapProtocolError(command, `unknown variablesReference ${String(ref)} (references last until the next step)`);
        reply({ variables: get().map((n) => ({ name: n.name, value: n.value, variablesReference: n.children ? this.ref(n.children) : 0, ...(n.address !== undefined ? { memoryReference: `0x${n.address.toString(16)}` } : {}) })) });
        return;
      }
      case 'continue':
      case 'next':
      case 'stepIn':
      case 'stepOut': {
        const s = this.stoppedSession(command);
        const g = args['granularity'] === 'instruction' ? 'instruction' : 'line';
        reply(command === 'continue' ? { allThreadsContinued: true } : undefined);
        this.refs.clear();
        const stop = command === 'continue' ? s.continue() : command === 'next' ? s.next(g) : command === 'stepIn' ? s.stepIn(g) : s.stepOut();
        this.report(stop);
        return;
      }
      case 'pause':
        throw new DapProtocolError(command, 'the program runs one packet at a time to completion; set a breakpoint instead');
      case 'evaluate': {
        const s = this.stoppedSession(command);
        const text = args['expression'];
        if (typeof text !== 'string') throw new DapProtocolError(command, 'needs a string "expression"');
        const depth = args['frameId'] === undefined ? undefined : this.frameDepth(s, args, command);
        const v = compileExpression(text)(s.scope(depth));
        reply({ result: formatValue(v), variablesReference: 0, ...(v > 0xffffffffn ? { memoryReference: `0x${v.toString(16)}` } : {}) });
        return;
      }
      case 'disassemble': {
        const s = this.need(command);
        const ref = args['memoryReference'];
        const a = typeof ref === 'string' ? parseAddress(ref) : undefined;
        if (!a) throw new DapProtocolError(command, `memoryReference must be an instruction address (0x<program><slot*8>), got ${JSON.stringify(ref)}`);
        const names = [...s.programs.keys()];
        const name = names[a.program - 1];
        if (name === undefined) throw new DapProtocolError(command, `no program ${a.program} (1..${names.length})`);
        const info = s.info(name);
        const count = typeof args['instructionCount'] === 'number' ? Math.min(Math.max(0, Math.trunc(args['instructionCount'])), 100_000) : 0;
        const first = a.slot + Math.trunc(((typeof args['offset'] === 'number' ? args['offset'] : 0) / 8)) + Math.trunc(typeof args['instructionOffset'] === 'number' ? args['instructionOffset'] : 0);
        const instructions: Record<string, unknown>[] = [];
        let lastLine: number | undefined;
        for (let slot = first; slot < first + count; slot++) {
          const insn = slot >= 0 ? info.slots[slot] : undefined;
          if (slot < 0 || slot >= info.slots.length) {
            instructions.push({ address: this.address(name, Math.max(0, slot)), instruction: '', presentationHint: 'invalid' });
            continue;
          }
          const line = info.lines[slot];
          const fn = info.functionAt(slot);
          instructions.push({
            address: this.address(name, slot),
            instruction: insn ? info.text[slot] : '(second half of lddw)',
            ...(fn.start === slot ? { symbol: fn.name } : {}),
            ...(line && line.line !== lastLine ? { location: { name: line.file.split('/').pop(), path: line.file }, line: line.line, column: line.column } : {}),
          });
          lastLine = line?.line;
        }
        reply({ instructions });
        return;
      }
      case 'readMemory': {
        const s = this.stoppedSession(command);
        const ref = args['memoryReference'];
        if (typeof ref !== 'string' || !/^0x[0-9a-fA-F]{1,16}$/.test(ref)) throw new DapProtocolError(command, 'memoryReference must be a hex address');
        const count = typeof args['count'] === 'number' ? Math.min(Math.max(0, Math.trunc(args['count'])), 1 << 20) : 0;
        const address = BigInt(ref) + BigInt(typeof args['offset'] === 'number' ? Math.trunc(args['offset']) : 0);
        // Read what is mapped from the start; the rest is unreadable.
        let n = count;
        let data: Uint8Array = new Uint8Array(0);
        while (n > 0) {
          try {
            data = s.read(address, n);
            break;
          } catch {
            n = n > 64 ? n >> 1 : n - 1;
          }
        }
        reply({ address: `0x${address.toString(16)}`, data: base64(data), ...(data.length < count ? { unreadableBytes: count - data.length } : {}) });
        return;
      }
      case 'disconnect':
      case 'terminate':
        reply();
        this.session?.close();
        if (command === 'disconnect') this.options.onDisconnect?.();
        return;
      default:
        throw new DapProtocolError(command, `unrecognized request '${command}'`);
    }
  }

  private frameDepth(s: DebugSession, args: Record<string, unknown>, command: string): number {
    const id = args['frameId'];
    const frames = s.frames();
    if (typeof id !== 'number' || !frames.some((f) => f.depth + 1 === id)) throw new DapProtocolError(command, `unknown frameId ${String(id)} (frames 1..${frames.length})`);
    return id - 1;
  }

  private ref(get: () => ViewNode[]): number {
    const id = this.nextRef++;
    this.refs.set(id, get);
    return id;
  }

  private address(program: string, slot: number): string {
    const names = [...this.session!.programs.keys()];
    const k = names.indexOf(program) + 1;
    return `0x${k.toString(16)}${(slot * 8).toString(16).padStart(8, '0')}`;
  }

  private maybeStart(): void {
    if (this.started || !this.launched || !this.configured || !this.session) return;
    this.started = true;
    const stopOnEntry = this.launched['stopOnEntry'] === true;
    let stop: StopInfo | undefined;
    try {
      stop = this.session.start(stopOnEntry);
    } catch (e) {
      this.event('output', { category: 'stderr', output: `${e instanceof Error ? e.message : String(e)}\n` });
      this.event('terminated');
      return;
    }
    this.report(stop);
  }

  private report(stop: StopInfo | undefined): void {
    if (!stop) {
      const s = this.session!;
      this.event('output', { category: 'console', output: `all ${s.results.length} packets ran\n` });
      this.event('terminated');
      this.event('exited', { exitCode: 0 });
      return;
    }
    const reason = stop.reason === 'packet' ? 'step' : stop.reason;
    this.event('stopped', {
      reason,
      threadId: THREAD_ID,
      allThreadsStopped: true,
      description: stop.exception ? `fault: ${stop.exception.message}` : `${stop.reason} at ${stop.program}:${stop.pc} (packet ${stop.packet})`,
      ...(stop.exception ? { text: stop.exception.message } : {}),
      ...(stop.breakpoints.length > 0 ? { hitBreakpointIds: [...stop.breakpoints] } : {}),
    });
  }
}
