// The hook where a program is verified before it is prepared for the userspace runtime.

import type { ObjectSpec, ProgramSpec } from '../elf/object-spec.js';
import { assertVerified } from '../verifier/verify.js';

/**
 * Checks one program before the runtime prepares it, throwing (a VerifierRejection) to refuse
 * it — the userspace counterpart of BPF_PROG_LOAD's verifier pass.
 */
export type VerifyFn = (program: ProgramSpec, object: ObjectSpec) => void;

/**
 * The verifier `loadUserspace` runs when the caller does not pass one: bpfkit's own
 * (src/verifier), with the object's maps and frozen `.rodata`. A rejection throws
 * VerifierRejection (code ERR_VERIFIER_REJECT) naming the instruction and C line. Pass
 * `verify: false` to skip it: the interpreter still checks every memory access at run time,
 * bounds the instruction count and the call depth.
 */
export const defaultVerify: VerifyFn = (program, object) => {
  assertVerified(program, object);
};
