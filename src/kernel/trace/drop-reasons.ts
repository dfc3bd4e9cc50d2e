// Names of the kernel's packet drop reasons, from `enum skb_drop_reason` in its BTF, without the SKB_DROP_REASON_ prefix.
import type { Btf } from '../../btf/index.js';

const PREFIX = 'SKB_DROP_REASON_';

/** Drop reason code -> name (`2` -> `'NOT_SPECIFIED'`, `3` -> `'NO_SOCKET'`); empty when the BTF has no such enum. */
export function dropReasonNames(btf: Btf): Map<number, string> {
  const out = new Map<number, string>();
  const e = btf.typesByName('skb_drop_reason').find((t) => t.kind === 'enum');
  if (!e || e.kind !== 'enum') return out;
  for (const v of e.values) {
    if (out.has(v.value)) continue;
    out.set(v.value, v.name.startsWith(PREFIX) ? v.name.slice(PREFIX.length) : v.name);
  }
  return out;
}

/** The code of reason `name` (with or without the prefix), or undefined. */
export function dropReasonCode(names: ReadonlyMap<number, string>, name: string): number | undefined {
  const bare = name.startsWith(PREFIX) ? name.slice(PREFIX.length) : name;
  for (const [code, n] of names) if (n === bare) return code;
  return undefined;
}
