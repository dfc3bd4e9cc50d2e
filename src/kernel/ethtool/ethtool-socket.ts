// EthtoolSocket: the ethtool generic netlink family, one get/set exchange per message, errors made specific.
import { NotSupportedError } from '../../errors.js';
import { Errno } from '../errno.js';
import { KernelPermissionError } from '../kernel-error.js';
import { AttrWriter, parseAttrs, type Attrs } from '../netlink/attributes.js';
import { GenlSocket, type GenlSocketOptions } from '../netlink/genl.js';
import { NetlinkError } from '../netlink/netlink-error.js';
import type { Sys } from '../sys.js';
import { EthtoolReplyError, NoSuchDeviceError } from './errors.js';
import { EthtoolMsg, EthtoolString, EthtoolStrings, EthtoolStringset, EthtoolStringsets, EthtoolStrset } from './ethtool.generated.js';
import { writeHeader, type DeviceRef } from './header.js';

/** The hint attached to EPERM from an ethtool set request. */
export const NET_ADMIN_HINT = 'changing device settings needs CAP_NET_ADMIN in the network namespace of the device: run as root';

const ENODEV = 19;

const MSG_NAMES = new Map<number, string>(Object.entries(EthtoolMsg).map(([k, v]) => [v, `ETHTOOL_MSG_${k}`]));

/** `ETHTOOL_MSG_CHANNELS_GET` for its number. */
export function ethtoolMsgName(cmd: number): string {
  return MSG_NAMES.get(cmd) ?? `ETHTOOL_MSG ${cmd}`;
}

/**
 * Turns a refused ethtool request into the error a user can act on: ENODEV names the device,
 * EOPNOTSUPP is a NotSupportedError ("rings of veth0 not supported: ..."), EPERM says which
 * capability; anything else (EINVAL with the kernel's extack text) keeps its message, with context.
 */
export function ethtoolError(err: unknown, what: string, dev: DeviceRef): unknown {
  if (!(err instanceof NetlinkError)) return err;
  const devName = String(dev);
  if (err.errno === ENODEV) return new NoSuchDeviceError(devName, { cause: err });
  if (err.errno === Errno.EOPNOTSUPP) return new NotSupportedError(`${what} of ${devName}`, undefined, err.extackMessage ?? 'the driver does not implement it', { cause: err });
  if (err.errno === Errno.EPERM) return new KernelPermissionError(err.op, err.errno, { hint: NET_ADMIN_HINT, cause: err }).withContext(`${what} of ${devName}`);
  return err.withContext(`${what} of ${devName}`);
}

/**
 * A socket on the ethtool generic netlink family (kernel >= 5.6). `get` and `set` send one
 * message about one device; string sets are cached per socket. Close with `close()` or `using`.
 */
export class EthtoolSocket implements Disposable {
  readonly #genl: GenlSocket;
  readonly #strings = new Map<string, string[]>();
  /** The Sys the socket was opened with (for the SIOCETHTOOL fallbacks). */
  readonly sys: Sys;

  private constructor(sys: Sys, genl: GenlSocket) {
    this.sys = sys;
    this.#genl = genl;
  }

  /** Opens the socket and resolves the `ethtool` family. */
  static open(sys: Sys, options: GenlSocketOptions = {}): EthtoolSocket {
    return new EthtoolSocket(sys, GenlSocket.open(sys, 'ethtool', { minKernel: '5.6', cmdName: ethtoolMsgName, ...options }));
  }

  /** The family (id, version, multicast groups: `monitor`, the commands this kernel has). */
  get family(): GenlSocket['family'] {
    return this.#genl.family;
  }

  /** True when this kernel's ethtool family implements message `cmd` (EthtoolMsg). */
  has(cmd: number): boolean {
    return this.#genl.family.ops.has(cmd);
  }

  /**
   * Sends GET message `cmd` for `dev` (header flags `flags`, more attributes from `extra`) and
   * returns the reply's attributes. `what` names the data in errors (`'channels'`). The header
   * is attribute 1 in every message but STATS (2: `headerType`).
   */
  get(cmd: number, what: string, dev: DeviceRef, flags = 0, extra?: (w: AttrWriter) => void, headerType = 1): Attrs {
    const w = writeHeader(new AttrWriter(), dev, flags, headerType);
    extra?.(w);
    let replies;
    try {
      replies = this.#genl.request(cmd, 0, w.finish());
    } catch (err) {
      throw ethtoolError(err, what, dev);
    }
    const first = replies[0];
    if (!first) throw new EthtoolReplyError(ethtoolMsgName(cmd), 'no reply message');
    return first.attrs;
  }

  /** Sends SET message `cmd` for `dev` with the attributes `build` writes after the header. */
  set(cmd: number, what: string, dev: DeviceRef, build: (w: AttrWriter) => void): void {
    const w = writeHeader(new AttrWriter(), dev, 0);
    build(w);
    try {
      this.#genl.request(cmd, 0, w.finish());
    } catch (err) {
      throw ethtoolError(err, `set ${what}`, dev);
    }
  }

  /**
   * String set `id` (EthStringset: FEATURES, RSS_HASH_FUNCS, STATS...), device-specific when
   * `dev` is given, global otherwise. Index i of the result is string i.
   */
  strings(id: number, dev?: DeviceRef): string[] {
    const key = `${id}/${dev ?? ''}`;
    const cached = this.#strings.get(key);
    if (cached) return cached;
    const w = new AttrWriter();
    if (dev !== undefined) writeHeader(w, dev, 0, EthtoolStrset.HEADER);
    else w.nested(EthtoolStrset.HEADER, () => undefined);
    w.nested(EthtoolStrset.STRINGSETS, (s) => s.nested(EthtoolStringsets.STRINGSET, (one) => one.u32(EthtoolStringset.ID, id)));
    let replies;
    try {
      replies = this.#genl.request(EthtoolMsg.STRSET_GET, 0, w.finish());
    } catch (err) {
      throw ethtoolError(err, `string set ${id}`, dev ?? '(global)');
    }
    const out = decodeStringSet(replies[0]?.attrs, id);
    this.#strings.set(key, out);
    return out;
  }

  /** Closes the socket; a second call does nothing. */
  close(): void {
    this.#genl.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Decodes string set `id` from a STRSET_GET reply (missing set: empty list). */
export function decodeStringSet(attrs: Attrs | undefined, id: number): string[] {
  const sets = attrs?.nested(EthtoolStrset.STRINGSETS);
  if (!sets) return [];
  for (const [type, payload] of sets) {
    if (type !== EthtoolStringsets.STRINGSET) continue;
    const set = parseAttrs(payload);
    if (set.u32(EthtoolStringset.ID) !== id) continue;
    const count = set.u32(EthtoolStringset.COUNT) ?? 0;
    const out = new Array<string>(count).fill('');
    const strings = set.nested(EthtoolStringset.STRINGS);
    if (strings) {
      for (const [t, p] of strings) {
        if (t !== EthtoolStrings.STRING) continue;
        const s = parseAttrs(p);
        const index = s.u32(EthtoolString.INDEX);
        if (index === undefined || index >= 65536) throw new EthtoolReplyError('ETHTOOL_MSG_STRSET_GET', `string without a valid index`);
        out[index] = s.string(EthtoolString.VALUE) ?? '';
      }
    }
    return out;
  }
  return [];
}
