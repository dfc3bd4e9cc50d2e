// FakeSys: a scripted Sys for unit tests; records every call and answers from a queue of handlers.
import type { FieldName, StructLayout } from '../../src/kernel/layout.js';
import { kernelError } from '../../src/kernel/kernel-error.js';
import { bpfCmdName } from '../../src/kernel/bpf/constants.js';
import type { EpollEvent, Mapping, PointerField, Sys } from '../../src/kernel/sys.js';

/** One recorded bpf(2) call: the attr as passed (live, so kernel write-backs are visible) and its pointers. */
export interface FakeBpfCall {
  readonly cmd: number;
  readonly attr: Uint8Array;
  /** A copy of the attr as it was at call time. */
  readonly attrIn: Uint8Array;
  readonly pointers: readonly PointerField[];
}

/** Answers one bpf call: return a result, or throw (use `fail(errno)`). */
export type FakeBpfHandler = (call: FakeBpfCall) => number;

/** Throws the KernelError a real Sys throws for `errno` from bpf `cmd`. */
export function fail(cmd: number, errno: number): never {
  throw kernelError(`bpf(${bpfCmdName(cmd)})`, errno);
}

/** The buffer a recorded call's pointer field `name` points at. */
export function pointee<L extends StructLayout>(call: FakeBpfCall, layout: L, name: FieldName<L>): Uint8Array | undefined {
  const offset = layout.fields[name]?.offset;
  return call.pointers.find((p) => p.offset === offset)?.target;
}

/** A Sys whose bpf answers come from handlers queued with `onBpf`; other calls are rarely needed. */
export class FakeSys implements Sys {
  readonly calls: FakeBpfCall[] = [];
  readonly closed: number[] = [];
  readonly files = new Map<string, string>();
  readonly #queue: FakeBpfHandler[] = [];
  #nextFd = 100;

  /** Queues a one-shot handler for the next bpf call. */
  onBpf(handler: FakeBpfHandler): this {
    this.#queue.push(handler);
    return this;
  }

  /** Queues "the next bpf call returns a fresh fd". */
  returnFd(): this {
    return this.onBpf(() => this.#nextFd++);
  }

  /** Queues "the next bpf call fails with errno". */
  failWith(errno: number): this {
    return this.onBpf((call) => fail(call.cmd, errno));
  }

  /** bpf calls made with `cmd`. */
  callsOf(cmd: number): FakeBpfCall[] {
    return this.calls.filter((c) => c.cmd === cmd);
  }

  bpf(cmd: number, attr: Uint8Array, pointers: readonly PointerField[] = []): number {
    const call: FakeBpfCall = { cmd, attr, attrIn: attr.slice(), pointers };
    this.calls.push(call);
    const handler = this.#queue.shift();
    if (!handler) throw new Error(`FakeSys: unscripted bpf(${bpfCmdName(cmd)})`);
    return handler(call);
  }

  close(fd: number): void {
    this.closed.push(fd);
  }

  readFile(path: string): Uint8Array {
    const text = this.files.get(path);
    if (text === undefined) throw kernelError(`read ${path}`, 2);
    return new TextEncoder().encode(text);
  }

  writeFile(path: string, data: Uint8Array): void {
    this.files.set(path, new TextDecoder().decode(data));
  }

  listDir(path: string): string[] {
    const prefix = path.endsWith('/') ? path : `${path}/`;
    const names = new Set<string>();
    for (const f of this.files.keys()) if (f.startsWith(prefix)) names.add(f.slice(prefix.length).split('/')[0]!);
    if (names.size === 0) throw kernelError(`list ${path}`, 2);
    return [...names].sort();
  }

  getpid(): number {
    return 4242;
  }

  socket(): number {
    return this.#unscripted('socket');
  }
  bind(): void {
    this.#unscripted('bind');
  }
  getsockname(): number {
    return this.#unscripted('getsockname');
  }
  setsockopt(): void {
    this.#unscripted('setsockopt');
  }
  send(): number {
    return this.#unscripted('send');
  }
  recv(): number {
    return this.#unscripted('recv');
  }
  ioctl(): number {
    return this.#unscripted('ioctl');
  }
  mmap(): Mapping {
    return this.#unscripted('mmap');
  }
  munmap(): void {
    this.#unscripted('munmap');
  }
  epollCreate1(): number {
    return this.#unscripted('epoll_create1');
  }
  epollCtl(): void {
    this.#unscripted('epoll_ctl');
  }
  epollWait(): EpollEvent[] {
    return this.#unscripted('epoll_wait');
  }
  ifNameToIndex(): number {
    return this.#unscripted('if_nametoindex');
  }

  #unscripted(name: string): never {
    throw new Error(`FakeSys: ${name} not scripted`);
  }
}
