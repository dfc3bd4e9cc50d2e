// trace_printk (return values vs the kernel, lines in the log), redirect and redirect_map results,
// ring buffer helpers, time/random/CPU helpers, fib_lookup, and helper sets per program type.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { test } from 'node:test';
import { alu64, call, encode, exit, type Instruction, jmp, label, ld, ldx, program, r0, r1, r2, r3, r4, r5, r6, r7, r10, st, stx } from '../../src/isa/index.js';
import { BpfFuncId, BpfMapType, XdpAction } from '../../src/isa/uapi.generated.js';
import { createHelperEnv, createHelpers, fibLookup, FibLookup, formatTracePrintk } from '../../src/ctx/helpers/index.js';
import { tcOps } from '../../src/ctx/tc.js';
import { socketFilterOps } from '../../src/ctx/socket-filter.js';
import { xdpOps } from '../../src/ctx/xdp.js';
import { createMap as createKernelMap } from '../../src/kernel/bpf/map-create.js';
import { updateElem } from '../../src/kernel/bpf/map-elem.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { testRun } from '../../src/kernel/bpf/prog-test-run.js';
import { createMap } from '../../src/maps/registry.js';
import { RingbufMap } from '../../src/maps/ringbuf.js';
import { AddressSpace, Interpreter, prepareProgram, run, UnknownHelperError, UnmodelledCallError } from '../../src/vm/index.js';
import { kernelTest } from '../kernel/harness.js';
import { kernelRun, summary, vmRun } from './oracle.js';

/** Writes `bytes` to the stack at fp-`at` (8-byte words) and returns the instructions. */
function stackBytes(bytes: Uint8Array, at: number): Instruction[] {
  const padded = new Uint8Array(Math.ceil(bytes.length / 8) * 8);
  padded.set(bytes);
  const v = new DataView(padded.buffer);
  const out: Instruction[] = [];
  for (let i = 0; i < padded.length; i += 8) out.push(ld.imm64(r1, v.getBigUint64(i, true)), stx.dw(r10, -at + i, r1));
  return out;
}

/** trace_printk(fmt, size, a1, a2, a3); %s arguments point at a second string on the stack. */
function printk(fmt: string, size: number, args: readonly (bigint | 'str' | 'null')[]): Instruction[] {
  const enc = new TextEncoder();
  const f = enc.encode(fmt);
  const s = enc.encode('hi there\0');
  const argRegs = [r3, r4, r5];
  return program(
    ...stackBytes(f, 128),
    ...stackBytes(s, 256),
    ...args.map((a, i) => (a === 'str' ? [alu64.mov.reg(argRegs[i]!, r10), alu64.add.imm(argRegs[i]!, -256)] : a === 'null' ? [alu64.mov.imm(argRegs[i]!, 0)] : [ld.imm64(argRegs[i]!, a)])).flat(),
    alu64.mov.reg(r1, r10),
    alu64.add.imm(r1, -128),
    alu64.mov.imm(r2, size),
    call.helper('trace_printk'),
    exit(),
  );
}

kernelTest('bpf_trace_printk: return values (formatted length or -EINVAL) agree with the kernel', (sys) => {
  const cases: [string, (bigint | 'str' | 'null')[], number?][] = [
    ['hello\n\0', []],
    ['%d %i %u\0', [-5n, 0xffffffffn, 0xfffffffffn]],
    ['%x %X %lx\0', [0xabcdefn, 0xabcdefn, -1n]],
    ['%lld %llu %llx\0', [-1n, -1n, 0x123456789abcdefn]],
    ['%ld|%lu|%li\0', [-(2n ** 40n), 2n ** 63n, 7n]],
    ['%5d|%-5d|%05x\0', [42n, 42n, 0xabn]],
    ['%+d|% d|%08lld\0', [3n, 3n, -12345n]],
    ['%c%c%c\0', [0x41n, 0x42n, 0n]],
    ['[%s] [%s]\0', ['str', 'null']],
    ['100%%\0', []],
    ['%px\0', [0x1234n]],
    ['%d %d %d %d\0', [1n, 2n, 3n]],
    ['%n\0', [1n]],
    ['%.2d\0', [1n]],
    ['%lc\0', [65n]],
    ['%ls\0', ['str']],
    ['%#x\0', [1n]],
    ['tab\there\0', []],
    ['bell\x07\0', []],
    ['no nul', [], 6],
    ['%\0', []],
    ['%lllx\0', [1n]],
    ['%10s|%-10s|\0', ['str', 'str']],
  ];
  const diffs: string[] = [];
  for (const [fmt, args, size] of cases) {
    const insns = printk(fmt, size ?? fmt.length, args);
    const k = summary(kernelRun(sys, xdpOps, insns, new Uint8Array(14)));
    const m = summary(vmRun(xdpOps, insns, new Uint8Array(14), undefined, { env: createHelperEnv() }));
    if (k !== m) diffs.push(`${JSON.stringify(fmt)}: kernel ${k.slice(0, 20)}, bpfkit ${m.slice(0, 20)}`);
  }
  process.stdout.write(`# trace_printk: ${cases.length} formats compared with the kernel\n`);
  assert.deepEqual(diffs, []);
});

test('bpf_trace_printk lines reach the trace log', () => {
  const env = createHelperEnv();
  run(printk('x=%d s=%s\0', 10, [-7n, 'str']), undefined, new Uint8Array(14), { env });
  assert.deepEqual(env.traceLog, ['x=-7 s=hi there']);
  assert.deepEqual(formatTracePrintk(new TextEncoder().encode('%llx\0'), [255n], () => ''), { line: 'ff' });
});

kernelTest('bpf_redirect (xdp and tc) and bpf_redirect_map (devmap, with and without an entry) agree with the kernel', (sys) => {
  const diffs: string[] = [];
  let compared = 0;
  const redirect = (ifindex: number, flags: number) => program(alu64.mov.imm(r1, ifindex), alu64.mov.imm(r2, flags), call.helper('redirect'), exit());
  for (const ops of [xdpOps, tcOps]) {
    for (const flags of [0, 1, 2, 8, -1]) {
      const insns = redirect(3, flags);
      const frameBytes = new Uint8Array(60);
      const k = summary(kernelRun(sys, ops, insns, frameBytes));
      const m = summary(vmRun(ops, insns, frameBytes, undefined, { env: createHelperEnv() }));
      compared++;
      if (k !== m) diffs.push(`${ops.name} redirect flags ${flags}: kernel ${k.slice(0, 20)}, bpfkit ${m.slice(0, 20)}`);
    }
  }
  const peer = (flags: number) => program(alu64.mov.imm(r1, 4), alu64.mov.imm(r2, flags), call.helper('redirect_peer'), exit());
  const neigh = (plen: number, flags: number) =>
    program(st.dw(r10, -24, 10), st.dw(r10, -16, 0), st.dw(r10, -8, 0), alu64.mov.imm(r1, 4), alu64.mov.reg(r2, r10), alu64.add.imm(r2, -24), alu64.mov.imm(r3, plen), alu64.mov.imm(r4, flags), call.helper('redirect_neigh'), exit());
  const neighNull = program(alu64.mov.imm(r1, 4), alu64.mov.imm(r2, 0), alu64.mov.imm(r3, 0), alu64.mov.imm(r4, 0), call.helper('redirect_neigh'), exit());
  for (const [name, insns] of [['peer 0', peer(0)], ['peer 1', peer(1)], ['neigh 20', neigh(20, 0)], ['neigh 24', neigh(24, 0)], ['neigh 8', neigh(8, 0)], ['neigh flags', neigh(20, 1)], ['neigh null', neighNull]] as const) {
    const frameBytes = new Uint8Array(60);
    const k = summary(kernelRun(sys, tcOps, insns, frameBytes));
    const m = summary(vmRun(tcOps, insns, frameBytes, undefined, { env: createHelperEnv() }));
    compared++;
    if (k !== m) diffs.push(`redirect_${name}: kernel ${k.slice(0, 20)}, bpfkit ${m.slice(0, 20)}`);
  }
  const env = createHelperEnv();
  const viaNeigh = run(neigh(20, 0), undefined, new Uint8Array(60), { env, programType: tcOps }).redirect;
  assert.ok(viaNeigh?.kind === 'ifindex' && viaNeigh.via === 'neigh' && viaNeigh.nextHop?.[0] === 10);
  const r = run(redirect(5, 1), undefined, new Uint8Array(60), { env, programType: tcOps });
  assert.deepEqual(r.redirect, { kind: 'ifindex', ifindex: 5, flags: 1 });

  // redirect_map on a devmap: slot 0 holds ifindex 1 (lo); slot 1 is empty.
  using dev = createKernelMap(sys, { type: BpfMapType.DEVMAP, keySize: 4, valueSize: 4, maxEntries: 4 });
  const value = new Uint8Array([1, 0, 0, 0]);
  updateElem(dev, new Uint8Array(4), value);
  const space = new AddressSpace();
  const devmap = createMap({ name: 'dev', type: BpfMapType.DEVMAP, keySize: 4, valueSize: 4, maxEntries: 4, flags: 0 }, { space, cpus: 1 });
  for (const key of [0, 1, 9]) {
    for (const flags of [0, XdpAction.PASS, XdpAction.TX, 4, 8, 8 | 16, 32]) {
      const insns = program(ld.map_fd(r1, dev.raw), alu64.mov.imm(r2, key), alu64.mov.imm(r3, flags), call.helper('redirect_map'), exit());
      using prog = loadProgram(sys, { type: xdpOps.type, insns: encode(insns), license: 'GPL', name: 'bk_ctx_redir' });
      const k = testRun(prog, { dataIn: new Uint8Array(60) }).retval;
      const m = devmap;
      if (key === 0) m.write(new Uint8Array(4), value, 0);
      const mine = run(insns, undefined, new Uint8Array(60), {
        space,
        env: createHelperEnv({ mapByAddress: (a) => (a === m.address ? m : undefined) }),
        resolve: () => ({ lo: m.address | 0, hi: Math.floor(m.address / 4294967296) }),
      }).retval;
      compared++;
      if (k !== mine) diffs.push(`redirect_map key ${key} flags ${flags}: kernel ${k}, bpfkit ${mine}`);
    }
  }
  process.stdout.write(`# redirect: ${compared} cases compared with the kernel\n`);
  assert.deepEqual(diffs, []);
});

test('ring buffer helpers: output, reserve/submit/discard, query; records read back in order', () => {
  const space = new AddressSpace();
  const rb = createMap({ name: 'rb', type: BpfMapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096, flags: 0 }, { space, cpus: 1 });
  assert.ok(rb instanceof RingbufMap);
  const env = createHelperEnv({ mapByAddress: (a) => (a === rb.address ? rb : undefined) });
  const insns = program(
    alu64.mov.reg(r6, r1),
    st.dw(r10, -8, 0x11223344),
    ld.map_fd(r1, 0),
    alu64.mov.reg(r2, r10),
    alu64.add.imm(r2, -8),
    alu64.mov.imm(r3, 8),
    alu64.mov.imm(r4, 0),
    call.helper('ringbuf_output'),
    ld.map_fd(r1, 0),
    alu64.mov.imm(r2, 16),
    alu64.mov.imm(r3, 0),
    call.helper('ringbuf_reserve'),
    jmp.jeq.imm(r0, 0, 'out'),
    st.dw(r0, 0, 0x55),
    st.dw(r0, 8, 0x66),
    alu64.mov.reg(r1, r0),
    alu64.mov.imm(r2, 0),
    call.helper('ringbuf_submit'),
    ld.map_fd(r1, 0),
    alu64.mov.imm(r2, 4),
    alu64.mov.imm(r3, 0),
    call.helper('ringbuf_reserve'),
    jmp.jeq.imm(r0, 0, 'out'),
    alu64.mov.reg(r1, r0),
    alu64.mov.imm(r2, 0),
    call.helper('ringbuf_discard'),
    ld.map_fd(r1, 0),
    alu64.mov.imm(r2, 3), // BPF_RB_PROD_POS
    call.helper('ringbuf_query'),
    label('out'),
    exit(),
  );
  const r = run(insns, undefined, new Uint8Array(14), { space, env, resolve: () => ({ lo: rb.address | 0, hi: Math.floor(rb.address / 4294967296) }) });
  // Records: 8 + 8, 8 + 16, 8 + 8 (4 rounded up) bytes.
  assert.equal(r.retval, 16 + 24 + 16);
  const records = [...rb.consume()];
  assert.deepEqual(records.map((x) => x.data.length), [8, 16]);
  assert.equal(new DataView(records[1]!.data.buffer).getBigUint64(8, true), 0x66n);
});

test('time, random and CPU helpers read the environment', () => {
  let t = 5_000_000_000n;
  const env = createHelperEnv({ cpu: 3, cpus: 4, clock: { monotonic: () => (t += 1n), boot: () => 9n }, random: () => 0xdeadbeef, hz: 250 });
  const call1 = (name: Parameters<typeof call.helper>[0]) => run(program(call.helper(name), exit()), undefined, new Uint8Array(14), { env }).r0;
  assert.equal(call1('ktime_get_ns'), 5_000_000_001n);
  assert.equal(call1('ktime_get_boot_ns'), 9n);
  assert.equal(call1('jiffies64'), (5_000_000_003n * 250n) / 1_000_000_000n);
  assert.equal(call1('get_prandom_u32'), 0xdeadbeefn);
  assert.equal(call1('get_smp_processor_id'), 3n);
});

test('bpf_fib_lookup against a user FIB: longest prefix, neighbours, reject routes, MTU (the kernel comparison is fib.test.ts)', () => {
  const fib = {
    routes: [
      { family: 4 as const, dst: new Uint8Array([10, 0, 0, 0]), prefixLen: 8, ifindex: 2, gateway: new Uint8Array([10, 0, 0, 1]) },
      { family: 4 as const, dst: new Uint8Array([10, 1, 0, 0]), prefixLen: 16, ifindex: 3 },
      { family: 4 as const, dst: new Uint8Array([192, 168, 0, 0]), prefixLen: 16, type: 'blackhole' as const },
    ],
    neighbours: [
      { ifindex: 2, ip: new Uint8Array([10, 0, 0, 1]), mac: new Uint8Array([2, 0, 0, 0, 0, 1]) },
      { ifindex: 3, ip: new Uint8Array([10, 1, 2, 3]), mac: new Uint8Array([2, 0, 0, 0, 0, 3]) },
    ],
    devices: [{ ifindex: 1 }, { ifindex: 2 }, { ifindex: 3, mac: new Uint8Array([2, 0, 0, 0, 0, 0x33]), mtu: 1400 }],
  };
  const params = (dst: number[], totLen = 100): Uint8Array => {
    const p = new Uint8Array(64);
    p[FibLookup.family] = 2;
    new DataView(p.buffer).setUint16(FibLookup.tot_len, totLen, true);
    new DataView(p.buffer).setUint32(FibLookup.ifindex, 1, true);
    p.set(dst, FibLookup.dst);
    return p;
  };
  let p = params([10, 9, 9, 9]);
  assert.equal(fibLookup(fib, p, 0), 0);
  assert.deepEqual([...p.subarray(FibLookup.dmac, FibLookup.dmac + 6)], [2, 0, 0, 0, 0, 1]);
  assert.equal(new DataView(p.buffer).getUint32(FibLookup.ifindex, true), 2);
  assert.deepEqual([...p.subarray(FibLookup.dst, FibLookup.dst + 4)], [10, 0, 0, 1]); // the gateway
  p = params([10, 1, 2, 3]);
  assert.equal(fibLookup(fib, p, 0), 0);
  assert.deepEqual([...p.subarray(FibLookup.smac, FibLookup.smac + 6)], [2, 0, 0, 0, 0, 0x33]);
  assert.equal(fibLookup(fib, params([10, 1, 2, 4]), 0), 7); // NO_NEIGH
  assert.equal(fibLookup(fib, params([10, 1, 2, 4]), 4), 0); // SKIP_NEIGH
  assert.equal(fibLookup(fib, params([192, 168, 1, 1]), 0), 1); // BLACKHOLE
  assert.equal(fibLookup(fib, params([8, 8, 8, 8]), 0), 4); // NOT_FWDED
  p = params([10, 1, 2, 3], 1500);
  assert.equal(fibLookup(fib, p, 0), 8); // FRAG_NEEDED
  assert.equal(new DataView(p.buffer).getUint16(FibLookup.mtu_result, true), 1400);
  p = params([10, 1, 2, 3]);
  new DataView(p.buffer).setUint32(FibLookup.ifindex, 9, true);
  assert.equal(fibLookup(fib, p, 0), -19); // unknown input device: -ENODEV
});

test('a helper outside the program type is refused at prepare time by name; one bpfkit refuses faults when reached', () => {
  const env = createHelperEnv();
  assert.throws(
    () => prepareProgram(program(alu64.mov.imm(r2, 0), call.helper('xdp_adjust_head'), exit()), { helpers: createHelpers(env, socketFilterOps) }),
    (err: unknown) => err instanceof UnknownHelperError && /bpf_xdp_adjust_head \(44\)/.test(err.message),
  );
  const refused = prepareProgram(program(call.helper('tcp_gen_syncookie'), exit()), { helpers: createHelpers(env, tcOps) });
  assert.throws(
    () => new Interpreter(refused, new AddressSpace()).run(0),
    (err: unknown) => err instanceof UnmodelledCallError && err.callee === 'bpf_tcp_gen_syncookie' && err.pc === 0 && /boot-time secret/.test(err.message),
  );
  const tc = createHelpers(env, tcOps);
  assert.ok(tc.get(BpfFuncId.skb_vlan_push) && !tc.get(BpfFuncId.xdp_adjust_head));
  const sf = createHelpers(env, socketFilterOps);
  assert.ok(sf.get(BpfFuncId.skb_load_bytes) && !sf.get(BpfFuncId.skb_store_bytes));
  assert.ok(createHelpers(env, xdpOps).get(BpfFuncId.xdp_adjust_tail));
});

kernelTest('bpf_clone_redirect: flags, unknown devices and GSO skbs refused as in the kernel; loopback clones recorded', (sys) => {
  // Clones go out on loopback only (ifindex 1): an ARP frame nobody answers.
  const arp = new Uint8Array(42);
  arp.set([0x08, 0x06], 12);
  const clone = (ifindex: number, flags: number) => program(alu64.mov.imm(r2, ifindex), alu64.mov.imm(r3, flags), call.helper('clone_redirect'), exit());
  const gso = new Uint8Array(192);
  new DataView(gso.buffer).setUint32(176, 1400, true);
  const diffs: string[] = [];
  let compared = 0;
  for (const [ifindex, flags, ctx] of [[1, 0, undefined], [1, 1, undefined], [0, 0, undefined], [99999, 0, undefined], [1, 2, undefined], [1, 0, gso]] as const) {
    const k = summary(kernelRun(sys, tcOps, clone(ifindex, flags), arp, ctx));
    const env = createHelperEnv();
    const m = summary(vmRun(tcOps, clone(ifindex, flags), arp, ctx, { env }));
    compared++;
    if (k !== m) diffs.push(`clone_redirect ${ifindex} flags ${flags}${ctx ? ' gso' : ''}: kernel ${k.slice(0, 24)}, bpfkit ${m.slice(0, 24)}`);
    if (ifindex === 1 && flags < 2 && !ctx) assert.deepEqual(env.clones, [{ ifindex: 1, flags, data: arp }]);
  }
  process.stdout.write(`# clone_redirect: ${compared} cases compared with the kernel\n`);
  assert.deepEqual(diffs, []);
});

kernelTest('get_current_pid_tgid / uid_gid / comm / cgroup_id report the task given in env, as the kernel reports the caller', (sys) => {
  const comm = readFileSync('/proc/self/comm', 'utf8').trim();
  const cgroupPath = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'))?.slice(3) ?? '/';
  let cgroupId: bigint | undefined;
  try {
    cgroupId = statSync(`/sys/fs/cgroup${cgroupPath}`, { bigint: true }).ino;
  } catch {
    cgroupId = undefined;
  }
  const task = { pid: process.pid, tgid: process.pid, uid: process.getuid!(), gid: process.getgid!(), comm, ...(cgroupId !== undefined ? { cgroupId } : {}) };
  /** Writes the helper's 64-bit result (or, for comm, the `size`-byte buffer) over the packet. */
  const write64 = (helper: 'get_current_pid_tgid' | 'get_current_uid_gid' | 'get_current_cgroup_id') =>
    program(ldx.w(r6, r1, 0), ldx.w(r7, r1, 4), alu64.mov.reg(r2, r6), alu64.add.imm(r2, 16), alu64.mov.imm(r0, 1), jmp.jgt.reg(r2, r7, 'out'), call.helper(helper), stx.dw(r6, 0, r0), alu64.mov.imm(r0, 0), label('out'), exit());
  const commProg = (size: number) =>
    program(
      ldx.w(r6, r1, 0), ldx.w(r7, r1, 4), alu64.mov.reg(r2, r6), alu64.add.imm(r2, 16), alu64.mov.imm(r0, 1), jmp.jgt.reg(r2, r7, 'out'),
      st.dw(r10, -16, 0x7777), st.dw(r10, -8, 0x7777),
      alu64.mov.reg(r1, r10), alu64.add.imm(r1, -16), alu64.mov.imm(r2, size), call.helper('get_current_comm'),
      ldx.dw(r2, r10, -16), stx.dw(r6, 0, r2), ldx.dw(r2, r10, -8), stx.dw(r6, 8, r2),
      label('out'), exit(),
    );
  const cases: [string, ReturnType<typeof program>][] = [
    ['pid_tgid', write64('get_current_pid_tgid')],
    ['uid_gid', write64('get_current_uid_gid')],
    ['comm 16', commProg(16)],
    ['comm 4', commProg(4)],
    ['comm 1', commProg(1)],
  ];
  if (cgroupId !== undefined) cases.push(['cgroup_id', write64('get_current_cgroup_id')]);
  const diffs: string[] = [];
  for (const [name, insns] of cases) {
    const k = summary(kernelRun(sys, xdpOps, insns, new Uint8Array(20)));
    const m = summary(vmRun(xdpOps, insns, new Uint8Array(20), undefined, { env: createHelperEnv({ task }) }));
    if (k !== m) diffs.push(`${name}: kernel ${k}, bpfkit ${m}`);
  }
  process.stdout.write(`# current task: ${cases.length} cases compared with the kernel\n`);
  assert.deepEqual(diffs, []);
});
