// A scripted Debug Adapter Protocol client for tests: spawns `bpfkit debug`, sends requests, awaits responses and events.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { DapFramer, encodeDapMessage } from '../../src/debug/dap-framing.js';
import { repoRoot } from '../support/fixtures.js';

/** A DAP message as received. */
export type Msg = Record<string, unknown> & { type: string; seq: number; body?: Record<string, unknown> };

/** Drives one `bpfkit debug` process over stdio. */
export class DapClient {
  readonly proc: ChildProcessWithoutNullStreams;
  private seq = 1;
  private readonly inbox: Msg[] = [];
  private waiters: (() => void)[] = [];
  stderr = '';
  exitCode: number | null | undefined;

  constructor(args: readonly string[]) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/bin.ts', 'debug', ...args], { cwd: repoRoot });
    const framer = new DapFramer();
    this.proc.stdout.on('data', (chunk: Buffer) => {
      for (const m of framer.push(new Uint8Array(chunk))) this.inbox.push(m as Msg);
      this.wake();
    });
    this.proc.stderr.on('data', (c: Buffer) => void (this.stderr += c.toString()));
    this.proc.on('exit', (code) => {
      this.exitCode = code;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Sends raw bytes (for malformed-input tests). */
  raw(bytes: Uint8Array | string): void {
    this.proc.stdin.write(bytes);
  }

  /** Sends a request; returns its seq. */
  send(command: string, args?: Record<string, unknown>): number {
    const seq = this.seq++;
    this.proc.stdin.write(encodeDapMessage({ seq, type: 'request', command, ...(args ? { arguments: args } : {}) }));
    return seq;
  }

  /** Waits for the first unconsumed message matching `pred` (60 s: the machine may be loaded). */
  async next(pred: (m: Msg) => boolean, what: string): Promise<Msg> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const i = this.inbox.findIndex(pred);
      if (i >= 0) return this.inbox.splice(i, 1)[0]!;
      if (this.exitCode !== undefined) throw new Error(`bpfkit debug exited (${this.exitCode}) while waiting for ${what}: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; inbox: ${JSON.stringify(this.inbox).slice(0, 2000)}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }

  /** Sends a request and returns its response (success or not). */
  async request(command: string, args?: Record<string, unknown>): Promise<Msg> {
    const seq = this.send(command, args);
    return this.next((m) => m.type === 'response' && m['request_seq'] === seq, `response to ${command}`);
  }

  /** A successful request's body. */
  async ok(command: string, args?: Record<string, unknown>): Promise<Record<string, unknown>> {
    const r = await this.request(command, args);
    if (r['success'] !== true) throw new Error(`${command} failed: ${String(r['message'])}`);
    return r.body ?? {};
  }

  /** The next event of a kind. */
  event(name: string): Promise<Msg> {
    return this.next((m) => m.type === 'event' && m['event'] === name, `event ${name}`);
  }

  /** The next stopped or terminated event. */
  stopOrEnd(): Promise<Msg> {
    return this.next((m) => m.type === 'event' && (m['event'] === 'stopped' || m['event'] === 'terminated'), 'stopped/terminated');
  }

  /** Ends the process. */
  close(): void {
    if (this.exitCode === undefined) this.proc.kill();
  }
}
