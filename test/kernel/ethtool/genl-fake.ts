// GenlFakeSys: a FakeSys that answers generic netlink requests (nlctrl + families) with replies built to the kernel's layouts.
import { FakeSys } from '../fake-sys.js';
import { kernelError } from '../../../src/kernel/kernel-error.js';
import type { PointerField } from '../../../src/kernel/sys.js';
import { AttrWriter, parseAttrs, type Attrs } from '../../../src/kernel/netlink/attributes.js';
import { buildMessage, NLM_F, NLMSG, parseMessages } from '../../../src/kernel/netlink/message.js';
import { CtrlAttr, CtrlAttrMcastGrp, CtrlAttrOp, CtrlCmd } from '../../../src/kernel/ethtool/ethtool.generated.js';

/** One request a family handler sees. */
export interface GenlRequest {
  readonly family: string;
  readonly cmd: number;
  readonly flags: number;
  readonly attrs: Attrs;
  /** The raw attribute bytes after genlmsghdr. */
  readonly raw: Uint8Array;
}

/** What a handler answers: reply messages (cmd + attribute bytes), or an error with an extack text. */
export type GenlAnswer = { replies: { cmd: number; attrs: Uint8Array }[] } | { errno: number; extack?: string };

/** A family handler. */
export type GenlHandler = (req: GenlRequest) => GenlAnswer;

const FAMILY_IDS: Record<string, number> = { ethtool: 21, netdev: 27 };

/** Builds a NLMSG_ERROR with `errno` (0 = ACK), optionally with an extack message. */
function ack(seq: number, errno: number, request: Uint8Array, extack?: string): Uint8Array {
  const tlv = extack ? new AttrWriter().string(1, extack).finish() : new Uint8Array(0);
  const p = new Uint8Array(4 + 16 + tlv.length);
  const v = new DataView(p.buffer);
  v.setInt32(0, -errno, true);
  p.set(request.subarray(0, 16), 4);
  p.set(tlv, 20);
  return buildMessage(NLMSG.ERROR, NLM_F.CAPPED | (tlv.length ? NLM_F.ACK_TLVS : 0), seq, p);
}

/**
 * A Sys whose netlink sockets talk to in-memory families. `families` maps a family name to its
 * handler; nlctrl is built in (unknown family: ENOENT). Every request is recorded in `requests`.
 */
export class GenlFakeSys extends FakeSys {
  readonly requests: GenlRequest[] = [];
  readonly #pending = new Map<number, Uint8Array[]>();
  #fd = 300;
  readonly open = new Set<number>();

  /** `missingOps`: commands nlctrl should leave out of a family's CTRL_ATTR_OPS (an older kernel). */
  constructor(
    readonly families: Record<string, GenlHandler>,
    readonly missingOps: Record<string, readonly number[]> = {},
  ) {
    super();
  }

  /** Answers SIOCETHTOOL ioctls (AF_INET sockets): gets the ifreq and the buffer ifr_data points at. */
  onIoctl?: (request: number, ifreq: Uint8Array, data: Uint8Array) => number;

  override ioctl(_fd?: number, request?: number, arg?: Uint8Array, pointers?: readonly PointerField[]): number {
    const data = pointers?.find((p) => p.offset === 16)?.target;
    if (!this.onIoctl || request === undefined || !arg || !data) throw new Error('GenlFakeSys: ioctl not scripted');
    return this.onIoctl(request, arg, data);
  }

  override socket(domain?: number, _type?: number, protocol?: number): number {
    if (domain === 2) {
      const fd = this.#fd++;
      this.open.add(fd);
      return fd;
    }
    if (domain !== 16 || protocol !== 16) throw new Error(`GenlFakeSys: socket(${domain}, ${protocol}) not scripted`);
    const fd = this.#fd++;
    this.#pending.set(fd, []);
    this.open.add(fd);
    return fd;
  }
  override close(fd: number): void {
    this.open.delete(fd);
    super.close(fd);
  }
  override setsockopt(): void {}
  override bind(): void {}
  override getsockname(_fd?: number, addr?: Uint8Array): number {
    if (addr) new DataView(addr.buffer, addr.byteOffset).setUint32(4, 777, true);
    return 12;
  }

  override send(fd?: number, data?: Uint8Array): number {
    if (fd === undefined || data === undefined) throw new Error('GenlFakeSys: send without data');
    const [msg] = parseMessages(data);
    if (!msg) throw new Error('GenlFakeSys: empty send');
    const queue = this.#pending.get(fd)!;
    const cmd = msg.payload[0]!;
    const raw = msg.payload.subarray(4);
    const attrs = parseAttrs(raw);
    if (msg.type === 0x10) {
      const name = attrs.string(CtrlAttr.FAMILY_NAME) ?? '';
      const id = FAMILY_IDS[name];
      if (cmd !== CtrlCmd.GETFAMILY || id === undefined || !this.families[name]) {
        queue.push(ack(msg.seq, 2, data));
        return data.length;
      }
      const reply = new AttrWriter()
        .u16(CtrlAttr.FAMILY_ID, id)
        .string(CtrlAttr.FAMILY_NAME, name)
        .u32(CtrlAttr.VERSION, 1)
        .u32(CtrlAttr.MAXATTR, 40)
        .nested(CtrlAttr.OPS, (ops) => {
          for (let op = 1; op <= 64; op++) if (!this.missingOps[name]?.includes(op)) ops.nested(op, (o) => o.u32(CtrlAttrOp.ID, op).u32(CtrlAttrOp.FLAGS, 0));
        })
        .nested(CtrlAttr.MCAST_GROUPS, (g) => g.nested(1, (one) => one.string(CtrlAttrMcastGrp.NAME, 'monitor').u32(CtrlAttrMcastGrp.ID, 6)))
        .finish();
      queue.push(buildMessage(0x10, 0, msg.seq, genl(CtrlCmd.NEWFAMILY, reply)), ack(msg.seq, 0, data));
      return data.length;
    }
    const family = Object.entries(FAMILY_IDS).find(([, id]) => id === msg.type)?.[0];
    if (!family) throw new Error(`GenlFakeSys: message type ${msg.type}`);
    const req: GenlRequest = { family, cmd, flags: msg.flags, attrs, raw: raw.slice() };
    this.requests.push(req);
    const answer = this.families[family]!(req);
    if ('errno' in answer) {
      queue.push(ack(msg.seq, answer.errno, data, answer.extack));
      return data.length;
    }
    for (const r of answer.replies) queue.push(buildMessage(msg.type, 0, msg.seq, genl(r.cmd, r.attrs)));
    queue.push(ack(msg.seq, 0, data));
    return data.length;
  }

  override recv(fd?: number, buf?: Uint8Array, flags = 0): number {
    if (fd === undefined || buf === undefined) throw new Error('GenlFakeSys: recv without buffer');
    const queue = this.#pending.get(fd)!;
    const next = queue[0];
    if (!next) throw kernelError('recv', 11);
    if (flags & 0x2) return next.length;
    queue.shift();
    buf.set(next.subarray(0, buf.length));
    return next.length;
  }
}

/** genlmsghdr + attributes. */
export function genl(cmd: number, attrs: Uint8Array): Uint8Array {
  const p = new Uint8Array(4 + attrs.length);
  p[0] = cmd;
  p[1] = 1;
  p.set(attrs, 4);
  return p;
}
