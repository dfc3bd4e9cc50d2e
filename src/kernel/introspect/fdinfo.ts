// /proc/self/fdinfo/N of a bpf fd: the fields bpf_obj_get_info_by_fd does not report (memlock, frozen).
import type { Fd } from '../fd.js';

/** Parses `key:\tvalue` lines into a map. */
export function parseFdinfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const at = line.indexOf(':');
    if (at > 0) out.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  return out;
}

/** The fdinfo of `fd` (through its Sys), or an empty map when it cannot be read. */
export function fdinfo(fd: Fd): Map<string, string> {
  try {
    return parseFdinfo(new TextDecoder().decode(fd.sys.readFile(`/proc/self/fdinfo/${fd.raw}`)));
  } catch {
    return new Map();
  }
}

/** A numeric fdinfo field, or undefined. */
export function fdinfoNumber(info: ReadonlyMap<string, string>, key: string): number | undefined {
  const v = info.get(key);
  return v === undefined || v === '' || Number.isNaN(Number(v)) ? undefined : Number(v);
}
