// libxdp's run configuration of an XDP program: priority and chain-call actions, from `.xdp_run_config` BTF or defaults.
import type { Btf } from '../btf/index.js';
import { BpfkitError } from '../errors.js';
import type { ObjectSpec } from '../elf/object-spec.js';

/** XDP actions by number, as libxdp names them in `.xdp_run_config` and `--actions`. */
export const XDP_ACTION_NAMES = ['XDP_ABORTED', 'XDP_DROP', 'XDP_PASS', 'XDP_TX', 'XDP_REDIRECT'] as const;

/** libxdp's default run priority. */
export const DEFAULT_XDP_PRIORITY = 50;

/** libxdp's default chain-call actions: XDP_PASS only (bit 2). */
export const DEFAULT_CHAIN_CALL_ACTIONS = 1 << 2;

/**
 * The stub return value of libxdp's dispatcher (31): always part of each slot's chain-call set,
 * so a detached slot continues the chain.
 */
export const XDP_DISPATCHER_RETVAL = 31;

/** When and where an XDP program runs in a multi-program chain. */
export interface XdpRunConfig {
  /** Run priority: lower runs first. */
  readonly priority: number;
  /** Bit N set: verdict N continues the chain (XDP_PASS is bit 2). */
  readonly chainCallActions: number;
  /** Where the values came from: the object's `.xdp_run_config` BTF, or libxdp's defaults. */
  readonly source: 'btf' | 'default';
}

/** Bad `.xdp_run_config` metadata or a bad `--actions` / `--prio` value. */
export class XdpRunConfigError extends BpfkitError {
  constructor(message: string) {
    super('ERR_XDP_RUN_CONFIG', message);
  }
}

/** `0b101` -> `['XDP_ABORTED', 'XDP_PASS']` (bits past XDP_REDIRECT as numbers). */
export function actionNames(mask: number): string[] {
  const out: string[] = [];
  for (let bit = 0; bit < 31; bit++) if (mask & (1 << bit)) out.push(XDP_ACTION_NAMES[bit] ?? String(bit));
  return out;
}

/** Parses `pass,drop` / `XDP_PASS,XDP_DROP` (case-insensitive) into a chain-call bit mask. */
export function parseActions(text: string): number {
  let mask = 0;
  for (const raw of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const name = raw.toUpperCase().startsWith('XDP_') ? raw.toUpperCase() : `XDP_${raw.toUpperCase()}`;
    const bit = (XDP_ACTION_NAMES as readonly string[]).indexOf(name);
    if (bit < 0) throw new XdpRunConfigError(`unknown XDP action '${raw}' (expected ${XDP_ACTION_NAMES.map((n) => n.slice(4).toLowerCase()).join(', ')})`);
    mask |= 1 << bit;
  }
  if (mask === 0) throw new XdpRunConfigError('no chain-call action given (e.g. pass or pass,drop)');
  return mask;
}

/** Parses a run priority (a u32, as libxdp stores it). */
export function parsePriority(text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) > 0xffff_ffff) throw new XdpRunConfigError(`priority must be an integer 0..4294967295, got '${text}'`);
  return Number(text);
}

/** `__uint(name, N)` is a member of type `int (*)[N]`: N. */
function uintMember(btf: Btf, typeId: number, where: string): number {
  const ptr = btf.skipQualifiers(typeId);
  if (ptr.kind !== 'ptr') throw new XdpRunConfigError(`${where}: expected __uint(...) (a pointer to an array), found ${ptr.kind}`);
  const arr = btf.skipQualifiers(ptr.type);
  if (arr.kind !== 'array') throw new XdpRunConfigError(`${where}: expected __uint(...) (a pointer to an array), found a pointer to ${arr.kind}`);
  return arr.nelems;
}

/**
 * The run configuration of program `progName` as libxdp reads it: the VAR `_<progName>` in the
 * `.xdp_run_config` DATASEC, a struct whose `priority` member gives the priority and whose
 * `XDP_*` members set chain-call actions (`__uint(XDP_DROP, 1)`). Without it: priority 50,
 * chain-call actions XDP_PASS.
 */
export function xdpRunConfig(spec: Pick<ObjectSpec, 'btf'>, progName: string): XdpRunConfig {
  const btf = spec.btf;
  const defaults: XdpRunConfig = { priority: DEFAULT_XDP_PRIORITY, chainCallActions: DEFAULT_CHAIN_CALL_ACTIONS, source: 'default' };
  if (!btf) return defaults;
  const sec = btf.typesByName('.xdp_run_config').find((t) => t.kind === 'datasec');
  if (!sec || sec.kind !== 'datasec') return defaults;
  for (const v of sec.vars) {
    const varType = btf.typeById(v.type);
    if (varType.kind !== 'var' || varType.name !== `_${progName}`) continue;
    const st = btf.skipQualifiers(varType.type);
    if (st.kind !== 'struct') throw new XdpRunConfigError(`.xdp_run_config: _${progName} is a ${st.kind}, expected a struct`);
    let priority = DEFAULT_XDP_PRIORITY;
    let actions = 0;
    for (const m of st.members) {
      const where = `.xdp_run_config: _${progName}.${m.name}`;
      if (m.name === 'priority') {
        priority = uintMember(btf, m.type, where);
        continue;
      }
      const bit = (XDP_ACTION_NAMES as readonly string[]).indexOf(m.name);
      if (bit < 0) throw new XdpRunConfigError(`${where}: unknown member (expected priority or ${XDP_ACTION_NAMES.join(', ')})`);
      if (uintMember(btf, m.type, where) !== 0) actions |= 1 << bit;
    }
    return { priority, chainCallActions: actions === 0 ? DEFAULT_CHAIN_CALL_ACTIONS : actions, source: 'btf' };
  }
  return defaults;
}

/** One program of a chain, for {@link sortChain}: what libxdp's cmp_xdp_programs compares. */
export interface ChainOrderKey {
  readonly priority: number;
  readonly name: string;
  /** Already on the interface (sorted before programs being added at the same priority and name). */
  readonly loaded: boolean;
  /** Instruction count (smaller first), then load sequence, as tie-breakers. */
  readonly size: number;
  readonly sequence: number;
}

/**
 * libxdp's run order: by priority, then by function name, loaded programs before new ones,
 * then by size, then by load sequence. Returns a sorted copy.
 */
export function sortChain<T extends ChainOrderKey>(programs: readonly T[]): T[] {
  return [...programs].sort(
    (a, b) =>
      a.priority - b.priority ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) ||
      Number(b.loaded) - Number(a.loaded) ||
      a.size - b.size ||
      a.sequence - b.sequence,
  );
}

/** True when `verdict` continues the chain past a program with chain-call set `mask` (verdicts past 31 end it). */
export function continuesChain(mask: number, verdict: number): boolean {
  return verdict >= 0 && verdict < 32 && ((mask >>> 0) & (1 << verdict)) !== 0;
}
