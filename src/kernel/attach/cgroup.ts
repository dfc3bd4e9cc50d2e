// Cgroup programs (cgroup_skb, cgroup_sock, cgroup_sock_addr, sock_ops...) attached to a cgroup v2 directory as bpf_links.
import { attachTypeName } from '../../isa/attach-types.js';
import { programTypeName } from '../../isa/program-types.js';
import { NotSupportedError } from '../../errors.js';
import { AttachType, ProgType } from '../bpf/constants.js';
import { createLink } from '../bpf/link.js';
import { programInfo } from '../bpf/obj-info.js';
import { Fd } from '../fd.js';
import { isErrno, KernelError } from '../kernel-error.js';
import type { Sys } from '../sys.js';
import { WrongProgramTypeError } from './errors.js';
import { CgroupNotFoundError } from './tracing-errors.js';
import { TracingLink } from './tracing.js';

const O_DIRECTORY = 0o200000;

/** The program types each cgroup attach type runs (kernel's attach_type_to_prog_type). */
const CGROUP_HOOKS: ReadonlyMap<number, number> = new Map<number, number>([
  [AttachType.CGROUP_INET_INGRESS, ProgType.CGROUP_SKB],
  [AttachType.CGROUP_INET_EGRESS, ProgType.CGROUP_SKB],
  [AttachType.CGROUP_INET_SOCK_CREATE, ProgType.CGROUP_SOCK],
  [AttachType.CGROUP_INET_SOCK_RELEASE, ProgType.CGROUP_SOCK],
  [AttachType.CGROUP_INET4_POST_BIND, ProgType.CGROUP_SOCK],
  [AttachType.CGROUP_INET6_POST_BIND, ProgType.CGROUP_SOCK],
  [AttachType.CGROUP_SOCK_OPS, ProgType.SOCK_OPS],
  [AttachType.CGROUP_INET4_BIND, ProgType.CGROUP_SOCK_ADDR],
  [AttachType.CGROUP_INET6_BIND, ProgType.CGROUP_SOCK_ADDR],
  [AttachType.CGROUP_INET4_CONNECT, ProgType.CGROUP_SOCK_ADDR],
  [AttachType.CGROUP_INET6_CONNECT, ProgType.CGROUP_SOCK_ADDR],
  [AttachType.CGROUP_INET4_GETPEERNAME, ProgType.CGROUP_SOCK_ADDR],
  [AttachType.CGROUP_INET6_GETPEERNAME, ProgType.CGROUP_SOCK_ADDR],
  [AttachType.CGROUP_INET4_GETSOCKNAME, ProgType.CGROUP_SOCK_ADDR],
  [AttachType.CGROUP_INET6_GETSOCKNAME, ProgType.CGROUP_SOCK_ADDR],
  [AttachType.CGROUP_UDP4_SENDMSG, ProgType.CGROUP_SOCK_ADDR],
  [AttachType.CGROUP_UDP6_SENDMSG, ProgType.CGROUP_SOCK_ADDR],
  [AttachType.CGROUP_UDP4_RECVMSG, ProgType.CGROUP_SOCK_ADDR],
  [AttachType.CGROUP_UDP6_RECVMSG, ProgType.CGROUP_SOCK_ADDR],
  [AttachType.CGROUP_SYSCTL, ProgType.CGROUP_SYSCTL],
  [AttachType.CGROUP_GETSOCKOPT, ProgType.CGROUP_SOCKOPT],
  [AttachType.CGROUP_SETSOCKOPT, ProgType.CGROUP_SOCKOPT],
  [AttachType.CGROUP_DEVICE, ProgType.CGROUP_DEVICE],
]);

/** Whether `attachType` is a cgroup hook, and the program type it runs. */
export function cgroupHookProgramType(attachType: number): number | undefined {
  return CGROUP_HOOKS.get(attachType);
}

/** Opens a cgroup v2 directory's fd; a missing path is {@link CgroupNotFoundError}. */
export function openCgroup(sys: Sys, path: string): Fd<'other'> {
  const open = sys.openPath?.bind(sys);
  if (!open) throw new NotSupportedError('opening paths through this Sys');
  try {
    return new Fd(sys, open(path, O_DIRECTORY), 'other');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new CgroupNotFoundError(path, 'no such directory', { cause: err });
    if (isErrno(err, 'ENOTDIR')) throw new CgroupNotFoundError(path, 'not a directory', { cause: err });
    throw err;
  }
}

/**
 * Attaches a cgroup program to the cgroup v2 directory `path` for `attachType`
 * (AttachType.CGROUP_INET_INGRESS...) with BPF_LINK_CREATE (multi-attach: several links may
 * share a hook). A program of another type is {@link WrongProgramTypeError}; a directory that is
 * not cgroup v2 (a v1 hierarchy) is {@link CgroupNotFoundError}.
 */
export function attachCgroup(sys: Sys, prog: Fd<'prog'>, path: string, attachType: number): TracingLink {
  const want = CGROUP_HOOKS.get(attachType);
  const hook = `cgroup hook ${attachTypeName(attachType)}`;
  const info = programInfo(prog);
  if (want === undefined) throw new WrongProgramTypeError(info.id, programTypeName(info.type), hook, ['(not a cgroup attach type)']);
  if (info.type !== want) throw new WrongProgramTypeError(info.id, programTypeName(info.type), hook, [programTypeName(want)]);
  using cg = openCgroup(sys, path);
  let link: Fd<'link'>;
  try {
    link = createLink(sys, { prog, attachType, targetFd: cg });
  } catch (err) {
    if (isErrno(err, 'EBADF')) throw new CgroupNotFoundError(path, 'not a cgroup v2 directory (BPF programs attach to cgroup v2 only)', { cause: err });
    if (err instanceof KernelError && err.errnoName === 'EINVAL') throw err.withContext(`attach ${info.name || `prog ${info.id}`} to ${path} (${attachTypeName(attachType)})`);
    throw err;
  }
  return new TracingLink(link, { kind: 'cgroup', path, attachType }, info.id);
}
