// The `.kconfig` map's contents: LINUX_KERNEL_VERSION and CONFIG_* values, laid out as libbpf lays them out.
import { gunzipSync } from 'node:zlib';
import type { Btf } from '../../btf/index.js';
import { BpfkitError } from '../../errors.js';
import type { ExternSpec, MapSpec } from '../../elf/object-spec.js';
import type { Sys } from '../sys.js';

/** A non-weak `__kconfig` extern has no value on this system. */
export class KconfigError extends BpfkitError {
  constructor(
    /** The extern's name. */
    readonly extern: string,
    /** Why. */
    readonly detail: string,
  ) {
    super('ERR_KCONFIG', `extern (kconfig) "${extern}": ${detail}`);
  }
}

/** `KERNEL_VERSION(a, b, c)` of a release string (`6.18.44-fc` -> 0x061218, patch capped at 255). */
export function kernelVersionCode(release: string): number {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release.trim());
  if (!m) throw new KconfigError('LINUX_KERNEL_VERSION', `cannot parse kernel release "${release.trim()}"`);
  return (Number(m[1]) << 16) + (Number(m[2]) << 8) + Math.min(255, Number(m[3] ?? 0));
}

/** Parses a kernel .config (`CONFIG_X=y`, `CONFIG_HZ=250`, `CONFIG_S="str"`, `# CONFIG_Y is not set`). */
export function parseKconfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, m[2]!);
    const n = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(line.trim());
    if (n) out.set(n[1]!, 'n');
  }
  return out;
}

/** Reads the running kernel's config through `sys`: /proc/config.gz, else /boot/config-$(uname -r); undefined when neither is readable. */
export function readKernelConfig(sys: Sys): Map<string, string> | undefined {
  try {
    return parseKconfig(new TextDecoder().decode(gunzipSync(sys.readFile('/proc/config.gz'))));
  } catch {
    try {
      const release = new TextDecoder().decode(sys.readFile('/proc/sys/kernel/osrelease')).trim();
      return parseKconfig(new TextDecoder().decode(sys.readFile(`/boot/config-${release}`)));
    } catch {
      return undefined;
    }
  }
}

type KcfgType = { kind: 'bool' | 'tristate' | 'char' } | { kind: 'int'; size: number; signed: boolean } | { kind: 'string'; size: number };

function kcfgType(btf: Btf | undefined, ext: ExternSpec): KcfgType {
  const size = ext.size ?? 0;
  if (!btf || ext.btfTypeId === undefined) return { kind: 'int', size, signed: false };
  const v = btf.typeById(ext.btfTypeId);
  const t = btf.skipTypedefs(v.kind === 'var' ? v.type : v.id);
  if (t.kind === 'int') {
    if (t.bool) return { kind: 'bool' };
    if (t.char && t.size === 1) return { kind: 'char' };
    return { kind: 'int', size: t.size, signed: t.signed };
  }
  if (t.kind === 'enum' && t.name === 'libbpf_tristate') return { kind: 'tristate' };
  if (t.kind === 'enum') return { kind: 'int', size: t.size, signed: t.signed };
  if (t.kind === 'array') return { kind: 'string', size: t.nelems };
  return { kind: 'int', size, signed: false };
}

function writeValue(out: DataView, off: number, ext: ExternSpec, type: KcfgType, raw: string): void {
  const yn = (v: string): number | undefined => ({ y: 1, n: 0, m: 2 })[v];
  switch (type.kind) {
    case 'bool': {
      const v = yn(raw);
      if (v === undefined || v === 2) throw new KconfigError(ext.name, `value "${raw}" is not a bool`);
      out.setUint8(off, v);
      return;
    }
    case 'tristate': {
      const v = yn(raw);
      if (v === undefined) throw new KconfigError(ext.name, `value "${raw}" is not a tristate`);
      out.setUint32(off, v, true);
      return;
    }
    case 'char':
      out.setUint8(off, raw.charCodeAt(0) & 0xff);
      return;
    case 'string': {
      const m = /^"(.*)"$/.exec(raw);
      if (!m) throw new KconfigError(ext.name, `value ${raw} is not a string`);
      const bytes = new TextEncoder().encode(m[1]);
      for (let i = 0; i < Math.min(bytes.length, type.size - 1); i++) out.setUint8(off + i, bytes[i]!);
      return;
    }
    case 'int': {
      const yv = yn(raw);
      let n: bigint;
      try {
        n = yv !== undefined ? BigInt(yv) : BigInt(raw);
      } catch {
        throw new KconfigError(ext.name, `value "${raw}" is not a number`);
      }
      if (type.size === 1) out.setUint8(off, Number(BigInt.asUintN(8, n)));
      else if (type.size === 2) out.setUint16(off, Number(BigInt.asUintN(16, n)), true);
      else if (type.size === 4) out.setUint32(off, Number(BigInt.asUintN(32, n)), true);
      else if (type.size === 8) out.setBigUint64(off, BigInt.asUintN(64, n), true);
      else throw new KconfigError(ext.name, `integer of ${type.size} bytes`);
      return;
    }
  }
}

/**
 * Builds the value of the `.kconfig` map: each kconfig extern at its offset. LINUX_KERNEL_VERSION
 * comes from the kernel release, CONFIG_* from the kernel config; a missing weak extern stays 0,
 * a missing strong one throws {@link KconfigError}.
 */
export function kconfigValue(sys: Sys, map: MapSpec, externs: readonly ExternSpec[], btf: Btf | undefined): Uint8Array {
  const value = new Uint8Array(map.valueSize);
  const view = new DataView(value.buffer);
  let config: Map<string, string> | undefined | null = null;
  for (const ext of externs) {
    if (ext.kind !== 'kconfig' || ext.offset === undefined) continue;
    const type = kcfgType(btf, ext);
    let raw: string | undefined;
    if (ext.name === 'LINUX_KERNEL_VERSION') {
      raw = String(kernelVersionCode(new TextDecoder().decode(sys.readFile('/proc/sys/kernel/osrelease'))));
    } else if (ext.name.startsWith('CONFIG_')) {
      if (config === null) config = readKernelConfig(sys);
      raw = config?.get(ext.name);
      if (raw === undefined && !ext.weak) throw new KconfigError(ext.name, config ? 'not set in the kernel config' : 'the kernel config is not readable (/proc/config.gz, /boot/config-*)');
    } else if (!ext.weak) {
      throw new KconfigError(ext.name, 'unknown kconfig extern (only LINUX_KERNEL_VERSION and CONFIG_* are provided)');
    }
    if (raw !== undefined) writeValue(view, ext.offset, ext, type, raw);
  }
  return value;
}
