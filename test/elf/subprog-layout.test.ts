// Subprogram layout: programs linked in libbpf's order (bpf_object__reloc_code: each callee
// appended where first referenced, walked depth-first), so the kernel computes the same prog tag
// for bpfkit's load as for bpftool's, on every fixture and every xdp-tools object.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadObject, objectNameFromPath } from '../../src/elf/object-loader.js';
import type { ObjectSpec, ProgramSpec } from '../../src/elf/object-spec.js';
import { ObjectError } from '../../src/elf/object-error.js';
import { programTypeName } from '../../src/isa/program-types.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import { compileBpf } from '../support/clang.js';
import { expectedRejections, fixtureName, fixturePath, fixtureProgramTypes, listFixtures, xdpToolsObjects } from '../support/fixtures.js';
import { BpftoolLoadError, bpftoolLoadAll } from '../support/libbpf-oracle.js';
import { kernelTest } from '../kernel/harness.js';

const load = (file: string): ObjectSpec => {
  const type = fixtureProgramTypes[fixtureName(file)];
  return loadObject(new Uint8Array(readFileSync(file)), { objectName: objectNameFromPath(file), ...(type ? { programType: type } : {}) });
};

/** The functions of a linked program, in instruction order (each start carries `symbol`). */
function layout(p: ProgramSpec): string[] {
  return p.instructions.flatMap((i) => (i.symbol === undefined ? [] : [i.symbol]));
}

/** The BTF FUNC names of the program's func_info records, in record order. */
function funcInfoNames(spec: ObjectSpec, p: ProgramSpec): string[] {
  return p.funcInfo.map((f) => spec.btf!.typeById(f.typeId).name);
}

/** Index of each function start in the linked instructions. */
function starts(p: ProgramSpec): number[] {
  return p.instructions.flatMap((i, n) => (i.symbol === undefined ? [] : [n]));
}

test('subprog_order.o: callees appended depth-first where first called, callbacks (ld_imm64 of a function) alike', () => {
  const spec = load(fixturePath('subprog_order'));
  const prog = (n: string) => spec.programs.find((p) => p.name === n)!;
  // main calls first_a (which calls leaf_c) then second_b: breadth-first would put leaf_c after second_b.
  assert.deepEqual(layout(prog('order_main')), ['order_main', 'first_a', 'leaf_c', 'second_b', 'shared_tail', 'mix_global']);
  // bpf_loop's callback is walked (and its leaf_c appended) before the calls that follow it.
  assert.deepEqual(layout(prog('order_loop')), ['order_loop', 'loop_cb', 'leaf_c', 'second_b', 'shared_tail']);
  // shared_tail and the global mix_global are appended to each program that reaches them.
  assert.deepEqual(layout(prog('order_tc')), ['order_tc', 'shared_tail', 'mix_global']);
  for (const p of spec.programs) {
    // func_info follows the new layout: one record per function, at its start, in order.
    assert.deepEqual(funcInfoNames(spec, p), layout(p), `${p.name}: func_info order`);
    assert.deepEqual(p.funcInfo.map((f) => f.insn), starts(p), `${p.name}: func_info offsets`);
    // line info (carried as `source`) of a callee stays inside it: its first line belongs to its own start.
    const firstSourced = starts(p).map((s) => p.instructions.slice(s).findIndex((i) => i.source !== undefined));
    assert.ok(firstSourced.every((k) => k === 0), `${p.name}: every function starts with a line record`);
  }
});

test('layout is libbpf order on every fixture and xdp-tools object: each function once, entry first, callees after their first reference', () => {
  let programs = 0;
  for (const file of [...listFixtures(), ...xdpToolsObjects()]) {
    if (expectedRejections[fixtureName(file)]?.kernel.startsWith('big-endian')) continue;
    for (const p of load(file).programs) {
      const names = layout(p);
      assert.equal(names[0], p.name, `${file}: ${p.name} first`);
      assert.equal(new Set(names).size, names.length, `${file}: ${p.name}: a function appended twice`);
      programs++;
    }
  }
  assert.ok(programs > 20, `only ${programs} programs`);
});

const EXCEPTION_SRC = `
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
extern void bpf_throw(__u64 cookie) __ksym;
static __noinline int helper_x(int v) { return v + 1; }
__noinline int exc_cb(__u64 cookie) { return helper_x((int)cookie); }
static __noinline int before_throw(int v) { if (v > 100) bpf_throw(7); return v; }
__attribute__((btf_decl_tag("exception_callback:exc_cb")))
SEC("xdp") int with_exc(struct xdp_md *ctx) {
  return before_throw(ctx->data_end - ctx->data) > 1 ? XDP_PASS : XDP_DROP;
}
char _license[] SEC("license") = "GPL";
`;

test('exception callbacks (btf_decl_tag "exception_callback:NAME") are appended last, as libbpf >= 1.3 does', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-exc-'));
  try {
    const src = path.join(dir, 'exc.c');
    writeFileSync(src, EXCEPTION_SRC);
    const spec = loadObject(compileBpf(src));
    const p = spec.programs.find((x) => x.name === 'with_exc')!;
    // Never called, only named by the tag: appended after the reachable functions, then its own callees.
    assert.deepEqual(layout(p), ['with_exc', 'before_throw', 'exc_cb', 'helper_x']);
    assert.deepEqual(funcInfoNames(spec, p), layout(p));
    // A tag naming a function the object lacks is a typed error naming it.
    writeFileSync(src, EXCEPTION_SRC.replace('exception_callback:exc_cb', 'exception_callback:nowhere'));
    assert.throws(
      () => loadObject(compileBpf(src)),
      (e: unknown) => e instanceof ObjectError && /exception callback "nowhere"/.test(e.message) && /with_exc/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

kernelTest('the kernel takes the exception callback where bpfkit puts it: bpf_throw runs it (retval = callback(cookie))', (sys) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bpfkit-exc-'));
  try {
    const src = path.join(dir, 'exc.c');
    writeFileSync(src, EXCEPTION_SRC);
    // bpftool here links with libbpf 1.1, which predates exception callbacks: it leaves exc_cb out
    // and the kernel refuses its load ("exception callback type id not found in func_info"), so
    // the oracle is the kernel's run of bpfkit's load.
    using obj = loadKernelObject(sys, loadObject(compileBpf(src)));
    const prog = obj.program('with_exc');
    assert.equal(prog.testRun({ dataIn: new Uint8Array(200) }).retval, 8, 'bpf_throw(7) -> exc_cb(7) = helper_x(7) = 8');
    assert.equal(prog.testRun({ dataIn: new Uint8Array(60) }).retval, 2, 'no throw: XDP_PASS');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const PIN_ROOT = `/sys/fs/bpf/bpfkit-layout-${process.pid}`;
after(() => rmSync(PIN_ROOT, { recursive: true, force: true }));

kernelTest('the kernel gives bpfkit\'s load the tag it gives bpftool prog loadall, program by program', async (sys) => {
  const files = [...listFixtures(), ...xdpToolsObjects()];
  assert.ok(xdpToolsObjects().length > 0, 'xdp-tools objects missing (apt-get install xdp-tools)');
  mkdirSync(PIN_ROOT, { recursive: true });
  const problems: string[] = [];
  const notLoaded: string[] = [];
  let compared = 0;
  let withSubprogs = 0;
  for (const file of files) {
    const name = fixtureName(file);
    if (expectedRejections[name]) {
      notLoaded.push(`${name}: ${expectedRejections[name]!.kernel}`);
      continue;
    }
    const type = fixtureProgramTypes[name];
    let oracle;
    try {
      oracle = await bpftoolLoadAll(file, type ? { type } : {});
    } catch (err) {
      if (!(err instanceof BpftoolLoadError)) throw err;
      const why = err.message.split('\n').filter((l) => /error|fail|invalid|unknown/i.test(l)).slice(-1)[0] ?? err.message.split('\n')[0];
      notLoaded.push(`${name}: bpftool cannot load it (${why?.trim()})`);
      continue;
    }
    const dir = path.join(PIN_ROOT, name.replace(/\./g, '_'));
    mkdirSync(dir, { recursive: true });
    try {
      using obj = loadKernelObject(sys, load(file), { pinPath: dir });
      for (const want of oracle.programs) {
        // bpftool prints the BTF name when the kernel's 15-character name is its prefix.
        const mine = [...obj.programs.values()].find((p) => p.name === want.name || p.name.slice(0, 15) === want.name);
        if (!mine) {
          problems.push(`${name}: no program ${want.name}`);
          continue;
        }
        const info = mine.info();
        compared++;
        if (layout(mine.spec).length > 1) withSubprogs++;
        if (info.tag !== want.tag) problems.push(`${name}: ${want.name}: tag ${info.tag} vs bpftool ${want.tag}`);
        if (programTypeName(info.type) !== want.type) problems.push(`${name}: ${want.name}: type ${programTypeName(info.type)} vs bpftool ${want.type}`);
      }
    } finally {
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    }
  }
  process.stdout.write(`# tags vs bpftool: ${compared} programs compared (${withSubprogs} with subprograms), ${problems.length} mismatches\n`);
  for (const n of notLoaded) process.stdout.write(`# not compared: ${n}\n`);
  assert.deepEqual(problems, []);
  assert.ok(withSubprogs >= 6, `only ${withSubprogs} programs with subprograms compared`);
});
