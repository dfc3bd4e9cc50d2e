// What iproute2, tc and bpftool say is attached: the oracles the attach tests compare bpfkit against.
import { nsExec, type Netns } from '../../support/netns.js';

/** XDP programs on `dev` per `ip -j link` (mode: 1 drv, 2 skb, 3 hw), empty when none. */
export function ipLinkXdp(ns: Netns | undefined, dev: string): { mode: number; progId: number }[] {
  const out = JSON.parse(nsExec(ns, ['ip', '-j', 'link', 'show', 'dev', dev])) as {
    xdp?: { mode: number; prog?: { id: number }; attached?: { mode: number; prog?: { id: number } }[] };
  }[];
  const xdp = out[0]?.xdp;
  if (!xdp) return [];
  if (xdp.attached && xdp.attached.length > 0) return xdp.attached.map((a) => ({ mode: a.mode, progId: a.prog?.id ?? 0 }));
  return xdp.prog ? [{ mode: xdp.mode, progId: xdp.prog.id }] : [];
}

/** One entry of `bpftool net -j`. */
export interface BpftoolNet {
  xdp: { devname: string; ifindex: number; mode: string; id: number }[];
  tc: { devname: string; ifindex: number; kind: string; name?: string; id?: number; prog_id?: number; link_id?: number }[];
}

/** `bpftool net -j` (all interfaces of `ns`), restricted to `dev`. */
export function bpftoolNet(ns: Netns | undefined, dev: string): BpftoolNet {
  const all = (JSON.parse(nsExec(ns, ['bpftool', 'net', '-j'])) as BpftoolNet[])[0] ?? { xdp: [], tc: [] };
  return { xdp: all.xdp.filter((x) => x.devname === dev), tc: all.tc.filter((t) => t.devname === dev) };
}

/** cls_bpf filters on a clsact hook per `tc -j filter show` (the filters with options only). */
export function tcFilters(ns: Netns | undefined, dev: string, direction: 'ingress' | 'egress'): { pref: number; handle: number; name: string; progId: number; da: boolean }[] {
  const out = JSON.parse(nsExec(ns, ['tc', '-j', 'filter', 'show', 'dev', dev, direction]) || '[]') as {
    pref: number;
    kind: string;
    options?: { handle: string; bpf_name: string; 'direct-action'?: boolean; prog?: { id: number } };
  }[];
  return out
    .filter((f) => f.kind === 'bpf' && f.options)
    .map((f) => ({ pref: f.pref, handle: Number(f.options?.handle), name: f.options?.bpf_name ?? '', progId: f.options?.prog?.id ?? 0, da: f.options?.['direct-action'] === true }));
}

/** Links per `bpftool link show -j`: id, type, prog id (and ifindex when bpftool prints it). */
export function bpftoolLinks(): { id: number; type: string | number; prog_id: number; ifindex?: number }[] {
  return JSON.parse(nsExec(undefined, ['bpftool', 'link', 'show', '-j'])) as { id: number; type: string | number; prog_id: number; ifindex?: number }[];
}
