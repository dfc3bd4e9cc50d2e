// The `bpfkit` command: dispatches to one module per command and maps errors to exit codes.

import { BpfkitError } from '../errors.js';
import { CommandArgs, type OptionSpec } from './args.js';
import { UsageError } from './errors.js';
import { inspect, inspectOptions, inspectUsage } from './inspect.js';
import { disasm, disasmOptions, disasmUsage } from './disasm.js';
import { verify, verifyOptions, verifyUsage } from './verify.js';
import { nic, nicOptions, nicUsage } from './nic.js';
import { attach, attachOptions, attachUsage } from './attach.js';
import { detach, detachOptions, detachUsage } from './detach.js';
import { net, netOptions, netUsage } from './net.js';
import { load, loadOptions, loadUsage } from './load.js';
import { prog, progUsage } from './prog.js';
import { map, mapUsage } from './map.js';
import { link, linkUsage } from './link.js';
import { btf, btfUsage } from './btf.js';
import { feature, featureUsage } from './feature.js';
import { type Io, processIo, json } from './output.js';
import { run, runOptions, runUsage } from './run.js';
import { testRun, testRunOptions, testRunUsage } from './test-run.js';
import { metrics, metricsOptions, metricsUsage } from './metrics.js';
import { trace, traceOptions, traceUsage } from './trace.js';
import { dashboard, dashboardOptions, dashboardUsage } from './dashboard.js';
import { gen, genOptions, genUsage } from './gen.js';
import { xdp, xdpOptions, xdpUsage } from './xdp.js';
import { agent, agentOptions, agentUsage } from './agent.js';
import { debug, debugOptions, debugUsage } from './debug.js';

/** One CLI command. */
interface Command {
  readonly summary: string;
  readonly usage: string;
  readonly options: OptionSpec;
  readonly run: (args: CommandArgs, io: Io) => number | Promise<number>;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  inspect: { summary: 'list the sections, programs, maps and BTF of an object', usage: inspectUsage, options: inspectOptions, run: inspect },
  run: { summary: 'run a capture through a program in userspace on N simulated CPUs (RSS): verdicts, per-CPU maps', usage: runUsage, options: runOptions, run },
  'test-run': { summary: 'run a program once (or --repeat N times) on one packet in userspace, like BPF_PROG_TEST_RUN', usage: testRunUsage, options: testRunOptions, run: testRun },
  nic: { summary: 'NIC channels, features, rings, coalescing, RSS, sysctls; audit and tune for XDP (ethtool netlink)', usage: nicUsage, options: nicOptions, run: nic },
  attach: { summary: 'load one program of an object and attach it: XDP (skb/native/hw), TC (TCX, clsact), tracepoint, raw_tp, kprobe, fentry/fexit, cgroup', usage: attachUsage, options: attachOptions, run: attach },
  detach: { summary: 'detach XDP or TC programs from an interface (links, pinned or not, netlink, filters)', usage: detachUsage, options: detachOptions, run: detach },
  net: { summary: 'list XDP and TC attachments, like bpftool net', usage: netUsage, options: netOptions, run: net },
  disasm: { summary: 'disassemble programs, linked as loaded (llvm-objdump or verifier-log syntax)', usage: disasmUsage, options: disasmOptions, run: disasm },
  verify: { summary: "verify programs with bpfkit's verifier: verdict, C line, message, hint, statistics", usage: verifyUsage, options: verifyOptions, run: verify },
  load: { summary: 'load a whole object into the kernel (maps, global data, CO-RE, pins); --pin DIR keeps it', usage: loadUsage, options: loadOptions, run: load },
  prog: { summary: 'list, show and dump (xlated/jited) loaded programs, like bpftool prog', usage: progUsage, options: {}, run: prog },
  map: { summary: 'list, show, dump, lookup, update, delete and pin kernel maps, like bpftool map', usage: mapUsage, options: {}, run: map },
  link: { summary: 'list and show BPF links, like bpftool link', usage: linkUsage, options: {}, run: link },
  feature: { summary: 'probe the running kernel: program/map types, helpers per program type, misc features (bpftool feature probe)', usage: featureUsage, options: {}, run: feature },
  btf: { summary: 'dump BTF of a file or a loaded object, raw (as bpftool) or as C (vmlinux.h); list loaded BTF', usage: btfUsage, options: {}, run: btf },
  metrics: { summary: 'one Prometheus scrape of programs (run counts, times), maps and selected map values (per CPU)', usage: metricsUsage, options: metricsOptions, run: metrics },
  dashboard: { summary: 'serve /metrics, /api/snapshot and a live web page of programs and per-CPU map counters', usage: dashboardUsage, options: dashboardOptions, run: dashboard },
  xdp: { summary: 'several XDP programs on one interface (dispatcher, priorities, chain-call actions), as xdp-loader: load, unload, status, features', usage: xdpUsage, options: xdpOptions, run: xdp },
  agent: { summary: 'node agent: keep a config\'s programs attached (pinned links, adopt on restart, atomic swaps), serve /metrics and /api/state', usage: agentUsage, options: agentOptions, run: agent },
  trace: { summary: 'trace drops: where and why the kernel drops packets (skb:kfree_skb by reason, location, device, flow)', usage: traceUsage, options: traceOptions, run: trace },
  debug: { summary: 'step through a program on packets in userspace: Debug Adapter Protocol (stdio, --port) or --repl; registers with the verifier\'s view', usage: debugUsage, options: debugOptions, run: debug },
  gen: { summary: 'gen types: TypeScript bindings of an object from its BTF (typed maps, globals, programs; both backends)', usage: genUsage, options: genOptions, run: gen },
};

function help(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}\n      ${c.usage}`);
  return `bpfkit — the eBPF toolkit for TypeScript\n\nUsage: bpfkit COMMAND [ARGS] [--json|-j]\n\nCommands:\n${lines.join('\n')}\n`;
}

/** Options bpftool takes before the object (`bpftool -j prog show`), and bpfkit everywhere. */
const GLOBAL_FLAGS = new Set(['-j', '--json', '-p', '--pretty']);

/**
 * Moves global flags written before the command after it: `bpfkit -j prog show` runs as
 * `bpfkit prog show -j`. Only the flags every command takes move; anything else stays where it
 * is, so an unknown leading option is still reported as such.
 */
export function hoistGlobalOptions(argv: readonly string[]): string[] {
  let i = 0;
  while (i < argv.length && GLOBAL_FLAGS.has(argv[i]!)) i++;
  if (i === 0 || i === argv.length) return [...argv];
  return [argv[i]!, ...argv.slice(i + 1), ...argv.slice(0, i)];
}

/** One worked example per command, shown by `bpfkit CMD --help` (the files are the repo's own). */
const EXAMPLES: Readonly<Record<string, string>> = {
  inspect: 'bpfkit inspect examples/xdp_stats.o',
  run: 'bpfkit run examples/xdp_flow_stats.o --pcap examples/traffic.pcap --cpus 4 --out-pass pass.pcap',
  'test-run': 'bpfkit test-run examples/xdp_stats.o --data-in frame.bin --data-out out.bin --repeat 1000',
  nic: 'bpfkit nic audit eth0',
  attach: 'bpfkit attach xdp examples/xdp_stats.o --dev eth0 --mode native --pin /sys/fs/bpf/bk/xdp',
  detach: 'bpfkit detach xdp --dev eth0',
  net: 'bpfkit net --dev eth0 -j',
  disasm: 'bpfkit disasm examples/xdp_stats.o --source',
  verify: 'bpfkit verify test/fixtures/verifier/missing_bounds.o --log-level 1',
  load: 'bpfkit load examples/xdp_stats.o --pin /sys/fs/bpf/bk --log-file verifier.log',
  prog: 'bpfkit prog dump xlated name xdp_stats_prog linum',
  map: 'bpfkit map dump name xdp_stats_map',
  link: 'bpfkit link show id 7',
  feature: 'bpfkit feature probe kernel -j',
  btf: 'bpfkit btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h',
  metrics: 'bpfkit metrics --map xdp_stats_map --enable-stats',
  dashboard: 'bpfkit dashboard --port 9435 --map xdp_stats_map',
  gen: 'bpfkit gen types examples/xdp_stats.o -o xdp_stats.ts',
  xdp: 'bpfkit xdp load eth0 counter.o filter.o --mode skb --prio 10',
  agent: 'bpfkit agent --config deploy/kubernetes/base/agent.yaml --check',
  trace: 'bpfkit trace drops --dev eth0 --duration 10 -j',
  debug: 'bpfkit debug examples/xdp_flow_stats.o --pcap examples/traffic.pcap --repl',
};

/** A command's help: its summary, usage, every option it takes, and an example. */
function commandHelp(name: string, cmd: Command): string {
  const opts = Object.entries(cmd.options).map(([flag, spec]) => {
    const takes = spec.type === 'string' ? ' VALUE' : '';
    return `  --${flag}${spec.short ? `, -${spec.short}` : ''}${takes}${spec.multiple ? ' (repeatable)' : ''}`;
  });
  const common = ['  --json, -j   one line of JSON (bpftool\'s field names)', '  --pretty, -p indented JSON', '  --help, -h   this help'];
  const example = EXAMPLES[name] ? `\nExample:\n  ${EXAMPLES[name]}\n` : '';
  return `bpfkit ${name}: ${cmd.summary}\n\nUsage: ${cmd.usage}\n\nOptions:\n${[...opts, ...common].join('\n')}\n${example}`;
}

/**
 * Runs the CLI on `argv` (without node and script), writing to `io`. Returns the exit code:
 * 0 success, 1 the work failed (a typed bpfkit error, printed with its code), 2 bad usage.
 */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  const [name, ...rest] = hoistGlobalOptions(argv);
  if (name === 'help' && rest[0] !== undefined && COMMANDS[rest[0]]) {
    // `bpfkit help prog`, as `bpftool help` leads to `bpftool prog help`.
    io.out(commandHelp(rest[0], COMMANDS[rest[0]]!));
    return 0;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(help());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    io.out('bpfkit 0.1.0\n');
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    io.err(`bpfkit: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  const wantsJson = rest.includes('-j') || rest.includes('--json') || rest.includes('-p') || rest.includes('--pretty');
  if (rest.length === 1 && rest[0] === 'help') {
    // `bpfkit prog help`, `bpfkit map help`: bpftool's per-object help.
    io.out(commandHelp(name, cmd));
    return 0;
  }
  try {
    const args = new CommandArgs(rest, cmd.options, cmd.usage);
    if (args.help) {
      io.out(commandHelp(name, cmd));
      return 0;
    }
    return await cmd.run(args, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`bpfkit ${name}: ${e.message}\nUsage: ${e.usage ?? cmd.usage}\n`);
      return 2;
    }
    if (e instanceof BpfkitError) {
      // With -j, errors are JSON too, as bpftool does: {"error": "..."}.
      if (wantsJson) io.out(json({ error: e.message, code: e.code }));
      else io.err(`bpfkit ${name}: ${e.message} [${e.code}]\n`);
      return 1;
    }
    throw e;
  }
}
