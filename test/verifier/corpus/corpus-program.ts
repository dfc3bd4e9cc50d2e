// The shape of one corpus program, the maps corpus programs name, and the snippets they share.
import type { MapDef } from '../../../src/maps/map-ops.js';
import { type Instruction, type Label, alu64, call, exit, jmp, ldx, ld, program, st } from '../../../src/isa/index.js';
import { BpfMapType, BpfProgType } from '../../../src/isa/uapi.generated.js';

/** One small program probing one verifier rule; its expected verdict is the kernel's (golden). */
export interface CorpusProgram {
  /** Unique name, `family/case` (the golden file's key). */
  readonly name: string;
  /** The rule it probes, in words. */
  readonly rule: string;
  /** `enum bpf_prog_type`. */
  readonly type: number;
  /** The instructions; maps are named by `reference` (see CORPUS_MAPS). */
  readonly insns: readonly Instruction[];
  /** What the author meant it to probe: the accepted or the rejected side of the rule. */
  readonly intent: 'accept' | 'reject';
  /** The CVE whose shape it reproduces: a looser verdict than the kernel's here always fails. */
  readonly cve?: string;
}

/** Program types, short. */
export const XDP = BpfProgType.XDP;
/** `BPF_PROG_TYPE_SCHED_CLS` (TC). */
export const TC = BpfProgType.SCHED_CLS;
/** `BPF_PROG_TYPE_SOCKET_FILTER`. */
export const SOCK = BpfProgType.SOCKET_FILTER;

const def = (name: string, type: number, keySize: number, valueSize: number, maxEntries: number, flags = 0): MapDef => ({ name, type, keySize, valueSize, maxEntries, flags });

/** The maps corpus programs may name; the kernel oracle creates each once with these attributes. */
export const CORPUS_MAPS: ReadonlyMap<string, MapDef> = new Map(
  [
    def('array', BpfMapType.ARRAY, 4, 48, 4),
    def('hash', BpfMapType.HASH, 8, 16, 16),
    def('ringbuf', BpfMapType.RINGBUF, 0, 0, 4096),
    def('progs', BpfMapType.PROG_ARRAY, 4, 4, 4),
    // One-entry array: what .data/.bss/.rodata are; ld.map_value works only on these.
    def('global', BpfMapType.ARRAY, 4, 48, 1),
    def('percpu', BpfMapType.PERCPU_ARRAY, 4, 16, 2),
    def('lru', BpfMapType.LRU_HASH, 4, 8, 16),
    def('devmap', BpfMapType.DEVMAP, 4, 4, 4),
    // BPF_F_RDONLY_PROG: programs may read, not write.
    def('rdonly', BpfMapType.ARRAY, 4, 16, 1, 0x80),
    // BPF_F_WRONLY_PROG: programs may write, not read.
    def('wronly', BpfMapType.ARRAY, 4, 16, 1, 0x100),
  ].map((d) => [d.name, d]),
);

/** Value size of the `array` map (bounds probes sit around it). */
export const ARRAY_VALUE = 48;

/** One program item: an instruction or a label. */
export type Step = Instruction | Label;
type Item = Step | readonly Step[];

/** A corpus entry from builder items. */
export function probe(name: string, rule: string, type: number, intent: 'accept' | 'reject', ...items: Item[]): CorpusProgram {
  return { name, rule, type, intent, insns: program(...items) };
}

/** `r0 = v; exit`. */
export const ret = (v = 0): Instruction[] => [alu64.mov.imm(0, v), exit()];

/** XDP: r2 = ctx->data, r3 = ctx->data_end (r1 = ctx). */
export const xdpPacket = (): Instruction[] => [ldx.w(2, 1, 0), ldx.w(3, 1, 4)];

/** TC: r2 = skb->data, r3 = skb->data_end. */
export const tcPacket = (): Instruction[] => [ldx.w(2, 1, 76), ldx.w(3, 1, 80)];

/**
 * `r0 = bpf_map_lookup_elem(&map, fp-8)` with the key on the stack initialised (8 bytes zero),
 * `keyOff` chooses where r2 points.
 */
export function lookup(map = 'array', keyOff = -8, initKey = true): Instruction[] {
  return [...(initKey ? [st.dw(10, -8, 0)] : []), alu64.mov.reg(2, 10), alu64.add.imm(2, keyOff), ld.map_fd(1, map), call.helper('map_lookup_elem')];
}

/** lookup + `if r0 == 0 goto label` (r0 is then a map value in the fall-through). */
export function lookupChecked(map: string, out: string): Instruction[] {
  return [...lookup(map), jmp.jeq.imm(0, 0, out)];
}
