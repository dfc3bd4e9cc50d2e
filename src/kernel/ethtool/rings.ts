// Ring sizes of a device: ETHTOOL_MSG_RINGS_GET/SET, what `ethtool -g/-G` shows and sets.
import type { AttrWriter, Attrs } from '../netlink/attributes.js';
import { InvalidArgumentError } from '../bpf/input-errors.js';
import { EthtoolMsg, EthtoolRings } from './ethtool.generated.js';
import type { EthtoolSocket } from './ethtool-socket.js';
import type { DeviceRef } from './header.js';

/** Ring parameters. Maximums of 0 mean the device has no ring of that kind; optional ones only when the driver reports them. */
export interface Rings {
  readonly rxMax: number;
  readonly rxMiniMax: number;
  readonly rxJumboMax: number;
  readonly txMax: number;
  readonly rx: number;
  readonly rxMini: number;
  readonly rxJumbo: number;
  readonly tx: number;
  readonly rxBufLen?: number;
  readonly cqeSize?: number;
  readonly txPush?: boolean;
  readonly rxPush?: boolean;
}

/** Ring sizes to set, in ethtool's words (`rx`, `rx-mini`, `rx-jumbo`, `tx`, `rx-buf-len`, `cqe-size`). */
export interface RingsChange {
  rx?: number;
  rxMini?: number;
  rxJumbo?: number;
  tx?: number;
  rxBufLen?: number;
  cqeSize?: number;
}

const CHANGE_IDS: Readonly<Record<keyof RingsChange, number>> = {
  rx: EthtoolRings.RX,
  rxMini: EthtoolRings.RX_MINI,
  rxJumbo: EthtoolRings.RX_JUMBO,
  tx: EthtoolRings.TX,
  rxBufLen: EthtoolRings.RX_BUF_LEN,
  cqeSize: EthtoolRings.CQE_SIZE,
};

/** Decodes a RINGS_GET reply. */
export function decodeRings(a: Attrs): Rings {
  const n = (t: number) => a.u32(t) ?? 0;
  const opt = <T>(k: string, v: T | undefined) => (v === undefined ? {} : { [k]: v });
  const flag = (t: number) => {
    const v = a.u8(t);
    return v === undefined ? undefined : v !== 0;
  };
  return {
    rxMax: n(EthtoolRings.RX_MAX),
    rxMiniMax: n(EthtoolRings.RX_MINI_MAX),
    rxJumboMax: n(EthtoolRings.RX_JUMBO_MAX),
    txMax: n(EthtoolRings.TX_MAX),
    rx: n(EthtoolRings.RX),
    rxMini: n(EthtoolRings.RX_MINI),
    rxJumbo: n(EthtoolRings.RX_JUMBO),
    tx: n(EthtoolRings.TX),
    ...opt('rxBufLen', a.u32(EthtoolRings.RX_BUF_LEN)),
    ...opt('cqeSize', a.u32(EthtoolRings.CQE_SIZE)),
    ...opt('txPush', flag(EthtoolRings.TX_PUSH)),
    ...opt('rxPush', flag(EthtoolRings.RX_PUSH)),
  };
}

/** Writes the RINGS_SET attributes for `change`. */
export function encodeRingsChange(w: AttrWriter, change: RingsChange): AttrWriter {
  for (const [k, id] of Object.entries(CHANGE_IDS) as [keyof RingsChange, number][]) {
    const v = change[k];
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new InvalidArgumentError(`${k} ring size`, `${v} is not a size`);
    w.u32(id, v);
  }
  return w;
}

/** Reads the rings of `dev` (`ethtool -g`); a driver without them gives NotSupportedError. */
export function getRings(sock: EthtoolSocket, dev: DeviceRef): Rings {
  return decodeRings(sock.get(EthtoolMsg.RINGS_GET, 'rings', dev));
}

/** Sets ring sizes of `dev` (`ethtool -G`). */
export function setRings(sock: EthtoolSocket, dev: DeviceRef, change: RingsChange): void {
  sock.set(EthtoolMsg.RINGS_SET, 'rings', dev, (w) => encodeRingsChange(w, change));
}
