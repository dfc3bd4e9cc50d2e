// `bpfkit map event-pipe MAP ...` (bpftool's `map event_pipe`): records of a perf event array or ring buffer as they come.
import { readFileSync } from 'node:fs';
import type { Btf } from '../btf/index.js';
import { formatBtfValue, stringifyFormatted } from '../btf/value-format.js';
import { loadObject } from '../elf/index.js';
import { BpfkitError } from '../errors.js';
import { MapType } from '../kernel/bpf/constants.js';
import type { MapFd } from '../kernel/bpf/map-fd.js';
import { mapInfo } from '../kernel/bpf/obj-info.js';
import { PerfReader } from '../kernel/perf-reader.js';
import { RingBufReader } from '../kernel/ringbuf-reader.js';
import type { Sys } from '../kernel/sys.js';
import { kernelBtf } from './btf.js';
import { UsageError } from './errors.js';
import { type Io, json } from './output.js';
import { parseSeconds, runUntil, withStopSignals } from './stop-signal.js';

/** Usage line of `map event-pipe`. */
export const eventPipeUsage = 'bpfkit map event-pipe MAP [cpu N index M] [type NAME [obj FILE]] [count N] [duration S] [-j]';

/** The map is neither a perf event array nor a ring buffer. */
export class NotAnEventMapError extends BpfkitError {
  constructor(readonly mapId: number, readonly mapType: number) {
    super('ERR_NOT_EVENT_MAP', `map ${mapId} is not a perf event array or a ring buffer: event-pipe reads those only`);
  }
}

/** bpftool's fprint_hex: bytes separated by spaces, two spaces after each 8, a new line after each 16. */
const hexText = (b: Uint8Array): string =>
  [...b].map((x, i) => `${i === 0 ? '' : i % 16 === 0 ? '\n' : i % 8 === 0 ? '  ' : ' '}${x.toString(16).padStart(2, '0')}`).join('');

interface PipeOptions {
  cpu?: number;
  index?: number;
  type?: string;
  obj?: string;
  count?: number;
  durationMs?: number;
}

function parseWords(words: readonly string[]): PipeOptions {
  const o: PipeOptions = {};
  for (let i = 0; i < words.length; i += 2) {
    const k = words[i] as string;
    const v = words[i + 1];
    if (v === undefined) throw new UsageError(`'${k}' needs a value`, eventPipeUsage);
    const int = (): number => {
      if (!/^\d+$/.test(v)) throw new UsageError(`${k} must be a non-negative integer, got '${v}'`, eventPipeUsage);
      return Number(v);
    };
    if (k === 'cpu') o.cpu = int();
    else if (k === 'index') o.index = int();
    else if (k === 'count') o.count = int();
    else if (k === 'type') o.type = v;
    else if (k === 'obj') o.obj = v;
    else if (k === 'duration') {
      try {
        o.durationMs = parseSeconds(v, 'duration');
      } catch (e) {
        throw new UsageError((e as Error).message.replace('--duration', 'duration'), eventPipeUsage);
      }
    } else throw new UsageError(`unexpected argument '${k}'`, eventPipeUsage);
  }
  if ((o.cpu === undefined) !== (o.index === undefined)) throw new UsageError('cpu and index go together (as bpftool: cpu N index M)', eventPipeUsage);
  // bpfkit installs CPU N's perf event at slot N (as libbpf's perf_buffer); bpftool may put it elsewhere.
  if (o.cpu !== undefined && o.index !== o.cpu) throw new UsageError(`index must equal cpu: bpfkit reads CPU ${o.cpu}'s event from slot ${o.cpu}`, eventPipeUsage);
  if (o.obj !== undefined && o.type === undefined) throw new UsageError('obj FILE goes with type NAME', eventPipeUsage);
  return o;
}

/** The BTF type records are formatted as: `type NAME` in `obj FILE`'s BTF, or in the map's own. */
function recordType(sys: Sys, map: MapFd, o: PipeOptions): { btf: Btf; id: number; size: number } | undefined {
  if (o.type === undefined) return undefined;
  let btf: Btf;
  if (o.obj !== undefined) {
    const spec = loadObject(new Uint8Array(readFileSync(o.obj)));
    if (!spec.btf) throw new UsageError(`${o.obj} has no BTF to format records with`, eventPipeUsage);
    btf = spec.btf;
  } else {
    const id = mapInfo(map).btfId;
    if (!id) throw new UsageError(`map ${mapInfo(map).id} has no BTF: give obj FILE (the object that produces the records)`, eventPipeUsage);
    btf = kernelBtf(sys, id);
  }
  const t = btf.typesByName(o.type).find((x) => x.kind === 'struct' || x.kind === 'union' || x.kind === 'typedef' || x.kind === 'int');
  if (!t) throw new UsageError(`no type ${o.type} in the BTF`, eventPipeUsage);
  return { btf, id: t.id, size: btf.resolveSize(t.id) };
}

/** `bpfkit map event-pipe MAP ...`: reads until count, duration or Ctrl-C; lost records reported. */
export function eventPipe(map: MapFd, words: readonly string[], json_: boolean, io: Io, sys: Sys): Promise<number> {
  return withStopSignals((stop) => runEventPipe(map, words, json_, io, sys, stop));
}

/** {@link eventPipe} until `stop` aborts. Closes `map` at the end. */
export async function runEventPipe(map: MapFd, words: readonly string[], asJson: boolean, io: Io, sys: Sys, stop: AbortSignal): Promise<number> {
  try {
    const o = parseWords(words);
    const info = mapInfo(map);
    if (info.type !== MapType.PERF_EVENT_ARRAY && info.type !== MapType.RINGBUF) throw new NotAnEventMapError(info.id, info.type);
    if (info.type === MapType.RINGBUF && o.cpu !== undefined) throw new UsageError('cpu/index are for perf event arrays', eventPipeUsage);
    const fmt = recordType(sys, map, o);
    const formatted = (data: Uint8Array): string | undefined => (fmt && data.length >= fmt.size ? stringifyFormatted(formatBtfValue(fmt.btf, fmt.id, data.subarray(0, fmt.size))) : undefined);
    let n = 0;
    const emit = (data: Uint8Array, where: { cpu: number; index: number } | undefined): void => {
      const f = formatted(data);
      if (asJson) {
        const rec: Record<string, unknown> = where ? { type: 9, cpu: where.cpu, index: where.index } : { type: 'ringbuf' };
        rec['data'] = [...data].map((b) => `0x${b.toString(16).padStart(2, '0')}`);
        io.out(json(rec).replace(/\n$/, '').replace(/}$/, f !== undefined ? `,"formatted":${f}}` : '}') + '\n');
      } else {
        io.out(`== ${where ? `CPU: ${where.cpu} index: ${where.index}` : 'ringbuf'} =====\n${hexText(data)}\n${f !== undefined ? `${f}\n` : ''}`);
      }
      n++;
    };
    let lostSeen = 0;
    const reportLost = (lost: number): void => {
      if (lost <= lostSeen) return;
      if (asJson) io.out(json({ type: 2, lost: { count: lost - lostSeen } }));
      else io.out(`lost ${lost - lostSeen} events\n`);
      lostSeen = lost;
    };
    const waiting = runUntil(stop, o.durationMs !== undefined ? { durationMs: o.durationMs } : {});
    const ready = (): void => io.err(`reading ${info.type === MapType.RINGBUF ? 'ring buffer' : 'perf event array'} ${info.name || ''} (id ${info.id}); Ctrl-C to stop\n`);
    if (info.type === MapType.PERF_EVENT_ARRAY) {
      const reader = new PerfReader(map, { pagesPerCpu: 64 });
      ready();
      try {
        const reading = (async () => {
          for await (const s of reader) {
            reportLost(reader.lost);
            if (o.cpu !== undefined && s.cpu !== o.cpu) continue;
            emit(s.data, { cpu: s.cpu, index: o.index ?? s.cpu });
            if (o.count !== undefined && n >= o.count) break;
          }
        })();
        await Promise.race([waiting.promise, reading]);
        waiting.done();
        if (o.count === undefined || n < o.count) for (const s of reader.read()) if (o.count === undefined || n < o.count) emit(s.data, { cpu: s.cpu, index: o.index ?? s.cpu });
        reportLost(reader.lost);
      } finally {
        reader.close();
      }
    } else {
      const reader = new RingBufReader(map);
      ready();
      try {
        const reading = (async () => {
          for await (const rec of reader) {
            emit(rec, undefined);
            if (o.count !== undefined && n >= o.count) break;
          }
        })();
        await Promise.race([waiting.promise, reading]);
        waiting.done();
        if (o.count === undefined || n < o.count) for (const rec of reader.read()) if (o.count === undefined || n < o.count) emit(rec, undefined);
      } finally {
        reader.close();
      }
    }
    io.err(`${n} records\n`);
    return 0;
  } finally {
    map.close();
  }
}
