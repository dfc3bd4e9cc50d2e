// The generated ethtool/netdev/nlctrl ids: no drift from this kernel's BTF, and equal to the uapi headers' values where those have them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as gen from '../../../src/kernel/ethtool/ethtool.generated.js';

const canRegenerate =
  existsSync('/sys/kernel/btf/vmlinux') &&
  (() => {
    try {
      execFileSync('bpftool', ['version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

test('scripts/gen-ethtool.ts --check finds no drift', { skip: canRegenerate ? false : 'needs /sys/kernel/btf/vmlinux and bpftool' }, () => {
  const out = execFileSync('node', ['--import', 'tsx', 'scripts/gen-ethtool.ts', '--check'], { encoding: 'utf8' });
  assert.match(out, /up to date/);
});

/** Export name -> the C prefix its keys were stripped of. */
const PREFIX: Record<string, string> = {
  CtrlCmd: 'CTRL_CMD_',
  CtrlAttr: 'CTRL_ATTR_',
  CtrlAttrMcastGrp: 'CTRL_ATTR_MCAST_GRP_',
  CtrlAttrOp: 'CTRL_ATTR_OP_',
  EthtoolMsg: 'ETHTOOL_MSG_',
  EthtoolMsgReply: 'ETHTOOL_MSG_',
  EthtoolFlag: 'ETHTOOL_FLAG_',
  EthtoolHeader: 'ETHTOOL_A_HEADER_',
  EthtoolBitset: 'ETHTOOL_A_BITSET_',
  EthtoolBitsetBits: 'ETHTOOL_A_BITSET_BITS_',
  EthtoolBitsetBit: 'ETHTOOL_A_BITSET_BIT_',
  EthtoolString: 'ETHTOOL_A_STRING_',
  EthtoolStrings: 'ETHTOOL_A_STRINGS_',
  EthtoolStringset: 'ETHTOOL_A_STRINGSET_',
  EthtoolStringsets: 'ETHTOOL_A_STRINGSETS_',
  EthtoolStrset: 'ETHTOOL_A_STRSET_',
  EthStringset: 'ETH_SS_',
  EthtoolLinkinfo: 'ETHTOOL_A_LINKINFO_',
  EthtoolLinkmodes: 'ETHTOOL_A_LINKMODES_',
  EthtoolLinkstate: 'ETHTOOL_A_LINKSTATE_',
  EthtoolFeatures: 'ETHTOOL_A_FEATURES_',
  EthtoolRings: 'ETHTOOL_A_RINGS_',
  EthtoolChannels: 'ETHTOOL_A_CHANNELS_',
  EthtoolCoalesce: 'ETHTOOL_A_COALESCE_',
  EthtoolRss: 'ETHTOOL_A_RSS_',
  EthtoolStats: 'ETHTOOL_A_STATS_',
  EthtoolStatsGrp: 'ETHTOOL_A_STATS_GRP_',
  EthtoolStatsGroup: 'ETHTOOL_STATS_',
};

const HEADERS = ['/usr/include/linux/ethtool_netlink.h', '/usr/include/linux/genetlink.h', '/usr/include/linux/ethtool.h'];

test('every id the installed uapi headers also declare has the same value there (compiled with clang)', { skip: HEADERS.every(existsSync) ? false : 'no linux uapi headers' }, () => {
  const text = HEADERS.map((h) => readFileSync(h, 'utf8')).join('\n');
  const checks: [string, number][] = [];
  for (const [exportName, prefix] of Object.entries(PREFIX)) {
    const table = (gen as Record<string, Record<string, number>>)[exportName];
    assert.ok(table, exportName);
    for (const [key, value] of Object.entries(table)) {
      const cName = prefix + key.replace(/^_(?=\d)/, '');
      // The kernel-side ETHTOOL_MSG_*_REPLY and the user-side names share a prefix; both are declared.
      if (new RegExp(`\\b${cName}\\b\\s*(=|,)`).test(text)) checks.push([cName, value]);
    }
  }
  assert.ok(checks.length > 200, `${checks.length} ids found in the headers`);
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-nic-gen-'));
  try {
    const src = join(dir, 'ids.c');
    const bin = join(dir, 'ids');
    writeFileSync(
      src,
      `#include <stdio.h>\n#include <linux/ethtool.h>\n#include <linux/ethtool_netlink.h>\n#include <linux/genetlink.h>\nint main(void) {\n${checks.map(([n]) => `  printf("%s %lld\\n", "${n}", (long long)${n});`).join('\n')}\n  return 0;\n}\n`,
    );
    execFileSync('clang-16', ['-w', '-o', bin, src]);
    const theirs = new Map(execFileSync(bin, { encoding: 'utf8' }).trim().split('\n').map((l) => [l.split(' ')[0]!, Number(l.split(' ')[1])]));
    let equal = 0;
    for (const [n, v] of checks) {
      assert.equal(v, theirs.get(n), n);
      equal++;
    }
    console.log(`# generated ids equal to the uapi headers: ${equal}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
