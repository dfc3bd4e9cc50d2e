// Interrupt coalescing: ETHTOOL_MSG_COALESCE_GET/SET, parameters named as `ethtool -c/-C` names them.
import type { AttrWriter, Attrs } from '../netlink/attributes.js';
import { InvalidArgumentError } from '../bpf/input-errors.js';
import { EthtoolCoalesce, EthtoolMsg } from './ethtool.generated.js';
import type { EthtoolSocket } from './ethtool-socket.js';
import type { DeviceRef } from './header.js';

/** ethtool's parameter name -> attribute and type (u32 count, or u8 boolean). */
export const COALESCE_PARAMS: Readonly<Record<string, { readonly attr: number; readonly kind: 'u32' | 'bool' }>> = {
  'adaptive-rx': { attr: EthtoolCoalesce.USE_ADAPTIVE_RX, kind: 'bool' },
  'adaptive-tx': { attr: EthtoolCoalesce.USE_ADAPTIVE_TX, kind: 'bool' },
  'sample-interval': { attr: EthtoolCoalesce.RATE_SAMPLE_INTERVAL, kind: 'u32' },
  'stats-block-usecs': { attr: EthtoolCoalesce.STATS_BLOCK_USECS, kind: 'u32' },
  'pkt-rate-low': { attr: EthtoolCoalesce.PKT_RATE_LOW, kind: 'u32' },
  'pkt-rate-high': { attr: EthtoolCoalesce.PKT_RATE_HIGH, kind: 'u32' },
  'rx-usecs': { attr: EthtoolCoalesce.RX_USECS, kind: 'u32' },
  'rx-frames': { attr: EthtoolCoalesce.RX_MAX_FRAMES, kind: 'u32' },
  'rx-usecs-irq': { attr: EthtoolCoalesce.RX_USECS_IRQ, kind: 'u32' },
  'rx-frames-irq': { attr: EthtoolCoalesce.RX_MAX_FRAMES_IRQ, kind: 'u32' },
  'tx-usecs': { attr: EthtoolCoalesce.TX_USECS, kind: 'u32' },
  'tx-frames': { attr: EthtoolCoalesce.TX_MAX_FRAMES, kind: 'u32' },
  'tx-usecs-irq': { attr: EthtoolCoalesce.TX_USECS_IRQ, kind: 'u32' },
  'tx-frames-irq': { attr: EthtoolCoalesce.TX_MAX_FRAMES_IRQ, kind: 'u32' },
  'rx-usecs-low': { attr: EthtoolCoalesce.RX_USECS_LOW, kind: 'u32' },
  'rx-frames-low': { attr: EthtoolCoalesce.RX_MAX_FRAMES_LOW, kind: 'u32' },
  'tx-usecs-low': { attr: EthtoolCoalesce.TX_USECS_LOW, kind: 'u32' },
  'tx-frames-low': { attr: EthtoolCoalesce.TX_MAX_FRAMES_LOW, kind: 'u32' },
  'rx-usecs-high': { attr: EthtoolCoalesce.RX_USECS_HIGH, kind: 'u32' },
  'rx-frames-high': { attr: EthtoolCoalesce.RX_MAX_FRAMES_HIGH, kind: 'u32' },
  'tx-usecs-high': { attr: EthtoolCoalesce.TX_USECS_HIGH, kind: 'u32' },
  'tx-frames-high': { attr: EthtoolCoalesce.TX_MAX_FRAMES_HIGH, kind: 'u32' },
  'cqe-mode-rx': { attr: EthtoolCoalesce.USE_CQE_MODE_RX, kind: 'bool' },
  'cqe-mode-tx': { attr: EthtoolCoalesce.USE_CQE_MODE_TX, kind: 'bool' },
  'tx-aggr-max-bytes': { attr: EthtoolCoalesce.TX_AGGR_MAX_BYTES, kind: 'u32' },
  'tx-aggr-max-frames': { attr: EthtoolCoalesce.TX_AGGR_MAX_FRAMES, kind: 'u32' },
  'tx-aggr-time-usecs': { attr: EthtoolCoalesce.TX_AGGR_TIME_USECS, kind: 'u32' },
};

/** Coalescing parameters the driver reported, by ethtool name. */
export type Coalesce = Readonly<Record<string, number | boolean>>;

/** Decodes a COALESCE_GET reply: only the parameters present (the driver's supported set). */
export function decodeCoalesce(a: Attrs): Coalesce {
  const out: Record<string, number | boolean> = {};
  for (const [name, p] of Object.entries(COALESCE_PARAMS)) {
    if (!a.has(p.attr)) continue;
    out[name] = p.kind === 'bool' ? a.u8(p.attr) !== 0 : (a.u32(p.attr) ?? 0);
  }
  return out;
}

/** Writes the COALESCE_SET attributes; an unknown name is an InvalidArgumentError listing the known ones. */
export function encodeCoalesceChange(w: AttrWriter, change: Coalesce): AttrWriter {
  for (const [name, v] of Object.entries(change)) {
    const p = COALESCE_PARAMS[name];
    if (!p) throw new InvalidArgumentError('coalesce parameter', `unknown '${name}' (known: ${Object.keys(COALESCE_PARAMS).join(', ')})`);
    if (p.kind === 'bool') w.u8(p.attr, v === true || v === 1 ? 1 : 0);
    else {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new InvalidArgumentError(name, `${String(v)} is not a u32`);
      w.u32(p.attr, v);
    }
  }
  return w;
}

/** Reads interrupt coalescing of `dev` (`ethtool -c`). */
export function getCoalesce(sock: EthtoolSocket, dev: DeviceRef): Coalesce {
  return decodeCoalesce(sock.get(EthtoolMsg.COALESCE_GET, 'coalescing', dev));
}

/** Sets interrupt coalescing of `dev` (`ethtool -C`). */
export function setCoalesce(sock: EthtoolSocket, dev: DeviceRef, change: Coalesce): void {
  sock.set(EthtoolMsg.COALESCE_SET, 'coalescing', dev, (w) => encodeCoalesceChange(w, change));
}
