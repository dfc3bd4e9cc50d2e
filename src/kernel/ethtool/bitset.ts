// ethtool bit sets: compact (u32 words of values and mask) and verbose (a list of named bits) forms.
import { AttrWriter, parseAttrs, type Attrs } from '../netlink/attributes.js';
import { EthtoolReplyError } from './errors.js';
import { EthtoolBitset, EthtoolBitsetBit, EthtoolBitsetBits } from './ethtool.generated.js';

/** A decoded bit set: its size, which bits are set, and (verbose form) the names the kernel gave them. */
export interface Bitset {
  readonly size: number;
  /** Bit i set. */
  readonly values: readonly boolean[];
  /** Bit i is in the mask (all true for a list / NOMASK set). */
  readonly mask: readonly boolean[];
  /** Bit index -> name, from a verbose set's ETHTOOL_A_BITSET_BIT_NAME. */
  readonly names: ReadonlyMap<number, string>;
}

function words(bytes: Uint8Array | undefined, size: number): boolean[] {
  const out = new Array<boolean>(size).fill(false);
  if (!bytes) return out;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < size; i++) {
    const w = i >>> 5;
    if (w * 4 + 4 > bytes.length) break;
    out[i] = ((v.getUint32(w * 4, true) >>> (i & 31)) & 1) === 1;
  }
  return out;
}

/** Decodes a nested ETHTOOL_A_BITSET_* stream (either form). `what` names it in errors. */
export function decodeBitset(attrs: Attrs, what: string): Bitset {
  const nomask = attrs.has(EthtoolBitset.NOMASK);
  const bits = attrs.nested(EthtoolBitset.BITS);
  const size = attrs.u32(EthtoolBitset.SIZE);
  if (bits === undefined) {
    if (size === undefined) throw new EthtoolReplyError(what, 'bit set without ETHTOOL_A_BITSET_SIZE');
    const values = words(attrs.get(EthtoolBitset.VALUE), size);
    const mask = nomask ? new Array<boolean>(size).fill(true) : words(attrs.get(EthtoolBitset.MASK), size);
    return { size, values, mask, names: new Map() };
  }
  const names = new Map<number, string>();
  const set = new Map<number, boolean>();
  for (const [type, payload] of bits) {
    if (type !== EthtoolBitsetBits.BIT) continue;
    const b = parseAttrs(payload);
    const index = b.u32(EthtoolBitsetBit.INDEX);
    if (index === undefined) throw new EthtoolReplyError(what, 'verbose bit without an index');
    const name = b.string(EthtoolBitsetBit.NAME);
    if (name !== undefined) names.set(index, name);
    set.set(index, nomask || b.has(EthtoolBitsetBit.VALUE));
  }
  const n = size ?? Math.max(0, ...[...set.keys()].map((i) => i + 1));
  const values = new Array<boolean>(n).fill(false);
  const mask = new Array<boolean>(n).fill(nomask);
  for (const [i, v] of set) {
    values[i] = v;
    mask[i] = true;
  }
  return { size: n, values, mask, names };
}

/**
 * Writes a verbose bit set of named bits at attribute `type`: each listed name is in the mask,
 * with ETHTOOL_A_BITSET_BIT_VALUE when it is to be on. Bits not listed are left alone.
 */
export function writeNamedBits(w: AttrWriter, type: number, bits: ReadonlyMap<string, boolean>): AttrWriter {
  return w.nested(type, (bs) => {
    bs.nested(EthtoolBitset.BITS, (list) => {
      for (const [name, on] of bits) {
        list.nested(EthtoolBitsetBits.BIT, (b) => {
          b.string(EthtoolBitsetBit.NAME, name);
          if (on) b.flag(EthtoolBitsetBit.VALUE);
        });
      }
    });
  });
}

/** Encodes a compact bit set (for tests and for requests that take one). */
export function encodeCompactBitset(values: readonly boolean[], mask?: readonly boolean[]): Uint8Array {
  const n = values.length;
  const pack = (bits: readonly boolean[]) => {
    const out = new Uint8Array(Math.ceil(n / 32) * 4);
    const v = new DataView(out.buffer);
    bits.forEach((on, i) => {
      if (on) v.setUint32((i >>> 5) * 4, (v.getUint32((i >>> 5) * 4, true) | (1 << (i & 31))) >>> 0, true);
    });
    return out;
  };
  const w = new AttrWriter();
  if (!mask) w.flag(EthtoolBitset.NOMASK);
  w.u32(EthtoolBitset.SIZE, n).bytes(EthtoolBitset.VALUE, pack(values));
  if (mask) w.bytes(EthtoolBitset.MASK, pack(mask));
  return w.finish();
}
