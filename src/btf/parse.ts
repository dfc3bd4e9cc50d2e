// Decoding of the .BTF section: header validation and the type records, bounds-checked up front.

import { BtfError } from './errors.js';
import { StringTable } from './strings.js';
import { BTF_KINDS, BTF_LINKAGES, typeReferences, VOID_TYPE, type BtfKind, type BtfMember, type BtfType, type Enum64Value, type EnumValue, type FuncParam, type VarSecinfo } from './types.js';

/** The BTF magic number, read in the section's byte order. */
export const BTF_MAGIC = 0xeb9f;
/** The only BTF version there is. */
export const BTF_VERSION = 1;
/** Size of `struct btf_header`. */
export const BTF_HEADER_SIZE = 24;
/** Size of `struct btf_type` (name_off, info, size/type). */
export const BTF_TYPE_SIZE = 12;

/** `struct btf_header`, plus the byte order the magic revealed. */
export interface BtfHeader {
  readonly littleEndian: boolean;
  readonly version: number;
  readonly flags: number;
  /** Header length; the type and string offsets count from its end. */
  readonly hdrLen: number;
  readonly typeOff: number;
  readonly typeLen: number;
  readonly strOff: number;
  readonly strLen: number;
}

/** What `decodeBtf` extracts: the header, string table, types (index = id) and each type's offset. */
export interface DecodedBtf {
  readonly header: BtfHeader;
  readonly strings: StringTable;
  readonly types: BtfType[];
  /** Byte offset in the section of each type's record (0 for void). */
  readonly offsets: Uint32Array;
}

/** Reads and checks the header: magic (either byte order), version, lengths and section bounds. */
export function parseBtfHeader(bytes: Uint8Array): BtfHeader {
  const fail = (offset: number, detail: string): never => {
    throw new BtfError('.BTF', offset, detail);
  };
  if (bytes.length < BTF_HEADER_SIZE) fail(0, `truncated header: ${bytes.length} bytes, need ${BTF_HEADER_SIZE}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let littleEndian: boolean;
  if (view.getUint16(0, true) === BTF_MAGIC) littleEndian = true;
  else if (view.getUint16(0, false) === BTF_MAGIC) littleEndian = false;
  else return fail(0, `bad magic 0x${view.getUint16(0, false).toString(16).padStart(4, '0')} (want eb9f in either byte order)`);
  const version = view.getUint8(2);
  if (version !== BTF_VERSION) fail(2, `unsupported version ${version}`);
  const u32 = (o: number): number => view.getUint32(o, littleEndian);
  const hdrLen = u32(4);
  if (hdrLen < BTF_HEADER_SIZE) fail(4, `header length ${hdrLen} is shorter than ${BTF_HEADER_SIZE}`);
  if (hdrLen > bytes.length) fail(4, `header length ${hdrLen} exceeds the section (${bytes.length} bytes)`);
  for (let i = BTF_HEADER_SIZE; i < hdrLen; i++) if (bytes[i] !== 0) fail(i, 'unknown non-zero header field');
  const header: BtfHeader = {
    littleEndian,
    version,
    flags: view.getUint8(3),
    hdrLen,
    typeOff: u32(8),
    typeLen: u32(12),
    strOff: u32(16),
    strLen: u32(20),
  };
  const body = bytes.length - hdrLen;
  if (header.typeOff % 4 !== 0) fail(8, `type section offset ${header.typeOff} is not 4-byte aligned`);
  if (header.typeOff + header.typeLen > body)
    fail(8, `type section [${header.typeOff}, +${header.typeLen}) runs past the end (${body} bytes after the header)`);
  if (header.strOff + header.strLen > body)
    fail(16, `string section [${header.strOff}, +${header.strLen}) runs past the end (${body} bytes after the header)`);
  if (header.typeLen > 0 && header.typeOff < header.strOff + header.strLen && header.strOff < header.typeOff + header.typeLen)
    fail(8, 'type and string sections overlap');
  if (header.typeLen % 4 !== 0) fail(12, `type section length ${header.typeLen} is not a multiple of 4`);
  const strStart = hdrLen + header.strOff;
  if (header.strLen === 0) fail(20, 'empty string section');
  if (bytes[strStart] !== 0) fail(strStart, 'string section does not start with the empty string');
  if (bytes[strStart + header.strLen - 1] !== 0) fail(strStart + header.strLen - 1, 'string section is not NUL-terminated');
  return header;
}

/**
 * Bytes each kind's record carries after `struct btf_type`, by kind number: >= 0 fixed,
 * < 0 that many bytes per vlen entry.
 */
const NEEDS: readonly number[] = [0, 4, 0, 12, -12, -12, -8, 0, 0, 0, 0, 0, 0, -8, 4, -12, 0, 4, 0, -12];
const bit = (...kinds: BtfKind[]): number => kinds.reduce((m, k) => m | (1 << BTF_KINDS.indexOf(k)), 0);
/** Kinds whose vlen may be non-zero (FUNC's vlen is its linkage). */
const VLEN_KINDS = bit('struct', 'union', 'enum', 'enum64', 'func', 'func_proto', 'datasec');
/** Kinds that may set kind_flag. */
const KFLAG_KINDS = bit('struct', 'union', 'enum', 'enum64', 'fwd', 'decl_tag', 'type_tag');

/** Parses header, strings and every type record, then checks that every type reference is in range. */
export function decodeBtf(bytes: Uint8Array): DecodedBtf {
  const header = parseBtfHeader(bytes);
  const { littleEndian: le, hdrLen, typeOff, typeLen, strOff, strLen } = header;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const strings = new StringTable(bytes.subarray(hdrLen + strOff, hdrLen + strOff + strLen));
  const start = hdrLen + typeOff;
  const end = start + typeLen;
  const types: BtfType[] = [VOID_TYPE];
  const offsets: number[] = [0];

  let at = start;
  let id = 0;
  const fail = (offset: number, detail: string): never => {
    throw new BtfError('.BTF', offset, detail, id);
  };
  const str = (off: number, what: string, where: number): string => {
    const s = strings.lookup(off);
    if (s === undefined) fail(where, `${what} offset ${off} is outside the string section (${strLen} bytes)`);
    return s as string;
  };
  const u32 = (o: number): number => view.getUint32(o, le);

  while (at < end) {
    id++;
    const rec = at;
    if (end - at < BTF_TYPE_SIZE) fail(rec, `truncated type record: ${end - at} bytes left, need ${BTF_TYPE_SIZE}`);
    const nameOff = u32(at);
    const info = u32(at + 4);
    const sizeOrType = u32(at + 8);
    at += BTF_TYPE_SIZE;
    const vlen = info & 0xffff;
    const kindNum = (info >>> 24) & 0x1f;
    const kflag = info >>> 31 === 1;
    if ((info & 0x60ff0000) !== 0) fail(rec + 4, `unused info bits set (info 0x${info.toString(16)})`);
    const kind = BTF_KINDS[kindNum];
    if (kind === undefined || kind === 'void') return fail(rec + 4, `unknown kind ${kindNum}`);
    const name = str(nameOff, 'name', rec);
    // Closures are hoisted out of this loop (it runs ~10^5 times on vmlinux); checks are inline.
    const need = NEEDS[kindNum] as number;
    const extraBytes = need >= 0 ? need : -need * vlen;
    if (end - at < extraBytes) fail(rec, `${kind} needs ${extraBytes} more bytes (vlen ${vlen}) but only ${end - at} remain in the type section`);
    if (vlen !== 0 && (VLEN_KINDS & (1 << kindNum)) === 0) fail(rec + 4, `${kind} must have vlen 0, has ${vlen}`);
    if (kflag && (KFLAG_KINDS & (1 << kindNum)) === 0) fail(rec + 4, `${kind} must not have kind_flag set`);
    let t: BtfType;
    switch (kind) {
      case 'int': {
        const data = u32(at);
        at += 4;
        if ((data & 0xf800ff00) !== 0) fail(rec + BTF_TYPE_SIZE, `int data 0x${data.toString(16)} has reserved bits set`);
        const enc = (data >>> 24) & 0xf;
        t = { kind, id, name, size: sizeOrType, signed: (enc & 1) !== 0, char: (enc & 2) !== 0, bool: (enc & 4) !== 0, bitOffset: (data >>> 16) & 0xff, bits: data & 0xff };
        break;
      }
      case 'ptr':
      case 'typedef':
      case 'volatile':
      case 'const':
      case 'restrict':
        t = { kind, id, name, type: sizeOrType };
        break;
      case 'type_tag':
        t = { kind, id, name, type: sizeOrType, attribute: kflag };
        break;
      case 'array':
        t = { kind, id, name, type: u32(at), indexType: u32(at + 4), nelems: u32(at + 8) };
        at += 12;
        break;
      case 'struct':
      case 'union': {
        const members: BtfMember[] = new Array<BtfMember>(vlen);
        for (let i = 0; i < vlen; i++, at += 12) {
          const off = u32(at + 8);
          members[i] = {
            name: str(u32(at), `member ${i} name`, at),
            type: u32(at + 4),
            bitOffset: kflag ? off & 0xffffff : off,
            bitfieldSize: kflag ? off >>> 24 : 0,
          };
        }
        t = { kind, id, name, size: sizeOrType, kindFlag: kflag, members };
        break;
      }
      case 'enum': {
        const values: EnumValue[] = new Array<EnumValue>(vlen);
        for (let i = 0; i < vlen; i++, at += 8) {
          values[i] = { name: str(u32(at), `enumerator ${i} name`, at), value: kflag ? view.getInt32(at + 4, le) : u32(at + 4) };
        }
        t = { kind, id, name, size: sizeOrType, signed: kflag, values };
        break;
      }
      case 'enum64': {
        const values: Enum64Value[] = new Array<Enum64Value>(vlen);
        for (let i = 0; i < vlen; i++, at += 12) {
          const raw = (BigInt(u32(at + 8)) << 32n) | BigInt(u32(at + 4));
          values[i] = { name: str(u32(at), `enumerator ${i} name`, at), value: kflag ? BigInt.asIntN(64, raw) : raw };
        }
        t = { kind, id, name, size: sizeOrType, signed: kflag, values };
        break;
      }
      case 'fwd':
        if (sizeOrType !== 0) fail(rec + 8, `fwd must have size/type 0, has ${sizeOrType}`);
        t = { kind, id, name, fwdKind: kflag ? 'union' : 'struct' };
        break;
      case 'func': {
        const linkage = BTF_LINKAGES[vlen];
        if (linkage === undefined) return fail(rec + 4, `unknown func linkage ${vlen}`);
        t = { kind, id, name, type: sizeOrType, linkage };
        break;
      }
      case 'func_proto': {
        const params: FuncParam[] = new Array<FuncParam>(vlen);
        for (let i = 0; i < vlen; i++, at += 8) params[i] = { name: str(u32(at), `param ${i} name`, at), type: u32(at + 4) };
        t = { kind, id, name, returnType: sizeOrType, params };
        break;
      }
      case 'var': {
        const raw = u32(at);
        const linkage = BTF_LINKAGES[raw];
        if (linkage === undefined) return fail(at, `unknown var linkage ${raw}`);
        at += 4;
        t = { kind, id, name, type: sizeOrType, linkage };
        break;
      }
      case 'datasec': {
        const vars: VarSecinfo[] = new Array<VarSecinfo>(vlen);
        for (let i = 0; i < vlen; i++, at += 12) vars[i] = { type: u32(at), offset: u32(at + 4), size: u32(at + 8) };
        t = { kind, id, name, size: sizeOrType, vars };
        break;
      }
      case 'float':
        t = { kind, id, name, size: sizeOrType };
        break;
      case 'decl_tag':
        t = { kind, id, name, type: sizeOrType, componentIdx: view.getInt32(at, le), attribute: kflag };
        at += 4;
        break;
    }
    types.push(t);
    offsets.push(rec);
  }

  const offsetArray = Uint32Array.from(offsets);
  checkReferences(types, offsetArray);
  return { header, strings, types, offsets: offsetArray };
}

/** Every type id a type mentions must exist; reports the first dangling one. */
function checkReferences(types: readonly BtfType[], offsets: Uint32Array): void {
  const n = types.length;
  for (let id = 1; id < n; id++) {
    for (const ref of typeReferences(types[id] as BtfType)) {
      if (ref.id >= n) throw new BtfError('.BTF', offsets[id] as number, `${ref.what} references type ${ref.id} (only ${n - 1} types)`, id);
    }
  }
}
