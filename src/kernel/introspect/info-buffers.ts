// The variable-length parts of bpf_prog_info and bpf_btf_info: xlated and jited code, func info, raw BTF.
import { BTF_INFO, OBJ_INFO_ATTR, PROG_INFO } from '../bpf-attr.generated.js';
import { BpfCmd } from '../bpf/constants.js';
import type { Fd } from '../fd.js';
import type { StructLayout } from '../layout.js';
import { StructReader, StructWriter } from '../struct-codec.js';

function getInfo<L extends StructLayout>(fd: Fd, layout: L, info: StructWriter<L>): StructReader<L> {
  const attr = new StructWriter(OBJ_INFO_ATTR).u32('bpf_fd', fd.raw).u32('info_len', info.bytes.length).ptr('info', info.bytes, 'inout', info.pointers);
  fd.sys.bpf(BpfCmd.OBJ_GET_INFO_BY_FD, attr.bytes, attr.pointers);
  return new StructReader(layout, info.bytes);
}

/** A program's code as the kernel holds it. */
export interface ProgramCode {
  /** Translated instructions (map fds replaced by map ids in the dump form), raw bytes. */
  readonly xlated: Uint8Array;
  /** JIT-compiled machine code (empty without JIT or without permission). */
  readonly jited: Uint8Array;
  /** Byte length of each JITed function (entry first). */
  readonly jitedFuncLens: readonly number[];
  /** `struct bpf_func_info` records: [instruction offset, BTF type id] per function. */
  readonly funcInfo: readonly { readonly insnOff: number; readonly typeId: number }[];
  /** The program's BTF id (0 if none). */
  readonly btfId: number;
}

/** Fetches a program's xlated and jited code and func info (two BPF_OBJ_GET_INFO_BY_FD calls). */
export function programCode(fd: Fd<'prog'>): ProgramCode {
  const first = getInfo(fd, PROG_INFO, new StructWriter(PROG_INFO));
  const xlated = new Uint8Array(first.u32('xlated_prog_len'));
  const jited = new Uint8Array(first.u32('jited_prog_len'));
  const nFuncs = first.u32('nr_jited_func_lens');
  const nFuncInfo = first.u32('nr_func_info');
  const recSize = first.u32('func_info_rec_size') || 8;
  const funcLens = new Uint8Array(nFuncs * 4);
  const funcInfo = new Uint8Array(nFuncInfo * recSize);
  const w = new StructWriter(PROG_INFO);
  if (xlated.length) w.u32('xlated_prog_len', xlated.length).ptr('xlated_prog_insns', xlated, 'out');
  if (jited.length) w.u32('jited_prog_len', jited.length).ptr('jited_prog_insns', jited, 'out');
  if (nFuncs) w.u32('nr_jited_func_lens', nFuncs).ptr('jited_func_lens', funcLens, 'out');
  if (nFuncInfo) w.u32('nr_func_info', nFuncInfo).u32('func_info_rec_size', recSize).ptr('func_info', funcInfo, 'out');
  const r = getInfo(fd, PROG_INFO, w);
  const lens = new DataView(funcLens.buffer);
  const fi = new DataView(funcInfo.buffer);
  return {
    xlated: xlated.subarray(0, Math.min(xlated.length, r.u32('xlated_prog_len'))),
    jited: jited.subarray(0, Math.min(jited.length, r.u32('jited_prog_len'))),
    jitedFuncLens: Array.from({ length: nFuncs }, (_, i) => lens.getUint32(i * 4, true)),
    funcInfo: Array.from({ length: nFuncInfo }, (_, i) => ({ insnOff: fi.getUint32(i * recSize, true), typeId: fi.getUint32(i * recSize + 4, true) })),
    btfId: r.u32('btf_id'),
  };
}

/** The raw bytes of a loaded BTF object (to parse with `parseBtf`). */
export function rawBtf(fd: Fd<'btf'>): Uint8Array {
  const first = getInfo(fd, BTF_INFO, new StructWriter(BTF_INFO));
  const buf = new Uint8Array(first.u32('btf_size'));
  getInfo(fd, BTF_INFO, new StructWriter(BTF_INFO).u32('btf_size', buf.length).ptr('btf', buf, 'out'));
  return buf;
}
