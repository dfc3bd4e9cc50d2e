// A register's state as the kernel's verifier log prints it (kernel/bpf/log.c: print_reg_state, verbose_snum/unum).
import { isPktPointer, type Reg, regTypeStr, S32_MAX, S32_MIN, S64_MAX, S64_MIN, U32_MAX, U64_MAX } from './reg-state.js';
import { tnumIsConst, tnumIsUnknown, tnumString } from './tnum.js';

/** The kernel's verbose_snum: decimal for small values, hex otherwise. */
export function snum(v: bigint): string {
  const s = BigInt.asIntN(64, v);
  if (s >= -32768n && s <= 32767n) return s.toString();
  return `${s < 0n ? '-' : ''}0x${(s < 0n ? -s : s).toString(16)}`;
}

/** The kernel's verbose_unum. */
export function unum(v: bigint): string {
  const u = BigInt.asUintN(64, v);
  if (u <= 65535n) return u.toString();
  return `0x${u.toString(16)}`;
}

/** Bounds as print_scalar_ranges prints them (`smin=..,umax=..`), omitting the trivial ones. */
function scalarRanges(r: Reg): string[] {
  const out: string[] = [];
  const items: [string, bigint, boolean, boolean][] = [
    ['smin', r.smin, r.smin === S64_MIN, true],
    ['smax', r.smax, r.smax === S64_MAX, true],
    ['umin', r.umin, r.umin === 0n, false],
    ['umax', r.umax, r.umax === U64_MAX, false],
    ['smin32', r.s32min, r.s32min === S32_MIN, true],
    ['smax32', r.s32max, r.s32max === S32_MAX, true],
    ['umin32', r.u32min, r.u32min === 0n, false],
    ['umax32', r.u32max, r.u32max === U32_MAX, false],
  ];
  const done = new Set<number>();
  for (let i = 0; i < items.length; i++) {
    if (done.has(i)) continue;
    const [name, v, trivial, signed] = items[i]!;
    if (trivial) continue;
    // Merge equal values: the kernel prints `smin=smin32=0`.
    let label = name;
    for (let j = i + 1; j < items.length; j++) {
      const [n2, v2, t2, s2] = items[j]!;
      if (t2 || done.has(j)) continue;
      const same = signed === s2 ? v2 === v : BigInt.asUintN(64, v2) === BigInt.asUintN(64, v) && v >= 0n;
      if (same) {
        label += `=${n2}`;
        done.add(j);
      }
    }
    out.push(`${label}=${signed ? snum(v) : unum(v)}`);
  }
  return out;
}

/** One register's state as print_reg_state prints it: `ctx()`, `fp-8`, `pkt(id=1,off=14,r=14)`, `scalar(umax=255)`, `42`. */
export function formatReg(r: Reg): string {
  if (r.type === 'scalar' && tnumIsConst(r.var)) return snum(r.var.value);
  if (r.type === 'stack' && tnumIsConst(r.var)) return `fp${snum(BigInt(r.off) + BigInt.asIntN(64, r.var.value))}`;
  const parts: string[] = [];
  if (r.id) parts.push(`id=${r.id}`);
  if (r.refObjId) parts.push(`ref_obj_id=${r.refObjId}`);
  if (r.type === 'map_ptr' || r.type === 'map_value' || r.type === 'map_key') {
    if (r.map && r.map.name) parts.push(`map=${r.map.name}`);
    if (r.map) parts.push(`ks=${r.map.keySize},vs=${r.map.valueSize}`);
  }
  if (r.type !== 'scalar' && r.off) parts.push(`off=${snum(BigInt(r.off))}`);
  if (isPktPointer(r)) parts.push(`r=${unum(BigInt(r.range < 0 ? 0 : r.range))}`);
  if (r.type === 'mem') parts.push(`sz=${r.memSize}`);
  if (tnumIsConst(r.var)) {
    if (r.var.value !== 0n) parts.push(`imm=${snum(r.var.value)}`);
  } else {
    parts.push(...scalarRanges(r));
    if (!tnumIsUnknown(r.var)) parts.push(`var_off=${tnumString(r.var)}`);
  }
  return `${regTypeStr(r)}(${parts.join(',')})`;
}
