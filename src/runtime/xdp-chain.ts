// Several XDP programs run in userspace as a dispatcher runs them: run order by priority, chain-call actions, per-program verdicts.
import { BpfkitError } from '../errors.js';
import { readCapture, type CaptureReaderOptions } from '../packet/capture-reader.js';
import { RssSpreader } from '../packet/rss-spreader.js';
import { BpfProgType } from '../isa/uapi.generated.js';
import type { UserspaceProgram } from './userspace-program.js';
import { VerdictCounter, type VerdictRow } from './verdicts.js';
import { continuesChain, sortChain } from './xdp-run-config.js';

/** One program of a chain. */
export interface XdpChainMember {
  /** The loaded program (an XDP program). */
  readonly program: UserspaceProgram;
  /** Its name (ties in priority are broken by name, as libxdp does). */
  readonly name: string;
  readonly priority: number;
  /** Bit N: verdict N continues the chain. */
  readonly chainCallActions: number;
}

/** What one packet did in the chain. */
export interface XdpChainOutcome {
  /** The chain's verdict (XDP_PASS when every program continued it). */
  readonly verdict: number;
  /** Programs that ran, in order (indexes into {@link XdpChain.members}). */
  readonly ran: number;
  /** The packet as the last program left it. */
  readonly packet: Uint8Array;
}

/** Per-program figures of a chain. */
export interface XdpChainProgramCounts {
  readonly name: string;
  readonly priority: number;
  readonly chainCallActions: number;
  /** Packets it ran on. */
  readonly packets: number;
  /** Its verdicts. */
  readonly verdicts: readonly VerdictRow[];
}

/** A chain run over a capture. */
export interface XdpChainResult {
  /** Packets read. */
  readonly packets: number;
  /** Final verdicts of the chain. */
  readonly verdicts: readonly VerdictRow[];
  /** Per program, in run order. */
  readonly programs: readonly XdpChainProgramCounts[];
}

const XDP_PASS = 2;

/**
 * XDP programs chained as bpfkit's and libxdp's dispatchers chain them: sorted by priority (then
 * name, then the order given), each one's verdict continues the chain when it is in its
 * chain-call set and is the chain's verdict otherwise; when the last one continues, the verdict
 * is XDP_PASS. Each program sees the packet as the one before it left it.
 */
export class XdpChain {
  /** Members in run order. */
  readonly members: readonly XdpChainMember[];
  readonly #counters: VerdictCounter[];

  constructor(members: readonly XdpChainMember[]) {
    if (members.length === 0) throw new BpfkitError('ERR_USAGE', 'an XDP chain needs at least one program');
    for (const m of members) {
      if (m.program.spec.type !== BpfProgType.XDP) throw new BpfkitError('ERR_XDP_PROGRAM', `program "${m.name}" is not an XDP program (section "${m.program.spec.section}")`);
    }
    this.members = sortChain(members.map((m, i) => ({ ...m, loaded: false, size: 0, sequence: i }))).map(({ program, name, priority, chainCallActions }) => ({ program, name, priority, chainCallActions }));
    this.#counters = this.members.map(() => new VerdictCounter());
  }

  /** Runs one packet through the chain on `cpu`. */
  run(packet: Uint8Array, cpu = 0): XdpChainOutcome {
    let data = packet;
    for (let i = 0; i < this.members.length; i++) {
      const m = this.members[i]!;
      const verdict = m.program.run(data, { cpu });
      this.#counters[i]!.add(verdict, data.length);
      data = m.program.dataOut();
      if (!continuesChain(m.chainCallActions, verdict)) return { verdict, ran: i + 1, packet: data };
    }
    return { verdict: XDP_PASS, ran: this.members.length, packet: data };
  }

  /** Per-program counts so far. */
  counts(): XdpChainProgramCounts[] {
    return this.members.map((m, i) => {
      const rows = this.#counters[i]!.rows(BpfProgType.XDP);
      return { name: m.name, priority: m.priority, chainCallActions: m.chainCallActions, packets: rows.reduce((s, r) => s + r.packets, 0), verdicts: rows };
    });
  }
}

/** Runs every packet of a pcap/pcapng capture through `chain`, on `cpus` simulated CPUs chosen by RSS. */
export function runChainCapture(chain: XdpChain, capture: Uint8Array, options: { cpus?: number; reader?: CaptureReaderOptions } = {}): XdpChainResult {
  const rss = new RssSpreader({ queues: options.cpus ?? 1 });
  const final = new VerdictCounter();
  let packets = 0;
  for (const rec of readCapture(capture, options.reader)) {
    const data = rec.buffer.slice(rec.offset, rec.offset + rec.caplen);
    const cpu = rss.queueOf(data, 0, data.length, rec.linkType);
    const out = chain.run(data, cpu);
    final.add(out.verdict, data.length);
    packets++;
  }
  return { packets, verdicts: final.rows(BpfProgType.XDP), programs: chain.counts() };
}
