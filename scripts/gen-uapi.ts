// Generates src/isa/uapi.generated.ts from the running kernel's BTF: the bpf uapi enums as `as const` objects.
//
// Usage: node --import tsx scripts/gen-uapi.ts [--check] [--btf /sys/kernel/btf/vmlinux]
//   --check   exit 1 (and print a diff summary) when the committed file differs from what
//             the BTF yields, without writing anything.
//   --btf     BTF file to read (default /sys/kernel/btf/vmlinux); BPFTOOL=path overrides bpftool.
//
// The kernel's BTF is the source of truth, not /usr/include/linux/bpf.h (which lags the kernel).
// Output depends only on the BTF bytes and the SPECS table below: enums are emitted in SPECS
// order, members in BTF order, so two runs over the same kernel give identical bytes.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dumpBtfTypes, failWith, runGenerator } from './generator.js';

const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'isa', 'uapi.generated.ts');

/** One enum to emit: found by C name, or (anonymous enums) by a member it contains. */
interface EnumSpec {
  /** `enum <cName>` in BTF; omit for an anonymous enum. */
  readonly cName?: string;
  /** For anonymous enums: a member that identifies it (all anon enums holding it are merged). */
  readonly member?: string;
  /** Exported constant name. */
  readonly exportName: string;
  /** Prefix stripped from every member name (every member must carry it). */
  readonly strip: string;
  /** Emit values in hex (flag sets). */
  readonly hex?: boolean;
  /** Members to leave out (kernel-internal values that share an anonymous enum). */
  readonly omit?: readonly string[];
  /** Doc comment (one line). */
  readonly doc: string;
}

const SPECS: readonly EnumSpec[] = [
  { cName: 'bpf_cmd', exportName: 'BpfCmd', strip: 'BPF_', doc: '`enum bpf_cmd`: commands of the bpf(2) syscall (BPF_ prefix stripped).' },
  { cName: 'bpf_prog_type', exportName: 'BpfProgType', strip: 'BPF_PROG_TYPE_', doc: '`enum bpf_prog_type`: program types (BPF_PROG_TYPE_ prefix stripped).' },
  { cName: 'bpf_map_type', exportName: 'BpfMapType', strip: 'BPF_MAP_TYPE_', doc: '`enum bpf_map_type`: map types (BPF_MAP_TYPE_ prefix stripped).' },
  { cName: 'bpf_attach_type', exportName: 'BpfAttachType', strip: 'BPF_', doc: '`enum bpf_attach_type`: attach types (BPF_ prefix stripped).' },
  { cName: 'bpf_link_type', exportName: 'BpfLinkType', strip: 'BPF_LINK_TYPE_', doc: '`enum bpf_link_type`: link types (BPF_LINK_TYPE_ prefix stripped).' },
  { cName: 'bpf_func_id', exportName: 'BpfFuncId', strip: 'BPF_FUNC_', doc: '`enum bpf_func_id`: helper function ids (BPF_FUNC_ prefix stripped).' },
  { cName: 'xdp_action', exportName: 'XdpAction', strip: 'XDP_', doc: '`enum xdp_action`: XDP program return codes (XDP_ prefix stripped).' },
  { member: 'BPF_ANY', exportName: 'BpfUpdateFlags', strip: 'BPF_', doc: 'Flags of BPF_MAP_UPDATE_ELEM and bpf_map_update_elem(): BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK.' },
  { member: 'BPF_F_NO_PREALLOC', exportName: 'BpfMapFlags', strip: 'BPF_F_', hex: true, doc: '`map_flags` of BPF_MAP_CREATE (BPF_F_ prefix stripped).' },
  { member: 'BPF_F_INGRESS', exportName: 'BpfRedirectFlags', strip: 'BPF_F_', hex: true, doc: 'Flags of bpf_redirect(), bpf_clone_redirect() and bpf_redirect_map() (BPF_F_ prefix stripped).' },
  { member: 'BPF_F_RECOMPUTE_CSUM', exportName: 'BpfStoreBytesFlags', strip: 'BPF_F_', hex: true, doc: 'Flags of bpf_skb_store_bytes() (BPF_F_ prefix stripped).' },
  { member: 'BPF_F_HDR_FIELD_MASK', exportName: 'BpfCsumFieldFlags', strip: 'BPF_F_', hex: true, doc: 'Field-size mask of bpf_l3_csum_replace()/bpf_l4_csum_replace() flags (BPF_F_ prefix stripped).' },
  { member: 'BPF_F_PSEUDO_HDR', exportName: 'BpfL4CsumFlags', strip: 'BPF_F_', hex: true, doc: 'Flags of bpf_l4_csum_replace() (BPF_F_ prefix stripped).' },
  { member: 'BPF_F_INDEX_MASK', exportName: 'BpfPerfEventOutputFlags', strip: 'BPF_F_', hex: true, doc: 'Flags of bpf_perf_event_output() and friends (BPF_F_ prefix stripped).' },
  { member: 'BPF_F_SKIP_FIELD_MASK', exportName: 'BpfStackFlags', strip: 'BPF_F_', hex: true, doc: 'Flags of bpf_get_stackid()/bpf_get_stack() (BPF_F_ prefix stripped).' },
  { member: 'BPF_F_TUNINFO_IPV6', exportName: 'BpfTunnelKeyFlags', strip: 'BPF_F_', hex: true, doc: 'Flags of bpf_skb_get_tunnel_key() (BPF_F_ prefix stripped).' },
  { member: 'BPF_F_ZERO_CSUM_TX', exportName: 'BpfSetTunnelKeyFlags', strip: 'BPF_F_', hex: true, doc: 'Flags of bpf_skb_set_tunnel_key() (BPF_F_ prefix stripped).' },
  { member: 'BPF_F_ADJ_ROOM_FIXED_GSO', exportName: 'BpfAdjRoomFlags', strip: 'BPF_F_ADJ_ROOM_', hex: true, doc: 'Flags of bpf_skb_adjust_room() (BPF_F_ADJ_ROOM_ prefix stripped).' },
  { member: 'BPF_ADJ_ROOM_ENCAP_L2_MASK', exportName: 'BpfAdjRoomEncapL2', strip: 'BPF_ADJ_ROOM_', doc: 'Mask and shift of the L2 length in bpf_skb_adjust_room() flags (BPF_ADJ_ROOM_ prefix stripped).' },
  { cName: 'bpf_adj_room_mode', exportName: 'BpfAdjRoomMode', strip: 'BPF_ADJ_ROOM_', doc: '`enum bpf_adj_room_mode`: mode of bpf_skb_adjust_room() (BPF_ADJ_ROOM_ prefix stripped).' },
  { cName: 'bpf_hdr_start_off', exportName: 'BpfHdrStartOff', strip: 'BPF_HDR_START_', doc: '`enum bpf_hdr_start_off`: start header of bpf_skb_load_bytes_relative() (BPF_HDR_START_ prefix stripped).' },
  { member: 'BPF_CSUM_LEVEL_QUERY', exportName: 'BpfCsumLevel', strip: 'BPF_CSUM_LEVEL_', doc: 'Levels of bpf_csum_level() (BPF_CSUM_LEVEL_ prefix stripped).' },
  { member: 'BPF_FIB_LOOKUP_DIRECT', exportName: 'BpfFibLookupFlags', strip: 'BPF_FIB_LOOKUP_', hex: true, doc: 'Flags of bpf_fib_lookup() (BPF_FIB_LOOKUP_ prefix stripped).' },
  { member: 'BPF_FIB_LKUP_RET_SUCCESS', exportName: 'BpfFibLookupResult', strip: 'BPF_FIB_LKUP_RET_', doc: 'Return codes of bpf_fib_lookup() (BPF_FIB_LKUP_RET_ prefix stripped).' },
  { cName: 'bpf_check_mtu_flags', exportName: 'BpfCheckMtuFlags', strip: 'BPF_MTU_CHK_', hex: true, doc: '`enum bpf_check_mtu_flags`: flags of bpf_check_mtu() (BPF_MTU_CHK_ prefix stripped).' },
  { cName: 'bpf_check_mtu_ret', exportName: 'BpfCheckMtuResult', strip: 'BPF_MTU_CHK_RET_', doc: '`enum bpf_check_mtu_ret`: return codes of bpf_check_mtu() (BPF_MTU_CHK_RET_ prefix stripped).' },
  { member: 'BPF_RB_NO_WAKEUP', exportName: 'BpfRingbufFlags', strip: 'BPF_RB_', hex: true, doc: 'Flags of bpf_ringbuf_output()/submit()/discard() (BPF_RB_ prefix stripped).' },
  { member: 'BPF_RB_AVAIL_DATA', exportName: 'BpfRingbufQuery', strip: 'BPF_RB_', doc: 'Queries of bpf_ringbuf_query() (BPF_RB_ prefix stripped).' },
  { member: 'BPF_F_TIMER_ABS', exportName: 'BpfTimerFlags', strip: 'BPF_F_TIMER_', hex: true, doc: 'Flags of bpf_timer_start() (BPF_F_TIMER_ prefix stripped).' },
  { member: 'BPF_SK_LOOKUP_F_REPLACE', exportName: 'BpfSkLookupFlags', strip: 'BPF_SK_LOOKUP_F_', hex: true, doc: 'Flags of bpf_sk_assign() in sk_lookup programs (BPF_SK_LOOKUP_F_ prefix stripped).' },
  { member: 'BPF_LOCAL_STORAGE_GET_F_CREATE', exportName: 'BpfLocalStorageFlags', strip: 'BPF_', hex: true, doc: 'Flags of bpf_*_storage_get() (BPF_ prefix stripped).' },
  { member: 'BPF_F_CURRENT_NETNS', exportName: 'BpfNetns', strip: 'BPF_F_', doc: 'The netns argument of bpf_sk_lookup_*() meaning "the current netns" (BPF_F_ prefix stripped).' },
  // The verifier's own vocabulary (include/linux/bpf.h, not uapi): names of argument and
  // return types of helper prototypes and the type flags OR-ed into them. Values are
  // kernel-internal; bpfkit uses the names, and the values only to decompose composites
  // such as ARG_PTR_TO_UNINIT_MEM = ARG_PTR_TO_MEM | MEM_UNINIT | MEM_WRITE.
  { cName: 'bpf_arg_type', exportName: 'BpfArgType', strip: '', doc: '`enum bpf_arg_type` (kernel-internal): argument types of helper prototypes.' },
  { cName: 'bpf_return_type', exportName: 'BpfReturnType', strip: '', doc: '`enum bpf_return_type` (kernel-internal): return types of helper prototypes.' },
  { cName: 'bpf_type_flag', exportName: 'BpfTypeFlag', strip: '', hex: true, doc: '`enum bpf_type_flag` (kernel-internal): flags OR-ed into argument, return and register types.' },
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

const fail = failWith('gen-uapi');

function readBtfEnums(btfPath: string): BtfType[] {
  return dumpBtfTypes<BtfType>(btfPath, fail).filter((t) => (t.kind === 'ENUM' || t.kind === 'ENUM64') && Array.isArray(t.values));
}

/** Members of one spec, in BTF order, after checks. */
function membersOf(spec: EnumSpec, enums: BtfType[]): { name: string; key: string; value: number }[] {
  let found: BtfType[];
  if (spec.cName !== undefined) {
    found = enums.filter((e) => e.name === spec.cName);
    if (found.length !== 1) fail(`enum ${spec.cName}: expected exactly one in BTF, found ${found.length}`);
  } else {
    found = enums.filter((e) => e.name === '(anon)' && e.values!.some((v) => v.name === spec.member));
    if (found.length === 0) fail(`anonymous enum with ${spec.member}: not in BTF`);
  }
  const seen = new Map<string, number>();
  const out: { name: string; key: string; value: number }[] = [];
  for (const e of found) {
    for (const v of e.values!) {
      if (spec.omit?.includes(v.name)) continue;
      if (!Number.isSafeInteger(v.val)) fail(`${v.name} = ${v.val}: not a safe integer`);
      const prev = seen.get(v.name);
      if (prev !== undefined) {
        if (prev !== v.val) fail(`${v.name}: conflicting values ${prev} and ${v.val}`);
        continue;
      }
      seen.set(v.name, v.val);
      if (!v.name.startsWith(spec.strip) && !v.name.startsWith('__')) fail(`${v.name}: lacks prefix ${spec.strip}`);
      const key = v.name.startsWith('__') ? v.name : v.name.slice(spec.strip.length);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) fail(`${v.name}: key ${key} is not an identifier`);
      out.push({ name: v.name, key, value: v.val });
    }
  }
  return out;
}

function literal(value: number, hex: boolean): string {
  if (!hex || value < 0) return String(value);
  return `0x${value.toString(16)}`;
}

function render(enums: BtfType[]): string {
  const lines: string[] = [
    '// Code generated by scripts/gen-uapi.ts; DO NOT EDIT.',
    '// The bpf uapi enums, read from the kernel BTF (bpftool btf dump file /sys/kernel/btf/vmlinux).',
    '// Regenerate: node --import tsx scripts/gen-uapi.ts',
    '',
  ];
  for (const spec of SPECS) {
    const members = membersOf(spec, enums);
    // Sentinels (__MAX_BPF_PROG_TYPE, __BPF_FUNC_MAX_ID, ...) are bounds, not values: emit apart.
    const sentinels = members.filter((m) => m.key.startsWith('__'));
    const values = members.filter((m) => !m.key.startsWith('__'));
    lines.push(`/** ${spec.doc} */`);
    lines.push(`export const ${spec.exportName} = {`);
    for (const m of values) lines.push(`  ${m.key}: ${literal(m.value, spec.hex === true)},`);
    lines.push('} as const;');
    lines.push(`/** A value of {@link ${spec.exportName}}. */`);
    lines.push(`export type ${spec.exportName} = (typeof ${spec.exportName})[keyof typeof ${spec.exportName}];`);
    if (sentinels.length > 0) {
      lines.push(`/** Bounds of \`${spec.cName ?? spec.member}\` (the kernel's \`__\` sentinels). */`);
      lines.push(`export const ${spec.exportName}Bounds = {`);
      for (const m of sentinels) lines.push(`  ${m.key}: ${m.value},`);
      lines.push('} as const;');
    }
    lines.push('');
  }
  return lines.join('\n');
}

runGenerator('gen-uapi', OUT, (btfPath) => render(readBtfEnums(btfPath)));
