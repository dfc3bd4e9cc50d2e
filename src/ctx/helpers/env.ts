// HelperEnv: everything the helpers need from the runtime that runs a program — one object it supplies.

import type { Btf } from '../../btf/index.js';
import type { MapOps } from '../../maps/map-ops.js';
import { xorshift32 } from '../../vm/helpers.js';
import type { ContextInstance } from '../program-type-ops.js';
import type { SocketTable } from '../socket-model.js';
import type { TunnelInfo } from '../tunnel-model.js';
import type { FibTable } from './fib.js';

/** Where a program asked to send its packet (bpf_redirect / bpf_redirect_map); the runtime reads it after the run. */
export type RedirectTarget =
  | {
      /** bpf_redirect(ifindex, flags). */
      readonly kind: 'ifindex';
      /** Target interface. */
      readonly ifindex: number;
      /** BPF_F_INGRESS (tc). */
      readonly flags: number;
      /** bpf_redirect_peer (into the peer of a veth/netkit) or bpf_redirect_neigh (through the neighbour subsystem). */
      readonly via?: 'peer' | 'neigh';
      /** bpf_redirect_neigh's next hop (struct bpf_redir_neigh, 20 bytes), when given. */
      readonly nextHop?: Uint8Array;
    }
  | {
      /** bpf_redirect_map(map, key, flags). */
      readonly kind: 'map';
      /** The devmap / cpumap / xskmap. */
      readonly map: MapOps;
      /** The key (index) looked up. */
      readonly key: number;
      /** BPF_F_BROADCAST / BPF_F_EXCLUDE_INGRESS. */
      readonly flags: number;
    };

/** Clocks the time helpers read, in nanoseconds. */
export interface HelperClock {
  /** CLOCK_MONOTONIC (bpf_ktime_get_ns, bpf_ktime_get_coarse_ns). */
  monotonic(): bigint;
  /** CLOCK_BOOTTIME (bpf_ktime_get_boot_ns): monotonic plus time suspended. */
  boot(): bigint;
  /** CLOCK_TAI (bpf_ktime_get_tai_ns). */
  tai(): bigint;
}

/** The task a program runs on behalf of (the kernel's `current`): what the get_current_* helpers report. */
export interface HelperTask {
  /** Thread id (the kernel's pid). */
  readonly pid: number;
  /** Process id (the kernel's tgid). */
  readonly tgid: number;
  readonly uid: number;
  readonly gid: number;
  /** The thread's name (comm), at most 15 bytes. */
  readonly comm: string;
  /** The task's cgroup v2 id (bpf_get_current_cgroup_id). */
  readonly cgroupId?: bigint;
  /**
   * The cgroup v2 ids from the root (level 0) down to the task's own cgroup, for
   * bpf_get_current_ancestor_cgroup_id and (a test run's skb->sk belongs to the task) bpf_skb_cgroup_id
   * and bpf_skb_ancestor_cgroup_id. Default: unknown, every ancestor 0.
   */
  readonly cgroupAncestors?: readonly bigint[];
  /**
   * Its active pid namespace as `stat /proc/PID/ns/pid` shows it (st_dev, st_ino), for
   * bpf_get_ns_current_pid_tgid; pid and tgid are taken as seen from it. None: every call -EINVAL.
   */
  readonly pidNamespace?: { readonly dev: bigint; readonly ino: bigint };
}

/** The runtime's side of the helpers. One per program instance; `context` and `redirect` change per run. */
export interface HelperEnv {
  /** The simulated CPU the program runs on (bpf_get_smp_processor_id, per-CPU map slots). */
  cpu: number;
  /** Number of simulated CPUs. */
  readonly cpus: number;
  /** Time sources. */
  readonly clock: HelperClock;
  /** CONFIG_HZ for bpf_jiffies64 (default 1000). */
  readonly hz: number;
  /** A 32-bit random number (bpf_get_prandom_u32). */
  readonly random: () => number;
  /** Receives each bpf_trace_printk line (what /sys/kernel/tracing/trace_pipe would show after the prefix). */
  readonly trace: (line: string) => void;
  /** Finds the map a program passes by pointer (the value `lddw rX, map` loaded). */
  readonly mapByAddress: (address: number) => MapOps | undefined;
  /** Routes, neighbours and devices for bpf_fib_lookup (none: no input device is known, every lookup -ENODEV). */
  readonly fib?: FibTable;
  /** The current task (default: pid, tgid, uid, gid 0 and comm ''). */
  readonly task?: HelperTask;
  /** Sockets bpf_sk_lookup_* / bpf_skc_lookup_tcp find (none: every lookup is NULL, as in a test run's empty namespace). */
  readonly sockets?: SocketTable;
  /** Tunnel metadata every packet arrives with (none: as BPF_PROG_TEST_RUN's skb, which has no tunnel dst). */
  readonly tunnel?: TunnelInfo;
  /** The object's BTF, for helpers that lay out kernel structs as the program was compiled against them (bpf_get_current_task). */
  readonly objectBtf?: Btf;
  /** The running program's context (set by the runtime before each run). */
  context: ContextInstance | undefined;
  /**
   * Runs started so far: createHelperEnv's env counts each time the runtime sets `context`.
   * Helpers with per-run state (tunnel metadata) start afresh when it changes.
   */
  readonly runs?: number;
  /** The last redirect the program asked for in this run (cleared by the runtime before each run). */
  redirect: RedirectTarget | undefined;
  /** Packets bpf_clone_redirect sent (appended; the runtime reads and clears it). */
  readonly clones?: ClonedPacket[];
}

/** A packet bpf_clone_redirect sent: a copy of the skb's data at the call. */
export interface ClonedPacket {
  /** Target interface. */
  readonly ifindex: number;
  /** BPF_F_INGRESS or 0. */
  readonly flags: number;
  /** The frame (from the MAC header). */
  readonly data: Uint8Array;
}

/** Options of `createHelperEnv`; every field has a deterministic default. */
export interface HelperEnvOptions {
  /** Simulated CPU (default 0). */
  cpu?: number;
  /** Number of CPUs (default 1). */
  cpus?: number;
  /** Clocks (default: a monotonic counter from 1 s, +1000 ns per read; boot = monotonic; tai = monotonic + 37 s + 1.7e18). */
  clock?: Partial<HelperClock>;
  /** CONFIG_HZ (default 1000). */
  hz?: number;
  /** Random source (default: xorshift32 seeded with `seed`). */
  random?: () => number;
  /** Seed of the default random source (default 1). */
  seed?: number;
  /** Trace sink (default: lines are kept in `HelperEnvWithLog.traceLog`). */
  trace?: (line: string) => void;
  /** Map lookup by address (default: none). */
  mapByAddress?: (address: number) => MapOps | undefined;
  /** FIB for bpf_fib_lookup. */
  fib?: FibTable;
  /** The current task for the get_current_* helpers. */
  task?: HelperTask;
  /** Sockets for the socket lookup helpers (see socket-model.ts). */
  sockets?: SocketTable;
  /** Tunnel metadata of received packets (see tunnel-model.ts; `tunnelInfoFromModel` builds it). */
  tunnel?: TunnelInfo;
  /** The object's BTF (loadUserspace passes it): struct task_struct's layout for bpf_get_current_task. */
  objectBtf?: Btf;
}

/** A HelperEnv that also keeps the trace lines it was given. */
export interface HelperEnvWithLog extends HelperEnv {
  /** bpf_trace_printk output, one entry per call, oldest first (when no `trace` sink was given). */
  readonly traceLog: string[];
}

/** Builds a HelperEnv with deterministic defaults. */
export function createHelperEnv(options: HelperEnvOptions = {}): HelperEnvWithLog {
  let t = 1_000_000_000n;
  const monotonic = options.clock?.monotonic ?? (() => (t += 1000n));
  const traceLog: string[] = [];
  let context: ContextInstance | undefined;
  let runs = 0;
  return {
    cpu: options.cpu ?? 0,
    cpus: options.cpus ?? 1,
    clock: {
      monotonic,
      boot: options.clock?.boot ?? monotonic,
      tai: options.clock?.tai ?? (() => monotonic() + 1_700_000_037_000_000_000n),
    },
    hz: options.hz ?? 1000,
    random: options.random ?? xorshift32(options.seed ?? 1),
    trace: options.trace ?? ((line) => traceLog.push(line)),
    mapByAddress: options.mapByAddress ?? (() => undefined),
    ...(options.fib ? { fib: options.fib } : {}),
    ...(options.task ? { task: options.task } : {}),
    ...(options.sockets ? { sockets: options.sockets } : {}),
    ...(options.tunnel ? { tunnel: options.tunnel } : {}),
    ...(options.objectBtf ? { objectBtf: options.objectBtf } : {}),
    get context() {
      return context;
    },
    set context(c: ContextInstance | undefined) {
      context = c;
      runs++;
    },
    get runs() {
      return runs;
    },
    redirect: undefined,
    clones: [],
    traceLog,
  };
}
