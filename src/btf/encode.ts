// Marshalling BTF types back into a .BTF section (byte-identical to clang's output after a parse).

import { BtfEncodeError } from './errors.js';
import { BTF_HEADER_SIZE, BTF_MAGIC, BTF_TYPE_SIZE, BTF_VERSION } from './parse.js';
import { StringTableBuilder } from './strings.js';
import { BTF_KIND_NUMBER, BTF_LINKAGES, type BtfType, type BtfTypeInit } from './types.js';

/** Options of `encodeBtf`. */
export interface EncodeBtfOptions {
  /** Byte order of the output; default little-endian (the BPF target's usual order). */
  readonly littleEndian?: boolean;
  /**
   * String table to start from, kept verbatim so offsets into it (names, and the .BTF.ext
   * file/line/access strings) stay valid; names found in it are reused, others appended.
   */
  readonly strings?: Uint8Array;
}

type AnyType = BtfType | BtfTypeInit;

/**
 * Marshals a type table into .BTF bytes: `types[0]` is void and is not written, every other
 * entry is written in order, so its position is its id (an `id` field, if any, is ignored).
 * Throws `BtfEncodeError` for fields that do not fit their encoding.
 */
export function encodeBtf(types: readonly AnyType[], options: EncodeBtfOptions = {}): Uint8Array {
  const le = options.littleEndian ?? true;
  if (types.length > 0 && types[0]?.kind !== 'void') throw new BtfEncodeError(0, `type 0 must be void, is ${types[0]?.kind}`);
  let typeLen = 0;
  for (let id = 1; id < types.length; id++) typeLen += recordSize(types[id] as AnyType, id);

  const strings = new StringTableBuilder(options.strings);
  const typeBytes = new Uint8Array(typeLen);
  const view = new DataView(typeBytes.buffer);
  let at = 0;
  const u32 = (v: number, id: number, what: string): void => {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new BtfEncodeError(id, `${what} ${v} does not fit in 32 bits`);
    view.setUint32(at, v, le);
    at += 4;
  };
  const s32 = (v: number, id: number, what: string): void => {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new BtfEncodeError(id, `${what} ${v} does not fit in 32 bits`);
    view.setInt32(at, v, le);
    at += 4;
  };
  const head = (t: AnyType, id: number, vlen: number, kflag: boolean, sizeOrType: number): void => {
    if (!Number.isInteger(vlen) || vlen < 0 || vlen > 0xffff) throw new BtfEncodeError(id, `${t.kind} has ${vlen} entries, at most 65535 fit`);
    u32(strings.add(t.name), id, 'name offset');
    u32((((kflag ? 1 : 0) << 31) | (BTF_KIND_NUMBER[t.kind] << 24) | vlen) >>> 0, id, 'info');
    u32(sizeOrType, id, 'size/type');
  };

  for (let id = 1; id < types.length; id++) {
    const t = types[id] as AnyType;
    switch (t.kind) {
      case 'void':
        throw new BtfEncodeError(id, 'void can only be type 0');
      case 'int': {
        head(t, id, 0, false, t.size);
        if (t.bits < 0 || t.bits > 255 || t.bitOffset < 0 || t.bitOffset > 255) throw new BtfEncodeError(id, `int bits ${t.bits} / offset ${t.bitOffset} out of range 0..255`);
        const enc = (t.signed ? 1 : 0) | (t.char ? 2 : 0) | (t.bool ? 4 : 0);
        u32(((enc << 24) | (t.bitOffset << 16) | t.bits) >>> 0, id, 'int data');
        break;
      }
      case 'ptr':
      case 'typedef':
      case 'volatile':
      case 'const':
      case 'restrict':
        head(t, id, 0, false, t.type);
        break;
      case 'type_tag':
        head(t, id, 0, t.attribute, t.type);
        break;
      case 'array':
        head(t, id, 0, false, 0);
        u32(t.type, id, 'element type');
        u32(t.indexType, id, 'index type');
        u32(t.nelems, id, 'nelems');
        break;
      case 'struct':
      case 'union':
        head(t, id, t.members.length, t.kindFlag, t.size);
        for (const [i, m] of t.members.entries()) {
          u32(strings.add(m.name), id, `member ${i} name offset`);
          u32(m.type, id, `member ${i} type`);
          if (t.kindFlag) {
            if (m.bitOffset > 0xffffff || m.bitfieldSize > 0xff || m.bitfieldSize < 0)
              throw new BtfEncodeError(id, `member ${i}: bit offset ${m.bitOffset} / bitfield size ${m.bitfieldSize} do not fit kind_flag encoding`);
            u32(((m.bitfieldSize << 24) | m.bitOffset) >>> 0, id, `member ${i} offset`);
          } else {
            if (m.bitfieldSize !== 0) throw new BtfEncodeError(id, `member ${i} has a bitfield size but the ${t.kind} has no kind_flag`);
            u32(m.bitOffset, id, `member ${i} offset`);
          }
        }
        break;
      case 'enum':
        head(t, id, t.values.length, t.signed, t.size);
        for (const [i, v] of t.values.entries()) {
          u32(strings.add(v.name), id, `enumerator ${i} name offset`);
          if (t.signed) s32(v.value, id, `enumerator ${i} value`);
          else u32(v.value, id, `enumerator ${i} value`);
        }
        break;
      case 'enum64':
        head(t, id, t.values.length, t.signed, t.size);
        for (const [i, v] of t.values.entries()) {
          u32(strings.add(v.name), id, `enumerator ${i} name offset`);
          if (v.value < -(1n << 63n) || v.value >= 1n << 64n) throw new BtfEncodeError(id, `enumerator ${i} value ${v.value} does not fit in 64 bits`);
          const raw = BigInt.asUintN(64, v.value);
          u32(Number(raw & 0xffffffffn), id, 'value');
          u32(Number(raw >> 32n), id, 'value');
        }
        break;
      case 'fwd':
        head(t, id, 0, t.fwdKind === 'union', 0);
        break;
      case 'func':
        head(t, id, linkageNumber(t.linkage, id), false, t.type);
        break;
      case 'func_proto':
        head(t, id, t.params.length, false, t.returnType);
        for (const [i, p] of t.params.entries()) {
          u32(strings.add(p.name), id, `param ${i} name offset`);
          u32(p.type, id, `param ${i} type`);
        }
        break;
      case 'var':
        head(t, id, 0, false, t.type);
        u32(linkageNumber(t.linkage, id), id, 'linkage');
        break;
      case 'datasec':
        head(t, id, t.vars.length, false, t.size);
        for (const [i, v] of t.vars.entries()) {
          u32(v.type, id, `var ${i} type`);
          u32(v.offset, id, `var ${i} offset`);
          u32(v.size, id, `var ${i} size`);
        }
        break;
      case 'float':
        head(t, id, 0, false, t.size);
        break;
      case 'decl_tag':
        head(t, id, 0, t.attribute, t.type);
        s32(t.componentIdx, id, 'component_idx');
        break;
    }
  }

  const strBytes = strings.finish();
  const out = new Uint8Array(BTF_HEADER_SIZE + typeLen + strBytes.length);
  const hv = new DataView(out.buffer);
  hv.setUint16(0, BTF_MAGIC, le);
  hv.setUint8(2, BTF_VERSION);
  hv.setUint8(3, 0);
  hv.setUint32(4, BTF_HEADER_SIZE, le);
  hv.setUint32(8, 0, le);
  hv.setUint32(12, typeLen, le);
  hv.setUint32(16, typeLen, le);
  hv.setUint32(20, strBytes.length, le);
  out.set(typeBytes, BTF_HEADER_SIZE);
  out.set(strBytes, BTF_HEADER_SIZE + typeLen);
  return out;
}

/** Bytes the record of `t` takes in the type section. */
function recordSize(t: AnyType, id: number): number {
  switch (t.kind) {
    case 'int':
    case 'var':
    case 'decl_tag':
      return BTF_TYPE_SIZE + 4;
    case 'array':
      return BTF_TYPE_SIZE + 12;
    case 'struct':
    case 'union':
      return BTF_TYPE_SIZE + 12 * t.members.length;
    case 'enum':
      return BTF_TYPE_SIZE + 8 * t.values.length;
    case 'enum64':
      return BTF_TYPE_SIZE + 12 * t.values.length;
    case 'func_proto':
      return BTF_TYPE_SIZE + 8 * t.params.length;
    case 'datasec':
      return BTF_TYPE_SIZE + 12 * t.vars.length;
    case 'void':
      throw new BtfEncodeError(id, 'void can only be type 0');
    default:
      return BTF_TYPE_SIZE;
  }
}

function linkageNumber(linkage: string, id: number): number {
  const n = (BTF_LINKAGES as readonly string[]).indexOf(linkage);
  if (n < 0) throw new BtfEncodeError(id, `unknown linkage "${linkage}"`);
  return n;
}
