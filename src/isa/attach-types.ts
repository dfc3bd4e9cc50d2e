// Attach and link types by name (as bpftool prints them), attach flags and XDP attach flags.
import { BpfAttachType, BpfLinkType } from './uapi.generated.js';

/** An attach type's kernel name without prefix, as bpftool prints it: `'xdp'`, `'tcx_ingress'`. */
export type AttachTypeName = Lowercase<keyof typeof BpfAttachType>;
/** A link type's kernel name without prefix, as bpftool prints it: `'xdp'`, `'tcx'`. */
export type LinkTypeName = Lowercase<keyof typeof BpfLinkType>;

function table<V extends number>(values: Record<string, V>): { byValue: Map<number, string>; byName: Map<string, V> } {
  const byValue = new Map<number, string>();
  const byName = new Map<string, V>();
  for (const [key, value] of Object.entries(values)) {
    const name = key.toLowerCase();
    if (!byValue.has(value)) byValue.set(value, name);
    byName.set(name, value);
  }
  return { byValue, byName };
}

const attach = table<BpfAttachType>(BpfAttachType);
const link = table<BpfLinkType>(BpfLinkType);

/** Every known attach type name, in enum order. */
export const ATTACH_TYPE_NAMES = [...attach.byValue.values()] as readonly AttachTypeName[];
/** Every known link type name, in enum order. */
export const LINK_TYPE_NAMES = [...link.byValue.values()] as readonly LinkTypeName[];

/**
 * The name bpftool prints for an attach type: `attachTypeName(37) === 'xdp'`; unknown values
 * render like bpftool, `'type 99'`.
 */
export function attachTypeName(type: number): string {
  return attach.byValue.get(type) ?? `type ${type}`;
}

/** The attach type called `name` (`'tcx_ingress'`, case-insensitive), or undefined. */
export function attachTypeByName(name: string): BpfAttachType | undefined {
  return attach.byName.get(name.toLowerCase());
}

/** Whether `name` is a known attach type name. */
export function isAttachTypeName(name: string): name is AttachTypeName {
  return attach.byName.has(name);
}

/** The name bpftool prints for a link type (`'tcx'`), or `'type 99'` when unknown. */
export function linkTypeName(type: number): string {
  return link.byValue.get(type) ?? `type ${type}`;
}

/** The link type called `name` (`'xdp'`, case-insensitive), or undefined. */
export function linkTypeByName(name: string): BpfLinkType | undefined {
  return link.byName.get(name.toLowerCase());
}

/**
 * `attach_flags` of BPF_PROG_ATTACH / BPF_LINK_CREATE (`BPF_F_*`, prefix stripped).
 * Hand-written: `#define`s in include/uapi/linux/bpf.h, absent from BTF.
 */
export const BpfAttachFlags = {
  ALLOW_OVERRIDE: 1 << 0,
  ALLOW_MULTI: 1 << 1,
  REPLACE: 1 << 2,
  BEFORE: 1 << 3,
  AFTER: 1 << 4,
  ID: 1 << 5,
  /** Same bit as the map flag BPF_F_LINK: the relative target is a link, not a program. */
  LINK: 1 << 13,
} as const;
/** A value of {@link BpfAttachFlags}. */
export type BpfAttachFlags = (typeof BpfAttachFlags)[keyof typeof BpfAttachFlags];

/**
 * XDP attach flags (`XDP_FLAGS_*`, prefix stripped) of IFLA_XDP_FLAGS and BPF_LINK_CREATE.
 * Hand-written: `#define`s in include/uapi/linux/if_link.h.
 */
export const XdpFlags = {
  UPDATE_IF_NOEXIST: 1 << 0,
  SKB_MODE: 1 << 1,
  DRV_MODE: 1 << 2,
  HW_MODE: 1 << 3,
  REPLACE: 1 << 4,
  /** SKB_MODE | DRV_MODE | HW_MODE. */
  MODES: (1 << 1) | (1 << 2) | (1 << 3),
} as const;
/** A value of {@link XdpFlags}. */
export type XdpFlags = (typeof XdpFlags)[keyof typeof XdpFlags];
