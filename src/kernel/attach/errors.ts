// Attach failures as typed errors: no such interface, something already attached, a mode the device lacks.
import { BpfkitError, NotSupportedError } from '../../errors.js';
import { KernelError } from '../kernel-error.js';

/** The interface named by the caller does not exist (in this network namespace). */
export class InterfaceNotFoundError extends BpfkitError {
  constructor(
    /** The name or index asked for. */
    readonly iface: string | number,
    options?: { cause?: unknown },
  ) {
    super('ERR_NO_SUCH_INTERFACE', `no such network interface: ${typeof iface === 'number' ? `ifindex ${iface}` : JSON.stringify(iface)}`, options);
  }
}

/** What occupies the hook an attach was refused for. */
export interface Occupant {
  /** Id of the program attached there, 0 when the kernel did not say. */
  readonly progId: number;
  /** How: a bpf_link (with its id), netlink (XDP, tc filters), or BPF_PROG_ATTACH (TCX without a link). */
  readonly via: 'link' | 'netlink' | 'prog-attach' | 'unknown';
  /** Link id when `via` is `'link'`. */
  readonly linkId?: number;
  /** XDP mode of the occupant (`'skb'`, `'native'`, `'hw'`), for XDP. */
  readonly mode?: string;
}

/**
 * The hook already has a program and the attach asked not to replace it (EBUSY / EEXIST). Keeps
 * the kernel's errno and extended ACK text and says what is there:
 * `attach XDP to bkat0a: EBUSY: device or resource busy: XDP program already attached (prog 42, skb mode, netlink)`.
 */
export class AlreadyAttachedError extends KernelError {
  /** The interface. */
  readonly ifname: string;
  /** What is attached there now, when it could be found out. */
  readonly occupant: Occupant | undefined;
  /** The kernel's extended ACK text, if any. */
  readonly extackMessage: string | undefined;

  constructor(op: string, errno: number, ifname: string, occupant: Occupant | undefined, extackMessage: string | undefined, options?: { cause?: unknown }) {
    super(op, errno, options);
    this.ifname = ifname;
    this.occupant = occupant;
    this.extackMessage = extackMessage;
    const what = occupant
      ? ` (prog ${occupant.progId}${occupant.mode ? `, ${occupant.mode} mode` : ''}, ${occupant.via === 'link' ? `link ${occupant.linkId ?? '?'}` : occupant.via})`
      : '';
    this.message = `${this.message}: ${extackMessage ?? 'a program is already attached'}${what}`;
  }
}

/**
 * The device or driver cannot attach in the requested way (XDP offload on veth, native XDP on a
 * driver without it). `kernelMessage` is the kernel's extended ACK text when it gave one.
 */
export class AttachNotSupportedError extends NotSupportedError {
  constructor(
    feature: string,
    /** The interface. */
    readonly ifname: string,
    /** The kernel's extended ACK text, or undefined when it said nothing beyond the errno. */
    readonly kernelMessage: string | undefined,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(feature, undefined, detail, options);
  }
}

/** The program cannot go on this hook: its type is not one the hook runs (a sched_cls program for XDP). */
export class WrongProgramTypeError extends BpfkitError {
  constructor(
    /** The program's id. */
    readonly progId: number,
    /** Its type's name (`'sched_cls'`). */
    readonly actual: string,
    /** The hook, and the types it takes. */
    readonly hook: string,
    readonly expected: readonly string[],
  ) {
    super('ERR_WRONG_PROGRAM_TYPE', `prog ${progId} is a ${actual} program; ${hook} takes ${expected.join(' or ')} programs`);
  }
}
