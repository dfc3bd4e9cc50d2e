// Benchmark: instruction decode, whole-object load and vmlinux BTF parse, bpfkit vs llvm-objdump-16 and bpftool.
//
// `npm run bench` (about 40 s on 2 cores). Inputs: the committed fixtures plus xdp-tools' objects,
// and /sys/kernel/btf/vmlinux. bpfkit runs in this process, timed over a fixed time budget after a
// warm-up; the tools run as processes (stdout to /dev/null), timed wall-clock with the minimum of
// several runs kept, and their start-up cost measured separately and subtracted:
//
//   (a) decode:  bpfkit `decode` of every executable section, vs `llvm-objdump-16 -d` over all the
//                objects repeated REPEAT times in ONE process, minus `llvm-objdump-16 -h` over the
//                same list (start-up + reading + ELF parsing, no disassembly). llvm-objdump also
//                prints; bpfkit only decodes (a lower bound on what a disassembler costs).
//   (b) load:    `loadObject` (ELF, BTF, BTF.ext, relocations, linking) per object, vs
//                `bpftool btf dump file X` and `llvm-objdump-16 -d X`, one process per object,
//                bpftool shown raw and minus its empty start-up (`bpftool version`); llvm-objdump raw
//                and amortised over the (a) run (all per-object work, start-up paid once).
//   (c) vmlinux: `parseBtf(/sys/kernel/btf/vmlinux)` vs `bpftool btf dump file vmlinux format raw`,
//                minus `bpftool version`.

import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';

import { parseBtf } from '../src/btf/index.js';
import { parseElf } from '../src/elf/elf-file.js';
import { loadObject } from '../src/elf/object-loader.js';
import { SHF_EXECINSTR, SHT_PROGBITS } from '../src/elf/elf-constants.js';
import { decode, type ByteOrder } from '../src/isa/decode.js';
import { listFixtures, xdpToolsObjects } from '../test/support/fixtures.js';

const OBJDUMP = 'llvm-objdump-16';
const BPFTOOL = 'bpftool';
const VMLINUX = '/sys/kernel/btf/vmlinux';
/** How many times the object list is repeated on one llvm-objdump command line in (a). */
const REPEAT = 40;
const devNull = openSync('/dev/null', 'w');

interface Obj {
  name: string;
  path: string;
  bytes: Uint8Array;
  byteOrder: ByteOrder;
  code: Uint8Array[];
  codeBytes: number;
}

function loadCorpus(): Obj[] {
  return [...listFixtures(), ...xdpToolsObjects()].map((path) => {
    const bytes = new Uint8Array(readFileSync(path));
    const elf = parseElf(bytes);
    const code = elf.sections.filter((s) => s.type === SHT_PROGBITS && (s.flags & SHF_EXECINSTR) !== 0n && s.size > 0).map((s) => s.data());
    return { name: basename(path), path, bytes, byteOrder: elf.byteOrder, code, codeBytes: code.reduce((a, c) => a + c.length, 0) };
  });
}

/**
 * Runs `fn` repeatedly for about `budgetMs` after a warm-up, in 5 windows; returns the ms per
 * call of the best window (like the minimum kept for the tools: other load on the machine only
 * ever slows a run down).
 */
function timeIt(fn: () => void, budgetMs: number, warmup = 3): number {
  for (let i = 0; i < warmup; i++) fn();
  let best = Infinity;
  for (let w = 0; w < 5; w++) {
    let calls = 0;
    const t0 = performance.now();
    let now = t0;
    while (now - t0 < budgetMs / 5 || calls === 0) {
      fn();
      calls++;
      now = performance.now();
    }
    best = Math.min(best, (now - t0) / calls);
  }
  return best;
}

/** Wall-clock ms of one process run (stdout to /dev/null), minimum of `runs`. */
function timeProcess(cmd: string, args: string[], runs = 3): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(cmd, args, { stdio: ['ignore', devNull, 'pipe'] });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 4).join(' ')}... exited ${r.status}: ${r.stderr.toString().slice(0, 300)}`);
    best = Math.min(best, ms);
  }
  return best;
}

const fmt = (n: number, digits = 1): string => (n >= 1000 ? n.toFixed(0) : n.toPrecision(Math.max(digits, 3)));
const mb = (bytes: number, ms: number): number => bytes / 1e6 / (ms / 1000);

interface Row {
  what: string;
  bpfkit: string;
  tool: string;
  toolValue: string;
  ratio: string;
}

function table(rows: Row[]): void {
  const head: Row = { what: 'measure', bpfkit: 'bpfkit', tool: 'vs', toolValue: 'tool', ratio: 'bpfkit speed-up' };
  const all = [head, ...rows];
  const w = (k: keyof Row) => Math.max(...all.map((r) => r[k].length));
  const line = (r: Row) => `${r.what.padEnd(w('what'))}  ${r.bpfkit.padStart(w('bpfkit'))}  ${r.tool.padEnd(w('tool'))}  ${r.toolValue.padStart(w('toolValue'))}  ${r.ratio.padStart(w('ratio'))}`;
  console.log(line(head));
  console.log('-'.repeat(line(head).length));
  for (const r of rows) console.log(line(r));
}

function main(): void {
  for (const tool of [OBJDUMP, BPFTOOL]) {
    try {
      execFileSync(tool, [tool === BPFTOOL ? 'version' : '--version'], { stdio: 'ignore' });
    } catch {
      throw new Error(`${tool} not found: the benchmark compares against it (apt install llvm-16 bpftool)`);
    }
  }
  const corpus = loadCorpus();
  const totalBytes = corpus.reduce((a, o) => a + o.bytes.length, 0);
  const totalCode = corpus.reduce((a, o) => a + o.codeBytes, 0);
  const totalInsnSlots = totalCode / 8;
  console.log(`corpus: ${corpus.length} objects (${listFixtures().length} fixtures + ${xdpToolsObjects().length} xdp-tools), ${(totalBytes / 1024).toFixed(0)} KiB, ${(totalCode / 1024).toFixed(1)} KiB of code (${totalInsnSlots} instruction slots)`);
  const rows: Row[] = [];

  // Start-up costs of the tools, subtracted below.
  const objdumpStart = timeProcess(OBJDUMP, ['--version'], 5);
  const bpftoolStart = timeProcess(BPFTOOL, ['version'], 5);
  console.log(`start-up (min of 5): ${OBJDUMP} --version ${objdumpStart.toFixed(1)} ms, ${BPFTOOL} version ${bpftoolStart.toFixed(1)} ms`);

  // (a) Decode throughput.
  let decodedInsns = 0;
  const decodeMs = timeIt(() => {
    decodedInsns = 0;
    for (const o of corpus) for (const c of o.code) decodedInsns += decode(c, { byteOrder: o.byteOrder }).length;
  }, 4000);
  const paths = corpus.map((o) => o.path);
  const many = Array.from({ length: REPEAT }, () => paths).flat();
  const objdumpD = timeProcess(OBJDUMP, ['-d', ...many]);
  const objdumpH = timeProcess(OBJDUMP, ['-h', ...many]);
  const objdumpDisasm = Math.max(objdumpD - objdumpH, 1e-3) / REPEAT; // ms per pass over the corpus
  console.log(`(a) ${OBJDUMP} over ${many.length} files: -d ${objdumpD.toFixed(0)} ms, -h ${objdumpH.toFixed(0)} ms -> ${objdumpDisasm.toFixed(2)} ms of disassembly per corpus pass; bpfkit decode ${decodeMs.toFixed(3)} ms per pass (${decodedInsns} instructions)`);
  rows.push({
    what: '(a) decode, instructions/s',
    bpfkit: fmt(decodedInsns / (decodeMs / 1000)),
    tool: `${OBJDUMP} -d (minus -h)`,
    toolValue: fmt(decodedInsns / (objdumpDisasm / 1000)),
    ratio: `${(objdumpDisasm / decodeMs).toFixed(1)}x`,
  });
  rows.push({
    what: '(a) decode, MB/s of code',
    bpfkit: fmt(mb(totalCode, decodeMs)),
    tool: `${OBJDUMP} -d (minus -h)`,
    toolValue: fmt(mb(totalCode, objdumpDisasm)),
    ratio: `${(objdumpDisasm / decodeMs).toFixed(1)}x`,
  });

  // (b) Whole-object load.
  const loadMs = timeIt(() => {
    for (const o of corpus) loadObject(o.bytes, { objectName: 'bench' });
  }, 5000);
  const perObjLoad = loadMs / corpus.length;
  let bpftoolSum = 0;
  let objdumpSum = 0;
  for (const o of corpus) {
    bpftoolSum += timeProcess(BPFTOOL, ['btf', 'dump', 'file', o.path], 2);
    objdumpSum += timeProcess(OBJDUMP, ['-d', o.path], 2);
  }
  const perObjBpftool = bpftoolSum / corpus.length;
  const perObjObjdump = objdumpSum / corpus.length;
  const perObjBpftoolNet = Math.max(perObjBpftool - bpftoolStart, 1e-3);
  // llvm-objdump's start-up is amortised instead: the (a) run did all per-object work (read, ELF
  // parse, disassemble, print) for 1120 files in one process.
  const perObjObjdumpAmortised = objdumpD / many.length;
  console.log(`(b) per object: loadObject ${perObjLoad.toFixed(3)} ms; bpftool btf dump ${perObjBpftool.toFixed(2)} ms (${perObjBpftoolNet.toFixed(2)} net of start-up); ${OBJDUMP} -d ${perObjObjdump.toFixed(2)} ms alone, ${perObjObjdumpAmortised.toFixed(3)} ms amortised over ${many.length} files`);
  const loadRow = (tool: string, ms: number, digits = 1): void => {
    rows.push({ what: '(b) load, objects/s', bpfkit: fmt(1000 / perObjLoad), tool, toolValue: fmt(1000 / ms), ratio: `${(ms / perObjLoad).toFixed(digits)}x` });
  };
  loadRow('bpftool btf dump file X', perObjBpftool, 0);
  loadRow('  same, net of start-up', perObjBpftoolNet);
  loadRow(`${OBJDUMP} -d X`, perObjObjdump, 0);
  loadRow(`  same, ${many.length} files in one run`, perObjObjdumpAmortised);
  rows.push({ what: '(b) load, MB/s of object', bpfkit: fmt(mb(totalBytes, loadMs)), tool: 'bpftool btf dump, net', toolValue: fmt(mb(totalBytes, perObjBpftoolNet * corpus.length)), ratio: `${(perObjBpftoolNet / perObjLoad).toFixed(1)}x` });
  rows.push({ what: '(b) load, MB/s of object', bpfkit: fmt(mb(totalBytes, loadMs)), tool: `${OBJDUMP} -d, one run`, toolValue: fmt(mb(totalBytes, perObjObjdumpAmortised * corpus.length)), ratio: `${(perObjObjdumpAmortised / perObjLoad).toFixed(1)}x` });

  // (c) vmlinux BTF.
  if (!existsSync(VMLINUX)) {
    console.log(`(c) skipped: ${VMLINUX} does not exist (kernel built without CONFIG_DEBUG_INFO_BTF)`);
  } else {
    const vmlinux = new Uint8Array(readFileSync(VMLINUX));
    let types = 0;
    const parseMs = timeIt(() => {
      types = parseBtf(vmlinux).types.length;
    }, 7500, 2);
    const bpftoolRaw = timeProcess(BPFTOOL, ['btf', 'dump', 'file', VMLINUX, 'format', 'raw'], 3);
    const bpftoolNet = bpftoolRaw - bpftoolStart;
    console.log(`(c) vmlinux BTF ${(vmlinux.length / 2 ** 20).toFixed(1)} MiB, ${types} types: parseBtf ${parseMs.toFixed(0)} ms; bpftool ... format raw ${bpftoolRaw.toFixed(0)} ms (${bpftoolNet.toFixed(0)} net)`);
    rows.push({ what: '(c) vmlinux BTF, ms', bpfkit: parseMs.toFixed(0), tool: 'bpftool btf dump format raw, net', toolValue: bpftoolNet.toFixed(0), ratio: `${(bpftoolNet / parseMs).toFixed(1)}x` });
    rows.push({ what: '(c) vmlinux BTF, MB/s', bpfkit: fmt(mb(vmlinux.length, parseMs)), tool: 'bpftool btf dump format raw, net', toolValue: fmt(mb(vmlinux.length, bpftoolNet)), ratio: `${(bpftoolNet / parseMs).toFixed(1)}x` });
  }

  console.log('');
  table(rows);
  console.log('\nspeed-up = tool time / bpfkit time (> 1: bpfkit is faster). The tools also print their result; bpfkit only builds it in memory.');
}

try {
  main();
} finally {
  closeSync(devNull);
}
