// The tracing attach paths this kernel refuses (kprobe PMU, legacy kprobe_events, kprobe_multi, fentry/fexit links),
// driven through a fake Sys: the perf_event_attr, tracefs writes and bpf attrs are the kernel's documented ones.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LINK_CREATE_ATTR, OBJ_INFO_ATTR } from '../../../src/kernel/bpf-attr.generated.js';
import { AttachType, BpfCmd, ProgType } from '../../../src/kernel/bpf/constants.js';
import { Fd } from '../../../src/kernel/fd.js';
import { NotSupportedError } from '../../../src/errors.js';
import { attachKprobe, attachKprobeMulti, attachTracepoint, attachTracing } from '../../../src/kernel/attach/tracing.js';
import { TracingRefusedError, TracefsNotMountedError, FunctionNotFoundError } from '../../../src/kernel/attach/tracing-errors.js';
import { StructReader } from '../../../src/kernel/struct-codec.js';
import type { PointerField } from '../../../src/kernel/sys.js';
import { FakeSys, fail, type FakeBpfCall } from '../fake-sys.js';

interface PerfOpen {
  attr: Uint8Array;
  pid: number;
  cpu: number;
  pointers: readonly PointerField[];
}

class TracingFakeSys extends FakeSys {
  readonly perfOpens: PerfOpen[] = [];
  readonly appended: string[] = [];
  perfResult: () => number = () => 50;
  perfEventOpen(attr: Uint8Array, pid: number, cpu: number, _g: number, _f: number, pointers: readonly PointerField[] = []): number {
    this.perfOpens.push({ attr: attr.slice(), pid, cpu, pointers });
    return this.perfResult();
  }
  appendFile(path: string, data: Uint8Array): void {
    const line = new TextDecoder().decode(data);
    this.appended.push(`${path}: ${line.trim()}`);
    const m = /^p:bpfkit\/(\S+) /.exec(line);
    if (m) this.files.set(`/sys/kernel/tracing/events/bpfkit/${m[1]}/id`, '1234\n');
  }
}

/** Queues the BPF_OBJ_GET_INFO_BY_FD answer "a program of `type`, id 7". */
function progInfo(sys: FakeSys, type: number): void {
  sys.onBpf((call: FakeBpfCall) => {
    const info = call.pointers.find((p) => p.offset === OBJ_INFO_ATTR.fields.info.offset)!.target;
    const v = new DataView(info.buffer, info.byteOffset);
    v.setUint32(0, type, true);
    v.setUint32(4, 7, true);
    return 0;
  });
}

const prog = (sys: FakeSys): Fd<'prog'> => new Fd(sys, 3, 'prog');
const u64At = (b: Uint8Array, off: number): bigint => new DataView(b.buffer, b.byteOffset).getBigUint64(off, true);
const u32At = (b: Uint8Array, off: number): number => new DataView(b.buffer, b.byteOffset).getUint32(off, true);

test('kprobe through the kprobe PMU: type from sysfs, config1 -> function name, config2 offset, retprobe bit; a perf link', () => {
  const sys = new TracingFakeSys();
  sys.files.set('/sys/bus/event_source/devices/kprobe/type', '6\n');
  sys.files.set('/sys/bus/event_source/devices/kprobe/format/retprobe', 'config:0\n');
  progInfo(sys, ProgType.KPROBE);
  sys.returnFd(); // LINK_CREATE
  const link = attachKprobe(sys, prog(sys), { func: 'ip_rcv', offset: 4, retprobe: true });
  const open = sys.perfOpens[0]!;
  assert.deepEqual([u32At(open.attr, 0), u32At(open.attr, 4), u64At(open.attr, 8), u64At(open.attr, 64)], [6, 112, 1n, 4n]);
  assert.equal(open.pointers[0]!.offset, 56);
  assert.equal(new TextDecoder().decode(open.pointers[0]!.target), 'ip_rcv\0');
  assert.deepEqual([open.pid, open.cpu], [-1, 0]);
  const create = sys.callsOf(BpfCmd.LINK_CREATE)[0]!;
  const r = new StructReader(LINK_CREATE_ATTR, create.attrIn);
  assert.deepEqual([r.u32('prog_fd'), r.u32('target_fd'), r.u32('attach_type')], [3, 50, AttachType.PERF_EVENT]);
  assert.ok(sys.closed.includes(50), 'the perf event fd is closed once the link holds it');
  assert.deepEqual(link.target, { kind: 'kretprobe', func: 'ip_rcv', via: 'pmu' });
  link.close();
});

test('kprobe through legacy tracefs kprobe_events: appended (never truncated), id read back, removed on close', () => {
  const sys = new TracingFakeSys();
  sys.files.set('/sys/kernel/tracing/events/skb/kfree_skb/id', '1\n');
  sys.files.set('/sys/kernel/tracing/kprobe_events', '');
  progInfo(sys, ProgType.KPROBE);
  sys.returnFd();
  const link = attachKprobe(sys, prog(sys), { func: 'tcp_v4_rcv' });
  assert.deepEqual(sys.appended, ['/sys/kernel/tracing/kprobe_events: p:bpfkit/bpfkit_4242_tcp_v4_rcv_0 tcp_v4_rcv']);
  const open = sys.perfOpens[0]!;
  assert.deepEqual([u32At(open.attr, 0), u64At(open.attr, 8)], [2, 1234n]); // PERF_TYPE_TRACEPOINT, the new event's id
  link.close();
  assert.equal(sys.appended[1], '/sys/kernel/tracing/kprobe_events: -:bpfkit/bpfkit_4242_tcp_v4_rcv_0');
});

test('kprobes missing entirely (this kernel): NotSupportedError naming the PMU and kprobe_events; tracefs unmounted said too', () => {
  const sys = new TracingFakeSys();
  progInfo(sys, ProgType.KPROBE);
  assert.throws(() => attachKprobe(sys, prog(sys), { func: 'ip_rcv' }), (e: unknown) => e instanceof NotSupportedError && /kprobe PMU \(\/sys\/bus\/event_source\/devices\/kprobe\/type\) nor tracefs kprobe_events \(tracefs not mounted\)/.test(e.message));
  sys.files.set('/sys/kernel/tracing/events/skb/kfree_skb/id', '1\n');
  progInfo(sys, ProgType.KPROBE);
  assert.throws(() => attachKprobe(sys, prog(sys), { func: 'ip_rcv' }), /nor tracefs kprobe_events \(\/sys\/kernel\/tracing\/kprobe_events\)/);
  assert.equal(sys.perfOpens.length, 0);
});

test('kprobe PMU refusing the function: FunctionNotFoundError', () => {
  const sys = new TracingFakeSys();
  sys.files.set('/sys/bus/event_source/devices/kprobe/type', '6\n');
  sys.perfResult = () => fail(0, 2);
  progInfo(sys, ProgType.KPROBE);
  assert.throws(() => attachKprobe(sys, prog(sys), { func: 'nope' }), FunctionNotFoundError);
});

test('kprobe_multi: BPF_LINK_CREATE with the symbol table; EOPNOTSUPP (no fprobe) is NotSupportedError', () => {
  const sys = new TracingFakeSys();
  progInfo(sys, ProgType.KPROBE);
  sys.returnFd();
  const link = attachKprobeMulti(sys, prog(sys), ['ip_rcv', 'ip_output'], { retprobe: true });
  const call = sys.callsOf(BpfCmd.LINK_CREATE)[0]!;
  const r = new StructReader(LINK_CREATE_ATTR, call.attrIn);
  assert.deepEqual([r.u32('attach_type'), r.u32('kprobe_multi.flags'), r.u32('kprobe_multi.cnt')], [AttachType.TRACE_KPROBE_MULTI, 1, 2]);
  const syms = call.pointers.find((p) => p.offset === LINK_CREATE_ATTR.fields['kprobe_multi.syms'].offset)!;
  assert.deepEqual(syms.pointers?.map((p) => [p.offset, new TextDecoder().decode(p.target)]), [[0, 'ip_rcv\0'], [8, 'ip_output\0']]);
  link.close();
  progInfo(sys, ProgType.KPROBE);
  sys.failWith(95);
  assert.throws(() => attachKprobeMulti(sys, prog(sys), ['ip_rcv']), (e: unknown) => e instanceof NotSupportedError && /kprobe_multi links not supported \(requires >= 5.18\)/.test(e.message));
});

test('fentry/fexit/fmod_ret links: BPF_LINK_CREATE with the attach type; EPERM is TracingRefusedError, no fallback call', () => {
  for (const [kind, at] of [['fentry', AttachType.TRACE_FENTRY], ['fexit', AttachType.TRACE_FEXIT], ['fmod_ret', AttachType.MODIFY_RETURN]] as const) {
    const sys = new TracingFakeSys();
    progInfo(sys, ProgType.TRACING);
    sys.returnFd();
    attachTracing(sys, prog(sys), kind, 'ip_rcv').close();
    assert.equal(new StructReader(LINK_CREATE_ATTR, sys.callsOf(BpfCmd.LINK_CREATE)[0]!.attrIn).u32('attach_type'), at);
    progInfo(sys, ProgType.TRACING);
    sys.failWith(1);
    assert.throws(() => attachTracing(sys, prog(sys), kind, 'ip_rcv'), (e: unknown) => e instanceof TracingRefusedError && e.kind === kind && e.errnoName === 'EPERM');
    assert.equal(sys.callsOf(BpfCmd.LINK_CREATE).length, 2, 'no second try by another way');
    assert.equal(sys.callsOf(BpfCmd.RAW_TRACEPOINT_OPEN).length, 0);
  }
});

test('tracepoint without tracefs mounted: TracefsNotMountedError saying how to mount it', () => {
  const sys = new TracingFakeSys();
  progInfo(sys, ProgType.TRACEPOINT);
  assert.throws(() => attachTracepoint(sys, prog(sys), 'skb:kfree_skb'), (e: unknown) => e instanceof TracefsNotMountedError && /mount -t tracefs nodev \/sys\/kernel\/tracing/.test(e.message));
});
