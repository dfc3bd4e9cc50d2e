// `bpfkit run OBJ --pcap IN`: a capture through a program on N simulated CPUs (RSS), verdicts and per-CPU maps.

import { statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { BpfkitError } from '../errors.js';
import { BpfUpdateFlags } from '../isa/uapi.generated.js';
import { programTypeName } from '../isa/program-types.js';
import { PcapWriter } from '../packet/pcap-writer.js';
import type { PacketMeta } from '../packet/pcap-writer.js';
import { LinkType } from '../packet/link-type.js';
import { parseByteList } from '../runtime/byte-list.js';
import { InstantiateError } from '../runtime/errors.js';
import { formatDecoded, summarizeMap, type DecodedValue, type MapSummary } from '../runtime/map-summary.js';
import { Pipeline, type PacketSink, type PipelineResult } from '../runtime/pipeline.js';
import { loadUserspace, type UserspaceObject } from '../runtime/userspace-object.js';
import { ENGINE_KINDS, type EngineKind } from '../jit/create-engine.js';
import type { UserspaceProgram } from '../runtime/userspace-program.js';
import { type CommandArgs, type OptionSpec, TYPE_OPTION } from './args.js';
import { assertProgramTyped } from '../elf/program-type.js';
import { UsageError } from './errors.js';
import { FileReadError, readObject } from './load-file.js';
import { type Io, json, table } from './output.js';
import { MODEL_OPTION, readModelOption } from './model-options.js';
import { AtomicOutputFile, refuseOutputIsInput } from './output-file.js';
import { kernelBtfFor } from './kernel-btf.js';
import { chainObjects, runChain } from './xdp.js';

/** Usage text of `run`. */
export const runUsage =
  'bpfkit run OBJ [OBJ2...] --pcap IN [--prog NAME] [--type TYPE] [--cpus N] [--out-pass F] [--out-tx F] [--out-drop F] [--map-update NAME KEY VALUE]... [--skip-bad-records] [--progress] [--engine jit|interpreter] [--model FILE] [--no-verify] [--json|-j]';

/** Options of `run`. */
export const runOptions: OptionSpec = {
  pcap: { type: 'string' },
  prog: { type: 'string' },
  cpus: { type: 'string' },
  'out-pass': { type: 'string' },
  'out-tx': { type: 'string' },
  'out-drop': { type: 'string' },
  'map-update': { type: 'string', multiple: true },
  'no-verify': { type: 'boolean' },
  'skip-bad-records': { type: 'boolean' },
  progress: { type: 'boolean' },
  engine: { type: 'string' },
  ...TYPE_OPTION,
  ...MODEL_OPTION,
};

/** The `--engine` option: 'jit' (default) or 'interpreter'. */
export function engineOption(args: CommandArgs, usage: string): EngineKind {
  const text = args.value('engine') ?? 'jit';
  if (!(ENGINE_KINDS as readonly string[]).includes(text)) throw new UsageError(`--engine must be ${ENGINE_KINDS.join(' or ')}, got '${text}'`, usage);
  return text as EngineKind;
}

/** One `--map-update`: a map name, key and value bytes. */
export interface MapUpdateArg {
  readonly map: string;
  readonly key: string;
  readonly value: string;
}

/** Every value of a repeatable option (CommandArgs.value keeps only strings). */
function listOption(args: CommandArgs, name: string): string[] {
  const raw = (args as unknown as { values: Record<string, unknown> }).values[name];
  return Array.isArray(raw) ? raw.filter((v): v is string => typeof v === 'string') : typeof raw === 'string' ? [raw] : [];
}

/**
 * Pairs each `--map-update NAME` with its KEY and VALUE from the positional words after OBJ.
 * Two spellings: bpftool's keywords (`--map-update m key hex 01 00 00 00 value 2 0 0 0`) or two
 * quoted words (`--map-update m "hex 01 00 00 00" "2 0 0 0"`).
 */
export function pairMapUpdates(names: readonly string[], words: readonly string[]): MapUpdateArg[] {
  if (names.length === 0) {
    if (words.length > 0) throw new UsageError(`unexpected argument '${words[0]}'`, runUsage);
    return [];
  }
  const flat = words.flatMap((w) => w.trim().split(/\s+/)).filter((w) => w !== '');
  const out: MapUpdateArg[] = [];
  if (flat[0] === 'key') {
    let i = 0;
    for (const map of names) {
      if (flat[i] !== 'key') throw new UsageError(`--map-update ${map}: expected 'key BYTES value BYTES'`, runUsage);
      const v = flat.indexOf('value', i + 1);
      if (v < 0) throw new UsageError(`--map-update ${map}: missing 'value BYTES'`, runUsage);
      let end = flat.indexOf('key', v + 1);
      if (end < 0) end = flat.length;
      out.push({ map, key: flat.slice(i + 1, v).join(' '), value: flat.slice(v + 1, end).join(' ') });
      i = end;
    }
    if (i < flat.length) throw new UsageError(`unexpected argument '${flat[i]}'`, runUsage);
    return out;
  }
  if (words.length !== names.length * 2) {
    throw new UsageError(`each --map-update takes NAME KEY VALUE (quote byte lists, or spell them 'key BYTES value BYTES'): ${names.length} names, ${words.length} other words`, runUsage);
  }
  names.forEach((map, i) => out.push({ map, key: words[2 * i]!, value: words[2 * i + 1]! }));
  return out;
}

/** Applies `--map-update`s to the userspace object (BPF_ANY; per-CPU maps: the same value on every CPU). */
export function applyMapUpdates(obj: UserspaceObject, updates: readonly MapUpdateArg[]): void {
  for (const u of updates) {
    const ops = obj.map(u.map);
    const key = parseByteList(u.key, ops.def.keySize);
    const value = parseByteList(u.value, ops.def.valueSize);
    let bytes = value;
    if (ops.perCpu) {
      const stride = (ops.def.valueSize + 7) & ~7;
      bytes = new Uint8Array(stride * obj.cpus);
      for (let c = 0; c < obj.cpus; c++) bytes.set(value, c * stride);
    }
    const err = ops.write(key, bytes, BpfUpdateFlags.ANY);
    if (err !== 0) throw new InstantiateError(`--map-update ${u.map}`, `update failed with errno ${-err}`);
  }
}

/** A pcap file written as packets come, atomically (see AtomicOutputFile: temp name, renamed when complete, removed on a signal). */
class FileSink implements PacketSink {
  private writer: PcapWriter | undefined;
  private readonly file: AtomicOutputFile;
  constructor(
    readonly path: string,
    private readonly linkType: () => number,
  ) {
    this.file = new AtomicOutputFile(path);
  }
  write(data: Uint8Array, meta: PacketMeta): void {
    if (!this.writer) {
      this.writer = new PcapWriter({ linkType: this.linkType(), nanosecond: true });
      this.file.open();
    }
    this.writer.write(data, meta);
  }
  writeRange(bytes: Uint8Array, offset: number, length: number, meta: PacketMeta): void {
    if (!this.writer) {
      this.writer = new PcapWriter({ linkType: this.linkType(), nanosecond: true });
      this.file.open();
    }
    this.writer.writeRange(bytes, offset, length, meta);
  }
  /** Writes what is buffered. */
  flush(): void {
    if (this.writer) this.file.write(this.writer.flush());
  }
  /** Completes the file (an empty capture when nothing was written). */
  finish(): void {
    if (!this.writer) this.writer = new PcapWriter({ linkType: this.linkType(), nanosecond: true });
    this.flush();
    this.file.commit();
  }
  /** Removes the partial file after a failure. */
  abort(): void {
    this.file.abort();
  }
}

function pickProgram(obj: UserspaceObject, file: string, wanted: string | undefined): UserspaceProgram {
  if (wanted !== undefined) {
    if (obj.programs.has(wanted)) return obj.programs.get(wanted)!;
    const why = obj.skipped.get(wanted);
    if (why) throw new InstantiateError(`program "${wanted}"`, why);
    throw new UsageError(`no program named '${wanted}' in ${file} (programs: ${obj.spec.programs.map((p) => p.name).join(', ') || 'none'})`, runUsage);
  }
  const first = obj.programs.values().next();
  if (first.done) throw new InstantiateError(file, `no program the userspace runtime can run (${[...obj.skipped.values()].join('; ') || 'the object has no programs'})`);
  return first.value;
}

function fmtValue(v: DecodedValue, field?: string): string {
  if (field !== undefined && typeof v === 'object' && !Array.isArray(v)) return formatDecoded(v[field] ?? '');
  return formatDecoded(v);
}

function jsonValue(v: DecodedValue): unknown {
  if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map(jsonValue);
  return Object.fromEntries(Object.entries(v).map(([k, n]) => [k, jsonValue(n)]));
}

function mapText(s: MapSummary): string {
  const out = `  ${s.name} (${s.type}${s.perCpu ? ', per CPU' : ''}): ${s.entries.length} non-zero entr${s.entries.length === 1 ? 'y' : 'ies'}${s.omitted ? `, ${s.omitted} not shown` : ''}\n`;
  if (s.entries.length === 0) return out;
  const cols = s.fields.length > 0 ? s.fields : ['value'];
  const cell = (v: DecodedValue, c: string): string => (s.fields.length > 0 ? fmtValue(v, c) : fmtValue(v));
  const rows: string[][] = [];
  for (const e of s.entries) {
    if (s.perCpu) {
      e.values.forEach((v, cpu) => rows.push([e.key, String(cpu), ...cols.map((c) => cell(v, c))]));
      if (e.total !== undefined) rows.push([e.key, 'sum', ...cols.map((c) => cell(e.total!, c))]);
    } else rows.push([e.key, ...cols.map((c) => cell(e.values[0]!, c))]);
  }
  return out + table(s.perCpu ? ['key', 'cpu', ...cols] : ['key', ...cols], rows, '    ');
}

const pct = (n: number, d: number): string => (d === 0 ? '-' : `${((100 * n) / d).toFixed(1)}%`);

/** Bytes read from the capture at a time. */
const READ_CHUNK = 1 << 20;

/** Runs `run`. */
export async function run(args: CommandArgs, io: Io): Promise<number> {
  const chain = chainObjects(args); // OBJ1 OBJ2...: an XDP chain, as a dispatcher runs it (src/cli/xdp.ts)
  if (chain) return runChain(chain, args, io, runUsage);
  const file = args.positional(0, 'OBJ', runUsage);
  const pcap = args.value('pcap');
  if (pcap === undefined) throw new UsageError('missing --pcap IN', runUsage);
  const cpusText = args.value('cpus') ?? '1';
  const cpus = Number(cpusText);
  if (!/^[0-9]+$/.test(cpusText) || cpus < 1 || cpus > 1024) throw new UsageError(`--cpus must be an integer in 1..1024, got '${cpusText}'`, runUsage);
  const updates = pairMapUpdates(listOption(args, 'map-update'), args.rest(1));
  const engine = engineOption(args, runUsage);

  const spec = readObject(file, args.programType(runUsage));
  const named = spec.programs.find((p) => p.name === args.value('prog'));
  if (named) assertProgramTyped(named);
  const kernelBtf = kernelBtfFor(spec);
  using obj = loadUserspace(spec, { cpus, engine, ...readModelOption(args), ...(kernelBtf ? { verifyOptions: { kernelBtf } } : {}), ...(args.flag('no-verify') ? { verify: false as const } : {}) });
  const program = pickProgram(obj, file, args.value('prog'));
  applyMapUpdates(obj, updates);

  let size: number;
  try {
    size = statSync(pcap).size;
  } catch (e) {
    throw new FileReadError(pcap, (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String((e as Error).message), { cause: e });
  }
  const holder: { pipe?: Pipeline } = {};
  const linkType = (): number => holder.pipe?.reader.pcapHeader?.linkType ?? holder.pipe?.reader.interfaces[0]?.linkType ?? LinkType.ETHERNET;
  const sinks: Partial<Record<'pass' | 'tx' | 'drop', FileSink>> = {};
  for (const cls of ['pass', 'tx', 'drop'] as const) {
    const path = args.value(`out-${cls}`);
    if (path === undefined) continue;
    // Never overwrite what is being read: the capture, the object, or another output.
    refuseOutputIsInput(path, [pcap, file]);
    const twin = Object.entries(sinks).find(([, s]) => s.path === path);
    if (twin) throw new UsageError(`--out-${cls} and --out-${twin[0]} name the same file ${path}`, runUsage);
    sinks[cls] = new FileSink(path, linkType);
  }
  // Progress lines (with \r) only on a terminal, or when asked: never in logs or pipes.
  const showProgress = !args.json && (args.flag('progress') || io.errIsTTY === true);
  const pipe = new Pipeline(program, {
    cpus,
    sinks,
    ...(args.flag('skip-bad-records') ? { reader: { skipBadRecords: true } } : {}),
    progressEvery: 262144,
    ...(showProgress
      ? {
          onProgress: (p) => {
            const pctDone = size > 0 ? ` (${((100 * Math.min(pipe.reader.bytesConsumed, size)) / size).toFixed(0)}%)` : '';
            io.err(`\r  ${p.packets} packets${pctDone}, ${Math.round((p.packets * 1000) / Math.max(p.elapsedMs, 1))} packets/s`);
          },
        }
      : {}),
  });
  holder.pipe = pipe;
  let result: PipelineResult;
  let badRecord: BpfkitError | undefined;
  try {
    try {
      const fh = await open(pcap, 'r');
      try {
        // Two 1 MiB buffers read into in turn: one is reused once the reader holds no byte of it
        // (a record longer than a chunk keeps it: a fresh one is taken), so a capture of any size
        // streams through a few MiB without an allocation per chunk.
        const bufs = [new Uint8Array(READ_CHUNK), new Uint8Array(READ_CHUNK)];
        let pushed = 0;
        let last = 0;
        for (let k = 0; ; k ^= 1) {
          if (pushed - pipe.reader.bytesConsumed > last) bufs[k] = new Uint8Array(READ_CHUNK);
          const buf = bufs[k]!;
          const { bytesRead } = await fh.read(buf, 0, READ_CHUNK, null);
          if (bytesRead === 0) break;
          pipe.push(buf.subarray(0, bytesRead));
          pushed += bytesRead;
          last = bytesRead;
          for (const s of Object.values(sinks)) s.flush();
        }
      } finally {
        await fh.close();
      }
    } catch (e) {
      if (!(e instanceof BpfkitError) && (e as NodeJS.ErrnoException).code !== undefined) throw new FileReadError(pcap, String((e as Error).message), { cause: e });
      throw e;
    }
    result = pipe.end();
    for (const s of Object.values(sinks)) s.finish();
  } catch (e) {
    if (!(e instanceof BpfkitError && e.code === 'ERR_PCAP_MALFORMED')) {
      for (const s of Object.values(sinks)) s.abort();
      throw e;
    }
    // A bad record: report what the packets before it did (and keep their outputs), then the error.
    badRecord = e.withContext(pcap);
    result = pipe.resultSoFar();
    for (const s of Object.values(sinks)) s.finish();
  }
  holder.pipe = undefined;
  if (showProgress && result.packets >= 262144) io.err('\n');
  const code = badRecord ? 1 : 0;
  const badText = badRecord ? `${badRecord.message}; the results cover the ${result.packets} packets before it (pass --skip-bad-records to skip unreadable records and go on) [${badRecord.code}]` : undefined;

  const maps = spec.maps.filter((m) => obj.mapOps.has(m.name) && m.keySize > 0).map((m) => summarizeMap(obj.mapOps.get(m.name)!, m, spec.btf));
  const type = programTypeName(program.type);
  if (args.json) {
    io.out(
      json(
        {
          file,
          program: program.name,
          type,
          pcap,
          cpus,
          engine: program.engineKind,
          ...(program.engineFallback ? { engine_fallback: program.engineFallback } : {}),
          packets: result.packets,
          bytes: result.bytes,
          elapsed_ms: Math.round(result.elapsedMs * 1000) / 1000,
          packets_per_second: result.packetsPerSecond,
          verdicts: result.verdicts.map((v) => ({ verdict: v.verdict, retval: v.retval, packets: v.packets, bytes: v.bytes })),
          per_cpu: result.cpus.map((c) => ({ cpu: c.cpu, packets: c.packets, bytes: c.bytes })),
          ...(result.cpumap ? { cpumap: { per_cpu: result.cpumap.cpus.map((c) => ({ cpu: c.cpu, packets: c.packets, bytes: c.bytes })), verdicts: result.cpumap.verdicts.map((v) => ({ verdict: v.verdict, retval: v.retval, packets: v.packets, bytes: v.bytes })), faults: result.cpumap.faultCount } } : {}),
          not_run: result.refusedCount,
          first_not_run: result.refused.slice(0, 10).map((f) => ({ packet: f.index, code: f.code, error: f.message })),
          faults: result.faultCount,
          first_faults: result.faults.slice(0, 10).map((f) => ({ packet: f.index, cpu: f.cpu, pc: f.pc, code: f.code, error: f.message })),
          skipped_records: result.skippedRecords,
          trace_lines: obj.traceLog.length,
          ...(badRecord ? { error: badText, code: badRecord.code } : {}),
          maps: maps.map((s) => ({
            name: s.name,
            type: s.type,
            entries: s.entries.map((e) => ({
              key: e.key,
              ...(e.keyDecoded !== undefined ? { key_decoded: jsonValue(e.keyDecoded) } : {}),
              ...(s.perCpu ? { values: e.values.map(jsonValue), ...(e.total !== undefined ? { total: jsonValue(e.total) } : {}) } : { value: jsonValue(e.values[0]!) }),
            })),
            omitted: s.omitted,
          })),
        },
        args.pretty,
      ),
    );
    return code;
  }
  let out = `${file}: program ${program.name} (${type}) on ${pcap}, ${cpus} CPU${cpus === 1 ? '' : 's'} (RSS over ${cpus} queue${cpus === 1 ? '' : 's'}), ${program.engineKind}${program.engineFallback ? ` (the JIT cannot compile it: ${program.engineFallback})` : ''}\n\n`;
  out += `Verdicts (${result.packets} packets, ${result.bytes} bytes):\n`;
  const rows = result.verdicts.map((v) => [v.verdict, v.retval, v.packets, v.bytes, pct(v.packets, result.packets)]);
  if (result.refusedCount > 0) rows.push(['not run', '-', result.refusedCount, '-', pct(result.refusedCount, result.packets)]);
  if (result.faultCount > 0) rows.push(['fault', '-', result.faultCount, '-', pct(result.faultCount, result.packets)]);
  out += table(['verdict', 'retval', 'packets', 'bytes', 'share'], rows);
  out += `\nPackets per CPU:\n` + table(['cpu', 'packets', 'bytes'], result.cpus.map((c) => [c.cpu, c.packets, c.bytes]));
  if (result.cpumap) {
    const cm = result.cpumap;
    out += `\nRedirected into a cpumap, run on the target CPU (through the entry's xdp/cpumap program when it has one):\n`;
    out += table(['cpu', 'packets', 'bytes'], cm.cpus.map((c) => [c.cpu, c.packets, c.bytes]));
    out += table(['verdict there', 'retval', 'packets', 'bytes'], cm.verdicts.map((v) => [v.verdict, v.retval, v.packets, v.bytes]));
  }
  if (maps.length > 0) out += `\nMaps:\n` + maps.map(mapText).join('');
  if (result.refused.length > 0) {
    out += `\nNot run (${result.refusedCount}: frames the program type cannot receive, as a NIC would drop them${result.refusedCount > 3 ? '; first 3' : ''}):\n`;
    out += result.refused.slice(0, 3).map((f) => `  packet ${f.index}: ${f.message} [${f.code}]\n`).join('');
  }
  if (result.faults.length > 0) {
    out += `\nFaults (${result.faultCount}${result.faultCount > 5 ? ', first 5' : ''}; each faulting packet is counted and the run goes on):\n`;
    out += result.faults.slice(0, 5).map((f) => `  packet ${f.index} (cpu ${f.cpu}): ${f.message} [${f.code}]\n`).join('');
  }
  const trace = obj.traceLog;
  if (trace.length > 0) out += `\nbpf_trace_printk (${trace.length} line${trace.length === 1 ? '' : 's'}${trace.length > 5 ? ', first 5' : ''}):\n${trace.slice(0, 5).map((l) => `  ${l}\n`).join('')}`;
  if (result.skippedRecords > 0) out += `\nSkipped ${result.skippedRecords} unreadable capture record${result.skippedRecords === 1 ? '' : 's'} (--skip-bad-records)\n`;
  const written = Object.entries(sinks);
  if (written.length > 0) out += '\n' + written.map(([cls, s]) => `Wrote ${cls} packets to ${s.path}\n`).join('');
  out += `\n${result.packetsPerSecond} packets/s (${result.elapsedMs.toFixed(1)} ms)\n`;
  io.out(out);
  if (badText) io.err(`bpfkit run: ${badText}\n`);
  return code;
}
