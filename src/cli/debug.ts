// `bpfkit debug OBJ (--data-in F | --pcap F)`: the debugger over the Debug Adapter Protocol (stdio or --port), or a --repl.

import { createServer, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { detectCaptureFormat } from '../packet/capture-format.js';
import { readCapture } from '../packet/capture-reader.js';
import { DebugSession, type DebugPacket } from '../debug/session.js';
import { DapServer } from '../debug/dap.js';
import { DapFramer, encodeDapMessage } from '../debug/dap-framing.js';
import { DebugRepl } from '../debug/repl.js';
import { type CommandArgs, type OptionSpec, TYPE_OPTION } from './args.js';
import { UsageError } from './errors.js';
import { FileReadError, readInput, readObject } from './load-file.js';
import type { Io } from './output.js';
import { MODEL_OPTION, readModelOption } from './model-options.js';
import { applyMapUpdates, pairMapUpdates } from './run.js';
import { kernelBtfFor } from './kernel-btf.js';

/** Usage text of `debug`. */
export const debugUsage =
  'bpfkit debug OBJ [--prog NAME] (--data-in FILE | --pcap FILE [--packet N]) [--map-update NAME KEY VALUE]... [--type TYPE] [--model FILE] [--repl | --port N]';

/** Options of `debug`. */
export const debugOptions: OptionSpec = {
  prog: { type: 'string' },
  'data-in': { type: 'string' },
  pcap: { type: 'string' },
  packet: { type: 'string' },
  'map-update': { type: 'string', multiple: true },
  repl: { type: 'boolean' },
  port: { type: 'string' },
  'stop-on-each-packet': { type: 'boolean' },
  ...TYPE_OPTION,
  ...MODEL_OPTION,
};

function listOption(args: CommandArgs, name: string): string[] {
  const raw = (args as unknown as { values: Record<string, unknown> }).values[name];
  return Array.isArray(raw) ? raw.filter((v): v is string => typeof v === 'string') : typeof raw === 'string' ? [raw] : [];
}

/** The packets of `--pcap FILE` (every frame), or `--data-in FILE` (the bytes, or a capture's first frame, run as BPF_PROG_TEST_RUN does). */
function readPackets(args: CommandArgs): DebugPacket[] {
  const pcap = args.value('pcap');
  const dataIn = args.value('data-in');
  if ((pcap === undefined) === (dataIn === undefined)) throw new UsageError('give one of --data-in FILE or --pcap FILE', debugUsage);
  const path = (pcap ?? dataIn)!;
  const bytes = readInput(path);
  if (dataIn !== undefined && detectCaptureFormat(bytes) === undefined) return [{ data: bytes, mode: 'test-run' }];
  const out: DebugPacket[] = [];
  try {
    for (const p of readCapture(bytes)) {
      out.push({ data: p.buffer.slice(p.offset, p.offset + p.caplen), mode: dataIn !== undefined ? 'test-run' : 'deliver' });
      if (dataIn !== undefined) break;
    }
  } catch (e) {
    throw e instanceof Error && 'code' in e ? (e as FileReadError).withContext(path) : e;
  }
  if (out.length === 0) throw new FileReadError(path, 'the capture has no packets');
  return out;
}

/** Builds the session from the command line (errors here exit 1 before any protocol starts). */
function createSession(args: CommandArgs, file: string, output: (text: string) => void): DebugSession {
  const packets = readPackets(args);
  const packetText = args.value('packet');
  let firstPacket = 0;
  if (packetText !== undefined) {
    if (args.value('pcap') === undefined) throw new UsageError('--packet N goes with --pcap', debugUsage);
    firstPacket = Number(packetText);
    if (!/^[0-9]+$/.test(packetText) || firstPacket >= packets.length) throw new UsageError(`--packet must be an integer in 0..${packets.length - 1}, got '${packetText}'`, debugUsage);
  }
  const updates = pairMapUpdates(listOption(args, 'map-update'), args.rest(1));
  const spec = readObject(file, args.programType(debugUsage));
  const kernelBtf = kernelBtfFor(spec);
  const prog = args.value('prog');
  return new DebugSession(spec, {
    ...(prog !== undefined ? { program: prog } : {}),
    packets,
    firstPacket,
    setup: (obj) => applyMapUpdates(obj, updates),
    load: { ...readModelOption(args), ...(kernelBtf ? { verifyOptions: { kernelBtf } } : {}) },
    stopOnEachPacket: args.flag('stop-on-each-packet'),
    onOutput: output,
  });
}

/** Serves DAP on a byte stream pair until disconnect or end of input. */
function serveDap(makeSession: (output: (text: string) => void) => DebugSession, input: NodeJS.ReadableStream, write: (b: Uint8Array) => void, done: () => void): DapServer {
  const framer = new DapFramer();
  const holder: { server?: DapServer } = {};
  const output = (text: string): void => holder.server?.event('output', { category: 'console', output: text });
  const server = new DapServer({ createSession: () => makeSession(output), send: (m) => write(encodeDapMessage(m)), onDisconnect: done });
  input.on('data', (chunk: Uint8Array) => {
    for (const m of framer.push(new Uint8Array(chunk))) server.handle(m);
  });
  input.on('end', done);
  holder.server = server;
  return server;
}

/** Runs `debug`. */
export async function debug(args: CommandArgs, io: Io): Promise<number> {
  const file = args.positional(0, 'OBJ', debugUsage);
  if (args.flag('repl') && args.value('port') !== undefined) throw new UsageError('--repl and --port exclude each other', debugUsage);
  // Everything is checked once before a protocol starts: a bad file is one line and exit 1.
  const probe = createSession(args, file, () => {});
  probe.close();

  if (args.flag('repl')) {
    const session = createSession(args, file, () => {});
    const v = session.verifierViews().result;
    io.out(`bpfkit debug: ${session.entry} in ${file}, ${session.spec.programs.length} program(s); verifier: ${v.verdict}${v.verdict === 'reject' ? ` at insn ${v.insn}${v.line ? ` (${v.line.file.split('/').pop()}:${v.line.line})` : ''}: ${v.message}` : ''}\n`);
    const repl = new DebugRepl(session);
    io.out(repl.where(session.start(true)));
    const rl = createInterface({ input: process.stdin, terminal: false });
    io.out('(bpfdbg) ');
    for await (const line of rl) {
      io.out(repl.execute(line));
      if (repl.done) break;
      io.out('(bpfdbg) ');
    }
    rl.close();
    session.close();
    return 0;
  }

  const portText = args.value('port');
  if (portText !== undefined) {
    const port = Number(portText);
    if (!/^[0-9]+$/.test(portText) || port > 65535) throw new UsageError(`--port must be an integer in 0..65535, got '${portText}'`, debugUsage);
    await new Promise<void>((resolve, reject) => {
      const srv = createServer((sock: Socket) => {
        srv.close();
        const finish = (): void => {
          sock.end();
          resolve();
        };
        serveDap((out) => createSession(args, file, out), sock, (b) => sock.write(b), finish);
        sock.on('error', finish);
      });
      srv.on('error', reject);
      srv.listen(port, '127.0.0.1', () => {
        const a = srv.address();
        io.err(`bpfkit debug: listening for a DAP client on 127.0.0.1:${typeof a === 'object' && a ? a.port : port}\n`);
      });
    });
    return 0;
  }

  await new Promise<void>((resolve) => {
    serveDap((out) => createSession(args, file, out), process.stdin, (b) => process.stdout.write(b), resolve);
  });
  return 0;
}
