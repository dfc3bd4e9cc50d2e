// Object names (maps, programs): at most 15 bytes of [A-Za-z0-9_.], as the kernel accepts them.
import { InvalidArgumentError } from './input-errors.js';

/** BPF_OBJ_NAME_LEN: 16 bytes including the terminating NUL. */
export const OBJ_NAME_LEN = 16;

/**
 * Checks `name` the way the kernel's bpf_obj_name_cpy does (alphanumerics, `_` and `.`, at most
 * 15 bytes) so a bad name fails with a clear message instead of EINVAL.
 */
export function checkObjectName(what: string, name: string): string {
  if (name.length >= OBJ_NAME_LEN) throw new InvalidArgumentError(what, `"${name}" is longer than ${OBJ_NAME_LEN - 1} characters`);
  if (!/^[A-Za-z0-9_.]*$/.test(name)) throw new InvalidArgumentError(what, `"${name}" may only contain letters, digits, "_" and "."`);
  return name;
}
