// `bpfkit test-run OBJ --prog NAME --data-in FILE`: BPF_PROG_TEST_RUN in userspace (bpftool prog run's counterpart).

import { writeFileSync, renameSync } from 'node:fs';
import { detectCaptureFormat } from '../packet/capture-format.js';
import { readCapture } from '../packet/capture-reader.js';
import { formatByteList } from '../runtime/byte-list.js';
import { InstantiateError } from '../runtime/errors.js';
import { loadUserspace } from '../runtime/userspace-object.js';
import { verdictName } from '../runtime/verdicts.js';
import { programTypeName } from '../isa/program-types.js';
import type { CommandArgs, OptionSpec } from './args.js';
import { UsageError } from './errors.js';
import { FileReadError, readInput, readObject } from './load-file.js';
import { type Io, json } from './output.js';

/** Usage text of `test-run`. */
export const testRunUsage =
  'bpfkit test-run OBJ --prog NAME --data-in FILE [--ctx-in FILE] [--data-out FILE] [--ctx-out FILE] [--repeat N] [--cpu N] [--backend user|kernel] [--json|-j]';

/** Options of `test-run`. */
export const testRunOptions: OptionSpec = {
  prog: { type: 'string' },
  'data-in': { type: 'string' },
  'ctx-in': { type: 'string' },
  'data-out': { type: 'string' },
  'ctx-out': { type: 'string' },
  repeat: { type: 'string' },
  cpu: { type: 'string' },
  backend: { type: 'string' },
};

/** The packet in FILE: its bytes, or the first packet when FILE is a pcap/pcapng capture. */
export function readPacket(path: string): Uint8Array {
  const bytes = readInput(path);
  if (detectCaptureFormat(bytes) === undefined) return bytes;
  const reader = readCapture(bytes);
  const first = reader.read();
  if (!first) throw new FileReadError(path, 'the capture has no packets');
  return first.buffer.slice(first.offset, first.offset + first.caplen);
}

function intOption(args: CommandArgs, name: string, min: number, max: number, fallback: number): number {
  const text = args.value(name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || n < min || n > max) throw new UsageError(`--${name} must be an integer in ${min}..${max}, got '${text}'`, testRunUsage);
  return n;
}

function writeAtomic(path: string, data: Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** Hex dump, 16 bytes a line, like `xxd` without the text column. */
export function hexDump(bytes: Uint8Array, indent = '  '): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 16) out += `${indent}${i.toString(16).padStart(4, '0')}: ${formatByteList(bytes.subarray(i, i + 16))}\n`;
  return out;
}

/** Runs `test-run`. */
export function testRun(args: CommandArgs, io: Io): number {
  const file = args.positional(0, 'OBJ', testRunUsage);
  args.done(testRunUsage);
  const progName = args.value('prog');
  if (progName === undefined) throw new UsageError('missing --prog NAME', testRunUsage);
  const dataIn = args.value('data-in');
  if (dataIn === undefined) throw new UsageError('missing --data-in FILE', testRunUsage);
  const repeat = intOption(args, 'repeat', 1, 100_000_000, 1);
  const cpu = intOption(args, 'cpu', 0, 1023, 0);
  const backend = args.value('backend') ?? 'user';
  if (backend === 'kernel') {
    throw new UsageError('--backend kernel needs the kernel object loader (src/kernel/object), which is not available yet; use bpftool prog run meanwhile', testRunUsage);
  }
  if (backend !== 'user') throw new UsageError(`--backend must be user or kernel, got '${backend}'`, testRunUsage);

  const spec = readObject(file);
  const data = readPacket(dataIn);
  const ctxPath = args.value('ctx-in');
  const ctxIn = ctxPath === undefined ? undefined : readInput(ctxPath);
  using obj = loadUserspace(spec, { cpus: cpu + 1, programs: [progName] });
  const program = obj.programs.get(progName);
  if (!program) throw new InstantiateError(`program "${progName}"`, obj.skipped.get(progName) ?? 'not instantiated');
  const r = program.testRun({ data, repeat, cpu, ...(ctxIn ? { ctxIn } : {}) });

  const dataOut = args.value('data-out');
  if (dataOut !== undefined) writeAtomic(dataOut, r.dataOut);
  const ctxOut = args.value('ctx-out');
  if (ctxOut !== undefined) writeAtomic(ctxOut, r.ctxOut);
  if (args.json) {
    io.out(
      json(
        {
          program: program.name,
          type: programTypeName(program.type),
          retval: r.retval,
          verdict: verdictName(program.type, r.retval),
          duration_ns: r.durationNs,
          repeat,
          instructions: r.instructions,
          data_size_out: r.dataOut.length,
          data_out: formatByteList(r.dataOut).replaceAll(' ', ''),
          ...(ctxIn ? { ctx_out: formatByteList(r.ctxOut).replaceAll(' ', '') } : {}),
        },
        args.pretty,
      ),
    );
    return 0;
  }
  let out = `Return value: ${r.retval} (${verdictName(program.type, r.retval)}), duration${repeat > 1 ? ' (average)' : ''}: ${r.durationNs}ns, ${r.instructions} instructions\n`;
  if (dataOut !== undefined) out += `Wrote ${r.dataOut.length} bytes of data_out to ${dataOut}\n`;
  else out += `data_out (${r.dataOut.length} bytes):\n${hexDump(r.dataOut.subarray(0, 256))}${r.dataOut.length > 256 ? '  ...\n' : ''}`;
  if (ctxIn) out += ctxOut !== undefined ? `Wrote ctx_out to ${ctxOut}\n` : `ctx_out:\n${hexDump(r.ctxOut)}`;
  io.out(out);
  return 0;
}
