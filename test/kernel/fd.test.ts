// Fd lifetimes: close once, dispose, use after close, release, and the per-Sys tracker.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Fd, FdClosedError, adoptFd, openFds, setFdTracing } from '../../src/kernel/fd.js';
import { FakeSys } from './fake-sys.js';

test('close is idempotent and closes through the Sys once', () => {
  const sys = new FakeSys();
  const fd = new Fd(sys, 7, 'map');
  assert.equal(fd.raw, 7);
  fd.close();
  fd.close();
  assert.deepEqual(sys.closed, [7]);
  assert.ok(fd.closed);
  assert.equal(String(fd), 'map fd 7 (closed)');
});

test('use after close throws FdClosedError naming the fd', () => {
  const fd = new Fd(new FakeSys(), 9, 'prog');
  fd.close();
  assert.throws(() => fd.raw, (err: unknown) => err instanceof FdClosedError && err.code === 'ERR_FD_CLOSED' && err.message === 'prog fd 9 used after close');
});

test('using closes at scope end', () => {
  const sys = new FakeSys();
  {
    using _fd = new Fd(sys, 3, 'link');
    assert.equal(openFds(sys).length, 1);
  }
  assert.deepEqual(sys.closed, [3]);
  assert.equal(openFds(sys).length, 0);
});

test('the tracker is per Sys and records the opening stack when tracing', () => {
  const a = new FakeSys();
  const b = new FakeSys();
  setFdTracing(true);
  const fa = new Fd(a, 1, 'map');
  setFdTracing(false);
  const fb = new Fd(b, 2, 'map');
  assert.deepEqual(openFds(a).map((r) => r.fd), [fa]);
  assert.match(openFds(a)[0]?.openedAt ?? '', /fd\.test\.ts/);
  assert.equal(openFds(b)[0]?.openedAt, undefined);
  fa.close();
  fb.close();
  assert.equal(openFds(a).length + openFds(b).length, 0);
});

test('release hands the number over without closing', () => {
  const sys = new FakeSys();
  const fd = new Fd(sys, 5, 'map');
  assert.equal(fd.release(), 5);
  assert.deepEqual(sys.closed, []);
  assert.equal(openFds(sys).length, 0);
  assert.throws(() => fd.raw, FdClosedError);
});

test('adoptFd closes on failure, hands over on success', () => {
  const sys = new FakeSys();
  assert.throws(() => adoptFd(new Fd(sys, 11, 'map'), () => { throw new Error('boom'); }), /boom/);
  assert.deepEqual(sys.closed, [11]);
  const kept = adoptFd(new Fd(sys, 12, 'map'), (f) => f);
  assert.equal(kept.closed, false);
  kept.close();
});

test('negative fds are refused', () => {
  assert.throws(() => new Fd(new FakeSys(), -1, 'map'), /not a file descriptor/);
});
