// The error of the BPF object loader: a valid ELF that is not a loadable BPF object.

import { BpfkitError, type BpfkitErrorOptions } from '../errors.js';

/**
 * A BPF object that cannot be turned into an ObjectSpec (code `'ERR_OBJECT_INVALID'`): not an
 * EM_BPF relocatable file, a relocation the loader cannot apply, a map definition it cannot
 * read. The message names the section and, where there is one, the offset
 * (`section "xdp": relocation 3 at offset 0x48: call target 0x1000 is not a function`).
 */
export class ObjectError extends BpfkitError {
  constructor(
    message: string,
    /** The ELF section the error is about, when there is one. */
    readonly section?: string,
    /** Byte offset inside that section (or the file, for header errors). */
    readonly offset?: number,
    options?: BpfkitErrorOptions,
  ) {
    super('ERR_OBJECT_INVALID', section === undefined ? message : `section "${section}"${offset === undefined ? '' : ` at offset 0x${offset.toString(16)}`}: ${message}`, options);
  }
}
