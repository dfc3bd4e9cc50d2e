// Errors of the bindings generator and of the typed handles it generates.

import { BpfkitError } from '../errors.js';

/** The object has no `.BTF` section: there are no types to generate from. */
export class NoBtfError extends BpfkitError {
  constructor(readonly object: string) {
    super('ERR_GEN_NO_BTF', `${object}: the object has no BTF (.BTF section), so its maps and globals have no types to generate; compile it with clang -g`);
  }
}

/** A BTF type the generator cannot map to a TypeScript value (reported with where it was met). */
export class GenTypeError extends BpfkitError {
  constructor(
    readonly typeId: number,
    detail: string,
  ) {
    super('ERR_GEN_TYPE', `BTF type ${typeId}: ${detail}`);
  }
}

/** A value handed to a generated codec does not fit its C type (a string too long, a wrong array length...). */
export class GenValueError extends BpfkitError {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super('ERR_GEN_VALUE', `${path || 'value'}: ${detail}`);
  }
}

/** A `.rodata` variable written after load: the kernel froze the map, so the program would never see it. */
export class FrozenGlobalError extends BpfkitError {
  constructor(
    readonly section: string,
    readonly variable: string,
  ) {
    super('ERR_GEN_FROZEN', `${section} variable "${variable}" is read-only after load (set it before load(), as a skeleton's rodata)`);
  }
}

/** Maps and programs are used before `load()`, or the handle after `close()`. */
export class HandleStateError extends BpfkitError {
  constructor(
    readonly state: 'not loaded' | 'closed' | 'loaded',
    detail: string,
  ) {
    super('ERR_GEN_STATE', `${detail} (the object is ${state})`);
  }
}

/** The bytes given to a generated `open()` are not the object the bindings were generated from. */
export class SchemaMismatchError extends BpfkitError {
  constructor(
    readonly object: string,
    detail: string,
  ) {
    super('ERR_GEN_MISMATCH', `bindings generated from ${object} do not fit this object: ${detail} (regenerate them with bpfkit gen types)`);
  }
}
