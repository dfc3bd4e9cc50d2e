// Public surface of the bindings generator: BTF -> layouts -> TypeScript module, and the typed handle it opens.

export { generateTypes, type GenerateOptions } from './emit.js';
export { buildSchema, sectionProperty, varOffsets, type VarOffsets, type BuiltSchema, type GenMapSchema, type GenSchema, type GenSectionSchema, type GenVarSchema } from './schema.js';
export {
  isBigint,
  layoutSize,
  LayoutBuilder,
  pascalCase,
  RESERVED_NAMES,
  type ArrayLayout,
  type BoolLayout,
  type BytesLayout,
  type CompositeLayout,
  type EnumDef,
  type EnumLayout,
  type FloatLayout,
  type IntLayout,
  type Layout,
  type MemberLayout,
  type OpaqueLayout,
  type PtrLayout,
  type StringLayout,
} from './layout.js';
export { layoutCodec, readLayout, writeLayout, type LayoutValue } from './codec.js';
export { GenObject, openGenerated, type GenBackend, type LoadedBackend } from './handle.js';
export { userspaceBackend } from './backends.js';
export { FrozenGlobalError, GenTypeError, GenValueError, HandleStateError, NoBtfError, SchemaMismatchError } from './errors.js';
