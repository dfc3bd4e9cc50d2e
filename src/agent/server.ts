// The agent's HTTP server (node:http): /metrics, /healthz, /readyz and /api/state.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EXPOSITION_CONTENT_TYPE } from '../dashboard/prometheus.js';
import { ListenError } from '../dashboard/server.js';

/** What the server asks the agent for, per request. */
export interface AgentEndpoints {
  /** The Prometheus exposition text. */
  metrics(): string;
  /** The deployed state as a JSON-able value. */
  state(): unknown;
  /** Whether the agent is ready (its config applied), and why not. */
  ready(): { ok: boolean; reason?: string };
}

const HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' } as const;

/** A listening agent server. */
export class AgentServer {
  private constructor(
    private readonly server: Server,
    /** The bound address. */
    readonly address: AddressInfo,
  ) {}

  /** Listens on `host:port` (port 0: a free one). Rejects with {@link ListenError}. */
  static async listen(host: string, port: number, endpoints: AgentEndpoints): Promise<AgentServer> {
    const server = createServer((req, res) => handle(endpoints, req, res));
    server.keepAliveTimeout = 30_000; // longer than usual scrape intervals: Prometheus keeps one connection
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new ListenError(host, port, err)));
      server.listen(port, host, () => resolve());
    });
    return new AgentServer(server, server.address() as AddressInfo);
  }

  /** Stops listening and ends open connections. */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function send(res: ServerResponse, status: number, type: string, body: string, head: boolean): void {
  res.writeHead(status, { ...HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(head ? undefined : body);
}

function handle(endpoints: AgentEndpoints, req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0];
  const head = req.method === 'HEAD';
  if (req.method !== 'GET' && !head) {
    res.setHeader('allow', 'GET, HEAD');
    send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', false);
    return;
  }
  try {
    switch (path) {
      case '/metrics':
        send(res, 200, EXPOSITION_CONTENT_TYPE, endpoints.metrics(), head);
        return;
      case '/healthz':
        send(res, 200, 'text/plain; charset=utf-8', 'ok\n', head);
        return;
      case '/readyz': {
        const r = endpoints.ready();
        send(res, r.ok ? 200 : 503, 'text/plain; charset=utf-8', r.ok ? 'ready\n' : `not ready: ${r.reason ?? ''}\n`, head);
        return;
      }
      case '/api/state':
        send(res, 200, 'application/json; charset=utf-8', `${JSON.stringify(endpoints.state(), (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`, head);
        return;
      default:
        send(res, 404, 'text/plain; charset=utf-8', 'not found (try /metrics, /healthz, /readyz, /api/state)\n', head);
    }
  } catch (err) {
    send(res, 500, 'text/plain; charset=utf-8', `error: ${(err as Error).message}\n`, head);
  }
}
