// The pipeline: RSS spreads flows over CPUs like a NIC, verdicts and sinks, faults and refused frames don't stop the run.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadObject } from '../../src/elf/object-loader.js';
import type { ObjectSpec, ProgramSpec } from '../../src/elf/object-spec.js';
import { alu64, call, exit, jmp, label, ldx, program, r0, r1, r2 } from '../../src/isa/index.js';
import { buildTcp, buildUdp, CaptureReader, PcapWriter, RssSpreader, writePcap } from '../../src/packet/index.js';
import { Pipeline, runCapture } from '../../src/runtime/pipeline.js';
import { loadUserspace } from '../../src/runtime/userspace-object.js';
import { BpfProgType } from '../../src/isa/uapi.generated.js';
import { fixturePath } from '../support/fixtures.js';

const base = loadObject(new Uint8Array(readFileSync(fixturePath('xdp_stats'))), { objectName: 'xdp_stats' });
const withProgram = (name: string, insns: ReturnType<typeof program>): ObjectSpec => {
  const p: ProgramSpec = { ...base.programs[0]!, name, maps: [], instructions: insns };
  return { ...base, maps: [], programs: [p] };
};

/** 40 flows x 5 packets, interleaved. */
function flows(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let round = 0; round < 5; round++) {
    for (let f = 0; f < 40; f++) {
      out.push(f % 2 ? buildUdp({ src: `10.1.${f}.1`, dst: '10.2.0.1', sport: 1000 + f, dport: 53, payload: `r${round}` }) : buildTcp({ src: `10.1.${f}.1`, dst: '10.2.0.1', sport: 2000 + f, dport: 80 }));
    }
  }
  return out;
}

test('each packet runs on the CPU its RSS queue maps to, and the context says so (rx_queue_index)', () => {
  const packets = flows();
  const rss = new RssSpreader({ queues: 4 });
  const expected = [0, 0, 0, 0];
  for (const p of packets) expected[rss.queueOf(p)]!++;
  assert.ok(expected.filter((n) => n > 0).length >= 3, `flows spread over queues: ${expected}`);
  const capture = writePcap(packets);
  // Return bpf_get_smp_processor_id(): verdict counts per retval are packets per CPU.
  using byCpu = loadUserspace(withProgram('cpu', program(call.helper('get_smp_processor_id'), exit())), { cpus: 4 });
  const r = runCapture(byCpu.program('cpu'), capture, { cpus: 4 });
  assert.equal(r.packets, packets.length);
  assert.deepEqual(r.verdicts.map((v) => [v.retval, v.packets]), expected.map((n, q) => [q, n]).filter(([, n]) => n! > 0));
  assert.deepEqual(r.cpus.map((c) => c.packets), expected);
  // Return ctx->rx_queue_index: the same split.
  using byQueue = loadUserspace(withProgram('queue', program(ldx.w(r0, r1, 16), exit())), { cpus: 4 });
  const q = runCapture(byQueue.program('queue'), capture, { cpus: 4 });
  assert.deepEqual(q.verdicts.map((v) => v.packets), r.verdicts.map((v) => v.packets));
});

test('TC programs see the receive queue as skb->queue_mapping = queue + 1, and the ingress ifindex', () => {
  const packets = flows();
  const rss = new RssSpreader({ queues: 3 });
  const expected = new Map<number, number>();
  for (const p of packets) expected.set(rss.queueOf(p) + 1, (expected.get(rss.queueOf(p) + 1) ?? 0) + 1);
  const tc = (name: string, off: number): ObjectSpec => {
    const s = withProgram(name, program(ldx.w(r0, r1, off), exit()));
    return { ...s, programs: [{ ...s.programs[0]!, type: BpfProgType.SCHED_CLS, section: 'tc' }] };
  };
  using q = loadUserspace(tc('qm', 12), { cpus: 3 }); // __sk_buff.queue_mapping
  const r = runCapture(q.program('qm'), writePcap(packets), { cpus: 3 });
  assert.deepEqual(r.verdicts.map((v) => [v.retval, v.packets]), [...expected].sort((a, b) => a[0] - b[0]));
  using i = loadUserspace(tc('ifi', 36), { cpus: 3 }); // __sk_buff.ingress_ifindex
  const ri = runCapture(i.program('ifi'), writePcap(packets), { cpus: 3, ifindex: 7 });
  assert.deepEqual(ri.verdicts.map((v) => [v.retval, v.packets]), [[7, packets.length]]);
});

test('sinks get the packets of their verdict; a faulting packet is reported and the run goes on', () => {
  // First byte 0xff: a load at data_end (a fault); otherwise first byte 0 passes, 1 drops.
  const insns = program(
    ldx.w(r2, r1, 0),
    ldx.b(r0, r2, 0),
    jmp.jne.imm(r0, 0xff, 'ok'),
    ldx.w(r1, r1, 4),
    ldx.w(r0, r1, 0),
    label('ok'),
    alu64.and.imm(r0, 1),
    alu64.add.imm(r0, 1),
    alu64.xor.imm(r0, 3), // first byte 0 -> 2 (XDP_PASS), 1 -> 1 (XDP_DROP)
    exit(),
  );
  // The verifier would refuse the out-of-bounds load; skip it to see the run-time fault handling.
  using obj = loadUserspace(withProgram('mix', insns), { cpus: 2, verify: false });
  const packets = flows().slice(0, 30).map((p, i) => {
    const c = p.slice();
    c[0] = i % 10 === 3 ? 0xff : i % 2; // 3 faults; the rest alternate pass / drop
    return c;
  });
  packets.push(new Uint8Array(10)); // a runt: not delivered
  const pass = new PcapWriter();
  const drop = new PcapWriter();
  const faults: number[] = [];
  const progress: number[] = [];
  const pipe = new Pipeline(obj.program('mix'), { cpus: 2, sinks: { pass, drop }, onFault: (f) => faults.push(f.index), progressEvery: 10, onProgress: (p) => progress.push(p.packets) });
  const capture = writePcap(packets);
  pipe.push(capture.subarray(0, 100)).push(capture.subarray(100)); // split mid-record
  const r = pipe.end();
  assert.deepEqual(faults, [3, 13, 23]);
  assert.equal(r.faultCount, 3);
  assert.equal(r.faults[0]!.pc, 4);
  assert.equal(r.faults[0]!.code, 'ERR_MEMORY_FAULT');
  assert.equal(r.refusedCount, 1);
  assert.equal(r.refused[0]!.index, 30);
  assert.deepEqual(progress, [10, 20, 30]);
  const count = (w: PcapWriter): number => [...new CaptureReader().push(w.flush()).end()].length;
  const verdicts = Object.fromEntries(r.verdicts.map((v) => [v.verdict, v.packets]));
  assert.equal(verdicts['pass'], 15); // even indices
  assert.equal(verdicts['drop'], 12); // odd indices but the 3 faults
  assert.equal(count(pass), 15);
  assert.equal(count(drop), 12);
});

test('the demo: xdp_flow_stats over examples/traffic.pcap passes exactly the allowed flow among IPv4 flows', () => {
  const spec = loadObject(new Uint8Array(readFileSync(new URL('../../examples/xdp_flow_stats.o', import.meta.url))), { objectName: 'xdp_flow_stats' });
  using obj = loadUserspace(spec, { cpus: 4 });
  const key = new Uint8Array([10, 0, 0, 1, 10, 0, 0, 2, 0x9c, 0x40, 0, 53, 17, 0, 0, 0]);
  assert.equal(obj.map('allowed_flows').write(key, new Uint8Array(8), 0), 0);
  const r = runCapture(obj.program('xdp_flow_stats'), new Uint8Array(readFileSync(new URL('../../examples/traffic.pcap', import.meta.url))), { cpus: 4 });
  assert.equal(r.packets, 3000);
  assert.equal(r.faultCount, 0);
  const hits = new DataView(obj.map('allowed_flows').read(key)!.buffer).getUint32(0, true);
  // The allowed flow is one 5-tuple: RSS puts all of it on one CPU.
  const stride = 16;
  const pass = obj.map('stats').read(new Uint8Array([2, 0, 0, 0]))!;
  const perCpu = [0, 1, 2, 3].map((c) => new DataView(pass.buffer).getUint32(c * stride, true));
  assert.equal(perCpu.reduce((a, b) => a + b, 0), r.verdicts.find((v) => v.verdict === 'pass')!.packets);
  assert.ok(hits > 300, `allowed flow hits ${hits}`);
});
