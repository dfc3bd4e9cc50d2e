// The agent config: YAML or JSON text -> a validated, normalised AgentConfig (paths resolved, entry names, defaults).
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { XdpMode } from '../kernel/attach/xdp.js';
import { AgentConfigError } from './errors.js';
import { AGENT_CONFIG_SCHEMA, validateSchema } from './schema.js';

/** A key or value as written in the config (see docs/agent.md, "Bytes"). */
export type ConfigBytes = number | string | readonly number[] | { readonly [field: string]: unknown };

/** One map entry to write. */
export interface SeedEntry {
  readonly key: ConfigBytes;
  readonly value: ConfigBytes;
  /** Where it was written (`objects[0].maps[1].entries[2]`, or `FILE[3]`). */
  readonly path: string;
}

/** Entries to write into one map of an object. */
export interface MapSeed {
  readonly map: string;
  readonly entries: readonly SeedEntry[];
  readonly path: string;
}

/** Per-object options. */
export interface ObjectOptions {
  /** Absolute path of the ELF object. */
  readonly path: string;
  /** Global variables by name. */
  readonly globals: Readonly<Record<string, unknown>>;
  readonly seeds: readonly MapSeed[];
  /** Config path of the options (`objects[0]`), or undefined when the object has none. */
  readonly configPath: string | undefined;
}

/** Where a program is attached. */
export type AttachPoint =
  | { readonly kind: 'xdp'; readonly interface: string; readonly mode: XdpMode | undefined; readonly whenPresent: boolean; readonly priority?: number }
  | { readonly kind: 'tc'; readonly interface: string; readonly direction: 'ingress' | 'egress'; readonly whenPresent: boolean }
  | { readonly kind: 'cgroup'; readonly path: string; readonly attach: CgroupAttach }
  | { readonly kind: 'raw_tracepoint'; readonly name: string }
  | { readonly kind: 'tracepoint'; readonly category: string; readonly name: string };

/** Cgroup hooks the agent attaches to. */
export type CgroupAttach = 'ingress' | 'egress' | 'sock_create' | 'sock_ops' | 'connect4' | 'connect6' | 'bind4' | 'bind6' | 'sendmsg4' | 'recvmsg4' | 'device' | 'sysctl';

/** One program to keep deployed. */
export interface ProgramEntry {
  /** Unique entry name: the pin name of its link. */
  readonly name: string;
  /** Absolute object path. */
  readonly object: string;
  readonly program: string;
  readonly type: string | undefined;
  readonly attach: AttachPoint;
  /** `programs[i]`. */
  readonly path: string;
}

/** One map exported as metrics. */
export interface MetricEntry {
  readonly map: string;
  readonly object: string | undefined;
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: string;
  readonly perCpu: 'sum' | 'label';
  readonly keyLabel: string;
  readonly keyNames: Readonly<Record<string, string>>;
  readonly path: string;
}

/** A validated config. */
export interface AgentConfig {
  readonly bpffs: string;
  readonly listen: { readonly host: string; readonly port: number };
  readonly onExit: 'keep' | 'detach';
  readonly watch: boolean;
  /** Options by absolute object path (every object a program names has one). */
  readonly objects: ReadonlyMap<string, ObjectOptions>;
  readonly programs: readonly ProgramEntry[];
  readonly metrics: readonly MetricEntry[];
  /** The file it came from. */
  readonly file: string | undefined;
}

const MODE_ALIAS: Readonly<Record<string, XdpMode>> = { skb: 'skb', native: 'native', hw: 'hw', generic: 'skb', driver: 'native', offload: 'hw' };

type Raw = Record<string, unknown>;

/** The default entry name of a program entry. */
function defaultName(program: string, attach: AttachPoint): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_');
  switch (attach.kind) {
    case 'xdp':
      return `${program}@${safe(attach.interface)}`;
    case 'tc':
      return `${program}@${attach.direction}-${safe(attach.interface)}`;
    case 'cgroup':
      return `${program}@cgroup-${attach.attach}`;
    case 'raw_tracepoint':
      return `${program}@${attach.name}`;
    case 'tracepoint':
      return `${program}@${attach.category}-${attach.name}`;
  }
}

/** Reads a seed file (JSON or YAML list of {key, value}). */
function readSeedFile(file: string, at: string, configFile: string | undefined): SeedEntry[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AgentConfigError(configFile, `${at}.file`, undefined, `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (err) {
    throw new AgentConfigError(configFile, `${at}.file`, undefined, `${file}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  const bad = validateSchema({ type: 'array', items: AGENT_CONFIG_SCHEMA.$defs!['entry'] }, data, AGENT_CONFIG_SCHEMA, file);
  if (bad) throw new AgentConfigError(configFile, `${at}.file`, undefined, `${bad.path}: ${bad.message}`);
  return (data as Raw[]).map((e, i) => ({ key: e['key'] as ConfigBytes, value: e['value'] as ConfigBytes, path: `${file}[${i}]` }));
}

/**
 * Parses and validates a config (YAML or JSON; JSON is read as JSON for exact error positions).
 * Throws {@link AgentConfigError} naming the key (and entry) at the first problem. Relative
 * paths are resolved against `baseDir` (the config file's directory).
 */
export function parseAgentConfig(text: string, options: { file?: string; baseDir?: string } = {}): AgentConfig {
  const file = options.file;
  const base = options.baseDir ?? (file ? dirname(resolve(file)) : process.cwd());
  let doc: unknown;
  try {
    doc = /^\s*[{[]/.test(text) ? JSON.parse(text) : parseYaml(text, { uniqueKeys: true });
  } catch (err) {
    const msg = err instanceof YAMLParseError ? err.message.split('\n')[0] : (err as Error).message;
    throw new AgentConfigError(file, '', undefined, `not valid ${/^\s*[{[]/.test(text) ? 'JSON' : 'YAML'}: ${msg}`, { cause: err });
  }
  if (doc === null || doc === undefined) throw new AgentConfigError(file, '', undefined, 'the config is empty');
  const bad = validateSchema(AGENT_CONFIG_SCHEMA, doc);
  if (bad) {
    const m = /^(programs|objects|metrics)\[(\d+)\]/.exec(bad.path);
    const entry = m ? entryLabel(doc as Raw, m[1] as string, Number(m[2])) : undefined;
    throw new AgentConfigError(file, bad.path, entry, bad.message);
  }
  const raw = doc as Raw;
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));

  const objects = new Map<string, ObjectOptions>();
  ((raw['objects'] as Raw[] | undefined) ?? []).forEach((o, i) => {
    const at = `objects[${i}]`;
    const path = abs(o['path'] as string);
    if (objects.has(path)) throw new AgentConfigError(file, `${at}.path`, path, `object ${path} is listed twice`);
    const seeds = ((o['maps'] as Raw[] | undefined) ?? []).map((s, j): MapSeed => {
      const sAt = `${at}.maps[${j}]`;
      const inline = ((s['entries'] as Raw[] | undefined) ?? []).map((e, k) => ({ key: e['key'] as ConfigBytes, value: e['value'] as ConfigBytes, path: `${sAt}.entries[${k}]` }));
      const fromFile = s['file'] !== undefined ? readSeedFile(abs(s['file'] as string), sAt, file) : [];
      if (s['entries'] === undefined && s['file'] === undefined) throw new AgentConfigError(file, sAt, path, 'a map seed needs "entries" or "file"');
      return { map: s['map'] as string, entries: [...inline, ...fromFile], path: sAt };
    });
    objects.set(path, { path, globals: (o['globals'] as Raw | undefined) ?? {}, seeds, configPath: at });
  });

  const names = new Set<string>();
  const programs = (raw['programs'] as Raw[]).map((p, i): ProgramEntry => {
    const at = `programs[${i}]`;
    const kinds = ['xdp', 'tc', 'cgroup', 'rawTracepoint', 'tracepoint'].filter((k) => p[k] !== undefined);
    const label = entryLabel(raw, 'programs', i);
    if (kinds.length !== 1) throw new AgentConfigError(file, at, label, kinds.length === 0 ? 'needs an attach point: one of xdp, tc, cgroup, rawTracepoint, tracepoint' : `has several attach points (${kinds.join(', ')}); use one entry per attach point`);
    const a = p[kinds[0] as string] as Raw;
    let attach: AttachPoint;
    if (kinds[0] === 'xdp') {
      attach = { kind: 'xdp', interface: a['interface'] as string, mode: a['mode'] === undefined ? undefined : MODE_ALIAS[a['mode'] as string], whenPresent: a['whenPresent'] === true, ...(a['priority'] !== undefined ? { priority: a['priority'] as number } : {}) };
    }
    else if (kinds[0] === 'tc') attach = { kind: 'tc', interface: a['interface'] as string, direction: a['direction'] as 'ingress' | 'egress', whenPresent: a['whenPresent'] === true };
    else if (kinds[0] === 'cgroup') attach = { kind: 'cgroup', path: a['path'] as string, attach: a['attach'] as CgroupAttach };
    else if (kinds[0] === 'rawTracepoint') attach = { kind: 'raw_tracepoint', name: a['name'] as string };
    else attach = { kind: 'tracepoint', category: a['category'] as string, name: a['name'] as string };
    const name = (p['name'] as string | undefined) ?? defaultName(p['program'] as string, attach);
    if (names.has(name)) throw new AgentConfigError(file, p['name'] ? `${at}.name` : at, name, `entry name "${name}" is used twice${p['name'] ? '' : ' (give the entries distinct "name"s)'}`);
    names.add(name);
    const object = abs(p['object'] as string);
    if (!objects.has(object)) objects.set(object, { path: object, globals: {}, seeds: [], configPath: undefined });
    return { name, object, program: p['program'] as string, type: p['type'] as string | undefined, attach, path: at };
  });

  // Several XDP entries on one interface run on one dispatcher (XdpMultiProg): they must agree on mode and whenPresent.
  const xdpOn = new Map<string, ProgramEntry>();
  for (const e of programs) {
    if (e.attach.kind !== 'xdp') continue;
    const other = xdpOn.get(e.attach.interface);
    if (other && other.attach.kind === 'xdp') {
      if (other.attach.mode !== e.attach.mode) throw new AgentConfigError(file, `${e.path}.xdp.mode`, e.name, `XDP entries on ${e.attach.interface} share one dispatcher and must ask for the same mode ("${other.name}" asks ${other.attach.mode ?? 'none'})`);
      if (other.attach.whenPresent !== e.attach.whenPresent) throw new AgentConfigError(file, `${e.path}.xdp.whenPresent`, e.name, `XDP entries on ${e.attach.interface} share one dispatcher and must agree on whenPresent (see "${other.name}")`);
    } else xdpOn.set(e.attach.interface, e);
  }
  for (const [path, o] of objects) {
    if (o.configPath && !programs.some((p) => p.object === path)) throw new AgentConfigError(file, `${o.configPath}.path`, path, 'no program entry uses this object');
  }

  const metrics = ((raw['metrics'] as Raw[] | undefined) ?? []).map((m, i): MetricEntry => {
    const map = m['map'] as string;
    const type = (m['type'] as 'counter' | 'gauge' | undefined) ?? 'counter';
    const base = (m['name'] as string | undefined) ?? `bpfkit_agent_map_${map.replace(/[^a-zA-Z0-9_]/g, '_')}`;
    const name = type === 'counter' && !base.endsWith('_total') ? `${base}_total` : base;
    const object = m['object'] === undefined ? undefined : abs(m['object'] as string);
    if (object !== undefined && !objects.has(object)) throw new AgentConfigError(file, `metrics[${i}].object`, `metrics[${i}]`, `no program entry uses object ${object}`);
    return {
      map,
      object,
      name,
      type,
      help: (m['help'] as string | undefined) ?? `Values of BPF map ${map}${type === 'counter' ? ' (a counter)' : ''}, per key and field.`,
      perCpu: (m['perCpu'] as 'sum' | 'label' | undefined) ?? 'sum',
      keyLabel: (m['keyLabel'] as string | undefined) ?? 'key',
      keyNames: (m['keyNames'] as Record<string, string> | undefined) ?? {},
      path: `metrics[${i}]`,
    };
  });
  const metricNames = new Map<string, string>();
  for (const m of metrics) {
    const prev = metricNames.get(m.name);
    if (prev) throw new AgentConfigError(file, `${m.path}.name`, m.path, `metric name ${m.name} is also used by ${prev}`);
    metricNames.set(m.name, m.path);
  }

  const listen = (raw['listen'] as string | undefined) ?? '127.0.0.1:9477';
  const cut = listen.lastIndexOf(':');
  const port = Number(listen.slice(cut + 1));
  if (port > 65535) throw new AgentConfigError(file, 'listen', undefined, `port ${port} is out of range`);
  return {
    bpffs: ((raw['bpffs'] as string | undefined) ?? '/sys/fs/bpf/bpfkit-agent').replace(/\/+$/, ''),
    listen: { host: listen.slice(0, cut).replace(/^\[|\]$/g, ''), port },
    onExit: (raw['onExit'] as 'keep' | 'detach' | undefined) ?? 'keep',
    watch: (raw['watch'] as boolean | undefined) ?? true,
    objects,
    programs,
    metrics,
    file,
  };
}

/** A readable label of `section[i]` for error messages (the entry's name, or program@where). */
function entryLabel(doc: Raw, section: string, i: number): string {
  const list = doc[section];
  const e = Array.isArray(list) ? (list[i] as unknown) : undefined;
  if (typeof e !== 'object' || e === null) return `${section}[${i}]`;
  const r = e as Raw;
  if (typeof r['name'] === 'string') return r['name'];
  if (section === 'programs' && typeof r['program'] === 'string') {
    const where = ['xdp', 'tc'].map((k) => (r[k] as Raw | undefined)?.['interface']).find((x) => typeof x === 'string');
    return where ? `${r['program']}@${where as string}` : r['program'];
  }
  if (section === 'objects' && typeof r['path'] === 'string') return r['path'];
  if (section === 'metrics' && typeof r['map'] === 'string') return `metrics[${i}] (${r['map']})`;
  return `${section}[${i}]`;
}

/** Reads and parses the config file at `path`. */
export function loadAgentConfig(path: string): AgentConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AgentConfigError(path, '', undefined, `cannot read the config: ${(err as Error).message}`, { cause: err });
  }
  return parseAgentConfig(text, { file: path });
}
