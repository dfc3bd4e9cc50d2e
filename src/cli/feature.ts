// `bpfkit feature probe [kernel] [-j]`: what the running kernel offers, in the shape of bpftool feature probe.
import { type FeatureReport, probeKernelFeatures } from '../kernel/feature-report.js';
import { createKernelSys } from '../kernel/koffi-sys.js';
import type { Sys } from '../kernel/sys.js';
import type { CommandArgs } from './args.js';
import { UsageError } from './errors.js';
import { type Io, json } from './output.js';

/** Usage text of `feature`. */
export const featureUsage = [
  'bpfkit feature probe [kernel] [full] [-j]',
  '       program types, map types, helpers per program type, misc features and the BPF sysctls/CONFIG_',
  '       options, each asked of the running kernel as libbpf probes them (bpftool feature probe kernel);',
  '       full: also probe bpf_trace_printk, bpf_trace_vprintk and bpf_probe_write_user (they log to dmesg)',
].join('\n');

/** bpftool's JSON document of a report. */
export function featureJson(r: FeatureReport): Record<string, unknown> {
  const helpers: Record<string, string[]> = {};
  for (const [type, h] of Object.entries(r.helpers)) helpers[`${type}_available_helpers`] = [...h.available];
  return {
    system_config: r.systemConfig,
    syscall_config: { have_bpf_syscall: true },
    program_types: r.programTypes,
    map_types: r.mapTypes,
    helpers,
    misc: r.misc,
  };
}

const PRIV: Record<number, string> = {
  0: 'bpf() syscall for unprivileged users is enabled',
  1: 'bpf() syscall restricted to privileged users (without recovery)',
  2: 'bpf() syscall restricted to privileged users (admin can change)',
  [-1]: 'Unable to retrieve required privileges for bpf() syscall',
};
const JIT: Record<number, string> = {
  0: 'JIT compiler is disabled',
  1: 'JIT compiler is enabled',
  2: 'JIT compiler is enabled with debugging traces in kernel logs',
  [-1]: 'Unable to retrieve JIT-compiler status',
};
const HARDEN: Record<number, string> = {
  0: 'JIT compiler hardening is disabled',
  1: 'JIT compiler hardening is enabled for unprivileged users',
  2: 'JIT compiler hardening is enabled for all users',
  [-1]: 'Unable to retrieve JIT hardening status',
};
const KALLSYMS: Record<number, string> = {
  0: 'JIT compiler kallsyms exports are disabled',
  1: 'JIT compiler kallsyms exports are enabled for root',
  2: 'JIT compiler kallsyms exports are enabled for all users',
  [-1]: 'Unable to retrieve JIT kallsyms export status',
};
const MISC: Record<string, string> = {
  have_large_insn_limit: 'Large program size limit',
  have_bounded_loops: 'Bounded loop support',
  have_v2_isa_extension: 'ISA extension v2',
  have_v3_isa_extension: 'ISA extension v3',
};

/** bpftool's text report. */
export function featureText(r: FeatureReport): string {
  const sc = r.systemConfig;
  const num = (k: string): number => (typeof sc[k] === 'number' ? (sc[k] as number) : -1);
  const pick = (table: Record<number, string>, v: number, unknown: string): string => table[v] ?? `${unknown} ${v}`;
  let out = 'Scanning system configuration...\n';
  out += `${pick(PRIV, num('unprivileged_bpf_disabled'), 'bpf() syscall restriction has unknown value')}\n`;
  out += `${pick(JIT, num('bpf_jit_enable'), 'JIT-compiler status has unknown value')}\n`;
  out += `${pick(HARDEN, num('bpf_jit_harden'), 'JIT hardening status has unknown value')}\n`;
  out += `${pick(KALLSYMS, num('bpf_jit_kallsyms'), 'JIT kallsyms exports status has unknown value')}\n`;
  const limit = num('bpf_jit_limit');
  out += limit === -1 ? 'Unable to retrieve global memory limit for JIT compiler for unprivileged users\n' : `Global memory limit for JIT compiler for unprivileged users is ${limit} bytes\n`;
  for (const [k, v] of Object.entries(sc)) if (k.startsWith('CONFIG_')) out += v === null ? `${k} is not set\n` : `${k} is set to ${v}\n`;
  out += '\nScanning system call availability...\nbpf() syscall is available\n';
  out += '\nScanning eBPF program types...\n';
  for (const [k, v] of Object.entries(r.programTypes)) out += `eBPF program_type ${k.replace(/^have_/, '').replace(/_prog_type$/, '')} is ${v ? '' : 'NOT '}available\n`;
  out += '\nScanning eBPF map types...\n';
  for (const [k, v] of Object.entries(r.mapTypes)) out += `eBPF map_type ${k.replace(/^have_/, '').replace(/_map_type$/, '')} is ${v ? '' : 'NOT '}available\n`;
  out += '\nScanning eBPF helper functions...\n';
  for (const [type, h] of Object.entries(r.helpers)) {
    out += `eBPF helpers supported for program type ${type}:\n`;
    if (h.skipped === 'type') out += '\tProgram type not supported\n';
    else if (h.skipped === 'unknown') out += '\tCould not determine which helpers are available\n';
    for (const name of h.available) out += `\t- ${name}\n`;
  }
  out += '\nScanning miscellaneous eBPF features...\n';
  for (const [k, v] of Object.entries(r.misc)) out += `${MISC[k] ?? k} is ${v ? '' : 'NOT '}available\n`;
  return `${out}\n`;
}

/** `bpfkit feature ...` on the real kernel. */
export function feature(args: CommandArgs, io: Io): number {
  return runFeature(args, io, createKernelSys());
}

/** `bpfkit feature ...` with an injected Sys. */
export function runFeature(args: CommandArgs, io: Io, sys: Sys): number {
  const words = args.rest(0);
  if (words[0] !== 'probe') throw new UsageError(words[0] === undefined ? 'missing command' : `unknown feature command '${words[0]}'`, featureUsage);
  const rest = words.slice(1);
  if (rest[0] === 'kernel') rest.shift();
  const full = rest[0] === 'full';
  if (full) rest.shift();
  if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}' (only 'feature probe [kernel] [full]' is supported)`, featureUsage);
  const report = probeKernelFeatures(sys, full);
  io.out(args.json ? json(featureJson(report), args.pretty) : featureText(report));
  return 0;
}
