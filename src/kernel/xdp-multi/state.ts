// The bpffs state of a bpfkit dispatcher: directory layout, the JSON config map, code blobs and stats maps.
//
//   ROOT/bpfkit/xdp/                     locked with flock(2) while read or changed
//     dispatch-IFINDEX-ID/               one interface's dispatcher (ID: the first dispatcher's prog id)
//       link                             the XDP bpf_link; keeps the dispatcher attached (updated in place)
//       config                           ARRAY map, one value: the JSON config (programs, order, mode)
//       progN                            program in slot N, loaded on its own: its id, its maps
//       codeN                            ARRAY map, frozen: slot N's instructions, map references as map ids
//       statsN                           ARRAY map, one 64-byte value: slot N's packets and verdicts
import { decode } from '../../isa/decode.js';
import { encode } from '../../isa/encode.js';
import { type Instruction, LDDW } from '../../isa/instruction.js';
import { PseudoLd } from '../../isa/opcodes.js';
import { MapType } from '../bpf/constants.js';
import { createMap } from '../bpf/map-create.js';
import { freezeMap, lookupElem, updateElem } from '../bpf/map-elem.js';
import type { MapFd } from '../bpf/map-fd.js';
import { mapFdById } from '../bpf/obj-id.js';
import { mapInfo } from '../bpf/obj-info.js';
import type { Sys } from '../sys.js';
import { STATS_LAYOUT } from './dispatcher.js';
import { XdpStateError } from './errors.js';

/** Size of the config map's one value (the JSON, NUL-padded). */
export const CONFIG_VALUE_SIZE = 16384;
/** What the config's `magic` says. */
export const STATE_MAGIC = 'bpfkit-xdp-dispatcher';
/** Version of the state layout. */
export const STATE_VERSION = 1;

/** Default top of the bpffs: `$BPFKIT_BPFFS`, else /sys/fs/bpf. */
export function defaultBpffs(): string {
  return (typeof process !== 'undefined' && process.env['BPFKIT_BPFFS']) || '/sys/fs/bpf';
}

/** The lock directory holding every interface's state under a bpffs top. */
export const stateRoot = (bpffs: string): string => `${bpffs.replace(/\/+$/, '')}/bpfkit/xdp`;

/** One program of a dispatcher, as the config records it. */
export interface ComponentRecord {
  /** Slot: names its progN/codeN/statsN pins; stays while the program is loaded. */
  readonly slot: number;
  /** Function name. */
  readonly name: string;
  /** Id of the program loaded on its own (`bpftool prog show id N`). */
  readonly progId: number;
  readonly priority: number;
  readonly chainCallActions: number;
  /** Load flags (BPF_F_XDP_HAS_FRAGS). */
  readonly flags: number;
  readonly license: string;
  /** Object file it came from, as given. */
  readonly file: string | undefined;
  /** Instruction slots. */
  readonly insns: number;
  /** Order of arrival (a tie-breaker). */
  readonly sequence: number;
}

/** The config map's JSON. */
export interface DispatcherConfig {
  readonly magic: string;
  readonly version: number;
  readonly ifindex: number;
  readonly ifname: string;
  readonly mode: 'skb' | 'native' | 'hw';
  /** Next arrival number. */
  readonly sequence: number;
  /** Programs in run order. */
  readonly components: readonly ComponentRecord[];
}

const KEY0 = new Uint8Array(4);

/** A one-entry ARRAY map of `valueSize` bytes. */
export function createValueMap(sys: Sys, name: string, valueSize: number, value?: Uint8Array): MapFd {
  const fd = createMap(sys, { type: MapType.ARRAY, keySize: 4, valueSize, maxEntries: 1, name });
  try {
    if (value) updateElem(fd, KEY0, value);
  } catch (err) {
    fd.close();
    throw err;
  }
  return fd;
}

/** Writes the config into its map. */
export function writeConfig(map: MapFd, config: DispatcherConfig): void {
  const text = new TextEncoder().encode(JSON.stringify(config));
  if (text.length >= CONFIG_VALUE_SIZE) throw new XdpStateError('config', `config of ${text.length} bytes does not fit ${CONFIG_VALUE_SIZE}`);
  const value = new Uint8Array(CONFIG_VALUE_SIZE);
  value.set(text);
  updateElem(map, KEY0, value);
}

/** Reads and checks the config from its map. */
export function readConfig(map: MapFd, dir: string): DispatcherConfig {
  const raw = lookupElem(map, KEY0);
  if (!raw) throw new XdpStateError(dir, 'the config map is empty');
  const end = raw.indexOf(0);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(raw.subarray(0, end < 0 ? raw.length : end)));
  } catch (err) {
    throw new XdpStateError(dir, `the config map does not hold bpfkit's JSON (${(err as Error).message})`);
  }
  const c = parsed as Partial<DispatcherConfig>;
  if (c.magic !== STATE_MAGIC) throw new XdpStateError(dir, 'the config map is not a bpfkit dispatcher config');
  if (c.version !== STATE_VERSION) throw new XdpStateError(dir, `state version ${c.version}, this bpfkit reads version ${STATE_VERSION}`);
  if (!Array.isArray(c.components)) throw new XdpStateError(dir, 'the config has no program list');
  return c as DispatcherConfig;
}

const isMapLoad = (i: Instruction): boolean => i.code === LDDW && (i.src === PseudoLd.MAP_FD || i.src === PseudoLd.MAP_VALUE);

/**
 * A program's instructions as stored in its code map: encoded, with each map load's fd
 * replaced by the map's id (fds do not outlive the process; ids do while the maps live).
 */
export function encodeCode(insns: readonly Instruction[], fdToId: (fd: number) => number): Uint8Array {
  return encode(insns.map((i) => (isMapLoad(i) ? { ...i, imm: fdToId(i.imm), reference: undefined } : i)));
}

/**
 * Decodes a stored program and opens its maps by id; returns the instructions with fds in
 * the map loads and the fds (the caller closes them once the dispatcher is loaded).
 */
export function decodeCode(sys: Sys, bytes: Uint8Array, dir: string): { code: Instruction[]; maps: MapFd[] } {
  const maps: MapFd[] = [];
  const byId = new Map<number, MapFd>();
  try {
    const code = decode(bytes).map((i) => {
      if (!isMapLoad(i)) return i;
      let fd = byId.get(i.imm);
      if (!fd) {
        try {
          fd = mapFdById(sys, i.imm);
        } catch (err) {
          throw new XdpStateError(dir, `a program's map id ${i.imm} is gone (${(err as Error).message})`);
        }
        byId.set(i.imm, fd);
        maps.push(fd);
      }
      return { ...i, imm: fd.raw };
    });
    return { code, maps };
  } catch (err) {
    for (const m of maps) m.close();
    throw err;
  }
}

/** A frozen code map holding `bytes`. */
export function createCodeMap(sys: Sys, bytes: Uint8Array): MapFd {
  const fd = createValueMap(sys, 'bpfkit_code', bytes.length, bytes);
  try {
    freezeMap(fd);
  } catch (err) {
    fd.close();
    throw err;
  }
  return fd;
}

/** The bytes of a code map. */
export function readCode(map: MapFd, dir: string): Uint8Array {
  const raw = lookupElem(map, KEY0);
  if (!raw || raw.length % 8 !== 0) throw new XdpStateError(dir, 'a code map is empty or not a whole number of instructions');
  return raw;
}

/** Packets and verdicts one program saw (since it was loaded). */
export interface XdpProgramStats {
  /** Packets the program ran on. */
  readonly packets: bigint;
  /** Per verdict: `XDP_ABORTED`... `XDP_REDIRECT`, and `other`. */
  readonly verdicts: Readonly<Record<string, bigint>>;
}

const VERDICT_KEYS = ['XDP_ABORTED', 'XDP_DROP', 'XDP_PASS', 'XDP_TX', 'XDP_REDIRECT'] as const;

/** Decodes a stats value. */
export function decodeStats(raw: Uint8Array | undefined): XdpProgramStats {
  const dv = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  const at = (off: number): bigint => (dv && off + 8 <= dv.byteLength ? dv.getBigUint64(off, true) : 0n);
  const verdicts: Record<string, bigint> = {};
  VERDICT_KEYS.forEach((k, i) => (verdicts[k] = at(STATS_LAYOUT.verdicts + i * 8)));
  verdicts['other'] = at(STATS_LAYOUT.other);
  return { packets: at(STATS_LAYOUT.packets), verdicts };
}

/** Reads a stats map. */
export function readStats(map: MapFd): XdpProgramStats {
  return decodeStats(lookupElem(map, KEY0));
}

/** The id of the map behind `fd`. */
export const mapIdOf = (fd: MapFd): number => mapInfo(fd).id;
