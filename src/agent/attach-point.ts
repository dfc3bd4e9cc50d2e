// Attach points on the kernel: resolve a config attach point to a target, create its link, tell whether a live link is on it.
import { closeSync, constants as fsConstants, openSync, readFileSync, statSync } from 'node:fs';
import { NotSupportedError } from '../errors.js';
import { AttachType } from '../kernel/bpf/constants.js';
import { createLink } from '../kernel/bpf/link.js';
import { type LinkInfo } from '../kernel/bpf/obj-info.js';
import { LinkType } from '../kernel/attach/constants.js';
import { resolveInterface } from '../kernel/attach/interface.js';
import { XDP_MODE_FLAG, queryXdp } from '../kernel/attach/xdp.js';
import { InterfaceNotFoundError } from '../kernel/attach/errors.js';
import { BpfCmd } from '../kernel/bpf/constants.js';
import { Fd } from '../kernel/fd.js';
import { openRtnetlink } from '../kernel/netlink/rtnetlink.js';
import type { Sys } from '../kernel/sys.js';
import type { AttachPoint, CgroupAttach } from './config.js';

/** An attach point resolved on this host: the interface index, cgroup id... */
export type ResolvedTarget =
  | { readonly kind: 'xdp'; readonly ifindex: number; readonly ifname: string }
  | { readonly kind: 'tc'; readonly ifindex: number; readonly ifname: string }
  | { readonly kind: 'cgroup'; readonly cgroupId: bigint }
  | { readonly kind: 'raw_tracepoint' }
  | { readonly kind: 'tracepoint'; readonly id: number };

/** What resolving an attach point found: a target, or why there is none yet. */
export type Resolution = { readonly ok: true; readonly target: ResolvedTarget } | { readonly ok: false; readonly reason: string };

const CGROUP_ATTACH: Readonly<Record<CgroupAttach, number>> = {
  ingress: AttachType.CGROUP_INET_INGRESS,
  egress: AttachType.CGROUP_INET_EGRESS,
  sock_create: AttachType.CGROUP_INET_SOCK_CREATE,
  sock_ops: AttachType.CGROUP_SOCK_OPS,
  connect4: AttachType.CGROUP_INET4_CONNECT,
  connect6: AttachType.CGROUP_INET6_CONNECT,
  bind4: AttachType.CGROUP_INET4_BIND,
  bind6: AttachType.CGROUP_INET6_BIND,
  sendmsg4: AttachType.CGROUP_UDP4_SENDMSG,
  recvmsg4: AttachType.CGROUP_UDP4_RECVMSG,
  device: AttachType.CGROUP_DEVICE,
  sysctl: AttachType.CGROUP_SYSCTL,
};

/** The expected attach type a program needs loaded with for a cgroup hook (libbpf's section default). */
export function cgroupAttachType(attach: CgroupAttach): number {
  return CGROUP_ATTACH[attach];
}

const TCX: Readonly<Record<'ingress' | 'egress', number>> = { ingress: AttachType.TCX_INGRESS, egress: AttachType.TCX_EGRESS };

/** Resolves `point` now: the interface by name, the cgroup directory's id (its inode on cgroup2). */
export function resolveAttachPoint(sys: Sys, point: AttachPoint): Resolution {
  switch (point.kind) {
    case 'xdp':
    case 'tc': {
      using sock = openRtnetlink(sys);
      try {
        const dev = resolveInterface(sock, point.interface);
        return { ok: true, target: { kind: point.kind, ifindex: dev.ifindex, ifname: dev.name } };
      } catch (err) {
        if (err instanceof InterfaceNotFoundError) return { ok: false, reason: `interface ${point.interface} not found` };
        throw err;
      }
    }
    case 'cgroup':
      try {
        const st = statSync(point.path, { bigint: true });
        if (!st.isDirectory()) return { ok: false, reason: `${point.path} is not a cgroup directory` };
        return { ok: true, target: { kind: 'cgroup', cgroupId: st.ino } };
      } catch (err) {
        return { ok: false, reason: `cgroup ${point.path}: ${(err as Error).message}` };
      }
    case 'raw_tracepoint':
      return { ok: true, target: { kind: 'raw_tracepoint' } };
    case 'tracepoint':
      for (const root of TRACEFS) {
        try {
          const id = Number(readFileSync(`${root}/events/${point.category}/${point.name}/id`, 'utf8').trim());
          if (Number.isInteger(id) && id > 0) return { ok: true, target: { kind: 'tracepoint', id } };
        } catch {
          // not this tracefs, or no such event
        }
      }
      return { ok: false, reason: `tracepoint ${point.category}/${point.name} not found (no ${TRACEFS.map((r) => `${r}/events/${point.category}/${point.name}/id`).join(' or ')})` };
  }
}

/** Where tracefs is mounted, newest place first. */
const TRACEFS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

const PERF_TYPE_TRACEPOINT = 2;
const PERF_ATTR_SIZE = 128;
const PERF_FLAG_FD_CLOEXEC = 8;

/** perf_event_open(PERF_TYPE_TRACEPOINT, config = tracepoint id) on CPU 0 for every process, as libbpf opens it. */
function openTracepointEvent(sys: Sys, id: number): Fd<'other'> {
  if (!sys.perfEventOpen) throw new NotSupportedError('perf_event_open through this Sys');
  const attr = new Uint8Array(PERF_ATTR_SIZE);
  const v = new DataView(attr.buffer);
  v.setUint32(0, PERF_TYPE_TRACEPOINT, true);
  v.setUint32(4, PERF_ATTR_SIZE, true);
  v.setBigUint64(8, BigInt(id), true); // config
  v.setBigUint64(16, 1n, true); // sample_period
  v.setUint32(48, 1, true); // wakeup_events
  return new Fd(sys, sys.perfEventOpen(attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC), 'other');
}

/** Creates the link that attaches `prog` at `point` (resolved as `target`). */
export function createAttachLink(sys: Sys, prog: Fd<'prog'>, point: AttachPoint, target: ResolvedTarget): Fd<'link'> {
  switch (point.kind) {
    case 'xdp':
      return createLink(sys, { prog, attachType: AttachType.XDP, targetIfindex: (target as { ifindex: number }).ifindex, flags: point.mode ? XDP_MODE_FLAG[point.mode] : 0 });
    case 'tc':
      return createLink(sys, { prog, attachType: TCX[point.direction], targetIfindex: (target as { ifindex: number }).ifindex });
    case 'cgroup': {
      const raw = openSync(point.path, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
      try {
        const cg = new Fd(sys, raw, 'other');
        try {
          return createLink(sys, { prog, attachType: CGROUP_ATTACH[point.attach], targetFd: cg });
        } finally {
          cg.release();
        }
      } finally {
        closeSync(raw);
      }
    }
    case 'tracepoint': {
      // A perf event for the tracepoint, and a BPF_PERF_EVENT link on it (the link holds the event).
      using event = openTracepointEvent(sys, (target as { id: number }).id);
      return createLink(sys, { prog, attachType: AttachType.PERF_EVENT, targetFd: event });
    }
    case 'raw_tracepoint': {
      // BPF_RAW_TRACEPOINT_OPEN { u64 name; u32 prog_fd; u32 pad; u64 cookie }: returns a link fd.
      const attr = new Uint8Array(24);
      new DataView(attr.buffer).setUint32(8, prog.raw, true);
      const name = new TextEncoder().encode(`${point.name}\0`);
      return new Fd(sys, sys.bpf(BpfCmd.RAW_TRACEPOINT_OPEN, attr, [{ offset: 0, target: name }]), 'link');
    }
  }
}

/**
 * Whether the live link `info` attaches at `target` as `point` asks (same interface, hook,
 * XDP mode when one is asked, cgroup and hook). A detached (defunct) link matches nothing.
 */
export function linkMatches(sys: Sys, info: LinkInfo, point: AttachPoint, target: ResolvedTarget): boolean {
  switch (point.kind) {
    case 'xdp': {
      if (info.type !== LinkType.XDP || info.ifindex !== (target as { ifindex: number }).ifindex) return false;
      if (!point.mode) return true;
      return queryXdp(sys, info.ifindex).some((a) => a.progId === info.progId && a.mode === point.mode);
    }
    case 'tc':
      return info.type === LinkType.TCX && info.ifindex === (target as { ifindex: number }).ifindex && info.attachType === TCX[point.direction];
    case 'cgroup': {
      if (info.type !== LinkType.CGROUP || info.attachType !== CGROUP_ATTACH[point.attach]) return false;
      const id = new DataView(info.raw.buffer, info.raw.byteOffset, info.raw.byteLength).getBigUint64(16, true);
      return id === (target as { cgroupId: bigint }).cgroupId;
    }
    case 'raw_tracepoint':
      return info.type === LinkType.RAW_TRACEPOINT;
    case 'tracepoint':
      return info.type === LinkType.PERF_EVENT;
  }
}

/** A short text of where an attach point is (`xdp eth1 (native)`, `tc ingress eth1`, `cgroup /sys/fs/cgroup/x ingress`). */
export function describeAttachPoint(point: AttachPoint): string {
  switch (point.kind) {
    case 'xdp':
      return `xdp ${point.interface}${point.mode ? ` (${point.mode})` : ''}`;
    case 'tc':
      return `tc ${point.direction} ${point.interface}`;
    case 'cgroup':
      return `cgroup ${point.path} ${point.attach}`;
    case 'raw_tracepoint':
      return `raw_tracepoint ${point.name}`;
    case 'tracepoint':
      return `tracepoint ${point.category}/${point.name}`;
  }
}
