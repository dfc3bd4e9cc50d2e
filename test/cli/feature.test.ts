// `bpfkit feature probe kernel` against bpftool feature probe kernel -j and against the kernel's own verdicts.
import assert from 'node:assert/strict';
import { CommandArgs } from '../../src/cli/args.js';
import { featureUsage, runFeature } from '../../src/cli/feature.js';
import type { Io } from '../../src/cli/output.js';
import { AttachType, ProgType } from '../../src/kernel/bpf/constants.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { helperNames, mapTypeNames, programTypeNames } from '../../src/kernel/feature-report.js';
import type { Sys } from '../../src/kernel/sys.js';
import { VerifierError } from '../../src/kernel/verifier-error.js';
import { bpftool, kernelTest } from '../kernel/harness.js';

interface Doc {
  system_config: Record<string, unknown>;
  syscall_config: Record<string, boolean>;
  program_types: Record<string, boolean>;
  map_types: Record<string, boolean>;
  helpers: Record<string, string[]>;
  misc: Record<string, boolean>;
}

function ours(sys: Sys, argv: string[]): string {
  let out = '';
  const io: Io = { out: (t) => (out += t), err: (t) => (out += t) };
  runFeature(new CommandArgs(argv, {}, featureUsage), io, sys);
  return out;
}

/** What a type needs to load at all (libbpf's probe_prog_load gives the same). */
const LOAD_ATTRS: Record<number, { expectedAttachType?: number; flags?: number }> = {
  [ProgType.CGROUP_SOCK_ADDR]: { expectedAttachType: AttachType.CGROUP_INET4_CONNECT },
  [ProgType.CGROUP_SOCKOPT]: { expectedAttachType: AttachType.CGROUP_GETSOCKOPT },
  [ProgType.SK_LOOKUP]: { expectedAttachType: AttachType.SK_LOOKUP },
  [ProgType.NETFILTER]: { expectedAttachType: AttachType.NETFILTER },
  [ProgType.SYSCALL]: { flags: 1 << 4 },
};

/** The kernel's verdict on `call helper; exit` as `type`, read from the verifier log. */
function kernelRefuses(sys: Sys, type: number, helperId: number): boolean {
  const insns = new Uint8Array(16);
  insns[0] = 0x85;
  new DataView(insns.buffer).setInt32(4, helperId, true);
  insns[8] = 0x95;
  try {
    loadProgram(sys, { type, insns, license: 'GPL', logLevel: 1, ...LOAD_ATTRS[type] }).close();
    return false;
  } catch (e) {
    return e instanceof VerifierError && /cannot use helper|unknown func|invalid func/.test(e.log);
  }
}

kernelTest('feature probe kernel -j: program/map types, misc and system config equal bpftool; helper lists are the kernel\'s verdicts', (sys) => {
  const mine = JSON.parse(ours(sys, ['probe', 'kernel', '-j'])) as Doc;
  const theirs = bpftool('feature', 'probe', 'kernel') as Doc;
  let compared = 0;
  for (const sec of ['system_config', 'syscall_config', 'program_types', 'map_types', 'misc'] as const) {
    for (const [k, v] of Object.entries(theirs[sec])) {
      assert.ok(k in mine[sec], `${sec}.${k} missing`);
      assert.deepEqual(mine[sec][k], v, `${sec}.${k}`);
      compared++;
    }
  }
  // Types newer than the installed bpftool (its libbpf's tables end earlier) are extra keys, nothing else.
  const extraProg = Object.keys(mine.program_types).filter((k) => !(k in theirs.program_types));
  const extraMap = Object.keys(mine.map_types).filter((k) => !(k in theirs.map_types));
  const progVal = new Map(programTypeNames().map(([n, v]) => [`have_${n}_prog_type`, v]));
  const mapVal = new Map(mapTypeNames().map(([n, v]) => [`have_${n}_map_type`, v]));
  const maxKnown = (keys: string[], val: Map<string, number>): number => Math.max(...keys.map((k) => val.get(k) ?? 0));
  const progMax = maxKnown(Object.keys(theirs.program_types), progVal);
  const mapMax = maxKnown(Object.keys(theirs.map_types), mapVal);
  assert.ok(extraProg.every((k) => (progVal.get(k) ?? 0) > progMax), `extra program types older than bpftool's table: ${extraProg.join(' ')}`);
  assert.ok(extraMap.every((k) => (mapVal.get(k) ?? 0) > mapMax), `extra map types older than bpftool's table: ${extraMap.join(' ')}`);
  assert.deepEqual(Object.keys(mine.helpers).sort(), programTypeNames().map(([n]) => `${n}_available_helpers`).sort());
  // Helpers: bpftool 7.1 (libbpf 1.1) misses the verifier's "program of this type cannot use helper"
  // and lists every helper it knows for every type; the kernel decides. Each one it lists that we do
  // not is checked with a fresh load: the verifier refuses it.
  const known = new Set(Object.values(theirs.helpers).flat());
  const idOf = new Map(helperNames());
  let refusedChecked = 0;
  for (const [name, type] of programTypeNames()) {
    const key = `${name}_available_helpers`;
    const mineSet = new Set(mine.helpers[key]);
    if (!theirs.helpers[key]?.length) continue;
    for (const h of theirs.helpers[key]!) {
      if (mineSet.has(h)) continue;
      assert.ok(kernelRefuses(sys, type, idOf.get(h)!), `${name}: the kernel accepts ${h}, which we left out`);
      refusedChecked++;
    }
    for (const h of mineSet) if (known.has(h)) assert.ok(theirs.helpers[key]!.includes(h), `${name}: ${h} listed by us, not by bpftool`);
  }
  // Anchors any kernel with these types agrees on.
  assert.ok(mine.helpers['xdp_available_helpers']!.includes('bpf_xdp_adjust_head'));
  assert.ok(mine.helpers['xdp_available_helpers']!.includes('bpf_redirect_map'));
  assert.ok(!mine.helpers['socket_filter_available_helpers']!.includes('bpf_xdp_adjust_head'));
  assert.ok(!mine.helpers['socket_filter_available_helpers']!.includes('bpf_trace_printk'), 'trace_printk is probed only in full mode');
  assert.ok(!mine.helpers['xdp_available_helpers']!.includes('bpf_skb_load_bytes'));
  assert.ok(kernelRefuses(sys, ProgType.XDP, idOf.get('bpf_skb_load_bytes')!));
  const text = ours(sys, ['probe']);
  assert.match(text, /^Scanning system configuration\.\.\.\n/);
  assert.match(text, /\neBPF program_type xdp is available\n/);
  assert.match(text, /\neBPF helpers supported for program type xdp:\n\t- bpf_map_lookup_elem\n/);
  process.stdout.write(`# feature probe vs bpftool: ${compared} keys equal; ${refusedChecked} helpers bpftool 7.1 over-reports confirmed refused by the kernel\n`);
});
