// The hand-typed netlink numbers (RTM_*, IFLA_*, TCA_*, ...) against the running kernel's BTF enums.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseBtf } from '../../../src/btf/btf.js';
import { NLMSGERR_ATTR } from '../../../src/kernel/netlink/message.js';
import { IFLA, IFLA_INFO, IFLA_XDP, RTM, XDP_ATTACHED } from '../../../src/kernel/netlink/rtnetlink.js';
import { TCA, TCA_BPF } from '../../../src/kernel/netlink/rtnetlink-tc.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';

test('every enum-backed netlink constant has the value the kernel BTF gives its enumerator', { skip: existsSync(VMLINUX) ? false : 'no kernel BTF' }, () => {
  const btf = parseBtf(new Uint8Array(readFileSync(VMLINUX)));
  const values = new Map<string, number>();
  for (const t of btf.types) {
    if (t.kind !== 'enum') continue;
    for (const v of t.values) if (!values.has(v.name)) values.set(v.name, Number(v.value));
  }
  const tables: [string, Readonly<Record<string, number>>][] = [
    ['RTM_', RTM],
    ['IFLA_', IFLA],
    ['IFLA_INFO_', IFLA_INFO],
    ['IFLA_XDP_', IFLA_XDP],
    ['XDP_ATTACHED_', XDP_ATTACHED],
    ['TCA_', TCA],
    ['TCA_BPF_', TCA_BPF],
    ['NLMSGERR_ATTR_', NLMSGERR_ATTR],
  ];
  let checked = 0;
  for (const [prefix, table] of tables) {
    for (const [name, value] of Object.entries(table)) {
      const kernel = values.get(prefix + name);
      assert.notEqual(kernel, undefined, `${prefix}${name} not in the kernel BTF`);
      assert.equal(value, kernel, `${prefix}${name}`);
      checked++;
    }
  }
  console.log(`# ${checked} netlink constants agree with the kernel BTF`);
});
