// KernelProgram: one loaded program of a KernelObject — its fd, its spec, info and test runs.
import type { ProgramSpec } from '../../elf/object-spec.js';
import type { Instruction } from '../../isa/instruction.js';
import { programInfo, type ProgramInfo } from '../bpf/obj-info.js';
import { pinObject } from '../bpf/obj-pin.js';
import type { ProgFd } from '../bpf/prog-load.js';
import { testRun, type TestRunOptions, type TestRunResult } from '../bpf/prog-test-run.js';

/** A program loaded into the kernel. Disposing closes its fd (the program lives on while pinned or attached). */
export class KernelProgram implements Disposable {
  constructor(
    /** The program's name in the object. */
    readonly name: string,
    /** The fd. */
    readonly fd: ProgFd,
    /** The blueprint it was loaded from. */
    readonly spec: ProgramSpec,
    /** The instructions as handed to the kernel (CO-RE applied, fds and BTF ids resolved). */
    readonly instructions: readonly Instruction[],
  ) {}

  /** What the kernel reports about it (id, tag, xlated/jited sizes, map ids...). */
  info(): ProgramInfo {
    return programInfo(this.fd);
  }

  /** BPF_PROG_TEST_RUN on `options.dataIn` / `ctxIn` (shaped for the program's type: see TestRunOptions.programType). */
  testRun(options: TestRunOptions = {}): TestRunResult {
    return testRun(this.fd, { programType: this.spec.type, ...options });
  }

  /** Pins the program at `path` (inside a bpffs). */
  pin(path: string): void {
    pinObject(this.fd, path);
  }

  /** Closes the fd. */
  close(): void {
    this.fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
