// Typed errors of the ethtool layer: a device that does not exist, a reply the kernel should not send.
import { BpfkitError, type BpfkitErrorOptions } from '../../errors.js';

/** The network device named (or numbered) does not exist in this network namespace. */
export class NoSuchDeviceError extends BpfkitError {
  constructor(
    readonly device: string,
    options?: BpfkitErrorOptions,
  ) {
    super('ERR_NO_SUCH_DEVICE', `no such network device '${device}'`, options);
  }
}

/** A netlink reply lacks an attribute the kernel always sends, or has one of the wrong size. */
export class EthtoolReplyError extends BpfkitError {
  constructor(
    readonly request: string,
    detail: string,
  ) {
    super('ERR_ETHTOOL_REPLY', `${request}: malformed reply: ${detail}`);
  }
}
