// Link state, speed, duplex and autonegotiation: ETHTOOL_MSG_LINKSTATE_GET and LINKMODES_GET.
import type { Attrs } from '../netlink/attributes.js';
import { EthtoolLinkmodes, EthtoolLinkstate, EthtoolMsg } from './ethtool.generated.js';
import { isErrno } from '../kernel-error.js';
import { NotSupportedError } from '../../errors.js';
import type { EthtoolSocket } from './ethtool-socket.js';
import type { DeviceRef } from './header.js';

/** What `ethtool DEV` says about the link. Unknown values are undefined. */
export interface LinkSettings {
  /** Link detected. */
  readonly link: boolean | undefined;
  /** Mb/s; undefined when unknown (the kernel's SPEED_UNKNOWN). */
  readonly speed: number | undefined;
  readonly duplex: 'half' | 'full' | undefined;
  readonly autoneg: boolean | undefined;
  readonly lanes: number | undefined;
}

/** Decodes LINKMODES_GET and LINKSTATE_GET replies into one LinkSettings. */
export function decodeLinkSettings(modes: Attrs | undefined, state: Attrs | undefined): LinkSettings {
  const speed = modes?.u32(EthtoolLinkmodes.SPEED);
  const duplex = modes?.u8(EthtoolLinkmodes.DUPLEX);
  const autoneg = modes?.u8(EthtoolLinkmodes.AUTONEG);
  const link = state?.u8(EthtoolLinkstate.LINK);
  const lanes = modes?.u32(EthtoolLinkmodes.LANES);
  return {
    link: link === undefined ? undefined : link !== 0,
    speed: speed === undefined || speed === 0xffffffff || speed === 0 ? undefined : speed,
    duplex: duplex === 0 ? 'half' : duplex === 1 ? 'full' : undefined,
    autoneg: autoneg === undefined ? undefined : autoneg !== 0,
    lanes: lanes === undefined || lanes === 0 ? undefined : lanes,
  };
}

/** Reads link state and modes of `dev`; a driver without link modes (veth has them, tun not) leaves those undefined. */
export function getLinkSettings(sock: EthtoolSocket, dev: DeviceRef): LinkSettings {
  const tryGet = (cmd: number, what: string) => {
    try {
      return sock.get(cmd, what, dev);
    } catch (e) {
      if (e instanceof NotSupportedError || isErrno(e, 'EOPNOTSUPP')) return undefined;
      throw e;
    }
  };
  return decodeLinkSettings(tryGet(EthtoolMsg.LINKMODES_GET, 'link modes'), tryGet(EthtoolMsg.LINKSTATE_GET, 'link state'));
}
