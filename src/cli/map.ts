// `bpfkit map list|show|dump|lookup|update|delete|pin`: bpftool's map commands and grammar, on KernelMap.
import { BpfkitError } from '../errors.js';
import { MapType } from '../kernel/bpf/constants.js';
import { type MapFd } from '../kernel/bpf/map-fd.js';
import { mapInfo, toMapFd } from '../kernel/bpf/obj-info.js';
import { fdById, mapFdById } from '../kernel/bpf/obj-id.js';
import { openPinnedMap, pinObject } from '../kernel/bpf/obj-pin.js';
import type { Fd } from '../kernel/fd.js';
import { describeMap, type MapRecord } from '../kernel/introspect/map-show.js';
import { forEachObject } from '../kernel/introspect/prog-show.js';
import { KernelMap } from '../kernel/kernel-map.js';
import { createKernelSys } from '../kernel/koffi-sys.js';
import type { Sys } from '../kernel/sys.js';
import type { UpdateMode } from '../maps/bpf-map.js';
import { parseBtf, type Btf } from '../btf/index.js';
import { formatBtfValue, stringifyFormatted } from '../kernel/introspect/btf-value.js';
import { rawBtf } from '../kernel/introspect/info-buffers.js';
import type { CommandArgs } from './args.js';
import { UsageError } from './errors.js';
import { type Io, json } from './output.js';
import { NoSuchObjectError, openPrograms, parseRef, refText, type ObjectRef } from './prog.js';

/** Usage text of `map`. */
export const mapUsage = [
  'bpfkit map { list | show } [MAP]',
  '       bpfkit map dump MAP',
  '       bpfkit map lookup MAP key DATA',
  '       bpfkit map update MAP key DATA value VALUE [any | exist | noexist]',
  '       bpfkit map delete MAP key DATA',
  '       bpfkit map pin MAP PATH',
  '       MAP := { id ID | name NAME | pinned PATH }   DATA := [hex] BYTES',
  '       VALUE := { DATA | PROG (prog arrays) | MAP (map-in-map) }',
].join('\n');

/** The key is not in the map. */
export class KeyNotFoundError extends BpfkitError {
  constructor(readonly map: string, readonly key: readonly number[]) {
    super('ERR_KEY_NOT_FOUND', `${map}: key ${key.map((b) => b.toString(16).padStart(2, '0')).join(' ')} not found`);
  }
}

const MAP_REF = ['id', 'name', 'pinned'];
const SILENT_MISSES = new Set<number>([MapType.PROG_ARRAY, MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS]);

/** Opens every map matching `ref` (a name may match several). */
export function openMaps(sys: Sys, ref: ObjectRef): MapFd[] {
  if (ref.by === 'id') return [mapFdById(sys, ref.id)];
  if (ref.by === 'pinned') return [openPinnedMap(sys, ref.value)];
  const ids = forEachObject(sys, 'map', (fd) => {
    const info = mapInfo(fd);
    return ref.by === 'name' && (info.name === ref.value || info.name === ref.value.slice(0, 15)) ? info.id : undefined;
  });
  const out: MapFd[] = [];
  for (const id of ids) if (id !== undefined) out.push(toMapFd(fdById(sys, 'map', id)));
  if (out.length === 0) throw new NoSuchObjectError('map', refText(ref));
  return out;
}

/** Opens exactly one map; a name matching several is a usage error, as in bpftool. */
function openOneMap(sys: Sys, ref: ObjectRef): MapFd {
  const fds = openMaps(sys, ref);
  if (fds.length > 1) {
    for (const fd of fds) fd.close();
    throw new UsageError(`${refText(ref)} matches ${fds.length} maps; use id or pinned`, mapUsage);
  }
  return fds[0]!;
}

/**
 * Parses bpftool's byte list: `[hex] B B B...` — each B a number in C syntax (`0x0a`, `10`,
 * `012`) or, after `hex`, two hex digits. Stops at a keyword in `stop`. Returns the bytes and the
 * next index.
 */
export function parseBytes(words: readonly string[], at: number, stop: readonly string[]): { bytes: number[]; next: number } {
  let i = at;
  let base: 0 | 16 = 0;
  if (words[i] === 'hex') {
    base = 16;
    i++;
  }
  const bytes: number[] = [];
  for (; i < words.length && !stop.includes(words[i]!); i++) {
    const w = words[i]!;
    let n: number;
    if (base === 16) n = /^[0-9a-fA-F]{1,2}$/.test(w) ? parseInt(w, 16) : NaN;
    else if (/^0x[0-9a-fA-F]+$/i.test(w)) n = parseInt(w.slice(2), 16);
    else if (/^0[0-7]+$/.test(w)) n = parseInt(w.slice(1), 8);
    else if (/^\d+$/.test(w)) n = Number(w);
    else n = NaN;
    if (!(n >= 0 && n <= 255)) throw new UsageError(`'${w}' is not a byte${base === 16 ? ' in hex' : ''}`, mapUsage);
    bytes.push(n);
  }
  return { bytes, next: i };
}

const hexList = (b: Uint8Array) => [...b].map((x) => `0x${x.toString(16).padStart(2, '0')}`);
const hexText = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');

function expectSize(what: string, got: number, want: number): void {
  if (got !== want) throw new UsageError(`${what} expected ${want} bytes, got ${got}`, mapUsage);
}

/** One map record in bpftool's text layout. */
export function mapText(m: MapRecord): string {
  let out = `${m.id}: ${m.type}  ${m.name ? `name ${m.name}  ` : ''}flags 0x${m.flags.toString(16)}\n`;
  out += `\tkey ${m.bytes_key}B  value ${m.bytes_value}B  max_entries ${m.max_entries}${m.bytes_memlock !== undefined ? `  memlock ${m.bytes_memlock}B` : ''}\n`;
  if (m.btf_id) out += `\tbtf_id ${m.btf_id}\n`;
  if (m.frozen) out += '\tfrozen\n';
  return out;
}

/** The map's BTF and key/value type ids, when it has BTF (bpftool then adds a "formatted" member). */
interface MapBtf {
  readonly btf: Btf;
  readonly keyTypeId: number;
  readonly valueTypeId: number;
}

function mapBtf(sys: Sys, fd: MapFd): MapBtf | undefined {
  const info = mapInfo(fd);
  if (!info.btfId || !info.btfValueTypeId) return undefined;
  try {
    using btfFd = fdById(sys, 'btf', info.btfId);
    return { btf: parseBtf(rawBtf(btfFd)), keyTypeId: info.btfKeyTypeId, valueTypeId: info.btfValueTypeId };
  } catch {
    return undefined;
  }
}

function entryJson(map: KernelMap, key: Uint8Array, values: Uint8Array[], btf: MapBtf | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = map.perCpu
    ? { key: hexList(key), values: values.map((v, cpu) => ({ cpu, value: hexList(v) })) }
    : { key: hexList(key), value: hexList(values[0]!) };
  if (btf) {
    try {
      const f: Record<string, unknown> = {};
      if (btf.keyTypeId) f['key'] = formatBtfValue(btf.btf, btf.keyTypeId, key);
      if (map.perCpu) f['values'] = values.map((v, cpu) => ({ cpu, value: formatBtfValue(btf.btf, btf.valueTypeId, v) }));
      else f['value'] = formatBtfValue(btf.btf, btf.valueTypeId, values[0]!);
      out['formatted'] = f;
    } catch {
      // A kind bpftool cannot dump either: raw bytes only.
    }
  }
  return out;
}

function entryText(map: KernelMap, key: Uint8Array, values: Uint8Array[]): string {
  if (!map.perCpu) return `key: ${hexText(key)}  value: ${hexText(values[0]!)}\n`;
  return `key:\n${hexText(key)}\n${values.map((v, cpu) => `value (CPU ${String(cpu).padStart(2, '0')}): ${hexText(v)}\n`).join('')}`;
}

/** The value bytes of an update: raw bytes, or a program / map fd for prog arrays and map-in-maps. */
function parseValue(sys: Sys, map: KernelMap, words: readonly string[], at: number, held: Fd[]): { value: Uint8Array; next: number } {
  const kw = words[at];
  const isProgArray = map.type === MapType.PROG_ARRAY;
  const isMapInMap = map.type === MapType.ARRAY_OF_MAPS || map.type === MapType.HASH_OF_MAPS;
  if ((isProgArray || isMapInMap) && kw !== undefined && ['id', 'name', 'tag', 'pinned'].includes(kw)) {
    const { ref, next } = parseRef(words, at, mapUsage, isProgArray ? ['id', 'name', 'tag', 'pinned'] : MAP_REF);
    const fds: Fd[] = isProgArray ? openPrograms(sys, ref) : openMaps(sys, ref);
    held.push(...fds);
    if (fds.length !== 1) throw new UsageError(`${refText(ref)} matches ${fds.length} objects`, mapUsage);
    const v = new Uint8Array(4);
    new DataView(v.buffer).setUint32(0, fds[0]!.raw, true);
    return { value: v, next };
  }
  const { bytes, next } = parseBytes(words, at, ['any', 'exist', 'noexist']);
  expectSize('value', bytes.length, map.valueSize);
  return { value: Uint8Array.from(bytes), next };
}

/** `bpfkit map ...` on the real kernel. */
export function map(args: CommandArgs, io: Io): number {
  return runMap(args, io, createKernelSys());
}

/** `bpfkit map ...` with an injected Sys. */
export function runMap(args: CommandArgs, io: Io, sys: Sys): number {
  const words = args.rest(0);
  const verb = words[0] ?? 'list';
  if (verb === 'list' || verb === 'show') {
    let records: MapRecord[];
    if (words.length > 1) {
      const { ref, next } = parseRef(words, 1, mapUsage, MAP_REF);
      if (next !== words.length) throw new UsageError(`unexpected argument '${words[next]}'`, mapUsage);
      const fds = openMaps(sys, ref);
      try {
        records = fds.map(describeMap);
      } finally {
        for (const fd of fds) fd.close();
      }
    } else {
      records = forEachObject(sys, 'map', describeMap);
    }
    const single = words.length > 1 && words[1] !== 'name' && records.length === 1;
    io.out(args.json ? json(single ? records[0] : records, args.pretty) : records.map(mapText).join(''));
    return 0;
  }
  if (!['dump', 'lookup', 'update', 'delete', 'pin'].includes(verb)) throw new UsageError(`unknown map command '${verb}'`, mapUsage);
  const { ref, next } = parseRef(words, 1, mapUsage, MAP_REF);
  using km = new KernelMap(openOneMap(sys, ref), refText(ref));
  const held: Fd[] = [];
  try {
    if (verb === 'dump') {
      if (next !== words.length) throw new UsageError(`unexpected argument '${words[next]}'`, mapUsage);
      // As bpftool: get-next-key, then a lookup per key; a key whose lookup finds nothing
      // (device maps' empty slots) is listed with the error and not counted.
      const btf = args.json ? mapBtf(sys, km.fd) : undefined;
      const docs: unknown[] = [];
      let text = '';
      let found = 0;
      for (const k of km.keys()) {
        const v = km.getPerCpu(k);
        if (v === undefined) {
          if (SILENT_MISSES.has(km.type)) continue; // bpftool skips empty prog-array / map-in-map slots
          docs.push({ key: hexList(k), value: { error: 'No such file or directory' } });
          text += `key: ${hexText(k)}  value: <no entry>\n`;
          continue;
        }
        found++;
        if (args.json) docs.push(entryJson(km, k, v, btf));
        else text += entryText(km, k, v);
      }
      io.out(args.json ? `${stringifyFormatted(docs, args.pretty)}\n` : `${text}Found ${found} element${found === 1 ? '' : 's'}\n`);
      return 0;
    }
    if (verb === 'pin') {
      const path = words[next];
      if (path === undefined) throw new UsageError('missing PATH', mapUsage);
      if (next + 1 !== words.length) throw new UsageError(`unexpected argument '${words[next + 1]}'`, mapUsage);
      pinObject(km.fd, path);
      io.out(args.json ? json({ pinned: path, id: mapInfo(km.fd).id }, args.pretty) : `pinned map id ${mapInfo(km.fd).id} at ${path}\n`);
      return 0;
    }
    if (words[next] !== 'key') throw new UsageError(`expected 'key', got '${words[next] ?? ''}'`, mapUsage);
    const k = parseBytes(words, next + 1, ['value', 'any', 'exist', 'noexist']);
    expectSize('key', k.bytes.length, km.keySize);
    const key = Uint8Array.from(k.bytes);
    if (verb === 'lookup' || verb === 'delete') {
      if (k.next !== words.length) throw new UsageError(`unexpected argument '${words[k.next]}'`, mapUsage);
      if (verb === 'delete') {
        if (!km.delete(key)) throw new KeyNotFoundError(refText(ref), k.bytes);
        if (args.json) io.out(json(null));
        return 0;
      }
      const values = km.getPerCpu(key);
      if (!values) throw new KeyNotFoundError(refText(ref), k.bytes);
      io.out(args.json ? `${stringifyFormatted(entryJson(km, key, values, mapBtf(sys, km.fd)), args.pretty)}\n` : entryText(km, key, values));
      return 0;
    }
    // update
    if (words[k.next] !== 'value') throw new UsageError(`expected 'value', got '${words[k.next] ?? ''}'`, mapUsage);
    const v = parseValue(sys, km, words, k.next + 1, held);
    const flag = words[v.next];
    if (flag !== undefined && !['any', 'exist', 'noexist'].includes(flag)) throw new UsageError(`unexpected argument '${flag}'`, mapUsage);
    if (v.next + (flag === undefined ? 0 : 1) !== words.length) throw new UsageError(`unexpected argument '${words[v.next + 1]}'`, mapUsage);
    km.set(key, v.value, (flag ?? 'any') as UpdateMode);
    if (args.json) io.out(json(null));
    return 0;
  } finally {
    for (const fd of held) fd.close();
  }
}
