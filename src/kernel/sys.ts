// The one door to the OS: every system call the kernel backend makes goes through a Sys, passed in.
//
// Buffers cross this interface as Uint8Arrays. A struct that holds pointers to other buffers
// (bpf_attr.key, bpf_attr.log_buf, msghdr.msg_iov...) is passed as its bytes plus a list of
// PointerFields: "at this offset goes the address of that buffer". The real implementation
// places everything in native memory and writes the addresses at call time; a fake can read the
// target buffers directly and never sees an address.

/** A raw file descriptor number, branded so a plain number is not taken for one by accident. */
export type RawFd = number & { readonly __brand: 'RawFd' };

/** Direction of a pointed-to buffer: copied to the kernel, back from it, or both. */
export type PointerDirection = 'in' | 'out' | 'inout';

/** "At `offset` in the parent buffer goes a u64 pointer to `target`." */
export interface PointerField {
  /** Byte offset of the u64 pointer slot in the parent buffer. */
  readonly offset: number;
  /** The buffer pointed to; an empty buffer becomes a NULL pointer. */
  readonly target: Uint8Array;
  /** Whether the kernel reads it, writes it, or both. Default `'in'`. */
  readonly direction?: PointerDirection;
  /** Pointer fields inside `target` itself (bpf_attr.info -> bpf_prog_info.map_ids). */
  readonly pointers?: readonly PointerField[];
}

/** A shared memory mapping (mmap of a map or ring buffer fd). Dispose with {@link Sys.munmap}. */
export interface Mapping {
  /** The mapped bytes, a view on the native memory (no copy). Invalid after munmap. */
  readonly bytes: Uint8Array;
  /** Length in bytes, as requested. */
  readonly length: number;
}

/** One ready event from epoll_wait. */
export interface EpollEvent {
  /** `EPOLLIN`, `EPOLLOUT`... bits. */
  readonly events: number;
  /** The u64 registered with epoll_ctl (here the low 32 bits as a number). */
  readonly data: number;
}

/**
 * A block of memory (native for the real Sys) reused by many bpf(2) calls that marshal nothing per
 * call: the caller lays out one or more attrs and their pointed-to areas in it once, points the
 * attrs' pointer slots at the areas with {@link BpfCallBlock.point}, then per call writes the
 * changing bytes (a key) into {@link BpfCallBlock.bytes}, calls, and reads results back out.
 * Get one with `bpfCallBlock(sys, size)` (src/kernel/bpf/call-block.ts), which falls back to an
 * emulation over {@link Sys.bpf} when the Sys has no {@link Sys.bpfBlock}.
 */
export interface BpfCallBlock {
  /**
   * The block's bytes. For the real Sys a view on native memory: valid until {@link free}, and
   * never to be kept by callers past it (the memory is released then).
   */
  readonly bytes: Uint8Array;
  /** True once freed; every method but `free` then throws. */
  readonly freed: boolean;
  /**
   * Writes into the u64 slot at block offset `slot` the address of the `length` bytes at block
   * offset `target` (length 0: a NULL pointer). Offsets are within the block.
   */
  point(slot: number, target: number, length: number): void;
  /**
   * bpf(`cmd`, the `attrSize`-byte attr at block offset `attrOffset`): the result, or -errno on
   * failure (never throws for a kernel failure, as {@link Sys.tryBpf}).
   */
  call(cmd: number, attrOffset: number, attrSize: number): number;
  /** Releases the block (a second call does nothing). */
  free(): void;
}

/**
 * Every system call the kernel backend makes. Failures throw a {@link KernelError} (never a
 * bare errno); successes return the kernel's result. Implementations: the koffi one from
 * `createKernelSys()`, fakes in tests.
 */
export interface Sys {
  /** bpf(2): `cmd` with `attr` (its size is the attr's length). Returns the result (often an fd). */
  bpf(cmd: number, attr: Uint8Array, pointers?: readonly PointerField[]): number;
  /**
   * bpf(2) for the hot paths where a failure is an answer (a lookup's ENOENT): returns the
   * result, or -errno instead of throwing (building an error costs more than the syscall).
   * Optional: callers fall back to `bpf` and catch.
   */
  tryBpf?(cmd: number, attr: Uint8Array, pointers?: readonly PointerField[]): number;
  /**
   * A {@link BpfCallBlock} of `size` bytes for hot paths (map lookups, test runs). Optional:
   * callers use `bpfCallBlock(sys, size)`, which emulates it over `bpf`/`tryBpf`.
   */
  bpfBlock?(size: number): BpfCallBlock;
  /** close(2). */
  close(fd: number): void;
  /** socket(2); returns the fd. */
  socket(domain: number, type: number, protocol: number): number;
  /** bind(2) with a raw sockaddr. */
  bind(fd: number, addr: Uint8Array): void;
  /** getsockname(2) into `addr`; returns the address length the kernel wrote. */
  getsockname(fd: number, addr: Uint8Array): number;
  /** setsockopt(2) with a raw option value. */
  setsockopt(fd: number, level: number, name: number, value: Uint8Array): void;
  /** send(2); returns the number of bytes sent. */
  send(fd: number, data: Uint8Array, flags: number): number;
  /** recv(2) into `buf`; returns the number of bytes received (for MSG_TRUNC, the real length). */
  recv(fd: number, buf: Uint8Array, flags: number): number;
  /** ioctl(2) with a pointer argument; returns the result. */
  ioctl(fd: number, request: number, arg: Uint8Array, pointers?: readonly PointerField[]): number;
  /** mmap(2) of `length` bytes of `fd` at `offset`. */
  mmap(fd: number, length: number, prot: number, flags: number, offset: number): Mapping;
  /** munmap(2). */
  munmap(mapping: Mapping): void;
  /** epoll_create1(2); returns the epoll fd. */
  epollCreate1(flags: number): number;
  /** epoll_ctl(2): `op` (EPOLL_CTL_ADD...) `fd` for `events`, tagged with `data`. */
  epollCtl(epfd: number, op: number, fd: number, events: number, data: number): void;
  /** epoll_wait(2): up to `maxEvents` ready events, waiting at most `timeoutMs` (-1: forever). */
  epollWait(epfd: number, maxEvents: number, timeoutMs: number): EpollEvent[];
  /** if_nametoindex(3); throws ENODEV when there is no such interface. */
  ifNameToIndex(name: string): number;
  /** getpid(2). */
  getpid(): number;
  /** Reads a whole file (sysfs, procfs): `/sys/devices/system/cpu/possible`. */
  readFile(path: string): Uint8Array;
  /** Writes a whole file (sysctls under /proc/sys, /proc/irq/N/smp_affinity_list, rps_cpus). */
  writeFile(path: string, data: Uint8Array): void;
  /** Lists a directory's entry names (`/sys/class/net/eth0/queues`), sorted. */
  listDir(path: string): string[];
  /**
   * perf_event_open(2) with a raw `struct perf_event_attr`; returns the fd. Optional: fakes that
   * do not need it leave it out, and callers report NotSupportedError when it is missing.
   */
  perfEventOpen?(attr: Uint8Array, pid: number, cpu: number, groupFd: number, flags: number, pointers?: readonly PointerField[]): number;
  /**
   * open(2) of a path for its fd (a cgroup directory for BPF_LINK_CREATE), O_RDONLY | `flags`
   * (O_DIRECTORY...); returns the fd, closed with {@link close}. Optional: callers report
   * NotSupportedError when it is missing.
   */
  openPath?(path: string, flags: number): number;
  /**
   * Appends to a file without truncating it (tracefs `kprobe_events`, where a truncating open
   * removes every probe). Optional: callers report NotSupportedError when it is missing.
   */
  appendFile?(path: string, data: Uint8Array): void;
  /**
   * flock(2) on an open fd (`LOCK_EX` = 2, `LOCK_UN` = 8; blocks until granted). Optional: the
   * bpffs lock of multi-program XDP (libxdp's protocol) needs it.
   */
  flock?(fd: number, operation: number): void;
}
