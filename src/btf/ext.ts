// The .BTF.ext section: func info, line info and CO-RE relocations, grouped by ELF section name.

import type { Btf } from './btf.js';
import { BtfError } from './errors.js';
import { BTF_MAGIC, BTF_VERSION } from './parse.js';

/** Size of the .BTF.ext header up to the line info fields (`struct btf_ext_header` without CO-RE). */
export const BTF_EXT_HEADER_MIN_SIZE = 24;
/** Size of the header including `core_relo_off/len`. */
export const BTF_EXT_HEADER_CORE_SIZE = 32;

/** `enum bpf_core_relo_kind`, index = value. */
export const CORE_RELO_KINDS = [
  'BPF_CORE_FIELD_BYTE_OFFSET',
  'BPF_CORE_FIELD_BYTE_SIZE',
  'BPF_CORE_FIELD_EXISTS',
  'BPF_CORE_FIELD_SIGNED',
  'BPF_CORE_FIELD_LSHIFT_U64',
  'BPF_CORE_FIELD_RSHIFT_U64',
  'BPF_CORE_TYPE_ID_LOCAL',
  'BPF_CORE_TYPE_ID_TARGET',
  'BPF_CORE_TYPE_EXISTS',
  'BPF_CORE_TYPE_SIZE',
  'BPF_CORE_ENUMVAL_EXISTS',
  'BPF_CORE_ENUMVAL_VALUE',
  'BPF_CORE_TYPE_MATCHES',
] as const;

/** A CO-RE relocation kind, as named in `enum bpf_core_relo_kind`. */
export type CoreReloKind = (typeof CORE_RELO_KINDS)[number];

/** `struct btf_ext_header`; CO-RE fields are 0 when the header is too short to have them. */
export interface BtfExtHeader {
  readonly littleEndian: boolean;
  readonly version: number;
  readonly flags: number;
  readonly hdrLen: number;
  readonly funcInfoOff: number;
  readonly funcInfoLen: number;
  readonly lineInfoOff: number;
  readonly lineInfoLen: number;
  readonly coreReloOff: number;
  readonly coreReloLen: number;
}

/** `struct bpf_func_info`: the FUNC type of the function starting at `insnOff`. */
export interface FuncInfo {
  /** Byte offset of the first instruction in the ELF section (divide by 8 for an index). */
  readonly insnOff: number;
  /** Id of the BTF FUNC type. */
  readonly typeId: number;
}

/** `struct bpf_line_info`, with its strings resolved. */
export interface LineInfo {
  /** Byte offset of the instruction in the ELF section. */
  readonly insnOff: number;
  /** Source file name as the compiler recorded it. */
  readonly fileName: string;
  /** The source line's text. */
  readonly line: string;
  /** 1-based line number (`line_col >> 10`). */
  readonly lineNumber: number;
  /** Column (`line_col & 0x3ff`), 0 when unknown. */
  readonly column: number;
}

/** `struct bpf_core_relo`: one CO-RE relocation. */
export interface CoreRelo {
  /** Byte offset of the relocated instruction in the ELF section. */
  readonly insnOff: number;
  /** Root type id in the local (.BTF) type table. */
  readonly typeId: number;
  /** Access string, e.g. `0:1:2` (field path) or `0` (type / enumerator). */
  readonly accessString: string;
  /** Relocation kind. */
  readonly kind: CoreReloKind;
}

/** Record sizes the section declared (records may be larger than the fields bpfkit reads). */
export interface BtfExtRecordSizes {
  readonly funcInfo: number;
  readonly lineInfo: number;
  readonly coreRelo: number;
}

/**
 * A parsed .BTF.ext: per ELF section name (`xdp`, `.text`, `tc/ingress`...), the func info,
 * line info and CO-RE relocation records in file order.
 */
export class BtfExt {
  private sortedLines = new Map<string, readonly LineInfo[]>();

  constructor(
    /** The header. */
    readonly header: BtfExtHeader,
    /** Func info per section. */
    readonly funcInfos: ReadonlyMap<string, readonly FuncInfo[]>,
    /** Line info per section. */
    readonly lineInfos: ReadonlyMap<string, readonly LineInfo[]>,
    /** CO-RE relocations per section. */
    readonly coreRelos: ReadonlyMap<string, readonly CoreRelo[]>,
    /** Declared record sizes (0 for an absent subsection). */
    readonly recordSizes: BtfExtRecordSizes,
  ) {}

  /** The line info in effect at byte offset `insnOff` of `section`: the last record at or before it. */
  lineAt(section: string, insnOff: number): LineInfo | undefined {
    let lines = this.sortedLines.get(section);
    if (!lines) {
      lines = [...(this.lineInfos.get(section) ?? [])].sort((a, b) => a.insnOff - b.insnOff);
      this.sortedLines.set(section, lines);
    }
    let lo = 0;
    let hi = lines.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((lines[mid] as LineInfo).insnOff <= insnOff) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? undefined : lines[lo - 1];
  }
}

/**
 * Parses a .BTF.ext section against its .BTF (which holds the section names, file names,
 * source lines and access strings). Honours each subsection's record size, skipping unknown
 * tail bytes. Throws `BtfError` with section `.BTF.ext` on malformed input.
 */
export function parseBtfExt(bytes: Uint8Array, btf: Btf): BtfExt {
  let context = ''; // `section "xdp" record 3: ` while records are read
  const fail = (offset: number, detail: string): never => {
    throw new BtfError('.BTF.ext', offset, `${context}${detail}`);
  };
  if (bytes.length < 8) fail(0, `truncated header: ${bytes.length} bytes, need at least 8`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let le: boolean;
  if (view.getUint16(0, true) === BTF_MAGIC) le = true;
  else if (view.getUint16(0, false) === BTF_MAGIC) le = false;
  else return fail(0, `bad magic 0x${view.getUint16(0, false).toString(16).padStart(4, '0')} (want eb9f in either byte order)`);
  const version = view.getUint8(2);
  if (version !== BTF_VERSION) fail(2, `unsupported version ${version}`);
  const u32 = (o: number): number => view.getUint32(o, le);
  const hdrLen = u32(4);
  if (hdrLen < BTF_EXT_HEADER_MIN_SIZE) fail(4, `header length ${hdrLen} is shorter than ${BTF_EXT_HEADER_MIN_SIZE}`);
  if (hdrLen > bytes.length) fail(4, `header length ${hdrLen} exceeds the section (${bytes.length} bytes)`);
  const hasCore = hdrLen >= BTF_EXT_HEADER_CORE_SIZE;
  const header: BtfExtHeader = {
    littleEndian: le,
    version,
    flags: view.getUint8(3),
    hdrLen,
    funcInfoOff: u32(8),
    funcInfoLen: u32(12),
    lineInfoOff: u32(16),
    lineInfoLen: u32(20),
    coreReloOff: hasCore ? u32(24) : 0,
    coreReloLen: hasCore ? u32(28) : 0,
  };

  const str = (off: number, what: string, where: number): string => {
    const s = btf.strings.lookup(off);
    if (s === undefined) fail(where, `${what} offset ${off} is outside the .BTF string section (${btf.strings.length} bytes)`);
    return s as string;
  };
  const typeRef = (id: number, what: string, where: number): number => {
    if (id >= btf.types.length) fail(where, `${what} references type ${id} (only ${btf.types.length - 1} types)`);
    return id;
  };

  /** Walks one subsection: `rec_size`, then `{ sec_name_off, num_info, records[] }` blocks. */
  const subsection = <T>(name: string, off: number, len: number, minRec: number, headerField: number, read: (at: number, i: number) => T) => {
    const out = new Map<string, T[]>();
    if (len === 0) return { out, recSize: 0 };
    const start = hdrLen + off;
    if (start + len > bytes.length) fail(headerField, `${name} [${off}, +${len}) runs past the end (${bytes.length - hdrLen} bytes after the header)`);
    if (len < 4) fail(start, `${name} is ${len} bytes, too short for its record size`);
    const recSize = u32(start);
    if (recSize < minRec) fail(start, `${name} record size ${recSize} is smaller than ${minRec}`);
    if (recSize % 4 !== 0) fail(start, `${name} record size ${recSize} is not a multiple of 4`);
    const end = start + len;
    let at = start + 4;
    while (at < end) {
      if (end - at < 8) fail(at, `${name}: truncated section header (${end - at} bytes left, need 8)`);
      const secName = str(u32(at), `${name} section name`, at);
      const num = u32(at + 4);
      if (num === 0) fail(at + 4, `${name} for section "${secName}" has no records`);
      at += 8;
      if (num * recSize > end - at) fail(at - 4, `${name} for section "${secName}": ${num} records of ${recSize} bytes exceed the ${end - at} bytes left`);
      let list = out.get(secName);
      if (!list) out.set(secName, (list = []));
      for (let i = 0; i < num; i++, at += recSize) {
        context = `section "${secName}" record ${i}: `;
        list.push(read(at, i));
      }
      context = '';
    }
    return { out, recSize };
  };

  const funcs = subsection('func info', header.funcInfoOff, header.funcInfoLen, 8, 8, (at): FuncInfo => ({
    insnOff: u32(at),
    typeId: typeRef(u32(at + 4), 'func info', at + 4),
  }));
  const lines = subsection('line info', header.lineInfoOff, header.lineInfoLen, 16, 16, (at): LineInfo => {
    const lineCol = u32(at + 12);
    return {
      insnOff: u32(at),
      fileName: str(u32(at + 4), 'file name', at + 4),
      line: str(u32(at + 8), 'line', at + 8),
      lineNumber: lineCol >>> 10,
      column: lineCol & 0x3ff,
    };
  });
  const relos = subsection('CO-RE relocations', header.coreReloOff, header.coreReloLen, 16, 24, (at): CoreRelo => {
    const kindNum = u32(at + 12);
    const kind = CORE_RELO_KINDS[kindNum];
    if (kind === undefined) fail(at + 12, `unknown CO-RE relocation kind ${kindNum}`);
    return {
      insnOff: u32(at),
      typeId: typeRef(u32(at + 4), 'CO-RE relocation', at + 4),
      accessString: str(u32(at + 8), 'access string', at + 8),
      kind: kind as CoreReloKind,
    };
  });
  return new BtfExt(header, funcs.out, lines.out, relos.out, { funcInfo: funcs.recSize, lineInfo: lines.recSize, coreRelo: relos.recSize });
}
