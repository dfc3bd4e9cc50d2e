// Context, helper and global-function rules per program type, and bpf_fastcall's stack accounting
// (test/fixtures/verifier-ctx): each program's verdict and message in bpfkit equal the running
// kernel's BPF_PROG_LOAD, and every rejection comes with a hint (and its C line when it has an instruction).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseBtf } from '../../src/btf/index.js';
import { loadObject } from '../../src/elf/object-loader.js';
import { verifyProgram } from '../../src/verifier/verify.js';
import { kernelTest } from '../kernel/harness.js';
import { fixturesDir } from '../support/fixtures.js';
import { objectProgramVerdict } from './fixture-oracle.js';

const dir = path.join(fixturesDir, 'verifier-ctx');
/** The running kernel's BTF, as the loader has it (trusted arguments name kernel structs). */
const kernelBtf = existsSync('/sys/kernel/btf/vmlinux') ? parseBtf(new Uint8Array(readFileSync('/sys/kernel/btf/vmlinux'))) : undefined;

for (const file of readdirSync(dir).filter((f) => f.endsWith('.o')).sort()) {
  const spec = loadObject(new Uint8Array(readFileSync(path.join(dir, file))), { objectName: file.replace(/\.o$/, '') });
  kernelTest(`${file}: bpfkit's verdicts and messages equal the kernel's (programs named bad_* are rejected, the others accepted)`, (sys) => {
    const mismatches: string[] = [];
    let rejected = 0;
    for (const prog of spec.programs) {
      const expect = prog.name.startsWith('bad_') ? 'reject' : 'accept';
      const kernel = objectProgramVerdict(sys, { key: `${file}:${prog.name}`, file: path.join(dir, file), spec, program: prog.name });
      const mine = verifyProgram(prog, spec, { privileged: true, ...(kernelBtf ? { kernelBtf } : {}) });
      if (kernel.error) mismatches.push(`${prog.name}: the kernel could not be asked (${kernel.error})`);
      if (kernel.verdict !== expect) mismatches.push(`${prog.name}: the kernel ${kernel.verdict}s (${kernel.message ?? ''}), the fixture expects ${expect}`);
      if (mine.verdict !== kernel.verdict || (kernel.verdict === 'reject' && mine.message !== kernel.message)) {
        mismatches.push(`${prog.name}: kernel ${kernel.verdict} (${kernel.message ?? ''}), bpfkit ${mine.verdict} (${mine.message ?? ''})`);
      }
      if (mine.verdict === 'reject') {
        rejected++;
        // A whole-program limit (the combined stack size) names no instruction, in the kernel either.
        if (mine.insn !== undefined && !mine.line) mismatches.push(`${prog.name}: the rejection at instruction ${mine.insn} has no C line`);
        if (!mine.hint) mismatches.push(`${prog.name}: the rejection (${mine.message ?? ''}) has no hint`);
      }
    }
    process.stdout.write(`# ${file}: ${spec.programs.length} programs compared with the kernel, ${rejected} rejected\n`);
    assert.deepEqual(mismatches, []);
  });
}
