// Network namespaces and veth pairs for kernel tests: unique names per run, always removed in finally.
import { execFileSync } from 'node:child_process';

/** A network namespace created by {@link withNetns}. */
export interface Netns {
  /** Its name (`ip netns` name). */
  readonly name: string;
  /** Runs `cmd` inside the namespace (`ip netns exec NAME ...`); returns stdout. */
  exec(cmd: readonly string[], options?: ExecOptions): string;
}

/** Options of {@link nsExec}. */
export interface ExecOptions {
  /** Bytes for stdin. */
  input?: string | Uint8Array;
  /** Kill after this long (default 20 s). */
  timeoutMs?: number;
}

let counter = 0;

/**
 * A name unique to this process and call: `prefix` + pid (base 36) + a counter, kept within
 * `maxLen` characters (interface names: 15).
 */
export function uniqueName(prefix: string, maxLen = 15): string {
  const name = `${prefix}${process.pid.toString(36)}${(counter++).toString(36)}`;
  if (name.length > maxLen) throw new Error(`name ${name} longer than ${maxLen} characters; use a shorter prefix`);
  return name;
}

/** Runs `cmd` in namespace `ns` (root namespace when undefined); returns stdout, throws with stderr on failure. */
export function nsExec(ns: Netns | string | undefined, cmd: readonly string[], options: ExecOptions = {}): string {
  const name = typeof ns === 'string' ? ns : ns?.name;
  const argv = name === undefined ? [...cmd] : ['ip', 'netns', 'exec', name, ...cmd];
  try {
    return execFileSync(argv[0] as string, argv.slice(1), {
      encoding: 'utf8',
      input: options.input,
      // A CLI run under tsx compiles cold; at load average 20+ that alone has taken over 20 s.
      timeout: options.timeoutMs ?? 90_000,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${argv.join(' ')} failed: ${e.stderr?.trim() || e.message}`, { cause: err });
  }
}

/** `ip` in the root namespace; returns stdout. */
function ip(...args: string[]): string {
  return nsExec(undefined, ['ip', ...args]);
}

/** Best-effort removal (cleanup must not mask the test's own error). */
function quietly(fn: () => void): void {
  try {
    fn();
  } catch {
    // already gone
  }
}

/**
 * Creates a network namespace named `prefix` + a unique suffix, brings its loopback up, runs
 * `fn`, and deletes the namespace in `finally` (which also deletes the interfaces in it).
 */
export async function withNetns<T>(prefix: string, fn: (ns: Netns) => Promise<T> | T): Promise<T> {
  const name = uniqueName(prefix, 60);
  ip('netns', 'add', name);
  const ns: Netns = { name, exec: (cmd, options) => nsExec(name, cmd, options) };
  try {
    ns.exec(['ip', 'link', 'set', 'lo', 'up']);
    return await fn(ns);
  } finally {
    quietly(() => ip('netns', 'del', name));
  }
}

/** One end of a veth pair. */
export interface VethEnd {
  /** Interface name. */
  readonly name: string;
  /** The namespace it lives in; undefined for the root namespace (the test process's own). */
  readonly ns: Netns | undefined;
  /** Interface index inside its namespace. */
  readonly ifindex: number;
  /** MAC address (`aa:bb:...`). */
  readonly mac: string;
  /** IPv4 address without prefix length, when one was assigned. */
  readonly ipv4: string | undefined;
}

/** Options for one end of {@link createVethPair}. */
export interface VethEndOptions {
  /** Namespace to move this end into (default: the root namespace). */
  ns?: Netns;
  /** IPv4 address with prefix length, `'10.99.0.1/24'`. */
  address?: string;
}

/** Options of {@link createVethPair}. */
export interface VethPairOptions {
  /** Name prefix (e.g. `'bkat'`); names are prefix + unique suffix + `a`/`b`, at most 15 characters. */
  prefix: string;
  /** The first end. */
  a?: VethEndOptions;
  /** The second end. */
  b?: VethEndOptions;
  /** Disable IPv6 on both ends, so no router solicitations or DAD packets show up in counts (default true). */
  noIpv6?: boolean;
  /** MTU of both ends. */
  mtu?: number;
}

/** A veth pair; dispose (or `delete()`) removes it. */
export interface VethPair extends Disposable {
  readonly a: VethEnd;
  readonly b: VethEnd;
  /** Deletes the pair (idempotent). */
  delete(): void;
}

function linkInfo(ns: Netns | undefined, name: string): { ifindex: number; mac: string } {
  const out = JSON.parse(nsExec(ns, ['ip', '-j', 'link', 'show', 'dev', name])) as { ifindex: number; address: string }[];
  const l = out[0];
  if (!l) throw new Error(`interface ${name} not found`);
  return { ifindex: l.ifindex, mac: l.address };
}

/**
 * Creates a veth pair (unique names from `prefix`), moves each end to its namespace, disables
 * IPv6 (unless `noIpv6: false`), assigns the addresses and brings both ends up. On any failure
 * the pair is removed before the error propagates.
 */
export function createVethPair(options: VethPairOptions): VethPair {
  const base = uniqueName(options.prefix, 14);
  const nameA = `${base}a`;
  const nameB = `${base}b`;
  ip('link', 'add', nameA, 'type', 'veth', 'peer', 'name', nameB);
  let deleted = false;
  const del = (): void => {
    if (deleted) return;
    deleted = true;
    // Deleting either end deletes both; the end may sit in a namespace that is already gone.
    quietly(() => nsExec(options.a?.ns, ['ip', 'link', 'del', nameA]));
    quietly(() => nsExec(options.b?.ns, ['ip', 'link', 'del', nameB]));
  };
  try {
    const setup = (name: string, end: VethEndOptions | undefined): VethEnd => {
      if (end?.ns) ip('link', 'set', name, 'netns', end.ns.name);
      const ns = end?.ns;
      if (options.noIpv6 ?? true) nsExec(ns, ['sysctl', '-q', '-w', `net.ipv6.conf.${name}.disable_ipv6=1`]);
      if (options.mtu) nsExec(ns, ['ip', 'link', 'set', name, 'mtu', String(options.mtu)]);
      if (end?.address) nsExec(ns, ['ip', 'addr', 'add', end.address, 'dev', name]);
      const info = linkInfo(ns, name);
      return { name, ns, ifindex: info.ifindex, mac: info.mac, ipv4: end?.address?.split('/')[0] };
    };
    const a = setup(nameA, options.a);
    const b = setup(nameB, options.b);
    nsExec(a.ns, ['ip', 'link', 'set', nameA, 'up']);
    nsExec(b.ns, ['ip', 'link', 'set', nameB, 'up']);
    return { a, b, delete: del, [Symbol.dispose]: del };
  } catch (err) {
    del();
    throw err;
  }
}

/** Creates a veth pair, runs `fn`, and deletes the pair in `finally`. */
export async function withVethPair<T>(options: VethPairOptions, fn: (pair: VethPair) => Promise<T> | T): Promise<T> {
  const pair = createVethPair(options);
  try {
    return await fn(pair);
  } finally {
    pair.delete();
  }
}

/**
 * Sends `count` UDP datagrams of `size` payload bytes from inside `ns` to `dst:port` (with
 * python3, one socket, no replies awaited). Returns nothing; the sender exits when done.
 */
export function sendUdp(ns: Netns | undefined, dst: string, port: number, count: number, size: number, srcPort = 0): void {
  const script = [
    'import socket,sys',
    's=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)',
    `s.bind(("0.0.0.0",${srcPort}))`,
    `p=b"x"*${size}`,
    `for _ in range(${count}): s.sendto(p,("${dst}",${port}))`,
  ].join('\n');
  nsExec(ns, ['python3', '-c', script]);
}

/** Pins a permanent ARP entry for `ipv4` -> `mac` on `dev` in `ns`, so sending needs no ARP exchange. */
export function staticNeighbour(ns: Netns | undefined, dev: string, ipv4: string, mac: string): void {
  nsExec(ns, ['ip', 'neigh', 'replace', ipv4, 'lladdr', mac, 'dev', dev, 'nud', 'permanent']);
}

/**
 * Sends `count` ICMP echo requests with `size` payload bytes from inside `ns` to `dst` (python3,
 * raw socket, no replies awaited). Each frame is 14 + 20 + 8 + `size` bytes on the wire.
 */
export function sendIcmpEcho(ns: Netns | undefined, dst: string, count: number, size: number): void {
  const script = [
    'import socket,struct',
    's=socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_ICMP)',
    `p=b"i"*${size}`,
    'def csum(b):',
    '  b=b+(b"\\0" if len(b)%2 else b"")',
    '  t=sum(struct.unpack("!%dH"%(len(b)//2),b)); t=(t>>16)+(t&0xffff); t+=t>>16',
    '  return (~t)&0xffff',
    `for i in range(${count}):`,
    '  h=struct.pack("!BBHHH",8,0,0,0x4242,i)',
    '  s.sendto(struct.pack("!BBHHH",8,0,csum(h+p),0x4242,i)+p,("' + dst + '",0))',
  ].join('\n');
  nsExec(ns, ['python3', '-c', script]);
}

/**
 * Runs `cmd` in `ns`'s network namespace only (`nsenter --net`), keeping this process's mount
 * namespace — unlike `ip netns exec`, which remounts /sys and so hides /sys/fs/bpf. Use it for
 * anything that pins in bpffs.
 */
export function nsEnter(ns: Netns, cmd: readonly string[], options: ExecOptions = {}): string {
  return nsExec(undefined, ['nsenter', `--net=/run/netns/${ns.name}`, ...cmd], options);
}
