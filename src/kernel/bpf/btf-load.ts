// BPF_BTF_LOAD: hand raw BTF to the kernel, with the BTF checker's log on rejection.
import { BTF_LOAD_ATTR } from '../bpf-attr.generated.js';
import { Fd } from '../fd.js';
import { KernelError } from '../kernel-error.js';
import { StructReader, StructWriter } from '../struct-codec.js';
import type { Sys } from '../sys.js';
import { BpfCmd, bpfCmdName } from './constants.js';
import { InvalidArgumentError } from './input-errors.js';
import { loadWithLog, type LogOptions } from './verifier-log.js';

/** A loaded BTF object, with the checker's log when one was requested. */
export class BtfFd extends Fd<'btf'> {
  /** The log of the successful load; empty unless `logLevel` > 0. */
  readonly log: string;

  /** Takes ownership of `raw`, a BTF fd `sys` returned. */
  constructor(sys: Sys, raw: number, log = '') {
    super(sys, raw, 'btf');
    this.log = log;
  }
}

/** Loads raw BTF (header, types, strings). A rejection throws a VerifierError with the log. */
export function loadBtf(sys: Sys, btf: Uint8Array, options: LogOptions = {}): BtfFd {
  if (btf.length < 24) throw new InvalidArgumentError('BTF', `${btf.length} bytes is shorter than the BTF header`);
  const op = `bpf(${bpfCmdName(BpfCmd.BTF_LOAD)})`;
  const { result, log } = loadWithLog(op, options, (logLevel, logBuf) => {
    const attr = new StructWriter(BTF_LOAD_ATTR).ptr('btf', btf).u32('btf_size', btf.length);
    if (logLevel > 0) attr.u32('btf_log_level', logLevel).u32('btf_log_size', logBuf.length).ptr('btf_log_buf', logBuf, 'out');
    try {
      return { result: sys.bpf(BpfCmd.BTF_LOAD, attr.bytes, attr.pointers), trueSize: 0 };
    } catch (err) {
      if (!(err instanceof KernelError)) throw err;
      return { error: err, trueSize: new StructReader(BTF_LOAD_ATTR, attr.bytes).u32('btf_log_true_size') };
    }
  });
  return new BtfFd(sys, result, log);
}
