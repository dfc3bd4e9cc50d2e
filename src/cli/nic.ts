// `bpfkit nic ...`: show, channels, features, rings, coalesce, rss, sysctl, audit and restore, in ethtool's words.

import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { NotSupportedError } from '../errors.js';
import { CHANNEL_KINDS, getChannels, setChannels, type Channels, type ChannelsChange } from '../kernel/ethtool/channels.js';
import { COALESCE_PARAMS, getCoalesce, setCoalesce } from '../kernel/ethtool/coalesce.js';
import { EthStringset } from '../kernel/ethtool/ethtool.generated.js';
import { EthtoolSocket } from '../kernel/ethtool/ethtool-socket.js';
import { getFeatures, setFeatures, type FeatureState } from '../kernel/ethtool/features.js';
import { getRings, setRings, type Rings, type RingsChange } from '../kernel/ethtool/rings.js';
import { equalTable, getRss, setRss, weightTable, type Rss, type RssChange } from '../kernel/ethtool/rss.js';
import { createKernelSys } from '../kernel/koffi-sys.js';
import type { Sys } from '../kernel/sys.js';
import { AUDIT_RULES, audit, type Finding } from '../nic/audit.js';
import { describeChange, type Change } from '../nic/change.js';
import { formatCpuList } from '../nic/cpu-list.js';
import { resolveFeatureName, shortFeatureName } from '../nic/feature-names.js';
import { checkDevice } from '../nic/queues.js';
import { takeSnapshot, type NicSnapshot } from '../nic/snapshot.js';
import { HostSysctlError, NIC_SYSCTLS, readSysctl, writeSysctl } from '../nic/sysctl.js';
import { applyChanges, captureState, FeatureNotChangedError, kernelNicControl, parseState, restoreState, serializeState, StateFileError } from '../nic/tuning.js';
import type { CommandArgs, OptionSpec } from './args.js';
import { UsageError } from './errors.js';
import { readInput } from './load-file.js';
import { type Io, json, snakeCaseKeys, table } from './output.js';

/** Usage text of `nic`. */
export const nicUsage = [
  'bpfkit nic show DEV',
  '       bpfkit nic channels DEV [rx N] [tx N] [other N] [combined N]',
  '       bpfkit nic features DEV [NAME on|off]...',
  '       bpfkit nic rings DEV [rx N] [rx-mini N] [rx-jumbo N] [tx N]',
  '       bpfkit nic coalesce DEV [PARAM VALUE]...',
  '       bpfkit nic rss DEV [equal N | weight W...] [hkey HEX] [hfunc NAME]',
  '       bpfkit nic sysctl [NAME[=VALUE]]...',
  '       bpfkit nic audit DEV [--rules ID,...] [--apply --save FILE]',
  '       bpfkit nic restore FILE        (all with --json|-j)',
].join('\n');

/** Options of `nic`. */
export const nicOptions: OptionSpec = {
  apply: { type: 'boolean' },
  save: { type: 'string' },
  rules: { type: 'string' },
};

/** `bpfkit nic ...` on the real kernel. */
export function nic(args: CommandArgs, io: Io): number {
  return runNic(args, io, createKernelSys());
}

const onOff = (b: boolean) => (b ? 'on' : 'off');
const hexBytes = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');

function count(word: string, value: string | undefined): number {
  if (value === undefined || !/^\d+$/.test(value)) throw new UsageError(`${word} needs a non-negative integer, got ${value === undefined ? 'nothing' : `'${value}'`}`, nicUsage);
  const n = Number(value);
  if (n > 0xffffffff) throw new UsageError(`${word} ${value} is out of range`, nicUsage);
  return n;
}

/** Pairs `WORD VALUE...` from `words`, each word from `allowed`. */
function pairs(words: readonly string[], allowed: readonly string[]): [string, string][] {
  if (words.length % 2 !== 0) throw new UsageError(`'${words[words.length - 1]}' needs a value`, nicUsage);
  const out: [string, string][] = [];
  for (let i = 0; i < words.length; i += 2) {
    const w = words[i]!;
    if (!allowed.includes(w)) throw new UsageError(`unknown parameter '${w}' (expected ${allowed.join(', ')})`, nicUsage);
    out.push([w, words[i + 1]!]);
  }
  return out;
}

function channelsText(dev: string, c: Channels): string {
  const v = (max: number, n: number) => (max === 0 ? 'n/a' : String(n));
  const rows = CHANNEL_KINDS.map((k) => [k[0]!.toUpperCase() + k.slice(1) + ':', v(c[`${k}Max`], c[`${k}Max`]), v(c[`${k}Max`], c[k])]);
  return `Channel parameters for ${dev}:\n${table(['', 'Pre-set maximums', 'Current'], rows)}`;
}

function featuresText(dev: string, fs: readonly FeatureState[]): string {
  const lines = fs.map((f) => {
    const short = shortFeatureName(f.name);
    const notes = [!f.changeable ? '[fixed]' : '', f.wanted !== f.active && f.changeable ? `[requested ${onOff(f.wanted)}]` : ''].filter(Boolean).join(' ');
    return `  ${f.name}: ${onOff(f.active)}${notes ? ` ${notes}` : ''}${short ? `  (${short})` : ''}`;
  });
  return `Features for ${dev}:\n${lines.join('\n')}\n`;
}

function ringsText(dev: string, r: Rings): string {
  const rows = [
    ['RX:', r.rxMax, r.rx],
    ['RX Mini:', r.rxMiniMax, r.rxMini],
    ['RX Jumbo:', r.rxJumboMax, r.rxJumbo],
    ['TX:', r.txMax, r.tx],
  ].map(([k, max, cur]) => [String(k), max === 0 ? 'n/a' : String(max), max === 0 ? 'n/a' : String(cur)]);
  return `Ring parameters for ${dev}:\n${table(['', 'Pre-set maximums', 'Current'], rows)}`;
}

function rssText(dev: string, r: Rss): string {
  const lines = [`RSS for ${dev}${r.context ? ` context ${r.context}` : ''}:`];
  if (r.indir.length === 0) lines.push('  indirection table: none (the driver has no RSS table)');
  else {
    lines.push(`  indirection table (${r.indir.length} entries):`);
    for (let i = 0; i < r.indir.length; i += 8) lines.push(`  ${String(i).padStart(5)}: ${r.indir.slice(i, i + 8).map((q) => String(q).padStart(5)).join('')}`);
  }
  lines.push(`  hash key: ${r.hkey.length ? hexBytes(r.hkey) : 'none'}`);
  lines.push(`  hash function: ${r.hfuncNames.join(', ') || 'none'}`);
  return `${lines.join('\n')}\n`;
}

function rssJson(r: Rss) {
  return { context: r.context, hfunc: r.hfuncNames, hfunc_bits: r.hfunc, indir: r.indir, hkey: hexBytes(r.hkey), ...(r.inputXfrm !== undefined ? { input_xfrm: r.inputXfrm } : {}) };
}

function snapshotJson(s: NicSnapshot) {
  return {
    ...s,
    features: Object.fromEntries(s.features.map((f) => [f.name, { active: f.active, wanted: f.wanted, fixed: !f.changeable }])),
    rss: s.rss ? rssJson(s.rss) : undefined,
  };
}

function showText(s: NicSnapshot): string {
  const out: string[] = [];
  const link = s.link ? `, link ${s.link.link === undefined ? '?' : s.link.link ? 'up' : 'down'}${s.link.speed ? ` ${s.link.speed}Mb/s` : ''}${s.link.duplex ? ` ${s.link.duplex}` : ''}` : '';
  out.push(`${s.device}: ifindex ${s.ifindex}, driver ${s.driver ?? '?'}${s.driverInfo?.busInfo ? ` (${s.driverInfo.busInfo})` : ''}, mtu ${s.mtu}${link}, ${s.cpus.length} CPUs online\n`);
  if (s.channels) out.push(channelsText(s.device, s.channels));
  if (s.rings) out.push(ringsText(s.device, s.rings));
  if (s.coalesce) out.push(`Coalesce parameters for ${s.device}:\n${Object.entries(s.coalesce).map(([k, v]) => `  ${k}: ${typeof v === 'boolean' ? onOff(v) : v}`).join('\n')}\n`);
  if (s.rss) out.push(rssText(s.device, s.rss));
  const on = s.features.filter((f) => f.active).map((f) => f.name);
  out.push(`Features on (${on.length} of ${s.features.length}; 'bpfkit nic features ${s.device}' lists all):\n  ${on.join(' ')}\n`);
  if (s.xdpFeatures) out.push(`XDP features: ${s.xdpFeatures.names.join(' ') || 'none'}${s.xdpFeatures.zcMaxSegs !== undefined ? ` (zc max segs ${s.xdpFeatures.zcMaxSegs})` : ''}\n`);
  const ids = [s.xdp.nativeProgId && `native id ${s.xdp.nativeProgId}`, s.xdp.genericProgId && `generic id ${s.xdp.genericProgId}`, s.xdp.offloadProgId && `offload id ${s.xdp.offloadProgId}`].filter(Boolean);
  out.push(`XDP attached: ${s.xdp.mode}${ids.length ? ` (${ids.join(', ')})` : ''}\n`);
  out.push(`TC attached: ${s.tc.length === 0 ? 'none' : s.tc.map((t) => `${t.direction} ${t.via} id ${t.progId}${t.name ? ` (${t.name})` : ''}`).join(', ')}\n`);
  if (s.queues.length) {
    const rows = s.queues.map((q) => [`${q.kind}-${q.index}`, q.cpus === undefined ? '-' : q.cpus.length ? formatCpuList(q.cpus) : 'off', q.flowCount ?? '']);
    out.push(`Queues:\n${table(['queue', 'rps/xps cpus', 'rps_flow_cnt'], rows)}`);
  }
  if (s.irqs.length) {
    const rows = s.irqs.map((i) => [i.irq, i.name, i.affinity ? formatCpuList(i.affinity) : '?', i.effective ? formatCpuList(i.effective) : '?', i.counts.reduce((a, b) => a + b, 0)]);
    out.push(`IRQs:\n${table(['irq', 'name', 'affinity', 'effective', 'count'], rows)}`);
  }
  const unavailable = Object.entries(s.unavailable);
  if (unavailable.length) out.push(`Not available: ${unavailable.map(([k, v]) => `${k} (${v})`).join('; ')}\n`);
  return out.join('\n');
}

function findingsText(dev: string, fs: readonly Finding[]): string {
  if (fs.length === 0) return `${dev}: no findings\n`;
  return fs
    .map((f, i) => {
      const fix = [f.fix.bpfkit && `    bpfkit:  ${f.fix.bpfkit}`, f.fix.ethtool && `    ethtool: ${f.fix.ethtool}`, f.fix.shell && `    shell:   ${f.fix.shell}`].filter(Boolean).join('\n');
      return `${i + 1}. [${f.severity}] ${f.title} (${f.id})\n    evidence: ${f.evidence}\n    why: ${f.reason}\n${fix}\n${f.changes.length ? '' : '    (not applied by --apply)\n'}`;
    })
    .join('\n');
}

/** Writes `text` to `path` atomically (temp file + rename), readable by the owner only. */
function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, path);
  } catch (e) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // nothing to clean
    }
    throw new StateFileError(path, `cannot write the state file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); nothing was changed`);
  }
}

/** `bpfkit nic ...` with an injected Sys (tests pass a fake or a counting one). */
export function runNic(args: CommandArgs, io: Io, sys: Sys): number {
  const sub = args.positional(0, 'subcommand (show, channels, features, rings, coalesce, rss, sysctl, audit, restore)', nicUsage);
  const out = (text: string, value: unknown) => io.out(args.json ? json(snakeCaseKeys(value), args.pretty) : text);
  if (sub === 'sysctl') return sysctlCmd(args, sys, out);
  if (sub === 'restore') {
    const file = args.positional(1, 'FILE', nicUsage);
    args.done(nicUsage);
    const state = parseState(new TextDecoder().decode(readInput(file)), file);
    using sock = EthtoolSocket.open(sys);
    const steps = restoreState(kernelNicControl(sys, sock), state, file);
    out(`restored ${steps.length} setting(s) from ${file}:\n${steps.map((s) => `  ${s}\n`).join('')}`, { restored: steps, file });
    return 0;
  }
  const known = ['show', 'channels', 'features', 'rings', 'coalesce', 'rss', 'audit'];
  if (!known.includes(sub)) throw new UsageError(`unknown nic subcommand '${sub}'`, nicUsage);
  const dev = args.positional(1, 'DEV', nicUsage);
  const rest = args.rest(2);
  using sock = EthtoolSocket.open(sys);
  switch (sub) {
    case 'show': {
      if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`, nicUsage);
      const s = takeSnapshot(sys, dev, sock);
      out(showText(s), snapshotJson(s));
      return 0;
    }
    case 'channels': {
      const change: ChannelsChange = {};
      for (const [k, v] of pairs(rest, CHANNEL_KINDS)) change[k as keyof ChannelsChange] = count(k, v);
      if (rest.length) setChannels(sock, dev, change);
      const c = getChannels(sock, dev);
      out(channelsText(dev, c), c);
      return 0;
    }
    case 'features': {
      let fs = getFeatures(sock, dev);
      if (rest.length) {
        const names = new Set(fs.map((f) => f.name));
        const changeable = new Set(fs.filter((f) => f.changeable).map((f) => f.name));
        const change = new Map<string, boolean>();
        for (const [name, v] of pairsAny(rest)) {
          if (v !== 'on' && v !== 'off') throw new UsageError(`feature ${name}: expected on or off, got '${v}'`, nicUsage);
          const resolved = resolveFeatureName(name, names, dev);
          // A group name (tx, tso) sets the members the device lets change, as ethtool -K does; a single fixed one is still asked for (and reported).
          const members = resolved.length > 1 && resolved.some((n) => changeable.has(n)) ? resolved.filter((n) => changeable.has(n)) : resolved;
          for (const n of members) change.set(n, v === 'on');
        }
        setFeatures(sock, dev, change);
        fs = getFeatures(sock, dev);
        const now = new Map(fs.map((f) => [f.name, f.active]));
        const kept = [...change].filter(([n, on]) => now.get(n) !== on).map(([n]) => n);
        if (kept.length) throw new FeatureNotChangedError(dev, kept);
        const changed = fs.filter((f) => change.has(f.name));
        out(`Changed for ${dev}:\n${changed.map((f) => `  ${f.name}: ${onOff(f.active)}\n`).join('')}`, Object.fromEntries(changed.map((f) => [f.name, f.active])));
        return 0;
      }
      out(featuresText(dev, fs), Object.fromEntries(fs.map((f) => [f.name, { active: f.active, wanted: f.wanted, fixed: !f.changeable }])));
      return 0;
    }
    case 'rings': {
      const keys: Record<string, keyof RingsChange> = { rx: 'rx', 'rx-mini': 'rxMini', 'rx-jumbo': 'rxJumbo', tx: 'tx', 'rx-buf-len': 'rxBufLen', 'cqe-size': 'cqeSize' };
      const change: RingsChange = {};
      for (const [k, v] of pairs(rest, Object.keys(keys))) change[keys[k]!] = count(k, v);
      if (rest.length) setRings(sock, dev, change);
      const r = getRings(sock, dev);
      out(ringsText(dev, r), r);
      return 0;
    }
    case 'coalesce': {
      const change: Record<string, number | boolean> = {};
      for (const [k, v] of pairs(rest, Object.keys(COALESCE_PARAMS))) {
        if (COALESCE_PARAMS[k]!.kind === 'bool') {
          if (v !== 'on' && v !== 'off') throw new UsageError(`${k}: expected on or off, got '${v}'`, nicUsage);
          change[k] = v === 'on';
        } else change[k] = count(k, v);
      }
      if (rest.length) setCoalesce(sock, dev, change);
      const c = getCoalesce(sock, dev);
      out(`Coalesce parameters for ${dev}:\n${Object.entries(c).map(([k, v]) => `  ${k}: ${typeof v === 'boolean' ? onOff(v) : v}\n`).join('')}`, c);
      return 0;
    }
    case 'rss':
      return rssCmd(sock, dev, rest, out);
    case 'audit':
      return auditCmd(args, sys, sock, dev, rest, out);
  }
  return 2;
}

function pairsAny(words: readonly string[]): [string, string][] {
  if (words.length % 2 !== 0) throw new UsageError(`'${words[words.length - 1]}' needs on or off`, nicUsage);
  const out: [string, string][] = [];
  for (let i = 0; i < words.length; i += 2) out.push([words[i]!, words[i + 1]!]);
  return out;
}

function rssCmd(sock: EthtoolSocket, dev: string, rest: readonly string[], out: (t: string, v: unknown) => void): number {
  if (rest.length === 0) {
    const r = getRss(sock, dev);
    out(rssText(dev, r), rssJson(r));
    return 0;
  }
  const change: RssChange = {};
  let table: 'equal' | 'weight' | undefined;
  let tableArgs: number[] = [];
  for (let i = 0; i < rest.length; ) {
    const w = rest[i]!;
    if (w === 'equal') {
      table = 'equal';
      tableArgs = [count('equal', rest[i + 1])];
      i += 2;
    } else if (w === 'weight') {
      table = 'weight';
      tableArgs = [];
      i++;
      while (i < rest.length && /^\d+$/.test(rest[i]!)) tableArgs.push(count('weight', rest[i++]));
      if (tableArgs.length === 0) throw new UsageError('weight needs one or more numbers', nicUsage);
    } else if (w === 'hkey') {
      const hex = (rest[i + 1] ?? '').replace(/:/g, '');
      if (!/^([0-9a-fA-F]{2})+$/.test(hex)) throw new UsageError(`hkey needs hex bytes (be:ef:... or beef...), got '${rest[i + 1] ?? ''}'`, nicUsage);
      change.hkey = Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)));
      i += 2;
    } else if (w === 'hfunc') {
      const name = rest[i + 1];
      if (name === undefined) throw new UsageError('hfunc needs a name', nicUsage);
      const funcs = sock.strings(EthStringset.RSS_HASH_FUNCS);
      const idx = funcs.indexOf(name);
      if (idx < 0) throw new UsageError(`unknown hash function '${name}' (this kernel knows ${funcs.filter(Boolean).join(', ')})`, nicUsage);
      change.hfunc = 1 << idx;
      i += 2;
    } else throw new UsageError(`unknown rss parameter '${w}'`, nicUsage);
  }
  if (table) {
    const size = getRss(sock, dev).indir.length;
    if (size === 0) throw new NotSupportedError(`RSS indirection table of ${dev}`, undefined, 'the device reports no table');
    change.indir = table === 'equal' ? equalTable(size, tableArgs[0]!) : weightTable(size, tableArgs);
  }
  setRss(sock, dev, change);
  const r = getRss(sock, dev);
  out(rssText(dev, r), rssJson(r));
  return 0;
}

function sysctlCmd(args: CommandArgs, sys: Sys, out: (t: string, v: unknown) => void): number {
  const words = args.rest(1);
  const result: Record<string, string> = {};
  if (words.length === 0) {
    // Inside a network namespace the host-wide sysctls are invisible: say so instead of '?'.
    const hostOnly: string[] = [];
    const values: Record<string, string | null> = {};
    for (const s of NIC_SYSCTLS) {
      try {
        values[s.name] = readSysctl(sys, s.name);
      } catch (e) {
        values[s.name] = null;
        if (e instanceof HostSysctlError) hostOnly.push(s.name);
      }
    }
    const shown = (n: string): string => values[n] ?? (hostOnly.includes(n) ? '(host)' : '?');
    const rows = NIC_SYSCTLS.map((s) => [s.name, shown(s.name), s.role]);
    const note = hostOnly.length ? `  (host): host-wide, not visible inside this network namespace; it applies here too — read it on the host\n` : '';
    out(table(['sysctl', 'value', 'role'], rows) + note, { sysctls: values, host_only: hostOnly });
    return 0;
  }
  for (const w of words) {
    const eq = w.indexOf('=');
    if (eq < 0) result[w] = readSysctl(sys, w);
    else {
      const name = w.slice(0, eq);
      writeSysctl(sys, name, w.slice(eq + 1));
      result[name] = readSysctl(sys, name);
    }
  }
  out(Object.entries(result).map(([k, v]) => `${k} = ${v}\n`).join(''), result);
  return 0;
}

function auditCmd(args: CommandArgs, sys: Sys, sock: EthtoolSocket, dev: string, rest: readonly string[], out: (t: string, v: unknown) => void): number {
  if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`, nicUsage);
  const apply = args.flag('apply');
  const save = args.value('save');
  if (apply && save === undefined) throw new UsageError('--apply needs --save FILE (the state that `nic restore FILE` puts back)', nicUsage);
  if (!apply && save !== undefined) throw new UsageError('--save only goes with --apply', nicUsage);
  const ruleIds = args.value('rules')?.split(',').filter(Boolean);
  const rules = ruleIds ? ruleIds.map((id) => AUDIT_RULES.find((r) => r.id === id) ?? fail(id)) : AUDIT_RULES;
  checkDevice(sys, dev);
  const snapshot = takeSnapshot(sys, dev, sock);
  const findings = audit(snapshot, rules);
  if (!apply) {
    out(findingsText(dev, findings), { device: dev, findings });
    return 0;
  }
  const changes: Change[] = findings.flatMap((f) => f.changes);
  if (changes.length === 0) {
    out(`${findingsText(dev, findings)}\nnothing to apply\n`, { device: dev, findings, applied: [] });
    return 0;
  }
  const ctl = kernelNicControl(sys, sock);
  const state = captureState(ctl, changes);
  writeAtomic(save!, serializeState(state));
  const steps = applyChanges(ctl, changes);
  out(`${findingsText(dev, findings)}\napplied (saved the previous state to ${save}; undo with: bpfkit nic restore ${save}):\n${steps.map((s) => `  ${s}\n`).join('')}`, {
    device: dev,
    findings,
    applied: changes.map(describeChange),
    saved: save,
  });
  return 0;
}

function fail(id: string): never {
  throw new UsageError(`unknown audit rule '${id}' (rules: ${AUDIT_RULES.map((r) => r.id).join(', ')})`, nicUsage);
}
