// Attach-side uapi numbers: link types (generated) and the BPF_F_* attach flags (#defines, not in BTF).
import { BpfLinkType } from '../../isa/uapi.generated.js';

/** `enum bpf_link_type`. */
export const LinkType = BpfLinkType;

/**
 * `BPF_F_*` flags of BPF_LINK_CREATE / BPF_PROG_ATTACH for multi-program hooks (TCX, netkit),
 * include/uapi/linux/bpf.h. They are #defines, so they are not in the kernel's BTF.
 */
export const AttachFlags = {
  /** Replace a program (BPF_PROG_ATTACH with replace_bpf_fd). */
  REPLACE: 1 << 2,
  /** Insert before the relative program / link (or first when none). */
  BEFORE: 1 << 3,
  /** Insert after the relative program / link (or last when none). */
  AFTER: 1 << 4,
  /** `relative_id` is an id, not an fd. */
  ID: 1 << 5,
  /** The relative object is a link, not a program. */
  LINK: 1 << 13,
} as const;
