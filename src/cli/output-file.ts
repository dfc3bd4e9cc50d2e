// Files a command writes: atomic (a temporary name renamed into place), never an input, removed on a signal.
//
// What users hit before this existed: `run --out-pass F` with F the capture being read rewrote
// the input while reading it; an unwritable output was reported as a read error of the input;
// Ctrl-C left an 87 MB `*.tmp-PID` behind. Every output goes through here now.

import { closeSync, fstatSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { BpfkitError } from '../errors.js';

/** An output file cannot be written (the path, and why in the file system's words). */
export class FileWriteError extends BpfkitError {
  constructor(readonly path: string, reason: string, options?: { cause?: unknown }) {
    super('ERR_FILE_WRITE', `${path}: cannot write: ${reason}`, options);
  }
}

/** An output names a file that is also an input of the same command. */
export class OutputIsInputError extends BpfkitError {
  constructor(readonly output: string, readonly input: string) {
    super('ERR_OUTPUT_IS_INPUT', `${output} is the same file as the input ${input}: refusing to overwrite an input (choose another output path)`);
  }
}

/** The reason of a file-system error in a few words (`no such directory`, `permission denied`). */
function fsReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return 'no such directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EROFS':
      return 'read-only file system';
    default:
      return (e as Error).message;
  }
}

/**
 * Throws {@link OutputIsInputError} when `output` is the same file (same device and inode, so
 * hard links and other spellings count) as one of `inputs`. A missing output is never an input.
 */
export function refuseOutputIsInput(output: string, inputs: readonly string[]): void {
  let out;
  try {
    out = statSync(output);
  } catch {
    return;
  }
  for (const input of inputs) {
    try {
      const st = statSync(input);
      if (st.dev === out.dev && st.ino === out.ino) throw new OutputIsInputError(output, input);
    } catch (e) {
      if (e instanceof OutputIsInputError) throw e;
    }
  }
}

/** Temporary files in progress, removed if the process is interrupted. */
const pending = new Set<string>();
let handlersInstalled = false;

function removePending(): void {
  for (const p of pending) {
    try {
      unlinkSync(p);
    } catch {
      /* already gone */
    }
  }
  pending.clear();
}

/** On SIGINT/SIGTERM/SIGHUP: remove temporary outputs, then die of the same signal as Unix tools do. */
function installSignalCleanup(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      removePending();
      process.kill(process.pid, sig);
    });
  }
  process.once('exit', removePending);
}

/**
 * A file written in pieces to `PATH.tmp-PID` and renamed to PATH by {@link commit}; an
 * {@link abort}, an error or a signal removes the temporary file, so PATH is either the old file
 * or the complete new one. Write errors are {@link FileWriteError}s naming PATH.
 */
export class AtomicOutputFile {
  private fd = -1;
  readonly tmp: string;

  constructor(readonly path: string) {
    this.tmp = `${path}.tmp-${process.pid}`;
  }

  /** Whether the temporary file is open. */
  get opened(): boolean {
    return this.fd >= 0;
  }

  /** Creates the temporary file (done by the first write when not called). */
  open(): void {
    if (this.fd >= 0) return;
    installSignalCleanup();
    try {
      const st = statSync(this.path, { throwIfNoEntry: false });
      if (st?.isDirectory()) throw new FileWriteError(this.path, 'is a directory');
      this.fd = openSync(this.tmp, 'w');
      pending.add(this.tmp);
      if (!fstatSync(this.fd).isFile()) throw new FileWriteError(this.path, 'is not a regular file');
    } catch (e) {
      if (e instanceof FileWriteError) throw e;
      throw new FileWriteError(this.path, (e as NodeJS.ErrnoException).code === 'ENOENT' ? `no such directory ${dirname(this.path)}` : fsReason(e), { cause: e });
    }
  }

  /** Appends `bytes`. */
  write(bytes: Uint8Array): void {
    this.open();
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(this.fd, bytes, off, bytes.length - off);
    } catch (e) {
      this.abort();
      throw new FileWriteError(this.path, fsReason(e), { cause: e });
    }
  }

  /** Closes and renames the file into place. */
  commit(): void {
    this.open();
    try {
      closeSync(this.fd);
      this.fd = -1;
      renameSync(this.tmp, this.path);
      pending.delete(this.tmp);
    } catch (e) {
      this.abort();
      throw new FileWriteError(this.path, fsReason(e), { cause: e });
    }
  }

  /** Removes the temporary file (after a failure); the destination is left as it was. */
  abort(): void {
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        /* already closed */
      }
      this.fd = -1;
    }
    try {
      unlinkSync(this.tmp);
    } catch {
      /* never created */
    }
    pending.delete(this.tmp);
  }
}

/** Writes `data` to `path` atomically (see {@link AtomicOutputFile}). */
export function writeFileAtomic(path: string, data: Uint8Array, inputs: readonly string[] = []): void {
  refuseOutputIsInput(path, inputs);
  const f = new AtomicOutputFile(path);
  f.write(data);
  f.commit();
}
