// A fake mlx5-like device behind GenlFakeSys: ethtool replies built to the kernel's layouts (channels, rings, RSS, coalescing, features).
import { encodeCompactBitset } from '../../../src/kernel/ethtool/bitset.js';
import { EthStringset, EthtoolChannels, EthtoolCoalesce, EthtoolFeatures, EthtoolHeader, EthtoolMsg, EthtoolMsgReply, EthtoolRings, EthtoolRss, EthtoolString, EthtoolStrings, EthtoolStringset, EthtoolStringsets, EthtoolStrset } from '../../../src/kernel/ethtool/ethtool.generated.js';
import { AttrWriter, parseAttrs } from '../../../src/kernel/netlink/attributes.js';
import type { GenlAnswer, GenlRequest } from './genl-fake.js';

export const header = (w: AttrWriter, name = 'fake0') => w.nested(1, (h) => h.u32(EthtoolHeader.DEV_INDEX, 7).string(EthtoolHeader.DEV_NAME, name));

/** A STRSET_GET reply holding one string set. */
export function strsetReply(id: number, strings: readonly string[]): GenlAnswer {
  const w = header(new AttrWriter()).nested(EthtoolStrset.STRINGSETS, (sets) =>
    sets.nested(EthtoolStringsets.STRINGSET, (set) => {
      set.u32(EthtoolStringset.ID, id).u32(EthtoolStringset.COUNT, strings.length);
      set.nested(EthtoolStringset.STRINGS, (list) => strings.forEach((s, i) => list.nested(EthtoolStrings.STRING, (one) => one.u32(EthtoolString.INDEX, i).string(EthtoolString.VALUE, s))));
    }),
  );
  return { replies: [{ cmd: EthtoolMsgReply.STRSET_GET_REPLY, attrs: w.finish() }] };
}

export const stringsetOf = (req: GenlRequest) => parseAttrs(req.attrs.nested(EthtoolStrset.STRINGSETS)!.get(EthtoolStringsets.STRINGSET)!).u32(EthtoolStringset.ID);

/** A fake mlx5-like device: 8 of 63 combined channels, rings 1024/8192, RSS over 8 queues, coalescing. */
export function nicFamily(overrides: Partial<Record<number, (req: GenlRequest) => GenlAnswer>> = {}) {
  return (req: GenlRequest): GenlAnswer => {
    const o = overrides[req.cmd];
    if (o) return o(req);
    switch (req.cmd) {
      case EthtoolMsg.STRSET_GET: {
        const id = stringsetOf(req);
        if (id === EthStringset.RSS_HASH_FUNCS) return strsetReply(id, ['toeplitz', 'xor', 'crc32']);
        if (id === EthStringset.FEATURES) return strsetReply(id, ['tx-scatter-gather', 'rx-checksum', 'rx-gro', 'rx-lro', 'rx-gro-hw']);
        return strsetReply(id!, []);
      }
      case EthtoolMsg.CHANNELS_GET:
        return reply(EthtoolMsgReply.CHANNELS_GET_REPLY, (w) =>
          w.u32(EthtoolChannels.RX_MAX, 0).u32(EthtoolChannels.TX_MAX, 0).u32(EthtoolChannels.OTHER_MAX, 1).u32(EthtoolChannels.COMBINED_MAX, 63).u32(EthtoolChannels.OTHER_COUNT, 1).u32(EthtoolChannels.COMBINED_COUNT, 8),
        );
      case EthtoolMsg.RINGS_GET:
        return reply(EthtoolMsgReply.RINGS_GET_REPLY, (w) => w.u32(EthtoolRings.RX_MAX, 8192).u32(EthtoolRings.TX_MAX, 8192).u32(EthtoolRings.RX, 1024).u32(EthtoolRings.TX, 1024).u32(EthtoolRings.CQE_SIZE, 64).u8(EthtoolRings.TX_PUSH, 0));
      case EthtoolMsg.COALESCE_GET:
        return reply(EthtoolMsgReply.COALESCE_GET_REPLY, (w) => w.u32(EthtoolCoalesce.RX_USECS, 8).u32(EthtoolCoalesce.RX_MAX_FRAMES, 128).u8(EthtoolCoalesce.USE_ADAPTIVE_RX, 1).u32(EthtoolCoalesce.TX_USECS, 16));
      case EthtoolMsg.RSS_GET: {
        const indir = new Uint8Array(128 * 4);
        const v = new DataView(indir.buffer);
        for (let i = 0; i < 128; i++) v.setUint32(i * 4, i % 8, true);
        return reply(EthtoolMsgReply.RSS_GET_REPLY, (w) => w.u32(EthtoolRss.HFUNC, 1).bytes(EthtoolRss.INDIR, indir).bytes(EthtoolRss.HKEY, Uint8Array.from({ length: 40 }, (_, i) => i)).u32(EthtoolRss.INPUT_XFRM, 0));
      }
      case EthtoolMsg.FEATURES_GET: {
        const bits = (on: boolean[]) => encodeCompactBitset(on);
        return reply(EthtoolMsgReply.FEATURES_GET_REPLY, (w) =>
          w
            .bytes(EthtoolFeatures.HW | 0x8000, bits([true, true, true, false, true]))
            .bytes(EthtoolFeatures.WANTED | 0x8000, bits([true, true, true, false, true]))
            .bytes(EthtoolFeatures.ACTIVE | 0x8000, bits([true, true, true, false, false]))
            .bytes(EthtoolFeatures.NOCHANGE | 0x8000, bits([false, false, false, false, false])),
        );
      }
      case EthtoolMsg.CHANNELS_SET:
      case EthtoolMsg.RINGS_SET:
      case EthtoolMsg.RSS_SET:
      case EthtoolMsg.COALESCE_SET:
      case EthtoolMsg.FEATURES_SET:
        return { replies: [] };
      default:
        return { errno: 95 };
    }
  };
}

export function reply(cmd: number, build: (w: AttrWriter) => void): GenlAnswer {
  const w = header(new AttrWriter());
  build(w);
  return { replies: [{ cmd, attrs: w.finish() }] };
}

