// Multi-program XDP failures as typed errors: too many programs, mixed modes, a foreign program in the way, an unknown dispatcher.
import { BpfkitError } from '../../errors.js';

/** More programs than a dispatcher has slots. Nothing was attached. */
export class TooManyXdpProgramsError extends BpfkitError {
  constructor(
    /** The interface. */
    readonly ifname: string,
    /** Slots of a dispatcher. */
    readonly slots: number,
    /** Programs already there. */
    readonly loaded: number,
    /** Programs asked to be added. */
    readonly adding: number,
  ) {
    super('ERR_XDP_TOO_MANY_PROGRAMS', `${ifname}: ${loaded} program(s) loaded + ${adding} to add > ${slots} dispatcher slots; unload some first (bpfkit xdp unload ${ifname} --id N)`);
  }
}

/** The dispatcher on the interface runs in another mode than the one asked for. */
export class XdpModeMismatchError extends BpfkitError {
  constructor(
    /** The interface. */
    readonly ifname: string,
    /** Mode of the dispatcher attached now. */
    readonly attached: string,
    /** Mode asked for. */
    readonly requested: string,
  ) {
    super('ERR_XDP_MODE_MISMATCH', `${ifname}: the dispatcher there runs in ${attached} mode, cannot add programs in ${requested} mode (leave out --mode, or unload everything first: bpfkit xdp unload ${ifname} --all)`);
  }
}

/** A plain (non-dispatcher) XDP program occupies the interface. */
export class PlainXdpProgramError extends BpfkitError {
  constructor(
    /** The interface. */
    readonly ifname: string,
    /** Id of the program attached. */
    readonly progId: number,
    /** Its name. */
    readonly progName: string,
    /** Its mode. */
    readonly mode: string,
  ) {
    super(
      'ERR_XDP_NOT_A_DISPATCHER',
      `${ifname}: a plain XDP program is attached (prog ${progId} "${progName}", ${mode} mode), not a multi-program dispatcher; ` +
        `detach it (bpfkit detach xdp --dev ${ifname}, or ip link set dev ${ifname} xdp off) and load it again together with the others (bpfkit xdp load ${ifname} ITS.o OTHER.o ...)`,
    );
  }
}

/** A libxdp dispatcher whose protocol version bpfkit does not implement (or cannot be operated on here). */
export class XdpDispatcherVersionError extends BpfkitError {
  constructor(
    /** The interface. */
    readonly ifname: string,
    /** The dispatcher's program id. */
    readonly progId: number,
    /** The version it carries (undefined: none found). */
    readonly version: number | undefined,
    /** The versions bpfkit knows. */
    readonly supported: readonly number[],
  ) {
    super(
      'ERR_XDP_DISPATCHER_VERSION',
      `${ifname}: libxdp dispatcher prog ${progId} has protocol version ${version ?? 'unknown'}; bpfkit implements version ${supported.join(', ')} and leaves it alone (unload it with the tool that loaded it: xdp-loader unload ${ifname} --all)`,
    );
  }
}

/** A program that cannot be a freplace target of libxdp's dispatcher: it has no BTF. */
export class XdpProgramNoBtfError extends BpfkitError {
  constructor(
    /** The program. */
    readonly program: string,
  ) {
    super('ERR_XDP_NO_BTF', `program "${program}" has no BTF, so it cannot replace a libxdp dispatcher slot (freplace needs the function's BTF); compile it with clang -g`);
  }
}

/** `unload --id N` names no program of the interface's dispatcher. */
export class XdpProgramNotFoundError extends BpfkitError {
  constructor(
    /** The interface. */
    readonly ifname: string,
    /** The id asked for. */
    readonly id: number,
    /** Ids that are there. */
    readonly loaded: readonly number[],
  ) {
    super('ERR_XDP_NO_SUCH_PROGRAM', `${ifname}: no program with id ${id} in the dispatcher (loaded: ${loaded.length ? loaded.join(', ') : 'none'})`);
  }
}

/** The dispatcher's bpffs state is not what bpfkit wrote (a foreign file, a broken config). */
export class XdpStateError extends BpfkitError {
  constructor(
    /** The state directory. */
    readonly dir: string,
    detail: string,
  ) {
    super('ERR_XDP_STATE', `${dir}: ${detail}`);
  }
}

/** The bpffs that holds the state is not mounted where it is looked for. */
export class XdpBpffsError extends BpfkitError {
  constructor(
    /** The directory that should be in a bpffs. */
    readonly path: string,
  ) {
    super(
      'ERR_NOT_BPFFS',
      `${path} is not in a mounted bpffs. Mount one (mount -t bpf bpf /sys/fs/bpf); under \`ip netns exec\`, which remounts /sys without it, ` +
        'run through `nsenter --net=/run/netns/NAME` instead, or mount a bpffs outside /sys once (mkdir -p /run/bpfkit/bpffs && mount -t bpf bpf /run/bpfkit/bpffs) and set BPFKIT_BPFFS=/run/bpfkit/bpffs for every bpfkit command',
    );
  }
}
