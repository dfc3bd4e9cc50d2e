// `bpfkit dashboard`: serve /metrics, /api/snapshot and the live page until SIGINT or SIGTERM.
import { DashboardServer } from '../dashboard/server.js';
import { createKernelSys, type Sys } from '../kernel/index.js';
import type { CommandArgs, OptionSpec } from './args.js';
import { UsageError } from './errors.js';
import { intOption, mapSelectors } from './metrics.js';
import { json, type Io } from './output.js';

/** Usage text of `dashboard`. */
export const dashboardUsage = 'bpfkit dashboard [--port N] [--host H] [--map NAME | --map id N]... [--enable-stats] [--interval MS] [--series-limit N]';

/** Options of `dashboard`. */
export const dashboardOptions: OptionSpec = {
  port: { type: 'string' },
  host: { type: 'string' },
  map: { type: 'string', multiple: true },
  'enable-stats': { type: 'boolean' },
  interval: { type: 'string' },
  'series-limit': { type: 'string' },
};

/** `bpfkit dashboard` on the real kernel, stopped by SIGINT or SIGTERM. */
export function dashboard(args: CommandArgs, io: Io): Promise<number> {
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return runDashboard(args, io, createKernelSys(), stop.signal).finally(() => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  });
}

/** `bpfkit dashboard` with an injected Sys, until `stop` aborts; then every connection and fd is closed. */
export async function runDashboard(args: CommandArgs, io: Io, sys: Sys, stop: AbortSignal): Promise<number> {
  const maps = mapSelectors(args, dashboardUsage);
  const port = intOption(args, 'port', 0, dashboardUsage);
  if (port > 65535) throw new UsageError(`--port ${port} is not a port`, dashboardUsage);
  const intervalMs = intOption(args, 'interval', 1000, dashboardUsage);
  if (intervalMs < 100) throw new UsageError('--interval must be at least 100 ms', dashboardUsage);
  const server = await DashboardServer.start(sys, {
    maps,
    port,
    host: args.value('host') ?? '127.0.0.1',
    intervalMs,
    seriesLimit: intOption(args, 'series-limit', 1000, dashboardUsage),
    enableStats: args.flag('enable-stats'),
  });
  const stats = server.statsSource ? `, run statistics on (${server.statsSource === 'fd' ? 'BPF_ENABLE_STATS' : 'kernel.bpf_stats_enabled'})` : '';
  if (args.json) io.out(json({ url: server.url, host: server.host, port: server.port, metrics: `${server.url}metrics`, stats: server.statsSource ?? null }));
  else io.out(`bpfkit dashboard: listening on ${server.url} (Prometheus: ${server.url}metrics)${stats}; Ctrl-C stops\n`);
  if (!stop.aborted) await new Promise<void>((resolve) => stop.addEventListener('abort', () => resolve(), { once: true }));
  await server.close();
  if (!args.json) io.out('bpfkit dashboard: stopped\n');
  return 0;
}
