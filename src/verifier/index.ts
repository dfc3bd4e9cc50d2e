// The verifier's public surface.
export { assertVerified, verifyInstructions, verifyProgram, type VerifierState, type VerifyOptions, type VerifyResult } from './verify.js';
export { VerifierRejection, type RejectionFields, type RejectionLine } from './errors.js';
export type { Tnum } from './tnum.js';
export type { VerifierTarget } from './target.js';
export { KfuncNotInKernelError, kfuncNameById, resolveKfunc, type KfuncParamType, type KfuncPointee, type ResolvedKfunc } from './kfunc-resolve.js';
export { KFUNC_PROTOS, kfuncAllowed, kfuncProto, type KfuncFlag, type KfuncParam, type KfuncProto } from '../isa/kfunc-protos.js';
