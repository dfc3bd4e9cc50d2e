// `bpfkit test-run OBJ --prog NAME --data-in FILE`: BPF_PROG_TEST_RUN in userspace (bpftool prog run's counterpart).

import { setFlagsFromString } from 'node:v8';
import { detectCaptureFormat } from '../packet/capture-format.js';
import { readCapture } from '../packet/capture-reader.js';
import { formatByteList } from '../runtime/byte-list.js';
import { InstantiateError } from '../runtime/errors.js';
import { loadUserspace } from '../runtime/userspace-object.js';
import type { EngineKind } from '../jit/create-engine.js';
import { engineOption } from './run.js';
import { verdictName } from '../runtime/verdicts.js';
import { programTypeName } from '../isa/program-types.js';
import type { ObjectSpec } from '../elf/object-spec.js';
import { createKernelSys } from '../kernel/koffi-sys.js';
import { loadKernelObject } from '../kernel/object/load-object.js';
import { type CommandArgs, type OptionSpec, TYPE_OPTION } from './args.js';
import { assertProgramTyped } from '../elf/program-type.js';
import { UsageError } from './errors.js';
import { FileReadError, readInput, readObject } from './load-file.js';
import { type Io, json } from './output.js';
import { MODEL_OPTION, readModelOption } from './model-options.js';
import { refuseOutputIsInput, writeFileAtomic } from './output-file.js';
import { kernelBtfFor } from './kernel-btf.js';
import type { KernelModel } from '../ctx/kernel-model.js';

/** Usage text of `test-run`. */
export const testRunUsage =
  'bpfkit test-run OBJ [--prog NAME] --data-in FILE [--type TYPE] [--ctx-in FILE] [--data-out FILE] [--ctx-out FILE] [--repeat N] [--cpu N] [--backend user|kernel] [--engine jit|interpreter] [--model FILE] [--no-verify] [--json|-j]';

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
  engine: { type: 'string' },
  'no-verify': { type: 'boolean' },
  ...TYPE_OPTION,
  ...MODEL_OPTION,
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


/** Hex dump, 16 bytes a line, like `xxd` without the text column. */
export function hexDump(bytes: Uint8Array, indent = '  '): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 16) out += `${indent}${i.toString(16).padStart(4, '0')}: ${formatByteList(bytes.subarray(i, i + 16))}\n`;
  return out;
}

/** What either backend reports. */
interface Outcome {
  readonly retval: number;
  readonly dataOut: Uint8Array;
  readonly ctxOut: Uint8Array;
  readonly durationNs: number;
  readonly instructions?: number;
  /** The userspace engine that ran it. */
  readonly engine?: EngineKind;
}

function userTestRun(spec: ObjectSpec, prog: string, data: Uint8Array, ctxIn: Uint8Array | undefined, repeat: number, cpu: number, verify: boolean, engine: EngineKind, model: KernelModel = {}): Outcome {
  // A timed repeat: compile WebAssembly with the optimizing tier at once, as the kernel's figure
  // is its JIT's code. With V8's baseline tier first, TurboFan's code arrives in the middle of the
  // timed chunks on a busy machine and the reported steady state is Liftoff's (1.1-1.8x slower).
  if (repeat > 1 && engine === 'jit') setFlagsFromString('--no-liftoff');
  const kernelBtf = kernelBtfFor(spec);
  using obj = loadUserspace(spec, { cpus: cpu + 1, programs: [prog], engine, ...model, ...(kernelBtf ? { verifyOptions: { kernelBtf } } : {}), ...(verify ? {} : { verify: false as const }) });
  const program = obj.programs.get(prog);
  if (!program) throw new InstantiateError(`program "${prog}"`, obj.skipped.get(prog) ?? 'not instantiated');
  return { ...program.testRun({ data, repeat, cpu, ...(ctxIn ? { ctxIn } : {}) }), engine: program.engineKind };
}

/** The same run in the kernel: the object loaded (maps created, global data filled), BPF_PROG_TEST_RUN, everything closed. */
function kernelTestRun(spec: ObjectSpec, prog: string, data: Uint8Array, ctxIn: Uint8Array | undefined, repeat: number): Outcome {
  const sys = createKernelSys();
  using obj = loadKernelObject(sys, spec, { programs: [prog] });
  const r = obj.program(prog).testRun({ dataIn: data, repeat, ...(ctxIn ? { ctxIn, ctxOutSize: ctxIn.length } : {}) });
  return { retval: r.retval, dataOut: r.dataOut, ctxOut: r.ctxOut ?? new Uint8Array(0), durationNs: r.duration };
}

/** Runs `test-run`. */
export function testRun(args: CommandArgs, io: Io): number {
  const file = args.positional(0, 'OBJ', testRunUsage);
  args.done(testRunUsage);
  const dataIn = args.value('data-in');
  if (dataIn === undefined) throw new UsageError('missing --data-in FILE', testRunUsage);
  const repeat = intOption(args, 'repeat', 1, 100_000_000, 1);
  const cpu = intOption(args, 'cpu', 0, 1023, 0);
  const backend = args.value('backend') ?? 'user';
  if (backend !== 'user' && backend !== 'kernel') throw new UsageError(`--backend must be user or kernel, got '${backend}'`, testRunUsage);
  if (backend === 'kernel' && args.value('cpu') !== undefined) throw new UsageError('--cpu is for the user backend (the kernel runs XDP/skb test runs on the current CPU)', testRunUsage);
  if (backend === 'kernel' && args.value('engine') !== undefined) throw new UsageError('--engine is for the user backend', testRunUsage);
  if (backend === 'kernel' && args.value('model') !== undefined) throw new UsageError('--model is for the user backend (the kernel answers from its own routes, sockets and tunnels)', testRunUsage);
  const engine = engineOption(args, testRunUsage);

  const spec = readObject(file, args.programType(testRunUsage));
  const data = readPacket(dataIn);
  const ctxPath = args.value('ctx-in');
  const ctxIn = ctxPath === undefined ? undefined : readInput(ctxPath);
  // --prog may be left out when the object has one program, as bpftool's `prog run` needs no name for a pinned one.
  const progName = args.value('prog') ?? (spec.programs.length === 1 ? spec.programs[0]!.name : undefined);
  if (progName === undefined) throw new UsageError(`${file} has ${spec.programs.length} programs: choose one with --prog NAME (${spec.programs.map((p) => p.name).join(', ') || 'none'})`, testRunUsage);
  const program = spec.programs.find((p) => p.name === progName);
  if (!program) throw new UsageError(`no program named '${progName}' in ${file} (programs: ${spec.programs.map((p) => p.name).join(', ') || 'none'})`, testRunUsage);
  // Outputs are checked before the run: never an input, never each other.
  const inputs = [file, dataIn, ...(ctxPath === undefined ? [] : [ctxPath])];
  const outPaths = [args.value('data-out'), args.value('ctx-out')].filter((x): x is string => x !== undefined);
  for (const o of outPaths) refuseOutputIsInput(o, inputs);
  if (outPaths.length === 2 && outPaths[0] === outPaths[1]) throw new UsageError(`--data-out and --ctx-out name the same file ${outPaths[0]}`, testRunUsage);
  assertProgramTyped(program);
  const r = backend === 'kernel' ? kernelTestRun(spec, progName, data, ctxIn, repeat) : userTestRun(spec, progName, data, ctxIn, repeat, cpu, !args.flag('no-verify'), engine, readModelOption(args));

  const dataOut = args.value('data-out');
  if (dataOut !== undefined) writeFileAtomic(dataOut, r.dataOut, inputs);
  const ctxOut = args.value('ctx-out');
  if (ctxOut !== undefined) writeFileAtomic(ctxOut, r.ctxOut, inputs);
  if (args.json) {
    io.out(
      json(
        {
          program: program.name,
          backend,
          ...(r.engine ? { engine: r.engine } : {}),
          type: programTypeName(program.type),
          retval: r.retval,
          verdict: verdictName(program.type, r.retval),
          duration_ns: r.durationNs,
          repeat,
          ...(r.instructions !== undefined ? { instructions: r.instructions } : {}),
          data_size_out: r.dataOut.length,
          data_out: formatByteList(r.dataOut).replaceAll(' ', ''),
          ...(ctxIn ? { ctx_out: formatByteList(r.ctxOut).replaceAll(' ', '') } : {}),
        },
        args.pretty,
      ),
    );
    return 0;
  }
  let out = backend === 'kernel' ? 'Kernel BPF_PROG_TEST_RUN: ' : r.engine === 'interpreter' ? 'Interpreter: ' : '';
  out += `Return value: ${r.retval} (${verdictName(program.type, r.retval)}), duration${repeat > 1 ? ' (average)' : ''}: ${r.durationNs}ns${r.instructions !== undefined ? `, ${r.instructions} instructions` : ''}\n`;
  if (dataOut !== undefined) out += `Wrote ${r.dataOut.length} bytes of data_out to ${dataOut}\n`;
  else out += `data_out (${r.dataOut.length} bytes):\n${hexDump(r.dataOut.subarray(0, 256))}${r.dataOut.length > 256 ? '  ...\n' : ''}`;
  if (ctxIn) out += ctxOut !== undefined ? `Wrote ctx_out to ${ctxOut}\n` : `ctx_out:\n${hexDump(r.ctxOut)}`;
  io.out(out);
  return 0;
}
