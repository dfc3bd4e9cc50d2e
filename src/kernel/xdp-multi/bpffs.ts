// The bpffs side of multi-program XDP: directories, pins, and flock(2) on a directory, behind one small port tests can fake.
import { closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, renameSync, rmdirSync, statfsSync, unlinkSync } from 'node:fs';
import { NotSupportedError } from '../../errors.js';
import type { Sys } from '../sys.js';
import { XdpBpffsError } from './errors.js';

const BPF_FS_MAGIC = 0xcafe4a11;
const LOCK_EX = 2;
const LOCK_UN = 8;

/** What multi-program XDP does in bpffs besides pinning (pins go through bpf(2)). */
export interface BpffsPort {
  /** Throws {@link XdpBpffsError} unless `dir` (or its nearest existing parent) is in a bpffs. */
  checkBpffs(dir: string): void;
  /** True when `path` exists. */
  exists(path: string): boolean;
  /** Creates `dir` and missing parents, one level at a time. */
  mkdirs(dir: string): void;
  /** Entry names of `dir` (empty when it does not exist). */
  list(dir: string): string[];
  /** Removes a pin or empty directory; nothing when already gone. */
  remove(path: string): void;
  /** Renames (bpffs supports rename within one mount). */
  rename(from: string, to: string): void;
  /** Takes an exclusive flock(2) on directory `dir` (blocking), released by dispose. */
  lock(dir: string): Disposable;
}

/** The real bpffs, with flock through `sys`. */
export function nodeBpffs(sys: Sys): BpffsPort {
  const parentOf = (p: string): string => p.replace(/\/[^/]*\/?$/, '') || '/';
  return {
    checkBpffs(dir) {
      let at = dir;
      while (!existsSync(at)) at = parentOf(at);
      if (statfsSync(at).type !== BPF_FS_MAGIC) throw new XdpBpffsError(dir);
    },
    exists: (p) => existsSync(p),
    mkdirs(dir) {
      const missing: string[] = [];
      for (let at = dir; !existsSync(at); at = parentOf(at)) missing.unshift(at);
      for (const d of missing) mkdirSync(d);
    },
    list(dir) {
      try {
        return readdirSync(dir).sort();
      } catch {
        return [];
      }
    },
    remove(path) {
      try {
        unlinkSync(path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EISDIR' || code === 'EPERM') rmdirSync(path);
        else if (code !== 'ENOENT') throw err;
      }
    },
    rename: (from, to) => renameSync(from, to),
    lock(dir) {
      if (!sys.flock) throw new NotSupportedError('flock(2) through this Sys', undefined, 'the multi-program XDP state lock needs it');
      const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
      try {
        sys.flock(fd, LOCK_EX);
      } catch (err) {
        closeSync(fd);
        throw err;
      }
      let held = true;
      return {
        [Symbol.dispose]() {
          if (!held) return;
          held = false;
          try {
            sys.flock?.(fd, LOCK_UN);
          } finally {
            closeSync(fd);
          }
        },
      };
    },
  };
}
