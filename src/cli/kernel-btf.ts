// The running kernel's BTF for the commands that verify in userspace, read only when an object needs it.
import { readFileSync } from 'node:fs';
import { parseBtf, type Btf } from '../btf/index.js';
import type { ObjectSpec } from '../elf/object-spec.js';
import { PseudoCall } from '../isa/opcodes.js';
import { BpfProgType } from '../isa/uapi.generated.js';

/** Where the kernel exposes its own BTF. */
const VMLINUX = '/sys/kernel/btf/vmlinux';

let cached: Btf | null | undefined;

/**
 * Whether verifying `spec` needs the target kernel's BTF: kfunc calls (their prototypes), CO-RE
 * relocations (the kernel's struct layouts), ksym externs or tracing programs (their target's
 * BTF prototype types the context). Parsing vmlinux costs about a
 * second, so other objects do without.
 */
export function needsKernelBtf(spec: ObjectSpec): boolean {
  return spec.programs.some((p) => p.coreRelos.length > 0 || (p.type === BpfProgType.TRACING && p.attachTo !== undefined) || p.instructions.some((i) => i.code === 0x85 && i.src === PseudoCall.KFUNC_CALL));
}

/**
 * This machine's kernel BTF when `spec` needs it and the machine has it (`undefined` otherwise:
 * the verifier then uses the 6.18 prototypes it carries and says where it needs more).
 */
export function kernelBtfFor(spec: ObjectSpec): Btf | undefined {
  if (!needsKernelBtf(spec)) return undefined;
  if (cached === undefined) {
    try {
      cached = parseBtf(new Uint8Array(readFileSync(VMLINUX)));
    } catch {
      cached = null;
    }
  }
  return cached ?? undefined;
}
