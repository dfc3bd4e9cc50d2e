// Every error class from one table (undici's style): class, name, stable code, message, fields,
// and that context added by an outer layer keeps all of them and the cause.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BpfkitError, NotSupportedError } from '../src/errors.js';
import { InvalidInstructionError, InvalidOperandError, UnresolvedReferenceError } from '../src/isa/errors.js';
import { ElfError, ProgramTypeTargetError, UnknownProgramTypeError, UnsupportedElfError, UntypedProgramError } from '../src/elf/errors.js';
import { ObjectError } from '../src/elf/object-error.js';
import { BtfError } from '../src/btf/errors.js';
import { AsmSyntaxError } from '../src/asm/errors.js';
import { PcapError, PacketBuildError } from '../src/packet/errors.js';
import { KernelError, KernelPermissionError, VerifierError, InvalidKeySizeError, InvalidValueSizeError } from '../src/kernel/index.js';
import { UsageError } from '../src/cli/errors.js';
import { FileReadError } from '../src/cli/load-file.js';
import { HelperRefusedError } from '../src/ctx/helpers/refused.js';
import { ModelError } from '../src/ctx/model-error.js';
import { UnmodelledCallError } from '../src/vm/errors.js';

const cause = new Error('root cause');
const table: [BpfkitError, string, string, RegExp, Record<string, unknown>][] = [
  [new NotSupportedError('TCX links', '6.6'), 'NotSupportedError', 'ERR_NOT_SUPPORTED', /^TCX links not supported \(requires >= 6\.6\)$/, { feature: 'TCX links', minKernel: '6.6' }],
  [new InvalidInstructionError(12, 0x95, 'exit uses reserved fields'), 'InvalidInstructionError', 'ERR_INVALID_INSTRUCTION', /^instruction 12 \(opcode 0x95\): exit uses reserved fields$/, { index: 12, opcode: 0x95 }],
  [new UnresolvedReferenceError(3, 'out'), 'UnresolvedReferenceError', 'ERR_UNRESOLVED_REFERENCE', /^instruction 3: symbol "out" is not defined$/, { index: 3, symbol: 'out' }],
  [new InvalidOperandError('ldx.w', 'offset 40000 out of range'), 'InvalidOperandError', 'ERR_INVALID_OPERAND', /^ldx\.w: offset 40000/, { instruction: 'ldx.w' }],
  [new ElfError('bad', { sectionIndex: 7, sectionName: '.rel.text', offset: 0x4a8 }), 'ElfError', 'ERR_ELF_MALFORMED', /^bad$/, { section: '.rel.text', offset: 0x4a8 }],
  [new UnsupportedElfError('ELFCLASS32', '32-bit ELF'), 'UnsupportedElfError', 'ERR_ELF_UNSUPPORTED', /32-bit/, { feature: 'ELFCLASS32' }],
  [new UnknownProgramTypeError('bogus', ['xdp', 'classifier']), 'UnknownProgramTypeError', 'ERR_UNKNOWN_PROGRAM_TYPE', /^unknown program type "bogus"; valid types: xdp, classifier$/, { given: 'bogus', valid: ['xdp', 'classifier'] }],
  [new ProgramTypeTargetError('nope', ['a', 'b']), 'ProgramTypeTargetError', 'ERR_PROGRAM_TYPE_TARGET', /^programType names program "nope", which the object lacks \(programs: a, b\)$/, { program: 'nope', programs: ['a', 'b'] }],
  [new UntypedProgramError('p', 'xdp_prog', 'xdp'), 'UntypedProgramError', 'ERR_PROGRAM_UNTYPED', /^program "p": libbpf cannot tell the program type from section "xdp_prog"; pass --type TYPE \(CLI\) or programType \(API\), e\.g\. --type xdp/, { program: 'p', section: 'xdp_prog', suggestion: 'xdp' }],
  [new ObjectError('call target is not a function', 'xdp', 0x48), 'ObjectError', 'ERR_OBJECT_INVALID', /^section "xdp" at offset 0x48: call target/, { section: 'xdp', offset: 0x48 }],
  [new BtfError('.BTF', 0x28, 'member 0 references type 9999', 2), 'BtfError', 'ERR_BTF_MALFORMED', /^\.BTF: type 2 at offset 0x28: member 0/, { section: '.BTF', offset: 0x28, typeId: 2 }],
  [new AsmSyntaxError(3, 5, 'r11 = 1', "unknown register 'r11'"), 'AsmSyntaxError', 'ERR_ASM_SYNTAX', /^line 3: unknown register 'r11'/, { line: 3, column: 5 }],
  [new PcapError(24, 'record caplen 999999 exceeds snaplen'), 'PcapError', 'ERR_PCAP_MALFORMED', /^malformed capture at offset 24: record caplen/, { offset: 24 }],
  [new PacketBuildError('dst', 'not an IPv4 address'), 'PacketBuildError', 'ERR_PACKET_BUILD', /^dst: not an IPv4 address$/, { field: 'dst' }],
  [new KernelError('bpf(BPF_MAP_CREATE)', 22), 'KernelError', 'ERR_KERNEL', /^bpf\(BPF_MAP_CREATE\): EINVAL: /, { op: 'bpf(BPF_MAP_CREATE)', errno: 22, errnoName: 'EINVAL' }],
  [new KernelPermissionError('bpf(BPF_PROG_LOAD)', 1), 'KernelPermissionError', 'ERR_KERNEL', /^bpf\(BPF_PROG_LOAD\): EPERM: /, { errno: 1 }],
  [new VerifierError('bpf(BPF_PROG_LOAD)', 13, '0: (bf) r0 = r2\nR2 !read_ok\nprocessed 1 insns\n'), 'VerifierError', 'ERR_VERIFIER', /R2 !read_ok/, { errno: 13 }],
  [new InvalidKeySizeError(3, 4), 'InvalidKeySizeError', 'ERR_INVALID_KEY_SIZE', /^key is 3 bytes, map key size is 4$/, { size: 3, expected: 4 }],
  [new InvalidValueSizeError(3, 8), 'InvalidValueSizeError', 'ERR_INVALID_VALUE_SIZE', /^value is 3 bytes, expected 8$/, { size: 3, expected: 8 }],
  [new UsageError('missing OBJ'), 'UsageError', 'ERR_USAGE', /^missing OBJ$/, {}],
  [new FileReadError('x.o', 'no such file', { cause }), 'FileReadError', 'ERR_FILE_READ', /^x\.o: no such file$/, { path: 'x.o' }],
  [new HelperRefusedError('bpf_tcp_gen_syncookie', 110, 'needs the secret'), 'HelperRefusedError', 'ERR_HELPER_REFUSED', /^bpf_tcp_gen_syncookie \(110\) cannot run in userspace: needs the secret$/, { helper: 'bpf_tcp_gen_syncookie', helperId: 110, reason: 'needs the secret' }],
  [new UnmodelledCallError(17, 'kfunc', 'bpf_ct_set_nat_info', 'NAT is not modelled'), 'UnmodelledCallError', 'ERR_UNMODELLED_CALL', /^pc 17: kfunc bpf_ct_set_nat_info cannot run in userspace: NAT is not modelled$/, { pc: 17, kind: 'kfunc', callee: 'bpf_ct_set_nat_info', helperId: undefined }],
  [new UnmodelledCallError(3, 'helper', 'bpf_tcp_gen_syncookie', 'needs the secret', 110), 'UnmodelledCallError', 'ERR_UNMODELLED_CALL', /^pc 3: helper bpf_tcp_gen_syncookie \(110\) cannot run in userspace/, { pc: 3, helperId: 110 }],
  [new ModelError('sockets[2]', 'localPort', 'a port is 0..65535, got 70000'), 'ModelError', 'ERR_KERNEL_MODEL', /^sockets\[2\]: localPort: a port is/, { model: 'sockets[2]', field: 'localPort' }],
];

test('each error class has its name, stable code, message and structured fields', () => {
  for (const [err, name, code, message, fields] of table) {
    assert.ok(err instanceof BpfkitError && err instanceof Error, name);
    assert.equal(err.name, name);
    assert.equal(err.code, code, name);
    assert.match(err.message, message, name);
    assert.match(err.code, /^ERR_[A-Z0-9_]+$/);
    for (const [k, v] of Object.entries(fields)) assert.deepEqual((err as unknown as Record<string, unknown>)[k], v, `${name}.${k}`);
  }
});

test('withContext prefixes the message and keeps class, code, fields and cause', () => {
  for (const [err, name, code, , fields] of table) {
    const outer = err.withContext('file.o').withContext('load');
    assert.ok(outer instanceof (err.constructor as typeof BpfkitError), name);
    assert.equal(outer.name, name);
    assert.equal(outer.code, code);
    assert.equal(outer.message, `load: file.o: ${err.message}`);
    for (const [k, v] of Object.entries(fields)) assert.deepEqual((outer as unknown as Record<string, unknown>)[k], v);
    assert.equal(outer.cause, err.cause);
    assert.notEqual(outer, err, 'the original is not mutated');
  }
  assert.equal(new FileReadError('x.o', 'gone', { cause }).withContext('ctx').cause, cause);
});
