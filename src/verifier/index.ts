// The verifier's public surface.
export { assertVerified, verifyInstructions, verifyProgram, type VerifyOptions, type VerifyResult } from './verify.js';
export { VerifierRejection, type RejectionFields, type RejectionLine } from './errors.js';
export type { Tnum } from './tnum.js';
