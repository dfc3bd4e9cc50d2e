// XdpMultiProg: several XDP programs on one interface through bpfkit's dispatcher, shared between processes through bpffs.
import type { ObjectSpec } from '../../elf/object-spec.js';
import { BpfkitError } from '../../errors.js';
import { encode } from '../../isa/encode.js';
import { decode } from '../../isa/decode.js';
import { BpfProgLoadFlags } from '../../isa/program-types.js';
import { actionNames, sortChain, xdpRunConfig, type ChainOrderKey } from '../../runtime/xdp-run-config.js';
import { resolveInterface, type InterfaceRef } from '../attach/interface.js';
import { detachXdp, XDP_MODE_FLAG, type XdpMode } from '../attach/xdp.js';
import { AttachType, ProgType } from '../bpf/constants.js';
import { createLink, detachLink, updateLink } from '../bpf/link.js';
import type { MapFd } from '../bpf/map-fd.js';
import { fdById, mapFdById } from '../bpf/obj-id.js';
import { linkInfo, mapInfo, programInfo } from '../bpf/obj-info.js';
import { getPinnedObject, openPinnedMap, pinObject } from '../bpf/obj-pin.js';
import { loadProgram } from '../bpf/prog-load.js';
import type { Fd } from '../fd.js';
import { NotSupportedError } from '../../errors.js';
import { haveFeature } from '../feature-probe.js';
import { KernelMap } from '../kernel-map.js';
import { listLinks, openRtnetlink, type LinkAttrs } from '../netlink/rtnetlink.js';
import type { NetlinkSocket } from '../netlink/socket.js';
import { loadKernelObject, type KernelObject } from '../object/load-object.js';
import type { Sys } from '../sys.js';
import { nodeBpffs, type BpffsPort } from './bpffs.js';
import { dispatcherInstructions, STATS_LAYOUT } from './dispatcher.js';
import { PlainXdpProgramError, TooManyXdpProgramsError, XdpDispatcherVersionError, XdpModeMismatchError, XdpProgramNotFoundError, XdpStateError } from './errors.js';
import { LibxdpMultiProg, type LibxdpComponent, type LibxdpComponentToLoad, type LibxdpPorts } from './libxdp-load.js';
import { freplaceFeature, inspectLibxdp, LIBXDP_DISPATCHER_NAME, XDP_DISPATCHER_VERSION } from './libxdp.js';
import {
  type ComponentRecord,
  createCodeMap,
  createValueMap,
  CONFIG_VALUE_SIZE,
  decodeCode,
  defaultBpffs,
  type DispatcherConfig,
  encodeCode,
  readCode,
  readConfig,
  readStats,
  STATE_MAGIC,
  STATE_VERSION,
  stateRoot,
  writeConfig,
  type XdpProgramStats,
} from './state.js';

/** Programs one bpfkit dispatcher holds (as libxdp's). */
export const XDP_DISPATCHER_SLOTS = 10;
/** The dispatcher's program name (`bpftool prog show` prints it). */
export const BPFKIT_DISPATCHER_NAME = 'bpfkit_dispatch';

/** One program to put on the interface. */
export interface XdpProgramToLoad {
  /** The parsed object. */
  readonly spec: ObjectSpec;
  /** Program name; default: the object's only XDP program. */
  readonly program?: string;
  /** Run priority (lower first); default: the object's `.xdp_run_config`, else 50. */
  readonly priority?: number;
  /** Chain-call actions bit mask; default: the object's `.xdp_run_config`, else XDP_PASS. */
  readonly chainCallActions?: number;
  /** Where it came from (shown by status). */
  readonly file?: string;
}

/** Options of {@link XdpMultiProg.open}. */
export interface XdpMultiOptions {
  /** Top of the bpffs holding the state; default `$BPFKIT_BPFFS` or /sys/fs/bpf. State goes in `<bpffs>/bpfkit/xdp`. */
  readonly bpffs?: string;
  /** Filesystem port (tests). */
  readonly fs?: BpffsPort;
  /** Ports of libxdp's load path, used where the kernel permits freplace (tests). */
  readonly libxdpPorts?: LibxdpPorts;
}

/** One program of an interface's dispatcher. */
export interface XdpProgramStatus {
  /** Position in the run order (0 runs first). */
  readonly position: number;
  /** Dispatcher slot (stable while loaded). */
  readonly slot: number;
  /** Function name. */
  readonly name: string;
  /** Program id of the program loaded on its own (its maps, `bpftool prog show id`). */
  readonly id: number;
  /** Its tag. */
  readonly tag: string;
  readonly priority: number;
  /** Chain-call actions as a bit mask and by name. */
  readonly chainCallActions: number;
  readonly actions: readonly string[];
  /** Ids of its maps. */
  readonly mapIds: readonly number[];
  /** Packets and verdicts counted by the dispatcher for this program. */
  readonly stats: XdpProgramStats;
  /** The object file it was loaded from. */
  readonly file: string | undefined;
}

/** What runs on one interface's XDP hook. */
export interface XdpInterfaceStatus {
  readonly ifindex: number;
  readonly ifname: string;
  /** `bpfkit` (bpfkit's dispatcher), `libxdp` (libxdp's), `plain` (one program), `none`. */
  readonly kind: 'bpfkit' | 'libxdp' | 'plain' | 'none';
  /** Attach mode. */
  readonly mode: XdpMode | undefined;
  /** Id of the program attached (the dispatcher, or the plain program). */
  readonly progId: number | undefined;
  /** Name of the program attached. */
  readonly progName: string | undefined;
  /** Link id of a bpfkit dispatcher. */
  readonly linkId: number | undefined;
  /** The state directory of a bpfkit dispatcher. */
  readonly stateDir: string | undefined;
  /** The programs, in run order (bpfkit and libxdp dispatchers). */
  readonly programs: readonly XdpProgramStatus[];
  /** libxdp dispatcher protocol version, for `kind: 'libxdp'`. */
  readonly libxdpVersion?: number;
}

/** What {@link XdpMultiProg.unload} removed. */
export interface XdpUnloaded {
  readonly id: number;
  readonly name: string;
}

/** What is attached now, as read under the lock. */
type Occupant =
  | { kind: 'none' }
  | { kind: 'plain'; progId: number; name: string; mode: XdpMode }
  | { kind: 'libxdp'; progId: number; name: string; mode: XdpMode }
  | { kind: 'bpfkit'; progId: number; mode: XdpMode; dir: string; link: Fd<'link'>; configMap: MapFd; config: DispatcherConfig };

/** A program already on the dispatcher or being added, while a new dispatcher is built. */
interface Member extends ChainOrderKey {
  readonly record: ComponentRecord;
  readonly code: ReturnType<typeof decode>;
  readonly statsMap: MapFd;
}

const FRAGS = BpfProgLoadFlags.XDP_HAS_FRAGS;
const GPL = new Set(['GPL', 'GPL v2', 'GPL and additional rights', 'Dual BSD/GPL', 'Dual MIT/GPL', 'Dual MPL/GPL']);

function attachedMode(dev: LinkAttrs): { mode: XdpMode; progId: number } | undefined {
  const x = dev.xdp;
  if (x.drvProgId) return { mode: 'native', progId: x.drvProgId };
  if (x.skbProgId) return { mode: 'skb', progId: x.skbProgId };
  if (x.hwProgId) return { mode: 'hw', progId: x.hwProgId };
  return undefined;
}

/** The XDP program of `p` to load: the one named, or the object's only one. */
function pickXdpProgram(p: XdpProgramToLoad): ObjectSpec['programs'][number] {
    const xdp = p.spec.programs.filter((x) => x.type === ProgType.XDP);
    const progSpec = p.program !== undefined ? p.spec.programs.find((x) => x.name === p.program) : xdp.length === 1 ? xdp[0] : undefined;
    if (!progSpec) {
      const names = p.spec.programs.map((x) => x.name).join(', ') || 'none';
      throw new BpfkitError('ERR_XDP_PROGRAM', p.program !== undefined ? `${p.file ?? 'object'}: no program "${p.program}" (it has: ${names})` : `${p.file ?? 'object'}: ${xdp.length === 0 ? 'no XDP program' : 'several XDP programs'} (programs: ${names}); name one (--prog NAME)`);
    }
    if (progSpec.type !== ProgType.XDP) throw new BpfkitError('ERR_XDP_PROGRAM', `${p.file ?? 'object'}: program "${progSpec.name}" is not an XDP program (section "${progSpec.section}")`);
  return progSpec;
}

/** A program as libxdp's load path takes it: priority and actions from the options, else `.xdp_run_config`. */
function libxdpComponent(p: XdpProgramToLoad): LibxdpComponentToLoad {
  const progSpec = pickXdpProgram(p);
  const rc = xdpRunConfig(p.spec, progSpec.name);
  return { spec: p.spec, program: progSpec.name, priority: p.priority ?? rc.priority, chainCallActions: p.chainCallActions ?? rc.chainCallActions, flags: progSpec.flags };
}

/** A libxdp component as the records status and XdpProgram use. */
const libxdpRecord = (c: LibxdpComponent): ComponentRecord => ({ slot: c.slot, name: c.name, progId: c.id, priority: c.priority, chainCallActions: c.chainCallActions, flags: c.flags, license: '', file: undefined, insns: 0, sequence: c.slot });

/**
 * Several XDP programs on one interface. Programs are loaded on their own (keeping their id and
 * maps) and their code is linked into one dispatcher program that calls them in run order,
 * honouring each one's chain-call actions; adding or removing a program builds a new dispatcher
 * and swaps it in with BPF_LINK_UPDATE, so every packet meets either the old chain or the new
 * one. The state lives in bpffs (`<bpffs>/bpfkit/xdp/dispatch-IFINDEX-ID`), under a flock(2),
 * so other processes (and other `bpfkit` commands) see and change the same dispatcher.
 *
 * ```ts
 * const multi = XdpMultiProg.open(sys, 'eth0');
 * const [counter] = multi.load([{ spec: loadObject(bytes), file: 'counter.o' }], { mode: 'native' });
 * counter.map('counts').get(key);
 * ```
 */
export class XdpMultiProg {
  readonly #sys: Sys;
  readonly #iface: InterfaceRef;
  readonly #fs: BpffsPort;
  readonly #bpffs: string;
  readonly #libxdpPorts: LibxdpPorts | undefined;
  /** Directory holding every interface's state (`<bpffs>/bpfkit/xdp`). */
  readonly root: string;

  private constructor(sys: Sys, iface: InterfaceRef, options: XdpMultiOptions) {
    this.#sys = sys;
    this.#iface = iface;
    this.#fs = options.fs ?? nodeBpffs(sys);
    this.#bpffs = options.bpffs ?? defaultBpffs();
    this.#libxdpPorts = options.libxdpPorts;
    this.root = stateRoot(this.#bpffs);
  }

  /** A handle on `iface`'s XDP hook; holds nothing open between calls. */
  static open(sys: Sys, iface: InterfaceRef, options: XdpMultiOptions = {}): XdpMultiProg {
    return new XdpMultiProg(sys, iface, options);
  }

  /** Status of every interface of this network namespace with an XDP program. */
  static statusAll(sys: Sys, options: XdpMultiOptions = {}): XdpInterfaceStatus[] {
    let devs: LinkAttrs[];
    {
      using sock = openRtnetlink(sys);
      devs = listLinks(sock);
    }
    return devs.map((d) => XdpMultiProg.open(sys, d.ifindex, options).status());
  }

  /**
   * Loads `programs` onto the interface: on the dispatcher already there, or on a new one
   * (attached in `mode`; default: the kernel's choice). Throws {@link TooManyXdpProgramsError},
   * {@link XdpModeMismatchError}, {@link PlainXdpProgramError}, {@link XdpDispatcherVersionError}
   * before anything is attached; on any failure nothing of this call stays loaded or pinned.
   */
  load(programs: readonly XdpProgramToLoad[], options: { mode?: XdpMode } = {}): XdpProgram[] {
    if (programs.length === 0) throw new BpfkitError('ERR_USAGE', 'no program to load');
    const sys = this.#sys;
    return this.#locked((sock, dev, cur) => {
      if (this.#libxdpPath(cur)) {
        const added = this.#libxdp(dev.ifindex).load(programs.map(libxdpComponent), options.mode);
        return added.map((c) => new XdpProgram(sys, libxdpRecord(c), dev.name));
      }
      this.#refuseForeign(dev, cur);
      const existing = cur.kind === 'bpfkit' ? cur.config.components : [];
      if (existing.length + programs.length > XDP_DISPATCHER_SLOTS) throw new TooManyXdpProgramsError(dev.name, XDP_DISPATCHER_SLOTS, existing.length, programs.length);
      if (cur.kind === 'bpfkit' && options.mode && options.mode !== cur.mode) throw new XdpModeMismatchError(dev.name, cur.mode, options.mode);
      const cleanup: (() => void)[] = [];
      const pins: string[] = [];
      try {
        const members = cur.kind === 'bpfkit' ? this.#existingMembers(cur, cleanup) : [];
        let sequence = cur.kind === 'bpfkit' ? cur.config.sequence : 0;
        const used = new Set(existing.map((c) => c.slot));
        const added: { member: Member; obj: KernelObject; prog: Fd<'prog'>; codeMap: MapFd }[] = [];
        for (const p of programs) {
          const slot = [...Array(XDP_DISPATCHER_SLOTS).keys()].find((s) => !used.has(s))!;
          used.add(slot);
          const a = this.#prepare(p, slot, sequence++, cleanup);
          added.push(a);
          members.push(a.member);
        }
        const ordered = sortChain(members);
        using disp = this.#loadDispatcher(ordered);
        const dispId = programInfo(disp).id;
        const dir = cur.kind === 'bpfkit' ? cur.dir : `${this.root}/dispatch-${dev.ifindex}-${dispId}`;
        if (cur.kind !== 'bpfkit') {
          this.#fs.mkdirs(dir);
          pins.push(dir);
        }
        for (const a of added) {
          for (const [what, fd] of [['prog', a.prog], ['code', a.codeMap], ['stats', a.member.statsMap]] as const) {
            const path = `${dir}/${what}${a.member.record.slot}`;
            this.#fs.remove(path); // a leftover of a process that died before its swap
            pinObject(fd, path);
            pins.push(path);
          }
        }
        const config: DispatcherConfig = {
          magic: STATE_MAGIC,
          version: STATE_VERSION,
          ifindex: dev.ifindex,
          ifname: dev.name,
          mode: cur.kind === 'bpfkit' ? cur.mode : (options.mode ?? 'skb'),
          sequence,
          components: ordered.map((m) => m.record),
        };
        if (cur.kind === 'bpfkit') {
          using old = fdById(sys, 'prog', cur.progId);
          updateLink(cur.link, disp, { oldProg: old });
          writeConfig(cur.configMap, config);
        } else {
          using cfg = createValueMap(sys, 'bpfkit_xdp_cfg', CONFIG_VALUE_SIZE);
          writeConfig(cfg, config);
          pinObject(cfg, `${dir}/config`);
          pins.push(`${dir}/config`);
          using link = createLink(sys, { prog: disp, attachType: AttachType.XDP, targetIfindex: dev.ifindex, flags: options.mode ? XDP_MODE_FLAG[options.mode] : 0 });
          pinObject(link, `${dir}/link`);
          pins.push(`${dir}/link`);
          // The kernel chose the mode when none was asked for: record the one it took.
          const now = attachedMode(resolveInterface(sock, dev.ifindex));
          if (!options.mode && now && now.mode !== config.mode) writeConfig(cfg, { ...config, mode: now.mode });
        }
        pins.length = 0; // committed
        return added.map((a) => new XdpProgram(sys, a.member.record, dev.name));
      } catch (err) {
        for (const p of pins.reverse()) this.#fs.remove(p);
        throw err instanceof BpfkitError ? err.withContext(`xdp load on ${dev.name}`) : err;
      } finally {
        for (const c of cleanup.reverse()) c();
      }
    });
  }

  /**
   * Unloads the program with id `id` (as status lists it). The dispatcher is rebuilt without it
   * and swapped in; when it was the last one, the dispatcher is detached. A plain program with
   * that id is detached, as xdp-loader does.
   */
  unload(id: number): XdpUnloaded[] {
    return this.#locked((sock, dev, cur) => {
      if (cur.kind === 'libxdp' && this.#libxdpPath(cur)) return this.#libxdp(dev.ifindex).unload(id).map((c) => ({ id: c.id, name: c.name }));
      if (cur.kind === 'plain' && cur.progId === id) return this.#detachPlain(dev, cur);
      if (cur.kind !== 'bpfkit') throw new XdpProgramNotFoundError(dev.name, id, cur.kind === 'none' ? [] : [cur.progId]);
      const gone = cur.config.components.find((c) => c.progId === id);
      if (!gone) throw new XdpProgramNotFoundError(dev.name, id, cur.config.components.map((c) => c.progId));
      const rest = cur.config.components.filter((c) => c !== gone);
      if (rest.length === 0) return this.#dismantle(cur);
      const cleanup: (() => void)[] = [];
      try {
        const members = this.#existingMembers({ ...cur, config: { ...cur.config, components: rest } }, cleanup);
        using disp = this.#loadDispatcher(members);
        using old = fdById(this.#sys, 'prog', cur.progId);
        updateLink(cur.link, disp, { oldProg: old });
        writeConfig(cur.configMap, { ...cur.config, components: rest });
      } catch (err) {
        throw err instanceof BpfkitError ? err.withContext(`xdp unload on ${dev.name}`) : err;
      } finally {
        for (const c of cleanup.reverse()) c();
      }
      for (const what of ['prog', 'code', 'stats']) this.#fs.remove(`${cur.dir}/${what}${gone.slot}`);
      return [{ id: gone.progId, name: gone.name }];
    });
  }

  /** Unloads everything: detaches the dispatcher (or a plain program) and removes every pin. */
  unloadAll(): XdpUnloaded[] {
    return this.#locked((sock, dev, cur) => {
      if (cur.kind === 'bpfkit') return this.#dismantle(cur);
      if (cur.kind === 'plain') return this.#detachPlain(dev, cur);
      if (cur.kind === 'libxdp' && this.#libxdpPath(cur)) return this.#libxdp(dev.ifindex).unloadAll().map((c) => ({ id: c.id, name: c.name }));
      if (cur.kind === 'libxdp') throw new BpfkitError('ERR_XDP_FOREIGN_DISPATCHER', `${dev.name}: a libxdp dispatcher (prog ${cur.progId}) is attached; unload it with xdp-loader unload ${dev.name} --all`);
      return [];
    });
  }

  /** What runs on the interface. */
  status(): XdpInterfaceStatus {
    return this.#locked((_sock, dev, cur) => {
      const base = { ifindex: dev.ifindex, ifname: dev.name };
      if (cur.kind === 'none') return { ...base, kind: 'none', mode: undefined, progId: undefined, progName: undefined, linkId: undefined, stateDir: undefined, programs: [] };
      if (cur.kind !== 'bpfkit') {
        const lib = cur.kind === 'libxdp' ? inspectLibxdp(this.#sys, cur.progId) : undefined;
        const programs = lib?.version === XDP_DISPATCHER_VERSION ? this.#libxdpPrograms(dev.ifindex) : [];
        return { ...base, kind: cur.kind, mode: cur.mode, progId: cur.progId, progName: cur.name, linkId: undefined, stateDir: undefined, programs, ...(lib ? { libxdpVersion: lib.version } : {}) };
      }
      const programs = cur.config.components.map((c, position): XdpProgramStatus => {
        let tag = '';
        let mapIds: readonly number[] = [];
        try {
          using p = fdById(this.#sys, 'prog', c.progId);
          const info = programInfo(p);
          tag = info.tag;
          mapIds = info.mapIds;
        } catch {
          // gone: shown without tag
        }
        let stats: XdpProgramStats = { packets: 0n, verdicts: {} };
        try {
          using s = openPinnedMap(this.#sys, `${cur.dir}/stats${c.slot}`);
          stats = readStats(s);
        } catch {
          // no stats pin: zeros
        }
        return { position, slot: c.slot, name: c.name, id: c.progId, tag, priority: c.priority, chainCallActions: c.chainCallActions, actions: actionNames(c.chainCallActions), mapIds, stats, file: c.file };
      });
      return { ...base, kind: 'bpfkit', mode: cur.mode, progId: cur.progId, progName: BPFKIT_DISPATCHER_NAME, linkId: linkInfo(cur.link).id, stateDir: cur.dir, programs };
    }, false);
  }

  /** The programs on the interface's dispatcher, in run order, as handles that open their maps. */
  programs(): XdpProgram[] {
    return this.#locked((_sock, dev, cur) => (cur.kind === 'bpfkit' ? cur.config.components.map((c) => new XdpProgram(this.#sys, c, dev.name)) : []), false);
  }

  /** Runs `fn` with the state lock held, the interface resolved and its occupant read. */
  #locked<T>(fn: (sock: NetlinkSocket, dev: LinkAttrs, cur: Occupant) => T, create = true): T {
    this.#fs.checkBpffs(this.root);
    // Reading needs no state directory: without one there is no bpfkit dispatcher to lock.
    const stateless = !create && !this.#fs.exists(this.root);
    if (!stateless) this.#fs.mkdirs(this.root);
    using _lock = stateless ? undefined : this.#fs.lock(this.root);
    using sock = openRtnetlink(this.#sys);
    const dev = resolveInterface(sock, this.#iface);
    const cur = this.#occupant(dev);
    try {
      return fn(sock, dev, cur);
    } finally {
      if (cur.kind === 'bpfkit') {
        cur.link.close();
        cur.configMap.close();
      }
    }
  }

  /** Reads what is attached; removes state directories of this interface whose link is gone. */
  #occupant(dev: LinkAttrs): Occupant {
    const att = attachedMode(dev);
    for (const name of this.#fs.list(this.root)) {
      if (!name.startsWith(`dispatch-${dev.ifindex}-`)) continue;
      const dir = `${this.root}/${name}`;
      let link: Fd<'link'>;
      try {
        link = getPinnedObject(this.#sys, `${dir}/link`, 'link');
      } catch {
        if (!att) this.#removeDir(dir); // half-made by a process that died before attaching
        continue;
      }
      const info = linkInfo(link);
      if (att && info.progId === att.progId) {
        try {
          const configMap = openPinnedMap(this.#sys, `${dir}/config`);
          try {
            return { kind: 'bpfkit', progId: att.progId, mode: att.mode, dir, link, configMap, config: readConfig(configMap, dir) };
          } catch (err) {
            configMap.close();
            throw err;
          }
        } catch (err) {
          link.close();
          throw err;
        }
      }
      link.close();
      // Detached behind our back (ip link set ... xdp off, interface gone): the state is stale.
      if (!info.ifindex) this.#removeDir(dir);
    }
    if (!att) return { kind: 'none' };
    let name = '';
    try {
      using p = fdById(this.#sys, 'prog', att.progId);
      name = programInfo(p).name;
    } catch {
      // gone meanwhile
    }
    if (name === LIBXDP_DISPATCHER_NAME) return { kind: 'libxdp', progId: att.progId, name, mode: att.mode };
    return { kind: 'plain', progId: att.progId, name, mode: att.mode };
  }

  #removeDir(dir: string): void {
    for (const e of this.#fs.list(dir)) this.#fs.remove(`${dir}/${e}`);
    this.#fs.remove(dir);
  }

  /** The programs of the current dispatcher as members of a new one (maps reopened by id). */
  #existingMembers(cur: Extract<Occupant, { kind: 'bpfkit' }>, cleanup: (() => void)[]): Member[] {
    return cur.config.components.map((record) => {
      using codeMap = openPinnedMap(this.#sys, `${cur.dir}/code${record.slot}`);
      const { code, maps } = decodeCode(this.#sys, readCode(codeMap, cur.dir), cur.dir);
      cleanup.push(() => maps.forEach((m) => m.close()));
      let statsMap: MapFd;
      try {
        statsMap = openPinnedMap(this.#sys, `${cur.dir}/stats${record.slot}`);
      } catch (err) {
        throw new XdpStateError(cur.dir, `stats${record.slot} is missing (${(err as Error).message})`);
      }
      cleanup.push(() => statsMap.close());
      return { record, code, statsMap, priority: record.priority, name: record.name, loaded: true, size: record.insns, sequence: record.sequence };
    });
  }

  /** Loads one new program on its own, with its code and stats maps. */
  #prepare(p: XdpProgramToLoad, slot: number, sequence: number, cleanup: (() => void)[]): { member: Member; obj: KernelObject; prog: Fd<'prog'>; codeMap: MapFd } {
    const progSpec = pickXdpProgram(p);
    const obj = loadKernelObject(this.#sys, p.spec, { programs: [progSpec.name] });
    cleanup.push(() => obj.close());
    const kp = obj.program(progSpec.name);
    const rc = xdpRunConfig(p.spec, progSpec.name);
    const idOf = new Map<number, number>();
    for (const m of obj.maps.values()) idOf.set(m.fd.raw, mapInfo(m.fd).id);
    const bytes = encode(kp.instructions);
    const code = decode(bytes);
    const stored = encodeCode(code, (fd) => {
      const id = idOf.get(fd);
      if (id === undefined) throw new XdpStateError(this.root, `program "${progSpec.name}" refers to map fd ${fd}, which its object did not create`);
      return id;
    });
    const codeMap = createCodeMap(this.#sys, stored);
    cleanup.push(() => codeMap.close());
    const statsMap = createValueMap(this.#sys, 'bpfkit_stats', STATS_LAYOUT.size, new Uint8Array(STATS_LAYOUT.size));
    cleanup.push(() => statsMap.close());
    const record: ComponentRecord = {
      slot,
      name: progSpec.name,
      progId: kp.info().id,
      priority: p.priority ?? rc.priority,
      chainCallActions: p.chainCallActions ?? rc.chainCallActions,
      flags: progSpec.flags,
      license: progSpec.license,
      file: p.file,
      insns: bytes.length / 8,
      sequence,
    };
    const member: Member = { record, code, statsMap, priority: record.priority, name: record.name, loaded: false, size: record.insns, sequence };
    return { member, obj, prog: kp.fd, codeMap };
  }

  /** Loads a dispatcher over `members` (in run order). */
  #loadDispatcher(members: readonly Member[]): Fd<'prog'> {
    const insns = encode(dispatcherInstructions(members.map((m) => ({ code: m.code, chainCallActions: m.record.chainCallActions, statsFd: m.statsMap.raw }))));
    const nonGpl = members.find((m) => !GPL.has(m.record.license));
    const frags = members.every((m) => (m.record.flags & FRAGS) !== 0);
    try {
      return loadProgram(this.#sys, {
        type: ProgType.XDP,
        insns,
        license: nonGpl ? nonGpl.record.license : 'GPL',
        name: BPFKIT_DISPATCHER_NAME,
        expectedAttachType: AttachType.XDP,
        flags: frags ? FRAGS : 0,
      });
    } catch (err) {
      const names = members.map((m) => m.record.name).join(', ');
      throw err instanceof BpfkitError ? err.withContext(`dispatcher over ${names}`) : err;
    }
  }

  /** Detaches the dispatcher and removes its state. */
  #dismantle(cur: Extract<Occupant, { kind: 'bpfkit' }>): XdpUnloaded[] {
    detachLink(cur.link);
    this.#removeDir(cur.dir);
    return cur.config.components.map((c) => ({ id: c.progId, name: c.name }));
  }

  #detachPlain(dev: LinkAttrs, cur: Extract<Occupant, { kind: 'plain' }>): XdpUnloaded[] {
    detachXdp(this.#sys, dev.ifindex, { mode: cur.mode });
    return [{ id: cur.progId, name: cur.name }];
  }

  /** libxdp's protocol is used where the kernel permits freplace, on an empty hook or a libxdp dispatcher. */
  #libxdpPath(cur: Occupant): boolean {
    return (cur.kind === 'none' || cur.kind === 'libxdp') && haveFeature(this.#sys, freplaceFeature);
  }

  /**
   * The programs of a libxdp dispatcher (loaded by xdp-loader or by bpfkit where freplace works),
   * read from its slots' pins under `<bpffs>/xdp` as xdp-loader reads them; none when its
   * directory is not there (another bpffs) or not complete. libxdp counts no per-program stats.
   */
  #libxdpPrograms(ifindex: number): XdpProgramStatus[] {
    let state: ReturnType<LibxdpMultiProg['state']>;
    try {
      state = this.#libxdp(ifindex).state();
    } catch {
      return [];
    }
    return (state?.components ?? []).map((c, position): XdpProgramStatus => {
      let tag = '';
      let mapIds: readonly number[] = [];
      try {
        using p = fdById(this.#sys, 'prog', c.id);
        const info = programInfo(p);
        tag = info.tag;
        mapIds = info.mapIds;
      } catch {
        // gone since the state was read: shown without tag
      }
      return { position, slot: c.slot, name: c.name, id: c.id, tag, priority: c.priority, chainCallActions: c.chainCallActions, actions: actionNames(c.chainCallActions), mapIds, stats: { packets: 0n, verdicts: {} }, file: undefined };
    });
  }

  #libxdp(ifindex: number): LibxdpMultiProg {
    return new LibxdpMultiProg(this.#sys, ifindex, this.#bpffs, this.#libxdpPorts);
  }

  /** Refuses to build on what is attached when it is not a bpfkit dispatcher. */
  #refuseForeign(dev: LinkAttrs, cur: Occupant): void {
    if (cur.kind === 'plain') throw new PlainXdpProgramError(dev.name, cur.progId, cur.name, cur.mode);
    if (cur.kind !== 'libxdp') return;
    const lib = inspectLibxdp(this.#sys, cur.progId);
    if (lib?.version !== XDP_DISPATCHER_VERSION) throw new XdpDispatcherVersionError(dev.name, cur.progId, lib?.version, [XDP_DISPATCHER_VERSION]);
    if (!haveFeature(this.#sys, freplaceFeature)) {
      throw new NotSupportedError(freplaceFeature.name, freplaceFeature.minKernel, `${dev.name} has a libxdp dispatcher (prog ${cur.progId}) and this kernel refuses freplace, so no program can be added to it; unload it (xdp-loader unload ${dev.name} --all) and load all the programs with bpfkit xdp load`);
    }
    throw new NotSupportedError('adding to a live libxdp dispatcher', undefined, `${dev.name}: use xdp-loader to add programs to its libxdp dispatcher (prog ${cur.progId})`);
  }
}

/** One program of a dispatcher: its record, and its maps opened on demand by id. */
export class XdpProgram {
  readonly #sys: Sys;
  /** The interface. */
  readonly ifname: string;
  /** Function name. */
  readonly name: string;
  /** Program id of the program loaded on its own. */
  readonly id: number;
  /** Dispatcher slot. */
  readonly slot: number;
  readonly priority: number;
  readonly chainCallActions: number;

  /** Built by {@link XdpMultiProg}. */
  constructor(sys: Sys, record: ComponentRecord, ifname: string) {
    this.#sys = sys;
    this.ifname = ifname;
    this.name = record.name;
    this.id = record.progId;
    this.slot = record.slot;
    this.priority = record.priority;
    this.chainCallActions = record.chainCallActions;
  }

  /** Names of its maps, as the kernel names them (15 characters at most). */
  mapNames(): string[] {
    using p = fdById(this.#sys, 'prog', this.id);
    return programInfo(p).mapIds.map((id) => {
      using m = fdById(this.#sys, 'map', id);
      return mapInfo(m).name;
    });
  }

  /** Opens its map `name` (the kernel's name: at most 15 characters); the caller closes it. */
  map(name: string): KernelMap {
    using p = fdById(this.#sys, 'prog', this.id);
    const ids = programInfo(p).mapIds;
    for (const id of ids) {
      const fd = mapFdById(this.#sys, id);
      if (mapInfo(fd).name === name.slice(0, 15)) return new KernelMap(fd, name);
      fd.close();
    }
    throw new BpfkitError('ERR_NO_SUCH_MAP', `program "${this.name}" (id ${this.id}) has no map "${name}" (maps: ${this.mapNames().join(', ') || 'none'})`);
  }
}
