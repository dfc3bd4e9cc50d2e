// `bpfkit trace drops`: where and why the kernel drops packets (skb:kfree_skb), live table or one JSON summary.
import { statSync } from 'node:fs';
import { DropWatch, type DropRecord } from '../kernel/trace/drop-watch.js';
import { createKernelSys } from '../kernel/koffi-sys.js';
import type { Sys } from '../kernel/sys.js';
import type { CommandArgs, OptionSpec } from './args.js';
import { ensureBpffsDir } from './attach.js';
import { UsageError } from './errors.js';
import { type Io, json, table } from './output.js';
import { parseSeconds, runUntil, withStopSignals } from './stop-signal.js';

/** Usage text of `trace`. */
export const traceUsage = [
  'bpfkit trace drops [--dev IFACE] [--interval S] [--duration S] [--top N] [-j] [--pin DIR]',
  '       (counts skb:kfree_skb by reason, location, device and flow until Ctrl-C or --duration;',
  '        a table every --interval (default 1 s); -j: one JSON summary at the end;',
  '        --pin DIR: keep counting after the command — bpfkit metrics shows the drops; rm -r DIR to stop)',
].join('\n');

/** Options of `trace`. */
export const traceOptions: OptionSpec = {
  dev: { type: 'string' },
  interval: { type: 'string' },
  duration: { type: 'string' },
  top: { type: 'string' },
  pin: { type: 'string' },
};

/** `bpfkit trace ...` on the real kernel, stopped by Ctrl-C/SIGTERM or --duration. */
export function trace(args: CommandArgs, io: Io): Promise<number> {
  return withStopSignals((stop) => runTrace(args, io, createKernelSys(), stop));
}

/** The flow of a row: `10.0.0.1:5000 > 10.0.0.2:9`, `10.0.0.1 > 10.0.0.2`, or `''`. */
export function flowText(r: DropRecord): string {
  if (r.saddr === undefined) return '';
  const ep = (a: string, p: number | undefined): string => (p === undefined ? a : a.includes(':') ? `[${a}]:${p}` : `${a}:${p}`);
  return `${ep(r.saddr, r.sport)} > ${ep(r.daddr ?? '', r.dport)}`;
}

/** The drop rows as a table, most frequent first. */
export function dropTable(rows: readonly DropRecord[], top: number | undefined): string {
  const shown = top === undefined ? rows : rows.slice(0, top);
  const total = rows.reduce((n, r) => n + r.count, 0);
  const more = shown.length < rows.length ? `  (${rows.length - shown.length} more rows)\n` : '';
  return `${total} drops\n${table(['COUNT', 'REASON', 'LOCATION', 'DEV', 'PROTOCOL', 'FLOW'], shown.map((r) => [r.count, r.reason, r.location, r.dev ? `${r.dev}(${r.ifindex})` : '-', r.protocol, flowText(r)]))}${more}`;
}

/** One drop row in the JSON summary. */
export function dropJson(r: DropRecord): Record<string, unknown> {
  const out: Record<string, unknown> = { reason: r.reason, location: r.location, dev: r.dev, ifindex: r.ifindex, netns: r.netns, protocol: r.protocol };
  if (r.saddr !== undefined) Object.assign(out, { saddr: r.saddr, daddr: r.daddr });
  if (r.sport !== undefined) Object.assign(out, { sport: r.sport, dport: r.dport });
  out['count'] = r.count;
  return out;
}

/** `bpfkit trace drops` with an injected Sys, until `stop` aborts or --duration passes. */
export async function runTrace(args: CommandArgs, io: Io, sys: Sys, stop: AbortSignal): Promise<number> {
  const what = args.positional(0, 'what to trace (drops)', traceUsage);
  if (what !== 'drops') throw new UsageError(`trace what? expected drops, got '${what}'`, traceUsage);
  args.done(traceUsage);
  let intervalMs: number | undefined;
  let durationMs: number | undefined;
  try {
    intervalMs = parseSeconds(args.value('interval'), 'interval') ?? 1000;
    durationMs = parseSeconds(args.value('duration'), 'duration');
  } catch (e) {
    throw new UsageError((e as Error).message, traceUsage);
  }
  const topText = args.value('top');
  if (topText !== undefined && !/^[1-9]\d*$/.test(topText)) throw new UsageError(`--top must be a positive integer, got '${topText}'`, traceUsage);
  const top = topText === undefined ? undefined : Number(topText);
  const pin = args.value('pin');
  if (pin) ensureBpffsDir(pin);

  // ifindexes repeat across namespaces (lo is 1 everywhere): --dev means this namespace's device.
  const dev = args.value('dev');
  const watch = DropWatch.start(sys, dev !== undefined ? { dev, netns: statSync('/proc/self/ns/net').ino } : {});
  try {
    if (pin) {
      watch.pin(pin);
      const out = { pinned: pin, link: `${pin}/link`, map: `${pin}/drops`, dev: watch.dev?.name ?? null };
      io.out(args.json ? json(out, args.pretty) : `counting drops${watch.dev ? ` on ${watch.dev.name}` : ''}: link pinned at ${pin}/link, counts at ${pin}/drops (bpfkit metrics shows them; rm -r ${pin} to stop)\n`);
      return 0;
    }
    io.err(`counting drops${watch.dev ? ` on ${watch.dev.name} (ifindex ${watch.dev.ifindex})` : ''}; Ctrl-C to stop\n`);
    const tick = (): void => {
      io.out(`--- ${new Date().toISOString().slice(11, 19)}  ${dropTable(watch.read(), top)}`);
    };
    await runUntil(stop, { durationMs, intervalMs, ...(args.json ? {} : { tick }) }).promise;
    const rows = watch.read();
    io.out(args.json ? json({ drops: rows.map(dropJson) }, args.pretty) : `--- total  ${dropTable(rows, top)}`);
    return 0;
  } finally {
    if (pin) {
      watch.link.release();
      watch.map.close();
    } else watch.close();
  }
}
