// The --model file: parsed and checked (ModelError naming the field), and end to end through
// `bpfkit test-run`: the user backend given the model answers as the kernel backend does with the
// real socket; a refused helper is a one-line error naming it.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/output.js';
import { parseKernelModel } from '../../src/ctx/kernel-model.js';
import { ModelError } from '../../src/ctx/model-error.js';
import { kernelTest } from '../kernel/harness.js';
import { compileBpf } from '../support/clang.js';

const dir = mkdtempSync(join(tmpdir(), 'bpfkit-model-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t) };
  const code = await main(argv, io);
  return { code, out, err };
}

test('a model file: sockets, tunnel and FIB parsed into the helpers’ models', () => {
  const m = parseKernelModel({
    sockets: [
      { protocol: 'tcp', local: '127.0.0.1:8080' },
      { protocol: 'udp', local: '[::1]:53', v6only: true },
      { protocol: 'tcp', local: '10.0.0.2:80', remote: '10.0.0.9:40000', tcp: { snd_cwnd: 20, bytes_acked: 5000 } },
    ],
    tunnel: { id: 42, remote: '192.0.2.1', local: '198.51.100.7', ttl: 9, options: '01020304' },
    fib: { routes: [{ dst: '10.0.0.0/8', ifindex: 2, gateway: '10.0.0.1' }], neighbours: [{ ifindex: 2, ip: '10.0.0.1', mac: '02:00:00:00:00:01' }], devices: [{ ifindex: 1 }, { ifindex: 2, mtu: 1400 }] },
  });
  assert.equal(m.sockets?.sockets.length, 3);
  assert.deepEqual([...m.sockets!.sockets[0]!.local], [127, 0, 0, 1]);
  assert.equal(m.sockets!.sockets[0]!.localPort, 8080);
  assert.equal(m.sockets!.sockets[1]!.local.length, 16);
  assert.equal(m.sockets!.sockets[2]!.remotePort, 40000);
  assert.equal(m.sockets!.sockets[2]!.tcp?.snd_cwnd, 20);
  assert.equal(m.tunnel?.id, 42n);
  assert.deepEqual([...m.tunnel!.options], [1, 2, 3, 4]);
  assert.equal(m.tunnel!.ttl, 9);
  assert.equal(m.fib?.routes[0]!.prefixLen, 8);
  assert.equal(m.fib?.devices?.[1]!.mtu, 1400);
  const t = parseKernelModel({ task: { pid: 7, tgid: 6, comm: 'nginx', cgroupAncestors: [1, 9], pidNamespace: { dev: 4, ino: 4026531836 } } }).task;
  assert.deepEqual(t, { pid: 7, tgid: 6, uid: 0, gid: 0, comm: 'nginx', cgroupAncestors: [1n, 9n], pidNamespace: { dev: 4n, ino: 4026531836n } });
});

test('a model the kernel could not hold is a ModelError naming where and what', () => {
  const cases: [unknown, string, string][] = [
    [[], 'model', '(top level)'],
    [{ socket: [] }, 'model', 'socket'],
    [{ sockets: [{ protocol: 'sctp', local: '1.2.3.4:1' }] }, 'sockets[0]', 'protocol'],
    [{ sockets: [{ protocol: 'tcp', local: '1.2.3.4' }] }, 'sockets[0]', 'local'],
    [{ sockets: [{ protocol: 'tcp', local: '1.2.3.4:70000' }] }, 'sockets[0]', 'local'],
    [{ sockets: [{ protocol: 'tcp', local: '1.2.3:80' }] }, 'sockets[0]', 'local'],
    [{ sockets: [{ protocol: 'tcp', local: '1.2.3.4:80', state: 'open' }] }, 'sockets[0]', 'state'],
    [{ sockets: [{ protocol: 'tcp', local: '1.2.3.4:80', remote: '[::1]:5' }] }, 'sockets[0]', 'remote'],
    [{ sockets: [{ protocol: 'tcp', local: '1.2.3.4:80', tcp: { cwnd: 1 } }] }, 'sockets[0].tcp', 'cwnd'],
    [{ tunnel: { id: 1, remote: '1.2.3.4', local: '::1' } }, 'tunnel', 'local'],
    [{ tunnel: { id: 1, remote: '1.2.3.4', local: '1.2.3.5', options: 'zz' } }, 'tunnel', 'options'],
    [{ fib: { routes: [{ dst: '10.0.0.0/33' }] } }, 'fib.routes[0]', 'dst'],
    [{ fib: { neighbours: [{ ifindex: 2, ip: '10.0.0.1', mac: 'xx' }] } }, 'fib.neighbours[0]', 'mac'],
    [{ task: { comm: 'a-very-long-task-name' } }, 'task', 'comm'],
    [{ task: { cgroupAncestors: [1, -2] } }, 'task', 'cgroupAncestors'],
    [{ task: { pidNamespace: { dev: 2 ** 33, ino: 1 } } }, 'task.pidNamespace', 'dev'],
  ];
  for (const [json, model, field] of cases) {
    assert.throws(() => parseKernelModel(json), (e: unknown) => e instanceof ModelError && e.model === model && e.field === field && e.code === 'ERR_KERNEL_MODEL', `${JSON.stringify(json)}`);
  }
});

kernelTest('test-run --model: the user backend answers from the model as the kernel does from its state', async () => {
  const obj = join(dir, 'helpers_model.o');
  writeFileSync(obj, compileBpf(join(import.meta.dirname, 'c', 'helpers_model.c')));
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const port = (server.address() as { port: number }).port;
    const frame = (dport: number) => {
      const f = new Uint8Array(60);
      f.set([0x08, 0x00], 12);
      f.set([10, 1, 2, 3, 127, 0, 0, 1, 0x9c, 0x40, dport >> 8, dport & 0xff], 14);
      return f;
    };
    const found = join(dir, 'found.bin');
    const none = join(dir, 'none.bin');
    writeFileSync(found, frame(port));
    writeFileSync(none, frame(port === 1 ? 2 : 1));
    const model = join(dir, 'model.json');
    writeFileSync(model, JSON.stringify({ sockets: [{ protocol: 'tcp', local: `127.0.0.1:${port}` }], tunnel: { id: 7, remote: '192.0.2.1', local: '198.51.100.7' } }));
    const retval = async (...argv: string[]) => {
      const r = await cli('test-run', obj, ...argv, '-j');
      assert.equal(r.code, 0, r.out + r.err);
      return (JSON.parse(r.out) as { retval: number }).retval;
    };
    const kernelFound = await retval('--prog', 'sk_state', '--data-in', found, '--backend', 'kernel');
    assert.equal(kernelFound, 10 | (port << 8) | (2 << 24), 'the kernel finds the listener (TCP_LISTEN, its port, AF_INET)');
    assert.equal(await retval('--prog', 'sk_state', '--data-in', found, '--model', model), kernelFound);
    assert.equal(await retval('--prog', 'sk_state', '--data-in', none, '--model', model), await retval('--prog', 'sk_state', '--data-in', none, '--backend', 'kernel'));
    assert.equal(await retval('--prog', 'sk_state', '--data-in', found), 0, 'no model: no sockets');
    const noTunnel = await retval('--prog', 'tunnel_id', '--data-in', found, '--backend', 'kernel');
    assert.equal(noTunnel, 2 ** 32 - 22, "a test run's skb has no tunnel: -EINVAL");
    assert.equal(await retval('--prog', 'tunnel_id', '--data-in', found), noTunnel, 'the default equals the kernel');
    assert.equal(await retval('--prog', 'tunnel_id', '--data-in', found, '--model', model), (7 ^ 0xc0000201) >>> 0, 'the modelled tunnel key');
    const refused = await cli('test-run', obj, '--prog', 'syncookie', '--data-in', found);
    assert.notEqual(refused.code, 0);
    assert.match(refused.err, /bpf_tcp_raw_gen_syncookie_ipv4 \(\d+\) cannot run in userspace: .*secret/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ sockets: [{ protocol: 'tcp', local: '127.0.0.1:99999' }] }));
    const badRun = await cli('test-run', obj, '--prog', 'sk_state', '--data-in', found, '--model', bad);
    assert.notEqual(badRun.code, 0);
    assert.match(badRun.err, /bad\.json: sockets\[0\]: local: port 99999/);
    const kernelModel = await cli('test-run', obj, '--prog', 'sk_state', '--data-in', found, '--model', model, '--backend', 'kernel');
    assert.notEqual(kernelModel.code, 0);
    assert.match(kernelModel.err, /--model is for the user backend/);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
