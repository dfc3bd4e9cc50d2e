// `bpfkit xdp dump --dev IFACE ...`: capture what an attached XDP program sees (entry) and does (exit), like xdpdump.
import { spawn } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { arch, release } from 'node:os';
import { createKernelSys } from '../kernel/koffi-sys.js';
import type { Sys } from '../kernel/sys.js';
import { XdpCapture } from '../kernel/trace/xdp-capture.js';
import type { XdpCaptureRecord } from '../kernel/trace/xdp-capture-program.js';
import { ParsedFrame, parseFrame } from '../packet/frame-parser.js';
import { LinkType } from '../packet/link-type.js';
import { PcapngWriter } from '../packet/pcapng-writer.js';
import type { CommandArgs, OptionSpec } from './args.js';
import { UsageError } from './errors.js';
import { readObject } from './load-file.js';
import type { Io } from './output.js';
import type { XdpSubcommand } from './xdp.js';
import { parseSeconds, runUntil, withStopSignals } from './stop-signal.js';

/** Usage of `bpfkit xdp dump`. */
export const xdpDumpUsage = 'bpfkit xdp dump --dev IFACE [--at entry|exit|both] [--obj FILE [--prog NAME]] [-w FILE.pcapng] [-c COUNT] [--duration S] [--snaplen N]';

/** Options of `bpfkit xdp dump`. */
export const xdpDumpOptions: OptionSpec = {
  dev: { type: 'string' },
  at: { type: 'string' },
  obj: { type: 'string' },
  prog: { type: 'string', short: 'n' },
  write: { type: 'string', short: 'w' },
  count: { type: 'string', short: 'c' },
  duration: { type: 'string' },
  snaplen: { type: 'string' },
};

const ACTIONS = ['ABORTED', 'DROP', 'PASS', 'TX', 'REDIRECT'];
/** xdpdump's action text: `[PASS]`. */
const actionText = (a: number): string => `[${ACTIONS[a] ?? '*unknown*'}]`;

/** A tcpdump-like summary of a frame: `IP 10.0.0.1.40000 > 10.0.0.2.9: UDP, length 64`. */
export function frameSummary(data: Uint8Array, pktLen: number): string {
  const f = parseFrame(data, 0, data.length, LinkType.ETHERNET, new ParsedFrame());
  const ip = (off: number, v: number): string =>
    v === 4
      ? Array.from(data.subarray(off, off + 4)).join('.')
      : Array.from({ length: 8 }, (_, i) => ((data[off + 2 * i]! << 8) | data[off + 2 * i + 1]!).toString(16)).join(':').replace(/\b(?:0:){2,}/, ':');
  if (f.ipVersion === 0) return f.etherType === 0x0806 ? `ARP, length ${pktLen}` : `ethertype 0x${f.etherType.toString(16).padStart(4, '0')}, length ${pktLen}`;
  const fam = f.ipVersion === 4 ? 'IP' : 'IP6';
  const src = ip(f.ipSrcOffset, f.ipVersion);
  const dst = ip(f.ipDstOffset, f.ipVersion);
  if (f.ipProto === 17 && f.l4Offset >= 0) return `${fam} ${src}.${f.srcPort} > ${dst}.${f.dstPort}: UDP, length ${f.udpLength - 8}`;
  if (f.ipProto === 6 && f.l4Offset >= 0) return `${fam} ${src}.${f.srcPort} > ${dst}.${f.dstPort}: tcp ${f.payloadLength}`;
  if ((f.ipProto === 1 || f.ipProto === 58) && f.icmpType >= 0) return `${fam} ${src} > ${dst}: ICMP${f.ipProto === 58 ? '6' : ''} type ${f.icmpType}, length ${pktLen}`;
  return `${fam} ${src} > ${dst}: ip-proto-${f.ipProto}, length ${pktLen}`;
}

/** Starts the guardian (xdp-dump-guard) and waits until it holds both programs; returns the pipe to tell it "done". */
async function startGuardian(cap: XdpCapture): Promise<{ done(): void }> {
  const self = fileURLToPath(import.meta.url);
  const script = self.replace(/xdp-dump(\.[a-z]+)$/, `xdp-dump-guard${extname(self)}`);
  const child = spawn(process.execPath, [...process.execArgv, script, String(cap.ifindex), cap.mode, String(cap.original.id), String(cap.recorderId)], {
    stdio: ['pipe', 'pipe', 'ignore'],
    detached: true, // its own process group: Ctrl-C in the terminal does not reach it
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`the xdp dump guardian exited early (${code})`)));
  });
  child.stdout!.destroy();
  child.unref();
  return {
    done() {
      child.stdin!.end('done\n');
      (child.stdin as unknown as { unref?: () => void }).unref?.();
    },
  };
}

/** `bpfkit xdp dump` (a subcommand of `bpfkit xdp`), until -c, --duration or Ctrl-C. */
export function xdpDump(args: CommandArgs, io: Io, sys: Sys): Promise<number> {
  return withStopSignals((stop) => runXdpDump(args, io, sys, stop));
}

function intArg(args: CommandArgs, name: string): number | undefined {
  const v = args.value(name);
  if (v === undefined) return undefined;
  if (!/^[1-9]\d*$/.test(v)) throw new UsageError(`--${name} must be a positive integer, got '${v}'`, xdpDumpUsage);
  return Number(v);
}

/** `bpfkit xdp dump` with an injected Sys, until `stop` aborts. */
export async function runXdpDump(args: CommandArgs, io: Io, sys: Sys, stop: AbortSignal, options: { guardian?: boolean } = {}): Promise<number> {
  args.positional(0, 'dump', xdpDumpUsage);
  args.done(xdpDumpUsage);
  const dev = args.value('dev');
  if (!dev) throw new UsageError('missing --dev IFACE', xdpDumpUsage);
  const at = args.value('at') ?? 'entry';
  if (at !== 'entry' && at !== 'exit' && at !== 'both') throw new UsageError(`--at must be entry, exit or both, got '${at}'`, xdpDumpUsage);
  const count = intArg(args, 'count');
  const snaplen = intArg(args, 'snaplen') ?? 262144;
  let durationMs: number | undefined;
  try {
    durationMs = parseSeconds(args.value('duration'), 'duration');
  } catch (e) {
    throw new UsageError((e as Error).message, xdpDumpUsage);
  }
  if (args.value('prog') !== undefined && args.value('obj') === undefined) throw new UsageError('--prog goes with --obj', xdpDumpUsage);
  const objPath = args.value('obj');
  const object = objPath ? { spec: readObject(objPath), ...(args.value('prog') !== undefined ? { program: args.value('prog') as string } : {}) } : undefined;
  const file = args.value('write');

  const cap = XdpCapture.prepare(sys, dev, { at, snaplen, ...(object ? { object } : {}) });
  let guard: { done(): void } | undefined;
  let fd = -1;
  let packets = 0;
  try {
    if (options.guardian !== false) guard = await startGuardian(cap);
    const pcap = file ? new PcapngWriter({ hardware: arch(), os: `Linux ${release()}`, userAppl: 'bpfkit xdp dump' }) : undefined;
    if (pcap && file) {
      const prog = cap.original.name || `prog_${cap.original.id}`;
      pcap.addInterface({ name: `${cap.ifname}@fentry`, description: `${cap.ifname}:${prog}()@fentry`, snaplen, tsResolution: 9 });
      pcap.addInterface({ name: `${cap.ifname}@fexit`, description: `${cap.ifname}:${prog}()@fexit`, snaplen, tsResolution: 9 });
      fd = openSync(file, 'w');
      writeSync(fd, pcap.flush());
    }
    cap.swapIn();
    io.err(`listening on ${cap.ifname}, ifindex ${cap.ifindex}, capturing ${cap.original.name || `prog ${cap.original.id}`} (id ${cap.original.id}) at ${at} through ${cap.via}${file ? `, writing ${file}` : ''}; Ctrl-C to stop\n`);
    // Monotonic ns -> wall clock (both read now; Node's hrtime is CLOCK_MONOTONIC like bpf_ktime_get_ns).
    const epochDelta = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
    const ids = new Map<number, bigint>(); // per CPU: the id of the packet whose entry was seen last
    let nextId = 0n;
    let lostSeen = 0;
    const wanted = (r: XdpCaptureRecord): boolean => (at === 'both' ? true : r.point === at);
    const emit = (r: XdpCaptureRecord): void => {
      if (r.point === 'entry' || !cap.at.entry) ids.set(r.cpu, ++nextId);
      if (!wanted(r)) return;
      const id = ids.get(r.cpu) ?? 0n;
      const ts = r.timeNs + epochDelta;
      const exit = r.point === 'exit';
      if (pcap) {
        const comment = exit ? `id: ${id}, queue: ${r.rxQueue}, action: ${r.action}${actionText(r.action ?? -1)}` : `id: ${id}, queue: ${r.rxQueue}`;
        const dropped = cap.lost - lostSeen;
        lostSeen = cap.lost;
        pcap.write(r.data, {
          interfaceId: exit ? 1 : 0,
          seconds: Number(ts / 1_000_000_000n),
          nanoseconds: Number(ts % 1_000_000_000n),
          origLen: r.pktLen,
          comment,
          flags: 1, // inbound
          ...(dropped > 0 ? { dropCount: BigInt(dropped) } : {}),
          packetId: id,
          queue: r.rxQueue,
          ...(exit ? { verdict: { type: 2, value: BigInt(r.action ?? 0) } } : {}),
        });
        writeSync(fd, pcap.flush());
      } else {
        const t = new Date(Number(ts / 1_000_000n)).toISOString().slice(11, 23) + String(ts % 1_000_000n).padStart(6, '0').slice(0, 3);
        io.out(`${t} ${cap.ifname}@${r.point}${exit ? actionText(r.action ?? -1) : ''} ${frameSummary(r.data, r.pktLen)} (queue ${r.rxQueue}, ifindex ${r.ifindex}, id ${id})\n`);
      }
      packets++;
    };
    const waiting = runUntil(stop, { ...(durationMs !== undefined ? { durationMs } : {}) });
    const reading = (async () => {
      for await (const r of cap.records()) {
        emit(r);
        if (count !== undefined && packets >= count) break;
      }
    })();
    await Promise.race([waiting.promise, reading]);
    waiting.done();
    // Put the program back first, then take what was recorded before the swap.
    cap.restore();
    if (count === undefined || packets < count) for (const r of cap.drain()) if (count === undefined || packets < count) emit(r);
    io.err(`\n${packets} packets captured\n${cap.lost} packets dropped by perf ring\n`);
    return 0;
  } finally {
    try {
      cap.close();
    } finally {
      guard?.done();
      if (fd >= 0) closeSync(fd);
    }
  }
}

/** The `dump` entry of `bpfkit xdp`'s subcommand table. */
export const xdpDumpSubcommand: XdpSubcommand = {
  summary: 'capture what an attached XDP program sees (entry) and does (exit, with --obj), like xdpdump: pcapng or one line per packet',
  usage: xdpDumpUsage,
  options: xdpDumpOptions,
  run: (args: CommandArgs, io: Io, sys: Sys): Promise<number> => xdpDump(args, io, sys),
};

/** `bpfkit xdp dump` on the real kernel (for direct use; `bpfkit xdp` dispatches through its table). */
export function xdpDumpCommand(args: CommandArgs, io: Io): Promise<number> {
  return xdpDump(args, io, createKernelSys());
}
