// Public API of the text assembler and disassembler (llvm-objdump's syntax and the verifier log's).

export { assemble, assembleListing, type AssembleOptions, type AssembledSection } from './assemble.js';
export { AsmSyntaxError } from './errors.js';
export { type FormatOptions, formatInstruction } from './format.js';
export { helperName, type KernelCallbacks, type KernelSyntaxOptions } from './kernel-syntax.js';
export {
  disassemble,
  type DisassembleOptions,
  formatObjdump,
  instructionBytes,
  type ListingRelocation,
  type ListingSection,
} from './listing.js';
export { knownToLlvm16, type LlvmSyntaxOptions } from './llvm-syntax.js';
