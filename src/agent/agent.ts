// The node agent: applies a config (prepare as a whole, then commit), serves its state, re-applies on SIGHUP, file and link changes.
import { createHash } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import { hostname } from 'node:os';
import { BpfkitError } from '../errors.js';
import { renderExposition, type MetricFamily } from '../dashboard/prometheus.js';
import { mapInfo } from '../kernel/bpf/obj-info.js';
import type { Sys } from '../kernel/sys.js';
import type { KernelMap } from '../kernel/kernel-map.js';
import { commit, teardown, type EntryState } from './commit.js';
import { loadAgentConfig, type AgentConfig } from './config.js';
import { AgentConfigError } from './errors.js';
import { LinkWatcher, type LinkEvent } from './link-watch.js';
import { agentFamilies, mapFamily } from './metrics.js';
import { mapPinPath, prepare, releasePlan, type Plan } from './prepare.js';
import { AgentServer } from './server.js';

/** One log record (printed as a JSON line by the CLI). */
export type AgentLogRecord = { readonly level: 'info' | 'warn' | 'error'; readonly msg: string } & Readonly<Record<string, unknown>>;

/** Options of {@link Agent.start}. */
export interface AgentOptions {
  /** The config file. */
  readonly configPath: string;
  /** The syscall layer. */
  readonly sys: Sys;
  /** Where log records go (default: nowhere). */
  readonly log?: (record: AgentLogRecord) => void;
  /** The `node` label of every metric (default: $NODE_NAME, else none). */
  readonly node?: string;
  /** Interval of the config file poll in ms (default 500). */
  readonly watchIntervalMs?: number;
}

/** The outcome of one apply. */
export interface ApplyResult {
  readonly ok: boolean;
  /** Why not: a refused config (nothing changed) or a failed commit. */
  readonly error?: BpfkitError;
  readonly entries: readonly EntryState[];
  readonly removed: readonly string[];
}

/**
 * A running agent. {@link Agent.start} applies the config (refusing a bad one with an error) and
 * listens; afterwards {@link reload} re-reads the file (SIGHUP, file change) and applies the
 * difference, keeping the running state when the new config is refused. {@link stop} ends it
 * under the config's `onExit` policy (or the one given).
 */
export class Agent {
  readonly #sys: Sys;
  readonly #log: (r: AgentLogRecord) => void;
  readonly #node: string | undefined;
  readonly #path: string;
  #config: AgentConfig;
  #plan: Plan | undefined;
  #dispatcherMaps = new Map<string, Map<string, KernelMap>>();
  #entries: EntryState[] = [];
  #server: AgentServer | undefined;
  #links: LinkWatcher | undefined;
  #fileHash = '';
  #applies = { ok: 0, refused: 0, failed: 0 };
  #inSync = false;
  #lastApply = 0;
  #lastError: string | undefined;
  #generation = 0;
  #relinkTimer: NodeJS.Timeout | undefined;
  #stopped = false;

  private constructor(options: AgentOptions, config: AgentConfig) {
    this.#sys = options.sys;
    this.#log = options.log ?? (() => {});
    this.#node = options.node ?? process.env['NODE_NAME'] ?? undefined;
    this.#path = options.configPath;
    this.#config = config;
  }

  /**
   * Reads and applies the config, then serves it. A bad config (or one that cannot be deployed)
   * throws before anything changed; the caller exits.
   */
  static async start(options: AgentOptions): Promise<Agent> {
    const config = loadAgentConfig(options.configPath);
    const agent = new Agent(options, config);
    agent.#fileHash = hashFile(options.configPath);
    const result = agent.#apply(config, 'start');
    if (!result.ok) throw result.error;
    try {
      agent.#server = await AgentServer.listen(config.listen.host, config.listen.port, {
        metrics: () => agent.metricsText(),
        state: () => agent.state(),
        ready: () => (agent.#inSync || agent.#applies.ok > 0 ? { ok: true } : { ok: false, reason: agent.#lastError ?? 'config not applied yet' }),
      });
    } catch (err) {
      agent.#close();
      throw err;
    }
    const a = agent.#server.address;
    agent.#log({ level: 'info', msg: 'listening', address: `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`, port: a.port });
    agent.#links = new LinkWatcher(options.sys, (e) => agent.#onLink(e), 100, (err) => agent.#log({ level: 'error', msg: 'link notifications failed', error: (err as Error).message }));
    if (config.watch) {
      watchFile(options.configPath, { interval: options.watchIntervalMs ?? 500 }, () => {
        if (agent.#stopped) return;
        const h = hashFile(options.configPath);
        if (h === agent.#fileHash) return;
        agent.#guard(() => agent.reload('file changed'));
      });
    }
    return agent;
  }

  /** The bound HTTP port. */
  get port(): number {
    return this.#server?.address.port ?? 0;
  }

  /** The config in force. */
  get config(): AgentConfig {
    return this.#config;
  }

  /** Re-reads the config file and applies it; a refused config leaves the running state as it was. */
  reload(reason: string): ApplyResult {
    this.#fileHash = hashFile(this.#path);
    let config: AgentConfig;
    try {
      config = loadAgentConfig(this.#path);
      if (config.bpffs !== this.#config.bpffs) throw new AgentConfigError(this.#path, 'bpffs', undefined, `cannot change while running (${this.#config.bpffs} -> ${config.bpffs}); restart the agent`);
      if (config.listen.host !== this.#config.listen.host || config.listen.port !== this.#config.listen.port) throw new AgentConfigError(this.#path, 'listen', undefined, 'cannot change while running; restart the agent');
    } catch (err) {
      return this.#refused(err, reason);
    }
    return this.#apply(config, reason);
  }

  #refused(err: unknown, reason: string): ApplyResult {
    if (!(err instanceof BpfkitError)) throw err;
    this.#applies.refused++;
    this.#inSync = false;
    this.#lastError = err.message;
    this.#log({ level: 'error', msg: 'config refused, running state unchanged', reason, error: err.message, code: err.code });
    return { ok: false, error: err, entries: this.#entries, removed: [] };
  }

  /** Prepare as a whole, then commit; the previous plan is released after a successful commit. */
  #apply(config: AgentConfig, reason: string, missingInterfacesWait = false): ApplyResult {
    let plan: Plan;
    try {
      plan = prepare(this.#sys, config, { missingInterfacesWait });
    } catch (err) {
      return this.#refused(err, reason);
    }
    const previous = new Map(this.#entries.map((e) => [e.name, e]));
    try {
      const result = commit(this.#sys, plan, previous);
      const old = this.#plan;
      this.#plan = plan;
      this.#config = config;
      this.#entries = [...result.entries];
      // Programs loaded but not attached (adopted entries, pending ones) need no fd: let them go.
      for (const p of plan.entries) p.prog.close();
      if (old) releasePlan(old);
      this.#releaseDispatcherMaps();
      this.#dispatcherMaps = result.dispatcherMaps;
      this.#applies.ok++;
      this.#inSync = true;
      this.#lastApply = Date.now() / 1000;
      this.#lastError = undefined;
      this.#generation++;
      this.#log({
        level: 'info',
        msg: 'config applied',
        reason,
        generation: this.#generation,
        entries: result.entries.map((e) => ({ name: e.name, attach: e.attach, action: e.action, status: e.status, progId: e.progId, tag: e.tag, linkId: e.linkId, ...(e.reason ? { why: e.reason } : {}) })),
        removed: result.removed,
      });
      return { ok: true, entries: result.entries, removed: result.removed };
    } catch (err) {
      releasePlan(plan);
      if (!(err instanceof BpfkitError)) throw err;
      this.#applies.failed++;
      this.#inSync = false;
      this.#lastError = err.message;
      this.#log({ level: 'error', msg: 'config apply failed while committing', reason, error: err.message, code: err.code });
      return { ok: false, error: err, entries: this.#entries, removed: [] };
    }
  }

  /** Runs a re-apply from a timer or watcher: an unexpected error is logged, never thrown into the event loop. */
  #guard<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      this.#applies.failed++;
      this.#lastError = (err as Error).message;
      this.#log({ level: 'error', msg: 'apply failed unexpectedly', error: (err as Error).message });
      return undefined;
    }
  }

  /** An interface came or went: re-apply the current config when it concerns one of ours. */
  #onLink(e: LinkEvent): void {
    const ours = this.#config.programs.some((p) => (p.attach.kind === 'xdp' || p.attach.kind === 'tc') && (e.ifindex === 0 || p.attach.interface === e.name));
    if (!ours || this.#stopped) return;
    clearTimeout(this.#relinkTimer);
    this.#relinkTimer = setTimeout(() => {
      if (this.#stopped) return;
      const before = this.#entries.filter((x) => x.status === 'pending').length;
      // The config was accepted: an interface that went away makes its entries wait, it does not refuse the config.
      const r = this.#guard(() => this.#apply(this.#config, `interface ${e.name || '(overrun)'} ${e.type === 'new' ? 'changed' : 'removed'}`, true));
      if (!r) return;
      if (r.ok && before !== r.entries.filter((x) => x.status === 'pending').length) this.#log({ level: 'info', msg: 'interfaces changed', pending: r.entries.filter((x) => x.status === 'pending').map((x) => x.name) });
    }, 100);
  }

  /** The Prometheus text: the exported maps, then the agent's own families. */
  metricsText(): string {
    const families: MetricFamily[] = [];
    for (const m of this.#config.metrics) {
      const obj = [...(this.#plan?.objects.values() ?? [])].find((o) => (m.object === undefined || o.path === m.object) && o.kobj.maps.has(m.map));
      if (obj) families.push(mapFamily(m, obj, this.#node, this.#dispatcherMaps.get(obj.path)?.get(m.map)));
    }
    families.push(...agentFamilies({ entries: this.#entries, applies: this.#applies, configInSync: this.#inSync, lastApplySeconds: Math.round(this.#lastApply) }, this.#node));
    return renderExposition(families);
  }

  /** What is deployed: entries with program ids and tags, objects with their map pins. */
  state(): Record<string, unknown> {
    const bpffs = this.#config.bpffs;
    return {
      node: this.#node ?? hostname(),
      config: this.#path,
      bpffs,
      generation: this.#generation,
      inSync: this.#inSync,
      lastError: this.#lastError ?? null,
      onExit: this.#config.onExit,
      programs: this.#entries,
      objects: [...(this.#plan?.objects.values() ?? [])].map((o) => ({
        path: o.path,
        maps: [...o.kobj.maps.entries()]
          .filter(([name]) => o.spec.maps.some((m) => m.name === name && m.origin !== 'global-data' && m.origin !== 'kconfig'))
          .map(([name, m]) => ({ name, id: mapInfo(m.fd).id, pin: mapPinPath(bpffs, o.key, name) })),
      })),
      applies: this.#applies,
    };
  }

  /**
   * Stops serving and watching. `keep` (default: the config's onExit) leaves the programs
   * attached through their pinned links; `detach` detaches them and removes the pins.
   */
  async stop(policy: 'keep' | 'detach' = this.#config.onExit): Promise<string[]> {
    if (this.#stopped) return [];
    this.#stopped = true;
    await this.#server?.close();
    this.#close();
    const removed = policy === 'detach' ? teardown(this.#sys, this.#config.bpffs) : [];
    this.#log({ level: 'info', msg: 'stopped', onExit: policy, detached: removed });
    return removed;
  }

  #close(): void {
    this.#stopped = true;
    clearTimeout(this.#relinkTimer);
    unwatchFile(this.#path);
    this.#links?.close();
    if (this.#plan) releasePlan(this.#plan);
    this.#plan = undefined;
    this.#releaseDispatcherMaps();
  }

  #releaseDispatcherMaps(): void {
    for (const maps of this.#dispatcherMaps.values()) for (const m of maps.values()) m.close();
    this.#dispatcherMaps = new Map();
  }
}

function hashFile(path: string): string {
  try {
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch {
    return '';
  }
}
