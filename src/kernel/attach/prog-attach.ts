// BPF_PROG_ATTACH / BPF_PROG_DETACH for multi-program hooks (TCX): attachments without a link, kept until detached.
import { BpfkitError } from '../../errors.js';
import { PROG_ATTACH_ATTR } from '../bpf-attr.generated.js';
import { BpfCmd } from '../bpf/constants.js';
import type { Fd } from '../fd.js';
import { StructWriter } from '../struct-codec.js';
import type { Sys } from '../sys.js';

/** Where and how BPF_PROG_ATTACH puts a program on an interface hook. */
export interface ProgAttachOptions {
  /** Interface index. */
  targetIfindex: number;
  /** `enum bpf_attach_type` (TCX_INGRESS...). */
  attachType: number;
  /** BPF_F_BEFORE / AFTER / ID / LINK / REPLACE. */
  flags?: number;
  /** Relative program or link (fd, or id with BPF_F_ID). */
  relative?: number;
  /** Fail with ESTALE unless the hook is at this revision. */
  expectedRevision?: bigint;
}

function attr(prog: Fd<'prog'>, options: ProgAttachOptions): StructWriter<typeof PROG_ATTACH_ATTR> {
  const a = new StructWriter(PROG_ATTACH_ATTR)
    .u32('target_ifindex', options.targetIfindex)
    .u32('attach_bpf_fd', prog.raw)
    .u32('attach_type', options.attachType)
    .u32('attach_flags', options.flags ?? 0);
  if (options.relative) a.u32('relative_fd', options.relative);
  if (options.expectedRevision !== undefined) a.u64('expected_revision', options.expectedRevision);
  return a;
}

/** BPF_PROG_ATTACH: attaches `prog` without a link; it stays until {@link progDetach}. */
export function progAttach(sys: Sys, prog: Fd<'prog'>, options: ProgAttachOptions): void {
  const a = attr(prog, options);
  sys.bpf(BpfCmd.PROG_ATTACH, a.bytes, a.pointers);
}

/** BPF_PROG_DETACH: removes `prog` (attached with BPF_PROG_ATTACH) from the hook. */
export function progDetach(sys: Sys, prog: Fd<'prog'>, options: Omit<ProgAttachOptions, 'flags' | 'relative'>): void {
  const a = attr(prog, options);
  try {
    sys.bpf(BpfCmd.PROG_DETACH, a.bytes, a.pointers);
  } catch (err) {
    throw err instanceof BpfkitError ? err.withContext(`detach ${prog}`) : err;
  }
}
