// `bpfkit prog list|show|dump`: loaded programs as bpftool shows them (`id N | name NAME | tag TAG | pinned PATH`).
import { BpfkitError } from '../errors.js';
import { BpftoolJsonWriter, bpftoolTypeSignature, parseBtf, type Btf } from '../btf/index.js';
import { programDebugInfo, programInfo, type ProgramDebugInfo, type ProgramLineInfo } from '../kernel/bpf/obj-info.js';
import { programCode, rawBtf } from '../kernel/introspect/info-buffers.js';
import { fdById } from '../kernel/bpf/obj-id.js';
import { getPinnedObject } from '../kernel/bpf/obj-pin.js';
import type { Fd } from '../kernel/fd.js';
import { createKernelSys } from '../kernel/koffi-sys.js';
import { dumpJited, dumpXlated } from '../kernel/introspect/prog-dump.js';
import { bootTimeSeconds, describeProgram, forEachObject, type ProgramRecord } from '../kernel/introspect/prog-show.js';
import type { Sys } from '../kernel/sys.js';
import type { CommandArgs } from './args.js';
import { UsageError } from './errors.js';
import { type Io, json } from './output.js';

/** Usage text of `prog`. */
export const progUsage = [
  'bpfkit prog { list | show } [PROG]',
  '       bpfkit prog dump xlated PROG [opcodes] [linum]',
  '       bpfkit prog dump jited PROG',
  '       PROG := { id ID | name NAME | tag TAG | pinned PATH }',
].join('\n');

/** How a command names a kernel object, as bpftool spells it. */
export type ObjectRef = { readonly by: 'id'; readonly id: number } | { readonly by: 'name' | 'tag' | 'pinned'; readonly value: string };

/** Nothing matched a reference. */
export class NoSuchObjectError extends BpfkitError {
  constructor(
    /** `prog`, `map` or `link`. */
    readonly kind: string,
    /** The reference as typed. */
    readonly ref: string,
  ) {
    super('ERR_NO_SUCH_OBJECT', `no ${kind} matches ${ref}`);
  }
}

/**
 * Parses `id N | name NAME | tag TAG | pinned PATH` at `words[at]`; returns the reference and the
 * index after it. `allowed` limits the keywords (maps have no tag).
 */
export function parseRef(words: readonly string[], at: number, usage: string, allowed: readonly string[] = ['id', 'name', 'tag', 'pinned']): { ref: ObjectRef; next: number } {
  const kw = words[at];
  const value = words[at + 1];
  if (kw === undefined) throw new UsageError(`expected ${allowed.join(' | ')}`, usage);
  if (!allowed.includes(kw)) throw new UsageError(`expected ${allowed.join(' | ')}, got '${kw}'`, usage);
  if (value === undefined) throw new UsageError(`'${kw}' needs a value`, usage);
  if (kw === 'id') {
    if (!/^\d+$/.test(value)) throw new UsageError(`id must be a number, got '${value}'`, usage);
    return { ref: { by: 'id', id: Number(value) }, next: at + 2 };
  }
  return { ref: { by: kw as 'name' | 'tag' | 'pinned', value }, next: at + 2 };
}

/** `id 7` / `name foo` for messages. */
export const refText = (ref: ObjectRef): string => (ref.by === 'id' ? `id ${ref.id}` : `${ref.by} ${ref.value}`);

/**
 * Opens every program matching `ref` (names and tags may match several, as in bpftool). The
 * caller closes them. Throws NoSuchObjectError when none does.
 */
export function openPrograms(sys: Sys, ref: ObjectRef): Fd<'prog'>[] {
  let fds: Fd<'prog'>[];
  if (ref.by === 'id') fds = [fdById(sys, 'prog', ref.id)];
  else if (ref.by === 'pinned') fds = [getPinnedObject(sys, ref.value, 'prog')];
  else {
    fds = [];
    const ids = forEachObject(sys, 'prog', (fd) => {
      const info = programInfo(fd);
      const match = ref.by === 'tag' ? info.tag === ref.value.toLowerCase() : info.name === ref.value || info.name === ref.value.slice(0, 15);
      return match ? info.id : undefined;
    });
    for (const id of ids) if (id !== undefined) fds.push(fdById(sys, 'prog', id));
  }
  if (fds.length === 0) throw new NoSuchObjectError('prog', refText(ref));
  return fds;
}

/** `2026-11-25T01:10:00+0000`, bpftool's loaded_at in text mode. */
function isoTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d+Z$/, '+0000');
}

/** One program in bpftool's text layout. */
export function programText(p: ProgramRecord): string {
  const lines = [`${p.id}: ${p.type}  ${p.name ? `name ${p.name}  ` : ''}tag ${p.tag}${p.gpl_compatible ? '  gpl' : ''}`];
  lines.push(`\tloaded_at ${isoTime(p.loaded_at)}  uid ${p.uid}`);
  let sizes = `\txlated ${p.bytes_xlated}B  ${p.jited ? `jited ${p.bytes_jited}B` : 'not jited'}`;
  if (p.bytes_memlock !== undefined) sizes += `  memlock ${p.bytes_memlock}B`;
  if (p.map_ids?.length) sizes += `  map_ids ${p.map_ids.join(',')}`;
  lines.push(sizes);
  if (p.btf_id) lines.push(`\tbtf_id ${p.btf_id}`);
  return `${lines.join('\n')}\n`;
}

/** The program's BTF and its func/line info, when it was loaded with them. */
function debugInfo(sys: Sys, fd: Fd<'prog'>): { btf: Btf; info: ProgramDebugInfo } | undefined {
  const info = programDebugInfo(fd);
  if (!info.btfId || (info.funcInfo.length === 0 && info.lineInfo.length === 0)) return undefined;
  try {
    using btfFd = fdById(sys, 'btf', info.btfId);
    return { btf: parseBtf(rawBtf(btfFd)), info };
  } catch {
    return undefined;
  }
}

/** libbpf's bpf_prog_linfo__lfind: from record `skip`, the last record at or before `insn`, if it is at `insn`. */
function lineAt(lines: readonly ProgramLineInfo[], insn: number, skip: number): ProgramLineInfo | undefined {
  if (skip >= lines.length || insn < lines[skip]!.insnOff) return undefined;
  let i = skip;
  while (i + 1 < lines.length && lines[i + 1]!.insnOff <= insn) i++;
  return lines[i]!.insnOff === insn ? lines[i] : undefined;
}

/**
 * `prog dump xlated` as bpftool prints it: each function headed by its prototype from BTF
 * (`int xdp_prog(struct xdp_md * ctx):`), each source line from the line info before its first
 * instruction (`; return XDP_PASS;`, with `[file:F line_num:N line_col:C]` under `linum`); with
 * -j the same as `proto`, `src`, `file`, `line_num`, `line_col` members beside `disasm`.
 */
export function xlatedText(sys: Sys, fd: Fd<'prog'>, opts: { json: boolean; pretty: boolean; linum: boolean; opcodes?: boolean }): string {
  const lines = dumpXlated(fd);
  const raw = opts.opcodes ? programCode(fd).xlated : undefined;
  const hex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');
  const hexJson = (b: Uint8Array): void => {
    w.startArray();
    for (const x of b) w.raw(`"0x${x.toString(16).padStart(2, '0')}"`);
    w.endArray();
  };
  const dbg = debugInfo(sys, fd);
  const str = (off: number): string | undefined => dbg?.btf.strings.lookup(off);
  let fi = 0;
  let skip = 0;
  const w = new BpftoolJsonWriter(opts.pretty);
  let text = '';
  if (opts.json) w.startArray();
  for (const l of lines) {
    if (opts.json) w.startObject();
    const rec = dbg?.info.funcInfo[fi];
    if (dbg && rec && rec.insnOff === l.pc) {
      const sig = bpftoolTypeSignature(dbg.btf, rec.typeId);
      if (sig) {
        if (opts.json) w.stringField('proto', sig);
        else text += `${sig}:\n`;
      }
      fi++;
    }
    const li = dbg ? lineAt(dbg.info.lineInfo, l.pc, skip) : undefined;
    if (li) {
      skip++;
      const src = str(li.lineOff)?.replace(/^\s+/, '');
      const file = str(li.fileNameOff);
      if (opts.json) {
        if (src !== undefined) w.stringField('src', src);
        if (opts.linum) {
          if (file !== undefined) w.stringField('file', file);
          if (li.line) w.field('line_num', li.line);
          if (li.col) w.field('line_col', li.col);
        }
      } else if (src !== undefined) {
        text += opts.linum ? `; ${src} [file:${file ?? ''} line_num:${li.line} line_col:${li.col}]\n` : `; ${src}\n`;
      }
    }
    const wide = l.insn.code === 0x18;
    const bytes = raw?.subarray(l.pc * 8, l.pc * 8 + (wide ? 16 : 8));
    if (opts.json) {
      w.stringField('disasm', l.disasm);
      if (bytes) {
        // bpftool's "opcodes": the code, the registers' nibbles, then off and imm (12 bytes for lddw: imm, the zero slot, imm2).
        w.name('opcodes').startObject().field('code', `"0x${(bytes[0] ?? 0).toString(16).padStart(2, '0')}"`);
        w.field('src_reg', `"0x${((bytes[1] ?? 0) >> 4).toString(16)}"`).field('dst_reg', `"0x${((bytes[1] ?? 0) & 0xf).toString(16)}"`);
        w.name('off');
        hexJson(bytes.subarray(2, 4));
        w.name('imm');
        hexJson(bytes.subarray(4, wide ? 16 : 8));
        w.endObject();
      }
      w.endObject();
    } else {
      text += `${String(l.pc).padStart(4)}: ${l.disasm}\n`;
      if (bytes) text += `       ${hex(bytes.subarray(0, 8))}${wide ? ` ${hex(bytes.subarray(8, 16))}` : ''}\n`;
    }
  }
  return opts.json ? `${w.endArray().text()}\n` : text;
}

/** `bpfkit prog ...` on the real kernel. */
export function prog(args: CommandArgs, io: Io): number {
  return runProg(args, io, createKernelSys());
}

function withFds<T>(fds: Fd<'prog'>[], fn: (fd: Fd<'prog'>) => T): T[] {
  try {
    return fds.map(fn);
  } finally {
    for (const fd of fds) fd.close();
  }
}

/** `bpfkit prog ...` with an injected Sys. */
export function runProg(args: CommandArgs, io: Io, sys: Sys): number {
  const words = args.rest(0);
  const verb = words[0] ?? 'list';
  if (verb === 'list' || verb === 'show') {
    let records: ProgramRecord[];
    const boot = bootTimeSeconds(sys);
    if (words.length > 1) {
      const { ref, next } = parseRef(words, 1, progUsage);
      if (next !== words.length) throw new UsageError(`unexpected argument '${words[next]}'`, progUsage);
      records = withFds(openPrograms(sys, ref), (fd) => describeProgram(fd, boot));
    } else {
      records = forEachObject(sys, 'prog', (fd) => describeProgram(fd, boot));
    }
    // bpftool prints one object for `show id N`, an array otherwise.
    const single = words.length > 1 && records.length === 1 && words[1] !== 'name' && words[1] !== 'tag';
    if (args.json) io.out(json(single ? records[0] : records, args.pretty));
    else io.out(records.map(programText).join(''));
    return 0;
  }
  if (verb === 'dump') {
    const what = words[1];
    if (what !== 'xlated' && what !== 'jited') throw new UsageError(`dump what? expected xlated or jited, got '${what ?? ''}'`, progUsage);
    const { ref, next } = parseRef(words, 2, progUsage);
    let linum = false;
    let opcodes = false;
    for (const w of words.slice(next)) {
      if (w === 'linum' && what === 'xlated') linum = true;
      else if (w === 'opcodes' && what === 'xlated') opcodes = true;
      else throw new UsageError(`unexpected argument '${w}'`, progUsage);
    }
    const fds = openPrograms(sys, ref);
    if (fds.length > 1) {
      for (const fd of fds) fd.close();
      throw new UsageError(`${refText(ref)} matches ${fds.length} programs; use id`, progUsage);
    }
    const [out] = withFds(fds, (fd) => {
      if (what === 'xlated') return xlatedText(sys, fd, { json: args.json, pretty: args.pretty, linum, opcodes });
      const jited = dumpJited(fd);
      if (args.json) return json(jited.functions.map((f) => ({ name: f.name ?? null, opcodes: [...f.bytes].map((b) => `0x${b.toString(16).padStart(2, '0')}`) })), args.pretty);
      return jited.functions
        .map((f) => {
          const rows: string[] = [];
          for (let i = 0; i < f.bytes.length; i += 16) rows.push(`  ${i.toString(16).padStart(4, '0')}:  ${[...f.bytes.subarray(i, i + 16)].map((b) => b.toString(16).padStart(2, '0')).join(' ')}`);
          return `${f.name ?? '(unnamed)'}:\n${rows.join('\n')}\n`;
        })
        .join('');
    });
    io.out(out ?? '');
    return 0;
  }
  throw new UsageError(`unknown prog command '${verb}'`, progUsage);
}
