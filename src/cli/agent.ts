// `bpfkit agent --config FILE`: the node agent — keeps a config's programs deployed, serves /metrics, /healthz, /readyz, /api/state.
import { Agent, type AgentLogRecord } from '../agent/agent.js';
import { loadAgentConfig } from '../agent/config.js';
import { describeAttachPoint } from '../agent/attach-point.js';
import { prepare, releasePlan } from '../agent/prepare.js';
import { createKernelSys } from '../kernel/koffi-sys.js';
import type { Sys } from '../kernel/sys.js';
import type { CommandArgs, OptionSpec } from './args.js';
import { UsageError } from './errors.js';
import { json, type Io } from './output.js';

/** Usage text of `agent`. */
export const agentUsage = 'bpfkit agent --config FILE [--check] [--on-exit keep|detach]';

/** Options of `agent`. */
export const agentOptions: OptionSpec = {
  config: { type: 'string', short: 'c' },
  check: { type: 'boolean' },
  'on-exit': { type: 'string' },
};

/** `bpfkit agent` on the real kernel. */
export function agent(args: CommandArgs, io: Io): Promise<number> {
  return runAgent(args, io, createKernelSys());
}

/**
 * `bpfkit agent` with an injected Sys. `--check` validates and prepares the config (objects
 * loaded, verifier run, seeds encoded, interfaces resolved) without attaching anything, then
 * exits. Otherwise it runs until SIGTERM/SIGINT (re-applying on SIGHUP), logging JSON lines to
 * stdout.
 */
export async function runAgent(args: CommandArgs, io: Io, sys: Sys): Promise<number> {
  const path = args.value('config');
  if (!path) throw new UsageError('missing --config FILE', agentUsage);
  args.done(agentUsage);
  const onExit = args.value('on-exit');
  if (onExit !== undefined && onExit !== 'keep' && onExit !== 'detach') throw new UsageError(`--on-exit must be keep or detach, got '${onExit}'`, agentUsage);
  if (args.flag('check')) {
    const config = loadAgentConfig(path);
    const plan = prepare(sys, config);
    try {
      const rows = plan.entries.map((p) => ({ name: p.entry.name, program: p.entry.program, attach: describeAttachPoint(p.entry.attach), tag: p.info.tag, ready: p.resolution.ok, ...(p.resolution.ok ? {} : { reason: p.resolution.reason }) }));
      if (args.json) io.out(json({ config: path, ok: true, programs: rows }, args.pretty));
      else io.out(`${path}: ok, ${rows.length} program${rows.length === 1 ? '' : 's'}\n${rows.map((r) => `  ${r.name}  ${r.attach}  tag ${r.tag}${r.ready ? '' : `  (waits: ${r.reason})`}`).join('\n')}\n`);
    } finally {
      releasePlan(plan);
    }
    return 0;
  }
  const log = (r: AgentLogRecord) => io.out(json({ time: new Date().toISOString(), ...r }));
  // Signals are taken from the start: one that arrives while the config is being applied waits for it.
  let running: Agent | undefined;
  let pendingStop: string | undefined;
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => (finish = resolve));
  const stop = (signal: string) => {
    process.off('SIGHUP', onHup);
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    log({ level: 'info', msg: 'signal', signal });
    if (running) shutdown(running);
    else pendingStop = signal;
  };
  const shutdown = (agent: Agent) => {
    agent.stop((onExit as 'keep' | 'detach' | undefined) ?? agent.config.onExit).then(
      () => finish(0),
      (err: unknown) => {
        io.err(`bpfkit agent: stop: ${(err as Error).message}\n`);
        finish(1);
      },
    );
  };
  const onHup = () => {
    try {
      running?.reload('SIGHUP');
    } catch (err) {
      log({ level: 'error', msg: 'reload failed unexpectedly', error: (err as Error).message });
    }
  };
  const onTerm = () => stop('SIGTERM');
  const onInt = () => stop('SIGINT');
  process.on('SIGHUP', onHup);
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  try {
    running = await Agent.start({ configPath: path, sys, log });
  } catch (err) {
    process.off('SIGHUP', onHup);
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    throw err;
  }
  if (pendingStop !== undefined) shutdown(running);
  return await done;
}
