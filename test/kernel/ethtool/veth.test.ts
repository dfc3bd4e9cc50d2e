// ethtool netlink on a real veth, with the ethtool client as the oracle: channels, features, errors, what veth lacks.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { NotSupportedError } from '../../../src/errors.js';
import { getChannels, setChannels } from '../../../src/kernel/ethtool/channels.js';
import { getCoalesce } from '../../../src/kernel/ethtool/coalesce.js';
import { getDriverInfo } from '../../../src/kernel/ethtool/drvinfo.js';
import { NoSuchDeviceError } from '../../../src/kernel/ethtool/errors.js';
import { EthStringset, EthtoolMsg } from '../../../src/kernel/ethtool/ethtool.generated.js';
import { EthtoolSocket } from '../../../src/kernel/ethtool/ethtool-socket.js';
import { getFeatures, setFeatures } from '../../../src/kernel/ethtool/features.js';
import { getDriverStats } from '../../../src/kernel/ethtool/driver-stats.js';
import { getStdStats } from '../../../src/kernel/ethtool/std-stats.js';
import { getLinkSettings } from '../../../src/kernel/ethtool/link-settings.js';
import { getRings, setRings } from '../../../src/kernel/ethtool/rings.js';
import { getRss, setRss, type Rss } from '../../../src/kernel/ethtool/rss.js';
import { getRssIoctl } from '../../../src/kernel/ethtool/rss-ioctl.js';
import { getXdpFeatures, supportsNativeXdp } from '../../../src/kernel/ethtool/xdp-features.js';
import { NetlinkError } from '../../../src/kernel/netlink/netlink-error.js';
import { kernelTest } from '../harness.js';
import { ethtool, ethtoolChannels, ethtoolFeatures, withNicVeth } from './veth-support.js';

kernelTest('channels: bpfkit reads what ethtool -l shows, and ethtool -l shows what bpfkit sets (and the reverse)', async (sys) => {
  await withNicVeth(4, (v) => {
    using sock = EthtoolSocket.open(sys);
    const ours = getChannels(sock, v.dev);
    const theirs = ethtoolChannels(v.dev);
    assert.deepEqual({ rx: ours.rxMax, tx: ours.txMax }, { rx: theirs.max['rx'], tx: theirs.max['tx'] });
    assert.deepEqual({ rx: ours.rx, tx: ours.tx }, { rx: theirs.cur['rx'], tx: theirs.cur['tx'] });
    assert.equal(theirs.max['combined'], undefined, 'veth has no combined channels (n/a)');
    assert.equal(ours.combinedMax, 0);

    setChannels(sock, v.dev, { rx: 2, tx: 3 });
    assert.deepEqual(ethtoolChannels(v.dev).cur, { rx: 2, tx: 3, other: undefined, combined: undefined });

    ethtool('-L', v.dev, 'rx', '1');
    const after = getChannels(sock, v.dev);
    assert.deepEqual([after.rx, after.tx], [1, 3]);
  });
});

kernelTest('channels over the maximum: the kernel refuses with its extack text, nothing changes', async (sys) => {
  await withNicVeth(2, (v) => {
    using sock = EthtoolSocket.open(sys);
    let err: unknown;
    try {
      setChannels(sock, v.dev, { rx: 9 });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof NetlinkError, String(err));
    assert.equal(err.errnoName, 'EINVAL');
    assert.match(err.message, /requested channel count exceeds maximum/);
    assert.match(err.message, new RegExp(`^set channels of ${v.dev}: `));
    console.log(`# kernel said: ${err.message}`);
    assert.equal(ethtoolChannels(v.dev).cur['rx'], 2);
  });
});

kernelTest('features: every feature ethtool --json -k reports, bpfkit reports alike (active, fixed, requested)', async (sys) => {
  await withNicVeth(1, (v) => {
    using sock = EthtoolSocket.open(sys);
    const ours = new Map(getFeatures(sock, v.dev).map((f) => [f.name, f]));
    const theirs = ethtoolFeatures(v.dev);
    assert.ok(theirs.size > 30, `ethtool listed ${theirs.size} features`);
    let compared = 0;
    for (const [name, t] of theirs) {
      const o = ours.get(name);
      assert.ok(o, `bpfkit lacks ${name}`);
      assert.deepEqual({ name, active: o.active, fixed: !o.changeable, requested: o.wanted }, { name, ...t }, name);
      compared++;
    }
    console.log(`# features compared with ethtool: ${compared}`);
  });
});

kernelTest('features: set by bpfkit, seen by ethtool; set by ethtool, seen by bpfkit', async (sys) => {
  await withNicVeth(1, (v) => {
    using sock = EthtoolSocket.open(sys);
    const before = ethtoolFeatures(v.dev);
    const gro = before.get('rx-gro')!.active;
    setFeatures(sock, v.dev, new Map([['rx-gro', !gro], ['tx-generic-segmentation', false]]));
    const after = ethtoolFeatures(v.dev);
    assert.equal(after.get('rx-gro')!.active, !gro);
    assert.equal(after.get('tx-generic-segmentation')!.active, false);
    ethtool('-K', v.dev, 'gso', 'on', 'rx', 'off');
    const ours = new Map(getFeatures(sock, v.dev).map((f) => [f.name, f.active]));
    assert.equal(ours.get('tx-generic-segmentation'), true);
    assert.equal(ours.get('rx-checksum'), false);
  });
});

kernelTest('veth has no rings, RSS or coalescing: reads and writes are NotSupportedError naming the device', async (sys) => {
  await withNicVeth(1, (v) => {
    using sock = EthtoolSocket.open(sys);
    const notSupported = (what: RegExp) => (e: unknown) => e instanceof NotSupportedError && what.test(e.message) && e.message.includes(v.dev);
    assert.throws(() => getRings(sock, v.dev), notSupported(/^rings of/));
    assert.throws(() => setRings(sock, v.dev, { rx: 512 }), notSupported(/^set rings of/));
    assert.throws(() => getRss(sock, v.dev), notSupported(/^RSS of/));
    assert.throws(() => setRss(sock, v.dev, { indir: [0, 0, 0, 0] }), notSupported(/^set RSS of/));
    assert.throws(() => getCoalesce(sock, v.dev), notSupported(/^coalescing of/));
  });
});

kernelTest('an unknown device is NoSuchDeviceError naming it, from every entry point', (sys) => {
  using sock = EthtoolSocket.open(sys);
  const nodev = (e: unknown) => e instanceof NoSuchDeviceError && e.device === 'bknicnone0';
  assert.throws(() => getChannels(sock, 'bknicnone0'), nodev);
  assert.throws(() => getFeatures(sock, 'bknicnone0'), nodev);
  assert.throws(() => setChannels(sock, 'bknicnone0', { rx: 1 }), nodev);
  assert.throws(() => getDriverInfo(sys, 'bknicnone0'), nodev);
});

kernelTest('driver info, link and XDP features of veth: the driver is veth, native XDP is offered', async (sys) => {
  await withNicVeth(1, (v) => {
    using sock = EthtoolSocket.open(sys);
    const info = getDriverInfo(sys, v.dev);
    assert.equal(info.driver, ethtool('-i', v.dev).match(/^driver: (\S+)/m)?.[1]);
    assert.equal(info.driver, 'veth');
    const link = getLinkSettings(sock, v.dev);
    assert.equal(link.speed, Number(ethtool(v.dev).match(/Speed: (\d+)Mb\/s/)?.[1]));
    const xdp = getXdpFeatures(sys, sys.ifNameToIndex(v.dev));
    assert.equal(supportsNativeXdp(xdp), true, `veth xdp-features: ${xdp.names.join(' ')}`);
    assert.ok(xdp.names.includes('redirect'));
    // The hash function string set is global and names toeplitz first (ETH_RSS_HASH_TOP_BIT 0).
    assert.equal(sock.strings(EthStringset.RSS_HASH_FUNCS)[0], 'toeplitz');
  });
});

kernelTest('driver statistics: every counter ethtool -S prints, bpfkit reads with the same name and value', async (sys) => {
  await withNicVeth(2, (v) => {
    using sock = EthtoolSocket.open(sys);
    const ours = getDriverStats(sys, sock, v.dev);
    const theirs = new Map([...ethtool('-S', v.dev).matchAll(/^\s+([^:]+): (\d+)$/gm)].map((m) => [m[1]!, BigInt(m[2]!)]));
    assert.ok(theirs.size >= 10, `ethtool -S listed ${theirs.size}`);
    assert.deepEqual([...ours.keys()], [...theirs.keys()]);
    // peer_ifindex is stable; the per-queue counters are 0 on an idle pair.
    assert.deepEqual(ours, theirs);
    console.log(`# driver statistics compared with ethtool -S: ${ours.size}`);
  });
});

kernelTest('RSS two ways: netlink RSS_GET and the SIOCETHTOOL ioctl agree on every stable device of this machine', (sys) => {
  using sock = EthtoolSocket.open(sys);
  assert.ok(sock.has(EthtoolMsg.RSS_GET) && sock.has(EthtoolMsg.RSS_SET) && sock.has(EthtoolMsg.CHANNELS_SET), '6.18 has RSS_GET/RSS_SET: the netlink path is used');
  const funcs = sock.strings(EthStringset.RSS_HASH_FUNCS);
  const outcome = (read: () => Rss) => {
    try {
      const r = read();
      return { indir: r.indir, hkey: [...r.hkey], hfunc: r.hfuncNames };
    } catch (e) {
      if (e instanceof NotSupportedError) return 'not supported';
      throw e;
    }
  };
  let compared = 0;
  for (const dev of readdirSync('/sys/class/net').filter((d) => !d.startsWith('bk'))) {
    try {
      assert.deepEqual(outcome(() => getRssIoctl(sys, dev, funcs)), outcome(() => getRss(sock, dev)), dev);
      compared++;
    } catch (e) {
      if (e instanceof NoSuchDeviceError) continue; // another helper's interface, gone meanwhile
      throw e;
    }
  }
  assert.ok(compared >= 2, `${compared} devices compared`);
  console.log(`# RSS via netlink and ioctl agree on ${compared} devices`);
});

kernelTest('standard statistics groups: the same groups and counters as ethtool --json -S --all-groups, device by device', async (sys) => {
  await withNicVeth(1, (v) => {
    using sock = EthtoolSocket.open(sys);
    let compared = 0;
    for (const dev of [v.dev, ...readdirSync('/sys/class/net').filter((d) => !d.startsWith('bk'))]) {
      let ours;
      try {
        ours = getStdStats(sock, dev);
      } catch (e) {
        if (e instanceof NoSuchDeviceError) continue;
        throw e;
      }
      const doc = (JSON.parse(ethtool('--json', '-S', dev, '--all-groups')) as Record<string, unknown>[])[0]!;
      const theirs = Object.fromEntries(
        Object.entries(doc)
          .filter(([k]) => k !== 'ifname')
          .map(([k, g]) => [k, Object.fromEntries(Object.entries(g as Record<string, unknown>).filter(([, x]) => typeof x === 'number'))]),
      );
      assert.deepEqual(Object.fromEntries(ours.map((g) => [g.group, Object.fromEntries([...g.counters].map(([n, x]) => [n, Number(x)]))])), theirs, dev);
      compared++;
    }
    console.log(`# standard statistics compared with ethtool: ${compared} devices`);
  });
});
