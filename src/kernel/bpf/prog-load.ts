// BPF_PROG_LOAD: load instructions into the kernel, capturing the verifier log on rejection.
import { PROG_LOAD_ATTR } from '../bpf-attr.generated.js';
import { Fd } from '../fd.js';
import { KernelError } from '../kernel-error.js';
import { StructReader, StructWriter, cString } from '../struct-codec.js';
import type { Sys } from '../sys.js';
import { BpfCmd, bpfCmdName } from './constants.js';
import { InvalidArgumentError } from './input-errors.js';
import { checkObjectName } from './object-name.js';
import { loadWithLog, type LogOptions } from './verifier-log.js';

/** BTF `func_info` / `line_info` records: their raw bytes and the size of one record. */
export interface BtfExtRecords {
  /** Size of one record in bytes (`struct bpf_func_info`: 8, `bpf_line_info`: 16). */
  recordSize: number;
  /** The records, back to back. */
  data: Uint8Array;
}

/** What BPF_PROG_LOAD needs to load a program. */
export interface ProgramLoadOptions extends LogOptions {
  /** `enum bpf_prog_type` (ProgType.XDP...). */
  type: number;
  /** Encoded instructions, 8 bytes each (lddw takes 16). */
  insns: Uint8Array;
  /** License string; GPL-only helpers need a GPL-compatible one. */
  license: string;
  /** Name shown by bpftool, at most 15 characters of [A-Za-z0-9_.]. */
  name?: string;
  /** `enum bpf_attach_type` the program will be attached with, where the type needs it. */
  expectedAttachType?: number;
  /** `prog_flags` (BPF_F_STRICT_ALIGNMENT, BPF_F_XDP_HAS_FRAGS...). */
  flags?: number;
  /** Kernel version, for kprobes on old kernels. */
  kernVersion?: number;
  /** Interface index, for offloaded programs. */
  ifindex?: number;
  /** BTF the program's func/line info refers to. */
  btf?: Fd<'btf'>;
  /** `struct bpf_func_info` records. */
  funcInfo?: BtfExtRecords;
  /** `struct bpf_line_info` records. */
  lineInfo?: BtfExtRecords;
  /** BTF id of the attach target (fentry, struct_ops...). */
  attachBtfId?: number;
  /** Program the new one attaches to (freplace), or BTF object of the target. */
  attachProgFd?: Fd<'prog'> | Fd<'btf'>;
}

/** A loaded program: its fd, and the verifier log when one was requested (logLevel > 0). */
export class ProgFd extends Fd<'prog'> {
  /** The verifier log of the successful load; empty unless `logLevel` > 0. */
  readonly verifierLog: string;

  /** Takes ownership of `raw`, a program fd `sys` returned. */
  constructor(sys: Sys, raw: number, verifierLog = '') {
    super(sys, raw, 'prog');
    this.verifierLog = verifierLog;
  }
}

/**
 * Loads a program. A verifier rejection throws a {@link VerifierError} with the whole log (the
 * load is retried with a log if the first try had none, and with a larger buffer while the log
 * does not fit); other failures throw a KernelError.
 */
export function loadProgram(sys: Sys, options: ProgramLoadOptions): ProgFd {
  const { insns } = options;
  if (insns.length === 0 || insns.length % 8 !== 0) {
    throw new InvalidArgumentError('instructions', `${insns.length} bytes is not a non-empty multiple of 8`);
  }
  const name = options.name ? checkObjectName('program name', options.name) : undefined;
  const license = cString(options.license);
  const op = `bpf(${bpfCmdName(BpfCmd.PROG_LOAD)})`;
  const { result, log } = loadWithLog(op, options, (logLevel, logBuf) => {
    const attr = new StructWriter(PROG_LOAD_ATTR)
      .u32('prog_type', options.type)
      .u32('insn_cnt', insns.length / 8)
      .ptr('insns', insns)
      .ptr('license', license)
      .u32('prog_flags', options.flags ?? 0)
      .u32('expected_attach_type', options.expectedAttachType ?? 0);
    if (name) attr.cstring('prog_name', name);
    if (options.kernVersion) attr.u32('kern_version', options.kernVersion);
    if (options.ifindex) attr.u32('prog_ifindex', options.ifindex);
    if (options.btf) attr.u32('prog_btf_fd', options.btf.raw);
    if (options.funcInfo) {
      attr.u32('func_info_rec_size', options.funcInfo.recordSize).ptr('func_info', options.funcInfo.data);
      attr.u32('func_info_cnt', options.funcInfo.data.length / options.funcInfo.recordSize);
    }
    if (options.lineInfo) {
      attr.u32('line_info_rec_size', options.lineInfo.recordSize).ptr('line_info', options.lineInfo.data);
      attr.u32('line_info_cnt', options.lineInfo.data.length / options.lineInfo.recordSize);
    }
    if (options.attachBtfId) attr.u32('attach_btf_id', options.attachBtfId);
    if (options.attachProgFd) attr.u32('attach_prog_fd', options.attachProgFd.raw);
    if (logLevel > 0) attr.u32('log_level', logLevel).u32('log_size', logBuf.length).ptr('log_buf', logBuf, 'out');
    try {
      return { result: sys.bpf(BpfCmd.PROG_LOAD, attr.bytes, attr.pointers), trueSize: 0 };
    } catch (err) {
      if (!(err instanceof KernelError)) throw err;
      return { error: err, trueSize: new StructReader(PROG_LOAD_ATTR, attr.bytes).u32('log_true_size') };
    }
  });
  return new ProgFd(sys, result, log);
}
