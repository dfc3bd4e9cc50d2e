// Loads and stores through PTR_TO_BTF_ID: the kernel's check_ptr_to_btf_access, btf_struct_walk and nf_conntrack's write rule.
import type { Btf, BtfType } from '../btf/index.js';
import { type Env, reject } from './env.js';
import { BTF_RCU, BTF_TRUSTED, BTF_UNTRUSTED, copyReg, markUnknown, pointer, type Reg } from './reg-state.js';
import { tnumIsConst, tnumString } from './tnum.js';

/** The kernel struct `name` in `btf` (the first STRUCT or UNION so named). */
export function kernelStruct(btf: Btf, name: string): BtfType | undefined {
  return btf.typesByName(name).find((t) => t.kind === 'struct' || t.kind === 'union');
}

function skipMods(btf: Btf, id: number): BtfType {
  let t = btf.typeById(id);
  while (t.kind === 'const' || t.kind === 'volatile' || t.kind === 'restrict' || t.kind === 'typedef' || t.kind === 'type_tag') t = btf.typeById(t.type);
  return t;
}

type Walk = { kind: 'scalar' } | { kind: 'ptr'; struct: string; rcuTag: boolean } | { kind: 'struct'; type: BtfType };

/** btf_struct_walk: what `size` bytes at `off` of struct `t` are. */
function structWalk(btf: Btf, t0: BtfType, off0: number, size: number, untrusted: boolean): Walk {
  let t = t0;
  let off = off0;
  for (;;) {
    if (t.kind !== 'struct' && t.kind !== 'union') reject(`Type '${t.name}' is not a struct`);
    if (off + size > t.size) reject(`access beyond struct ${t.name} at off ${off} size ${size}`);
    let next: BtfType | undefined;
    for (const m of t.members) {
      const moff = Math.floor(m.bitOffset / 8);
      if (off + size <= moff) break;
      if (m.bitfieldSize) {
        const endBit = m.bitOffset + m.bitfieldSize;
        if (off <= moff && Math.ceil(endBit / 8) <= off + size) return { kind: 'scalar' };
        continue;
      }
      if (off < moff) break;
      let mtype = skipMods(btf, m.type);
      let msize: number;
      try {
        msize = btf.resolveSize(mtype.id);
      } catch {
        reject(`field ${m.name} doesn't have size`);
      }
      const mtrueEnd = moff + msize;
      if (off >= mtrueEnd) continue;
      let elemOff = moff;
      if (mtype.kind === 'array') {
        if (moff === mtrueEnd) continue;
        // Linearise a (multi-dimensional) array to its element type.
        let total = 1;
        let et: BtfType = mtype;
        while (et.kind === 'array') {
          total *= et.nelems;
          et = skipMods(btf, et.type);
        }
        const esize = msize / total;
        elemOff = moff + Math.floor((off - moff) / esize) * esize;
        mtype = et;
        msize = esize;
      }
      if (mtype.kind === 'struct' || mtype.kind === 'union') {
        if (off === elemOff) return { kind: 'struct', type: mtype };
        off -= elemOff;
        next = mtype;
        break;
      }
      if (mtype.kind === 'ptr') {
        if (msize !== size || off !== elemOff) reject(`cannot access ptr member ${m.name} with moff ${elemOff} in struct ${t.name} with off ${off} size ${size}`);
        const tagged = btf.typeById(mtype.type);
        const rcuTag = tagged.kind === 'type_tag' && tagged.name === 'rcu';
        const st = skipMods(btf, mtype.type);
        if (st.kind === 'struct' || st.kind === 'union') return { kind: 'ptr', struct: st.name, rcuTag };
      }
      if (off + size > mtrueEnd && !untrusted) reject(`access beyond the end of member ${m.name} (mend:${mtrueEnd}) in struct ${t.name} with off ${off} size ${size}`);
      return { kind: 'scalar' };
    }
    if (!next) reject(`struct ${t.name} doesn't have field at offset ${off}`);
    t = next;
  }
}

/** Fields of kernel structs a trusted pointer keeps trusted through (BTF_TYPE_SAFE_TRUSTED), by struct. */
const TRUSTED_FIELDS: Readonly<Record<string, readonly string[]>> = {
  bpf_iter_meta: ['seq'], bpf_iter__task: ['task'], linux_binprm: ['file'], file: ['f_inode'], dentry: ['d_inode'],
  socket: ['sk'], task_struct: ['group_leader', 'real_parent'],
};

/**
 * check_ptr_to_btf_access: a load (`dst`) or store of `size` bytes at `reg + off`. Stores are
 * allowed only where the program type's btf_struct_access allows them: for XDP and TC, the
 * `mark` of `struct nf_conn` (nf_conntrack's _nf_conntrack_btf_struct_access).
 */
export function checkPtrToBtfAccess(env: Env, reg: Reg, regno: number, off: number, size: number, write: boolean, dst: Reg | undefined): void {
  const tname = reg.btf;
  if (!env.privileged) reject(`'struct ${tname}' access is allowed only to CAP_PERFMON and CAP_SYS_ADMIN`);
  if (!env.gpl) reject(`Cannot access kernel 'struct ${tname}' from non-GPL compatible program`);
  if (off < 0) reject(`R${regno} is ptr_${tname} invalid negative access: off=${off}`);
  if (!tnumIsConst(reg.var) || reg.var.value !== 0n) reject(`R${regno} is ptr_${tname} invalid variable offset: off=${off}, var_off=${tnumString(reg.var)}`);
  const btf = env.kernelBtf;
  if (!btf) reject(`bpfkit: access to kernel 'struct ${tname}' needs the kernel's BTF (pass kernelBtf)`);
  if (write) {
    // XDP/TC: xdp_btf_struct_access / tc_cls_act_btf_struct_access -> nf_conntrack's rule.
    if (env.progType !== 6 && env.progType !== 3 && env.progType !== 4) reject('only read is supported');
    if (tname !== 'nf_conn' && tname !== 'nf_conn___init') reject('only read is supported');
    const ct = kernelStruct(btf, 'nf_conn');
    const mark = ct && (ct.kind === 'struct' || ct.kind === 'union') ? ct.members.find((m) => m.name === 'mark') : undefined;
    if (!mark || off !== mark.bitOffset / 8) reject(`no write support to nf_conn at off ${off}`);
    const end = mark.bitOffset / 8 + 4;
    if (off + size > end) reject(`write access at off ${off} with size ${size} beyond the member of nf_conn ended at ${end}`);
    return;
  }
  let t = kernelStruct(btf, tname);
  if (!t) reject(`bpfkit: struct ${tname} is not in the kernel's BTF`);
  let o = off;
  const untrusted = (reg.btfFlags & BTF_UNTRUSTED) !== 0;
  for (;;) {
    const w = structWalk(btf, t, o, size, untrusted);
    if (w.kind === 'struct') {
      t = w.type;
      o = 0;
      continue;
    }
    if (!dst) return;
    if (w.kind === 'scalar') {
      markUnknown(dst);
      return;
    }
    // A pointer field: PTR_TO_BTF_ID of the pointee; trusted only through the fields the kernel lists.
    copyReg(dst, pointer('btf_id'));
    dst.btf = w.struct;
    const trustedBase = reg.refObjId !== 0 || (reg.btfFlags & BTF_TRUSTED) !== 0;
    if (untrusted) dst.btfFlags = BTF_UNTRUSTED;
    else if (trustedBase || (reg.btfFlags & BTF_RCU) !== 0) {
      const field = fieldAt(t, o);
      if (field && TRUSTED_FIELDS[t.name]?.includes(field)) dst.btfFlags = BTF_TRUSTED;
      else if (env.cur.rcuLock && w.rcuTag) dst.btfFlags = BTF_RCU;
      else dst.btfFlags = env.cur.rcuLock ? BTF_UNTRUSTED : 0;
    }
    return;
  }
}

/**
 * check_ptr_to_map_access's walk: a load of `size` bytes at `off` of the kernel struct a map
 * pointer points to (`bpf_array`, `bpf_htab`...) as a PTR_TO_BTF_ID with no flags: a scalar, or a
 * plain pointer to the member's struct (`map->ops`).
 */
export function mapStructLoad(btf: Btf, structName: string, off: number, size: number, dst: Reg | undefined): void {
  let t = kernelStruct(btf, structName);
  if (!t) reject(`bpfkit: struct ${structName} is not in the kernel's BTF`);
  let o = off;
  for (;;) {
    const w = structWalk(btf, t, o, size, false);
    if (w.kind === 'struct') {
      t = w.type;
      o = 0;
      continue;
    }
    if (!dst) return;
    if (w.kind === 'scalar') markUnknown(dst);
    else {
      copyReg(dst, pointer('btf_id'));
      dst.btf = w.struct;
    }
    return;
  }
}

function fieldAt(t: BtfType, off: number): string | undefined {
  if (t.kind !== 'struct' && t.kind !== 'union') return undefined;
  return t.members.find((m) => m.bitOffset / 8 === off)?.name;
}
