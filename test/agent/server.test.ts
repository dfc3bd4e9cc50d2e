// The agent's HTTP server on its own: routes, content types, HEAD, 404/405, readiness, bigint-safe JSON.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { AgentServer } from '../../src/agent/server.js';
import { ListenError } from '../../src/dashboard/server.js';

function call(port: number, method: string, path: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('routes: /metrics (0.0.4 text), /healthz, /readyz (503 until ready), /api/state (bigints as strings), HEAD, 404, 405', async () => {
  let ready = false;
  const server = await AgentServer.listen('127.0.0.1', 0, {
    metrics: () => '# HELP x y\n# TYPE x gauge\nx 1\n',
    state: () => ({ big: 2n ** 64n, programs: [] }),
    ready: () => (ready ? { ok: true } : { ok: false, reason: 'config not applied yet' }),
  });
  try {
    const port = server.address.port;
    const m = await call(port, 'GET', '/metrics');
    assert.equal(m.status, 200);
    assert.equal(m.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(m.body, '# HELP x y\n# TYPE x gauge\nx 1\n');
    const head = await call(port, 'HEAD', '/metrics');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal(head.headers['content-length'], String(m.body.length));
    assert.equal((await call(port, 'GET', '/healthz')).status, 200);
    const notReady = await call(port, 'GET', '/readyz');
    assert.equal(notReady.status, 503);
    assert.match(notReady.body, /config not applied yet/);
    ready = true;
    assert.equal((await call(port, 'GET', '/readyz')).status, 200);
    const state = await call(port, 'GET', '/api/state?x=1');
    assert.equal(state.headers['content-type'], 'application/json; charset=utf-8');
    assert.deepEqual(JSON.parse(state.body), { big: '18446744073709551616', programs: [] });
    assert.equal((await call(port, 'GET', '/nope')).status, 404);
    const post = await call(port, 'POST', '/metrics');
    assert.equal(post.status, 405);
    assert.equal(post.headers['allow'], 'GET, HEAD');
  } finally {
    await server.close();
  }
});

test('an endpoint that throws answers 500 with the message; a taken port is a ListenError', async () => {
  const server = await AgentServer.listen('127.0.0.1', 0, {
    metrics: () => {
      throw new Error('map gone');
    },
    state: () => ({}),
    ready: () => ({ ok: true }),
  });
  try {
    const r = await call(server.address.port, 'GET', '/metrics');
    assert.equal(r.status, 500);
    assert.match(r.body, /map gone/);
    await assert.rejects(AgentServer.listen('127.0.0.1', server.address.port, { metrics: () => '', state: () => ({}), ready: () => ({ ok: true }) }), (e: unknown) => e instanceof ListenError && /cannot listen on 127\.0\.0\.1:\d+/.test(e.message));
  } finally {
    await server.close();
  }
});
