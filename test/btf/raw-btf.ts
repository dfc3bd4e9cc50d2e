// Test-side assembler of raw .BTF / .BTF.ext bytes, independent of src/btf's encoder.

/** Kind numbers from include/uapi/linux/btf.h, written out again on purpose (not imported). */
export const K = {
  INT: 1,
  PTR: 2,
  ARRAY: 3,
  STRUCT: 4,
  UNION: 5,
  ENUM: 6,
  FWD: 7,
  TYPEDEF: 8,
  VOLATILE: 9,
  CONST: 10,
  RESTRICT: 11,
  FUNC: 12,
  FUNC_PROTO: 13,
  VAR: 14,
  DATASEC: 15,
  FLOAT: 16,
  DECL_TAG: 17,
  TYPE_TAG: 18,
  ENUM64: 19,
} as const;

/** Builds .BTF bytes word by word: each type is its 3-word header plus trailing u32 words. */
export class RawBtf {
  private readonly strs: string[] = [''];
  private readonly strOff = new Map<string, number>([['', 0]]);
  private strLen = 1;
  /** Type records, each a list of u32 words. */
  readonly records: number[][] = [];

  /** Offset of `s` in the string table (added on first use). */
  s(s: string): number {
    const known = this.strOff.get(s);
    if (known !== undefined) return known;
    const off = this.strLen;
    this.strs.push(s);
    this.strOff.set(s, off);
    this.strLen += new TextEncoder().encode(s).length + 1;
    return off;
  }

  /** Appends a type; returns its id. `extra` words may be negative (written as s32). */
  type(name: string, kind: number, vlen: number, kflag: boolean, sizeOrType: number, ...extra: number[]): number {
    const info = ((kflag ? 0x80000000 : 0) | (kind << 24) | vlen) >>> 0;
    this.records.push([this.s(name), info, sizeOrType, ...extra]);
    return this.records.length;
  }

  /** The section bytes. `patch` may edit the header words before they are written. */
  bytes(le = true, patch?: (hdr: { hdrLen: number; typeOff: number; typeLen: number; strOff: number; strLen: number }) => void): Uint8Array {
    const words = this.records.flat();
    const typeLen = words.length * 4;
    const strBytes = new TextEncoder().encode(this.strs.map((s) => `${s}\0`).join(''));
    const hdr = { hdrLen: 24, typeOff: 0, typeLen, strOff: typeLen, strLen: strBytes.length };
    patch?.(hdr);
    const out = new Uint8Array(24 + typeLen + strBytes.length);
    const v = new DataView(out.buffer);
    v.setUint16(0, 0xeb9f, le);
    v.setUint8(2, 1);
    v.setUint32(4, hdr.hdrLen, le);
    v.setUint32(8, hdr.typeOff, le);
    v.setUint32(12, hdr.typeLen, le);
    v.setUint32(16, hdr.strOff, le);
    v.setUint32(20, hdr.strLen, le);
    words.forEach((w, i) => v.setUint32(24 + i * 4, w >>> 0, le));
    out.set(strBytes, 24 + typeLen);
    return out;
  }
}

/** One .BTF.ext subsection: record size and `{ section name offset, records (as u32 words) }` blocks. */
export interface RawExtSub {
  recSize: number;
  sections: Array<{ nameOff: number; records: number[][]; numInfo?: number }>;
}

/** Builds .BTF.ext bytes with a 32-byte header (func info, line info, CO-RE relocations). */
export function rawBtfExt(subs: { func?: RawExtSub; line?: RawExtSub; core?: RawExtSub }, le = true, hdrLen = 32): Uint8Array {
  const encodeSub = (sub: RawExtSub | undefined): number[] => {
    if (!sub) return [];
    const words = [sub.recSize];
    for (const sec of sub.sections) {
      words.push(sec.nameOff, sec.numInfo ?? sec.records.length);
      for (const r of sec.records) {
        const padded = [...r];
        while (padded.length * 4 < sub.recSize) padded.push(0xdeadbeef); // unknown tail bytes
        words.push(...padded);
      }
    }
    return words;
  };
  const f = encodeSub(subs.func);
  const l = encodeSub(subs.line);
  const c = encodeSub(subs.core);
  const body = [...f, ...l, ...c];
  const out = new Uint8Array(hdrLen + body.length * 4);
  const v = new DataView(out.buffer);
  v.setUint16(0, 0xeb9f, le);
  v.setUint8(2, 1);
  v.setUint32(4, hdrLen, le);
  v.setUint32(8, 0, le);
  v.setUint32(12, f.length * 4, le);
  v.setUint32(16, f.length * 4, le);
  v.setUint32(20, l.length * 4, le);
  if (hdrLen >= 32) {
    v.setUint32(24, (f.length + l.length) * 4, le);
    v.setUint32(28, c.length * 4, le);
  }
  body.forEach((w, i) => v.setUint32(hdrLen + i * 4, w >>> 0, le));
  return out;
}
