// Locates the committed BPF test fixtures, their golden outputs and xdp-tools' object corpus.
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute path of the repository root. */
export const repoRoot: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Absolute path of test/fixtures (C sources, committed .o files, golden/). */
export const fixturesDir: string = path.join(repoRoot, 'test', 'fixtures');

/** Absolute path of test/fixtures/golden. */
export const goldenDir: string = path.join(fixturesDir, 'golden');

/** Where xdp-tools (Debian package `xdp-tools`) installs its compiled BPF objects. */
export const xdpToolsDir = '/usr/lib/x86_64-linux-gnu/bpf';

/**
 * Fixtures that a real loader is expected to refuse, and why. Tests iterating over
 * every fixture use this to assert the refusal instead of skipping.
 */
export const expectedRejections: Readonly<Record<string, { libbpf: string; kernel: string }>> = {
  // libbpf >= 1.0 dropped `struct bpf_map_def` in SEC("maps"); bpfkit's loader keeps it.
  legacy_maps: {
    libbpf: "legacy map definitions in 'maps' section are not supported by libbpf v1.0+",
    kernel: 'not loadable through libbpf/bpftool; the oracle\'s legacyLoad() loads it (the verifier accepts it)',
  },
  // Big-endian object: parseable, but neither libbpf nor an x86 kernel will take it.
  'xdp_stats.bpfeb': {
    libbpf: 'endianness mismatch',
    kernel: 'big-endian instructions on a little-endian host',
  },
};

/**
 * Fixtures whose sections libbpf 1.x cannot type (SEC("xdp_prog"), SEC("filter")...): libbpf
 * opens them but refuses to load them without a type, so oracles load them as
 * `bpftool prog loadall OBJ DIR type T` with the type given here (bpfkit: `--type T`).
 */
export const fixtureProgramTypes: Readonly<Record<string, string>> = {
  legacy_sections: 'xdp',
};

/**
 * Fixtures whose llvm-objdump-16 goldens are NOT a reference for every instruction.
 * raw_insns hand-encodes BPF_ST and cpu v4 instructions that LLVM 16 predates: it prints
 * `<unknown>` for ST, MEMSX loads, bswap and gotol, and MISdecodes sdiv/smod as `/=`/`%=`
 * and movsx as a plain `r4 = r2` (it ignores the `off` field). A disassembler should print
 * the kernel's mnemonics (written in the fixture's comments) there instead.
 */
export const goldenCaveats: Readonly<Record<string, string>> = {
  raw_insns: 'llvm-objdump-16 predates BPF_ST and cpu v4: <unknown> or wrong mnemonics; see raw_insns.c comments',
  atomics_alu: 'plain goldens print <unknown> for 32-bit atomics; use the *-alu32 goldens',
};

/** The fixture's name without directory or `.o`: `/x/test/fixtures/xdp_stats.o` -> `xdp_stats`. */
export function fixtureName(objPath: string): string {
  return path.basename(objPath).replace(/\.o$/, '');
}

/**
 * Absolute path of a committed fixture object. `name` may carry the `.o` suffix or not
 * (`xdp_stats`, `xdp_stats.o`, `xdp_stats.bpfeb`). Throws if the file does not exist, so
 * a typo fails the test instead of looking like a parse error.
 */
export function fixturePath(name: string): string {
  const file = name.endsWith('.o') ? name : `${name}.o`;
  const p = path.join(fixturesDir, file);
  if (!existsSync(p)) {
    throw new Error(`fixture ${JSON.stringify(name)} not found at ${p} (run npm run fixtures?)`);
  }
  return p;
}

/** Absolute path of the C source a fixture was built from (`xdp_stats.bpfeb` -> `xdp_stats.c`). */
export function fixtureSourcePath(name: string): string {
  const base = fixtureName(name).split('.')[0] ?? name;
  return path.join(fixturesDir, `${base}.c`);
}

/** The bytes of a committed fixture object. */
export async function readFixture(name: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(fixturePath(name)));
}

/** Kinds of golden file written by scripts/build-fixtures.sh for every fixture. */
export type GoldenKind =
  | 'objdump-d' // llvm-objdump-16 -d X.o (raw bytes + instructions)
  | 'objdump-S' // llvm-objdump-16 -d -S X.o (source interleaved)
  | 'objdump-dr' // llvm-objdump-16 -dr X.o (relocations)
  | 'btf' // bpftool btf dump file X.o
  // The same three disassemblies with --mattr=+alu32, only for cpu v3 fixtures (atomics_alu, raw_insns):
  // llvm-objdump-16 prints <unknown> for 32-bit atomics without it.
  | 'objdump-d-alu32'
  | 'objdump-S-alu32'
  | 'objdump-dr-alu32';

/** Absolute path of a golden file: `goldenPath('xdp_stats', 'objdump-d')`. */
export function goldenPath(name: string, kind: GoldenKind): string {
  return path.join(goldenDir, `${fixtureName(name)}.${kind}.txt`);
}

/** Absolute paths of every committed fixture object (test/fixtures/*.o), sorted. */
export function listFixtures(): string[] {
  return readdirSync(fixturesDir)
    .filter((f) => f.endsWith('.o'))
    .sort()
    .map((f) => path.join(fixturesDir, f));
}

/**
 * Absolute paths of every .o in xdp-tools' install directory, sorted; an empty list when
 * xdp-tools is not installed (callers that need the corpus should say so and fail or skip).
 */
export function xdpToolsObjects(): string[] {
  if (!existsSync(xdpToolsDir)) return [];
  return readdirSync(xdpToolsDir)
    .filter((f) => f.endsWith('.o'))
    .sort()
    .map((f) => path.join(xdpToolsDir, f));
}
