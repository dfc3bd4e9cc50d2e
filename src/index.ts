// bpfkit's public API: the pure core (runs in Node and in browsers). The kernel backend and the
// CLI live behind their own entry points so importing bpfkit never loads FFI.

export { BpfkitError, NotSupportedError, type BpfkitErrorOptions } from './errors.js';
export { snakeCase, snakeCaseKeys } from './json-names.js';
export * from './isa/index.js';
export * from './isa/program-types.js';
export * from './isa/map-types.js';
export * from './isa/attach-types.js';
export * from './isa/helpers.js';
export * from './btf/index.js';
export * from './elf/index.js';
export * from './asm/index.js';
export * from './packet/index.js';
export { computeCoreRelo, CORE_POISON_IMM, type CoreReloResult } from './btf/core-relo.js';
export { applyCoreRelos, CoreReloError, type CoreReloOutcome, type CoreReloSite } from './btf/core-patch.js';
export { essentialName, fieldsAreCompatible, matchAccess, resolveLocalAccess, typesAreCompatible, typesByEssentialName, type AccessStep, type FieldLocation } from './btf/core-candidates.js';
export * from './maps/index.js';
export * from './ctx/index.js';
export * from './runtime/index.js';
export * from './verifier/index.js';
export * from './jit/index.js';
export * from './gen/index.js';
