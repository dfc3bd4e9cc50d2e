// Generates src/kernel/ethtool/ethtool.generated.ts: ethtool, netdev and nlctrl netlink ids from the kernel BTF.
//
// Usage: node --import tsx scripts/gen-ethtool.ts [--check] [--btf /sys/kernel/btf/vmlinux]
//   --check   exit 1 (and say where) when the committed file differs from what the BTF yields,
//             without writing anything.
//   --btf     BTF file to read (default /sys/kernel/btf/vmlinux); BPFTOOL=path overrides bpftool.
//
// Why BTF and not /usr/include/linux/ethtool_netlink*.h and netdev.h: on this machine the uapi
// headers are 6.1's (no netdev.h, no ETHTOOL_MSG_RSS_SET) while the kernel is 6.18; the ids the
// running kernel answers to are the ones in its BTF, where every one of these enums is present
// (they are the same enums ethtool_netlink_generated.h and netdev.h declare, anonymous in C).
// Sentinels are left out: `__X_CNT`/`__X_MAX` and the `X_MAX` derived from them (but real
// attributes such as ETHTOOL_A_CHANNELS_RX_MAX stay). Output depends only on the BTF and SPECS.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dumpBtfTypes, failWith, runGenerator } from './generator.js';

const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'kernel', 'ethtool', 'ethtool.generated.ts');

/** One enum to emit, found by C name or (anonymous enums) by a member it contains. */
interface EnumSpec {
  readonly cName?: string;
  readonly member?: string;
  readonly exportName: string;
  readonly strip: string;
  readonly hex?: boolean;
  readonly doc: string;
}

const SPECS: readonly EnumSpec[] = [
  // Generic netlink controller (linux/genetlink.h).
  { member: 'CTRL_CMD_NEWFAMILY', exportName: 'CtrlCmd', strip: 'CTRL_CMD_', doc: 'nlctrl commands (CTRL_CMD_ prefix stripped).' },
  { member: 'CTRL_ATTR_FAMILY_ID', exportName: 'CtrlAttr', strip: 'CTRL_ATTR_', doc: 'nlctrl family attributes (CTRL_ATTR_ prefix stripped).' },
  { member: 'CTRL_ATTR_OP_ID', exportName: 'CtrlAttrOp', strip: 'CTRL_ATTR_OP_', doc: 'nlctrl operation attributes (CTRL_ATTR_OP_ prefix stripped).' },
  { member: 'CTRL_ATTR_MCAST_GRP_NAME', exportName: 'CtrlAttrMcastGrp', strip: 'CTRL_ATTR_MCAST_GRP_', doc: 'nlctrl multicast group attributes (CTRL_ATTR_MCAST_GRP_ prefix stripped).' },
  // ethtool netlink (linux/ethtool_netlink_generated.h).
  { member: 'ETHTOOL_MSG_USER_NONE', exportName: 'EthtoolMsg', strip: 'ETHTOOL_MSG_', doc: 'ethtool requests, userspace to kernel (ETHTOOL_MSG_ prefix stripped).' },
  { member: 'ETHTOOL_MSG_KERNEL_NONE', exportName: 'EthtoolMsgReply', strip: 'ETHTOOL_MSG_', doc: 'ethtool replies and notifications, kernel to userspace (ETHTOOL_MSG_ prefix stripped).' },
  { cName: 'ethtool_header_flags', exportName: 'EthtoolFlag', strip: 'ETHTOOL_FLAG_', hex: true, doc: 'Request header flags (ETHTOOL_FLAG_ prefix stripped).' },
  { member: 'ETHTOOL_A_HEADER_DEV_INDEX', exportName: 'EthtoolHeader', strip: 'ETHTOOL_A_HEADER_', doc: 'Request/reply header attributes (ETHTOOL_A_HEADER_ prefix stripped).' },
  { member: 'ETHTOOL_A_BITSET_NOMASK', exportName: 'EthtoolBitset', strip: 'ETHTOOL_A_BITSET_', doc: 'Bit set attributes (ETHTOOL_A_BITSET_ prefix stripped).' },
  { member: 'ETHTOOL_A_BITSET_BITS_BIT', exportName: 'EthtoolBitsetBits', strip: 'ETHTOOL_A_BITSET_BITS_', doc: 'Bit list of a verbose bit set (ETHTOOL_A_BITSET_BITS_ prefix stripped).' },
  { member: 'ETHTOOL_A_BITSET_BIT_INDEX', exportName: 'EthtoolBitsetBit', strip: 'ETHTOOL_A_BITSET_BIT_', doc: 'One bit of a verbose bit set (ETHTOOL_A_BITSET_BIT_ prefix stripped).' },
  { member: 'ETHTOOL_A_STRING_INDEX', exportName: 'EthtoolString', strip: 'ETHTOOL_A_STRING_', doc: 'One string of a string set (ETHTOOL_A_STRING_ prefix stripped).' },
  { member: 'ETHTOOL_A_STRINGS_STRING', exportName: 'EthtoolStrings', strip: 'ETHTOOL_A_STRINGS_', doc: 'String list (ETHTOOL_A_STRINGS_ prefix stripped).' },
  { member: 'ETHTOOL_A_STRINGSET_ID', exportName: 'EthtoolStringset', strip: 'ETHTOOL_A_STRINGSET_', doc: 'One string set (ETHTOOL_A_STRINGSET_ prefix stripped).' },
  { member: 'ETHTOOL_A_STRINGSETS_STRINGSET', exportName: 'EthtoolStringsets', strip: 'ETHTOOL_A_STRINGSETS_', doc: 'String set list (ETHTOOL_A_STRINGSETS_ prefix stripped).' },
  { member: 'ETHTOOL_A_STRSET_HEADER', exportName: 'EthtoolStrset', strip: 'ETHTOOL_A_STRSET_', doc: 'STRSET_GET attributes (ETHTOOL_A_STRSET_ prefix stripped).' },
  { cName: 'ethtool_stringset', exportName: 'EthStringset', strip: 'ETH_SS_', doc: '`enum ethtool_stringset`: string set ids (ETH_SS_ prefix stripped).' },
  { member: 'ETHTOOL_A_LINKINFO_HEADER', exportName: 'EthtoolLinkinfo', strip: 'ETHTOOL_A_LINKINFO_', doc: 'LINKINFO attributes (ETHTOOL_A_LINKINFO_ prefix stripped).' },
  { member: 'ETHTOOL_A_LINKMODES_HEADER', exportName: 'EthtoolLinkmodes', strip: 'ETHTOOL_A_LINKMODES_', doc: 'LINKMODES attributes (ETHTOOL_A_LINKMODES_ prefix stripped).' },
  { member: 'ETHTOOL_A_LINKSTATE_HEADER', exportName: 'EthtoolLinkstate', strip: 'ETHTOOL_A_LINKSTATE_', doc: 'LINKSTATE attributes (ETHTOOL_A_LINKSTATE_ prefix stripped).' },
  { member: 'ETHTOOL_A_FEATURES_HEADER', exportName: 'EthtoolFeatures', strip: 'ETHTOOL_A_FEATURES_', doc: 'FEATURES attributes (ETHTOOL_A_FEATURES_ prefix stripped).' },
  { member: 'ETHTOOL_A_RINGS_HEADER', exportName: 'EthtoolRings', strip: 'ETHTOOL_A_RINGS_', doc: 'RINGS attributes (ETHTOOL_A_RINGS_ prefix stripped).' },
  { member: 'ETHTOOL_A_CHANNELS_HEADER', exportName: 'EthtoolChannels', strip: 'ETHTOOL_A_CHANNELS_', doc: 'CHANNELS attributes (ETHTOOL_A_CHANNELS_ prefix stripped).' },
  { member: 'ETHTOOL_A_COALESCE_HEADER', exportName: 'EthtoolCoalesce', strip: 'ETHTOOL_A_COALESCE_', doc: 'COALESCE attributes (ETHTOOL_A_COALESCE_ prefix stripped).' },
  { member: 'ETHTOOL_A_RSS_HEADER', exportName: 'EthtoolRss', strip: 'ETHTOOL_A_RSS_', doc: 'RSS attributes (ETHTOOL_A_RSS_ prefix stripped).' },
  { member: 'ETHTOOL_A_STATS_GROUPS', exportName: 'EthtoolStats', strip: 'ETHTOOL_A_STATS_', doc: 'STATS attributes (ETHTOOL_A_STATS_ prefix stripped).' },
  { member: 'ETHTOOL_A_STATS_GRP_ID', exportName: 'EthtoolStatsGrp', strip: 'ETHTOOL_A_STATS_GRP_', doc: 'One statistics group (ETHTOOL_A_STATS_GRP_ prefix stripped).' },
  { member: 'ETHTOOL_STATS_ETH_PHY', exportName: 'EthtoolStatsGroup', strip: 'ETHTOOL_STATS_', doc: 'Statistics group ids (ETHTOOL_STATS_ prefix stripped).' },
  // netdev family (linux/netdev.h).
  { member: 'NETDEV_CMD_DEV_GET', exportName: 'NetdevCmd', strip: 'NETDEV_CMD_', doc: 'netdev family commands (NETDEV_CMD_ prefix stripped).' },
  { member: 'NETDEV_A_DEV_IFINDEX', exportName: 'NetdevDev', strip: 'NETDEV_A_DEV_', doc: 'netdev DEV_GET attributes (NETDEV_A_DEV_ prefix stripped).' },
  { cName: 'netdev_xdp_act', exportName: 'NetdevXdpAct', strip: 'NETDEV_XDP_ACT_', hex: true, doc: '`enum netdev_xdp_act`: XDP feature flags (NETDEV_XDP_ACT_ prefix stripped).' },
  { cName: 'netdev_xdp_rx_metadata', exportName: 'NetdevXdpRxMetadata', strip: 'NETDEV_XDP_RX_METADATA_', hex: true, doc: '`enum netdev_xdp_rx_metadata`: XDP RX metadata kfuncs (prefix stripped).' },
  { cName: 'netdev_xsk_flags', exportName: 'NetdevXskFlags', strip: 'NETDEV_XSK_FLAGS_', hex: true, doc: '`enum netdev_xsk_flags`: AF_XDP zero-copy features (prefix stripped).' },
];

interface BtfEnumValue {
  name: string;
  val: number;
}
interface BtfType {
  kind: string;
  name: string;
  values?: BtfEnumValue[];
}

const fail = failWith('gen-ethtool');

function readBtfEnums(btfPath: string): BtfType[] {
  return dumpBtfTypes<BtfType>(btfPath, fail).filter((t) => (t.kind === 'ENUM' || t.kind === 'ENUM64') && Array.isArray(t.values));
}

/** The members of one spec, in BTF order, sentinels dropped. */
function membersOf(spec: EnumSpec, enums: BtfType[]): { key: string; value: number }[] {
  const found = spec.cName !== undefined ? enums.filter((e) => e.name === spec.cName) : enums.filter((e) => e.name === '(anon)' && e.values!.some((v) => v.name === spec.member));
  if (found.length === 0) fail(`${spec.cName ?? `anonymous enum with ${spec.member}`}: not in BTF`);
  const seen = new Map<string, number>();
  const out: { key: string; value: number }[] = [];
  for (const e of found) {
    const names = new Set(e.values!.map((v) => v.name));
    for (const v of e.values!) {
      if (v.name.startsWith('__')) continue;
      if (v.name.endsWith('_MAX') && (names.has(`__${v.name.slice(0, -4)}_CNT`) || names.has(`__${v.name}`))) continue;
      if (!Number.isSafeInteger(v.val)) fail(`${v.name} = ${v.val}: not a safe integer`);
      const prev = seen.get(v.name);
      if (prev !== undefined) {
        if (prev !== v.val) fail(`${v.name}: conflicting values ${prev} and ${v.val}`);
        continue;
      }
      seen.set(v.name, v.val);
      if (!v.name.startsWith(spec.strip)) fail(`${v.name}: lacks prefix ${spec.strip}`);
      let key = v.name.slice(spec.strip.length);
      if (/^[0-9]/.test(key)) key = `_${key}`;
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) fail(`${v.name}: key ${key} is not an identifier`);
      out.push({ key, value: v.val });
    }
  }
  return out;
}

function render(enums: BtfType[]): string {
  const lines: string[] = [
    '// Code generated by scripts/gen-ethtool.ts; DO NOT EDIT.',
    '// ethtool, netdev and nlctrl generic netlink ids, read from the kernel BTF (bpftool btf dump file /sys/kernel/btf/vmlinux).',
    '// Regenerate: node --import tsx scripts/gen-ethtool.ts',
    '',
  ];
  for (const spec of SPECS) {
    lines.push(`/** ${spec.doc} */`);
    lines.push(`export const ${spec.exportName} = {`);
    for (const m of membersOf(spec, enums)) lines.push(`  ${m.key}: ${spec.hex === true ? `0x${m.value.toString(16)}` : String(m.value)},`);
    lines.push('} as const;');
    lines.push('');
  }
  return lines.join('\n');
}

runGenerator('gen-ethtool', OUT, (btfPath) => render(readBtfEnums(btfPath)));
