// The differential suite: every XDP / TC / socket-filter fixture program over a packet corpus, in bpfkit and in the kernel.
//
// For each program: a fresh object on every backend, the same seed entries, then the corpus run
// packet by packet through BPF_PROG_TEST_RUN semantics; after each packet the retval, data_out
// (or both refusing the input) and the contents of every comparable map (per-CPU values summed
// over CPUs, since the kernel runs a test on whichever CPU it is on) must agree. Backends are a
// list: the reference interpreter and the WebAssembly JIT.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after } from 'node:test';
import { loadObject } from '../../src/elf/object-loader.js';
import type { ObjectSpec } from '../../src/elf/object-spec.js';
import { BpfkitError } from '../../src/errors.js';
import { BpfProgType } from '../../src/isa/uapi.generated.js';
import { parseIpv4 } from '../../src/packet/address.js';
import { loadUserspace } from '../../src/runtime/userspace-object.js';
import { kernelTest } from '../kernel/harness.js';
import { fixturesDir, repoRoot } from '../support/fixtures.js';
import { ensureBpffs } from '../support/libbpf-oracle.js';
import { hostCpus, jitBackend, jitFallbacks, kernelBackend, userspaceBackend, type DiffBackend, type LoadedObject, type Outcome } from './backends.js';
import { ALLOWED_V4, packetCorpus } from './corpus.js';

// LRU maps with per-CPU lists (BPF_F_NO_COMMON_LRU, maps_zoo) evict by the CPU a run is on: the
// kernel runs BPF_PROG_TEST_RUN on the calling thread's CPU, the userspace backend on CPU 0. Pin
// this test process (each test file is its own process) to CPU 0 so a migration under load does
// not make the kernel's evictions differ.
execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });

const RUNNABLE = new Set<number>([BpfProgType.XDP, BpfProgType.SCHED_CLS, BpfProgType.SOCKET_FILTER]);
/** Backends compared against the kernel. */
const OTHER_BACKENDS: DiffBackend[] = [userspaceBackend, jitBackend];

const be16 = (n: number): number[] => [n >> 8, n & 0xff];
const ip4 = (s: string): number[] => Array.from(parseIpv4(s));

/** Entries stored before the run so allow-lists let something through. */
const SEEDS: Record<string, { map: string; key: Uint8Array; value: Uint8Array }[]> = {
  tc_flow_filter: [{
    map: 'allowed_flows',
    // struct flow_key { u8 family, proto; u16 pad; be16 sport, dport; be32 saddr[4], daddr[4] }
    key: new Uint8Array([2, 17, 0, 0, ...be16(ALLOWED_V4.sport), ...be16(ALLOWED_V4.dport), ...ip4(ALLOWED_V4.src), ...new Array<number>(12).fill(0), ...ip4(ALLOWED_V4.dst), ...new Array<number>(12).fill(0)]),
    value: new Uint8Array(8),
  }],
  xdp_flow_stats: [{
    map: 'allowed_flows',
    // struct flow_key { be32 saddr, daddr; be16 sport, dport; u8 proto, pad[3] }
    key: new Uint8Array([...ip4(ALLOWED_V4.src), ...ip4(ALLOWED_V4.dst), ...be16(ALLOWED_V4.sport), ...be16(ALLOWED_V4.dport), 17, 0, 0, 0]),
    value: new Uint8Array(8),
  }],
};

const objects = [
  ...readdirObjects(fixturesDir).filter((f) => !f.includes('bpfeb')),
  ...readdirObjects(path.join(repoRoot, 'examples')),
];

function readdirObjects(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.o')).sort().map((f) => path.join(dir, f));
}

const totals = { programs: 0, cases: 0, mismatches: 0, unsupported: 0, skipped: [] as string[] };
after(() => {
  process.stderr.write(
    `# differential: ${totals.programs} programs x ${packetCorpus().length} packets (+24 with XDP metadata) = ${totals.cases} cases, ` +
      `each in ${OTHER_BACKENDS.map((b) => b.name).join(' and ')}: ${totals.mismatches} mismatches, ` +
      `${jitFallbacks.length} programs the JIT left to the interpreter${jitFallbacks.length ? ` (${jitFallbacks.join('; ')})` : ''}, ` +
      `${totals.unsupported} refused by bpfkit as not supported (XDP multi-buffer frames, calls and kernel fields with no userspace model)` +
      `${totals.skipped.length ? `; skipped: ${totals.skipped.join('; ')}` : ''}\n`,
  );
});

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
function show(o: Outcome): string {
  return 'error' in o ? `error ${o.error}` : `retval ${o.retval}, ${o.dataOut.length} bytes out`;
}
function sameOutcome(a: Outcome, b: Outcome): boolean {
  if ('error' in a || 'error' in b) return 'error' in a && 'error' in b;
  return a.retval === b.retval && hex(a.dataOut) === hex(b.dataOut) && hex(a.ctxOut ?? new Uint8Array()) === hex(b.ctxOut ?? new Uint8Array());
}

/**
 * XDP runs with a ctx_in: `meta` bytes of the packet become metadata (data_meta..data), arriving
 * on the loopback (ingress_ifindex 1, queue 0); ctx_out is compared too.
 */
function xdpCtxIn(length: number, meta: number): Uint8Array {
  const md = new Uint8Array(24);
  const v = new DataView(md.buffer);
  v.setUint32(0, meta, true); // data: the metadata length
  v.setUint32(4, length, true); // data_end
  v.setUint32(12, 1, true); // ingress_ifindex
  return md;
}

/** Errors that mean "bpfkit does not model this", raised when a run reaches it: counted, not mismatches. */
const TYPED_REFUSALS = new Set(['ERR_NOT_SUPPORTED', 'ERR_UNMODELLED_CALL', 'ERR_KERN_CTX_FIELD']);

/** Why the userspace runtime cannot take this object (a map family not implemented yet), or undefined. */
function userspaceRefusal(spec: ObjectSpec, programs: string[]): string | undefined {
  try {
    loadUserspace(spec, { programs, verify: false })[Symbol.dispose]();
    return undefined;
  } catch (e) {
    if (e instanceof BpfkitError && (e.code === 'ERR_NOT_SUPPORTED' || e.code === 'ERR_INSTANTIATE' || e.code === 'ERR_INVALID_PROGRAM')) return e.message;
    throw e;
  }
}

for (const file of objects) {
  const name = path.basename(file, '.o');
  kernelTest(`differential: ${name}`, (sys) => {
    const bpffs = ensureBpffs();
    assert.ok(bpffs.ok, bpffs.ok ? '' : bpffs.reason);
    const spec = loadObject(new Uint8Array(readFileSync(file)), { objectName: name });
    const programs = spec.programs.filter((p) => RUNNABLE.has(p.type)).map((p) => p.name);
    if (programs.length === 0) return;
    const refusal = userspaceRefusal(spec, programs);
    if (refusal) {
      totals.skipped.push(`${name} (${refusal})`);
      return;
    }
    const pinPath = `/sys/fs/bpf/bpfkit-rt-diff-${process.pid}`;
    mkdirSync(pinPath, { recursive: true });
    const corpus = packetCorpus();
    const cpus = hostCpus(sys);
    const failures: string[] = [];
    try {
      for (const prog of programs) {
        totals.programs++;
        const open: LoadedObject[] = [];
        try {
          // Every runnable program is loaded (prog arrays name their neighbours), one is run.
          const kernel = kernelBackend(sys, pinPath).load(spec, programs, cpus);
          open.push(kernel);
          const others = OTHER_BACKENDS.map((b) => {
            const o = b.load(spec, programs, cpus);
            open.push(o);
            return [b.name, o] as const;
          });
          for (const s of SEEDS[name] ?? []) for (const o of open) o.seed(s.map, s.key, s.value);
          const type = spec.programs.find((p) => p.name === prog)!.type;
          // The corpus plain, then (XDP) its well-formed packets again with 4 and 8 bytes of metadata.
          // The jumbo frame stays last: bpfkit refuses it, so the maps differ by it afterwards.
          const runs: { name: string; data: Uint8Array; ctxIn?: Uint8Array }[] = corpus.slice(0, -1);
          if (type === BpfProgType.XDP) {
            for (const meta of [4, 8]) {
              for (const p of corpus.slice(0, 12)) runs.push({ name: `${p.name} + ${meta}-byte metadata`, data: p.data, ctxIn: xdpCtxIn(p.data.length, meta) });
            }
          }
          runs.push(corpus[corpus.length - 1]!);
          // Backends that refused a run of this program: the kernel's maps moved on without them,
          // so their later runs are compared on the outcome only.
          const diverged = new Set<string>();
          for (const packet of runs) {
            totals.cases++;
            const want = kernel.run(prog, packet.data, packet.ctxIn);
            const wantMaps = kernel.snapshot();
            for (const [bname, o] of others) {
              const got = o.run(prog, packet.data, packet.ctxIn);
              let diff = '';
              if ('error' in got && TYPED_REFUSALS.has(got.error) && !('error' in want)) {
                // A typed refusal, not a wrong answer: counted and reported, not a mismatch
                // (a frame bpfkit does not take, a call or kernel field with no userspace model).
                totals.unsupported++;
                diverged.add(bname);
                continue;
              }
              if (!sameOutcome(want, got)) diff = `kernel ${show(want)}, ${bname} ${show(got)}`;
              else if (!diverged.has(bname)) {
                const gotMaps = o.snapshot();
                for (const [m, lines] of wantMaps) {
                  const mine = gotMaps.get(m) ?? [];
                  if (lines.join() !== mine.join()) {
                    diff = `map ${m}: kernel [${lines.join(' ')}], ${bname} [${mine.join(' ')}]`;
                    break;
                  }
                }
              }
              if (diff) {
                totals.mismatches++;
                failures.push(`${prog} / ${packet.name}: ${diff}`);
              }
            }
          }
        } finally {
          for (const o of open) o[Symbol.dispose]();
        }
      }
    } finally {
      rmSync(pinPath, { recursive: true, force: true });
    }
    assert.deepEqual(failures, [], `${failures.length} mismatches:\n${failures.slice(0, 20).join('\n')}`);
  });
}
