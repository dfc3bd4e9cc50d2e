// The hook where a program is verified before it is prepared for the userspace runtime.

import type { ObjectSpec, ProgramSpec } from '../elf/object-spec.js';

/**
 * Checks one program before the runtime prepares it, throwing (a VerifierError) to refuse it —
 * the userspace counterpart of BPF_PROG_LOAD's verifier pass.
 */
export type VerifyFn = (program: ProgramSpec, object: ObjectSpec) => void;

/**
 * The verifier `loadUserspace` runs when the caller does not pass one.
 *
 * bpfkit's own verifier (src/verifier, issue 6) is being written; until it exports an entry
 * point this checks nothing, and the interpreter's run-time checks (every memory access bounds-
 * and permission-checked, an instruction budget, call depth) are what stand between a bad
 * program and the process. When src/verifier lands, this function calls it.
 */
export const defaultVerify: VerifyFn = () => {};
