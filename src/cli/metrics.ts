// `bpfkit metrics`: one scrape of the kernel's BPF state in the Prometheus text format (or the snapshot as JSON).
import { snapshotFamilies } from '../dashboard/families.js';
import { MetricsCollector, parseMapSelector, snapshotJson, type MapSelector } from '../dashboard/metrics.js';
import { renderExposition } from '../dashboard/prometheus.js';
import { createKernelSys, type Sys } from '../kernel/index.js';
import type { CommandArgs, OptionSpec } from './args.js';
import { UsageError } from './errors.js';
import type { Io } from './output.js';

/** Usage text of `metrics`. */
export const metricsUsage = 'bpfkit metrics [--map NAME | --map id N]... [--enable-stats [--window MS]] [--series-limit N] [--json|-j]';

/** Options of `metrics`. */
export const metricsOptions: OptionSpec = {
  map: { type: 'string', multiple: true },
  'enable-stats': { type: 'boolean' },
  window: { type: 'string' },
  'series-limit': { type: 'string' },
};

/** The values of a repeatable option (CommandArgs keeps them as an array). */
function listOption(args: CommandArgs, name: string): string[] {
  const raw = (args as unknown as { values: Record<string, unknown> }).values[name];
  return Array.isArray(raw) ? raw.filter((v): v is string => typeof v === 'string') : typeof raw === 'string' ? [raw] : [];
}

/**
 * The `--map` selectors: `--map NAME`, `--map id:N` / `--map id=N` / `--map "id N"`, or bpftool's
 * spelling `--map id N` (the N is taken from the positional words, in order).
 */
export function mapSelectors(args: CommandArgs, usage: string): MapSelector[] {
  const words = args.rest(0);
  let next = 0;
  const out = listOption(args, 'map').map((v) => {
    if (v !== 'id') return parseMapSelector(v);
    const n = words[next++];
    if (n === undefined || !/^\d+$/.test(n)) throw new UsageError(`--map id needs a number${n === undefined ? '' : `, got '${n}'`}`, usage);
    return { id: Number(n) };
  });
  if (next < words.length) throw new UsageError(`unexpected argument '${words[next]}'`, usage);
  for (const s of out) if ('name' in s && s.name === '') throw new UsageError('--map needs a name or id N', usage);
  return out;
}

/** A non-negative integer option, or `fallback`. */
export function intOption(args: CommandArgs, name: string, fallback: number, usage: string): number {
  const v = args.value(name);
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a non-negative integer, got '${v}'`, usage);
  return Number(v);
}

/** `bpfkit metrics` on the real kernel. */
export function metrics(args: CommandArgs, io: Io): Promise<number> {
  return runMetrics(args, io, createKernelSys());
}

/** `bpfkit metrics` with an injected Sys: with --enable-stats, statistics are held on for --window ms (default 1000) before the scrape. */
export async function runMetrics(args: CommandArgs, io: Io, sys: Sys): Promise<number> {
  const maps = mapSelectors(args, metricsUsage);
  const seriesLimit = intOption(args, 'series-limit', 1000, metricsUsage);
  const windowMs = intOption(args, 'window', 1000, metricsUsage);
  if (args.value('window') !== undefined && !args.flag('enable-stats')) throw new UsageError('--window goes with --enable-stats', metricsUsage);
  using collector = new MetricsCollector(sys, { maps, seriesLimit });
  if (args.flag('enable-stats')) {
    collector.enableStats();
    await new Promise((r) => setTimeout(r, windowMs));
  }
  const snapshot = collector.collect();
  io.out(args.json ? `${snapshotJson(snapshot, args.pretty)}\n` : renderExposition(snapshotFamilies(snapshot)));
  return 0;
}
