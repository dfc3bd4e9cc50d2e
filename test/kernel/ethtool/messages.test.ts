// ethtool message layouts through a fake generic netlink: what veth cannot show here (rings, RSS, coalescing), errors, bit sets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NotSupportedError } from '../../../src/errors.js';
import { decodeBitset, encodeCompactBitset } from '../../../src/kernel/ethtool/bitset.js';
import { getChannels, setChannels } from '../../../src/kernel/ethtool/channels.js';
import { getCoalesce, setCoalesce } from '../../../src/kernel/ethtool/coalesce.js';
import { decodeDrvinfo, DRVINFO_SIZE, SIOCETHTOOL } from '../../../src/kernel/ethtool/drvinfo.js';
import { ETH_RXFH_INDIR_NO_CHANGE, ETHTOOL_GRSSH, ETHTOOL_SRSSH, RXFH_HDR } from '../../../src/kernel/ethtool/rss-ioctl.js';
import { NoSuchDeviceError } from '../../../src/kernel/ethtool/errors.js';
import { EthStringset, EthtoolBitset, EthtoolBitsetBit, EthtoolBitsetBits, EthtoolChannels, EthtoolCoalesce, EthtoolFeatures, EthtoolHeader, EthtoolMsg, EthtoolMsgReply, EthtoolRings, EthtoolRss, EthtoolStats, EthtoolStatsGrp, NetdevDev } from '../../../src/kernel/ethtool/ethtool.generated.js';
import { EthtoolSocket } from '../../../src/kernel/ethtool/ethtool-socket.js';
import { getFeatures, setFeatures } from '../../../src/kernel/ethtool/features.js';
import { getRings, setRings } from '../../../src/kernel/ethtool/rings.js';
import { equalTable, getRss, setRss, weightTable } from '../../../src/kernel/ethtool/rss.js';
import { decodeXdpFeatures, supportsNativeXdp } from '../../../src/kernel/ethtool/xdp-features.js';
import { KernelPermissionError } from '../../../src/kernel/kernel-error.js';
import { AttrWriter, parseAttrs } from '../../../src/kernel/netlink/attributes.js';
import { GenlSocket } from '../../../src/kernel/netlink/genl.js';
import { NetlinkError } from '../../../src/kernel/netlink/netlink-error.js';
import { GenlFakeSys } from './genl-fake.js';
import { nicFamily, stringsetOf, strsetReply } from './fake-nic.js';
import { getStdStats } from '../../../src/kernel/ethtool/std-stats.js';

test('nlctrl resolves a family: id, version and multicast groups; an unknown family is NotSupportedError', () => {
  const sys = new GenlFakeSys({ ethtool: nicFamily() });
  using sock = GenlSocket.open(sys, 'ethtool');
  assert.equal(sock.family.id, 21);
  assert.equal(sock.family.mcastGroups.get('monitor'), 6);
  assert.throws(() => GenlSocket.open(sys, 'nosuchfamily', { minKernel: '9.9' }), (e: unknown) => e instanceof NotSupportedError && /'nosuchfamily' not supported \(requires >= 9\.9\)/.test(e.message));
  assert.equal(sys.open.size, 1, 'the failed open closed its socket');
});

test('channels: decoded as the kernel lays them out, and a set sends only the counts asked for', () => {
  const sys = new GenlFakeSys({ ethtool: nicFamily() });
  using sock = EthtoolSocket.open(sys);
  assert.deepEqual(getChannels(sock, 'fake0'), { rxMax: 0, txMax: 0, otherMax: 1, combinedMax: 63, rx: 0, tx: 0, other: 1, combined: 8 });
  setChannels(sock, 'fake0', { combined: 16 });
  const req = sys.requests.at(-1)!;
  assert.equal(req.cmd, EthtoolMsg.CHANNELS_SET);
  assert.equal(req.attrs.nested(1)?.string(EthtoolHeader.DEV_NAME), 'fake0');
  assert.equal(req.attrs.u32(EthtoolChannels.COMBINED_COUNT), 16);
  assert.equal(req.attrs.has(EthtoolChannels.RX_COUNT), false);
});

test('channels over the maximum: the kernel extack text reaches the error', () => {
  const sys = new GenlFakeSys({ ethtool: nicFamily({ [EthtoolMsg.CHANNELS_SET]: () => ({ errno: 22, extack: 'requested channel count exceeds maximum' }) }) });
  using sock = EthtoolSocket.open(sys);
  assert.throws(
    () => setChannels(sock, 'fake0', { combined: 64 }),
    (e: unknown) => e instanceof NetlinkError && e.errnoName === 'EINVAL' && /^set channels of fake0: netlink\(ETHTOOL_MSG_CHANNELS_SET\): EINVAL.*requested channel count exceeds maximum/.test(e.message),
  );
});

test('rings: maximums, current sizes and optional fields; set encodes rx and tx only', () => {
  const sys = new GenlFakeSys({ ethtool: nicFamily() });
  using sock = EthtoolSocket.open(sys);
  const r = getRings(sock, 'fake0');
  assert.deepEqual(r, { rxMax: 8192, rxMiniMax: 0, rxJumboMax: 0, txMax: 8192, rx: 1024, rxMini: 0, rxJumbo: 0, tx: 1024, cqeSize: 64, txPush: false });
  setRings(sock, 'fake0', { rx: 4096, tx: 2048 });
  const req = sys.requests.at(-1)!;
  assert.equal(req.attrs.u32(EthtoolRings.RX), 4096);
  assert.equal(req.attrs.u32(EthtoolRings.TX), 2048);
  assert.equal(req.attrs.has(EthtoolRings.RX_MINI), false);
});

test('coalescing: only the parameters the driver reports; booleans as u8', () => {
  const sys = new GenlFakeSys({ ethtool: nicFamily() });
  using sock = EthtoolSocket.open(sys);
  assert.deepEqual(getCoalesce(sock, 'fake0'), { 'adaptive-rx': true, 'rx-usecs': 8, 'rx-frames': 128, 'tx-usecs': 16 });
  setCoalesce(sock, 'fake0', { 'rx-usecs': 50, 'adaptive-rx': false });
  const req = sys.requests.at(-1)!;
  assert.equal(req.attrs.u32(EthtoolCoalesce.RX_USECS), 50);
  assert.equal(req.attrs.u8(EthtoolCoalesce.USE_ADAPTIVE_RX), 0);
  assert.throws(() => setCoalesce(sock, 'fake0', { 'rx-usec': 1 }), /unknown 'rx-usec'/);
});

test('RSS: table, key and hash function named from the string set; set sends the table as u32s', () => {
  const sys = new GenlFakeSys({ ethtool: nicFamily() });
  using sock = EthtoolSocket.open(sys);
  const rss = getRss(sock, 'fake0');
  assert.equal(rss.indir.length, 128);
  assert.deepEqual(rss.indir.slice(0, 9), [0, 1, 2, 3, 4, 5, 6, 7, 0]);
  assert.deepEqual(rss.hfuncNames, ['toeplitz']);
  assert.equal(rss.hkey.length, 40);
  setRss(sock, 'fake0', { indir: equalTable(128, 4), hfunc: 2 });
  const req = sys.requests.at(-1)!;
  assert.equal(req.cmd, EthtoolMsg.RSS_SET);
  const indir = req.attrs.get(EthtoolRss.INDIR)!;
  assert.equal(indir.length, 512);
  assert.equal(new DataView(indir.buffer, indir.byteOffset).getUint32(5 * 4, true), 1);
  assert.equal(req.attrs.u32(EthtoolRss.HFUNC), 2);
});

test('weight tables follow ethtool: weight 1 1 == equal 2, weight 3 1 puts 3/4 on queue 0', () => {
  assert.deepEqual(weightTable(8, [1, 1]), [0, 0, 0, 0, 1, 1, 1, 1]);
  assert.deepEqual(weightTable(8, [3, 1]), [0, 0, 0, 0, 0, 0, 1, 1]);
  assert.deepEqual(weightTable(4, [0, 1, 1]), [1, 1, 2, 2]);
  assert.deepEqual(equalTable(6, 4), [0, 1, 2, 3, 0, 1]);
  assert.throws(() => weightTable(4, [0, 0]));
});

test('features: compact bit sets named from ETH_SS_FEATURES; set sends a verbose named bit set', () => {
  const sys = new GenlFakeSys({ ethtool: nicFamily() });
  using sock = EthtoolSocket.open(sys);
  const fs = getFeatures(sock, 'fake0');
  assert.deepEqual(
    fs.map((f) => [f.name, f.active, f.wanted, f.changeable]),
    [
      ['tx-scatter-gather', true, true, true],
      ['rx-checksum', true, true, true],
      ['rx-gro', true, true, true],
      ['rx-lro', false, false, false],
      ['rx-gro-hw', false, true, true],
    ],
  );
  const get = sys.requests.find((r) => r.cmd === EthtoolMsg.FEATURES_GET)!;
  assert.equal(get.attrs.nested(1)?.u32(EthtoolHeader.FLAGS), 1, 'asked for compact bit sets');
  setFeatures(sock, 'fake0', new Map([['rx-gro', false], ['rx-checksum', true]]));
  const set = sys.requests.at(-1)!;
  const bits = [...set.attrs.nested(EthtoolFeatures.WANTED)!.nested(EthtoolBitset.BITS)!].map(([, p]) => parseAttrs(p));
  assert.deepEqual(bits.map((b) => [b.string(EthtoolBitsetBit.NAME), b.has(EthtoolBitsetBit.VALUE)]), [['rx-gro', false], ['rx-checksum', true]]);
});

test('verbose bit sets: list (NOMASK) and value/mask forms', () => {
  const verbose = new AttrWriter()
    .u32(EthtoolBitset.SIZE, 4)
    .nested(EthtoolBitset.BITS, (b) => {
      b.nested(EthtoolBitsetBits.BIT, (x) => x.u32(EthtoolBitsetBit.INDEX, 1).string(EthtoolBitsetBit.NAME, 'one').flag(EthtoolBitsetBit.VALUE));
      b.nested(EthtoolBitsetBits.BIT, (x) => x.u32(EthtoolBitsetBit.INDEX, 3).string(EthtoolBitsetBit.NAME, 'three'));
    })
    .finish();
  const bs = decodeBitset(parseAttrs(verbose), 'test');
  assert.deepEqual(bs.values, [false, true, false, false]);
  assert.deepEqual(bs.mask, [false, true, false, true]);
  assert.equal(bs.names.get(3), 'three');
  const compact = decodeBitset(parseAttrs(encodeCompactBitset([true, false, true], [true, true, false])), 'test');
  assert.deepEqual(compact.values, [true, false, true]);
  assert.deepEqual(compact.mask, [true, true, false]);
  assert.throws(() => decodeBitset(parseAttrs(new AttrWriter().bytes(EthtoolBitset.VALUE, new Uint8Array(4)).finish()), 'x'), /without ETHTOOL_A_BITSET_SIZE/);
});

test('errors: EOPNOTSUPP is NotSupportedError with the driver words, ENODEV names the device, EPERM says CAP_NET_ADMIN', () => {
  const sys = new GenlFakeSys({
    ethtool: nicFamily({
      [EthtoolMsg.RINGS_GET]: () => ({ errno: 95 }),
      [EthtoolMsg.RSS_GET]: () => ({ errno: 95, extack: 'no RSS here' }),
      [EthtoolMsg.CHANNELS_GET]: () => ({ errno: 19, extack: 'no device matches name' }),
      [EthtoolMsg.COALESCE_SET]: () => ({ errno: 1 }),
    }),
  });
  using sock = EthtoolSocket.open(sys);
  assert.throws(() => getRings(sock, 'veth0'), (e: unknown) => e instanceof NotSupportedError && e.message === 'rings of veth0 not supported: the driver does not implement it');
  assert.throws(() => getRss(sock, 'veth0'), (e: unknown) => e instanceof NotSupportedError && /RSS of veth0 not supported: no RSS here/.test(e.message));
  assert.throws(() => getChannels(sock, 'nope0'), (e: unknown) => e instanceof NoSuchDeviceError && e.device === 'nope0' && e.code === 'ERR_NO_SUCH_DEVICE');
  assert.throws(() => setCoalesce(sock, 'fake0', { 'rx-usecs': 1 }), (e: unknown) => e instanceof KernelPermissionError && /CAP_NET_ADMIN/.test(e.message));
});

test('XDP features decode to xdp-loader names; BASIC means native XDP', () => {
  const a = parseAttrs(new AttrWriter().u32(NetdevDev.IFINDEX, 3).u64(NetdevDev.XDP_FEATURES, 0x2bn).u32(NetdevDev.XDP_ZC_MAX_SEGS, 1).u64(NetdevDev.XDP_RX_METADATA_FEATURES, 3n).u64(NetdevDev.XSK_FEATURES, 0n).finish());
  const f = decodeXdpFeatures(a);
  assert.deepEqual(f.names, ['basic', 'redirect', 'xsk-zerocopy', 'rx-sg']);
  assert.deepEqual(f.rxMetadata, ['timestamp', 'hash']);
  assert.equal(supportsNativeXdp(f), true);
  assert.equal(supportsNativeXdp({ ...f, flags: 0 }), false);
});

test('ethtool_drvinfo decodes driver, version, bus and counts', () => {
  const b = new Uint8Array(DRVINFO_SIZE);
  const enc = new TextEncoder();
  b.set(enc.encode('mlx5_core'), 4);
  b.set(enc.encode('6.18'), 36);
  b.set(enc.encode('22.31'), 68);
  b.set(enc.encode('0000:3b:00.0'), 100);
  new DataView(b.buffer).setUint32(180, 321, true);
  assert.deepEqual(decodeDrvinfo(b), { driver: 'mlx5_core', version: '6.18', firmware: '22.31', busInfo: '0000:3b:00.0', nPrivFlags: 0, nStats: 321 });
});

test('RSS on a kernel without ETHTOOL_MSG_RSS_GET/SET: the SIOCETHTOOL ioctl (GRSSH sizes, then contents; SRSSH)', () => {
  const sys = new GenlFakeSys({ ethtool: nicFamily() }, { ethtool: [EthtoolMsg.RSS_GET, EthtoolMsg.RSS_SET] });
  const calls: { cmd: number; dev: string; indirSize: number; keySize: number; hfunc: number; table: number[] }[] = [];
  sys.onIoctl = (request, ifreq, data) => {
    assert.equal(request, SIOCETHTOOL);
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const cmd = v.getUint32(0, true);
    const dev = new TextDecoder().decode(ifreq.subarray(0, ifreq.indexOf(0)));
    const indirSize = v.getUint32(8, true);
    const keySize = v.getUint32(12, true);
    const n = indirSize === ETH_RXFH_INDIR_NO_CHANGE ? 0 : indirSize;
    calls.push({ cmd, dev, indirSize, keySize, hfunc: data[16]!, table: Array.from({ length: n }, (_, i) => v.getUint32(RXFH_HDR + i * 4, true)) });
    if (cmd === ETHTOOL_GRSSH) {
      if (indirSize === 0) {
        v.setUint32(8, 16, true);
        v.setUint32(12, 8, true);
        return 0;
      }
      for (let i = 0; i < 16; i++) v.setUint32(RXFH_HDR + i * 4, i % 2, true);
      data.set([1, 2, 3, 4, 5, 6, 7, 8], RXFH_HDR + 64);
      data[16] = 1;
    }
    return 0;
  };
  using sock = EthtoolSocket.open(sys);
  const rss = getRss(sock, 'old0');
  assert.deepEqual(rss.indir, [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
  assert.deepEqual([...rss.hkey], [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(rss.hfuncNames, ['toeplitz']);
  assert.deepEqual(calls.map((c) => [c.cmd, c.dev, c.indirSize, c.keySize]), [
    [ETHTOOL_GRSSH, 'old0', 0, 0],
    [ETHTOOL_GRSSH, 'old0', 16, 8],
  ]);
  setRss(sock, 'old0', { indir: equalTable(16, 4) });
  const set = calls.at(-1)!;
  assert.equal(set.cmd, ETHTOOL_SRSSH);
  assert.equal(set.keySize, 0, 'key unchanged');
  assert.equal(set.hfunc, 0, 'hash function unchanged');
  assert.deepEqual(set.table, equalTable(16, 4));
  setRss(sock, 'old0', { hkey: new Uint8Array(8).fill(9) });
  assert.equal(calls.at(-1)!.indirSize, ETH_RXFH_INDIR_NO_CHANGE, 'a key-only change leaves the table');
  assert.equal(sys.requests.filter((r) => r.cmd === EthtoolMsg.RSS_GET || r.cmd === EthtoolMsg.RSS_SET).length, 0, 'no netlink RSS message sent');
  assert.equal([...sys.open].length, 1, 'ioctl sockets closed');
});

test('standard statistics: groups named from ETH_SS_STATS_STD, counters from each group\'s string set; the header is attribute 2', () => {
  const sys = new GenlFakeSys({
    ethtool: nicFamily({
      [EthtoolMsg.STRSET_GET]: (req) => {
        const id = stringsetOf(req)!;
        if (id === EthStringset.STATS_STD) return strsetReply(id, ['eth-phy', 'eth-mac', 'eth-ctrl', 'rmon', 'phydev']);
        if (id === EthStringset.STATS_ETH_MAC) return strsetReply(id, ['FramesTransmittedOK', 'SingleCollisionFrames']);
        return strsetReply(id, []);
      },
      [EthtoolMsg.STATS_GET]: () => {
        const w = new AttrWriter()
          .nested(EthtoolStats.HEADER, (h) => h.u32(EthtoolHeader.DEV_INDEX, 7))
          .nested(EthtoolStats.GRP, (g) => g.u32(EthtoolStatsGrp.ID, 1).u32(EthtoolStatsGrp.SS_ID, EthStringset.STATS_ETH_MAC).nested(EthtoolStatsGrp.STAT, (st) => st.u64(0, 5n).u64(1, 2n ** 40n)));
        return { replies: [{ cmd: EthtoolMsgReply.STATS_GET_REPLY, attrs: w.finish() }] };
      },
    }),
  });
  using sock = EthtoolSocket.open(sys);
  const groups = getStdStats(sock, 'fake0');
  assert.deepEqual(groups.map((g) => [g.group, [...g.counters]]), [['eth-mac', [['FramesTransmittedOK', 5n], ['SingleCollisionFrames', 2n ** 40n]]]]);
  const req = sys.requests.find((r) => r.cmd === EthtoolMsg.STATS_GET)!;
  assert.equal(req.attrs.nested(EthtoolStats.HEADER)?.string(EthtoolHeader.DEV_NAME), 'fake0');
  assert.equal(req.attrs.has(1), false, 'nothing at attribute 1 (ETHTOOL_A_STATS_PAD)');
  assert.ok(req.attrs.nested(EthtoolStats.GROUPS)?.has(EthtoolBitset.NOMASK), 'all groups, as a list');
});
