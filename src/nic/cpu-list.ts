// CPU sets as the kernel spells them: lists ("0-3,8") and hex masks ("00000000,0000000f").
import { InvalidArgumentError } from '../kernel/bpf/input-errors.js';

/** Parses a CPU list (`/sys/devices/system/cpu/online`, `smp_affinity_list`): `"0-3,8"` -> `[0,1,2,3,8]`. */
export function parseCpuList(text: string): number[] {
  const out = new Set<number>();
  const trimmed = text.trim();
  if (trimmed === '') return [];
  for (const part of trimmed.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new InvalidArgumentError('CPU list', `cannot parse "${trimmed}"`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi - lo > 65535) throw new InvalidArgumentError('CPU list', `bad range ${part}`);
    for (let c = lo; c <= hi; c++) out.add(c);
  }
  return [...out].sort((a, b) => a - b);
}

/** Formats CPUs as the shortest list: `[0,1,2,3,8]` -> `"0-3,8"`; an empty set is `""`. */
export function formatCpuList(cpus: Iterable<number>): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** Parses a hex CPU mask (`rps_cpus`, `smp_affinity`): 32-bit words, most significant first, comma-separated. */
export function parseCpuMask(text: string): number[] {
  const words = text.trim().split(',');
  const out: number[] = [];
  for (let w = 0; w < words.length; w++) {
    const word = words[words.length - 1 - w]!;
    if (!/^[0-9a-fA-F]{1,8}$/.test(word)) throw new InvalidArgumentError('CPU mask', `cannot parse "${text.trim()}"`);
    const v = parseInt(word, 16);
    for (let b = 0; b < 32; b++) if ((v >>> b) & 1) out.push(w * 32 + b);
  }
  return out.sort((a, b) => a - b);
}

/** Formats CPUs as a hex mask the kernel accepts (`[0,1]` -> `"3"`, CPU 33 -> `"2,00000000"`). */
export function formatCpuMask(cpus: Iterable<number>): string {
  const list = [...cpus];
  const words = Math.max(1, ...list.map((c) => Math.floor(c / 32) + 1));
  const mask = new Array<number>(words).fill(0);
  for (const c of list) {
    if (!Number.isInteger(c) || c < 0) throw new InvalidArgumentError('CPU', `${c} is not a CPU number`);
    mask[Math.floor(c / 32)]! |= 1 << (c % 32);
  }
  return mask
    .reverse()
    .map((w, i) => (w >>> 0).toString(16).padStart(i === 0 ? 1 : 8, '0'))
    .join(',');
}
