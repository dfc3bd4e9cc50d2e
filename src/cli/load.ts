// `bpfkit load OBJ [--pin DIR]`: load a whole object into the kernel; with --pin its programs and maps outlive the command.
import { mkdirSync } from 'node:fs';
import { mapTypeName } from '../isa/map-types.js';
import { programTypeName } from '../isa/program-types.js';
import { mapInfo } from '../kernel/bpf/obj-info.js';
import { createKernelSys } from '../kernel/koffi-sys.js';
import { loadKernelObject } from '../kernel/object/load-object.js';
import type { Sys } from '../kernel/sys.js';
import { type CommandArgs, type OptionSpec, TYPE_OPTION } from './args.js';
import { UsageError } from './errors.js';
import { readObject } from './load-file.js';
import { type Io, json, table } from './output.js';
import { FileWriteError, refuseOutputIsInput, writeFileAtomic } from './output-file.js';
import { VerifierError } from '../kernel/verifier-error.js';

/** Usage text of `load`. */
export const loadUsage = 'bpfkit load OBJ [--pin DIR] [--prog NAME[,NAME...]] [--type TYPE] [--pin-root DIR] [--log-level N] [--log-file F]';

/** Options of `load`. */
export const loadOptions: OptionSpec = {
  pin: { type: 'string' },
  prog: { type: 'string' },
  'pin-root': { type: 'string' },
  'log-level': { type: 'string' },
  'log-file': { type: 'string' },
  ...TYPE_OPTION,
};

/** `bpfkit load` on the real kernel. */
export function load(args: CommandArgs, io: Io): number {
  return runLoad(args, io, createKernelSys());
}

/** `bpfkit load` with an injected Sys. */
export function runLoad(args: CommandArgs, io: Io, sys: Sys): number {
  const file = args.positional(0, 'OBJ', loadUsage);
  args.done(loadUsage);
  const pin = args.value('pin');
  const logText = args.value('log-level');
  if (logText !== undefined && !/^[0-2]$/.test(logText)) throw new UsageError(`--log-level must be 0, 1 or 2, got '${logText}'`, loadUsage);
  const spec = readObject(file, args.programType(loadUsage));
  const pinRoot = args.value('pin-root');
  const logFile = args.value('log-file');
  if (logFile !== undefined) refuseOutputIsInput(logFile, [file]);
  // As bpftool: a pin root that does not exist yet is created (inside a mounted bpffs).
  if (pinRoot) {
    try {
      mkdirSync(pinRoot, { recursive: true });
    } catch (e) {
      throw new FileWriteError(pinRoot, `cannot create the pin directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
    }
  }
  const progs = args.value('prog')?.split(',').filter((n) => n !== '');
  let loaded;
  try {
    loaded = loadKernelObject(sys, spec, {
      ...(progs && progs.length ? { programs: progs } : {}),
      ...(pinRoot ? { pinPath: pinRoot } : {}),
      // A log file asks for the log even when no level was given.
      ...(logText ? { logLevel: Number(logText) } : logFile !== undefined ? { logLevel: 1 } : {}),
    });
  } catch (e) {
    // The error's message keeps the last lines; the whole kernel log is there on request.
    const log = e instanceof VerifierError ? e.log : undefined;
    if (log !== undefined && logFile !== undefined) {
      writeFileAtomic(logFile, new TextEncoder().encode(log));
      io.err(`bpfkit load: the kernel's whole verifier log (${log.split('\n').length} lines) is in ${logFile}\n`);
    } else if (log !== undefined && logText !== undefined) io.err(log.endsWith('\n') ? log : `${log}\n`);
    else if (log !== undefined && /lines? omitted/.test((e as Error).message)) io.err('bpfkit load: the whole verifier log: --log-file F writes it, --log-level 1 (or 2) prints it\n');
    throw e;
  }
  using obj = loaded;
  const pinned = new Map<string, string>();
  if (pin) {
    mkdirSync(`${pin}/maps`, { recursive: true });
    for (const path of obj.pinAll(pin, `${pin}/maps`)) pinned.set(path.slice(path.lastIndexOf('/') + 1), path);
  }
  const programs = [...obj.programs.values()].map((p) => {
    const info = p.info();
    const path = pinned.get(p.name);
    return { name: p.name, id: info.id, type: programTypeName(info.type), tag: info.tag, bytes_xlated: info.xlatedProgLen, ...(path ? { pinned: path } : {}) };
  });
  const maps = [...obj.maps].map(([name, m]) => {
    const info = mapInfo(m.fd);
    const path = obj.report.pinned.get(name) ?? [...pinned.values()].find((p) => p.startsWith(`${pin}/maps/`) && p.endsWith(`/${(spec.maps.find((s) => s.name === name)?.kernelName ?? name).replace(/\./g, '_')}`));
    return { name, id: info.id, type: mapTypeName(info.type), ...(path ? { pinned: path } : {}), ...(obj.report.reusedPins.includes(name) ? { reused: true } : {}) };
  });
  if (args.json) {
    io.out(json({ file, programs, maps, warnings: obj.report.warnings }, args.pretty));
  } else {
    let out = `loaded ${file}: ${programs.length} program${programs.length === 1 ? '' : 's'}, ${maps.length} map${maps.length === 1 ? '' : 's'}${pin ? `, pinned under ${pin}` : ' (released on exit; use --pin DIR to keep them)'}\n`;
    out += table(['prog', 'id', 'type', 'tag', 'pinned'], programs.map((p) => [p.name, p.id, p.type, p.tag, p.pinned ?? '-']));
    if (maps.length) out += table(['map', 'id', 'type', 'pinned'], maps.map((m) => [m.name, m.id, m.type, m.pinned ?? (m.reused ? 'reused' : '-')]));
    for (const w of obj.report.warnings) out += `warning: ${w}\n`;
    io.out(out);
  }
  return 0;
}
