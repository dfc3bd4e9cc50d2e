// Public API of the instruction-set layer (pure: runs anywhere).

export * from './opcodes.js';
export * from './instruction.js';
export * from './errors.js';
export * from './decode.js';
export * from './encode.js';
export * from './builder.js';
export * from './uapi.generated.js';
