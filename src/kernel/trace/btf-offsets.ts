// Byte offsets of kernel struct members from BTF (looking through anonymous members), for programs built at run time.
import type { Btf, BtfType } from '../../btf/index.js';
import { BpfkitError } from '../../errors.js';

/** A struct or member the running kernel's BTF lacks. */
export class KernelTypeError extends BpfkitError {
  constructor(
    /** `'struct sk_buff'`, `'sk_buff.dev'`. */
    readonly what: string,
  ) {
    super('ERR_KERNEL_TYPE', `the kernel's BTF has no ${what}`);
  }
}

function composite(btf: Btf, id: number): (BtfType & { kind: 'struct' | 'union' }) | undefined {
  const t = btf.skipTypedefs(btf.skipQualifiers(id).id);
  return t.kind === 'struct' || t.kind === 'union' ? (t as BtfType & { kind: 'struct' | 'union' }) : undefined;
}

function find(btf: Btf, t: BtfType & { kind: 'struct' | 'union' }, name: string): { bitOffset: number; type: number } | undefined {
  for (const m of t.members) {
    if (m.name === name) return { bitOffset: m.bitOffset, type: m.type };
    if (m.name === '') {
      const inner = composite(btf, m.type);
      const hit = inner && find(btf, inner, name);
      if (hit) return { bitOffset: m.bitOffset + hit.bitOffset, type: hit.type };
    }
  }
  return undefined;
}

/** Offset in bytes and size of `struct <struct>.<member>` (anonymous unions/structs looked through). */
export function memberOffset(btf: Btf, struct: string, member: string): { offset: number; size: number } {
  const s = btf.typesByName(struct).find((t) => t.kind === 'struct');
  if (!s || s.kind !== 'struct') throw new KernelTypeError(`struct ${struct}`);
  const hit = find(btf, s, member);
  if (!hit || hit.bitOffset % 8 !== 0) throw new KernelTypeError(`${struct}.${member}`);
  return { offset: hit.bitOffset / 8, size: btf.resolveSize(hit.type) };
}

/**
 * The parameter names of raw tracepoint `name` (`btf_trace_<name>`: a pointer to a prototype
 * whose first parameter is the tracepoint's `void *__data`, left out): `['skb', 'location', 'reason', 'rx_sk']`.
 */
export function rawTracepointArgs(btf: Btf, name: string): { name: string; type: string }[] {
  const td = btf.typesByName(`btf_trace_${name}`).find((t) => t.kind === 'typedef');
  if (!td || td.kind !== 'typedef') throw new KernelTypeError(`raw tracepoint ${name} (typedef btf_trace_${name})`);
  const ptr = btf.typeById(td.type);
  const proto = ptr.kind === 'ptr' ? btf.typeById(ptr.type) : undefined;
  if (!proto || proto.kind !== 'func_proto') throw new KernelTypeError(`prototype of raw tracepoint ${name}`);
  return proto.params.slice(1).map((p) => ({ name: p.name, type: btf.format(p.type) }));
}
