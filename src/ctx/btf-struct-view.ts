// Kernel structs a program reads through a BTF pointer, laid out as the object's BTF declares them, their modelled fields served live and every other field faulting, named.
//
// bpf_cast_to_kern_ctx's struct sk_buff / xdp_buff and the netfilter context's struct sk_buff,
// net_device and friends are read by plain loads at the offsets the program was compiled with
// (CO-RE against its own BTF: the runtime runs programs as compiled). A view is a read-only
// region whose loads are computed from a table of getters, one per modelled member (anonymous
// members flattened, bitfields packed at their bit offsets); a load touching a member without a
// getter throws KernCtxFieldError naming it (a bitfield without one reads 0: the flags no model
// sets are clear in a test run), and a load that covers only padding reads 0.
import type { Btf } from '../btf/index.js';
import { resolveSize } from '../btf/resolve.js';
import type { CompositeType } from '../btf/types.js';
import { BpfkitError, type BpfkitErrorOptions } from '../errors.js';
import type { AddressSpace, Region } from '../vm/address-space.js';

/** A load of a kernel struct field the runtime does not model. */
export class KernCtxFieldError extends BpfkitError {
  constructor(
    /** The kernel struct (`sk_buff`, `xdp_buff`, `net_device`). */
    readonly struct: string,
    /** The field (or fields) the load covers. */
    readonly field: string,
    /** Byte offset of the load in the struct. */
    readonly offset: number,
    /** How the program got the pointer (for the message). */
    via = 'bpf_cast_to_kern_ctx',
    options?: BpfkitErrorOptions,
  ) {
    super('ERR_KERN_CTX_FIELD', `struct ${struct} field ${field} (offset ${offset}), read through ${via}, is not modelled in userspace (a kernel object with no userspace meaning)`, options);
  }
}

/** One leaf member of a struct with anonymous members flattened: absolute bit offset and width. */
export interface StructLeaf {
  readonly name: string;
  readonly bitOffset: number;
  /** Width in bits (bitfields) or bytes * 8. */
  readonly bits: number;
  readonly bitfield: boolean;
}

/** A struct's size and leaves. */
export interface StructLayout {
  readonly size: number;
  readonly leaves: readonly StructLeaf[];
}

function leaves(btf: Btf, t: CompositeType<'struct' | 'union'>, base: number, out: StructLeaf[]): void {
  for (const m of t.members) {
    const at = base + m.bitOffset;
    if (m.name === '') {
      let inner = btf.typeById(m.type);
      while (inner.kind === 'typedef' || inner.kind === 'const' || inner.kind === 'volatile') inner = btf.typeById(inner.type);
      if (inner.kind === 'struct' || inner.kind === 'union') leaves(btf, inner, at, out);
      continue;
    }
    const bits = m.bitfieldSize || resolveSize(btf, m.type) * 8;
    out.push({ name: m.name, bitOffset: at, bits, bitfield: m.bitfieldSize > 0 });
  }
}

/** The object's view of struct `name` (or a flavour `name___x`; the one with most members), or undefined when its BTF has none. */
export function structLayout(btf: Btf | undefined, name: string): StructLayout | undefined {
  if (!btf) return undefined;
  const re = new RegExp(`^${name}(___\\w+)?$`);
  let best: StructLayout | undefined;
  for (let id = 1; ; id++) {
    let t;
    try {
      t = btf.typeById(id);
    } catch {
      return best;
    }
    if (t.kind !== 'struct' || !re.test(t.name) || t.members.length === 0) continue;
    const out: StructLeaf[] = [];
    leaves(btf, t, 0, out);
    if (!best || out.length > best.leaves.length) best = { size: t.size, leaves: out };
  }
}

/** A modelled member's current value. */
export type FieldGetter = () => number | bigint;

/**
 * Adds a read-only region of `layout.size` bytes named `struct` whose loads are served from
 * `fields()` (asked at every load, so it may follow a context that changes); see the file comment.
 */
export function structView(space: AddressSpace, struct: string, layout: StructLayout, fields: () => Readonly<Record<string, FieldGetter>>, via?: string): Region {
  const region = space.addRegion(`kern:${struct}`, Math.max(layout.size, 1), { kind: 'other', writable: false });
  const image = new Uint8Array(8);
  space.setLoadHook(region, (offset, size, out) => {
    const table = fields();
    const lo = offset * 8;
    const hi = (offset + size) * 8;
    image.fill(0);
    for (const leaf of layout.leaves) {
      if (leaf.bitOffset >= hi || leaf.bitOffset + leaf.bits <= lo) continue;
      const get = table[leaf.name];
      if (!get) {
        if (leaf.bitfield) continue;
        throw new KernCtxFieldError(struct, leaf.name, offset, via);
      }
      const value = BigInt.asUintN(leaf.bits, BigInt(get()));
      for (let bit = 0; bit < leaf.bits; bit++) {
        const at = leaf.bitOffset + bit;
        if (at < lo || at >= hi || ((value >> BigInt(bit)) & 1n) === 0n) continue;
        image[(at - lo) >> 3]! |= 1 << ((at - lo) & 7);
      }
    }
    const dv = new DataView(image.buffer);
    out[0] = dv.getInt32(0, true);
    out[1] = size === 8 ? dv.getInt32(4, true) : 0;
    if (size === 1) out[0] = image[0]!;
    else if (size === 2) out[0] = dv.getUint16(0, true);
    return true;
  });
  return region;
}
