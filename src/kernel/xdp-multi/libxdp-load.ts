// libxdp's load path (lib/libxdp/protocol.org): a libxdp dispatcher, components as freplace links in its slots, pinned in bpffs under its lock, attached atomically.
//
//   BPFFS/xdp/                           flock(2)ed (LOCK_EX) while read or changed, as libxdp does
//     dispatch-IFINDEX-DISPATCHER_ID/    one dispatcher (named by its program id)
//       progN-link                       the freplace link of the program in slot N
//       progN-prog                       the program in slot N (BPF_PROG_TYPE_EXT)
//
// The run order, priorities and chain-call actions live in the dispatcher's `.rodata` config
// (`struct xdp_dispatcher_config`), so xdp-loader reads bpfkit's programs and the other way round.
import { existsSync, readFileSync } from 'node:fs';
import type { ObjectSpec } from '../../elf/object-spec.js';
import { loadObject } from '../../elf/object-loader.js';
import { BpfkitError, NotSupportedError } from '../../errors.js';
import { resolveInterface, type InterfaceRef } from '../attach/interface.js';
import { XDP_MODE_FLAG, type XdpMode } from '../attach/xdp.js';
import { createLink } from '../bpf/link.js';
import { freezeMap } from '../bpf/map-elem.js';
import { fdById } from '../bpf/obj-id.js';
import { programInfo } from '../bpf/obj-info.js';
import { getPinnedObject, pinObject } from '../bpf/obj-pin.js';
import type { Fd } from '../fd.js';
import { openRtnetlink, setLinkXdp, XDP_FLAGS } from '../netlink/rtnetlink.js';
import { loadKernelObject } from '../object/load-object.js';
import type { Sys } from '../sys.js';
import { nodeBpffs, type BpffsPort } from './bpffs.js';
import { PlainXdpProgramError, XdpDispatcherVersionError, XdpModeMismatchError, XdpProgramNotFoundError, XdpStateError } from './errors.js';
import { inspectLibxdp, LIBXDP_DISPATCHER_NAME, libxdpDispatcherDir, planLibxdpDispatcher, XDP_DISPATCHER_VERSION, type LibxdpDispatcherConfig, type LibxdpPlanProgram } from './libxdp.js';
import { createValueMap } from './state.js';

/** Where xdp-tools installs its dispatcher object (Debian/Ubuntu, then the upstream default). */
export const LIBXDP_DISPATCHER_OBJECTS = ['/usr/lib/x86_64-linux-gnu/bpf/xdp-dispatcher.o', '/usr/lib/bpf/xdp-dispatcher.o', '/usr/local/lib/bpf/xdp-dispatcher.o'];

const RETVAL_BIT = 1 << 31;
const MAX_RETRY = 10;

/** One program to put in a libxdp dispatcher slot. */
export interface LibxdpComponentToLoad {
  /** The parsed object (with BTF: freplace needs it). */
  readonly spec: ObjectSpec;
  /** Function name of the XDP program in it. */
  readonly program: string;
  readonly priority: number;
  /** Chain-call actions bit mask (without the dispatcher's bit 31). */
  readonly chainCallActions: number;
  /** Load flags (BPF_F_XDP_HAS_FRAGS). */
  readonly flags: number;
}

/** A loaded dispatcher: its program and the BTF id of each stub `prog<N>` (the freplace targets). */
export interface LoadedLibxdpDispatcher {
  readonly prog: Fd<'prog'>;
  readonly slotBtfIds: readonly number[];
}

/** How the load path reaches the kernel and bpffs; {@link defaultLibxdpPorts} is the real one, tests fake it. */
export interface LibxdpPorts {
  /** bpffs directories, removals and the flock. */
  readonly fs: BpffsPort;
  /** Interface index and what is attached to its XDP hook (program id and mode). */
  attached(iface: InterfaceRef): { ifindex: number; ifname: string; progId: number | undefined; mode: XdpMode | undefined };
  /** IFLA_XDP on the interface: `fd` (-1 detaches), `flags`, and the program expected there (XDP_FLAGS_REPLACE). */
  setXdp(ifindex: number, fd: number, flags: number, expectedFd?: number): void;
  /** Loads a dispatcher whose `.rodata` is `config`. */
  loadDispatcher(config: Uint8Array, frags: boolean): LoadedLibxdpDispatcher;
  /** Loads `component` as BPF_PROG_TYPE_EXT replacing function `btfId` of `target`; the caller owns the fd. */
  loadComponent(component: LibxdpComponentToLoad, target: Fd<'prog'>, btfId: number): Fd<'prog'>;
  /** Id and name of a program. */
  progInfo(fd: Fd<'prog'>): { id: number; name: string };
  /** The `.rodata` config of dispatcher `progId`. */
  readConfig(progId: number): LibxdpDispatcherConfig | undefined;
}

/** The real ports: bpffs, rtnetlink, the installed dispatcher object, loadKernelObject. */
export function defaultLibxdpPorts(sys: Sys, dispatcherObject?: string): LibxdpPorts {
  return {
    fs: nodeBpffs(sys),
    attached(iface) {
      using sock = openRtnetlink(sys);
      const dev = resolveInterface(sock, iface);
      const x = dev.xdp;
      const [progId, mode]: [number | undefined, XdpMode | undefined] = x.drvProgId ? [x.drvProgId, 'native'] : x.skbProgId ? [x.skbProgId, 'skb'] : x.hwProgId ? [x.hwProgId, 'hw'] : [undefined, undefined];
      return { ifindex: dev.ifindex, ifname: dev.name, progId, mode };
    },
    setXdp(ifindex, fd, flags, expectedFd) {
      using sock = openRtnetlink(sys);
      setLinkXdp(sock, ifindex, { fd, flags, ...(expectedFd !== undefined ? { expectedFd } : {}) });
    },
    loadDispatcher: (config, frags) => loadInstalledDispatcher(sys, config, frags, dispatcherObject),
    loadComponent(c, target, btfId) {
      using obj = loadKernelObject(sys, c.spec, { programs: [c.program], freplace: { [c.program]: { target, btfId } } });
      return fdById(sys, 'prog', obj.program(c.program).info().id);
    },
    progInfo(fd) {
      const info = programInfo(fd);
      return { id: info.id, name: info.name };
    },
    readConfig: (progId) => inspectLibxdp(sys, progId),
  };
}

/**
 * Loads xdp-tools' own dispatcher object with `config` as its `.rodata` (a frozen map made
 * here, as libxdp rewrites the skeleton's rodata before loading): `xdp_dispatcher` with its
 * ten stubs `prog0`...`prog9`, whose BTF ids are the freplace targets.
 */
export function loadInstalledDispatcher(sys: Sys, config: Uint8Array, frags: boolean, path?: string): LoadedLibxdpDispatcher {
  const file = path ?? LIBXDP_DISPATCHER_OBJECTS.find((p) => existsSync(p));
  if (!file) throw new NotSupportedError('libxdp dispatcher object', undefined, `none of ${LIBXDP_DISPATCHER_OBJECTS.join(', ')} exists; install xdp-tools (apt-get install xdp-tools)`);
  const spec = loadObject(new Uint8Array(readFileSync(file)), { objectName: 'xdp-dispatcher' });
  const rodata = spec.maps.find((m) => m.origin === 'global-data' && m.section === '.rodata');
  const conf = spec.btf?.typesByName('.rodata').find((t) => t.kind === 'datasec');
  if (!rodata || !spec.btf || conf?.kind !== 'datasec' || conf.vars[0]?.offset !== 0) throw new XdpStateError(file, 'not a libxdp dispatcher object (no .rodata config at offset 0, or no BTF)');
  const slotBtfIds = [...Array(10).keys()].map((i) => spec.btf!.typesByName(`prog${i}`).find((t) => t.kind === 'func')?.id ?? 0);
  if (slotBtfIds.includes(0)) throw new XdpStateError(file, 'a stub prog0..prog9 is missing from its BTF');
  const value = new Uint8Array(rodata.valueSize);
  value.set(config.subarray(0, value.length));
  using map = createValueMap(sys, 'xdp_disp.rodata', value.length, value);
  freezeMap(map);
  const withFlags = { ...spec, programs: spec.programs.map((p) => (p.name === LIBXDP_DISPATCHER_NAME && frags ? { ...p, flags: p.flags | (1 << 5) } : p)) };
  using obj = loadKernelObject(sys, withFlags, { programs: [LIBXDP_DISPATCHER_NAME], mapReplacements: { [rodata.name]: map } });
  return { prog: fdById(sys, 'prog', obj.program(LIBXDP_DISPATCHER_NAME).info().id), slotBtfIds };
}

/** A program in a libxdp dispatcher slot. */
export interface LibxdpComponent {
  readonly slot: number;
  readonly id: number;
  readonly name: string;
  readonly priority: number;
  /** Chain-call actions (without the dispatcher's bit 31). */
  readonly chainCallActions: number;
  readonly flags: number;
}

/** The libxdp dispatcher on an interface, as read under the lock. */
export interface LibxdpState {
  readonly ifindex: number;
  readonly ifname: string;
  readonly dispatcherId: number;
  readonly mode: XdpMode;
  /** Its bpffs directory. */
  readonly dir: string;
  readonly components: readonly LibxdpComponent[];
}

interface Current extends LibxdpState {
  readonly progs: readonly Fd<'prog'>[];
}

/**
 * Multi-program XDP by libxdp's protocol, for kernels that permit freplace: every change loads
 * a new dispatcher, links each program (kept or new) into its slot with BPF_LINK_CREATE, pins
 * the links and programs in the new dispatcher's directory, swaps the dispatcher in with
 * XDP_FLAGS_REPLACE naming the old one, then removes the old directory — all under the flock on
 * `BPFFS/xdp`. A failure before the swap closes every fd and removes every pin it made.
 */
export class LibxdpMultiProg {
  readonly #sys: Sys;
  readonly #iface: InterfaceRef;
  readonly #ports: LibxdpPorts;
  /** `BPFFS/xdp`, the lock directory. */
  readonly root: string;
  readonly #bpffs: string;

  constructor(sys: Sys, iface: InterfaceRef, bpffs: string, ports: LibxdpPorts = defaultLibxdpPorts(sys)) {
    this.#sys = sys;
    this.#iface = iface;
    this.#ports = ports;
    this.#bpffs = bpffs.replace(/\/+$/, '');
    this.root = `${this.#bpffs}/xdp`;
  }

  /** The dispatcher on the interface (undefined when none; throws for a plain program or another protocol version). */
  state(): LibxdpState | undefined {
    return this.#locked((cur) => (cur ? { ...cur, progs: undefined } : undefined));
  }

  /** Adds `programs` (a new dispatcher when none is there, attached in `mode`); returns the added ones, with their slots. */
  load(programs: readonly LibxdpComponentToLoad[], mode?: XdpMode): LibxdpComponent[] {
    return this.#locked((cur, dev) => {
      if (cur && mode && mode !== cur.mode) throw new XdpModeMismatchError(dev.ifname, cur.mode, mode);
      const before = new Set(cur?.components.map((c) => c.id));
      return this.#rebuild(dev, cur, cur?.components.map((c, i) => ({ c, prog: cur.progs[i]! })) ?? [], programs, cur?.mode ?? mode ?? 'skb').filter((c) => !before.has(c.id));
    });
  }

  /** Removes the program with id `id` (whoever loaded it); the last one takes the dispatcher and its directory with it. */
  unload(id: number): LibxdpComponent[] {
    return this.#locked((cur, dev) => {
      const gone = cur?.components.find((c) => c.id === id);
      if (!cur || !gone) throw new XdpProgramNotFoundError(dev.ifname, id, cur?.components.map((c) => c.id) ?? []);
      const keep = cur.components.map((c, i) => ({ c, prog: cur.progs[i]! })).filter((k) => k.c !== gone);
      if (keep.length === 0) return this.#detachAll(cur), [gone];
      this.#rebuild(dev, cur, keep, [], cur.mode);
      return [gone];
    });
  }

  /** Detaches the dispatcher and removes its directory; returns what it held. */
  unloadAll(): LibxdpComponent[] {
    return this.#locked((cur) => {
      if (!cur) return [];
      this.#detachAll(cur);
      return [...cur.components];
    });
  }

  #detachAll(cur: Current): void {
    using old = fdById(this.#sys, 'prog', cur.dispatcherId);
    this.#ports.setXdp(cur.ifindex, -1, XDP_MODE_FLAG[cur.mode] | XDP_FLAGS.REPLACE, old.raw);
    this.#removeDir(cur.dir);
  }

  #rebuild(
    dev: { ifindex: number; ifname: string },
    cur: Current | undefined,
    keep: readonly { c: LibxdpComponent; prog: Fd<'prog'> }[],
    adding: readonly LibxdpComponentToLoad[],
    mode: XdpMode,
  ): LibxdpComponent[] {
    const sys = this.#sys;
    const ports = this.#ports;
    const asPlan = (c: LibxdpComponent): LibxdpPlanProgram => ({ name: c.name, priority: c.priority, chainCallActions: c.chainCallActions, flags: c.flags, loaded: true, size: 0 });
    const plan = planLibxdpDispatcher(
      dev.ifname,
      keep.map((k) => asPlan(k.c)),
      adding.map((a) => ({ spec: a.spec, program: { name: a.program, priority: a.priority, chainCallActions: a.chainCallActions, flags: a.flags, loaded: false, size: a.spec.programs.find((p) => p.name === a.program)?.instructions.length ?? 0 } })),
    );
    const fds: Fd<'prog' | 'link'>[] = [];
    const pins: string[] = [];
    let dir: string | undefined;
    try {
      const disp = ports.loadDispatcher(plan.config, plan.frags);
      fds.push(disp.prog);
      const dispatcherId = ports.progInfo(disp.prog).id;
      dir = libxdpDispatcherDir(this.#bpffs, dev.ifindex, dispatcherId);
      ports.fs.mkdirs(dir);
      const result: LibxdpComponent[] = [];
      plan.order.forEach((from, slot) => {
        const btfId = disp.slotBtfIds[slot]!;
        let prog: Fd<'prog'>;
        if (from < keep.length) prog = keep[from]!.prog;
        else {
          prog = ports.loadComponent(adding[from - keep.length]!, disp.prog, btfId);
          fds.push(prog);
        }
        // An EXT program can be linked to several targets: kept programs join the new dispatcher while still in the old one.
        const link = createLink(sys, { prog, attachType: 0, targetFd: disp.prog, extra: (a) => a.u32('target_btf_id', btfId) });
        fds.push(link);
        for (const [path, fd] of [[`${dir}/prog${slot}-link`, link], [`${dir}/prog${slot}-prog`, prog]] as const) {
          pinObject(fd, path);
          pins.push(path);
        }
        const p = plan.programs[slot]!;
        const id = from < keep.length ? keep[from]!.c.id : ports.progInfo(prog).id;
        result.push({ slot, id, name: p.name, priority: p.priority, chainCallActions: p.chainCallActions, flags: p.flags });
      });
      if (cur) {
        using old = fdById(sys, 'prog', cur.dispatcherId);
        ports.setXdp(dev.ifindex, disp.prog.raw, XDP_MODE_FLAG[mode] | XDP_FLAGS.REPLACE, old.raw);
      } else {
        ports.setXdp(dev.ifindex, disp.prog.raw, XDP_MODE_FLAG[mode] | XDP_FLAGS.UPDATE_IF_NOEXIST);
      }
      pins.length = 0;
      dir = undefined; // committed: the new directory stays, the old one goes
      if (cur) this.#removeDir(cur.dir);
      return result;
    } catch (err) {
      for (const p of pins.reverse()) ports.fs.remove(p);
      if (dir) ports.fs.remove(dir);
      throw err instanceof BpfkitError ? err.withContext(`libxdp dispatcher on ${dev.ifname}`) : err;
    } finally {
      for (const fd of fds.reverse()) fd.close();
    }
  }

  #removeDir(dir: string): void {
    for (const e of this.#ports.fs.list(dir)) this.#ports.fs.remove(`${dir}/${e}`);
    this.#ports.fs.remove(dir);
  }

  /** Runs `fn` with `BPFFS/xdp` flock'd and the current dispatcher read (its programs opened from their pins). */
  #locked<T>(fn: (cur: Current | undefined, dev: { ifindex: number; ifname: string }) => T): T {
    const fs = this.#ports.fs;
    fs.checkBpffs(this.root);
    fs.mkdirs(this.root);
    using _lock = fs.lock(this.root);
    // The swap is refused when the hook changed while the new dispatcher was built (a tool not
    // taking the lock): start over from reading the hook, as libxdp does (at most 10 times).
    for (let attempt = 1; ; attempt++) {
      const dev = this.#ports.attached(this.#iface);
      const cur = this.#current(dev);
      try {
        return fn(cur, dev);
      } catch (err) {
        if (attempt >= MAX_RETRY || this.#ports.attached(this.#iface).progId === dev.progId) throw err;
      } finally {
        for (const p of cur?.progs ?? []) p.close();
      }
    }
  }

  #current(dev: ReturnType<LibxdpPorts['attached']>): Current | undefined {
    if (dev.progId === undefined || !dev.mode) return undefined;
    let name: string;
    {
      using p = fdById(this.#sys, 'prog', dev.progId);
      name = this.#ports.progInfo(p).name;
    }
    if (name !== LIBXDP_DISPATCHER_NAME) throw new PlainXdpProgramError(dev.ifname, dev.progId, name, dev.mode);
    const config = this.#ports.readConfig(dev.progId);
    if (config?.version !== XDP_DISPATCHER_VERSION) throw new XdpDispatcherVersionError(dev.ifname, dev.progId, config?.version, [XDP_DISPATCHER_VERSION]);
    const dir = libxdpDispatcherDir(this.#bpffs, dev.ifindex, dev.progId);
    const progs: Fd<'prog'>[] = [];
    const components: LibxdpComponent[] = [];
    try {
      for (let slot = 0; slot < config.numProgsEnabled; slot++) {
        const path = `${dir}/prog${slot}-prog`;
        let prog: Fd<'prog'>;
        try {
          prog = getPinnedObject(this.#sys, path, 'prog');
        } catch (err) {
          throw new XdpStateError(dir, `slot ${slot} of the dispatcher has no ${path} (${(err as Error).message})`);
        }
        progs.push(prog);
        const info = this.#ports.progInfo(prog);
        components.push({
          slot,
          id: info.id,
          name: info.name,
          priority: config.runPrios[slot] ?? 0,
          chainCallActions: ((config.chainCallActions[slot] ?? 0) & ~RETVAL_BIT) >>> 0,
          flags: config.programFlags[slot] ?? 0,
        });
      }
    } catch (err) {
      for (const p of progs) p.close();
      throw err;
    }
    return { ifindex: dev.ifindex, ifname: dev.ifname, dispatcherId: dev.progId, mode: dev.mode, dir, components, progs };
  }
}
