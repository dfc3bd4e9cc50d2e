// Program types by name (as bpftool prints them), TC return codes and BPF_PROG_LOAD flags.
import { BpfProgType } from './uapi.generated.js';

/** A program type's kernel name without prefix, as bpftool prints it: `'xdp'`, `'sched_cls'`. */
export type ProgramTypeName = Lowercase<keyof typeof BpfProgType>;

const nameByValue = new Map<number, ProgramTypeName>();
const valueByName = new Map<string, BpfProgType>();
for (const [key, value] of Object.entries(BpfProgType) as [keyof typeof BpfProgType, BpfProgType][]) {
  const name = key.toLowerCase() as ProgramTypeName;
  if (!nameByValue.has(value)) nameByValue.set(value, name);
  valueByName.set(name, value);
}

/** Every known program type name, in enum order. */
export const PROGRAM_TYPE_NAMES: readonly ProgramTypeName[] = [...nameByValue.values()];

/**
 * The name bpftool prints for a program type: `programTypeName(6) === 'xdp'`; a value this
 * kernel's enum lacks renders like bpftool does, `'type 99'`.
 */
export function programTypeName(type: number): string {
  return nameByValue.get(type) ?? `type ${type}`;
}

/** The program type called `name` (`'xdp'`, case-insensitive), or undefined. */
export function programTypeByName(name: string): BpfProgType | undefined {
  return valueByName.get(name.toLowerCase());
}

/** Whether `name` is a known program type name. */
export function isProgramTypeName(name: string): name is ProgramTypeName {
  return valueByName.has(name);
}

/**
 * TC actions: return codes of sched_cls/sched_act programs (`TC_ACT_*`). Hand-written: they are
 * `#define`s in include/uapi/linux/pkt_cls.h, so the kernel's BTF does not carry them.
 */
export const TcAction = {
  UNSPEC: -1,
  OK: 0,
  RECLASSIFY: 1,
  SHOT: 2,
  PIPE: 3,
  STOLEN: 4,
  QUEUED: 5,
  REPEAT: 6,
  REDIRECT: 7,
  TRAP: 8,
} as const;
/** A value of {@link TcAction}. */
export type TcAction = (typeof TcAction)[keyof typeof TcAction];

/**
 * `prog_flags` of BPF_PROG_LOAD (`BPF_F_*`, prefix stripped). Hand-written: `#define`s in
 * include/uapi/linux/bpf.h, absent from BTF.
 */
export const BpfProgLoadFlags = {
  STRICT_ALIGNMENT: 1 << 0,
  ANY_ALIGNMENT: 1 << 1,
  TEST_RND_HI32: 1 << 2,
  TEST_STATE_FREQ: 1 << 3,
  SLEEPABLE: 1 << 4,
  XDP_HAS_FRAGS: 1 << 5,
  XDP_DEV_BOUND_ONLY: 1 << 6,
  TEST_REG_INVARIANTS: 1 << 7,
} as const;
/** A value of {@link BpfProgLoadFlags}. */
export type BpfProgLoadFlags = (typeof BpfProgLoadFlags)[keyof typeof BpfProgLoadFlags];

/**
 * `flags` of BPF_PROG_TEST_RUN (`BPF_F_TEST_*`, prefix stripped). Hand-written: `#define`s in
 * include/uapi/linux/bpf.h.
 */
export const BpfTestRunFlags = {
  RUN_ON_CPU: 1 << 0,
  XDP_LIVE_FRAMES: 1 << 1,
  SKB_CHECKSUM_COMPLETE: 1 << 2,
} as const;
/** A value of {@link BpfTestRunFlags}. */
export type BpfTestRunFlags = (typeof BpfTestRunFlags)[keyof typeof BpfTestRunFlags];
