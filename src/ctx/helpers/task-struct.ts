// bpf_get_current_task: the current task's struct task_struct, laid out as the object's BTF declares it, with the task model's pid, tgid and comm; any other field read faults, named.
//
// The kernel returns `current` as a plain u64; programs then read its fields with
// bpf_probe_read_kernel at the offsets they were compiled with (CO-RE against the object's own
// BTF here, as the runtime runs programs as compiled). Userspace gives the address of a
// read-only region of sizeof(struct task_struct) holding the fields the task model knows —
// `pid`, `tgid` and `comm` (HelperTask of createHelperEnv; default 0, 0, "") — so those reads
// answer what the kernel's would for that task. Every other field is live kernel state (its
// mm, credentials, scheduler data, pointers to other tasks): a probe read that touches one
// faults with KernelStructFieldError naming it, instead of reading a made-up 0.
import type { Btf } from '../../btf/index.js';
import { BpfkitError, type BpfkitErrorOptions } from '../../errors.js';
import { BpfFuncId } from '../../isa/uapi.generated.js';
import type { AddressSpace, Region } from '../../vm/address-space.js';
import { structLayout } from '../btf-struct-view.js';
import { ExecutionError } from '../../vm/errors.js';
import type { HelperFn } from '../../vm/helpers.js';
import type { HelperEnv } from './env.js';

/** A read (bpf_probe_read_kernel) of a kernel struct field the userspace runtime does not model. */
export class KernelStructFieldError extends BpfkitError {
  constructor(
    /** The kernel struct (`task_struct`). */
    readonly struct: string,
    /** The field the read covers. */
    readonly field: string,
    /** Byte offset of the read in the struct. */
    readonly offset: number,
    options?: BpfkitErrorOptions,
  ) {
    super('ERR_KERNEL_STRUCT_FIELD', `struct ${struct} field ${field} (offset ${offset}) is not modelled in userspace: only the task model's pid, tgid and comm are`, options);
  }
}

/** One member (anonymous members flattened): byte range. */
interface Member {
  readonly name: string;
  readonly start: number;
  readonly end: number;
}

/** The fields of struct task_struct the task model fills. */
const MODELLED = new Set(['pid', 'tgid', 'comm']);

/** struct task_struct of `btf` (or a flavour task_struct___x; the one with most members) as byte ranges, or undefined. */
function taskLayout(btf: Btf | undefined): { size: number; members: Member[] } | undefined {
  const layout = structLayout(btf, 'task_struct');
  if (!layout) return undefined;
  const members = layout.leaves.map((l) => ({ name: l.name, start: Math.floor(l.bitOffset / 8), end: Math.ceil((l.bitOffset + l.bits) / 8) }));
  return { size: layout.size, members };
}

interface TaskImage {
  readonly region: Region;
  readonly members: readonly Member[];
}

const images = new WeakMap<AddressSpace, TaskImage>();

/**
 * For bpf_probe_read_kernel: when `size` bytes at memory offset `at` fall in a modelled
 * task_struct, throws KernelStructFieldError if they touch a field other than pid, tgid, comm.
 */
export function checkKernelStructRead(space: AddressSpace, at: number, size: number): void {
  const img = images.get(space);
  if (!img || at + size <= img.region.start || at >= img.region.start + img.region.size) return;
  const lo = at - img.region.start;
  const hi = lo + Math.max(size, 1);
  for (const m of img.members) {
    if (m.start < hi && m.end > lo && !MODELLED.has(m.name)) throw new KernelStructFieldError('task_struct', m.name, lo);
  }
}

/** bpf_get_current_task: the address of the task model's struct task_struct (see the file comment). */
export function currentTaskHelpers(env: HelperEnv): Map<number, HelperFn> {
  let layout: { size: number; members: Member[] } | undefined | null = null;
  return new Map<number, HelperFn>([
    [
      BpfFuncId.get_current_task,
      (vm) => {
        if (layout === null) layout = taskLayout(env.objectBtf);
        if (!layout) throw new ExecutionError(vm.pc, "bpf_get_current_task: the object's BTF has no struct task_struct, so its fields' offsets are unknown");
        let img = images.get(vm.space);
        if (!img) {
          const region = vm.space.addRegion('task_struct', layout.size, { kind: 'other', writable: false });
          img = { region, members: layout.members };
          images.set(vm.space, img);
        }
        const task = env.task;
        const view = vm.space.memory.view;
        const bytes = vm.space.memory.bytes;
        const base = img.region.start;
        bytes.fill(0, base, base + layout.size);
        for (const m of img.members) {
          if (m.name === 'pid' && m.end - m.start === 4) view.setInt32(base + m.start, task?.pid ?? 0, true);
          if (m.name === 'tgid' && m.end - m.start === 4) view.setInt32(base + m.start, task?.tgid ?? 0, true);
          if (m.name === 'comm') bytes.set(new TextEncoder().encode(task?.comm ?? '').subarray(0, Math.max(0, m.end - m.start - 1)), base + m.start);
        }
        return img.region.address(0);
      },
    ],
  ]);
}
