// The packet pipeline: a capture streamed through one program on N simulated CPUs fed by Toeplitz RSS.
//
// Like a multi-queue NIC feeding XDP: each packet's flow tuple is hashed (Toeplitz, Microsoft's
// key by default), the hash picks a receive queue through an indirection table, and queue q is
// served by CPU q — so every packet of a flow lands on the same CPU and per-CPU map slots fill
// the way they would on the host. Verdicts are counted (packets and bytes per return value),
// packets go to the pass / tx / drop sinks, and a packet whose run faults is reported (index,
// pc, message) and counted while the run goes on with the next one.
//
// An XDP_REDIRECT into a cpumap entry goes on as the kernel's cpumap does: the frame (as the
// program left it) is queued to that CPU and run there through the entry's own program (an
// `xdp/cpumap` program, with ingress_ifindex kept and rx_queue_index 0) when it has one, whose
// verdict decides — XDP_PASS to the stack (the pass sink), XDP_REDIRECT onwards, anything else
// dropped (XDP_TX is not allowed there and counts as a drop, as the kernel's
// bpf_warn_invalid_xdp_action path) — or straight to the stack when it has none. Those
// packets are counted per target CPU and per second-stage verdict in `cpumap`.

import { BpfkitError } from '../errors.js';
import { CaptureReader, type CaptureReaderOptions } from '../packet/capture-reader.js';
import type { PacketRecord } from '../packet/packet-record.js';
import type { PacketMeta } from '../packet/pcap-writer.js';
import { RssSpreader, type RssSpreaderOptions } from '../packet/rss-spreader.js';
import { BpfProgType, XdpAction } from '../isa/uapi.generated.js';
import { CpuMap } from '../maps/cpumap.js';
import { UserspaceProgram } from './userspace-program.js';
import { PacketBatch } from './packet-batch.js';
import { verdictClass, VerdictCounter, type VerdictClass, type VerdictRow } from './verdicts.js';

/** Where packets of one verdict class are written (a PcapWriter is one). */
export interface PacketSink {
  /** Appends one packet (the sink may keep `data`: it is not reused). */
  write(data: Uint8Array, meta: PacketMeta): unknown;
  /**
   * Appends `bytes[offset, offset + length)`, copying them before it returns (the bytes are
   * reused afterwards); optional — without it the pipeline passes `write` a copy.
   */
  writeRange?(bytes: Uint8Array, offset: number, length: number, meta: PacketMeta): unknown;
}

/** A packet whose run stopped with an error, or that could not be delivered to the program. */
export interface PacketFault {
  /** 0-based index of the packet in the capture. */
  readonly index: number;
  /** CPU it ran on. */
  readonly cpu: number;
  /** Slot index of the instruction that faulted (-1 when not known). */
  readonly pc: number;
  /** The error's stable code (`ERR_MEMORY_FAULT`, `ERR_BUDGET_EXCEEDED`...). */
  readonly code: string;
  /** The error's message. */
  readonly message: string;
}

/** Counters of a pipeline so far, as the progress callback and the result report them. */
export interface PipelineProgress {
  /** Packets read from the capture (faulted and refused ones included). */
  readonly packets: number;
  /** Their bytes (captured length). */
  readonly bytes: number;
  /** Wall time since the first chunk, in milliseconds. */
  readonly elapsedMs: number;
}

/** Per-CPU (= per receive queue) counts. */
export interface CpuCount {
  /** CPU (and queue) number. */
  readonly cpu: number;
  /** Packets it ran. */
  readonly packets: number;
  /** Their bytes. */
  readonly bytes: number;
}

/** The outcome of a pipeline run. */
export interface PipelineResult extends PipelineProgress {
  /** Packets and bytes per return value. */
  readonly verdicts: readonly VerdictRow[];
  /** Packets per CPU. */
  readonly cpus: readonly CpuCount[];
  /** Packets whose run faulted. */
  readonly faultCount: number;
  /** The first faults (at most `maxFaults`). */
  readonly faults: readonly PacketFault[];
  /**
   * Packets the program type cannot receive, so never run (an XDP frame shorter than an
   * Ethernet header, or larger than one page): a NIC drops these before XDP sees them.
   */
  readonly refusedCount: number;
  /** The first refused packets (pc -1), with the reason. */
  readonly refused: readonly PacketFault[];
  /** Packets per second of wall time. */
  readonly packetsPerSecond: number;
  /** Capture records skipped as unreadable (with `skipBadRecords`). */
  readonly skippedRecords: number;
  /** Packets an XDP program redirected into a cpumap, when any was: where they ran and what became of them. */
  readonly cpumap?: CpumapResult;
}

/** The second stage of packets redirected into a cpumap. */
export interface CpumapResult {
  /** Packets per target CPU (only CPUs that received some). */
  readonly cpus: readonly CpuCount[];
  /**
   * Their fate per verdict: the cpumap entry program's return value, or XDP_PASS for an entry
   * without a program (the frame goes to the stack).
   */
  readonly verdicts: readonly VerdictRow[];
  /** Packets whose cpumap program run faulted (counted as drops by the kernel). */
  readonly faultCount: number;
}

/** Options of {@link Pipeline}. */
export interface PipelineOptions {
  /** Number of simulated CPUs = receive queues (default 1); the program's object must have at least this many. */
  cpus?: number;
  /** RSS settings other than the queue count (key, indirection table, UDP ports). */
  rss?: Omit<RssSpreaderOptions, 'queues'>;
  /** Interface index the packets arrive on (default 1). */
  ifindex?: number;
  /** Sinks per verdict class: `pass` gets the packet after the run, `tx` too, `drop` the packet as it came in. */
  sinks?: Partial<Record<Exclude<VerdictClass, 'other'>, PacketSink>>;
  /** Called every `progressEvery` packets. */
  onProgress?: (progress: PipelineProgress) => void;
  /** Packets between progress calls (default 65536). */
  progressEvery?: number;
  /** Called for every packet whose run faults. */
  onFault?: (fault: PacketFault) => void;
  /** Faults kept in the result (default 100). */
  maxFaults?: number;
  /** Capture reader options (limits, skipping bad records). */
  reader?: CaptureReaderOptions;
  /**
   * Run frames in batches through the program's batch entry when it has one (default true; see
   * packet-batch.ts). The results are the same either way; false runs every packet from
   * JavaScript (measurements, tests).
   */
  batch?: boolean;
}

type Clock = () => number;
const perf = (globalThis as unknown as { performance?: { now(): number } }).performance;
const nowMs: Clock = perf ? () => perf.now() : () => Date.now();

/**
 * Streams a capture through `program`: push chunks of pcap/pcapng bytes as they arrive, then
 * `end()` for the result.
 *
 * ```ts
 * const pipe = new Pipeline(obj.program('xdp_flow_stats'), { cpus: 4, sinks: { pass: new PcapWriter() } });
 * for await (const chunk of createReadStream('traffic.pcap')) pipe.push(chunk);
 * const result = pipe.end(); // verdicts, per-CPU counts, faults, packets/s
 * ```
 */
export class Pipeline {
  /** The capture reader (header, interfaces, skipped records). */
  readonly reader: CaptureReader;
  private readonly rss: RssSpreader;
  private readonly cpus: number;
  private readonly verdicts = new VerdictCounter();
  private readonly cpuPackets: Float64Array;
  private readonly cpuBytes: Float64Array;
  private readonly faults: PacketFault[] = [];
  private readonly refused: PacketFault[] = [];
  private refusedCount = 0;
  private readonly meta = { seconds: 0, nanoseconds: 0, origLen: 0 };
  private readonly runOptions = { cpu: 0, ifindex: 1, rxQueue: 0 };
  private faultCount = 0;
  private readonly cpumapCpus = new Map<number, { packets: number; bytes: number }>();
  private readonly cpumapVerdicts = new VerdictCounter();
  private cpumapFaults = 0;
  private readonly cpumapOrigin = { cpu: 0, ifindex: 1, rxQueue: 0 };
  private packets = 0;
  private bytes = 0;
  private started = -1;
  private nextProgress: number;
  /** The program's batch entry, when it has one (see packet-batch.ts); else packets run one by one. */
  private readonly batch: PacketBatch | undefined;
  /** Verdicts (bits below 32) whose frame the batch copies back after the run: those whose sink writes the frame out. */
  private readonly copyBack: number;

  constructor(
    /** The program every packet runs through. */
    readonly program: UserspaceProgram,
    private readonly options: PipelineOptions = {},
  ) {
    this.cpus = options.cpus ?? 1;
    this.rss = new RssSpreader({ ...options.rss, queues: this.cpus });
    this.reader = new CaptureReader(options.reader);
    this.cpuPackets = new Float64Array(this.cpus);
    this.cpuBytes = new Float64Array(this.cpus);
    this.runOptions.ifindex = options.ifindex ?? 1;
    this.nextProgress = options.progressEvery ?? 65536;
    this.batch = options.batch === false ? undefined : program.packetBatch();
    let copyBack = 0;
    for (let r = 0; r < 32; r++) {
      const cls = verdictClass(program.type, r);
      if ((cls === 'pass' || cls === 'tx') && options.sinks?.[cls]) copyBack |= 1 << r;
    }
    this.copyBack = copyBack;
  }

  /** Feeds capture bytes; runs every packet completed by them. Do not modify `chunk` afterwards. */
  push(chunk: Uint8Array): this {
    if (this.started < 0) this.started = nowMs();
    this.reader.push(chunk);
    for (let p = this.reader.read(); p !== null; p = this.reader.read()) this.runOne(p);
    this.flushBatch();
    return this;
  }

  /** Ends the capture (a truncated last record throws, unless skipped) and returns the result. */
  end(): PipelineResult {
    if (this.started < 0) this.started = nowMs();
    this.reader.end();
    for (const p of this.reader) this.runOne(p);
    this.flushBatch();
    return this.result();
  }

  /**
   * The results so far: after the capture reader refused a record (a malformed or truncated
   * capture), what the packets before it did — `bpfkit run` reports them instead of nothing.
   */
  resultSoFar(): PipelineResult {
    this.flushBatch();
    return this.result();
  }

  /** Counters so far. */
  progress(): PipelineProgress {
    return { packets: this.packets, bytes: this.bytes, elapsedMs: this.started < 0 ? 0 : nowMs() - this.started };
  }

  private runOne(p: PacketRecord): void {
    const queue = this.cpus === 1 ? 0 : this.rss.queueOf(p.buffer, p.offset, p.caplen, p.linkType);
    const batch = this.batch;
    if (batch !== undefined) {
      if (PacketBatch.fits(p.caplen)) {
        let slot = batch.add(p.buffer, p.offset, p.caplen, queue);
        if (slot < 0) {
          this.runBatch();
          slot = batch.add(p.buffer, p.offset, p.caplen, queue);
        }
        batch.index[slot] = p.index;
        batch.seconds[slot] = p.seconds;
        batch.nanoseconds[slot] = p.nanoseconds;
        batch.origLen[slot] = p.origLen;
        return;
      }
      // Packets run in capture order: the batch before this one.
      this.runBatch();
    }
    const data = p.buffer.subarray(p.offset, p.offset + p.caplen);
    const o = this.runOptions;
    o.cpu = queue;
    o.rxQueue = queue;
    this.packets++;
    this.bytes += p.caplen;
    this.cpuPackets[queue]!++;
    this.cpuBytes[queue]! += p.caplen;
    let r1: number;
    try {
      r1 = this.program.deliver(data, o);
    } catch (e) {
      if (!(e instanceof BpfkitError)) throw e;
      this.refusedCount++;
      const f: PacketFault = { index: p.index, cpu: queue, pc: -1, code: e.code, message: e.message };
      if (this.refused.length < (this.options.maxFaults ?? 100)) this.refused.push(f);
      this.tick();
      return;
    }
    let retval: number;
    try {
      retval = this.program.execute(r1, queue);
    } catch (e) {
      if (!(e instanceof BpfkitError)) throw e;
      this.fault(p.index, queue, e);
      this.tick();
      return;
    }
    this.verdicts.add(retval, p.caplen);
    let cls = verdictClass(this.program.type, retval);
    let out: Uint8Array | undefined;
    if (retval === XdpAction.REDIRECT && this.program.type === BpfProgType.XDP) {
      const target = this.program.redirectTarget();
      if (target?.kind === 'map' && target.map instanceof CpuMap) {
        const fate = this.onCpu(target.map, target.key, p, queue);
        cls = fate.cls;
        out = fate.out;
      }
    }
    const sinks = this.options.sinks;
    if (sinks) {
      const sink = cls === 'other' ? undefined : sinks[cls];
      if (sink) {
        const m = this.meta;
        m.seconds = p.seconds;
        m.nanoseconds = p.nanoseconds;
        if (cls === 'drop') {
          m.origLen = p.origLen;
          sink.write(data, m);
        } else {
          const frame = out ?? this.program.dataOut();
          m.origLen = frame.length + Math.max(0, p.origLen - p.caplen);
          sink.write(frame, m);
        }
      }
    }
    this.tick();
  }

  /**
   * Runs a frame the program redirected into cpumap `map` slot `cpu` on that CPU (see the file
   * comment); returns its class and, for a pass, the frame as it leaves.
   */
  private onCpu(map: CpuMap, cpu: number, p: PacketRecord, queue: number): { cls: VerdictClass; out: Uint8Array | undefined } {
    const frame = this.program.dataOut();
    const c = this.cpumapCpus.get(cpu) ?? { packets: 0, bytes: 0 };
    c.packets++;
    c.bytes += frame.length;
    this.cpumapCpus.set(cpu, c);
    const prog = map.entry(cpu)?.program;
    if (!(prog instanceof UserspaceProgram)) {
      this.cpumapVerdicts.add(XdpAction.PASS, frame.length);
      return { cls: 'pass', out: frame };
    }
    const o = this.cpumapOrigin;
    o.cpu = cpu;
    o.ifindex = this.runOptions.ifindex;
    o.rxQueue = 0; // cpumap runs report no queue (the kernel's xdp_rxq_info has none for them)
    let verdict: number;
    try {
      verdict = prog.run(frame, o);
    } catch (e) {
      if (!(e instanceof BpfkitError)) throw e;
      this.cpumapFaults++;
      this.fault(p.index, queue, e);
      return { cls: 'drop', out: undefined };
    }
    this.cpumapVerdicts.add(verdict, frame.length);
    if (verdict === XdpAction.PASS) return { cls: 'pass', out: prog.dataOut() };
    if (verdict === XdpAction.REDIRECT) return { cls: 'other', out: undefined };
    return { cls: 'drop', out: undefined };
  }

  /** Runs the frames batched so far and accounts for them in order: verdicts, sinks, faults, progress. */
  private runBatch(): void {
    const b = this.batch!;
    const n = b.length;
    if (n === 0) return;
    b.run(this.runOptions.ifindex, this.copyBack);
    const sinks = this.options.sinks;
    const type = this.program.type;
    const faults = b.faults.size > 0 ? b.faults : undefined;
    const bytes = b.bytes();
    const m = this.meta;
    for (let i = 0; i < n; i++) {
      const len = b.frameLength(i);
      const cpu = b.cpu(i);
      this.packets++;
      this.bytes += len;
      this.cpuPackets[cpu]!++;
      this.cpuBytes[cpu]! += len;
      const f = faults?.get(i);
      if (f) {
        this.faultAt(b.index[i]!, cpu, f.pc, f.error);
        this.tick();
        continue;
      }
      const retval = b.verdict(i);
      this.verdicts.add(retval, len);
      if (sinks) {
        const cls = verdictClass(type, retval);
        const sink = cls === 'other' ? undefined : sinks[cls];
        if (sink) {
          // A dropped frame is written as it came in; a passed or sent one as the program left it
          // (copied back over its input bytes): the same length, since no helper could change it.
          m.seconds = b.seconds[i]!;
          m.nanoseconds = b.nanoseconds[i]!;
          m.origLen = b.origLen[i]!;
          const at = b.frameOffset(i);
          if (sink.writeRange) sink.writeRange(bytes, at, len, m);
          else sink.write(bytes.slice(at, at + len), m);
        }
      }
      this.tick();
    }
    b.clear();
  }

  /** Runs what is batched and lets go of the staged bytes (the caller's chunk may change after push returns). */
  private flushBatch(): void {
    if (this.batch === undefined) return;
    this.runBatch();
    this.batch.release();
  }

  private tick(): void {
    if (this.packets >= this.nextProgress) {
      this.nextProgress += this.options.progressEvery ?? 65536;
      this.options.onProgress?.(this.progress());
    }
  }

  private fault(index: number, cpu: number, e: BpfkitError): void {
    this.faultAt(index, cpu, typeof (e as { pc?: unknown }).pc === 'number' ? (e as unknown as { pc: number }).pc : this.program.engine.pc, e);
  }

  private faultAt(index: number, cpu: number, pc: number, e: BpfkitError): void {
    this.faultCount++;
    const f: PacketFault = { index, cpu, pc, code: e.code, message: e.message };
    if (this.faults.length < (this.options.maxFaults ?? 100)) this.faults.push(f);
    this.options.onFault?.(f);
  }

  private result(): PipelineResult {
    const pr = this.progress();
    const cpus: CpuCount[] = [];
    for (let c = 0; c < this.cpus; c++) cpus.push({ cpu: c, packets: this.cpuPackets[c]!, bytes: this.cpuBytes[c]! });
    return {
      ...pr,
      verdicts: this.verdicts.rows(this.program.type),
      cpus,
      faultCount: this.faultCount,
      faults: [...this.faults],
      refusedCount: this.refusedCount,
      refused: [...this.refused],
      packetsPerSecond: pr.elapsedMs > 0 ? Math.round((pr.packets * 1000) / pr.elapsedMs) : 0,
      skippedRecords: this.reader.skipped,
      ...(this.cpumapCpus.size > 0
        ? {
            cpumap: {
              cpus: [...this.cpumapCpus.entries()].sort((a, b) => a[0] - b[0]).map(([cpu, c]) => ({ cpu, packets: c.packets, bytes: c.bytes })),
              verdicts: this.cpumapVerdicts.rows(BpfProgType.XDP),
              faultCount: this.cpumapFaults,
            },
          }
        : {}),
    };
  }
}

/** Runs a whole capture held in memory through `program` (see {@link Pipeline}). */
export function runCapture(program: UserspaceProgram, capture: Uint8Array, options: PipelineOptions = {}): PipelineResult {
  return new Pipeline(program, options).push(capture).end();
}
