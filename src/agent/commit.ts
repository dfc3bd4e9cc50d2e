// Committing a prepared plan: seeds and map pins first, then each entry's link adopted, updated in place (BPF_LINK_UPDATE) or created; stale entries detached.
import { mkdirSync, readdirSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';

import { detachLink, updateLink } from '../kernel/bpf/link.js';
import { updateElem } from '../kernel/bpf/map-elem.js';
import { fdById, mapFdById } from '../kernel/bpf/obj-id.js';
import { linkInfo, mapInfo, programInfo, type LinkInfo, type ProgramInfo } from '../kernel/bpf/obj-info.js';
import { getPinnedObject, pinObject } from '../kernel/bpf/obj-pin.js';
import { lookupElem } from '../kernel/bpf/map-elem.js';
import type { Fd } from '../kernel/fd.js';
import { isErrno } from '../kernel/kernel-error.js';
import type { Sys } from '../kernel/sys.js';
import { createAttachLink, describeAttachPoint, linkMatches } from './attach-point.js';
import { commitXdpGroup, dispatcherMaps, multiXdpInterfaces, removeXdpGroups } from './xdp-group.js';
import type { KernelMap } from '../kernel/kernel-map.js';
import { AgentCommitError } from './errors.js';
import { mapPinPath, type Plan, type PreparedEntry, type PreparedObject } from './prepare.js';

/** What happened to an entry in one apply. */
export type EntryAction = 'adopted' | 'unchanged' | 'updated' | 'created' | 'pending';

/** One program entry as deployed. */
export interface EntryState {
  readonly name: string;
  readonly object: string;
  readonly program: string;
  /** `xdp eth1 (native)`, `tc ingress eth1`... */
  readonly attach: string;
  readonly status: 'attached' | 'pending';
  readonly action: EntryAction;
  /** The running program (for an adopted entry, the one found attached). */
  readonly progId?: number;
  readonly tag?: string;
  readonly linkId?: number;
  /** The link's pin. */
  readonly pin: string;
  /** Why it is pending. */
  readonly reason?: string;
}

/** What one commit did. */
export interface CommitResult {
  readonly entries: readonly EntryState[];
  /** Entries detached because the config no longer has them. */
  readonly removed: readonly string[];
  /** Maps of objects that run only on dispatchers (their programs' own maps), by object path then map name; the caller closes them. */
  readonly dispatcherMaps: Map<string, Map<string, KernelMap>>;
}

/** The pin directory of the links. */
export const linkDir = (bpffs: string): string => `${bpffs}/links`;

function openPinnedLink(sys: Sys, path: string): Fd<'link'> | undefined {
  try {
    return getPinnedObject(sys, path, 'link');
  } catch (err) {
    if (isErrno(err, 2)) return undefined;
    throw err;
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/** Whether the read-only global data of the running program equals what the plan would load. */
function rodataMatches(sys: Sys, running: ProgramInfo, obj: PreparedObject): boolean {
  if (obj.rodata.size === 0) return true;
  let seen = 0;
  for (const id of running.mapIds) {
    try {
      using fd = mapFdById(sys, id);
      const want = obj.rodata.get(mapInfo(fd).name);
      if (!want) continue;
      seen++;
      const have = lookupElem(fd, new Uint8Array(4));
      if (!have || have.length !== want.length || have.some((b, i) => b !== want[i])) return false;
    } catch (err) {
      if (isErrno(err, 2)) return false;
      throw err;
    }
  }
  return seen === obj.rodata.size;
}

/** The running program can stay: same tag (same instructions), same pinned maps, same constants. */
function adoptable(sys: Sys, running: ProgramInfo, p: PreparedEntry): boolean {
  if (running.tag !== p.info.tag || running.type !== p.info.type) return false;
  const shared: number[] = [];
  for (const fd of p.object.reused.values()) shared.push(mapInfo(fd).id);
  // A fresh (not reused) pinnable map means the running program uses another map: not adoptable.
  if (p.object.fresh.length > 0) return false;
  if (!shared.every((id) => running.mapIds.includes(id))) return false;
  return rodataMatches(sys, running, p.object);
}

/** Pins the fresh maps of `obj` (replacing incompatible pins) and writes its seeds. */
function commitMaps(bpffs: string, obj: PreparedObject): void {
  if (obj.fresh.length > 0) mkdirSync(`${bpffs}/maps/${obj.key}`, { recursive: true });
  for (const f of obj.fresh) {
    const path = mapPinPath(bpffs, obj.key, f.name);
    if (f.replace) unlinkQuietly(f.replace);
    try {
      pinObject(obj.kobj.map(f.name).fd, path);
    } catch (err) {
      throw new AgentCommitError(`object ${obj.path}`, `pin map ${f.name} at ${path}: ${(err as Error).message}`, { cause: err });
    }
  }
  for (const s of obj.seeds) {
    try {
      if (s.map.perCpu) s.map.set(s.key, s.value);
      else updateElem(s.map.fd, s.key, s.value);
    } catch (err) {
      throw new AgentCommitError(`object ${obj.path}`, `seed map ${s.map.name}: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** Commits one entry: adopt, update in place, or create and pin. */
function commitEntry(sys: Sys, bpffs: string, p: PreparedEntry, previous: ReadonlyMap<string, EntryState>): EntryState {
  const e = p.entry;
  const pin = `${linkDir(bpffs)}/${e.name}`;
  const base = { name: e.name, object: e.object, program: e.program, attach: describeAttachPoint(e.attach), pin };
  const old = openPinnedLink(sys, pin);
  try {
    if (!p.resolution.ok) return { ...base, status: 'pending', action: 'pending', reason: p.resolution.reason };
    const target = p.resolution.target;
    let oldInfo: LinkInfo | undefined;
    if (old) oldInfo = linkInfo(old);
    if (old && oldInfo && oldInfo.progId !== 0 && linkMatches(sys, oldInfo, e.attach, target)) {
      using running = fdById(sys, 'prog', oldInfo.progId);
      const info = programInfo(running);
      if (adoptable(sys, info, p)) {
        const action = previous.get(e.name)?.progId === info.id ? 'unchanged' : 'adopted';
        return { ...base, status: 'attached', action, progId: info.id, tag: info.tag, linkId: oldInfo.id };
      }
      if (e.attach.kind === 'raw_tracepoint' || e.attach.kind === 'tracepoint') {
        // Raw tracepoint and perf event links can neither swap their program nor be detached (no
        // BPF_LINK_UPDATE / BPF_LINK_DETACH): the new link is made and pinned first; the old one
        // goes when its pin is gone and its last fd closed (below) — both run for a moment, none is missing.
        const fresh = createAttachLink(sys, p.prog.fd, e.attach, target);
        try {
          unlinkQuietly(pin);
          pinObject(fresh, pin);
          return { ...base, status: 'attached', action: 'updated', progId: p.info.id, tag: p.info.tag, linkId: linkInfo(fresh).id };
        } catch (err) {
          throw new AgentCommitError(e.name, `${base.attach}: replace link ${oldInfo.id}: ${(err as Error).message}`, { cause: err });
        } finally {
          fresh.close();
        }
      }
      try {
        // Atomic: the hook never runs without a program; fails if someone swapped it meanwhile.
        updateLink(old, p.prog.fd, { oldProg: running });
      } catch (err) {
        throw new AgentCommitError(e.name, `${base.attach}: replace program ${info.id} (BPF_LINK_UPDATE): ${(err as Error).message}`, { cause: err });
      }
      return { ...base, status: 'attached', action: 'updated', progId: p.info.id, tag: p.info.tag, linkId: oldInfo.id };
    }
    if (old) {
      // A link for another place (the interface changed or came back with a new index): let it go.
      try {
        detachLink(old);
      } catch {
        // defunct already
      }
      unlinkQuietly(pin);
    }
    let link: Fd<'link'>;
    try {
      link = createAttachLink(sys, p.prog.fd, e.attach, target);
    } catch (err) {
      throw new AgentCommitError(e.name, `${base.attach}: attach: ${(err as Error).message}`, { cause: err });
    }
    try {
      pinObject(link, pin);
      return { ...base, status: 'attached', action: 'created', progId: p.info.id, tag: p.info.tag, linkId: linkInfo(link).id };
    } catch (err) {
      detachLink(link);
      throw new AgentCommitError(e.name, `pin link at ${pin}: ${(err as Error).message}`, { cause: err });
    } finally {
      link.close();
    }
  } finally {
    old?.close();
  }
}

/** Detaches the link pinned at `path` and removes the pin. */
export function removeLinkPin(sys: Sys, path: string): void {
  const link = openPinnedLink(sys, path);
  if (link) {
    try {
      detachLink(link);
    } catch {
      // defunct already
    } finally {
      link.close();
    }
  }
  unlinkQuietly(path);
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Applies a prepared plan: map pins and seeds, then every entry (adopt / BPF_LINK_UPDATE /
 * create), then detaches entries no longer in the config and removes map pins of objects no
 * longer used. `previous` (by entry name) tells adopted from unchanged.
 */
export function commit(sys: Sys, plan: Plan, previous: ReadonlyMap<string, EntryState> = new Map()): CommitResult {
  const bpffs = plan.config.bpffs;
  mkdirSync(linkDir(bpffs), { recursive: true });
  mkdirSync(`${bpffs}/maps`, { recursive: true });
  for (const obj of plan.objects.values()) commitMaps(bpffs, obj);
  const multi = multiXdpInterfaces(plan.config.programs);
  const dispatched = plan.entries.filter((p) => p.entry.attach.kind === 'xdp' && multi.has(p.entry.attach.interface));
  const plain = plan.entries.filter((p) => !dispatched.includes(p));
  // Removals first, so what goes frees its hook for what comes (a plain link for a dispatcher...).
  const wanted = new Set(plain.map((p) => p.entry.name));
  const removed: string[] = [];
  for (const name of listDir(linkDir(bpffs))) {
    if (wanted.has(name)) continue;
    removeLinkPin(sys, `${linkDir(bpffs)}/${name}`);
    removed.push(name);
  }
  removed.push(...removeXdpGroups(sys, bpffs, multi));
  const states = new Map<string, EntryState>();
  for (const p of plain) states.set(p.entry.name, commitEntry(sys, bpffs, p, previous));
  for (const iface of multi) {
    const group = dispatched.filter((p) => p.entry.attach.kind === 'xdp' && p.entry.attach.interface === iface);
    for (const s of commitXdpGroup(sys, bpffs, group, previous)) states.set(s.name, s);
  }
  const entries = plan.entries.map((p) => states.get(p.entry.name) as EntryState);
  const keys = new Set([...plan.objects.values()].map((o) => o.key));
  for (const key of listDir(`${bpffs}/maps`)) if (!keys.has(key)) rmSync(`${bpffs}/maps/${key}`, { recursive: true, force: true });
  return { entries, removed, dispatcherMaps: dispatcherMaps(sys, entries, dispatched) };
}

/** Detaches every link under `bpffs/links` and removes the agent's pins (onExit: detach). */
export function teardown(sys: Sys, bpffs: string): string[] {
  const removed: string[] = removeXdpGroups(sys, bpffs);
  for (const name of listDir(linkDir(bpffs))) {
    removeLinkPin(sys, `${linkDir(bpffs)}/${name}`);
    removed.push(name);
  }
  rmSync(`${bpffs}/maps`, { recursive: true, force: true });
  rmSync(linkDir(bpffs), { recursive: true, force: true });
  try {
    rmdirSync(bpffs);
  } catch {
    // not empty (something else pinned there) or already gone
  }
  return removed;
}

