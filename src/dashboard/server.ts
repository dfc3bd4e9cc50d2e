// The dashboard's HTTP server (node:http, no framework): /metrics, /api/snapshot and the page.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BpfkitError } from '../errors.js';
import type { RunStatsSource, Sys } from '../kernel/index.js';
import { snapshotFamilies } from './families.js';
import { MetricsCollector, snapshotJson, type CollectorOptions, type Snapshot } from './metrics.js';
import { dashboardPage } from './page.js';
import { EXPOSITION_CONTENT_TYPE, renderExposition } from './prometheus.js';

/** Options of {@link DashboardServer.start}. */
export interface DashboardOptions extends CollectorOptions {
  /** Address to bind; default `127.0.0.1` (say `0.0.0.0` or `::` to expose it, behind your own access control). */
  readonly host?: string;
  /** Port; 0 (default) picks a free one, see {@link DashboardServer.port}. */
  readonly port?: number;
  /** How often the page polls, ms (default 1000). */
  readonly intervalMs?: number;
  /** Hold a BPF_ENABLE_STATS fd (the sysctl on old kernels) while the server runs. */
  readonly enableStats?: boolean;
}

/** The server could not listen (address in use, not permitted...). */
export class ListenError extends BpfkitError {
  constructor(
    /** Host as given. */
    readonly host: string,
    /** Port as given. */
    readonly port: number,
    cause: Error,
  ) {
    super('ERR_LISTEN', `cannot listen on ${host}:${port}: ${cause.message}`, { cause });
  }
}

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

const COMMON_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' } as const;

/**
 * A running dashboard: `GET /metrics` (Prometheus text 0.0.4, collected per request),
 * `GET /api/snapshot` (the {@link Snapshot} as JSON) and `GET /` (the page); HEAD as GET without
 * a body; other paths 404, other methods 405. {@link close} stops listening, ends open
 * connections and closes every fd (the stats fd included).
 */
export class DashboardServer {
  readonly #server: Server;
  readonly #collector: MetricsCollector;
  readonly #page: { html: string; csp: string };
  /** Run statistics as turned on at start, or undefined when not asked. */
  readonly statsSource: RunStatsSource | undefined;
  #closing: Promise<void> | undefined;
  #address: AddressInfo | undefined;

  private constructor(server: Server, collector: MetricsCollector, intervalMs: number, statsSource: RunStatsSource | undefined) {
    this.#server = server;
    this.#collector = collector;
    this.statsSource = statsSource;
    const page = dashboardPage(intervalMs);
    this.#page = {
      html: page.html,
      csp: `default-src 'none'; script-src ${sha256(page.script)}; style-src ${sha256(page.style)}; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    };
  }

  /**
   * Collects once (so a bad selector or a missing permission fails here, typed), then listens.
   * Later collections tolerate selected maps that vanish (they show with 0 matches).
   */
  static async start(sys: Sys, options: DashboardOptions = {}): Promise<DashboardServer> {
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? 0;
    const collector = new MetricsCollector(sys, { ...options, strict: true });
    let dashboard: DashboardServer;
    try {
      const statsSource = options.enableStats ? collector.enableStats() : undefined;
      collector.collect();
      collector.strict = false;
      const server = createServer();
      dashboard = new DashboardServer(server, collector, options.intervalMs ?? 1000, statsSource);
      server.on('request', (req, res) => dashboard.#handle(req, res));
      await new Promise<void>((resolve, reject) => {
        server.once('error', (err) => reject(new ListenError(host, port, err)));
        server.listen(port, host, () => {
          dashboard.#address = server.address() as AddressInfo;
          resolve();
        });
      });
    } catch (err) {
      collector.close();
      throw err;
    }
    return dashboard;
  }

  /** The bound port (the one picked when 0 was asked); kept after close. */
  get port(): number {
    return this.#address!.port;
  }

  /** The bound host; kept after close. */
  get host(): string {
    return this.#address!.address;
  }

  /** `http://127.0.0.1:PORT/` (IPv6 hosts bracketed). */
  get url(): string {
    const h = this.host;
    return `http://${h.includes(':') ? `[${h}]` : h}:${this.port}/`;
  }

  /** Collects a snapshot now, as `/api/snapshot` would. */
  snapshot(): Snapshot {
    return this.#collector.collect();
  }

  /** Stops listening, ends keep-alive and in-flight connections, closes the collector's fds. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    }).finally(() => this.#collector.close());
    return this.#closing;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const send = (status: number, type: string, body: string, extra: Record<string, string> = {}): void => {
      res.writeHead(status, { ...COMMON_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body), ...extra });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(405, 'text/plain; charset=utf-8', `method ${req.method} not allowed\n`, { allow: 'GET, HEAD' });
      return;
    }
    if (path !== '/' && path !== '/metrics' && path !== '/api/snapshot') {
      send(404, 'text/plain; charset=utf-8', `not found: ${path} (try /, /metrics or /api/snapshot)\n`);
      return;
    }
    if (path === '/') {
      send(200, 'text/html; charset=utf-8', this.#page.html, { 'content-security-policy': this.#page.csp });
      return;
    }
    let snapshot: Snapshot;
    try {
      snapshot = this.#collector.collect();
    } catch (err) {
      const e = err as Error;
      const code = err instanceof BpfkitError ? err.code : 'ERR_INTERNAL';
      if (path === '/metrics') send(500, 'text/plain; charset=utf-8', `collection failed: ${e.message} [${code}]\n`);
      else send(500, 'application/json; charset=utf-8', `${JSON.stringify({ error: e.message, code })}\n`);
      return;
    }
    if (path === '/metrics') send(200, EXPOSITION_CONTENT_TYPE, renderExposition(snapshotFamilies(snapshot)));
    else send(200, 'application/json; charset=utf-8', `${snapshotJson(snapshot)}\n`);
  }
}
