// Kernel test harness: the real Sys (or a printed reason to skip), per-test fd-leak checks, bpftool.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test, type TestContext } from 'node:test';
import { BpfCmd, bpfCmdName } from '../../src/kernel/bpf/constants.js';
import { openFds, setFdTracing } from '../../src/kernel/fd.js';
import { createKernelSys, FfiUnavailableError } from '../../src/kernel/koffi-sys.js';
import { KernelError } from '../../src/kernel/kernel-error.js';
import { MAP_CREATE_ATTR } from '../../src/kernel/bpf-attr.generated.js';
import { StructWriter } from '../../src/kernel/struct-codec.js';
import type { BpfCallBlock, PointerField, Sys } from '../../src/kernel/sys.js';
import { ensureBpffs } from '../support/bpffs.js';

setFdTracing(true);

let realSys: Sys | undefined;
let skipReason: string | undefined;

/**
 * Why kernel tests cannot run here (bpf(2) forbidden or no FFI), or undefined when they can.
 * Only EPERM (no privilege) or a missing koffi/platform count: anything else is a failure.
 */
function probe(): string | undefined {
  if (realSys || skipReason) return skipReason;
  try {
    const sys = createKernelSys();
    const attr = new StructWriter(MAP_CREATE_ATTR).u32('map_type', 2).u32('key_size', 4).u32('value_size', 4).u32('max_entries', 1);
    sys.close(sys.bpf(BpfCmd.MAP_CREATE, attr.bytes));
    realSys = sys;
    // Kernel tests pin under /sys/fs/bpf; a machine may boot without bpffs mounted there.
    const bpffs = ensureBpffs();
    if (!bpffs.ok) process.stderr.write(`# kernel tests that pin will fail: ${bpffs.reason}\n`);
  } catch (err) {
    const forbidden = (err instanceof KernelError && err.errnoName === 'EPERM') || err instanceof FfiUnavailableError;
    if (!forbidden) throw err;
    skipReason = `bpf(2) not usable here: ${(err as Error).message}`;
    process.stderr.write(`# SKIP kernel tests: ${skipReason}\n`);
  }
  return skipReason;
}

/** A Sys that delegates to the real one and counts bpf calls per command (and is its own fd-tracking scope). */
export class CountingSys implements Sys {
  readonly bpfCalls = new Map<string, number>();
  constructor(readonly inner: Sys) {}
  count(cmd: number): number {
    return this.bpfCalls.get(bpfCmdName(cmd)) ?? 0;
  }
  bpf(cmd: number, attr: Uint8Array, pointers?: readonly PointerField[]): number {
    this.bpfCalls.set(bpfCmdName(cmd), this.count(cmd) + 1);
    return this.inner.bpf(cmd, attr, pointers);
  }
  /** Forwards to the inner Sys's native blocks, counting each call like `bpf`. */
  bpfBlock(size: number): BpfCallBlock {
    if (!this.inner.bpfBlock) throw new Error('the inner Sys has no bpfBlock');
    const block = this.inner.bpfBlock(size);
    const calls = this.bpfCalls;
    const count = (cmd: number) => this.count(cmd);
    return {
      get bytes() {
        return block.bytes;
      },
      get freed() {
        return block.freed;
      },
      point: (slot, target, length) => block.point(slot, target, length),
      call: (cmd, at, size) => {
        calls.set(bpfCmdName(cmd), count(cmd) + 1);
        return block.call(cmd, at, size);
      },
      free: () => block.free(),
    };
  }
  close = (fd: number) => this.inner.close(fd);
  socket = (d: number, t: number, p: number) => this.inner.socket(d, t, p);
  bind = (fd: number, a: Uint8Array) => this.inner.bind(fd, a);
  getsockname = (fd: number, a: Uint8Array) => this.inner.getsockname(fd, a);
  setsockopt = (fd: number, l: number, n: number, v: Uint8Array) => this.inner.setsockopt(fd, l, n, v);
  send = (fd: number, d: Uint8Array, f: number) => this.inner.send(fd, d, f);
  recv = (fd: number, b: Uint8Array, f: number) => this.inner.recv(fd, b, f);
  ioctl = (fd: number, r: number, a: Uint8Array, p?: readonly PointerField[]) => this.inner.ioctl(fd, r, a, p);
  mmap = (fd: number, l: number, p: number, f: number, o: number) => this.inner.mmap(fd, l, p, f, o);
  munmap: Sys['munmap'] = (m) => this.inner.munmap(m);
  epollCreate1 = (f: number) => this.inner.epollCreate1(f);
  epollCtl = (e: number, o: number, fd: number, ev: number, d: number) => this.inner.epollCtl(e, o, fd, ev, d);
  epollWait = (e: number, m: number, t: number) => this.inner.epollWait(e, m, t);
  ifNameToIndex = (n: string) => this.inner.ifNameToIndex(n);
  getpid = () => this.inner.getpid();
  readFile = (p: string) => this.inner.readFile(p);
  writeFile = (p: string, d: Uint8Array) => this.inner.writeFile(p, d);
  listDir = (p: string) => this.inner.listDir(p);
  flock = (fd: number, op: number) => {
    if (!this.inner.flock) throw new Error('the inner Sys has no flock');
    this.inner.flock(fd, op);
  };
  perfEventOpen = (a: Uint8Array, pid: number, cpu: number, g: number, f: number, p?: readonly PointerField[]) => {
    if (!this.inner.perfEventOpen) throw new Error('the inner Sys has no perfEventOpen');
    return this.inner.perfEventOpen(a, pid, cpu, g, f, p);
  };
  appendFile = (path: string, data: Uint8Array) => {
    if (!this.inner.appendFile) throw new Error('the inner Sys has no appendFile');
    this.inner.appendFile(path, data);
  };
  openPath = (path: string, flags: number) => {
    if (!this.inner.openPath) throw new Error('the inner Sys has no openPath');
    return this.inner.openPath(path, flags);
  };
}

/** Fails if any fd opened through `sys` is still open; closes them and lists where they were opened. */
export function assertNoFdLeaks(sys: Sys): void {
  const open = openFds(sys);
  const report = open.map((r) => `${r.fd} opened at ${r.openedAt ?? '(untraced)'}`).join('\n');
  for (const r of open) r.fd.close();
  assert.equal(open.length, 0, `leaked fds:\n${report}`);
}

/**
 * A test against the real kernel. `fn` gets a fresh CountingSys over the real Sys; afterwards no
 * fd opened through it may remain open. Skipped, with the reason printed, only where bpf(2) is
 * not allowed.
 */
export function kernelTest(name: string, fn: (sys: CountingSys, t: TestContext) => void | Promise<void>): void {
  const reason = probe();
  test(name, { skip: reason ?? false }, async (t) => {
    const sys = new CountingSys(realSys as Sys);
    try {
      await fn(sys, t);
    } finally {
      assertNoFdLeaks(sys);
    }
  });
}

/** Runs bpftool with `args` plus `-j` and parses the JSON. */
export function bpftool(...args: string[]): unknown {
  return JSON.parse(execFileSync('bpftool', [...args, '-j'], { encoding: 'utf8' }));
}

/** Little-endian u32 bytes. */
export function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

/** Little-endian u64 bytes. */
export function u64(n: bigint | number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}
