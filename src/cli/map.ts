// `bpfkit map list|show|dump|lookup|update|delete|pin`: bpftool's map commands and grammar, on KernelMap.
import { BpfkitError } from '../errors.js';
import { mapTypeName } from '../isa/map-types.js';
import { MapType } from '../kernel/bpf/constants.js';
import { type MapFd } from '../kernel/bpf/map-fd.js';
import { mapInfo, toMapFd, type MapInfo } from '../kernel/bpf/obj-info.js';
import { fdById, mapFdById } from '../kernel/bpf/obj-id.js';
import { openPinnedMap, pinObject } from '../kernel/bpf/obj-pin.js';
import type { Fd } from '../kernel/fd.js';
import { describeMap, type MapRecord } from '../kernel/introspect/map-show.js';
import { forEachObject } from '../kernel/introspect/prog-show.js';
import { KernelMap } from '../kernel/kernel-map.js';
import { createKernelSys } from '../kernel/koffi-sys.js';
import type { Sys } from '../kernel/sys.js';
import type { UpdateMode } from '../maps/bpf-map.js';
import { readFileSync } from 'node:fs';
import { BpftoolJsonWriter, parseBtf, writeBtfValue, type Btf, type ValueFormatMode } from '../btf/index.js';
import { rawBtf } from '../kernel/introspect/info-buffers.js';
import type { CommandArgs } from './args.js';
import { UsageError } from './errors.js';
import { type Io, json } from './output.js';
import { eventPipe } from './map-event-pipe.js';
import { NoSuchObjectError, openPrograms, parseRef, refText, type ObjectRef } from './prog.js';

/** Usage text of `map`. */
export const mapUsage = [
  'bpfkit map { list | show } [MAP]',
  '       bpfkit map dump MAP',
  '       bpfkit map lookup MAP key DATA',
  '       bpfkit map update MAP key DATA value VALUE [any | exist | noexist]',
  '       bpfkit map delete MAP key DATA',
  '       bpfkit map pin MAP PATH',
  '       bpfkit map event-pipe MAP [cpu N index M] [type NAME [obj FILE]] [count N] [duration S]',
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

/** bpftool's fprint_hex: bytes separated by spaces, two spaces after each 8, a new line after each 16. */
const hexText = (b: Uint8Array): string =>
  [...b].map((x, i) => `${i === 0 ? '' : i % 16 === 0 ? '\n' : i % 8 === 0 ? '  ' : ' '}${x.toString(16).padStart(2, '0')}`).join('');

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

/** The map's BTF and key/value type ids, when it has BTF (bpftool's get_map_kv_btf). */
interface MapBtf {
  readonly btf: Btf;
  readonly keyTypeId: number;
  readonly valueTypeId: number;
}

/**
 * bpftool's get_map_kv_btf: vmlinux's BTF for a struct_ops map's value, else the map's own BTF
 * when it names a value type; undefined when there is none or it cannot be read (raw bytes only).
 */
function mapBtf(sys: Sys, info: MapInfo): MapBtf | undefined {
  try {
    if (info.btfVmlinuxValueTypeId) {
      return { btf: parseBtf(new Uint8Array(readFileSync('/sys/kernel/btf/vmlinux'))), keyTypeId: info.btfKeyTypeId, valueTypeId: info.btfVmlinuxValueTypeId };
    }
    if (!info.btfId || !info.btfValueTypeId) return undefined;
    using btfFd = fdById(sys, 'btf', info.btfId);
    return { btf: parseBtf(rawBtf(btfFd)), keyTypeId: info.btfKeyTypeId, valueTypeId: info.btfValueTypeId };
  } catch {
    return undefined;
  }
}

/** print_hex_data_json: `["0x01","0x02"]`. */
function writeHex(w: BpftoolJsonWriter, b: Uint8Array): void {
  w.startArray();
  for (const x of b) w.raw(`"0x${x.toString(16).padStart(2, '0')}"`);
  w.endArray();
}

/** do_dump_btf: `{"key": ..., "value": ...}` (or `"values": [{"cpu": N, "value": ...}]`) formatted from BTF. */
function writeBtfEntry(w: BpftoolJsonWriter, map: KernelMap, btf: MapBtf, key: Uint8Array, values: Uint8Array[], mode: ValueFormatMode): void {
  w.startObject();
  let ok = true;
  if (btf.keyTypeId) {
    w.name('key');
    ok = writeBtfValue(w, btf.btf, btf.keyTypeId, key, mode);
  }
  if (ok && !map.perCpu) {
    w.name('value');
    writeBtfValue(w, btf.btf, btf.valueTypeId, values[0]!, mode);
  } else if (ok) {
    w.name('values').startArray();
    for (const [cpu, v] of values.entries()) {
      w.startObject().field('cpu', cpu).name('value');
      const done = writeBtfValue(w, btf.btf, btf.valueTypeId, v, mode);
      w.endObject();
      if (!done) break;
    }
    w.endArray();
  }
  w.endObject();
}

/** print_entry_json: the hex key and value(s), and `"formatted"` when the map has BTF. */
function writeJsonEntry(w: BpftoolJsonWriter, map: KernelMap, key: Uint8Array, values: Uint8Array[], btf: MapBtf | undefined): void {
  w.startObject().name('key');
  writeHex(w, key);
  if (!map.perCpu) {
    w.name('value');
    writeHex(w, values[0]!);
  } else {
    w.name('values').startArray();
    for (const [cpu, v] of values.entries()) {
      w.startObject().field('cpu', cpu).name('value');
      writeHex(w, v);
      w.endObject();
    }
    w.endArray();
  }
  if (btf) {
    w.name('formatted');
    writeBtfEntry(w, map, btf, key, values, 'json');
  }
  w.endObject();
}

/** print_entry_plain: bpftool's hex lines for a map without BTF. */
function entryText(map: KernelMap, key: Uint8Array, values: Uint8Array[]): string {
  let out = '';
  if (!map.perCpu) {
    const breakNames = map.keySize > 16 || map.valueSize > 16;
    const singleLine = map.keySize + map.valueSize <= 24 && !breakNames;
    const sp = breakNames ? '\n' : ' ';
    if (map.keySize) out += `key:${sp}${hexText(key)}${singleLine ? '  ' : '\n'}`;
    if (map.valueSize) {
      out += `value:${sp}${hexText(values[0]!)}`; // bpftool 7.1 prints map-in-map values as bytes too (no inner_map_id)
    }
    return `${out}\n`;
  }
  if (map.keySize) out += `key:\n${hexText(key)}\n`;
  if (map.valueSize) for (const [cpu, v] of values.entries()) out += `value (CPU ${String(cpu).padStart(2, '0')}):${map.valueSize > 16 ? '\n' : ' '}${hexText(v)}\n`;
  return out;
}

/** print_entry_error_msg: a key whose lookup failed, with the message. */
function errorText(map: KernelMap, key: Uint8Array, msg: string): string {
  const breakNames = map.keySize > 16 || msg.length > 16;
  const singleLine = map.keySize + msg.length <= 24 && !breakNames;
  const sp = breakNames ? '\n' : ' ';
  return `key:${sp}${hexText(key)}${singleLine ? '  ' : '\n'}value:${sp}${msg}\n`;
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

/**
 * `map dump` as bpftool prints it: with -j the hex key/value and the BTF `"formatted"` member;
 * as text, bpftool's pretty BTF dump (`[{ "key": ..., "value": {...} }]`) when every map has
 * BTF, else hex lines and "Found N elements". Keys come from get-next-key and a lookup each; a
 * key whose lookup finds nothing is listed with the error (not for prog arrays and map-in-maps).
 * Several maps (a name matching several) dump one after another, each under a header (its id,
 * type, name and flags), inside one array in the JSON and BTF forms, as bpftool does.
 */
function dumpText(sys: Sys, kms: readonly KernelMap[], jsonOut: boolean, pretty: boolean): string {
  const infos = kms.map((km) => mapInfo(km.fd));
  const plainBtf = !jsonOut && infos.every((i) => i.btfId !== 0);
  const w = jsonOut || plainBtf ? new BpftoolJsonWriter(jsonOut ? pretty : true) : undefined;
  const multi = kms.length > 1;
  let text = '';
  if (w && multi) w.startArray();
  kms.forEach((km, i) => {
    text += dumpOne(sys, km, infos[i]!, w, jsonOut, multi);
    if (!w && i !== kms.length - 1) text += '\n';
  });
  if (w && multi) w.endArray();
  return w ? `${w.text()}\n` : text;
}

/** bpftool's map_dump of one map: to the writer `w` (JSON or BTF text), else returned as hex text. */
function dumpOne(sys: Sys, km: KernelMap, info: MapInfo, w: BpftoolJsonWriter | undefined, jsonOut: boolean, header: boolean): string {
  const btf = w ? mapBtf(sys, info) : undefined;
  let text = '';
  let found = 0;
  if (w) {
    if (header) {
      w.startObject().field('id', info.id);
      const type = mapTypeName(info.type);
      if (type.startsWith('type ')) w.field('type', info.type);
      else w.stringField('type', type);
      if (info.name) w.stringField('name', info.name);
      w.field('flags', info.flags).name('elements');
    }
    w.startArray();
  } else if (header) {
    text += `${info.id}: ${mapTypeName(info.type)}  ${info.name ? `name ${info.name}  ` : ''}flags 0x${info.flags.toString(16)}\n`;
  }
  for (const k of km.keys()) {
    const v = km.getPerCpu(k);
    if (v === undefined) {
      if (SILENT_MISSES.has(km.type)) continue;
      if (jsonOut) {
        w!.startObject().name('key');
        writeHex(w!, k);
        w!.name('value').startObject().stringField('error', 'No such file or directory').endObject().endObject();
      } else if (w) w.verbatim(errorText(km, k, '<no entry>'));
      else text += errorText(km, k, '<no entry>');
      continue;
    }
    found++;
    if (jsonOut) writeJsonEntry(w!, km, k, v, btf);
    else if (w && btf) writeBtfEntry(w, km, btf, k, v, 'plain');
    else if (w) w.verbatim(entryText(km, k, v));
    else text += entryText(km, k, v);
  }
  if (w) {
    w.endArray();
    if (header) w.endObject();
    return '';
  }
  return `${text}Found ${found} element${found === 1 ? '' : 's'}\n`;
}

/** `bpfkit map ...` on the real kernel. */
export function map(args: CommandArgs, io: Io): number | Promise<number> {
  return runMap(args, io, createKernelSys());
}

/** `bpfkit map ...` with an injected Sys (`event-pipe` runs until stopped, so it returns a promise). */
export function runMap(args: CommandArgs, io: Io, sys: Sys): number | Promise<number> {
  const words = args.rest(0);
  const verb = words[0] ?? 'list';
  if (verb === 'event-pipe' || verb === 'event_pipe') {
    const { ref, next } = parseRef(words, 1, mapUsage, MAP_REF);
    const fds = openMaps(sys, ref);
    if (fds.length !== 1) {
      for (const fd of fds) fd.close();
      throw new UsageError(`${refText(ref)} names ${fds.length} maps; event-pipe reads one (use id N)`, mapUsage);
    }
    return eventPipe(fds[0] as MapFd, words.slice(next), args.json, io, sys);
  }
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
  if (verb === 'dump') {
    if (next !== words.length) throw new UsageError(`unexpected argument '${words[next]}'`, mapUsage);
    // A name may match several maps: bpftool dumps each of them.
    const kms = openMaps(sys, ref).map((fd) => new KernelMap(fd, refText(ref)));
    try {
      io.out(dumpText(sys, kms, args.json, args.pretty));
    } finally {
      for (const km of kms) km.close();
    }
    return 0;
  }
  using km = new KernelMap(openOneMap(sys, ref), refText(ref));
  const held: Fd[] = [];
  try {
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
      const btf = mapBtf(sys, mapInfo(km.fd));
      if (args.json) {
        const w = new BpftoolJsonWriter(args.pretty);
        writeJsonEntry(w, km, key, values, btf);
        io.out(`${w.text()}\n`);
      } else if (btf) {
        const w = new BpftoolJsonWriter(true);
        writeBtfEntry(w, km, btf, key, values, 'plain');
        io.out(`${w.text()}\n`);
      } else {
        io.out(entryText(km, key, values));
      }
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
