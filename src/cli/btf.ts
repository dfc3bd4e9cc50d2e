// `bpfkit btf dump { file F | id N | prog PROG | map MAP } [format { raw | c }]`: bpftool's BTF dumps.
import { dumpBtfC, dumpBtfRaw, parseBtf, type Btf } from '../btf/index.js';
import { BpfkitError } from '../errors.js';
import { parseElf } from '../elf/elf-file.js';
import { ElfError } from '../elf/errors.js';
import { btfInfo, mapInfo, programInfo, type BtfInfo } from '../kernel/bpf/obj-info.js';
import { fdById } from '../kernel/bpf/obj-id.js';
import { rawBtf } from '../kernel/introspect/info-buffers.js';
import { forEachObject } from '../kernel/introspect/prog-show.js';
import { createKernelSys } from '../kernel/koffi-sys.js';
import type { Sys } from '../kernel/sys.js';
import type { CommandArgs } from './args.js';
import { UsageError } from './errors.js';
import { readInput } from './load-file.js';
import { openMaps } from './map.js';
import { type Io, json } from './output.js';
import { openPrograms, parseRef, refText } from './prog.js';

/** Usage text of `btf`. */
export const btfUsage = [
  'bpfkit btf dump BTF_SRC [format FORMAT]',
  '       bpfkit btf { list | show } [id BTF_ID]',
  '       BTF_SRC := { id BTF_ID | prog PROG | map MAP [{ key | value | kv | all }] | file FILE }',
  '       FORMAT  := { raw | c }   (raw: as bpftool btf dump; c: a header clang compiles)',
  '       e.g. bpfkit btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h',
].join('\n');

/** The BTF asked for cannot be used: no .BTF section, split (module) BTF, a program or map without BTF. */
export class BtfSourceError extends BpfkitError {
  constructor(readonly source: string, reason: string, options?: { cause?: unknown }) {
    super('ERR_BTF_SOURCE', `${source}: ${reason}`, options);
  }
}

/** The raw .BTF bytes of a file: the `.BTF` section of an ELF object, or the file itself (vmlinux, raw BTF). */
export function btfBytesOfFile(path: string): Uint8Array {
  const bytes = readInput(path);
  if (bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46) {
    let sec;
    try {
      sec = parseElf(bytes).sections.find((s) => s.name === '.BTF');
    } catch (e) {
      if (e instanceof ElfError) throw e.withContext(path);
      throw e;
    }
    if (!sec) throw new BtfSourceError(path, 'the object has no .BTF section (compile with clang -g)');
    return sec.data();
  }
  return bytes;
}

/** Parses BTF bytes, naming the source and recognising split (module) BTF, which needs vmlinux as its base. */
function parseSource(bytes: Uint8Array, source: string): Btf {
  try {
    return parseBtf(bytes);
  } catch (e) {
    if (e instanceof BpfkitError && /references type \d+ \(only/.test(e.message) && source.startsWith('/sys/kernel/btf/')) {
      throw new BtfSourceError(source, 'split BTF (a kernel module\'s, based on vmlinux) is not supported yet; dump /sys/kernel/btf/vmlinux', { cause: e });
    }
    if (e instanceof BpfkitError) throw e.withContext(source);
    throw e;
  }
}

/** Loads BTF object `id` from the kernel (BPF_BTF_GET_FD_BY_ID + BPF_OBJ_GET_INFO_BY_FD with the btf buffer). */
export function kernelBtf(sys: Sys, id: number): Btf {
  using fd = fdById(sys, 'btf', id);
  const info = btfInfo(fd);
  if (info.kernelBtf && info.name !== 'vmlinux') throw new BtfSourceError(`btf id ${id}`, `split BTF of kernel module ${info.name} is not supported yet`);
  return parseSource(rawBtf(fd), `btf id ${id}`);
}

/** `bpfkit btf ...` on the real kernel (a `file` dump needs no kernel). */
export function btf(args: CommandArgs, io: Io): number {
  const words = args.rest(0);
  const needsKernel = !(words[0] === 'dump' && words[1] === 'file');
  return runBtf(args, io, needsKernel ? createKernelSys() : undefined);
}

/** `bpfkit btf ...` with an injected Sys (may be undefined for `dump file`). */
export function runBtf(args: CommandArgs, io: Io, sys: Sys | undefined): number {
  const words = args.rest(0);
  const verb = words[0];
  const kernel = (): Sys => {
    if (!sys) throw new UsageError('this command needs the kernel', btfUsage);
    return sys;
  };
  if (verb === 'list' || verb === 'show') return showBtf(kernel(), args, io, words);
  if (verb !== 'dump') throw new UsageError(verb === undefined ? 'missing command' : `unknown btf command '${verb}'`, btfUsage);
  const src = words[1];
  let i = 2;
  let btfObj: Btf;
  let rootIds: number[] | undefined;
  if (src === 'file') {
    const file = words[i++];
    if (file === undefined) throw new UsageError("'file' needs a path", btfUsage);
    btfObj = parseSource(btfBytesOfFile(file), file);
  } else if (src === 'id') {
    const v = words[i++];
    if (v === undefined || !/^(0x[0-9a-f]+|\d+)$/i.test(v)) throw new UsageError(`can't parse ${v ?? '(nothing)'} as ID`, btfUsage);
    btfObj = kernelBtf(kernel(), Number(v));
  } else if (src === 'prog') {
    const { ref, next } = parseRef(words, i, btfUsage);
    i = next;
    const fds = openPrograms(kernel(), ref);
    let id: number;
    try {
      if (fds.length > 1) throw new UsageError(`${refText(ref)} matches ${fds.length} programs`, btfUsage);
      id = programInfo(fds[0]!).btfId;
    } finally {
      for (const fd of fds) fd.close();
    }
    if (!id) throw new BtfSourceError(`prog ${refText(ref)}`, 'the program has no BTF');
    btfObj = kernelBtf(kernel(), id);
  } else if (src === 'map') {
    const { ref, next } = parseRef(words, i, btfUsage, ['id', 'name', 'pinned']);
    i = next;
    const fds = openMaps(kernel(), ref);
    let info;
    try {
      if (fds.length > 1) throw new UsageError(`${refText(ref)} matches ${fds.length} maps`, btfUsage);
      info = mapInfo(fds[0]!);
    } finally {
      for (const fd of fds) fd.close();
    }
    if (!info.btfId) throw new BtfSourceError(`map ${refText(ref)}`, 'the map has no BTF');
    const which = words[i];
    if (which === 'key') rootIds = [info.btfKeyTypeId];
    else if (which === 'value') rootIds = [info.btfValueTypeId];
    else if (which === 'all') rootIds = undefined;
    else rootIds = [info.btfKeyTypeId, info.btfValueTypeId];
    if (which !== undefined && ['key', 'value', 'all', 'kv'].includes(which)) i++;
    btfObj = kernelBtf(kernel(), info.btfId);
  } else {
    throw new UsageError(`unrecognized BTF source specifier: '${src ?? ''}'`, btfUsage);
  }
  let format: 'raw' | 'c' = 'raw';
  while (i < words.length) {
    if (words[i] !== 'format') throw new UsageError(`unrecognized option: '${words[i]}'`, btfUsage);
    const f = words[i + 1];
    if (f !== 'raw' && f !== 'c') throw new UsageError(`unrecognized format specifier: '${f ?? ''}', possible values: raw, c`, btfUsage);
    format = f;
    i += 2;
  }
  if (format === 'c') {
    if (args.json) throw new UsageError('JSON output for C-syntax dump is not supported', btfUsage);
    io.out(dumpBtfC(btfObj, { ids: rootIds }));
    return 0;
  }
  const text = dumpBtfRaw(btfObj, { json: args.json, pretty: args.pretty, ids: rootIds });
  io.out(args.json ? `${text}\n` : text);
  return 0;
}

/** `btf list` / `btf show [id N]`: loaded BTF objects as bpftool shows them, with the programs and maps using each. */
function showBtf(sys: Sys, args: CommandArgs, io: Io, words: readonly string[]): number {
  let infos: BtfInfo[];
  if (words[1] === 'id') {
    const v = words[2];
    if (v === undefined || !/^\d+$/.test(v)) throw new UsageError(`can't parse ${v ?? '(nothing)'} as ID`, btfUsage);
    if (words.length > 3) throw new UsageError(`unexpected argument '${words[3]}'`, btfUsage);
    using fd = fdById(sys, 'btf', Number(v));
    infos = [btfInfo(fd)];
  } else {
    if (words.length > 1) throw new UsageError(`unexpected argument '${words[1]}'`, btfUsage);
    infos = forEachObject(sys, 'btf', btfInfo);
  }
  // Which programs and maps use each BTF object (bpftool walks them the same way).
  const users = (kind: 'prog' | 'map'): Map<number, number[]> => {
    const by = new Map<number, number[]>();
    const pairs = kind === 'prog' ? forEachObject(sys, 'prog', (fd) => programInfo(fd)) : forEachObject(sys, 'map', (fd) => mapInfo(fd));
    for (const info of pairs) {
      if (!info.btfId) continue;
      const list = by.get(info.btfId) ?? [];
      list.push(info.id);
      by.set(info.btfId, list);
    }
    return by;
  };
  const progs = users('prog');
  const maps = users('map');
  if (args.json) {
    const docs = infos.map((r) => ({ id: r.id, size: r.size, prog_ids: progs.get(r.id) ?? [], map_ids: maps.get(r.id) ?? [], kernel: r.kernelBtf, ...(r.name ? { name: r.name } : {}) }));
    io.out(json(words[1] === 'id' ? docs[0] : docs, args.pretty));
    return 0;
  }
  let out = '';
  for (const r of infos) {
    out += `${r.id}: name ${r.name ? `[${r.name}]` : '<anon>'}  size ${r.size}B`;
    const p = progs.get(r.id);
    const m = maps.get(r.id);
    if (p) out += `  prog_ids ${p.join(',')}`;
    if (m) out += `  map_ids ${m.join(',')}`;
    out += '\n';
  }
  io.out(out);
  return 0;
}
