// External oracles: llvm-mc-16 (encodings and its disassembler) and the running kernel's verifier log.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { describe, it } from 'node:test';
import { disassemble, formatInstruction, knownToLlvm16 } from '../../src/asm/index.js';
import { encode } from '../../src/isa/encode.js';
import { OPCODES } from '../../src/isa/opcodes.js';
import { ensureBpffs } from '../support/bpffs.js';
import { fixturePath } from '../support/fixtures.js';
import { codeSections, sectionInstructions } from './object-sections.js';
import { samples } from './samples.js';

const hex = (b: Uint8Array): string => Array.from(b, (x) => `0x${x.toString(16).padStart(2, '0')}`).join(',');

describe('llvm-mc-16 as an encoding oracle', () => {
  // LLVM 16 disassembles BPF-to-BPF calls, kfunc calls and the lddw pseudo forms, but its
  // assembler has no spelling for them with a raw operand (bpfkit prints `call pc-0x1`,
  // `call kfunc 0x5`, `ld_pseudo r1, 1, 5`), and its asm parser rejects the fetching atomics
  // (`r2 = atomic_fetch_add((u64 *)(r1 + 4), r2)`: "unexpected token"). Those are checked by
  // llvm-mc's disassembler below and by the table walk.
  const assemblable = (e: (typeof OPCODES)[number]): boolean =>
    knownToLlvm16(e) &&
    !(e.kind === 'lddw' && e.src !== 0) &&
    e.name !== 'call.func' &&
    e.name !== 'call.kfunc' &&
    !(e.kind === 'atomic' && (e.op!.startsWith('fetch_') || e.op === 'xchg' || e.op === 'cmpxchg'));
  it('assembles our decimal llvm text of every entry LLVM 16 knows to our bytes', () => {
    const rows = OPCODES.filter(assemblable).flatMap((e) =>
      // LLVM's ld_ind has no immediate operand (it must be 0).
      samples(e).map((s) => (e.kind === 'ldind' ? { ...s, imm: 0 } : s)).map((insn) => ({ name: e.name, text: formatInstruction(insn, { hex: false, alu32: true }), bytes: encode([insn]) })),
    );
    const out = execFileSync('llvm-mc-16', ['-triple', 'bpfel', '-mcpu=v3', '-show-encoding'], { input: rows.map((r) => r.text).join('\n'), encoding: 'utf8' });
    const encodings = out.split('\n').flatMap((l) => {
      const m = /# encoding: \[([^\]]*)\]/.exec(l);
      return m ? [m[1]!] : [];
    });
    assert.equal(encodings.length, rows.length, 'llvm-mc did not encode every line');
    rows.forEach((r, i) => assert.equal(encodings[i], hex(r.bytes), `${r.name}: '${r.text}'`));
    const entries = new Set(rows.map((r) => r.name)).size;
    assert.ok(entries >= 120, `only ${entries} entries`);
    console.log(`llvm-mc-16: ${entries} entries, ${rows.length} samples encoded identically`);
  });

  for (const alu32 of [false, true]) {
    for (const hexImm of [true, false]) {
      it(`llvm16 mode prints what llvm-mc-16 --disassemble prints, for every entry (alu32 ${alu32}, hex ${hexImm})`, () => {
        const args = ['--disassemble', '-triple', 'bpfel', ...(hexImm ? ['--print-imm-hex'] : []), ...(alu32 ? ['-mattr=+alu32'] : [])];
        // One llvm-mc run: each input line is one instruction; an invalid one is reported on
        // stderr by line number, the valid ones print in order on stdout.
        const rows = OPCODES.flatMap((e) => samples(e).map((insn) => ({ name: e.name, insn })));
        const input = rows.map((r) => Array.from(encode([r.insn]), (b) => `0x${b.toString(16)}`).join(' ')).join('\n');
        const r = spawnSync('llvm-mc-16', args, { input, encoding: 'utf8' });
        const invalid = new Set([...r.stderr.matchAll(/<stdin>:(\d+):\d+: warning: invalid instruction encoding/g)].map((m) => Number(m[1]) - 1));
        const printed = r.stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '' && l !== '.text');
        assert.equal(printed.length + invalid.size, rows.length, 'llvm-mc output does not line up with the input');
        let n = 0;
        let next = 0;
        rows.forEach((row, i) => {
          const theirs = invalid.has(i) ? '<unknown>' : printed[next++]!;
          assert.equal(formatInstruction(row.insn, { llvm16: true, alu32, hex: hexImm }), theirs, row.name);
          n++;
        });
        assert.equal(n, OPCODES.length * 3);
      });
    }
  }
});

/** Whether this process may load BPF programs (and why not). */
function bpfUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: the kernel does not allow loading BPF programs';
  const bpffs = ensureBpffs();
  if (!bpffs.ok) return bpffs.reason;
  if (spawnSync('bpftool', ['version']).status !== 0) return 'bpftool is not installed';
  return undefined;
}

describe('the kernel verifier log as the oracle of the kernel syntax', () => {
  const why = bpfUnavailable();
  for (const name of ['tail_calls', 'socket_filter', 'xdp_stats']) {
    it(`${name}: every instruction the verifier logs prints as we print it`, { skip: why }, () => {
      const file = fixturePath(name);
      const pinDir = mkdtempSync('/sys/fs/bpf/bpfkit-asm-');
      let log: string;
      try {
        const r = spawnSync('bpftool', ['-d', 'prog', 'loadall', file, pinDir], { encoding: 'utf8' });
        assert.equal(r.status, 0, `bpftool failed: ${r.stderr.slice(-500)}`);
        log = r.stderr + r.stdout;
      } finally {
        rmSync(pinDir, { recursive: true, force: true });
      }
      const ours = new Set(
        codeSections(file).flatMap((s) =>
          disassemble(sectionInstructions(s, 'le'), { syntax: 'kernel' })
            .split('\n')
            .map((l) => l.replace(/^\d+: /, '')),
        ),
      );
      const logged = [...new Set(log.split('\n').flatMap((l) => (/^\d+: \((?!18)[0-9a-f]{2}\) /.test(l) ? [l.replace(/^\d+: /, '').replace(/ +;.*$/, '')] : [])))];
      assert.ok(logged.length > 10, `the verifier log has only ${logged.length} instruction lines`);
      for (const line of logged) assert.ok(ours.has(line), `the kernel printed '${line}', we print no such line`);
    });
  }
});
