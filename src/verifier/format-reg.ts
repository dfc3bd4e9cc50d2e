// A register's state as the kernel's verifier log prints it (kernel/bpf/log.c: print_reg_state, verbose_snum/unum).
import { isPktPointer, type Reg, regTypeStr, S32_MAX, S32_MIN, S64_MAX, S64_MIN, U32_MAX, U64_MAX } from './reg-state.js';
import { tnumIsConst, tnumIsUnknown, tnumString } from './tnum.js';

/** The kernel's verbose_snum: decimal for small values, hex otherwise. */
export function snum(v: bigint): string {
  const s = BigInt.asIntN(64, v);
  if (s >= -32768n && s <= 32767n) return s.toString();
  // %#llx of the s64: a negative value prints as its two's complement.
  return `0x${BigInt.asUintN(64, s).toString(16)}`;
}

/** The kernel's verbose_unum. */
export function unum(v: bigint): string {
  const u = BigInt.asUintN(64, v);
  if (u <= 65535n) return u.toString();
  return `0x${u.toString(16)}`;
}

/** Bounds as print_scalar_ranges prints them (`smin=..,umax=..`), omitting the trivial ones. */
function scalarRanges(r: Reg): string[] {
  // The kernel's order and pairing: each bound is merged with the ones 2, 4 and 6 places later
  // that hold the same 64-bit value and sign (smin with umin, smin32, umin32; smax with umax...).
  // A 32-bit signed bound printed in hex is its u32, not the sign-extended s64.
  const s32 = (v: bigint): bigint => (v >= -32768n && v <= 32767n ? BigInt.asUintN(64, v) : BigInt.asUintN(32, v));
  const items: { name: string; val: bigint; omit: boolean }[] = [
    { name: 'smin', val: BigInt.asUintN(64, r.smin), omit: r.smin === S64_MIN },
    { name: 'smax', val: BigInt.asUintN(64, r.smax), omit: r.smax === S64_MAX },
    { name: 'umin', val: r.umin, omit: r.umin === 0n },
    { name: 'umax', val: r.umax, omit: r.umax === U64_MAX },
    { name: 'smin32', val: s32(r.s32min), omit: r.s32min === S32_MIN },
    { name: 'smax32', val: s32(r.s32max), omit: r.s32max === S32_MAX },
    { name: 'umin32', val: r.u32min, omit: r.u32min === 0n },
    { name: 'umax32', val: r.u32max, omit: r.u32max === U32_MAX },
  ];
  const out: string[] = [];
  const negative = (m: { name: string; val: bigint }): boolean => m.name[0] === 's' && BigInt.asIntN(64, m.val) < 0n;
  for (let i = 0; i < items.length; i++) {
    const m1 = items[i]!;
    if (m1.omit) continue;
    let label = m1.name;
    for (let j = i + 2; j < items.length; j += 2) {
      const m2 = items[j]!;
      if (m2.omit || m2.val !== m1.val || negative(m2) !== negative(m1)) continue;
      m2.omit = true;
      label += `=${m2.name}`;
    }
    out.push(`${label}=${m1.name[0] === 's' ? snum(m1.val) : unum(m1.val)}`);
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
  // A negative range (AT_PKT_END, BEYOND_PKT_END) prints as the kernel's int converted to u64.
  if (isPktPointer(r)) parts.push(`r=${unum(BigInt.asUintN(64, BigInt(r.range)))}`);
  if (r.type === 'mem') parts.push(`sz=${r.memSize}`);
  if (tnumIsConst(r.var)) {
    if (r.var.value !== 0n) parts.push(`imm=${snum(r.var.value)}`);
  } else {
    parts.push(...scalarRanges(r));
    if (!tnumIsUnknown(r.var)) parts.push(`var_off=${tnumString(r.var)}`);
  }
  // PTR_TO_BTF_ID names its struct after the type (`ptr_nf_conn(ref_obj_id=2)`); a dynptr slot its kind.
  if (r.type === 'btf_id') return `${regTypeStr(r)}${r.btf}(${parts.join(',')})`;
  if (r.type === 'dynptr') return `dynptr_${DYNPTR_NAMES[r.dynptr & 7] ?? '?'}(${parts.join(',')})`;
  return `${regTypeStr(r)}(${parts.join(',')})`;
}

const DYNPTR_NAMES = ['invalid', 'local', 'ringbuf', 'skb', 'xdp'];
