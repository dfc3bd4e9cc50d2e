// A model of kernel state as JSON (bpfkit run|test-run --model FILE): the FIB, sockets, tunnel metadata and current task, parsed and checked.
//
// {
//   "fib":     { "routes": [{ "dst": "10.0.0.0/8", "ifindex": 2, "gateway": "10.0.0.1" }],
//                "neighbours": [{ "ifindex": 2, "ip": "10.0.0.1", "mac": "02:00:00:00:00:01" }],
//                "devices": [{ "ifindex": 1 }, { "ifindex": 2, "mac": "02:00:00:00:00:02", "mtu": 1500 }] },
//   "sockets": [{ "protocol": "tcp", "local": "127.0.0.1:8080" },
//               { "protocol": "tcp", "local": "10.0.0.2:80", "remote": "10.0.0.9:40000" }],
//   "tunnel":  { "id": 42, "remote": "192.0.2.1", "local": "198.51.100.7", "ttl": 64, "options": "0102030405060708" },
//   "task":    { "pid": 4242, "tgid": 4242, "uid": 1000, "gid": 1000, "comm": "nginx", "cgroupAncestors": [1, 7, 9] },
//   "socketMaps": { "redir": [{ "key": 0, "socket": 0 }] }
// }
//
// Addresses are text (IPv6 with a port in brackets: "[::1]:53"), MACs colon-separated, option
// bytes hex. Anything else — an unknown key, a malformed address, a port above 65535, a model the
// kernel could not hold — is a ModelError naming the field.

import type { HelperTask } from './helpers/env.js';
import type { FibDevice, FibNeighbour, FibRoute, FibTable } from './helpers/fib.js';
import { ModelError } from './model-error.js';
import { TcpState, validateSocketTable, type ModelSocket, type SocketMapEntry, type SocketTable, type TcpSockField } from './socket-model.js';
import { tunnelInfoFromModel, type TunnelInfo } from './tunnel-model.js';
import { parseIp, parseMac } from '../packet/address.js';
import { BpfkitError } from '../errors.js';

/** The kernel state a userspace run answers from. */
export interface KernelModel {
  /** bpf_fib_lookup's routes, neighbours and devices. */
  readonly fib?: FibTable;
  /** The sockets bpf_sk_lookup_* find. */
  readonly sockets?: SocketTable;
  /** The tunnel metadata every packet arrives with. */
  readonly tunnel?: TunnelInfo;
  /** The current task the get_current_* helpers report. */
  readonly task?: HelperTask;
  /** Socket maps (sockmap/sockhash) filled with sockets of `sockets` before the runs, by map name. */
  readonly socketMaps?: Readonly<Record<string, readonly SocketMapEntry[]>>;
}

type Json = Record<string, unknown>;

const TCP_FIELDS: readonly TcpSockField[] = [
  'snd_cwnd', 'srtt_us', 'rtt_min', 'snd_ssthresh', 'rcv_nxt', 'snd_nxt', 'snd_una', 'mss_cache', 'ecn_flags', 'rate_delivered',
  'rate_interval_us', 'packets_out', 'retrans_out', 'total_retrans', 'segs_in', 'data_segs_in', 'segs_out', 'data_segs_out',
  'lost_out', 'sacked_out', 'bytes_received', 'bytes_acked', 'dsack_dups', 'delivered', 'delivered_ce', 'icsk_retransmits',
];

/** Reads one JSON object's fields, each checked; ModelError names `where` and the field. */
class Fields {
  constructor(
    private readonly where: string,
    private readonly obj: Json,
    allowed: readonly string[],
  ) {
    for (const k of Object.keys(obj)) if (!allowed.includes(k)) this.fail(k, `unknown field (one of ${allowed.join(', ')})`);
  }

  fail(field: string, reason: string): never {
    throw new ModelError(this.where, field, reason);
  }

  has(k: string): boolean {
    return this.obj[k] !== undefined;
  }

  string(k: string): string {
    const v = this.obj[k];
    if (typeof v !== 'string') this.fail(k, `must be a string, got ${JSON.stringify(v)}`);
    return v;
  }

  int(k: string, min: number, max: number): number {
    const v = this.obj[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) this.fail(k, `must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
    return v;
  }

  optInt(k: string, min: number, max: number): number | undefined {
    return this.has(k) ? this.int(k, min, max) : undefined;
  }

  bool(k: string): boolean | undefined {
    const v = this.obj[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') this.fail(k, `must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  ip(k: string): Uint8Array {
    return this.wrap(k, () => parseIp(this.string(k), k));
  }

  mac(k: string): Uint8Array {
    return this.wrap(k, () => parseMac(this.string(k), k));
  }

  array(k: string): Json[] {
    const v = this.obj[k];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'object' || x === null || Array.isArray(x))) this.fail(k, 'must be an array of objects');
    return v as Json[];
  }

  object(k: string): Json {
    const v = this.obj[k];
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(k, 'must be an object');
    return v as Json;
  }

  /** Runs `fn`, turning an address parser's error into a ModelError for field `k`. */
  wrap<T>(k: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof ModelError || !(e instanceof BpfkitError)) throw e;
      return this.fail(k, e.message);
    }
  }
}

/** "1.2.3.4:80", "[::1]:53" or "::1" (no port) -> address bytes and port. */
function endpoint(f: Fields, k: string, needPort: boolean): { addr: Uint8Array; port: number | undefined } {
  const text = f.string(k);
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  const addrText = m ? m[1]! : text;
  const port = m ? Number(m[2]) : undefined;
  if (port !== undefined && port > 65535) f.fail(k, `port ${port} is above 65535`);
  if (needPort && port === undefined) f.fail(k, `needs a port: "ADDRESS:PORT" or "[IPV6]:PORT", got ${JSON.stringify(text)}`);
  return { addr: f.wrap(k, () => parseIp(addrText, k)), port };
}

function parseSockets(list: Json[]): SocketTable {
  const sockets = list.map((o, i): ModelSocket => {
    const f = new Fields(`sockets[${i}]`, o, ['protocol', 'local', 'remote', 'state', 'v6only', 'boundIfindex', 'mark', 'priority', 'netnsId', 'listener', 'tcp', 'reuseport', 'cookie']);
    const text = f.string('protocol');
    const protocol = text === 'tcp' || text === 'udp' ? text : f.fail('protocol', `must be "tcp" or "udp", got ${JSON.stringify(text)}`);
    const local = endpoint(f, 'local', true);
    const remote = f.has('remote') ? endpoint(f, 'remote', true) : undefined;
    const state = f.has('state') ? f.string('state') : undefined;
    if (state !== undefined && !(state in TcpState)) f.fail('state', `unknown state ${JSON.stringify(state)} (one of ${Object.keys(TcpState).join(', ')})`);
    let tcp: Partial<Record<TcpSockField, number>> | undefined;
    if (f.has('tcp')) {
      const t = new Fields(`sockets[${i}].tcp`, f.object('tcp'), TCP_FIELDS);
      tcp = {};
      for (const k of TCP_FIELDS) if (t.has(k)) tcp[k] = t.int(k, 0, k === 'bytes_received' || k === 'bytes_acked' ? Number.MAX_SAFE_INTEGER : 0xffffffff);
    }
    const s: ModelSocket = {
      protocol,
      local: local.addr,
      localPort: local.port!,
      ...(remote ? { remote: remote.addr, remotePort: remote.port! } : {}),
      ...(state !== undefined ? { state: state as keyof typeof TcpState } : {}),
      ...(f.bool('v6only') !== undefined ? { v6only: f.bool('v6only')! } : {}),
      ...(f.has('boundIfindex') ? { boundIfindex: f.int('boundIfindex', 0, 0xffffffff) } : {}),
      ...(f.has('mark') ? { mark: f.int('mark', 0, 0xffffffff) } : {}),
      ...(f.has('priority') ? { priority: f.int('priority', 0, 0xffffffff) } : {}),
      ...(f.has('netnsId') ? { netnsId: f.int('netnsId', 0, 0x7fffffff) } : {}),
      ...(f.has('listener') ? { listener: f.int('listener', 0, list.length - 1) } : {}),
      ...(tcp ? { tcp } : {}),
      ...(f.bool('reuseport') !== undefined ? { reuseport: f.bool('reuseport')! } : {}),
      ...(f.has('cookie') ? { cookie: BigInt(f.int('cookie', 1, Number.MAX_SAFE_INTEGER)) } : {}),
    };
    return s;
  });
  const table = { sockets };
  validateSocketTable(table);
  return table;
}

function parseTunnel(o: Json): TunnelInfo {
  const f = new Fields('tunnel', o, ['id', 'remote', 'local', 'tos', 'ttl', 'label', 'flags', 'options']);
  const options = f.has('options') ? f.string('options') : undefined;
  if (options !== undefined && !/^([0-9a-fA-F]{2})*$/.test(options)) f.fail('options', 'must be hex bytes ("0102...")');
  return tunnelInfoFromModel({
    id: BigInt(f.int('id', 0, Number.MAX_SAFE_INTEGER)),
    remote: f.ip('remote'),
    local: f.ip('local'),
    ...(f.has('tos') ? { tos: f.int('tos', 0, 255) } : {}),
    ...(f.has('ttl') ? { ttl: f.int('ttl', 0, 255) } : {}),
    ...(f.has('label') ? { label: f.int('label', 0, 0xfffff) } : {}),
    ...(f.has('flags') ? { flags: f.int('flags', 0, (1 << 18) - 1) } : {}),
    ...(options !== undefined ? { options: Uint8Array.from(options.match(/../g) ?? [], (h) => parseInt(h, 16)) } : {}),
  });
}

function parseFib(o: Json): FibTable {
  const f = new Fields('fib', o, ['routes', 'neighbours', 'devices', 'ipv6Forwarding']);
  const routes = (f.has('routes') ? f.array('routes') : []).map((r, i): FibRoute => {
    const g = new Fields(`fib.routes[${i}]`, r, ['dst', 'type', 'ifindex', 'gateway', 'metric', 'mtu']);
    const dstText = g.string('dst');
    const m = /^(.+)\/(\d+)$/.exec(dstText);
    const dst = g.wrap('dst', () => parseIp(m ? m[1]! : dstText, 'dst'));
    const prefixLen = m ? Number(m[2]) : dst.length * 8;
    if (prefixLen > dst.length * 8) g.fail('dst', `prefix length ${prefixLen} exceeds ${dst.length * 8}`);
    const type = g.has('type') ? g.string('type') : undefined;
    if (type !== undefined && !['unicast', 'blackhole', 'unreachable', 'prohibit', 'local'].includes(type)) g.fail('type', `one of unicast, blackhole, unreachable, prohibit, local; got ${JSON.stringify(type)}`);
    const gateway = g.has('gateway') ? g.ip('gateway') : undefined;
    if (gateway && gateway.length !== dst.length) g.fail('gateway', 'must be the same family as dst');
    return {
      family: dst.length === 4 ? 4 : 6,
      dst,
      prefixLen,
      ...(type !== undefined ? { type: type as FibRoute['type'] & string } : {}),
      ...(g.has('ifindex') ? { ifindex: g.int('ifindex', 1, 0x7fffffff) } : {}),
      ...(gateway ? { gateway } : {}),
      ...(g.has('metric') ? { metric: g.int('metric', 0, 0xffffffff) } : {}),
      ...(g.has('mtu') ? { mtu: g.int('mtu', 68, 0xffff) } : {}),
    };
  });
  const neighbours = (f.has('neighbours') ? f.array('neighbours') : []).map((n, i): FibNeighbour => {
    const g = new Fields(`fib.neighbours[${i}]`, n, ['ifindex', 'ip', 'mac']);
    return { ifindex: g.int('ifindex', 1, 0x7fffffff), ip: g.ip('ip'), mac: g.mac('mac') };
  });
  const devices = (f.has('devices') ? f.array('devices') : []).map((d, i): FibDevice => {
    const g = new Fields(`fib.devices[${i}]`, d, ['ifindex', 'mac', 'mtu', 'forwarding']);
    return {
      ifindex: g.int('ifindex', 1, 0x7fffffff),
      ...(g.has('mac') ? { mac: g.mac('mac') } : {}),
      ...(g.has('mtu') ? { mtu: g.int('mtu', 68, 0xffff) } : {}),
      ...(g.bool('forwarding') !== undefined ? { forwarding: g.bool('forwarding')! } : {}),
    };
  });
  return { routes, neighbours, devices, ...(f.bool('ipv6Forwarding') !== undefined ? { ipv6Forwarding: f.bool('ipv6Forwarding')! } : {}) };
}

function parseTask(o: Json): HelperTask {
  const f = new Fields('task', o, ['pid', 'tgid', 'uid', 'gid', 'comm', 'cgroupId', 'cgroupAncestors', 'pidNamespace']);
  const comm = f.has('comm') ? f.string('comm') : '';
  if (new TextEncoder().encode(comm).length > 15) f.fail('comm', 'a task name is at most 15 bytes');
  const id = (v: unknown, field: string): bigint => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) f.fail(field, `must be a non-negative integer, got ${JSON.stringify(v)}`);
    return BigInt(v as number);
  };
  let ancestors: bigint[] | undefined;
  if (f.has('cgroupAncestors')) {
    const v = (o as Json)['cgroupAncestors'];
    if (!Array.isArray(v)) f.fail('cgroupAncestors', 'must be an array of cgroup ids, the root first');
    ancestors = (v as unknown[]).map((x) => id(x, 'cgroupAncestors'));
  }
  let pidNamespace: HelperTask['pidNamespace'];
  if (f.has('pidNamespace')) {
    const g = new Fields('task.pidNamespace', f.object('pidNamespace'), ['dev', 'ino']);
    pidNamespace = { dev: BigInt(g.int('dev', 0, 0xffffffff)), ino: BigInt(g.int('ino', 0, Number.MAX_SAFE_INTEGER)) };
  }
  return {
    pid: f.optInt('pid', 0, 0x7fffffff) ?? 0,
    tgid: f.optInt('tgid', 0, 0x7fffffff) ?? 0,
    uid: f.optInt('uid', 0, 0xffffffff) ?? 0,
    gid: f.optInt('gid', 0, 0xffffffff) ?? 0,
    comm,
    ...(f.has('cgroupId') ? { cgroupId: id((o as Json)['cgroupId'], 'cgroupId') } : {}),
    ...(ancestors ? { cgroupAncestors: ancestors } : {}),
    ...(pidNamespace ? { pidNamespace } : {}),
  };
}

/**
 * "socketMaps": { "MAP": [{ "key": 0, "socket": 2 }, { "key": "0a000001", "socket": 0 }] }: a
 * number key is a u32 (a sockmap index), a string the key's bytes in hex (a sockhash key);
 * `socket` indexes "sockets".
 */
function parseSocketMaps(o: Json, count: number): Record<string, SocketMapEntry[]> {
  const out: Record<string, SocketMapEntry[]> = {};
  for (const name of Object.keys(o)) {
    const m = new Fields('socketMaps', o, Object.keys(o));
    out[name] = m.array(name).map((e, i) => {
      const f = new Fields(`socketMaps.${name}[${i}]`, e, ['key', 'socket']);
      const raw = e['key'];
      const key =
        typeof raw === 'number'
          ? new Uint8Array(new Uint32Array([f.int('key', 0, 0xffffffff)]).buffer)
          : typeof raw === 'string' && /^([0-9a-fA-F]{2})+$/.test(raw)
            ? Uint8Array.from(raw.match(/../g)!.map((h) => parseInt(h, 16)))
            : f.fail('key', 'must be a u32 index or the key bytes in hex');
      if (count === 0) f.fail('socket', 'names a socket, but the model has no "sockets"');
      return { key, socket: f.int('socket', 0, count - 1) };
    });
  }
  return out;
}

/** Parses a model (the JSON value of a `--model` file); ModelError names the first bad field. */
export function parseKernelModel(json: unknown): KernelModel {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ModelError('model', '(top level)', 'must be a JSON object with "fib", "sockets", "tunnel" and/or "task"');
  const f = new Fields('model', json as Json, ['fib', 'sockets', 'tunnel', 'task', 'socketMaps']);
  const sockets = f.has('sockets') ? parseSockets(f.array('sockets')) : undefined;
  return {
    ...(f.has('fib') ? { fib: parseFib(f.object('fib')) } : {}),
    ...(sockets ? { sockets } : {}),
    ...(f.has('socketMaps') ? { socketMaps: parseSocketMaps(f.object('socketMaps'), sockets?.sockets.length ?? 0) } : {}),
    ...(f.has('tunnel') ? { tunnel: parseTunnel(f.object('tunnel')) } : {}),
    ...(f.has('task') ? { task: parseTask(f.object('task')) } : {}),
  };
}
