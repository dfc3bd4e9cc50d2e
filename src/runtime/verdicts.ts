// Verdict names per program type and the counters a run keeps per verdict (packets and bytes).

import { TcAction } from '../isa/program-types.js';
import { BpfProgType, XdpAction } from '../isa/uapi.generated.js';

const XDP_NAMES = Object.fromEntries(Object.entries(XdpAction).map(([k, v]) => [v, k.toLowerCase()])) as Record<number, string>;
const TC_NAMES = Object.fromEntries(Object.entries(TcAction).map(([k, v]) => [v >>> 0, k.toLowerCase()])) as Record<number, string>;

/**
 * The name of return value `retval` for a program type: XDP actions (`pass`, `drop`, `tx`,
 * `redirect`, `aborted`), TC actions (`ok`, `shot`, `redirect`...), socket filters (`drop` for
 * 0, else `keep`); an unknown value prints as `retval N`.
 */
export function verdictName(programType: number, retval: number): string {
  const v = retval >>> 0;
  if (programType === BpfProgType.XDP) return XDP_NAMES[v] ?? `retval ${v}`;
  if (programType === BpfProgType.SCHED_CLS || programType === BpfProgType.SCHED_ACT) return TC_NAMES[v] ?? `retval ${v}`;
  if (programType === BpfProgType.SOCKET_FILTER) return v === 0 ? 'drop' : 'keep';
  return OTHER_NAMES.get(programType)?.[v] ?? `retval ${v}`;
}

/** cgroup_skb, sk_lookup, netfilter (0 drops, 1 passes); lwt (BPF_OK, BPF_DROP, BPF_REDIRECT, BPF_LWT_REROUTE) and the flow dissector (BPF_OK, BPF_DROP). */
const LWT_NAMES: Readonly<Record<number, string>> = { 0: 'ok', 2: 'drop', 7: 'redirect', 128: 'reroute' };
const OTHER_NAMES: ReadonlyMap<number, Readonly<Record<number, string>>> = new Map([
  [BpfProgType.CGROUP_SKB, { 0: 'drop', 1: 'pass' }],
  [BpfProgType.SK_LOOKUP, { 0: 'drop', 1: 'pass' }],
  [BpfProgType.NETFILTER, { 0: 'drop', 1: 'accept' }],
  [BpfProgType.LWT_IN, LWT_NAMES],
  [BpfProgType.LWT_OUT, LWT_NAMES],
  [BpfProgType.LWT_XMIT, LWT_NAMES],
  [BpfProgType.LWT_SEG6LOCAL, LWT_NAMES],
  [BpfProgType.FLOW_DISSECTOR, { 0: 'ok', 2: 'drop' }],
]);

/** Which output capture a verdict goes to: pass, tx or drop (or none). */
export type VerdictClass = 'pass' | 'tx' | 'drop' | 'other';

/** Classifies a verdict for `--out-pass/--out-tx/--out-drop`. */
export function verdictClass(programType: number, retval: number): VerdictClass {
  const v = retval >>> 0;
  if (programType === BpfProgType.XDP) {
    if (v === XdpAction.PASS) return 'pass';
    if (v === XdpAction.TX) return 'tx';
    if (v === XdpAction.DROP || v === XdpAction.ABORTED) return 'drop';
    return 'other';
  }
  if (programType === BpfProgType.SCHED_CLS || programType === BpfProgType.SCHED_ACT) {
    if (v === TcAction.OK || v === TcAction.PIPE || v === (TcAction.UNSPEC >>> 0)) return 'pass';
    if (v === TcAction.SHOT || v === TcAction.STOLEN) return 'drop';
    return 'other';
  }
  if (programType === BpfProgType.SOCKET_FILTER) return v === 0 ? 'drop' : 'pass';
  const name = OTHER_NAMES.get(programType)?.[v];
  if (name === 'pass' || name === 'ok' || name === 'accept') return 'pass';
  if (name === 'drop') return 'drop';
  return 'other';
}

/** Packets and bytes seen per return value; grows only for a value not seen before. */
export class VerdictCounter {
  /** Packets per return value. */
  readonly packets = new Map<number, number>();
  /** Bytes (input packet length) per return value. */
  readonly bytes = new Map<number, number>();

  /** Counts one packet of `length` bytes with return value `retval`. */
  add(retval: number, length: number): void {
    const v = retval >>> 0;
    this.packets.set(v, (this.packets.get(v) ?? 0) + 1);
    this.bytes.set(v, (this.bytes.get(v) ?? 0) + length);
  }

  /** Rows sorted by return value: `{ retval, verdict, packets, bytes }`. */
  rows(programType: number): VerdictRow[] {
    return [...this.packets.keys()]
      .sort((a, b) => a - b)
      .map((retval) => ({ retval, verdict: verdictName(programType, retval), packets: this.packets.get(retval)!, bytes: this.bytes.get(retval)! }));
  }
}

/** One line of a verdict table. */
export interface VerdictRow {
  /** The return value. */
  readonly retval: number;
  /** Its name for the program type. */
  readonly verdict: string;
  /** Packets that got it. */
  readonly packets: number;
  /** Their bytes. */
  readonly bytes: number;
}
