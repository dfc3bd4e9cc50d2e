// The uapi numbers the syscall layer uses, under the short names it uses them by — all taken
// from src/isa/uapi.generated.ts (generated from the running kernel's BTF), never retyped.

import { BpfAttachType, BpfCmd as GeneratedCmd, BpfMapFlags, BpfMapType, BpfProgType, BpfUpdateFlags } from '../../isa/uapi.generated.js';

/** `enum bpf_cmd`: the first argument of bpf(2). */
export const BpfCmd = GeneratedCmd;

// Aliases (PROG_RUN = PROG_TEST_RUN) map to the first, canonical name.
const CMD_NAMES = new Map<number, string>();
for (const [name, value] of Object.entries(BpfCmd)) if (!CMD_NAMES.has(value)) CMD_NAMES.set(value, `BPF_${name}`);

/** `BPF_MAP_CREATE` for 0, `BPF_CMD_99` for a number this table does not know. */
export function bpfCmdName(cmd: number): string {
  return CMD_NAMES.get(cmd) ?? `BPF_CMD_${cmd}`;
}

/** `enum bpf_map_type`. */
export const MapType = BpfMapType;

/** Map types whose values are one slot per possible CPU, each padded to 8 bytes. */
export const PERCPU_MAP_TYPES: ReadonlySet<number> = new Set([
  MapType.PERCPU_HASH,
  MapType.PERCPU_ARRAY,
  MapType.LRU_PERCPU_HASH,
  MapType.PERCPU_CGROUP_STORAGE,
]);

/** `enum bpf_prog_type`. */
export const ProgType = BpfProgType;

/** `enum bpf_attach_type`. */
export const AttachType = BpfAttachType;

/** Flags of map element updates (BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK). */
export const UpdateFlags = BpfUpdateFlags;

/** `map_flags` of BPF_MAP_CREATE. */
export const MapFlags = BpfMapFlags;

/** `file_flags` of BPF_OBJ_GET and the *_GET_FD_BY_ID commands (BPF_F_RDONLY / BPF_F_WRONLY). */
export const ObjFlags = { RDONLY: BpfMapFlags.RDONLY, WRONLY: BpfMapFlags.WRONLY } as const;
