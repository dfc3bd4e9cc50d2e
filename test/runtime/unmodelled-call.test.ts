// Calls the userspace runtime does not model fault when a run reaches them, not when the program is prepared:
// test/fixtures/kfunc/kfunc_unmodelled.o calls a SYN cookie helper and bpf_ct_set_nat_info on a path only some
// packets take. Packets that do not take it equal BPF_PROG_TEST_RUN (retval, data_out) in the JIT and the
// interpreter; packets that take it fault with UnmodelledCallError at the call's pc (the kernel runs the SYN
// ones to XDP_TX there, so the path is real; the DNS ones would insert a conntrack entry into this namespace, so
// the kernel runs only the others); `bpfkit run` counts them per packet; `bpfkit inspect` lists the calls.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseBtf } from '../../src/btf/index.js';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/output.js';
import { loadObject } from '../../src/elf/object-loader.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import { writePcap } from '../../src/packet/index.js';
import { loadUserspace, unmodelledCalls, UnmodelledCallError } from '../../src/runtime/index.js';
import { assertVerified } from '../../src/verifier/verify.js';
import { kernelTest } from '../kernel/harness.js';
import { fixturesDir } from '../support/fixtures.js';
import { iterationSeed, prng } from '../support/mutate.js';

const file = path.join(fixturesDir, 'kfunc', 'kfunc_unmodelled.o');
const spec = loadObject(new Uint8Array(readFileSync(file)), { objectName: 'kfunc_unmodelled' });
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const XDP_TX = 3;

/** Ethernet/IPv4 with protocol `proto`, ports and TCP flags (byte 47), the rest seeded; `len` bytes. */
function packet(i: number, proto: number, dport: number, tcpFlags: number, len: number): Uint8Array {
  const r = prng(iterationSeed(18, i));
  const f = new Uint8Array(len).map(() => r.int(256));
  f.set([0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00, 0x45, 0, 0, len - 14, 0, 0, 0x40, 0, 64, proto], 0);
  f.set([10, 0, 0, i & 0xff, 10, 0, 1, 1, 0x30, 0x39, dport >> 8, dport & 0xff], 26);
  if (proto === 6) {
    f[46] = 0x50; // data offset 5
    f[47] = tcpFlags;
  }
  return f;
}

/** The corpus, with whether each packet reaches each program's unmodelled call. */
function corpus(): { data: Uint8Array; reaches: Record<string, boolean> }[] {
  const out: { data: Uint8Array; reaches: Record<string, boolean> }[] = [];
  let i = 0;
  for (const len of [54, 60, 128, 590]) {
    for (const [flags, syn] of [[0x02, true], [0x12, false], [0x10, false], [0x18, false], [0x03, true], [0x00, false]] as const) {
      out.push({ data: packet(i++, 6, 80, flags, len), reaches: { xdp_cookie_on_syn: syn, xdp_nat_on_dns: false } });
    }
    for (const dport of [53, 54, 5353]) out.push({ data: packet(i++, 17, dport, 0, len), reaches: { xdp_cookie_on_syn: false, xdp_nat_on_dns: dport === 53 } });
    out.push({ data: packet(i++, 1, 0, 0, len), reaches: { xdp_cookie_on_syn: false, xdp_nat_on_dns: false } });
  }
  // Not IPv4 (ARP), IPv4 with options, too short: dropped before any call.
  const arp = packet(i++, 6, 80, 0x02, 60);
  arp[13] = 0x06;
  const opts = packet(i++, 6, 80, 0x02, 80);
  opts[14] = 0x46;
  for (const d of [arp, opts, packet(i, 6, 80, 0x02, 40)]) out.push({ data: d, reaches: { xdp_cookie_on_syn: false, xdp_nat_on_dns: false } });
  return out;
}

const CALLEES: Record<string, { name: string; kind: 'helper' | 'kfunc' }> = {
  xdp_cookie_on_syn: { name: 'bpf_tcp_raw_gen_syncookie_ipv4', kind: 'helper' },
  xdp_nat_on_dns: { name: 'bpf_ct_set_nat_info', kind: 'kfunc' },
};

kernelTest('unmodelled helper and kfunc: packets that do not reach the call equal BPF_PROG_TEST_RUN, packets that do fault there, named (JIT and interpreter)', (sys) => {
  const kernelBtf = parseBtf(new Uint8Array(readFileSync('/sys/kernel/btf/vmlinux')));
  using kernel = loadKernelObject(sys, spec);
  let equal = 0;
  let faults = 0;
  for (const engine of ['jit', 'interpreter'] as const) {
    using user = loadUserspace(spec, { engine, verify: (p, s) => void assertVerified(p, s, { kernelBtf }) });
    for (const [prog, callee] of Object.entries(CALLEES)) {
      // Up front: the one call is listed with its pc, from the spec and from the prepared program.
      const listed = user.program(prog).unmodelledCalls;
      assert.equal(listed.length, 1, `${prog}: ${JSON.stringify(listed)}`);
      assert.equal(listed[0]!.name, callee.name);
      assert.equal(listed[0]!.kind, callee.kind);
      assert.match(listed[0]!.reason, callee.kind === 'helper' ? /SYN cookie/ : /NAT/);
      assert.deepEqual(unmodelledCalls(spec.programs.find((p) => p.name === prog)!), listed);
      for (const c of corpus()) {
        if (c.reaches[prog]) {
          // The kernel takes the path (the call succeeds: XDP_TX); userspace stops at the call.
          if (callee.kind === 'helper') assert.equal(kernel.program(prog).testRun({ dataIn: c.data }).retval, XDP_TX, `${prog}: the kernel reaches the call on ${hex(c.data).slice(0, 96)}`);
          assert.throws(
            () => user.program(prog).testRun({ data: c.data }),
            (e: unknown) => e instanceof UnmodelledCallError && e.code === 'ERR_UNMODELLED_CALL' && e.pc === listed[0]!.pc && e.callee === callee.name && e.kind === callee.kind && e.message.startsWith(`pc ${listed[0]!.pc}: ${callee.kind} ${callee.name}`),
            `${engine} ${prog}`,
          );
          faults++;
        } else {
          const k = kernel.program(prog).testRun({ dataIn: c.data });
          const u = user.program(prog).testRun({ data: c.data });
          assert.equal(u.retval, k.retval, `${engine} ${prog}: retval on ${hex(c.data).slice(0, 96)}`);
          assert.equal(hex(u.dataOut), hex(k.dataOut), `${engine} ${prog}: data_out`);
          equal++;
        }
      }
    }
  }
  assert.ok(equal > 80 && faults > 20, `${equal} equal, ${faults} faults`);
  process.stdout.write(`# unmodelled calls: ${equal} runs equal the kernel, ${faults} runs fault at the call as expected\n`);
});

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t) };
  const code = await main(argv, io);
  return { code, out, err };
}

kernelTest('bpfkit run counts a packet that reaches an unmodelled call as a fault of that packet; inspect lists the call', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bpfkit-unmodelled-'));
  try {
    const packets = corpus();
    const pcap = path.join(dir, 'in.pcap');
    writeFileSync(pcap, writePcap(packets.map((p) => p.data)));
    for (const [prog, callee] of Object.entries(CALLEES)) {
      const reached = packets.filter((p) => p.reaches[prog]).length;
      for (const engine of ['jit', 'interpreter']) {
        const r = await cli('run', file, '--prog', prog, '--pcap', pcap, '--engine', engine, '--json');
        assert.equal(r.code, 0, r.err);
        const doc = JSON.parse(r.out) as { packets: number; faults: number; first_faults: { pc: number; code: string; error: string }[]; verdicts: { verdict: string; packets: number }[] };
        assert.equal(doc.packets, packets.length);
        assert.equal(doc.faults, reached, `${engine} ${prog}`);
        assert.ok(doc.first_faults.every((f) => f.code === 'ERR_UNMODELLED_CALL' && f.error.includes(callee.name)), JSON.stringify(doc.first_faults));
        assert.equal(doc.verdicts.reduce((n, v) => n + v.packets, 0), packets.length - reached);
      }
    }
    const ins = await cli('inspect', file, '--json');
    assert.equal(ins.code, 0, ins.err);
    const doc = JSON.parse(ins.out) as { programs: { name: string; unmodelled_calls?: { pc: number; kind: string; name: string }[] }[]; warnings: string[] };
    for (const [prog, callee] of Object.entries(CALLEES)) {
      const calls = doc.programs.find((p) => p.name === prog)!.unmodelled_calls ?? [];
      assert.deepEqual(calls.map((c) => `${c.kind} ${c.name}`), [`${callee.kind} ${callee.name}`]);
      assert.ok(doc.warnings.some((w) => w.startsWith(`program ${prog}: pc ${calls[0]!.pc}: ${callee.kind} ${callee.name} is not modelled`)), doc.warnings.join('\n'));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
