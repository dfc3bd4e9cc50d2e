// sk_lookup's bpf_sk_assign on real sockets against BPF_PROG_TEST_RUN: TCP and UDP sockets (IPv4, dual-stack and
// v6only IPv6, SO_REUSEPORT, one established) made in a network namespace of the test's own fill the kernel's
// sockmap; the same sockets, as the socket model (their cookies read with SO_COOKIE), fill bpfkit's. For every
// family x protocol x sockmap key x flag combination (test/fixtures/modelled/modelled_sk_lookup.c): the verdict,
// ctx_out's cookie, the test run's EOPNOTSUPP for a reuseport socket without NO_REUSEPORT, bpf_sk_assign's
// answers and what ctx->sk reads equal the kernel's in the JIT and the interpreter.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { test } from 'node:test';
import { main } from '../../src/cli/main.js';
import type { ModelSocket } from '../../src/ctx/socket-model.js';
import { BpfSkLookup, BPF_SK_LOOKUP_SIZE } from '../../src/ctx/sk-lookup.js';
import { loadObject } from '../../src/elf/object-loader.js';
import { KernelError } from '../../src/kernel/kernel-error.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import { loadUserspace } from '../../src/runtime/index.js';
import { InvalidContextError } from '../../src/vm/index.js';
import { fixturesDir } from '../support/fixtures.js';
import { nsExec, uniqueName } from '../support/netns.js';
import { closeSocket, inNetns, makeSocket, type RawSocket, type RawSocketSpec } from '../support/raw-sockets.js';
import { kernelTest } from '../kernel/harness.js';

const spec = loadObject(new Uint8Array(readFileSync(path.join(fixturesDir, 'modelled', 'modelled_sk_lookup.o'))), { objectName: 'modelled_sk_lookup' });
const LO4 = Uint8Array.of(127, 0, 0, 1);
const LO6 = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);

/** The sockets, by sockmap key. */
const SOCKETS: (RawSocketSpec & { state?: 'established' })[] = [
  { protocol: 'tcp', address: LO4 },
  { protocol: 'tcp', address: LO4, reuseport: true },
  { protocol: 'udp', address: LO4 },
  { protocol: 'udp', address: LO4, reuseport: true },
  { protocol: 'tcp', address: LO6 },
  { protocol: 'tcp', address: LO6, v6only: true },
  { protocol: 'udp', address: LO6, v6only: true },
  { protocol: 'tcp', address: LO4, state: 'established' },
];

function ctxIn(family: number, protocol: number, key: number, bits: number): Uint8Array {
  const b = new Uint8Array(BPF_SK_LOOKUP_SIZE);
  const v = new DataView(b.buffer);
  v.setUint32(BpfSkLookup.family, family, true);
  v.setUint32(BpfSkLookup.protocol, protocol, true);
  // The program reads the __be16 as stored: these bytes read back as `bits`.
  v.setUint16(BpfSkLookup.remote_port, bits, true);
  v.setUint32(BpfSkLookup.local_port, 1000 + key, true);
  if (family === 2) b.set(LO4, BpfSkLookup.local_ip4);
  else b.set(LO6, BpfSkLookup.local_ip6);
  return b;
}

kernelTest('sk_lookup: bpf_sk_assign on sockets of the socket model equals BPF_PROG_TEST_RUN on the same real sockets', (sys) => {
  const ns = uniqueName('bksk');
  nsExec(undefined, ['ip', 'netns', 'add', ns]);
  const made: RawSocket[] = [];
  try {
    nsExec(ns, ['ip', 'link', 'set', 'lo', 'up']);
    inNetns(ns, () => {
      for (const s of SOCKETS) {
        made.push(makeSocket(s.state === 'established' ? { ...s, connectTo: made[0]!.port } : s));
      }
    });
    const model: ModelSocket[] = SOCKETS.map((s, i) => ({
      protocol: s.protocol,
      local: s.address,
      localPort: made[i]!.port,
      ...(s.state === 'established' ? { remote: s.address, remotePort: made[0]!.port } : {}),
      ...(s.v6only ? { v6only: true } : {}),
      ...(s.reuseport ? { reuseport: true } : {}),
      cookie: made[i]!.cookie,
    }));
    using kernel = loadKernelObject(sys, spec);
    const key = (i: number) => new Uint8Array(new Uint32Array([i]).buffer);
    const fd = (i: number) => new Uint8Array(new BigUint64Array([BigInt(made[i]!.fd)]).buffer);
    made.forEach((_, i) => kernel.map('redir').set(key(i), fd(i)));
    let runs = 0;
    const seen = { selected: 0, refused: new Set<number>(), eopnotsupp: 0 };
    for (const engine of ['jit', 'interpreter'] as const) {
      using user = loadUserspace(spec, { engine, sockets: { sockets: model } });
      // Userspace has no fds: the value names the socket by its index in the model.
      made.forEach((_, i) => user.bpfMap('redir').set(key(i), new Uint8Array(new BigUint64Array([BigInt(i)]).buffer)));
      const zeros = new Uint8Array(spec.maps.find((m) => m.name === 'result')!.valueSize);
      for (const family of [2, 10]) {
        for (const protocol of [6, 17]) {
          for (let k = 0; k < 8; k++) {
            for (let bits = 0; bits < 64; bits++) {
              const ctx = ctxIn(family, protocol, k, bits);
              kernel.map('result').set(key(0), zeros);
              user.bpfMap('result').set(key(0), zeros);
              const what = `${engine} family ${family} protocol ${protocol} key ${k} bits ${bits}`;
              let kr: { retval: number; ctxOut?: Uint8Array } | { errno: string };
              try {
                kr = kernel.program('select_sock').testRun({ ctxIn: ctx, ctxOutSize: BPF_SK_LOOKUP_SIZE, dataOutSize: 0 });
              } catch (e) {
                if (!(e instanceof KernelError)) throw e;
                kr = { errno: e.errnoName };
              }
              if ('errno' in kr) {
                assert.equal(kr.errno, 'EOPNOTSUPP', what);
                assert.throws(() => user.program('select_sock').testRun({ data: new Uint8Array(0), ctxIn: ctx }), (e: unknown) => e instanceof InvalidContextError && /EOPNOTSUPP/.test(e.message), what);
                seen.eopnotsupp++;
              } else {
                const ur = user.program('select_sock').testRun({ data: new Uint8Array(0), ctxIn: ctx });
                assert.equal(ur.retval, kr.retval, `${what}: verdict`);
                assert.deepEqual([...user.bpfMap('result').get(key(0))!], [...kernel.map('result').get(key(0))!], `${what}: bpf_sk_assign's answers and ctx->sk`);
                assert.deepEqual([...ur.ctxOut], [...kr.ctxOut!], `${what}: ctx_out (cookie)`);
                if (new DataView(kr.ctxOut!.buffer, kr.ctxOut!.byteOffset).getBigUint64(0, true) !== 0n) seen.selected++;
              }
              const km = kernel.map('result').get(key(0))!;
              assert.deepEqual([...user.bpfMap('result').get(key(0))!], [...km], `${what}: bpf_sk_assign's answers and ctx->sk`);
              const second = Number(new DataView(km.buffer, km.byteOffset).getBigInt64(8, true));
              if (second < 0) seen.refused.add(-second);
              runs++;
            }
          }
        }
      }
    }
    // The comparison reached every answer bpf_sk_assign gives.
    assert.ok(seen.selected > 100, `${seen.selected} runs selected a socket`);
    assert.ok(seen.eopnotsupp > 0, 'a reuseport socket without NO_REUSEPORT failed the test run');
    assert.deepEqual([...seen.refused].sort((a, b) => a - b), [17, 22, 91, 94, 97], 'EEXIST, EINVAL, EPROTOTYPE, ESOCKTNOSUPPORT, EAFNOSUPPORT');
    process.stdout.write(`# sk_assign: ${runs} runs equal the kernel (${seen.selected} selected a socket, ${seen.eopnotsupp} EOPNOTSUPP test runs)\n`);
  } finally {
    for (const s of made) closeSocket(s);
    nsExec(undefined, ['ip', 'netns', 'del', ns]);
  }
});

test('bpfkit test-run --model: "sockets" and "socketMaps" let an sk_lookup program select a socket; a bad socket map is one clear line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-sk-assign-'));
  try {
    const obj = path.join(fixturesDir, 'modelled', 'modelled_sk_lookup.o');
    writeFileSync(join(dir, 'empty.bin'), new Uint8Array(0));
    // TCP/IPv4 lookup of local port 1001 (key 1), flags NO_REUSEPORT (bits 2).
    writeFileSync(join(dir, 'ctx.bin'), ctxIn(2, 6, 1, 2));
    const model = {
      sockets: [
        { protocol: 'udp', local: '127.0.0.1:53' },
        { protocol: 'tcp', local: '127.0.0.1:8080', reuseport: true, cookie: 77 },
      ],
      socketMaps: { redir: [{ key: 0, socket: 0 }, { key: 1, socket: 1 }] },
    };
    writeFileSync(join(dir, 'model.json'), JSON.stringify(model));
    const run = async (...extra: string[]) => {
      let out = '';
      let err = '';
      const code = await main(['test-run', obj, '--prog', 'select_sock', '--data-in', join(dir, 'empty.bin'), '--ctx-in', join(dir, 'ctx.bin'), ...extra, '-j'], { out: (t) => void (out += t), err: (t) => void (err += t) });
      return { code, out, err };
    };
    const r = await run('--model', join(dir, 'model.json'));
    assert.equal(r.code, 0, r.err);
    const ctxOut = Buffer.from(JSON.parse(r.out).ctx_out, 'hex');
    assert.equal(ctxOut.readBigUInt64LE(0), 77n, 'ctx_out carries the selected socket\'s cookie');
    assert.equal(JSON.parse(r.out).retval, 1);
    // Without NO_REUSEPORT the reuseport socket fails the run, as the kernel's test run does.
    writeFileSync(join(dir, 'ctx0.bin'), ctxIn(2, 6, 1, 0));
    let out = '';
    let err = '';
    const code = await main(['test-run', obj, '--prog', 'select_sock', '--data-in', join(dir, 'empty.bin'), '--ctx-in', join(dir, 'ctx0.bin'), '--model', join(dir, 'model.json')], { out: (t) => void (out += t), err: (t) => void (err += t) });
    assert.equal(code, 1);
    assert.match(err, /EOPNOTSUPP/);
    // A socket map entry naming a socket the model lacks, and a map that is no socket map.
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ...model, socketMaps: { redir: [{ key: 0, socket: 5 }] } }));
    const bad = await run('--model', join(dir, 'bad.json'));
    assert.equal(bad.code, 1);
    const badText = (bad.out + bad.err).trim();
    assert.match(badText, /socketMaps\.redir\[0\].*socket/);
    assert.equal(badText.split('\n').length, 1);
    writeFileSync(join(dir, 'notmap.json'), JSON.stringify({ ...model, socketMaps: { result: [{ key: 0, socket: 0 }] } }));
    const notmap = await run('--model', join(dir, 'notmap.json'));
    assert.equal(notmap.code, 1);
    assert.match(notmap.out + notmap.err, /socket map \\"result\\": is not a sockmap or sockhash/);
    process.stdout.write(`# --model sockets/socketMaps: cookie ${ctxOut.readBigUInt64LE(0)} selected; bad models refused in one line\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
