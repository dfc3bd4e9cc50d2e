// The real Sys: system calls through libc with koffi, loaded lazily so bpfkit imports without it.
import { appendFileSync, constants as fsConstants, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { BpfkitError, NotSupportedError } from '../errors.js';
import { CallBlockFreedError, checkBlockRange } from './bpf/call-block.js';
import { bpfCmdName } from './bpf/constants.js';
import { kernelError } from './kernel-error.js';
import type { BpfCallBlock, EpollEvent, Mapping, PointerField, Sys } from './sys.js';

/** open(2)'s O_CLOEXEC (Node's fs.constants lacks it). */
const O_CLOEXEC = 0o2000000;

type Koffi = typeof import('koffi');
type NativeFn = (...args: unknown[]) => unknown;

/** koffi could not be loaded: the kernel backend needs the optional dependency. */
export class FfiUnavailableError extends NotSupportedError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super('kernel backend (FFI via koffi)', undefined, detail, options);
  }
}

// System call numbers of bpf(2) per architecture (arch/x86/entry/syscalls/syscall_64.tbl,
// include/uapi/asm-generic/unistd.h for arm64).
const SYS_BPF: Partial<Record<NodeJS.Architecture, number>> = { x64: 321, arm64: 280 };
const SYS_PERF_EVENT_OPEN: Partial<Record<NodeJS.Architecture, number>> = { x64: 298, arm64: 241 };
// struct epoll_event is packed on x86_64 (12 bytes), naturally aligned elsewhere (16 bytes).
const EPOLL_EVENT_SIZE = process.arch === 'x64' ? 12 : 16;
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

/**
 * Native scratch memory reused across calls (calls are synchronous, so one arena suffices).
 * Buffers with pointer fields are copied here, addresses patched in, and copied back after.
 */
class Scratch {
  #ptr: unknown = null;
  #base = 0n;
  #bytes = new Uint8Array(0);
  #view = new DataView(new ArrayBuffer(0));

  constructor(private readonly koffi: Koffi) {}

  /** Returns a native area of at least `size` bytes, growing (and moving) it if needed. */
  reserve(size: number): { base: bigint; bytes: Uint8Array; view: DataView } {
    if (size > this.#bytes.length) {
      if (this.#ptr !== null) this.koffi.free(this.#ptr);
      let cap = Math.max(4096, this.#bytes.length);
      while (cap < size) cap *= 2;
      this.#ptr = this.koffi.alloc('uint8_t', cap);
      this.#base = this.koffi.address(this.#ptr);
      this.#bytes = new Uint8Array(this.koffi.view(this.#ptr, cap));
      this.#view = new DataView(this.#bytes.buffer, this.#bytes.byteOffset, this.#bytes.byteLength);
    }
    return { base: this.#base, bytes: this.#bytes, view: this.#view };
  }

  /** Gives back an arena grown past `keep` bytes (a one-off huge verifier log), so it is not held forever. */
  trim(keep: number): void {
    if (this.#bytes.length <= keep || this.#ptr === null) return;
    this.koffi.free(this.#ptr);
    this.#ptr = null;
    this.#base = 0n;
    this.#bytes = new Uint8Array(0);
    this.#view = new DataView(new ArrayBuffer(0));
  }
}

const SCRATCH_KEEP = 16 * 1024 * 1024;

interface Placed {
  buf: Uint8Array;
  at: number;
  copyBack: boolean;
  slots: number[];
}

const align8 = (n: number): number => (n + 7) & ~7;

function sizeNeeded(buf: Uint8Array, pointers: readonly PointerField[] | undefined): number {
  let total = align8(buf.length);
  for (const p of pointers ?? []) total += sizeNeeded(p.target, p.pointers);
  return total;
}

/**
 * One marshalling of a buffer tree into scratch memory. A class with methods rather than
 * closures: bpf(2) is the hottest call, and per-call closures cost more than the copies
 * (transpilers that keep function names wrap each in a defineProperty).
 */
class Marshal {
  readonly placed: Placed[] = [];
  cursor = 0;

  constructor(
    readonly base: bigint,
    readonly bytes: Uint8Array,
    readonly view: DataView,
  ) {}

  /** Copies `buf` (and what its pointer fields reach) in; returns its offset in scratch. */
  place(buf: Uint8Array, ptrs: readonly PointerField[] | undefined, copyBack: boolean): number {
    const at = this.cursor;
    this.cursor += align8(buf.length);
    this.bytes.set(buf, at);
    const slots: number[] = [];
    if (ptrs) {
      for (const p of ptrs) {
        if (p.offset < 0 || p.offset + 8 > buf.length) {
          throw new BpfkitError('ERR_POINTER_FIELD', `pointer field at offset ${p.offset} lies outside its ${buf.length}-byte buffer`);
        }
        const targetAt = this.place(p.target, p.pointers, (p.direction ?? 'in') !== 'in');
        this.view.setBigUint64(at + p.offset, p.target.length === 0 ? 0n : this.base + BigInt(targetAt), true);
        slots.push(p.offset);
      }
    }
    this.placed.push({ buf, at, copyBack, slots });
    return at;
  }

  /** Copies results back into the caller's buffers, keeping their pointer slots as they were. */
  finish(): void {
    for (const { buf, at, copyBack, slots } of this.placed) {
      if (!copyBack) continue;
      if (slots.length === 0) {
        buf.set(this.bytes.subarray(at, at + buf.length));
        continue;
      }
      // No native address leaks into JS data: the pointer slots keep the caller's bytes.
      const saved = slots.map((s) => buf.slice(s, s + 8));
      buf.set(this.bytes.subarray(at, at + buf.length));
      slots.forEach((s, i) => buf.set(saved[i] as Uint8Array, s));
    }
  }
}

/**
 * Copies `root` and everything its pointer fields reach into scratch memory, patching in the
 * native addresses. Returns the marshalling; its `base` is the root's address and `finish()`
 * copies results back.
 */
function marshal(scratch: Scratch, root: Uint8Array, pointers: readonly PointerField[] | undefined): Marshal {
  const { base, bytes, view } = scratch.reserve(Math.max(8, sizeNeeded(root, pointers)));
  const m = new Marshal(base, bytes, view);
  m.place(root, pointers, true);
  return m;
}

/** Frees a call block's native memory once its bytes are unreachable (a block never freed explicitly). */
const blockMemory = new FinalizationRegistry<{ koffi: Koffi; ptr: unknown }>(({ koffi, ptr }) => koffi.free(ptr));

/**
 * A BpfCallBlock in native memory: attrs hold real addresses of the block's own areas, so a
 * call passes one integer address and koffi marshals nothing. The address goes to a
 * non-variadic `syscall` binding as a Number (user-space addresses are below 2^53).
 */
class KoffiBpfBlock implements BpfCallBlock {
  #ptr: unknown;
  #base: number;
  #bytes: Uint8Array;
  #view: DataView;
  #freed = false;
  readonly #size: number;

  constructor(
    private readonly koffi: Koffi,
    private readonly fn: NativeFn,
    private readonly nr: number,
    size: number,
  ) {
    this.#size = size;
    this.#ptr = koffi.alloc('uint8_t', size);
    const address = koffi.address(this.#ptr);
    if (address > BigInt(Number.MAX_SAFE_INTEGER)) {
      koffi.free(this.#ptr);
      throw new BpfkitError('ERR_CALL_BLOCK_ADDRESS', `native address 0x${address.toString(16)} does not fit a JavaScript number`);
    }
    this.#base = Number(address);
    const buffer = koffi.view(this.#ptr, size);
    this.#bytes = new Uint8Array(buffer);
    this.#bytes.fill(0);
    this.#view = new DataView(buffer);
    blockMemory.register(buffer, { koffi, ptr: this.#ptr }, this);
  }

  get bytes(): Uint8Array {
    if (this.#freed) throw new CallBlockFreedError();
    return this.#bytes;
  }

  get freed(): boolean {
    return this.#freed;
  }

  point(slot: number, target: number, length: number): void {
    if (this.#freed) throw new CallBlockFreedError();
    checkBlockRange(slot, 8, this.#size);
    checkBlockRange(target, length, this.#size);
    this.#view.setBigUint64(slot, length === 0 ? 0n : BigInt(this.#base + target), true);
  }

  call(cmd: number, attrOffset: number, attrSize: number): number {
    if (this.#freed) throw new CallBlockFreedError();
    if (attrOffset < 0 || attrSize < 0 || attrOffset + attrSize > this.#size) checkBlockRange(attrOffset, attrSize, this.#size);
    const r = this.fn(this.nr, cmd, this.#base + attrOffset, attrSize) as number;
    if (r >= 0) return r;
    // glibc's syscall() sets errno whenever it returns -1; koffi keeps it for koffi.errno().
    const errno = this.koffi.errno();
    return -(errno === 0 ? 5 /* EIO: errno lost */ : errno);
  }

  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    blockMemory.unregister(this);
    this.#bytes = new Uint8Array(0);
    this.#view = new DataView(this.#bytes.buffer);
    this.koffi.free(this.#ptr);
    this.#ptr = null;
    this.#base = 0;
  }
}

class KoffiMapping implements Mapping {
  constructor(
    readonly bytes: Uint8Array,
    readonly length: number,
    readonly ptr: unknown,
  ) {}
}

/** The Sys over libc through koffi. Construct with {@link createKernelSys}. */
class KoffiSys implements Sys {
  readonly #koffi: Koffi;
  readonly #scratch: Scratch;
  readonly #sysBpf: number;
  readonly #fn: Record<string, NativeFn>;
  readonly #bpfFn: NativeFn;

  constructor(koffi: Koffi, sysBpf: number) {
    this.#koffi = koffi;
    this.#scratch = new Scratch(koffi);
    this.#sysBpf = sysBpf;
    const libc = koffi.load('libc.so.6');
    const decl: Record<string, string> = {
      syscall: 'long syscall(long number, ...)',
      // bpf(2) bound with fixed arguments: calling a variadic function through a fixed prototype
      // is sound for integer arguments on x86-64 and arm64 Linux (glibc's syscall() is assembly
      // that only moves registers), and it skips koffi's per-call variadic type parsing — the
      // most frequent call (map lookups, test runs) costs a third less.
      syscall_bpf: 'long syscall(long number, int cmd, uint64_t attr, uint32_t size)',
      close: 'int close(int fd)',
      socket: 'int socket(int domain, int type, int protocol)',
      bind: 'int bind(int fd, void *addr, uint32_t len)',
      getsockname: 'int getsockname(int fd, void *addr, _Inout_ uint32_t *len)',
      setsockopt: 'int setsockopt(int fd, int level, int name, void *value, uint32_t len)',
      send: 'intptr_t send(int fd, void *buf, size_t len, int flags)',
      recv: 'intptr_t recv(int fd, void *buf, size_t len, int flags)',
      ioctl: 'int ioctl(int fd, unsigned long request, ...)',
      mmap: 'void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)',
      munmap: 'int munmap(void *addr, size_t length)',
      epoll_create1: 'int epoll_create1(int flags)',
      epoll_ctl: 'int epoll_ctl(int epfd, int op, int fd, void *event)',
      epoll_wait: 'int epoll_wait(int epfd, void *events, int maxevents, int timeout)',
      if_nametoindex: 'unsigned int if_nametoindex(const char *name)',
      getpid: 'int getpid()',
      flock: 'int flock(int fd, int operation)',
    };
    this.#fn = Object.fromEntries(Object.entries(decl).map(([name, proto]) => [name, libc.func(proto) as NativeFn]));
    this.#bpfFn = this.#fn['syscall_bpf'] as NativeFn;
  }

  /** Calls libc function `name`, throwing a KernelError for `op` when it reports failure. */
  #call(op: string, name: string, failed: (r: number) => boolean, ...args: unknown[]): number {
    const fn = this.#fn[name] as NativeFn;
    this.#koffi.errno(0);
    const r = Number(fn(...args));
    if (failed(r)) {
      const errno = this.#koffi.errno();
      throw kernelError(op, errno === 0 ? 5 /* EIO: errno lost */ : errno);
    }
    return r;
  }

  bpf(cmd: number, attr: Uint8Array, pointers?: readonly PointerField[]): number {
    const r = this.tryBpf(cmd, attr, pointers);
    if (r < 0) throw kernelError(`bpf(${bpfCmdName(cmd)})`, -r);
    return r;
  }

  tryBpf(cmd: number, attr: Uint8Array, pointers?: readonly PointerField[]): number {
    const m = marshal(this.#scratch, attr, pointers);
    try {
      // No errno(0) first: glibc's syscall() sets errno whenever it returns -1.
      const r = Number(this.#bpfFn(this.#sysBpf, cmd, Number(m.base), attr.length));
      if (r >= 0) return r;
      const errno = this.#koffi.errno();
      return -(errno === 0 ? 5 /* EIO: errno lost */ : errno);
    } finally {
      m.finish();
      this.#scratch.trim(SCRATCH_KEEP);
    }
  }

  bpfBlock(size: number): BpfCallBlock {
    return new KoffiBpfBlock(this.#koffi, this.#bpfFn, this.#sysBpf, size);
  }

  perfEventOpen(attr: Uint8Array, pid: number, cpu: number, groupFd: number, flags: number, pointers?: readonly PointerField[]): number {
    const nr = SYS_PERF_EVENT_OPEN[process.arch];
    if (nr === undefined) throw new FfiUnavailableError(`perf_event_open(2) syscall number unknown for architecture ${process.arch}`);
    const m = marshal(this.#scratch, attr, pointers);
    try {
      return this.#call('perf_event_open', 'syscall', (r) => r < 0, nr, 'uint64_t', m.base, 'int', pid, 'int', cpu, 'int', groupFd, 'unsigned long', flags);
    } finally {
      m.finish();
      this.#scratch.trim(SCRATCH_KEEP);
    }
  }

  close(fd: number): void {
    this.#call('close', 'close', (r) => r < 0, fd);
  }

  socket(domain: number, type: number, protocol: number): number {
    return this.#call('socket', 'socket', (r) => r < 0, domain, type, protocol);
  }

  bind(fd: number, addr: Uint8Array): void {
    this.#call('bind', 'bind', (r) => r < 0, fd, addr, addr.length);
  }

  getsockname(fd: number, addr: Uint8Array): number {
    const len = [addr.length];
    this.#call('getsockname', 'getsockname', (r) => r < 0, fd, addr, len);
    return len[0] as number;
  }

  setsockopt(fd: number, level: number, name: number, value: Uint8Array): void {
    this.#call('setsockopt', 'setsockopt', (r) => r < 0, fd, level, name, value, value.length);
  }

  send(fd: number, data: Uint8Array, flags: number): number {
    return this.#call('send', 'send', (r) => r < 0, fd, data, data.length, flags);
  }

  recv(fd: number, buf: Uint8Array, flags: number): number {
    return this.#call('recv', 'recv', (r) => r < 0, fd, buf, buf.length, flags);
  }

  ioctl(fd: number, request: number, arg: Uint8Array, pointers?: readonly PointerField[]): number {
    const m = marshal(this.#scratch, arg, pointers);
    try {
      return this.#call(`ioctl(0x${request.toString(16)})`, 'ioctl', (r) => r < 0, fd, request, 'uint64_t', m.base);
    } finally {
      m.finish();
      this.#scratch.trim(SCRATCH_KEEP);
    }
  }

  mmap(fd: number, length: number, prot: number, flags: number, offset: number): Mapping {
    const fn = this.#fn['mmap'] as NativeFn;
    this.#koffi.errno(0);
    const ptr = fn(null, length, prot, flags, fd, offset);
    if (ptr === null || this.#koffi.address(ptr) === MAP_FAILED) throw kernelError('mmap', this.#koffi.errno() || 5);
    return new KoffiMapping(new Uint8Array(this.#koffi.view(ptr, length)), length, ptr);
  }

  munmap(mapping: Mapping): void {
    if (!(mapping instanceof KoffiMapping)) throw new BpfkitError('ERR_FOREIGN_MAPPING', 'munmap: mapping was not created by this Sys');
    this.#call('munmap', 'munmap', (r) => r < 0, mapping.ptr, mapping.length);
  }

  epollCreate1(flags: number): number {
    return this.#call('epoll_create1', 'epoll_create1', (r) => r < 0, flags);
  }

  epollCtl(epfd: number, op: number, fd: number, events: number, data: number): void {
    const ev = new Uint8Array(EPOLL_EVENT_SIZE);
    const dv = new DataView(ev.buffer);
    dv.setUint32(0, events >>> 0, true);
    dv.setBigUint64(EPOLL_EVENT_SIZE === 12 ? 4 : 8, BigInt(data >>> 0), true);
    this.#call('epoll_ctl', 'epoll_ctl', (r) => r < 0, epfd, op, fd, ev);
  }

  epollWait(epfd: number, maxEvents: number, timeoutMs: number): EpollEvent[] {
    const buf = new Uint8Array(EPOLL_EVENT_SIZE * maxEvents);
    const n = this.#call('epoll_wait', 'epoll_wait', (r) => r < 0, epfd, buf, maxEvents, timeoutMs);
    const dv = new DataView(buf.buffer);
    const out: EpollEvent[] = [];
    for (let i = 0; i < n; i++) {
      const at = i * EPOLL_EVENT_SIZE;
      out.push({ events: dv.getUint32(at, true), data: dv.getUint32(at + (EPOLL_EVENT_SIZE === 12 ? 4 : 8), true) });
    }
    return out;
  }

  ifNameToIndex(name: string): number {
    return this.#call(`if_nametoindex(${JSON.stringify(name)})`, 'if_nametoindex', (r) => r === 0, name);
  }

  getpid(): number {
    return Number((this.#fn['getpid'] as NativeFn)());
  }

  appendFile(path: string, data: Uint8Array): void {
    try {
      appendFileSync(path, data);
    } catch (err) {
      throw kernelError(`append to ${path}`, -((err as NodeJS.ErrnoException).errno ?? -5), { cause: err });
    }
  }

  openPath(path: string, flags: number): number {
    try {
      return openSync(path, fsConstants.O_RDONLY | O_CLOEXEC | flags);
    } catch (err) {
      const errno = -((err as NodeJS.ErrnoException).errno ?? -5);
      throw kernelError(`open ${path}`, errno, { cause: err });
    }
  }

  flock(fd: number, operation: number): void {
    this.#call(`flock(${fd}, ${operation})`, 'flock', (r) => r < 0, fd, operation);
  }

  readFile(path: string): Uint8Array {
    try {
      return new Uint8Array(readFileSync(path));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      const errno = -((err as NodeJS.ErrnoException).errno ?? -5);
      throw kernelError(`read ${path}`, errno, { cause: err, hint: code === 'ENOENT' ? 'is sysfs/procfs mounted?' : undefined });
    }
  }

  writeFile(path: string, data: Uint8Array): void {
    try {
      writeFileSync(path, data);
    } catch (err) {
      throw kernelError(`write ${path}`, -((err as NodeJS.ErrnoException).errno ?? -5), { cause: err });
    }
  }

  listDir(path: string): string[] {
    try {
      return readdirSync(path).sort();
    } catch (err) {
      throw kernelError(`list ${path}`, -((err as NodeJS.ErrnoException).errno ?? -5), { cause: err });
    }
  }
}

let cached: KoffiSys | undefined;

/**
 * The real Sys for this process (created on first use, then shared: it holds no per-caller
 * state). Throws {@link FfiUnavailableError} when koffi is not installed or the platform is not
 * Linux on x86_64/arm64.
 */
export function createKernelSys(): Sys {
  if (cached) return cached;
  if (process.platform !== 'linux') throw new FfiUnavailableError(`the kernel backend needs Linux (this is ${process.platform})`);
  const sysBpf = SYS_BPF[process.arch];
  if (sysBpf === undefined) throw new FfiUnavailableError(`bpf(2) syscall number unknown for architecture ${process.arch}`);
  let koffi: Koffi;
  try {
    koffi = createRequire(import.meta.url)('koffi') as Koffi;
  } catch (err) {
    throw new FfiUnavailableError('the optional dependency koffi is not installed; run `npm install koffi`', { cause: err });
  }
  cached = new KoffiSys(koffi, sysBpf);
  return cached;
}
