// struct __sk_buff: the layout (include/uapi/linux/bpf.h) and bpf_skb_is_valid_access, shared by tc and socket filters.

import type { CtxAccessCheck, CtxValueType } from './program-type-ops.js';

/** sizeof(struct __sk_buff). */
export const SK_BUFF_SIZE = 192;

/** Field offsets of struct __sk_buff. */
export const SkBuff = {
  len: 0,
  pkt_type: 4,
  mark: 8,
  queue_mapping: 12,
  protocol: 16,
  vlan_present: 20,
  vlan_tci: 24,
  vlan_proto: 28,
  priority: 32,
  ingress_ifindex: 36,
  ifindex: 40,
  tc_index: 44,
  cb: 48,
  hash: 68,
  tc_classid: 72,
  data: 76,
  data_end: 80,
  napi_id: 84,
  family: 88,
  remote_ip4: 92,
  local_ip4: 96,
  remote_ip6: 100,
  local_ip6: 116,
  remote_port: 132,
  local_port: 136,
  data_meta: 140,
  flow_keys: 144,
  tstamp: 152,
  wire_len: 160,
  gso_segs: 164,
  sk: 168,
  gso_size: 176,
  tstamp_type: 180,
  hwtstamp: 184,
} as const;

/** A field name of struct __sk_buff. */
export type SkBuffField = keyof typeof SkBuff;

/** Sizes of the fields wider than 4 bytes (the rest are u32; cb is u32[5], the ip6 fields u32[4]). */
const WIDTH: Partial<Record<SkBuffField, number>> = { cb: 20, remote_ip6: 16, local_ip6: 16, flow_keys: 8, tstamp: 8, sk: 8, tstamp_type: 1, hwtstamp: 8 };

const FIELDS: readonly [SkBuffField, number, number][] = (Object.entries(SkBuff) as [SkBuffField, number][]).map(([name, off]) => [name, off, WIDTH[name] ?? 4]);

/** The field covering byte `off` (with the element index for arrays: `cb[2]`), or undefined in padding. */
export function skBuffFieldAt(off: number): { name: SkBuffField; start: number; end: number; label: string } | undefined {
  for (const [name, start, width] of FIELDS) {
    if (off >= start && off < start + width) {
      const label = width === 16 || width === 20 ? `${name}[${Math.floor((off - start) / 4)}]` : name;
      return { name, start, end: start + width, label };
    }
  }
  return undefined;
}

/** The verifier's message for a refused context access. */
export function invalidCtxAccess(off: number, size: number): { reason: string } {
  return { reason: `invalid bpf_context access off=${off} size=${size}` };
}

/** `[start, end)` of a field, as bpf_ctx_range() spells it (end exclusive). */
function inField(off: number, name: SkBuffField): boolean {
  const start = SkBuff[name];
  return off >= start && off < start + (WIDTH[name] ?? 4);
}

/** Extra context of one access for the pointer fields: what the kernel records in info->reg_type. */
export type SkbPointerTypes = Partial<Record<'data' | 'data_end' | 'data_meta', CtxValueType>>;

/**
 * bpf_skb_is_valid_access (net/core/filter.c): the rules every __sk_buff user shares. The
 * caller has already applied its own type's switch; `types` says which pointer type the
 * data fields load as for that caller.
 */
export function skbIsValidAccess(off: number, size: number, write: boolean, types: SkbPointerTypes = {}, signExtend = false): CtxAccessCheck {
  const deny = invalidCtxAccess(off, size);
  if (off < 0 || off >= SK_BUFF_SIZE) return deny;
  if (off % size !== 0) return deny;
  const at = skBuffFieldAt(off);
  const field = at?.label ?? `+${off}`;
  if (inField(off, 'cb')) {
    if (off + size > SkBuff.cb + 20) return deny;
    return { field, type: 'scalar' };
  }
  for (const name of ['data', 'data_meta', 'data_end'] as const) {
    if (inField(off, name)) {
      if (size !== 4 || signExtend) return deny;
      return { field, type: types[name] ?? 'scalar' };
    }
  }
  if (inField(off, 'remote_ip6') || inField(off, 'local_ip6') || inField(off, 'remote_ip4') || inField(off, 'local_ip4')) {
    if (size !== 4) return deny;
    return { field, type: 'scalar' };
  }
  if (inField(off, 'flow_keys')) return deny;
  if (inField(off, 'hwtstamp')) {
    if (write || size !== 8) return deny;
    return { field, type: 'scalar' };
  }
  if (inField(off, 'tstamp')) {
    if (size !== 8) return deny;
    return { field, type: 'scalar' };
  }
  if (inField(off, 'sk')) {
    if (off !== SkBuff.sk || write || size !== 8) return deny;
    return { field, type: 'sock_common' };
  }
  if (off === SkBuff.tstamp_type) return deny;
  if (off > SkBuff.tstamp_type && off < SkBuff.hwtstamp) return deny;
  // Everything else is a u32: writes full width, reads narrow (1, 2 or 4 bytes).
  if (write) {
    if (size !== 4) return deny;
  } else if (size > 4 || (size & (size - 1)) !== 0) {
    return deny;
  }
  return { field, type: 'scalar' };
}
