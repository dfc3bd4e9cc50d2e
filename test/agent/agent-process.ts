// Test helper: `bpfkit agent` as a child process — its JSON log lines, HTTP endpoints, signals, and a sure kill.
import { spawn, type ChildProcess } from 'node:child_process';
import { get as httpRequest } from 'node:http';
import { join } from 'node:path';
import { repoRoot } from '../support/fixtures.js';

/** One log line of the agent. */
export type LogLine = { readonly msg: string; readonly level: string } & Record<string, unknown>;

/** A running agent process. */
export interface AgentProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[];
  /** Standard error so far. */
  stderr(): string;
  /** Resolves with the first log line after index `from` matching `pred` (rejects after `timeoutMs` or on exit). */
  waitFor(pred: (l: LogLine) => boolean, timeoutMs?: number, from?: number): Promise<LogLine>;
  /** GET `path` on the agent's port: status and body. */
  get(path: string): Promise<{ status: number; body: string }>;
  readonly port: () => number;
  /** Resolves with the exit code (or signal name). */
  readonly exited: Promise<number | string>;
  /** SIGKILL if still running. */
  kill(): void;
}

/** Starts `bpfkit agent ...args` and waits for its `listening` line (or its exit). */
export async function startAgent(args: readonly string[], timeoutMs = 60_000): Promise<AgentProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'src/cli/bin.ts'), 'agent', ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: LogLine[] = [];
  let err = '';
  let buf = '';
  const waiters = new Set<() => void>();
  const stderrText = () => err;
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line) as LogLine);
      } catch {
        lines.push({ msg: 'unparsed', level: 'raw', text: line });
      }
      for (const w of waiters) w();
    }
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
  let done = false;
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => {
      done = true;
      for (const w of waiters) w();
      resolve(code ?? signal ?? -1);
    }),
  );
  const waitFor = (pred: (l: LogLine) => boolean, ms = 30_000, from = 0): Promise<LogLine> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const hit = lines.slice(from).find(pred);
        if (hit) {
          cleanup();
          resolve(hit);
        } else if (done) {
          cleanup();
          reject(new Error(`agent exited before the awaited line; stdout:\n${lines.map((l) => JSON.stringify(l)).join('\n')}\nstderr:\n${err}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no awaited agent line within ${ms} ms; stdout:\n${lines.map((l) => JSON.stringify(l)).join('\n')}\nstderr:\n${err}`));
      }, ms);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  const proc: AgentProcess = {
    child,
    lines,
    stderr: () => err,
    waitFor,
    port: () => Number(lines.find((l) => l.msg === 'listening')?.['port'] ?? 0),
    get: async (path) => {
      try {
        return await httpGet(proc.port(), path);
      } catch (err) {
        const last = lines.slice(-5).map((l) => JSON.stringify(l)).join('\n');
        throw new Error(`GET ${path} on port ${proc.port()}: ${(err as Error).message} (${String((err as Error).cause ?? '')}); agent ${done ? 'exited' : 'running'}; last lines:\n${last}\nstderr:\n${stderrText()}`, { cause: err });
      }
    },
    exited,
    kill: () => {
      if (!done) child.kill('SIGKILL');
    },
  };
  try {
    await waitFor((l) => l.msg === 'listening', timeoutMs);
  } catch (e) {
    proc.kill();
    throw e;
  }
  return proc;
}

/** Runs `bpfkit agent ...args` to completion (for --check): exit code and output. */
export function runAgentOnce(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'src/cli/bin.ts'), 'agent', ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout: out, stderr: err }));
  });
}

/** GET on 127.0.0.1:`port` over a fresh connection (no keep-alive: no race with the server closing an idle one). */
function httpGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}
