// Helper calls: the kernel's check_helper_call — argument types from the prototypes, memory and size arguments,
// map/helper compatibility, return types, reference acquire/release (ring buffer), packet pointer invalidation.
import { helperById, helperProto, type HelperArg, type HelperProto } from '../isa/helpers.js';
import { programTypeName } from '../isa/program-types.js';
import { BpfArgType, BpfFuncId } from '../isa/uapi.generated.js';
import type { MapDef } from '../maps/map-ops.js';
import { regBoundsSync } from './bounds.js';
import { type Env, reject } from './env.js';
import { checkHelperMemAccess, checkPtrAlignment, checkPtrOffReg } from './memory.js';
import { structsMatch } from './kfunc-call.js';
import { hasSpinLock } from './map-fields.js';
import { processSpinLock } from './spin-lock.js';
import { BTF_TRUSTED, cloneReg, copyReg, DYNPTR_FIRST, DynptrKind, isNullScalar, markNotInit, markUnknown, pointer, type Reg, type RegType, regTypeStr } from './reg-state.js';
import { clearPktPointers, helperChangesPktData } from './pkt-data.js';
import { type DynptrArg, dynptrReleaseRef, invalidateDynptrSlots, processDynptrArg } from './dynptr-arg.js';
import { cloneState, curFrame, forEachReg, newFrame, ownRegs, StackType } from './state.js';
import { tnumIsConst } from './tnum.js';

const BPF_MAX_VAR_SIZ = 1n << 29n;
const MAX_ERRNO = 4095n;

/** An expected register type in a compatibility list. */
interface Expect {
  readonly type: RegType;
  readonly ringbuf?: boolean;
  readonly name: string;
  /** Named in the kernel's list (and so in its message) but not accepted here: a register type bpfkit does not model yet (stricter). */
  readonly unmodelled?: boolean;
  /** PTR_TO_BTF_ID | PTR_TRUSTED (`trusted_ptr_`) rather than plain PTR_TO_BTF_ID. */
  readonly trusted?: boolean;
}

/** Kernel socket structs that begin with a struct sock_common (when the kernel's BTF is not there to say). */
const SOCK_COMMON_STRUCTS: ReadonlySet<string> = new Set(['sock_common', 'sock', 'inet_sock', 'inet_connection_sock', 'tcp_sock', 'tcp6_sock', 'udp_sock', 'udp6_sock', 'inet_timewait_sock', 'tcp_timewait_sock', 'request_sock', 'inet_request_sock', 'tcp_request_sock', 'unix_sock', 'mptcp_sock']);

const MEM_TYPES: readonly Expect[] = [
  { type: 'stack', name: 'fp' },
  { type: 'pkt', name: 'pkt' },
  { type: 'pkt_meta', name: 'pkt_meta' },
  { type: 'map_key', name: 'map_key' },
  { type: 'map_value', name: 'map_value' },
  { type: 'mem', name: 'mem' },
  { type: 'mem', ringbuf: true, name: 'ringbuf_mem' },
  { type: 'mem', name: 'buf' },
  { type: 'btf_id', name: 'trusted_ptr_' },
];

const COMPATIBLE: Record<string, readonly Expect[]> = {
  ARG_PTR_TO_MAP_KEY: MEM_TYPES,
  ARG_PTR_TO_MAP_VALUE: MEM_TYPES,
  ARG_PTR_TO_MEM: MEM_TYPES,
  ARG_CONST_SIZE: [{ type: 'scalar', name: 'scalar' }],
  ARG_CONST_SIZE_OR_ZERO: [{ type: 'scalar', name: 'scalar' }],
  ARG_CONST_ALLOC_SIZE_OR_ZERO: [{ type: 'scalar', name: 'scalar' }],
  ARG_CONST_MAP_PTR: [{ type: 'map_ptr', name: 'map_ptr' }],
  ARG_PTR_TO_CTX: [{ type: 'ctx', name: 'ctx' }],
  ARG_PTR_TO_RINGBUF_MEM: [{ type: 'mem', ringbuf: true, name: 'ringbuf_mem' }],
  ARG_PTR_TO_STACK: [{ type: 'stack', name: 'fp' }],
  ARG_PTR_TO_FUNC: [{ type: 'func', name: 'func' }],
  ARG_PTR_TO_SOCK_COMMON: [
    { type: 'sock_common', name: 'sock_common' },
    { type: 'sock', name: 'sock' },
    { type: 'tcp_sock', name: 'tcp_sock' },
    { type: 'not_init', name: 'xdp_sock', unmodelled: true },
  ],
  // btf_id_sock_common_types: BTF-typed sockets (struct sock_common first) are not modelled yet.
  ARG_PTR_TO_BTF_ID_SOCK_COMMON: [
    { type: 'sock_common', name: 'sock_common' },
    { type: 'sock', name: 'sock' },
    { type: 'tcp_sock', name: 'tcp_sock' },
    { type: 'not_init', name: 'xdp_sock', unmodelled: true },
    { type: 'btf_id', name: 'ptr_' },
    { type: 'btf_id', name: 'trusted_ptr_', trusted: true },
  ],
  ARG_PTR_TO_SOCKET: [{ type: 'sock', name: 'sock' }],
  ARG_PTR_TO_SPIN_LOCK: [{ type: 'map_value', name: 'map_value' }],
  ARG_PTR_TO_TIMER: [{ type: 'map_value', name: 'map_value' }],
  ARG_PTR_TO_CONST_STR: [{ type: 'map_value', name: 'map_value' }],
  ARG_PTR_TO_DYNPTR: [
    { type: 'stack', name: 'fp' },
    { type: 'dynptr', name: 'dynptr_ptr' },
  ],
};

/** DYNPTR_TYPE_* flags of an ARG_PTR_TO_DYNPTR argument, as bpfkit's dynptr kinds. */
const DYNPTR_FLAG_KINDS: readonly (readonly [string, number])[] = [
  ['DYNPTR_TYPE_LOCAL', DynptrKind.LOCAL],
  ['DYNPTR_TYPE_RINGBUF', DynptrKind.RINGBUF],
  ['DYNPTR_TYPE_SKB', DynptrKind.SKB],
  ['DYNPTR_TYPE_XDP', DynptrKind.XDP],
];

/** Map types (enum bpf_map_type). */
const M = {
  HASH: 1, ARRAY: 2, PROG_ARRAY: 3, PERF_EVENT_ARRAY: 4, PERCPU_HASH: 5, PERCPU_ARRAY: 6, STACK_TRACE: 7, CGROUP_ARRAY: 8,
  LRU_HASH: 9, LRU_PERCPU_HASH: 10, LPM_TRIE: 11, ARRAY_OF_MAPS: 12, HASH_OF_MAPS: 13, DEVMAP: 14, SOCKMAP: 15, CPUMAP: 16,
  XSKMAP: 17, SOCKHASH: 18, CGROUP_STORAGE: 19, REUSEPORT_SOCKARRAY: 20, PERCPU_CGROUP_STORAGE: 21, QUEUE: 22, STACK: 23,
  SK_STORAGE: 24, DEVMAP_HASH: 25, STRUCT_OPS: 26, RINGBUF: 27, INODE_STORAGE: 28, TASK_STORAGE: 29, BLOOM_FILTER: 30,
  USER_RINGBUF: 31, CGRP_STORAGE: 32, ARENA: 33,
} as const;

/** A sockmap or sockhash: a lookup yields a referenced socket (sock_or_null). */
function isSockMap(map: MapDef | undefined): boolean {
  return map !== undefined && (map.type === M.SOCKMAP || map.type === M.SOCKHASH);
}

/** The kernel's func_id_name: `bpf_map_lookup_elem`, or `unknown`. */
export function funcIdName(id: number): string {
  if (id === 0) return 'bpf_unspec';
  const h = helperById(id);
  return h ? `bpf_${h.name}` : 'unknown';
}

const MAX_FUNC_ID = Math.max(...Object.values(BpfFuncId)) + 1;

/** Whether `f` is one of `names`. */
const isAny = (f: string, ...names: string[]): boolean => names.includes(f);

function failMapFunc(t: number, id: number): never {
  return reject(`cannot pass map_type ${t} into func ${funcIdName(id)}#${id}`);
}

/**
 * may_update_sockmap: program types that cannot hold a locked socket, so bpf_map_update_elem and
 * bpf_map_delete_elem on a sockmap/sockhash are safe (socket filter, tc, XDP, sk_reuseport,
 * flow dissector, sk_lookup); sock_ops may delete. Iterator (tracing) programs may too: bpfkit
 * does not know the attach type here and refuses them, stricter than the kernel.
 */
const SOCKMAP_UPDATERS: ReadonlySet<number> = new Set([1, 3, 4, 6, 21, 22, 30]);
const SOCK_OPS = 13;

/** check_map_func_compatibility. */
function checkMapFuncCompatibility(env: Env, map: MapDef | undefined, name: string, id: number): void {
  if (!map) return;
  const mayUpdateSockmap = (): boolean => {
    if (name !== 'map_update_elem' && name !== 'map_delete_elem') return false;
    if (SOCKMAP_UPDATERS.has(env.progType) || (env.progType === SOCK_OPS && name === 'map_delete_elem')) return true;
    return reject(`cannot update sockmap in this context\ncannot pass map_type ${map.type} into func ${funcIdName(id)}#${id}`);
  };
  const t = map.type;
  const f = name;
  switch (t) {
    case M.PROG_ARRAY: if (!isAny(f, 'tail_call')) failMapFunc(t, id); break;
    case M.PERF_EVENT_ARRAY: if (!isAny(f, 'perf_event_read', 'perf_event_output', 'skb_output', 'perf_event_read_value', 'xdp_output')) failMapFunc(t, id); break;
    case M.RINGBUF: if (!isAny(f, 'ringbuf_output', 'ringbuf_reserve', 'ringbuf_query', 'ringbuf_reserve_dynptr', 'ringbuf_submit_dynptr', 'ringbuf_discard_dynptr')) failMapFunc(t, id); break;
    case M.USER_RINGBUF: if (!isAny(f, 'user_ringbuf_drain')) failMapFunc(t, id); break;
    case M.STACK_TRACE: if (!isAny(f, 'get_stackid')) failMapFunc(t, id); break;
    case M.CGROUP_ARRAY: if (!isAny(f, 'skb_under_cgroup', 'current_task_under_cgroup')) failMapFunc(t, id); break;
    case M.CGROUP_STORAGE: case M.PERCPU_CGROUP_STORAGE: if (!isAny(f, 'get_local_storage')) failMapFunc(t, id); break;
    case M.DEVMAP: case M.DEVMAP_HASH: if (!isAny(f, 'redirect_map', 'map_lookup_elem')) failMapFunc(t, id); break;
    case M.CPUMAP: if (!isAny(f, 'redirect_map')) failMapFunc(t, id); break;
    case M.XSKMAP: if (!isAny(f, 'redirect_map', 'map_lookup_elem')) failMapFunc(t, id); break;
    case M.ARRAY_OF_MAPS: case M.HASH_OF_MAPS: if (!isAny(f, 'map_lookup_elem')) failMapFunc(t, id); break;
    case M.SOCKMAP: if (!isAny(f, 'sk_redirect_map', 'sock_map_update', 'msg_redirect_map', 'sk_select_reuseport', 'map_lookup_elem') && !mayUpdateSockmap()) failMapFunc(t, id); break;
    case M.SOCKHASH: if (!isAny(f, 'sk_redirect_hash', 'sock_hash_update', 'msg_redirect_hash', 'sk_select_reuseport', 'map_lookup_elem') && !mayUpdateSockmap()) failMapFunc(t, id); break;
    case M.REUSEPORT_SOCKARRAY: if (!isAny(f, 'sk_select_reuseport')) failMapFunc(t, id); break;
    case M.QUEUE: case M.STACK: if (!isAny(f, 'map_peek_elem', 'map_pop_elem', 'map_push_elem')) failMapFunc(t, id); break;
    case M.SK_STORAGE: if (!isAny(f, 'sk_storage_get', 'sk_storage_delete', 'kptr_xchg')) failMapFunc(t, id); break;
    case M.INODE_STORAGE: if (!isAny(f, 'inode_storage_get', 'inode_storage_delete', 'kptr_xchg')) failMapFunc(t, id); break;
    case M.TASK_STORAGE: if (!isAny(f, 'task_storage_get', 'task_storage_delete', 'kptr_xchg')) failMapFunc(t, id); break;
    case M.CGRP_STORAGE: if (!isAny(f, 'cgrp_storage_get', 'cgrp_storage_delete', 'kptr_xchg')) failMapFunc(t, id); break;
    case M.BLOOM_FILTER: if (!isAny(f, 'map_peek_elem', 'map_push_elem')) failMapFunc(t, id); break;
    default: break;
  }
  switch (f) {
    case 'tail_call': if (t !== M.PROG_ARRAY) failMapFunc(t, id); break;
    case 'perf_event_read': case 'perf_event_output': case 'perf_event_read_value': case 'skb_output': case 'xdp_output': if (t !== M.PERF_EVENT_ARRAY) failMapFunc(t, id); break;
    case 'ringbuf_output': case 'ringbuf_reserve': case 'ringbuf_query': if (t !== M.RINGBUF) failMapFunc(t, id); break;
    case 'get_stackid': if (t !== M.STACK_TRACE) failMapFunc(t, id); break;
    case 'current_task_under_cgroup': case 'skb_under_cgroup': if (t !== M.CGROUP_ARRAY) failMapFunc(t, id); break;
    case 'redirect_map': if (t !== M.DEVMAP && t !== M.DEVMAP_HASH && t !== M.CPUMAP && t !== M.XSKMAP) failMapFunc(t, id); break;
    case 'map_pop_elem': if (t !== M.QUEUE && t !== M.STACK) failMapFunc(t, id); break;
    case 'map_peek_elem': case 'map_push_elem': if (t !== M.QUEUE && t !== M.STACK && t !== M.BLOOM_FILTER) failMapFunc(t, id); break;
    case 'map_lookup_percpu_elem': if (t !== M.PERCPU_ARRAY && t !== M.PERCPU_HASH && t !== M.LRU_PERCPU_HASH) failMapFunc(t, id); break;
    case 'ringbuf_reserve_dynptr': case 'ringbuf_submit_dynptr': case 'ringbuf_discard_dynptr': if (t !== M.RINGBUF) failMapFunc(t, id); break;
    case 'user_ringbuf_drain': if (t !== M.USER_RINGBUF) failMapFunc(t, id); break;
    case 'sk_redirect_map': case 'msg_redirect_map': case 'sock_map_update': if (t !== M.SOCKMAP) failMapFunc(t, id); break;
    case 'sk_redirect_hash': case 'msg_redirect_hash': case 'sock_hash_update': if (t !== M.SOCKHASH) failMapFunc(t, id); break;
    case 'get_local_storage': if (t !== M.CGROUP_STORAGE && t !== M.PERCPU_CGROUP_STORAGE) failMapFunc(t, id); break;
    case 'sk_select_reuseport': if (t !== M.REUSEPORT_SOCKARRAY && t !== M.SOCKMAP && t !== M.SOCKHASH) failMapFunc(t, id); break;
    case 'sk_storage_get': case 'sk_storage_delete': if (t !== M.SK_STORAGE) failMapFunc(t, id); break;
    case 'inode_storage_get': case 'inode_storage_delete': if (t !== M.INODE_STORAGE) failMapFunc(t, id); break;
    case 'task_storage_get': case 'task_storage_delete': if (t !== M.TASK_STORAGE) failMapFunc(t, id); break;
    case 'cgrp_storage_get': case 'cgrp_storage_delete': if (t !== M.CGRP_STORAGE) failMapFunc(t, id); break;
    default: break;
  }
}

interface Meta {
  map: MapDef | undefined;
  /** A constant array-map key read from the stack (get_constant_map_key), or -1. */
  constKey: bigint;
  /** The callback subprogram of an ARG_PTR_TO_FUNC argument, or -1. */
  subprog: number;
  rawMode: boolean;
  memSize: number;
  msizeMax: bigint;
  releaseRegno: number;
  refObjId: number;
  /** The dynptr argument (bpf_dynptr_*, bpf_ringbuf_*_dynptr). */
  dynptr: DynptrArg | undefined;
  /** The reference a released ring buffer dynptr held. */
  dynptrRelease: number;
}

function checkRegType(env: Env, reg: Reg, regno: number, arg: HelperArg): void {
  const list = COMPATIBLE[arg.base];
  if (!list) reject(`bpfkit: helper argument type ${arg.text} is not modelled`);
  const foldRdonly = arg.flags.includes('MEM_RDONLY');
  const foldNull = arg.flags.includes('PTR_MAYBE_NULL');
  const rdonly = reg.rdonly && !foldRdonly;
  const maybeNull = reg.maybeNull && !foldNull;
  // PTR_TO_BTF_ID matches with its exact flags: plain (`ptr_`) or PTR_TRUSTED (`trusted_ptr_`).
  const btfOk = (e: Expect): boolean => e.type !== 'btf_id' || reg.btfFlags === (e.trusted ? BTF_TRUSTED : 0);
  const ok = list.some((e) => !e.unmodelled && e.type === reg.type && (e.ringbuf ?? false) === reg.ringbuf && !rdonly && !maybeNull && btfOk(e));
  if (!ok) reject(`R${regno} type=${regTypeStr(reg)} expected=${list.map((e) => e.name).join(', ')}`);
  // btf_struct_ids_match: a BTF-typed socket must begin with a struct sock_common.
  if (reg.type === 'btf_id' && arg.base === 'ARG_PTR_TO_BTF_ID_SOCK_COMMON' && !(env.kernelBtf ? structsMatch(env, reg.btf, 'sock_common', false) : SOCK_COMMON_STRUCTS.has(reg.btf))) reject(`R${regno} is of type ${reg.btf} but sock_common is expected`);
}

/** check_func_arg_reg_off. */
function checkFuncArgRegOff(reg: Reg, regno: number, arg: HelperArg): void {
  // A released dynptr is named by a stack pointer to it, at any fixed offset.
  if (arg.flags.includes('OBJ_RELEASE') && arg.base === 'ARG_PTR_TO_DYNPTR' && reg.type === 'stack') return;
  if (arg.flags.includes('OBJ_RELEASE')) {
    if (reg.off) reject(`R${regno} must have zero offset when passed to release func or trusted arg to kfunc`);
    checkPtrOffReg(reg, regno, false);
    return;
  }
  switch (reg.type) {
    case 'stack': case 'pkt': case 'pkt_meta': case 'map_key': case 'map_value': case 'mem': case 'scalar':
      return;
    default:
      checkPtrOffReg(reg, regno, false);
  }
}

/** check_mem_size_reg. */
function checkMemSizeReg(env: Env, reg: Reg, regno: number, write: boolean, zeroOk: boolean, meta: Meta): void {
  meta.msizeMax = reg.umax;
  env.preciseDemand |= 1 << regno;
  const rawMode = tnumIsConst(reg.var) ? meta.rawMode : false;
  if (reg.smin < 0n) reject(`R${regno} min value is negative, either use unsigned or 'var &= const'`);
  if (reg.umin === 0n && !zeroOk) reject(`R${regno} invalid zero-sized read: u64=[${BigInt.asIntN(64, reg.umin)},${BigInt.asIntN(64, reg.umax)}]`);
  if (reg.umax >= BPF_MAX_VAR_SIZ) reject(`R${regno} unbounded memory access, use 'var &= const' or 'if (var < const)'`);
  checkHelperMemAccess(env, regno - 1, Number(reg.umax), write, zeroOk, rawMode);
}

/**
 * resolve_map_arg_type: a sockmap or sockhash takes a socket where other maps take a value
 * (bpf_map_update_elem(&sockmap, &key, sk, 0)); a value the helper would write is refused.
 */
function resolveMapArgType(meta: Meta, arg: HelperArg): HelperArg {
  if (!meta.map) reject('invalid map_ptr to access map->type');
  if (meta.map.type !== M.SOCKMAP && meta.map.type !== M.SOCKHASH) return arg;
  if (arg.flags.length !== 0) reject('invalid arg_type for sockmap/sockhash');
  return SOCK_COMMON_ARG;
}

/** ARG_PTR_TO_BTF_ID_SOCK_COMMON, what resolve_map_arg_type makes of a sockmap's value argument. */
const SOCK_COMMON_ARG: HelperArg = { text: 'ARG_PTR_TO_BTF_ID_SOCK_COMMON', base: 'ARG_PTR_TO_BTF_ID_SOCK_COMMON', flags: [], value: BpfArgType.ARG_PTR_TO_BTF_ID_SOCK_COMMON };

function checkFuncArg(env: Env, argIndex: number, meta: Meta, proto: HelperProto): void {
  let arg = proto.args[argIndex]!;
  const regno = argIndex + 1;
  const regs = curFrame(env.cur).regs;
  const reg = regs[regno]!;
  if (reg.type === 'not_init') reject(`R${regno} !read_ok`);
  if (arg.base === 'ARG_ANYTHING') {
    if (!env.privileged && reg.type !== 'scalar') reject(`R${regno} leaks addr into helper function`);
    return;
  }
  if ((reg.type === 'pkt' || reg.type === 'pkt_meta') && !(proto.pktAccess && pktHelperAccess(env))) reject('helper access to the packet is not allowed');
  if (arg.base === 'ARG_PTR_TO_MAP_VALUE') arg = resolveMapArgType(meta, arg);
  const maybeNullArg = arg.flags.includes('PTR_MAYBE_NULL') || arg.base === 'ARG_PTR_TO_CTX_OR_NULL' || arg.base === 'ARG_PTR_TO_STACK_OR_NULL' || arg.base === 'ARG_PTR_TO_MEM_OR_NULL';
  const nullOk = isNullScalar(reg) && maybeNullArg;
  // A NULL passed for a pointer: its value decided it (check_func_arg's mark_chain_precision).
  if (nullOk) env.preciseDemand |= 1 << regno;
  if (!nullOk) {
    const base = arg.base === 'ARG_PTR_TO_CTX_OR_NULL' ? { ...arg, base: 'ARG_PTR_TO_CTX' as const } : arg.base === 'ARG_PTR_TO_STACK_OR_NULL' ? { ...arg, base: 'ARG_PTR_TO_STACK' as const } : arg.base === 'ARG_PTR_TO_MEM_OR_NULL' ? { ...arg, base: 'ARG_PTR_TO_MEM' as const } : arg;
    checkRegType(env, reg, regno, base);
    checkFuncArgRegOff(reg, regno, arg);
  }
  if (arg.flags.includes('OBJ_RELEASE')) {
    if (arg.base === 'ARG_PTR_TO_DYNPTR') meta.dynptrRelease = dynptrReleaseRef(env, reg, regno);
    else if (!reg.refObjId && !isNullScalar(reg)) reject(`R${regno} must be referenced when passed to release function`);
    meta.releaseRegno = regno;
  }
  if (reg.refObjId) meta.refObjId = reg.refObjId;
  const write = arg.flags.includes('MEM_WRITE');
  switch (arg.base) {
    case 'ARG_CONST_MAP_PTR':
      meta.map = reg.map;
      break;
    case 'ARG_PTR_TO_MAP_KEY':
      if (!meta.map) reject('invalid map_ptr to access map->key');
      checkHelperMemAccess(env, regno, meta.map.keySize, false, false, false);
      if (meta.map.type === M.ARRAY || meta.map.type === M.PERCPU_ARRAY) meta.constKey = constantMapKey(env, reg, meta.map.keySize);
      break;
    case 'ARG_PTR_TO_MAP_VALUE':
      if (nullOk) return;
      if (!meta.map) reject('invalid map_ptr to access map->value');
      meta.rawMode = arg.flags.includes('MEM_UNINIT');
      checkHelperMemAccess(env, regno, meta.map.valueSize, write, false, meta.rawMode);
      break;
    case 'ARG_PTR_TO_MEM':
    case 'ARG_PTR_TO_MEM_OR_NULL':
      meta.rawMode = arg.flags.includes('MEM_UNINIT');
      if (arg.flags.includes('MEM_FIXED_SIZE') && arg.size !== undefined) {
        checkHelperMemAccess(env, regno, arg.size, write, false, meta.rawMode);
        // MEM_ALIGNED (bpf_strtol's result, bpf_check_mtu's mtu_len): the buffer is aligned to its size, strictly.
        if (arg.flags.includes('MEM_ALIGNED')) checkPtrAlignment(reg, 0, arg.size, true);
      }
      break;
    case 'ARG_CONST_SIZE':
    case 'ARG_CONST_SIZE_OR_ZERO': {
      const prev = proto.args[argIndex - 1];
      checkMemSizeReg(env, reg, regno, prev?.flags.includes('MEM_WRITE') ?? false, arg.base === 'ARG_CONST_SIZE_OR_ZERO', meta);
      break;
    }
    case 'ARG_CONST_ALLOC_SIZE_OR_ZERO':
      if (!tnumIsConst(reg.var)) reject(`R${regno} is not a known constant'`);
      env.preciseDemand |= 1 << regno;
      meta.memSize = Number(reg.var.value);
      break;
    case 'ARG_PTR_TO_FUNC':
      meta.subprog = reg.subprog;
      break;
    case 'ARG_PTR_TO_SPIN_LOCK':
      processSpinLock(env, reg, regno, proto === helperProto(BpfFuncId.spin_lock, programTypeName(env.progType)));
      break;
    case 'ARG_PTR_TO_DYNPTR': {
      const kind = DYNPTR_FLAG_KINDS.find(([f]) => (arg.flags as readonly string[]).includes(f))?.[1] ?? 0;
      meta.dynptr = processDynptrArg(env, regno, { uninit: arg.flags.includes('MEM_UNINIT'), rdonly: arg.flags.includes('MEM_RDONLY'), kind });
      break;
    }
    default:
      break;
  }
}

/** get_constant_map_key: the key a stack pointer points to, when it is a known constant (else -1). */
function constantMapKey(env: Env, key: Reg, keySize: number): bigint {
  if (!env.privileged || key.type !== 'stack' || !tnumIsConst(key.var)) return -1n;
  const f = env.cur.frames[key.frameno] ?? curFrame(env.cur);
  const stackOff = key.off + Number(BigInt.asIntN(64, key.var.value));
  const slot = -stackOff - 1;
  const spi = Math.floor(slot / 8);
  const off = slot % 8;
  const st = f.stack[spi];
  if (!st) return -1n;
  let zero = 0;
  for (let i = off; i >= 0 && st.types[i] === StackType.ZERO; i--) zero++;
  if (zero >= keySize) return 0n;
  if (st.types[7] !== StackType.SPILL || st.spilled.type !== 'scalar') return -1n;
  let spill = 0;
  for (let i = off; i >= 0 && st.types[i] === StackType.SPILL; i--) spill++;
  if (spill !== keySize || !tnumIsConst(st.spilled.var)) return -1n;
  // The lookup's NULL-ness relies on the key's value: its slot is precise (6.13's get_constant_map_key).
  if (f === curFrame(env.cur)) env.preciseDemandStack = (env.preciseDemandStack ?? 0n) | (1n << BigInt(spi));
  return BigInt.asIntN(64, st.spilled.var.value);
}

/**
 * push_callback_call for bpf_loop and bpf_for_each_map_elem: explore the callback as a new frame
 * (index and context, or map, key, value and context), returning to the call afterwards; the
 * current path continues past the call.
 */
function pushCallback(env: Env, subprog: number, callsite: number, map: MapDef | 'dynptr' | undefined): void {
  const st = cloneState(env.cur);
  // The rest of the call changes the caller's registers, now shared with the copy.
  ownRegs(curFrame(env.cur));
  st.callbackDepth++;
  curFrame(st).loopDepth++;
  curFrame(env.cur).loopDepth = 0;
  if (st.frames.length >= 8) reject(`the call stack of ${st.frames.length + 1} frames is too deep`);
  const caller = curFrame(st);
  const callee = newFrame(callsite, st.frames.length, subprog);
  callee.callback = { min: 0n, max: 1n };
  if (map === 'dynptr') {
    // set_user_ringbuf_callback_state: (a const local dynptr over the sample, ctx).
    Object.assign(callee.regs[1]!, pointer('dynptr'), { dynptr: DynptrKind.LOCAL | DYNPTR_FIRST, id: env.nextId() });
    callee.regs[2] = cloneReg(caller.regs[3]!);
  } else if (map) {
    // set_map_elem_callback_state: (map, key, value, ctx).
    Object.assign(callee.regs[1]!, pointer('map_ptr'), { map });
    Object.assign(callee.regs[2]!, pointer('map_key'), { map });
    Object.assign(callee.regs[3]!, pointer('map_value'), { map });
    callee.regs[4] = cloneReg(caller.regs[3]!);
  } else {
    // set_loop_callback_state: (index, ctx).
    markUnknown(callee.regs[1]!);
    callee.regs[2] = cloneReg(caller.regs[3]!);
  }
  st.frames.push(callee);
  const start = env.cfg.subprogs[subprog]!.start;
  env.pushState(st, start);
}

/** may_access_direct_pkt_data for helper arguments: XDP, TC, cgroup_skb (8), lwt (10, 11, 12, 19), sk_skb (14), sk_msg (16), sk_reuseport (21), flow dissector (22). */
function pktHelperAccess(env: Env): boolean {
  const t = env.progType;
  return t === 6 || t === 3 || t === 4 || t === 8 || t === 10 || t === 11 || t === 12 || t === 14 || t === 16 || t === 19 || t === 21 || t === 22;
}

/** Releases reference `id`: every register holding it becomes unusable (release_reference). */
export function releaseReference(env: Env, id: number): boolean {
  const i = env.cur.refs.findIndex((r) => r.id === id);
  if (i < 0) return false;
  env.cur.refs.splice(i, 1);
  forEachReg(
    env.cur,
    (r) => r.refObjId === id,
    (r) => {
      if (env.privileged) markUnknown(r);
      else markNotInit(r);
    },
  );
  return true;
}

/** check_resource_leak: a held bpf_spin_lock (`checkLock`), then unreleased references, at exit, tail call or LD_ABS. */
export function checkResourceLeak(env: Env, prefix: string, checkLock = false): void {
  if (checkLock && env.cur.activeLock) reject(`${prefix} cannot be used inside bpf_spin_lock-ed region`);
  if (env.cur.refs.length === 0) return;
  const lines = env.cur.refs.map((r) => `Unreleased reference id=${r.id} alloc_insn=${r.insn}`).join('\n');
  reject(`${lines}\n${prefix} would lead to reference leak`);
}

/**
 * Helpers bpf_base_func_proto gives only to CAP_BPF (spin locks, timers, bpf_loop, dynptrs...) or
 * CAP_PERFMON (tracing reads and printing): an unprivileged program cannot use them.
 */
const UNPRIV_DENIED: ReadonlySet<number> = new Set(
  [
    'spin_lock', 'spin_unlock', 'jiffies64', 'per_cpu_ptr', 'this_cpu_ptr', 'timer_init', 'timer_set_callback', 'timer_start', 'timer_cancel',
    'kptr_xchg', 'for_each_map_elem', 'loop', 'user_ringbuf_drain', 'ringbuf_reserve_dynptr', 'ringbuf_submit_dynptr',
    'ringbuf_discard_dynptr', 'dynptr_from_mem', 'dynptr_read', 'dynptr_write', 'dynptr_data', 'cgrp_storage_get', 'cgrp_storage_delete',
    'trace_printk', 'get_current_task', 'get_current_task_btf', 'probe_read_user', 'probe_read_kernel', 'probe_read_user_str',
    'probe_read_kernel_str', 'snprintf_btf', 'snprintf', 'trace_vprintk',
  ].map((n) => (BpfFuncId as Record<string, number>)[n]!),
);

/** is_ptr_cast_function: helpers returning a view of their socket argument, which shares its reference. */
const PTR_CAST: ReadonlySet<string> = new Set(['tcp_sock', 'sk_fullsock', 'skc_to_tcp_sock', 'skc_to_tcp6_sock', 'skc_to_udp6_sock', 'skc_to_mptcp_sock', 'skc_to_tcp_timewait_sock', 'skc_to_tcp_request_sock']);

/** check_helper_call: a `call helper#imm` at the current instruction. */
export function checkHelperCall(env: Env, id: number, insnIdx: number): void {
  if (id < 0 || id >= MAX_FUNC_ID) reject(`invalid func unknown#${id}`);
  const helper = helperById(id);
  const proto = helper ? helperProto(id, programTypeName(env.progType)) : undefined;
  const allowed = env.ops ? env.ops.helperAllowed(id, env.attachType) : proto !== undefined;
  if (!allowed || !proto || !helper || (!env.privileged && UNPRIV_DENIED.has(id)) || env.helperRefused?.(env.progType, id)) reject(`program of this type cannot use helper ${funcIdName(id)}#${id}`);
  if (!env.gpl && proto.gplOnly) reject('cannot call GPL-restricted function from non-GPL compatible program');
  const meta: Meta = { map: undefined, constKey: -1n, subprog: -1, rawMode: false, memSize: 0, msizeMax: 0n, releaseRegno: 0, refObjId: 0, dynptr: undefined, dynptrRelease: 0 };
  for (let i = 0; i < proto.args.length; i++) checkFuncArg(env, i, meta, proto);
  const name = helper.name;
  if (name === 'tail_call' || name === 'map_lookup_elem' || name === 'map_update_elem' || name === 'map_delete_elem' || name === 'map_push_elem' || name === 'map_pop_elem' || name === 'map_peek_elem' || name === 'for_each_map_elem' || name === 'redirect_map' || name === 'map_lookup_percpu_elem') {
    if (!meta.map) reject('kernel subsystem misconfigured verifier');
    if ((meta.map.flags & 0x80) !== 0 && (name === 'map_delete_elem' || name === 'map_update_elem' || name === 'map_push_elem' || name === 'map_pop_elem')) reject('write into map forbidden');
  }
  if (name === 'tail_call' && (!meta.map || meta.map.type !== M.PROG_ARRAY)) reject('expected prog array map for tail call');
  const frame = curFrame(env.cur);
  const regs = frame.regs;
  if (meta.releaseRegno) {
    let ok = false;
    if (meta.dynptrRelease) {
      // unmark_stack_slots_dynptr: the dynptr (and its clones) and its slices are gone.
      invalidateDynptrSlots(env, regs[meta.releaseRegno]!, meta.dynptrRelease);
      ok = releaseReference(env, meta.dynptrRelease);
    } else if (meta.refObjId) ok = releaseReference(env, meta.refObjId);
    else if (isNullScalar(regs[meta.releaseRegno]!)) ok = true;
    if (!ok) reject(`func ${funcIdName(id)}#${id} reference has not been acquired before`);
  }
  // The kernel relies on these values (record_func_key's constant index, bpf_loop's count and
  // inlining flags) and marks them precise: the same marks keep pruning the same.
  if (name === 'tail_call' && meta.map && tnumIsConst(regs[3]!.var) && regs[3]!.var.value < BigInt(meta.map.maxEntries)) env.preciseDemand |= 1 << 3;
  if (name === 'loop') env.preciseDemand |= (1 << 1) | (isNullScalar(regs[4]!) ? 1 << 4 : 0);
  if (name === 'tail_call') {
    checkResourceLeak(env, 'tail_call', true);
    env.tailCallReachable[frame.subprog] = true;
  }
  if (name === 'get_local_storage') {
    // It cannot fail, so it takes no flags.
    if (!isNullScalar(regs[2]!)) reject("get_local_storage() doesn't support non-zero flags");
    env.preciseDemand |= 1 << 2;
  }
  if (meta.subprog >= 0) {
    if (name !== 'loop' && name !== 'for_each_map_elem' && name !== 'user_ringbuf_drain') reject(`bpfkit: callbacks of bpf_${name} are not modelled`);
    if (name === 'loop') {
      // The iteration stops at nr_loops (R1, precise): one more callback visit while the
      // callbacks this call entered are fewer than R1's maximum, then the limit is reached.
      env.preciseDemand |= 1 << 1;
      if (BigInt(frame.loopDepth) < regs[1]!.umax) pushCallback(env, meta.subprog, insnIdx, undefined);
      else frame.loopDepth = 0;
    } else pushCallback(env, meta.subprog, insnIdx, name === 'for_each_map_elem' ? meta.map : 'dynptr');
  }
  if (name === 'dynptr_from_mem' && regs[1]!.type !== 'map_value') reject(`Unsupported reg type ${regTypeStr(regs[1]!)} for bpf_dynptr_from_mem data`);
  for (let i = 0; i <= 5; i++) markNotInit(regs[i]!);
  const r0 = regs[0]!;
  const ret = proto.ret;
  const maybeNull = ret.flags.includes('PTR_MAYBE_NULL') || ret.base.endsWith('_OR_NULL');
  switch (ret.base) {
    case 'RET_INTEGER':
      markUnknown(r0);
      break;
    case 'RET_VOID':
      markNotInit(r0);
      break;
    case 'RET_PTR_TO_MAP_VALUE':
    case 'RET_PTR_TO_MAP_VALUE_OR_NULL': {
      if (!meta.map) reject('kernel subsystem misconfigured verifier');
      if (isSockMap(meta.map)) {
        // A sockmap/sockhash lookup returns the socket: the 6.18 kernel logs R0 as sock_or_null right after the call.
        copyReg(r0, pointer('sock'));
        r0.maybeNull = maybeNull;
        break;
      }
      if (meta.map.type === M.ARRAY_OF_MAPS || meta.map.type === M.HASH_OF_MAPS) {
        copyReg(r0, pointer('map_ptr'));
        r0.map = meta.map.innerMap;
        if (!r0.map) reject('bpfkit: map-in-map without an inner map definition');
      } else {
        copyReg(r0, pointer('map_value'));
        r0.map = meta.map;
      }
      r0.maybeNull = maybeNull;
      // Lookups in an array with a constant in-range key cannot fail (can_elide_value_nullness).
      if (name === 'map_lookup_elem' && (meta.map.type === M.ARRAY || meta.map.type === M.PERCPU_ARRAY) && meta.constKey >= 0n && meta.constKey < BigInt(meta.map.maxEntries)) r0.maybeNull = false;
      break;
    }
    case 'RET_PTR_TO_MEM':
    case 'RET_PTR_TO_RINGBUF_MEM_OR_NULL':
    case 'RET_PTR_TO_MEM_OR_BTF_ID': {
      copyReg(r0, pointer('mem'));
      r0.memSize = meta.memSize;
      r0.ringbuf = ret.flags.includes('MEM_RINGBUF') || ret.base === 'RET_PTR_TO_RINGBUF_MEM_OR_NULL';
      r0.rdonly = ret.flags.includes('MEM_RDONLY');
      r0.maybeNull = maybeNull;
      if (name === 'dynptr_data' && meta.dynptr) {
        // is_dynptr_ref_function: the slice dies with its dynptr (and with a ring buffer record's reference).
        r0.dynptrId = meta.dynptr.id;
        r0.refObjId = meta.dynptr.refObjId;
      }
      break;
    }
    case 'RET_PTR_TO_SOCKET':
    case 'RET_PTR_TO_SOCKET_OR_NULL':
      copyReg(r0, pointer('sock'));
      r0.maybeNull = maybeNull;
      break;
    case 'RET_PTR_TO_SOCK_COMMON':
    case 'RET_PTR_TO_SOCK_COMMON_OR_NULL':
      copyReg(r0, pointer('sock_common'));
      r0.maybeNull = maybeNull;
      break;
    case 'RET_PTR_TO_TCP_SOCK':
    case 'RET_PTR_TO_TCP_SOCK_OR_NULL':
      copyReg(r0, pointer('tcp_sock'));
      r0.maybeNull = maybeNull;
      break;
    case 'RET_PTR_TO_BTF_ID':
      // ret_btf_id: a kernel struct pointer (PTR_TRUSTED when the proto says so).
      if (proto.retBtf === undefined) reject(`bpfkit: helper ${funcIdName(id)} returns a BTF pointer of no known struct`);
      copyReg(r0, pointer('btf_id'));
      r0.btf = proto.retBtf;
      r0.btfFlags = ret.flags.includes('PTR_TRUSTED') ? BTF_TRUSTED : 0;
      r0.maybeNull = maybeNull;
      // is_ptr_cast_function: the view holds its argument's reference.
      if (name.startsWith('skc_to_') && meta.refObjId) r0.refObjId = meta.refObjId;
      break;
    default:
      reject(`bpfkit: helper return type ${ret.text} is not modelled`);
  }
  if (r0.maybeNull) r0.id = env.nextId();
  // A map value with a bpf_spin_lock keeps an id naming the value (the lock's identity).
  else if (r0.type === 'map_value' && hasSpinLock(r0.map)) r0.id = env.nextId();
  // is_ptr_cast_function: a socket derived from a referenced one dies with it (release_reference).
  if (PTR_CAST.has(name)) r0.refObjId = meta.refObjId;
  // is_acquire_function: a socket from a sockmap/sockhash lookup is referenced until bpf_sk_release.
  const acquire = name === 'ringbuf_reserve' || name === 'sk_lookup_tcp' || name === 'sk_lookup_udp' || name === 'skc_lookup_tcp' || (name === 'map_lookup_elem' && isSockMap(meta.map));
  if (acquire) {
    const rid = env.nextId();
    env.cur.refs.push({ id: rid, insn: insnIdx });
    r0.id = rid;
    r0.refObjId = rid;
  }
  if (name === 'probe_read_str' || name === 'probe_read_kernel_str' || name === 'probe_read_user_str' || name === 'get_stack' || name === 'get_task_stack') {
    r0.smax = meta.msizeMax;
    r0.s32max = BigInt.asIntN(32, meta.msizeMax);
    r0.smin = -MAX_ERRNO;
    r0.s32min = -MAX_ERRNO;
    regBoundsSync(r0);
  }
  checkMapFuncCompatibility(env, meta.map, name, id);
  // Writing through an skb dynptr may reallocate the packet (changes_data), as bpf_skb_store_bytes does.
  if (helperChangesPktData(id) || (name === 'dynptr_write' && meta.dynptr?.kind === DynptrKind.SKB)) clearPktPointers(env);
}
