// The few uapi numbers the syscall layer needs, until src/isa/uapi.generated.ts lands (then import those).
//
// Values checked against the running kernel's BTF (enum bpf_cmd, bpf_map_type, bpf_prog_type,
// bpf_attach_type) and include/uapi/linux/bpf.h. Keep this list short: it is a stopgap.

/** `enum bpf_cmd`: the first argument of bpf(2). */
export const BpfCmd = {
  MAP_CREATE: 0,
  MAP_LOOKUP_ELEM: 1,
  MAP_UPDATE_ELEM: 2,
  MAP_DELETE_ELEM: 3,
  MAP_GET_NEXT_KEY: 4,
  PROG_LOAD: 5,
  OBJ_PIN: 6,
  OBJ_GET: 7,
  PROG_ATTACH: 8,
  PROG_DETACH: 9,
  PROG_TEST_RUN: 10,
  PROG_GET_NEXT_ID: 11,
  MAP_GET_NEXT_ID: 12,
  PROG_GET_FD_BY_ID: 13,
  MAP_GET_FD_BY_ID: 14,
  OBJ_GET_INFO_BY_FD: 15,
  PROG_QUERY: 16,
  RAW_TRACEPOINT_OPEN: 17,
  BTF_LOAD: 18,
  BTF_GET_FD_BY_ID: 19,
  TASK_FD_QUERY: 20,
  MAP_LOOKUP_AND_DELETE_ELEM: 21,
  MAP_FREEZE: 22,
  BTF_GET_NEXT_ID: 23,
  MAP_LOOKUP_BATCH: 24,
  MAP_LOOKUP_AND_DELETE_BATCH: 25,
  MAP_UPDATE_BATCH: 26,
  MAP_DELETE_BATCH: 27,
  LINK_CREATE: 28,
  LINK_UPDATE: 29,
  LINK_GET_FD_BY_ID: 30,
  LINK_GET_NEXT_ID: 31,
  ENABLE_STATS: 32,
  ITER_CREATE: 33,
  LINK_DETACH: 34,
  PROG_BIND_MAP: 35,
} as const;

const CMD_NAMES = new Map<number, string>(Object.entries(BpfCmd).map(([name, value]) => [value, `BPF_${name}`]));

/** `BPF_MAP_CREATE` for 0, `BPF_CMD_99` for a number this table does not know. */
export function bpfCmdName(cmd: number): string {
  return CMD_NAMES.get(cmd) ?? `BPF_CMD_${cmd}`;
}

/** `enum bpf_map_type` values used by the syscall layer and its tests. */
export const MapType = {
  HASH: 1,
  ARRAY: 2,
  PROG_ARRAY: 3,
  PERF_EVENT_ARRAY: 4,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  ARRAY_OF_MAPS: 12,
  HASH_OF_MAPS: 13,
  PERCPU_CGROUP_STORAGE: 21,
  QUEUE: 22,
  STACK: 23,
  RINGBUF: 27,
} as const;

/** Map types whose values are one slot per possible CPU, each padded to 8 bytes. */
export const PERCPU_MAP_TYPES: ReadonlySet<number> = new Set([
  MapType.PERCPU_HASH,
  MapType.PERCPU_ARRAY,
  MapType.LRU_PERCPU_HASH,
  MapType.PERCPU_CGROUP_STORAGE,
]);

/** `enum bpf_prog_type` values used by the syscall layer and its tests. */
export const ProgType = {
  SOCKET_FILTER: 1,
  KPROBE: 2,
  SCHED_CLS: 3,
  SCHED_ACT: 4,
  XDP: 6,
} as const;

/** `enum bpf_attach_type` values used by the syscall layer and its tests. */
export const AttachType = {
  XDP: 37,
  TCX_INGRESS: 46,
  TCX_EGRESS: 47,
} as const;

/** Flags of BPF_MAP_UPDATE_ELEM (`BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`) and `BPF_F_LOCK`. */
export const UpdateFlags = {
  ANY: 0,
  NOEXIST: 1,
  EXIST: 2,
  F_LOCK: 4,
} as const;

/** `map_flags` bits of BPF_MAP_CREATE used here. */
export const MapFlags = {
  NO_PREALLOC: 1 << 0,
  RDONLY_PROG: 1 << 7,
  WRONLY_PROG: 1 << 8,
  MMAPABLE: 1 << 10,
} as const;

/** BPF_OBJ_GET `file_flags`. */
export const ObjFlags = {
  RDONLY: 1 << 3,
  WRONLY: 1 << 4,
} as const;
