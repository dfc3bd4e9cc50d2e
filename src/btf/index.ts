// Public surface of the BTF module: parse, inspect, modify and marshal .BTF and .BTF.ext.

export { Btf, parseBtf } from './btf.js';
export { BtfBuilder, type BtfBuilderOptions } from './builder.js';
export { encodeBtf, type EncodeBtfOptions } from './encode.js';
export { BtfEncodeError, BtfError, BtfNotFoundError, BtfUnsizedTypeError, type BtfSection } from './errors.js';
export {
  BTF_EXT_HEADER_CORE_SIZE,
  BTF_EXT_HEADER_MIN_SIZE,
  BtfExt,
  CORE_RELO_KINDS,
  parseBtfExt,
  type BtfExtHeader,
  type BtfExtRecordSizes,
  type CoreRelo,
  type CoreReloKind,
  type FuncInfo,
  type LineInfo,
} from './ext.js';
export { dumpBtfC, type CDumpSource, type DumpBtfCOptions } from './dump-c.js';
export { dumpBtfRaw, type DumpBtfRawOptions, type RawDumpSource } from './dump-raw.js';
export { formatType } from './format.js';
export { bpftoolTypeSignature } from './func-signature.js';
export { BpftoolJsonWriter } from './json-writer.js';
export { BtfValueFormatError, ExactInt, formatBtfValue, stringifyFormatted, writeBtfValue, type Formatted, type ValueBtf, type ValueFormatMode } from './value-format.js';
export { BTF_HEADER_SIZE, BTF_MAGIC, BTF_TYPE_SIZE, BTF_VERSION, parseBtfHeader, type BtfHeader } from './parse.js';
export { POINTER_SIZE, resolveSize, skipQualifiers, skipTypedefs, type TypeTable } from './resolve.js';
export { StringTable, StringTableBuilder } from './strings.js';
export * from './types.js';
