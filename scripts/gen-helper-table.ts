// Generates docs/helpers.md: every helper the program types of issue 18 (xdp, tc, socket filter, cgroup_skb, flow dissector, sk_lookup, lwt) may call, and what the userspace runtime does with it.
//
// Usage: node --import tsx scripts/gen-helper-table.ts [--check]
//   --check   exit 1 when the committed docs/helpers.md differs from what the code yields.
//
// The rows come from the code, so the table cannot drift from it: the program types' helper sets
// (src/isa/helper-protos.ts, what bpfkit's verifier allows), the helper table the runtime builds
// for each type (src/ctx/helpers createHelpers), the models (src/ctx/helpers/modelled.ts) and the
// refusals with their reasons (src/ctx/helpers/refused.ts). A helper a type allows that is
// neither implemented nor refused stops the generator (exit 2): nothing is silently missing.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHelperEnv, createHelpers, REFUSED_HELPERS } from '../src/ctx/helpers/index.js';
import { MODELLED_HELPERS } from '../src/ctx/helpers/modelled.js';
import { kfuncNames, MODELLED_KFUNCS, UNMODELLED_KFUNCS } from '../src/ctx/kfuncs/index.js';
import { KFUNC_PROTOS, kfuncAllowed } from '../src/isa/kfunc-protos.js';
import { programTypeOps } from '../src/ctx/registry.js';
import { HELPERS, helperAllowed, helperByName, type Helper } from '../src/isa/helpers.js';
import { BpfFuncId } from '../src/isa/uapi.generated.js';
import { failWith, runGenerator } from './generator.js';

const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'helpers.md');

/** The program types the table covers. */
export const TABLE_TYPES = ['xdp', 'sched_cls', 'sched_act', 'socket_filter', 'cgroup_skb', 'flow_dissector', 'sk_lookup', 'lwt_in', 'lwt_out', 'lwt_xmit', 'lwt_seg6local'] as const;

/** One row: a helper and what each covered type gets. */
export interface HelperRow {
  readonly helper: Helper;
  /** Per covered type: whether bpfkit's verifier lets it call the helper. */
  readonly allowed: readonly boolean[];
  readonly status: 'implemented' | 'modelled' | 'refused at call' | 'missing';
  /** The model and default, the refusal's reason, or ''. */
  readonly note: string;
}

/** The rows, by helper id: every helper a covered type allows, and every refused one. */
export function helperRows(): HelperRow[] {
  const env = createHelperEnv();
  const tables = TABLE_TYPES.map((t) => {
    const ops = programTypeOps(t);
    if (!ops) throw new Error(`program type ${t} has no userspace runtime`);
    return createHelpers(env, ops);
  });
  const rows: HelperRow[] = [];
  for (const helper of [...HELPERS].sort((a, b) => a.id - b.id)) {
    const allowed = TABLE_TYPES.map((t) => helperAllowed(helper.id, t));
    const refused = (REFUSED_HELPERS as Readonly<Record<string, string>>)[helper.name];
    if (!allowed.some(Boolean) && refused === undefined) continue;
    // bpf_tail_call is served by the engines' tail-call hook, not by the helper table.
    const implemented = allowed.every((a, i) => !a || helper.id === BpfFuncId.tail_call || tables[i]!.has(helper.id));
    const model = (MODELLED_HELPERS as Readonly<Record<string, { model: string; default: string }>>)[helper.name];
    if (implemented && allowed.some(Boolean)) {
      rows.push({ helper, allowed, status: model ? 'modelled' : 'implemented', note: model ? `${model.model}; default: ${model.default}` : '' });
    } else if (refused !== undefined) rows.push({ helper, allowed, status: 'refused at call', note: refused });
    else rows.push({ helper, allowed, status: 'missing', note: 'allowed but neither implemented nor refused' });
  }
  return rows;
}

/** One kfunc row: the kfunc, the covered types whose kfunc set has it, and what userspace does. */
export interface KfuncRow {
  readonly name: string;
  readonly allowed: readonly boolean[];
  readonly status: HelperRow['status'];
  readonly note: string;
}

/** Every kfunc of bpfkit's table (src/isa/kfunc-protos.ts) a covered type may call, and every one refused by name. */
export function kfuncRows(): KfuncRow[] {
  const implemented = new Set(kfuncNames());
  const names = [...new Set([...KFUNC_PROTOS.map((k) => k.name), ...Object.keys(UNMODELLED_KFUNCS)])];
  const rows: KfuncRow[] = [];
  for (const name of names) {
    const proto = KFUNC_PROTOS.find((k) => k.name === name);
    const allowed = TABLE_TYPES.map((t) => (proto ? kfuncAllowed(proto, t) : false));
    if (proto && !allowed.some(Boolean)) continue;
    const model = MODELLED_KFUNCS[name];
    const refused = UNMODELLED_KFUNCS[name];
    if (implemented.has(name)) rows.push({ name, allowed, status: model ? 'modelled' : 'implemented', note: model ? `${model.model}; default: ${model.default}` : '' });
    else if (refused !== undefined) rows.push({ name, allowed, status: 'refused at call', note: proto ? refused : `${refused} (no prototype in bpfkit: its verifier refuses the call first)` });
    else rows.push({ name, allowed, status: 'missing', note: 'in the table but neither implemented nor refused' });
  }
  return rows.sort((a, b) => a.name.localeCompare(b.name));
}

const cell = (s: string): string => s.replace(/\|/g, '\\|');

/** docs/helpers.md. */
export function render(): string {
  const rows = helperRows();
  const missing = rows.filter((r) => r.status === 'missing');
  if (missing.length > 0) failWith('gen-helper-table')(`helpers allowed but neither implemented nor refused: ${missing.map((r) => r.helper.name).join(', ')}`);
  const krows = kfuncRows();
  const kmissing = krows.filter((r) => r.status === 'missing');
  if (kmissing.length > 0) failWith('gen-helper-table')(`kfuncs neither implemented nor refused: ${kmissing.map((r) => r.name).join(', ')}`);
  const count = (s: HelperRow['status']) => rows.filter((r) => r.status === s).length;
  const lines = [
    '<!-- Code generated by scripts/gen-helper-table.ts; DO NOT EDIT. -->',
    '',
    '# Helpers in the userspace runtime',
    '',
    'Every helper the 6.18 kernel lets `xdp`, `sched_cls`, `sched_act`, `socket_filter`, `cgroup_skb`,',
    '`flow_dissector`, `sk_lookup` and `lwt_*` programs call',
    "(as bpfkit's verifier models it, src/isa/helper-protos.ts), and what `loadUserspace` / `bpfkit run` /",
    '`bpfkit test-run` do with it:',
    '',
    "- **implemented**: computed from the program's memory, packet and maps with the kernel's semantics,",
    '  differentially tested against `BPF_PROG_TEST_RUN`;',
    '- **modelled**: the answer depends on kernel state with no userspace meaning (routes, sockets, tunnel',
    '  metadata, the task, clocks); it comes from a model the user supplies, with the default given;',
    '- **refused at call**: the program is prepared and runs normally on every path that does not call',
    '  it; a run that reaches the call faults there with `UnmodelledCallError` (`ERR_UNMODELLED_CALL`:',
    "  the call's pc, the helper and the reason), counted per packet by `bpfkit run` like any fault.",
    '  `bpfkit inspect` lists such calls up front (`unmodelled_calls`, and a warning per call), as does',
    '  `UserspaceProgram.unmodelledCalls` / `unmodelledCalls(programSpec)`. Helpers marked "no prototype',
    "  in bpfkit\" are allowed by the kernel but not yet by bpfkit's verifier, which refuses the program first.",
    '',
    'The models come through the API (`loadUserspace(spec, { fib, sockets, tunnel, task, clock })`,',
    '`createHelperEnv`) and the CLI: `bpfkit run|test-run --model FILE` reads a JSON file',
    '(src/ctx/kernel-model.ts; a field the kernel could not hold is a `ModelError` naming it):',
    '',
    '```json',
    '{',
    '  "fib": { "routes": [{ "dst": "10.0.0.0/8", "ifindex": 2, "gateway": "10.0.0.1" }],',
    '           "neighbours": [{ "ifindex": 2, "ip": "10.0.0.1", "mac": "02:00:00:00:00:01" }],',
    '           "devices": [{ "ifindex": 1 }, { "ifindex": 2, "mtu": 1500 }] },',
    '  "sockets": [{ "protocol": "tcp", "local": "127.0.0.1:8080" },',
    '              { "protocol": "tcp", "local": "10.0.0.2:80", "remote": "10.0.0.9:40000", "tcp": { "snd_cwnd": 20 } },',
    '              { "protocol": "udp", "local": "[::1]:53", "v6only": true }],',
    '  "tunnel": { "id": 42, "remote": "192.0.2.1", "local": "198.51.100.7", "ttl": 64, "options": "0102030405060708" },',
    '  "task": { "pid": 4242, "tgid": 4242, "uid": 1000, "comm": "nginx", "cgroupId": 9, "cgroupAncestors": [1, 7, 9] }',
    '}',
    '```',
    '',
    'A socket has `protocol`, `local` and optionally `remote`, `state` (TCP state name: `listen` without',
    'a peer and `established` with one by default; `new_syn_recv` with `listener` and `time_wait` for',
    'what only bpf_skc_lookup_tcp returns), `v6only`, `boundIfindex`, `mark`, `priority`, `netnsId` (found',
    'only by lookups passing that id) and `tcp` (struct bpf_tcp_sock fields; tcp_init_sock\'s values by',
    'default). Lookups follow the kernel: the established match first, then the best listener (exact',
    'address before wildcard, device-bound before unbound, AF_INET before dual-stack AF_INET6); equal',
    "scores go to the first socket listed (the kernel's reuseport groups pick by hash). `reuseport` and",
    '`cookie` (default 0x1000 + its index) serve sk_lookup: a sockmap/sockhash value written from user',
    'space names a socket of the model by its index (the kernel takes an fd), a program looking it up',
    'gets that socket, and bpf_sk_assign checks it as the kernel does (TCP listening, UDP unconnected,',
    'protocol, family and v6only, REPLACE / NO_REUSEPORT); ctx_out reports the selected cookie. The tunnel is',
    'the metadata every packet arrives with, as from a collect_md tunnel device; `flags` is the TUNNEL_*',
    'bitmap bpf_skb_get_tunnel_key reports (default TUNNEL_KEY, plus GENEVE_OPT with options).',
    '',
    `${rows.length} helpers: ${count('implemented')} implemented, ${count('modelled')} modelled, ${count('refused at call')} refused at call.`,
    '',
    `| id | helper | ${TABLE_TYPES.join(' | ')} | status | model / reason |`,
    `| --: | --- | ${TABLE_TYPES.map(() => ':-:').join(' | ')} | --- | --- |`,
  ];
  for (const r of rows) {
    lines.push(`| ${r.helper.id} | \`bpf_${r.helper.name}\` | ${r.allowed.map((a) => (a ? '✓' : '')).join(' | ')} | ${r.status} | ${cell(r.note)} |`);
  }
  const kcount = (s: HelperRow['status']) => krows.filter((r) => r.status === s).length;
  lines.push(
    '',
    '## Kfuncs',
    '',
    "The kfuncs of bpfkit's table (src/isa/kfunc-protos.ts; docs/kfuncs.md has the verifier's side) the",
    "covered types' kfunc sets contain, and the ones refused by name (src/ctx/kfuncs `UNMODELLED_KFUNCS`).",
    'A kfunc in neither list is refused at call too, with "not implemented by the userspace runtime".',
    '',
    `${krows.length} kfuncs: ${kcount('implemented')} implemented, ${kcount('modelled')} modelled, ${kcount('refused at call')} refused at call.`,
    '',
    `| kfunc | ${TABLE_TYPES.join(' | ')} | status | model / reason |`,
    `| --- | ${TABLE_TYPES.map(() => ':-:').join(' | ')} | --- | --- |`,
  );
  for (const r of krows) lines.push(`| \`${r.name}\` | ${r.allowed.map((a) => (a ? '✓' : '')).join(' | ')} | ${r.status} | ${cell(r.note)} |`);
  lines.push('');
  return lines.join('\n');
}

// Run as a script (not when a test imports render()).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  // A name sanity check: every refused or modelled entry names a real helper.
  for (const name of [...Object.keys(REFUSED_HELPERS), ...Object.keys(MODELLED_HELPERS)]) if (!helperByName(name)) failWith('gen-helper-table')(`unknown helper name ${name}`);
  runGenerator('gen-helper-table', OUT, () => render());
}
