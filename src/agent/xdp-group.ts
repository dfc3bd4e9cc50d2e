// Several XDP entries on one interface: driven through XdpMultiProg (bpfkit's dispatcher), reconciled by program name and tag.
import { rmSync } from 'node:fs';
import { BpfkitError } from '../errors.js';
import { fdById, mapFdById } from '../kernel/bpf/obj-id.js';
import { mapInfo, programInfo } from '../kernel/bpf/obj-info.js';
import { KernelMap } from '../kernel/kernel-map.js';
import type { Sys } from '../kernel/sys.js';
import { XdpMultiProg, type XdpInterfaceStatus, type XdpProgramStatus } from '../kernel/xdp-multi/xdp-multi-prog.js';
import { describeAttachPoint } from './attach-point.js';
import type { EntryState } from './commit.js';
import type { ProgramEntry } from './config.js';
import { AgentCommitError } from './errors.js';
import type { PreparedEntry } from './prepare.js';

/** The interfaces whose XDP entries go through the dispatcher: those with several XDP entries. */
export function multiXdpInterfaces(programs: readonly ProgramEntry[]): Set<string> {
  const count = new Map<string, number>();
  for (const p of programs) if (p.attach.kind === 'xdp') count.set(p.attach.interface, (count.get(p.attach.interface) ?? 0) + 1);
  return new Set([...count].filter(([, n]) => n > 1).map(([i]) => i));
}

/** Where the dispatcher keeps its state: under the agent's own bpffs directory. */
const options = (bpffs: string) => ({ bpffs });

function matches(p: PreparedEntry, c: XdpProgramStatus): boolean {
  const e = p.entry;
  return c.name === e.program && c.tag === p.info.tag && c.file === e.object && (e.attach.kind !== 'xdp' || e.attach.priority === undefined || c.priority === e.attach.priority);
}

/**
 * Reconciles one interface's dispatcher with its entries: programs already there with the same
 * name, tag, object and priority stay (adopted); the others are loaded onto the dispatcher first
 * and the ones no longer wanted unloaded after — each step a BPF_LINK_UPDATE of the dispatcher,
 * so no packet meets the interface without a program.
 */
export function commitXdpGroup(sys: Sys, bpffs: string, group: readonly PreparedEntry[], previous: ReadonlyMap<string, EntryState>): EntryState[] {
  const first = group[0] as PreparedEntry;
  const attach = first.entry.attach;
  if (attach.kind !== 'xdp') throw new Error('not an XDP group');
  const base = (p: PreparedEntry) => ({ name: p.entry.name, object: p.entry.object, program: p.entry.program, attach: `${describeAttachPoint(p.entry.attach)} [dispatcher]` });
  if (!first.resolution.ok) return group.map((p) => ({ ...base(p), pin: '', status: 'pending', action: 'pending', reason: (first.resolution as { reason: string }).reason }));
  const multi = XdpMultiProg.open(sys, attach.interface, options(bpffs));
  try {
    const before = multi.status();
    if (before.kind === 'plain' || before.kind === 'libxdp') {
      throw new AgentCommitError(first.entry.name, `${attach.interface}: another XDP program (${before.progName ?? ''} id ${before.progId}, ${before.kind}) is attached; the agent's dispatcher cannot go there`);
    }
    const current = before.kind === 'bpfkit' ? before.programs : [];
    const kept = new Map<string, XdpProgramStatus>();
    for (const p of group) {
      const c = current.find((x) => matches(p, x) && ![...kept.values()].includes(x));
      if (c) kept.set(p.entry.name, c);
    }
    const toAdd = group.filter((p) => !kept.has(p.entry.name));
    const toRemove = current.filter((c) => ![...kept.values()].includes(c));
    const added = new Map<string, number>();
    if (toAdd.length > 0) {
      const loaded = multi.load(
        toAdd.map((p) => ({ spec: p.object.spec, program: p.entry.program, file: p.entry.object, ...(p.entry.attach.kind === 'xdp' && p.entry.attach.priority !== undefined ? { priority: p.entry.attach.priority } : {}) })),
        attach.mode ? { mode: attach.mode } : {},
      );
      loaded.forEach((l, i) => added.set((toAdd[i] as PreparedEntry).entry.name, l.id));
    }
    for (const c of toRemove) multi.unload(c.id);
    const after = multi.status();
    return group.map((p): EntryState => {
      const id = kept.get(p.entry.name)?.id ?? added.get(p.entry.name);
      const now = after.programs.find((c) => c.id === id);
      const prev = previous.get(p.entry.name);
      const action = kept.has(p.entry.name) ? (prev?.progId === id ? 'unchanged' : 'adopted') : prev && prev.status === 'attached' ? 'updated' : 'created';
      return { ...base(p), pin: after.stateDir ?? '', status: 'attached', action, progId: id, tag: now?.tag, linkId: after.linkId };
    });
  } catch (err) {
    if (err instanceof AgentCommitError) throw err;
    throw new AgentCommitError(first.entry.name, `${attach.interface} (dispatcher): ${(err as Error).message}`, { cause: err });
  }
}

/** Unloads the agent's dispatchers on interfaces not in `keep` (all of them without it). */
export function removeXdpGroups(sys: Sys, bpffs: string, keep: ReadonlySet<string> = new Set()): string[] {
  const removed: string[] = [];
  let all: XdpInterfaceStatus[];
  try {
    all = XdpMultiProg.statusAll(sys, options(bpffs));
  } catch (err) {
    if (err instanceof BpfkitError) return removed;
    throw err;
  }
  for (const s of all) {
    if (s.kind !== 'bpfkit' || keep.has(s.ifname)) continue;
    for (const u of XdpMultiProg.open(sys, s.ifindex, options(bpffs)).unloadAll()) removed.push(`${s.ifname}:${u.name}`);
  }
  if (keep.size === 0) rmSync(`${bpffs}/bpfkit`, { recursive: true, force: true });
  return removed;
}

/**
 * The live maps of the programs running on dispatchers, by map name, for objects whose every
 * entry runs on a dispatcher (their maps are the dispatcher's programs' own, not the agent's pins).
 * The caller closes them.
 */
export function dispatcherMaps(sys: Sys, entries: readonly EntryState[], dispatched: readonly PreparedEntry[]): Map<string, Map<string, KernelMap>> {
  const out = new Map<string, Map<string, KernelMap>>();
  for (const p of dispatched) {
    if (out.has(p.object.path)) continue;
    const state = entries.find((e) => e.name === p.entry.name);
    if (!state?.progId) continue;
    if (dispatched.some((q) => q.object.path === p.object.path) && entries.some((e) => e.object === p.object.path && !dispatched.some((q) => q.entry.name === e.name))) continue;
    const names = new Map(p.object.spec.maps.map((m) => [(m.kernelName ?? m.name).slice(0, 15), m.name]));
    const maps = new Map<string, KernelMap>();
    let progMapIds: readonly number[];
    try {
      progMapIds = progMaps(sys, state.progId);
    } catch {
      continue; // gone meanwhile
    }
    for (const id of progMapIds) {
      const fd = mapFdById(sys, id);
      const name = names.get(mapInfo(fd).name);
      if (name && !maps.has(name)) maps.set(name, new KernelMap(fd, name));
      else fd.close();
    }
    out.set(p.object.path, maps);
  }
  return out;
}

function progMaps(sys: Sys, progId: number): readonly number[] {
  using fd = fdById(sys, 'prog', progId);
  return programInfo(fd).mapIds;
}
