// Reads an object file for a command, turning file-system failures into clear typed errors.

import { readFileSync, statSync } from 'node:fs';
import { BpfkitError } from '../errors.js';
import { loadObject, objectNameFromPath } from '../elf/object-loader.js';
import type { ObjectSpec } from '../elf/object-spec.js';

/** A file named on the command line cannot be read. */
export class FileReadError extends BpfkitError {
  constructor(readonly path: string, reason: string, options?: { cause?: unknown }) {
    super('ERR_FILE_READ', `${path}: ${reason}`, options);
  }
}

/** Objects larger than this are refused before reading (BPF objects are kilobytes to a few MB). */
const MAX_OBJECT_BYTES = 512 * 1024 * 1024;

/** Reads a file into memory, with typed errors for a missing file, a directory, or no permission. */
export function readInput(path: string): Uint8Array {
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new FileReadError(path, 'is a directory');
    size = st.size;
  } catch (e) {
    if (e instanceof FileReadError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new FileReadError(path, code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String((e as Error).message), { cause: e });
  }
  if (size > MAX_OBJECT_BYTES) throw new FileReadError(path, `file is ${size} bytes, larger than the ${MAX_OBJECT_BYTES}-byte limit`);
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new FileReadError(path, String((e as Error).message), { cause: e });
  }
}

/**
 * Reads and parses a BPF object; errors carry the path as context. `programType` is `--type`:
 * applied to every program as bpftool's `type` (UnknownProgramTypeError for a name it lacks).
 */
export function readObject(path: string, programType?: string): ObjectSpec {
  const bytes = readInput(path);
  try {
    return loadObject(bytes, { objectName: objectNameFromPath(path), ...(programType !== undefined ? { programType } : {}) });
  } catch (e) {
    throw e instanceof BpfkitError ? e.withContext(path) : e;
  }
}
