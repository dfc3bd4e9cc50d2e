// Errors of the userspace runtime engine: missing programs/maps, unrunnable programs, bad byte lists.

import { BpfkitError, type BpfkitErrorOptions } from '../errors.js';

/** No program of that name in the object. */
export class ProgramNotFoundError extends BpfkitError {
  constructor(
    /** The name asked for. */
    readonly program: string,
    /** The programs the object has. */
    readonly available: readonly string[],
  ) {
    super('ERR_PROGRAM_NOT_FOUND', `no program named "${program}" (programs: ${available.join(', ') || 'none'})`);
  }
}

/** No map of that name in the object. */
export class MapNotFoundError extends BpfkitError {
  constructor(
    /** The name asked for. */
    readonly map: string,
    /** The maps the object has. */
    readonly available: readonly string[],
  ) {
    super('ERR_MAP_NOT_FOUND', `no map named "${map}" (maps: ${available.join(', ') || 'none'})`);
  }
}

/** A map or global-data relocation the runtime cannot resolve (unknown map, offset outside the value). */
export class RelocationError extends BpfkitError {
  constructor(
    /** Program the instruction belongs to. */
    readonly program: string,
    /** Slot index of the `lddw`. */
    readonly pc: number,
    /** What is wrong. */
    readonly reason: string,
    options?: BpfkitErrorOptions,
  ) {
    super('ERR_RELOCATION', `program "${program}": instruction ${pc}: ${reason}`, options);
  }
}

/** A byte list on the command line (bpftool's `hex 0a 00` or `10 0`) that does not parse or has the wrong size. */
export class ByteListError extends BpfkitError {
  constructor(
    /** The text given. */
    readonly text: string,
    /** What is wrong. */
    readonly reason: string,
  ) {
    super('ERR_BYTE_LIST', `bad byte list "${text}": ${reason}`);
  }
}

/** The object cannot be instantiated in userspace (a map family or program type the runtime lacks...). */
export class InstantiateError extends BpfkitError {
  constructor(
    /** The map or program concerned. */
    readonly what: string,
    /** Why. */
    readonly reason: string,
    options?: BpfkitErrorOptions,
  ) {
    super('ERR_INSTANTIATE', `${what}: ${reason}`, options);
  }
}

/**
 * A test run the kernel's BPF_PROG_TEST_RUN refuses for this program (EINVAL): an XDP program
 * for a devmap or cpumap entry runs only as that entry's second stage (`bpfkit run` does run it there).
 */
export class TestRunRefusedError extends BpfkitError {
  constructor(
    /** The program. */
    readonly program: string,
    /** Why the kernel refuses it. */
    readonly reason: string,
  ) {
    super('ERR_TEST_RUN_REFUSED', `program "${program}": ${reason}`);
  }
}
