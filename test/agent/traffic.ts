// Traffic and oracles for the agent's kernel tests: UDP senders and receivers across a veth pair, bpftool readings, /metrics parsing.
import { spawn } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { createServer } from 'node:net';
import { nsExec, type Netns } from '../support/netns.js';
import { bpftool } from '../kernel/harness.js';

/** The blocked and the open UDP port of the port_filter fixtures' tests. */
export const BLOCKED = 7001;
export const OPEN = 7002;

export interface Counts {
  dropped: bigint;
  passed: bigint;
}

/** The filter counters as bpftool reads them from the pinned map (summed over CPUs). */
export function pinnedCounts(pin: string, key = 0): Counts {
  const out = bpftool('map', 'lookup', 'pinned', pin, 'key', String(key), '0', '0', '0') as { values: { value: string[] }[] };
  const word = (v: string[], at: number) => v.slice(at, at + 8).reduceRight((acc, b) => (acc << 8n) | BigInt(parseInt(b, 16)), 0n);
  return out.values.reduce((s, c) => ({ dropped: s.dropped + word(c.value, 0), passed: s.passed + word(c.value, 8) }), { dropped: 0n, passed: 0n });
}

/** The value of one series of the agent's /metrics. */
export function metricValue(text: string, name: string, labels: Record<string, string>): bigint | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return BigInt(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/** Counts datagrams arriving on `addr:port` in this (root) namespace. */
export async function receiver(addr: string, port: number): Promise<{ sock: Socket; count: () => number }> {
  const sock = createSocket('udp4');
  let n = 0;
  sock.on('message', () => n++);
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, addr, () => resolve());
  });
  return { sock, count: () => n };
}

/** Sends UDP from `ns` to `dst`, alternating the blocked and the open port, for `seconds`; resolves with what was sent. */
export function sendAlternating(ns: Netns, dst: string, seconds: number, onStarted: () => void): Promise<{ blocked: number; open: number }> {
  const script = [
    'import socket,sys,time',
    's=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)',
    'p=b"y"*64',
    'b=o=0',
    'print("go",flush=True)',
    `end=time.time()+${seconds}`,
    'while time.time()<end:',
    `  s.sendto(p,("${dst}",${BLOCKED})); b+=1`,
    `  s.sendto(p,("${dst}",${OPEN})); o+=1`,
    '  if b%20==0: time.sleep(0.002)',
    'print(b,o,flush=True)',
  ].join('\n');
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns.name, 'python3', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      const first = out === '';
      out += d.toString();
      if (first && out.startsWith('go')) onStarted();
    });
    child.on('exit', (code) => {
      const m = /(\d+) (\d+)\s*$/.exec(out);
      if (code !== 0 || !m) reject(new Error(`sender failed (${code}): ${out}`));
      else resolve({ blocked: Number(m[1]), open: Number(m[2]) });
    });
  });
}

export function sendUdpCount(ns: Netns, dst: string, port: number, count: number): void {
  nsExec(ns, ['python3', '-c', `import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor _ in range(${count}): s.sendto(b"z"*32,("${dst}",${port}))`]);
}

/** XDP program ids per interface, as `bpftool net` shows them (of the interfaces `only` names; other tests run beside). */
export function xdpProgIds(only?: readonly string[]): Map<string, number> {
  const out = bpftool('net') as { xdp: { devname: string; id: number }[] }[];
  return new Map((out[0]?.xdp ?? []).filter((x) => !only || only.includes(x.devname)).map((x) => [x.devname, x.id]));
}

export function linkById(id: number): { prog_id: number } | undefined {
  try {
    return bpftool('link', 'show', 'id', String(id)) as { prog_id: number };
  } catch {
    return undefined;
  }
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}


export async function settle(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
}
