// Linux errno numbers, names and the strerror(3) text, for messages that never show a bare number.

interface ErrnoEntry {
  readonly name: string;
  readonly message: string;
}

// asm-generic/errno-base.h, asm-generic/errno.h and the kernel-internal codes bpf(2) can leak
// (include/linux/errno.h: ENOTSUPP 524). Messages as glibc's strerror prints them.
const TABLE: readonly (readonly [number, string, string])[] = [
  [1, 'EPERM', 'operation not permitted'],
  [2, 'ENOENT', 'no such file or directory'],
  [3, 'ESRCH', 'no such process'],
  [4, 'EINTR', 'interrupted system call'],
  [5, 'EIO', 'input/output error'],
  [6, 'ENXIO', 'no such device or address'],
  [7, 'E2BIG', 'argument list too long'],
  [8, 'ENOEXEC', 'exec format error'],
  [9, 'EBADF', 'bad file descriptor'],
  [11, 'EAGAIN', 'resource temporarily unavailable'],
  [12, 'ENOMEM', 'cannot allocate memory'],
  [13, 'EACCES', 'permission denied'],
  [14, 'EFAULT', 'bad address'],
  [16, 'EBUSY', 'device or resource busy'],
  [17, 'EEXIST', 'file exists'],
  [18, 'EXDEV', 'invalid cross-device link'],
  [19, 'ENODEV', 'no such device'],
  [20, 'ENOTDIR', 'not a directory'],
  [21, 'EISDIR', 'is a directory'],
  [22, 'EINVAL', 'invalid argument'],
  [23, 'ENFILE', 'too many open files in system'],
  [24, 'EMFILE', 'too many open files'],
  [25, 'ENOTTY', 'inappropriate ioctl for device'],
  [27, 'EFBIG', 'file too large'],
  [28, 'ENOSPC', 'no space left on device'],
  [30, 'EROFS', 'read-only file system'],
  [32, 'EPIPE', 'broken pipe'],
  [34, 'ERANGE', 'numerical result out of range'],
  [35, 'EDEADLK', 'resource deadlock avoided'],
  [36, 'ENAMETOOLONG', 'file name too long'],
  [38, 'ENOSYS', 'function not implemented'],
  [39, 'ENOTEMPTY', 'directory not empty'],
  [40, 'ELOOP', 'too many levels of symbolic links'],
  [61, 'ENODATA', 'no data available'],
  [71, 'EPROTO', 'protocol error'],
  [74, 'EBADMSG', 'bad message'],
  [75, 'EOVERFLOW', 'value too large for defined data type'],
  [88, 'ENOTSOCK', 'socket operation on non-socket'],
  [90, 'EMSGSIZE', 'message too long'],
  [93, 'EPROTONOSUPPORT', 'protocol not supported'],
  [95, 'EOPNOTSUPP', 'operation not supported'],
  [97, 'EAFNOSUPPORT', 'address family not supported by protocol'],
  [98, 'EADDRINUSE', 'address already in use'],
  [99, 'EADDRNOTAVAIL', 'cannot assign requested address'],
  [100, 'ENETDOWN', 'network is down'],
  [101, 'ENETUNREACH', 'network is unreachable'],
  [105, 'ENOBUFS', 'no buffer space available'],
  [110, 'ETIMEDOUT', 'connection timed out'],
  [111, 'ECONNREFUSED', 'connection refused'],
  [114, 'EALREADY', 'operation already in progress'],
  [115, 'EINPROGRESS', 'operation now in progress'],
  [116, 'ESTALE', 'stale file handle'],
  [125, 'ECANCELED', 'operation canceled'],
  [524, 'ENOTSUPP', 'operation not supported (kernel-internal ENOTSUPP)'],
];

const BY_NUMBER = new Map<number, ErrnoEntry>(TABLE.map(([n, name, message]) => [n, { name, message }]));
const BY_NAME = new Map<string, number>(TABLE.map(([n, name]) => [name, n]));

/** Errno numbers by name, for the cases code compares against. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EINVAL: 22,
  ENOSPC: 28,
  ENOSYS: 38,
  EOPNOTSUPP: 95,
  ENOTSUPP: 524,
} as const;

/** `'EPERM'` for 1; `'E999'` for a number the table does not know. */
export function errnoName(errno: number): string {
  return BY_NUMBER.get(errno)?.name ?? `E${errno}`;
}

/** The strerror(3) text for an errno (`'operation not permitted'`). */
export function errnoMessage(errno: number): string {
  return BY_NUMBER.get(errno)?.message ?? `unknown error ${errno}`;
}

/** The number for an errno name (`'EPERM'` -> 1), or undefined. */
export function errnoNumber(name: string): number | undefined {
  return BY_NAME.get(name);
}
