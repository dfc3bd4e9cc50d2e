// Entry point of the ELF module: the generic ELF64 reader, its constants and errors.

export * from './elf-constants.js';
export { ElfError, ProgramTypeTargetError, UnknownProgramTypeError, UnsupportedElfError, UntypedProgramError, type ElfErrorLocation } from './errors.js';
export {
  parseElf,
  type ElfFile,
  type ElfHeader,
  type ElfRelocation,
  type ElfRelocationSection,
  type ElfSection,
  type ElfSymbol,
} from './elf-file.js';
export { loadObject, objectNameFromPath, type LoadObjectOptions } from './object-loader.js';
export { ObjectError } from './object-error.js';
export { internalMapName } from './global-data.js';
export * from './object-spec.js';
export { applyProgramType, assertProgramTyped, programTypeNames, resolveProgramType, type ProgramTypeInput, type ProgramTypeOption, type ResolvedProgramType } from './program-type.js';
export { legacySectionType, matchSection, sectionDefMatches, SECTION_DEFS, type SectionDef, type SectionMatch, type SectionFlags, type SuffixRule } from './section-defs.js';
