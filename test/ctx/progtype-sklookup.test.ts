// sk_lookup vs the kernel: every struct bpf_sk_lookup load the verifier accepts, bpf_sk_assign, return values, and
// BPF_PROG_TEST_RUN's ctx_in validation and ctx_out. Programs may only return SK_DROP/SK_PASS, so what they read goes
// into an array map, compared with the kernel's map after each run.
import assert from 'node:assert/strict';
import { alu64, call, encode, exit, type Instruction, jmp, type Label, label, ld, ldx, ldxs, program, r0, r1, r2, r3, r4, r6, r10, stx, st } from '../../src/isa/index.js';
import { BpfMapType } from '../../src/isa/uapi.generated.js';
import { createHelperEnv } from '../../src/ctx/helpers/index.js';
import { BpfSkLookup, BPF_SK_LOOKUP_SIZE, skLookupOps } from '../../src/ctx/sk-lookup.js';
import { createMap as createKernelMap } from '../../src/kernel/bpf/map-create.js';
import { lookupElem } from '../../src/kernel/bpf/map-elem.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { testRun } from '../../src/kernel/bpf/prog-test-run.js';
import { KernelError } from '../../src/kernel/kernel-error.js';
import { VerifierError } from '../../src/kernel/verifier-error.js';
import { createMap } from '../../src/maps/registry.js';
import { verifyInstructions } from '../../src/verifier/verify.js';
import { AddressSpace, createVm, InvalidContextError } from '../../src/vm/index.js';
import { NotSupportedError } from '../../src/errors.js';
import { kernelTest } from '../kernel/harness.js';

const ops = skLookupOps;
const SIZES = { 1: 'b', 2: 'h', 4: 'w', 8: 'dw' } as const;
type Size = keyof typeof SIZES;
const hex = (b: Uint8Array | undefined): string => (b ? Buffer.from(b).toString('hex') : '-');

/** `body` leaves a value in r2; it is stored at map[0] (r9 = the map), and the program returns `ret` (default SK_PASS). */
function report(fd: number, body: (Instruction | Label)[], ret = 1): Instruction[] {
  return program(
    alu64.mov.reg(r6, r1),
    ...body,
    stx.dw(r10, -8, r2),
    st.w(r10, -12, 0),
    ld.map_fd(r1, fd),
    alu64.mov.reg(r2, r10),
    alu64.add.imm(r2, -12),
    alu64.mov.reg(r3, r10),
    alu64.add.imm(r3, -8),
    alu64.mov.imm(r4, 0),
    call.helper('map_update_elem'),
    alu64.mov.imm(r0, ret),
    exit(),
  );
}

function lookupCtx(fields: { family?: number; protocol?: number; remote_ip4?: number; local_ip4?: number; remote_port?: number; local_port?: number; ip6?: boolean; sk?: number; ifindex?: number }, length = BPF_SK_LOOKUP_SIZE): Uint8Array {
  const b = new Uint8Array(length);
  const v = new DataView(b.buffer);
  const set = (off: number, x: number | undefined) => x !== undefined && off + 4 <= length && v.setUint32(off, x >>> 0, true);
  set(BpfSkLookup.family, fields.family);
  set(BpfSkLookup.protocol, fields.protocol);
  set(BpfSkLookup.remote_ip4, fields.remote_ip4);
  set(BpfSkLookup.local_ip4, fields.local_ip4);
  set(BpfSkLookup.remote_port, fields.remote_port);
  set(BpfSkLookup.local_port, fields.local_port);
  set(BpfSkLookup.sk, fields.sk);
  set(BpfSkLookup.ingress_ifindex, fields.ifindex);
  if (fields.ip6) for (let i = 0; i < 16; i++) {
    b[BpfSkLookup.remote_ip6 + i] = 0x20 + i;
    b[BpfSkLookup.local_ip6 + i] = 0xf0 - i;
  }
  return b;
}

/** Connections a test run is asked about: TCP/UDP over IPv4 and IPv6, ports at the edges, a family and protocol with high bits set (the kernel keeps 16). */
const CTXS: readonly Uint8Array[] = [
  lookupCtx({ family: 2, protocol: 6, remote_ip4: 0x0100000a, local_ip4: 0x0200a8c0, remote_port: 0x5000, local_port: 8080, ip6: true }),
  lookupCtx({ family: 10, protocol: 17, remote_ip4: 0x11223344, local_ip4: 0x55667788, remote_port: 0xabcd1234, local_port: 65535, ip6: true }),
  lookupCtx({ family: 0x30002, protocol: 0x70011, remote_port: 0xffff, local_port: 0 }),
  lookupCtx({ family: 10, protocol: 6, local_port: 443 }, 64),
];

type Sys = Parameters<Parameters<typeof kernelTest>[1]>[0];

/** Runs `insns` in the kernel and in bpfkit on each ctx: retval, ctx_out and the map value must agree. */
function compare(sys: Sys, name: string, build: (fd: number) => Instruction[], diffs: string[]): number {
  using fd = createKernelMap(sys, { type: BpfMapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
  const insns = build(fd.raw);
  let kernelVerdict: string | undefined;
  let prog;
  try {
    prog = loadProgram(sys, { type: ops.type, insns: encode(insns), license: 'GPL', name: 'bk_sklookup', expectedAttachType: ops.expectedAttachType! });
  } catch (err) {
    if (!(err instanceof VerifierError)) throw err;
    kernelVerdict = err.summary;
  }
  const def = { name: 'out', type: BpfMapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0 };
  const mine = verifyInstructions(insns, { programType: ops.type, maps: new Map([[fd.raw, def]]) });
  const myVerdict = mine.verdict === 'accept' ? undefined : (mine.message ?? 'rejected');
  if ((kernelVerdict === undefined) !== (myVerdict === undefined)) diffs.push(`${name}: kernel ${kernelVerdict ?? 'accepts'}, bpfkit ${myVerdict ?? 'accepts'}`);
  if (!prog) return 0;
  let runs = 0;
  try {
    const space = new AddressSpace();
    const map = createMap(def, { space, cpus: 1 });
    const env = createHelperEnv({ mapByAddress: (a) => (a === map.address ? map : undefined) });
    const vm = createVm(insns, { space, env, programType: ops, resolve: () => ({ lo: map.address | 0, hi: Math.floor(map.address / 4294967296) }) });
    const key = new Uint8Array(4);
    for (const ctx of CTXS) {
      let k: string;
      try {
        const r = testRun(prog, { ctxIn: ctx, ctxOutSize: BPF_SK_LOOKUP_SIZE, dataOutSize: 0 });
        k = `retval ${r.retval} ctx ${hex(r.ctxOut)} map ${hex(lookupElem(fd, key))}`;
      } catch (err) {
        if (!(err instanceof KernelError)) throw err;
        k = `error ${err.errnoName}`;
      }
      let m: string;
      try {
        const r = vm.run(ctx, new Uint8Array(0));
        m = `retval ${r.retval} ctx ${hex(r.ctx)} map ${hex(map.read(key))}`;
      } catch (err) {
        if (!(err instanceof InvalidContextError)) throw err;
        m = `error ${/\((E[A-Z0-9]+)\)/.exec(err.reason)?.[1] ?? 'EINVAL'}`;
      }
      runs++;
      if (k !== m) diffs.push(`${name} ctx ${hex(ctx).slice(16, 40)}:\n  kernel ${k}\n  bpfkit ${m}`);
    }
  } finally {
    prog.close();
  }
  return runs;
}

kernelTest('sk_lookup: every struct bpf_sk_lookup load the verifier accepts reads what the kernel reads', (sys) => {
  const diffs: string[] = [];
  let runs = 0;
  let programs = 0;
  for (let off = 0; off < BPF_SK_LOOKUP_SIZE; off++) {
    for (const size of [1, 2, 4, 8] as Size[]) {
      const c = ops.checkAccess(off, size, false);
      if ('reason' in c || c.type !== 'scalar') continue;
      const s = SIZES[size];
      programs++;
      runs += compare(sys, `${c.field}@${off}/${size}`, (fd) => report(fd, [ldx[s](r2, r6, off)]), diffs);
      if (s !== 'dw') {
        programs++;
        runs += compare(sys, `${c.field}@${off}/${size} sx`, (fd) => report(fd, [ldxs[s](r2, r6, off)]), diffs);
      }
    }
  }
  process.stdout.write(`# sk_lookup: ${programs} field loads, ${runs} runs compared with the kernel\n`);
  assert.ok(programs > 60);
  assert.deepEqual(diffs, []);
});

kernelTest('sk_lookup: ctx->sk, bpf_sk_assign(NULL) with each flag, and both verdicts as the kernel runs them', (sys) => {
  const diffs: string[] = [];
  let runs = 0;
  const cases: [string, (fd: number) => Instruction[]][] = [
    ['sk is NULL', (fd) => report(fd, [ldx.dw(r2, r6, BpfSkLookup.sk), alu64.add.imm(r2, 5)])],
    ['return SK_DROP', (fd) => report(fd, [alu64.mov.imm(r2, 3)], 0)],
    ['sk read through when set', (fd) => report(fd, [ldx.dw(r3, r6, BpfSkLookup.sk), alu64.mov.imm(r2, 7), jmp.jeq.imm(r3, 0, 'out'), ldx.w(r2, r3, 4), label('out')])],
  ];
  for (const flags of [0, 1, 2, 3, 4, 0x80000000]) {
    cases.push([
      `sk_assign(NULL, ${flags})`,
      (fd) => report(fd, [alu64.mov.reg(r1, r6), alu64.mov.imm(r2, 0), ld.imm64(r3, flags), call.helper('sk_assign'), alu64.mov.reg(r2, r0), ldx.dw(r3, r6, BpfSkLookup.sk), alu64.lsh.imm(r3, 32), alu64.or.reg(r2, r3)]),
    ]);
    cases.push([
      `sk_assign twice (${flags})`,
      (fd) => report(fd, [alu64.mov.reg(r1, r6), alu64.mov.imm(r2, 0), alu64.mov.imm(r3, 0), call.helper('sk_assign'), alu64.mov.reg(r1, r6), alu64.mov.imm(r2, 0), ld.imm64(r3, flags), call.helper('sk_assign'), alu64.mov.reg(r2, r0)]),
    ]);
  }
  cases.push(['sk_assign(ctx->sk)', (fd) => report(fd, [alu64.mov.reg(r1, r6), ldx.dw(r2, r6, BpfSkLookup.sk), alu64.mov.imm(r3, 0), call.helper('sk_assign'), alu64.mov.reg(r2, r0)])]);
  cases.push(['return 2 (refused)', (fd) => report(fd, [alu64.mov.imm(r2, 3)], 2)]);
  cases.push(['store to ctx (refused)', (fd) => report(fd, [alu64.mov.imm(r2, 3), stx.w(r6, BpfSkLookup.local_port, r2)])]);
  for (const [name, build] of cases) runs += compare(sys, name, build, diffs);
  process.stdout.write(`# sk_lookup: ${cases.length} programs, ${runs} runs compared with the kernel\n`);
  assert.deepEqual(diffs, []);
});

kernelTest('sk_lookup: ctx_in validation and the absence of data_in as the kernel does it', (sys) => {
  const insns = program(alu64.mov.imm(r0, 1), exit());
  using prog = loadProgram(sys, { type: ops.type, insns: encode(insns), license: 'GPL', name: 'bk_sklookup_in', expectedAttachType: ops.expectedAttachType! });
  const cases: [string, Uint8Array | undefined, Uint8Array][] = [
    ['no ctx_in (ctx_out asked: a zeroed struct)', undefined, new Uint8Array(0)],
    ['data_in given', CTXS[0], new Uint8Array(20)],
    ['family 0', lookupCtx({ family: 0 }), new Uint8Array(0)],
    ['family AF_UNIX', lookupCtx({ family: 1 }), new Uint8Array(0)],
    ['family 0x10002', lookupCtx({ family: 0x10002 }), new Uint8Array(0)],
    ['local_port 65536', lookupCtx({ family: 2, local_port: 65536 }), new Uint8Array(0)],
    ['sk set', lookupCtx({ family: 2, sk: 1 }), new Uint8Array(0)],
    ['ingress_ifindex set', lookupCtx({ family: 2, ifindex: 1 }), new Uint8Array(0)],
    ['short ctx', lookupCtx({ family: 2 }, 12), new Uint8Array(0)],
    ['8-byte ctx', new Uint8Array(8), new Uint8Array(0)],
    ['long ctx zero tail', lookupCtx({ family: 10 }, 80), new Uint8Array(0)],
    ['long ctx nonzero tail', (() => { const c = lookupCtx({ family: 10 }, 80); c[79] = 1; return c; })(), new Uint8Array(0)],
    ['trailing pad byte 68', (() => { const c = lookupCtx({ family: 10 }); c[68] = 1; return c; })(), new Uint8Array(0)],
  ];
  const diffs: string[] = [];
  for (const [name, ctx, data] of cases) {
    let k: string;
    try {
      const r = testRun(prog, { dataIn: data, ...(ctx ? { ctxIn: ctx } : {}), ctxOutSize: BPF_SK_LOOKUP_SIZE, dataOutSize: 0 });
      k = `retval ${r.retval} ctx ${hex(r.ctxOut)}`;
    } catch (err) {
      if (!(err instanceof KernelError)) throw err;
      k = `error ${err.errnoName}`;
    }
    let m: string;
    try {
      const vm = createVm(insns, { programType: ops, env: createHelperEnv() });
      const r = vm.run(ctx, data);
      m = `retval ${r.retval} ctx ${hex(r.ctx)}`;
    } catch (err) {
      if (!(err instanceof InvalidContextError) && !(err instanceof NotSupportedError)) throw err;
      m = `error ${err instanceof InvalidContextError ? (/\((E[A-Z0-9]+)\)/.exec(err.reason)?.[1] ?? 'EINVAL') : 'not supported'}`;
    }
    if (k !== m) diffs.push(`${name}: kernel ${k}, bpfkit ${m}`);
  }
  process.stdout.write(`# sk_lookup: ${cases.length} ctx_in/data_in cases compared with the kernel\n`);
  assert.deepEqual(diffs, []);
});
