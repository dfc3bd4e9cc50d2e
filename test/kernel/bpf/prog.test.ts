// Programs against the real kernel: load, test run, info vs bpftool, verifier rejections, log growth, ids.
import assert from 'node:assert/strict';
import { BpfCmd, MapType, ProgType } from '../../../src/kernel/bpf/constants.js';
import { createMap } from '../../../src/kernel/bpf/map-create.js';
import { fdById } from '../../../src/kernel/bpf/obj-id.js';
import { mapInfo, programInfo } from '../../../src/kernel/bpf/obj-info.js';
import { loadProgram } from '../../../src/kernel/bpf/prog-load.js';
import { testRun } from '../../../src/kernel/bpf/prog-test-run.js';
import { KernelError } from '../../../src/kernel/kernel-error.js';
import { VerifierError } from '../../../src/kernel/verifier-error.js';
import { bpftool, kernelTest } from '../harness.js';

/** `r0 = 2 (XDP_PASS); exit`. */
export const XDP_PASS = new Uint8Array([0xb7, 0, 0, 0, 2, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
/** `r0 = r2; exit`: reads an uninitialised register. */
const READS_R2 = new Uint8Array([0xbf, 0x20, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);

/** `n` times `r1 = i` then the tail instructions: a program with a long level-2 log. */
function longProgram(n: number, tail: Uint8Array): Uint8Array {
  const out = new Uint8Array(n * 8 + tail.length);
  for (let i = 0; i < n; i++) out.set([0xb7, 0x01, 0, 0, i & 0xff, 0, 0, 0], i * 8);
  out.set(tail, n * 8);
  return out;
}

interface BpftoolProg {
  id: number;
  type: string;
  name: string;
  tag: string;
  bytes_xlated: number;
  jited: boolean;
  bytes_jited: number;
  map_ids?: number[];
  gpl_compatible: boolean;
}

kernelTest('XDP_PASS: load from raw bytes, test run returns 2 with data out = data in', (sys) => {
  using prog = loadProgram(sys, { type: ProgType.XDP, insns: XDP_PASS, license: 'GPL', name: 'bk_pass' });
  const packet = new Uint8Array(64).map((_, i) => i * 7);
  const run = testRun(prog, { dataIn: packet, repeat: 3 });
  assert.equal(run.retval, 2);
  assert.deepEqual(run.dataOut, packet);
  assert.equal(run.ctxOut, undefined);
});

kernelTest('program info agrees with bpftool prog show on type, name, tag, sizes and map ids', (sys) => {
  using map = createMap(sys, { type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, name: 'bk_used' });
  // r1 = map (lddw, BPF_PSEUDO_MAP_FD); r0 = 2; exit
  const insns = new Uint8Array(32);
  insns.set([0x18, 0x11, 0, 0]);
  new DataView(insns.buffer).setInt32(4, map.raw, true);
  insns.set(XDP_PASS, 16);
  using prog = loadProgram(sys, { type: ProgType.XDP, insns, license: 'Dual MIT/GPL', name: 'bk_info' });
  const info = programInfo(prog);
  const shown = bpftool('prog', 'show', 'id', String(info.id)) as BpftoolProg;
  assert.equal(shown.type, 'xdp');
  assert.equal(info.type, ProgType.XDP);
  assert.equal(info.name, shown.name);
  assert.equal(info.name, 'bk_info');
  assert.equal(info.tag, shown.tag);
  assert.match(info.tag, /^[0-9a-f]{16}$/);
  assert.equal(info.xlatedProgLen, shown.bytes_xlated);
  assert.equal(info.jitedProgLen, shown.bytes_jited);
  assert.ok(info.jitedProgLen > 0, 'the JIT is on');
  assert.deepEqual(info.mapIds, [mapInfo(map).id]);
  assert.deepEqual(shown.map_ids, info.mapIds);
  assert.equal(info.gplCompatible, true);
  assert.ok(info.loadTime > 0n);
  assert.ok(sys.count(BpfCmd.OBJ_GET_INFO_BY_FD) >= 2, 'map ids need a second info call');
});

kernelTest('reading r2 uninitialised is a VerifierError whose log says "R2 !read_ok"', (sys) => {
  assert.throws(
    () => loadProgram(sys, { type: ProgType.XDP, insns: READS_R2, license: 'GPL' }),
    (e: unknown) =>
      e instanceof VerifierError &&
      e.log.includes('R2 !read_ok') &&
      e.errnoName === 'EACCES' &&
      e.insn === 0 &&
      e.message.startsWith('bpf(BPF_PROG_LOAD): EACCES: ') &&
      /R2 !read_ok \(\d+ lines omitted\)$/.test(e.message),
  );
  assert.equal(sys.count(BpfCmd.PROG_LOAD), 2, 'silent try, then one with a log');
});

kernelTest('a level-2 log larger than the buffer makes it grow until the whole log fits', (sys) => {
  using prog = loadProgram(sys, { type: ProgType.XDP, insns: longProgram(500, XDP_PASS), license: 'GPL', logLevel: 2, logSize: 512 });
  assert.ok(sys.count(BpfCmd.PROG_LOAD) >= 2, `grown after ENOSPC (${sys.count(BpfCmd.PROG_LOAD)} loads)`);
  assert.ok(prog.verifierLog.length > 512 * 4, `log of ${prog.verifierLog.length} bytes`);
  assert.match(prog.verifierLog, /^func#0 @0|^0: R1=ctx/);
  assert.match(prog.verifierLog, /processed 502 insns/);
});

kernelTest('a rejection with a huge log keeps the whole log, beginning to verdict', (sys) => {
  assert.throws(
    () => loadProgram(sys, { type: ProgType.XDP, insns: longProgram(400, READS_R2), license: 'GPL', logLevel: 2, logSize: 256 }),
    (e: unknown) => e instanceof VerifierError && !e.truncated && e.insn === 400 && e.log.includes('R2 !read_ok') && e.lines.length > 400 && /^(func#0|0: R1=ctx)/.test(e.log),
  );
  assert.equal(sys.count(BpfCmd.PROG_LOAD), 2, `short log (ENOSPC), then the grown one (${sys.count(BpfCmd.PROG_LOAD)} loads)`);
});

kernelTest('get fd by id for a program; a bad prog type is EINVAL, not a VerifierError', (sys) => {
  using prog = loadProgram(sys, { type: ProgType.XDP, insns: XDP_PASS, license: 'GPL', name: 'bk_id' });
  const { id, tag } = programInfo(prog);
  using again = fdById(sys, 'prog', id);
  assert.equal(programInfo(again).tag, tag);
  assert.equal(testRun(again, { dataIn: new Uint8Array(14) }).retval, 2);
  assert.throws(() => loadProgram(sys, { type: 9999, insns: XDP_PASS, license: 'GPL' }), (e: unknown) => e instanceof KernelError && e.errnoName === 'EINVAL');
});

kernelTest('test run: data out too small is retried with the size the kernel needs', (sys) => {
  using prog = loadProgram(sys, { type: ProgType.XDP, insns: XDP_PASS, license: 'GPL' });
  const packet = new Uint8Array(200).fill(0xab);
  const run = testRun(prog, { dataIn: packet, dataOutSize: 16 });
  assert.deepEqual(run.dataOut, packet);
  assert.equal(sys.count(BpfCmd.PROG_TEST_RUN), 2);
});
