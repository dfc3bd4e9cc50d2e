// Output files: never an input (same inode), typed write errors naming the output, atomic, and no
// temporary file left behind by a signal.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { linkSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileWriteError, OutputIsInputError, refuseOutputIsInput, writeFileAtomic } from '../../src/cli/output-file.js';
import { repoRoot } from '../support/fixtures.js';

test('an output that is an input (same file, another name, a hard link) is refused; others pass', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-out-'));
  try {
    const input = join(dir, 'in.pcap');
    writeFileSync(input, 'x');
    linkSync(input, join(dir, 'link.pcap'));
    assert.throws(() => refuseOutputIsInput(input, [input]), OutputIsInputError);
    assert.throws(() => refuseOutputIsInput(join(dir, '.', 'in.pcap'), [input]), OutputIsInputError);
    assert.throws(() => refuseOutputIsInput(join(dir, 'link.pcap'), [input]), (e: unknown) => e instanceof OutputIsInputError && e.code === 'ERR_OUTPUT_IS_INPUT' && /refusing to overwrite an input/.test(e.message));
    refuseOutputIsInput(join(dir, 'new.pcap'), [input]);
    writeFileSync(join(dir, 'other.pcap'), 'y');
    refuseOutputIsInput(join(dir, 'other.pcap'), [input]);
    assert.throws(() => writeFileAtomic(input, new Uint8Array([1]), [input]), OutputIsInputError);
    assert.equal(readFileSync(input, 'utf8'), 'x');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unwritable outputs are FileWriteErrors naming the output, and leave nothing behind', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-out-'));
  try {
    const missing = join(dir, 'no', 'such', 'dir', 'x.pcap');
    assert.throws(() => writeFileAtomic(missing, new Uint8Array(4)), (e: unknown) => e instanceof FileWriteError && e.code === 'ERR_FILE_WRITE' && e.message.startsWith(`${missing}: cannot write: no such directory`));
    assert.throws(() => writeFileAtomic(dir, new Uint8Array(4)), (e: unknown) => e instanceof FileWriteError && /is a directory/.test(e.message));
    // /proc is not writable by anyone: a permission or read-only error, named.
    assert.throws(() => writeFileAtomic('/proc/bpfkit-test-out', new Uint8Array(4)), (e: unknown) => e instanceof FileWriteError && e.path === '/proc/bpfkit-test-out');
    assert.deepEqual(readdirSync(dir), []);
    writeFileAtomic(join(dir, 'ok.bin'), new Uint8Array([1, 2, 3]));
    assert.deepEqual([...readFileSync(join(dir, 'ok.bin'))], [1, 2, 3]);
    assert.deepEqual(readdirSync(dir), ['ok.bin']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGINT while writing removes the temporary file and the process dies of the signal', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-out-'));
  try {
    const out = join(dir, 'big.pcap');
    const script = `import { AtomicOutputFile } from ${JSON.stringify(join(repoRoot, 'src/cli/output-file.ts'))};
const f = new AtomicOutputFile(${JSON.stringify(out)});
f.write(new Uint8Array(1 << 20));
process.stdout.write('written\\n');
setInterval(() => f.write(new Uint8Array(4096)), 5);`;
    const child = spawn('node', ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => (d.toString().includes('written') ? resolve() : undefined));
      child.on('exit', (code) => reject(new Error(`child exited early (${code})`)));
    });
    assert.equal(readdirSync(dir).length, 1, 'the temporary file exists while writing');
    const ended = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    child.kill('SIGINT');
    assert.equal(await ended, 'SIGINT');
    assert.deepEqual(readdirSync(dir), [], 'no temporary file and no output after SIGINT');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
