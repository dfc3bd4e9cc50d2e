// The eBPF opcode table: bit layouts and the ONE list of valid encodings (RFC 9669 + Linux).
//
// Every consumer — encoder, decoder, builder DSL, both disassembly syntaxes, the assembler,
// and later the interpreter, JIT and verifier — reads the `OPCODES` table below. Nothing
// else in bpfkit spells out an opcode byte.

/*
 * An instruction is 64 bits (RFC 9669 §3). In little-endian objects:
 *
 *   byte   0        1           2..3        4..7
 *        +--------+-----+-----+-----------+-----------------+
 *        | opcode | src | dst |  offset   |    immediate    |
 *        +--------+-----+-----+-----------+-----------------+
 *                  hi 4  lo 4   s16 LE        s32 LE
 *
 * Big-endian objects swap the register nibbles (dst in the high nibble) and store offset and
 * immediate big-endian. `lddw` (BPF_LD | BPF_IMM | BPF_DW) is 128 bits: a second slot whose
 * opcode, registers and offset must be zero carries the upper 32 bits of the constant.
 *
 * The opcode byte has two layouts, chosen by the class in its low 3 bits:
 *
 *   ALU / ALU64 / JMP / JMP32          LD / LDX / ST / STX
 *     7   6   5   4   3   2   1   0      7   6   5   4   3   2   1   0
 *   +---------------+---+-----------+  +-----------+-------+-----------+
 *   |   operation   | s |   class   |  |   mode    | size  |   class   |
 *   +---------------+---+-----------+  +-----------+-------+-----------+
 *     s: 0 = K (imm), 1 = X (src reg)    size: W=0 H=1 B=2 DW=3
 *                                        mode: IMM=0 ABS=1 IND=2 MEM=3 MEMSX=4 ATOMIC=6
 */

/** Instruction classes (low 3 bits of the opcode). */
export const Class = {
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  JMP32: 0x06,
  ALU64: 0x07,
} as const;

/** Source bit of ALU/JMP opcodes. */
export const Source = { K: 0x00, X: 0x08 } as const;

/** Size field of load/store opcodes. */
export const Size = { W: 0x00, H: 0x08, B: 0x10, DW: 0x18 } as const;

/** Mode field of load/store opcodes. */
export const Mode = { IMM: 0x00, ABS: 0x20, IND: 0x40, MEM: 0x60, MEMSX: 0x80, ATOMIC: 0xc0 } as const;

/** Extracts the class (low 3 bits) of an opcode byte. */
export const classOf = (code: number): number => code & 0x07;
/** Extracts the operation (high 4 bits) of an ALU/JMP opcode. */
export const opOf = (code: number): number => code & 0xf0;
/** Extracts the size field of a load/store opcode. */
export const sizeOf = (code: number): number => code & 0x18;
/** Extracts the mode field of a load/store opcode. */
export const modeOf = (code: number): number => code & 0xe0;

/** Pseudo source registers of `lddw` (BPF_PSEUDO_*): what the 64-bit immediate means. */
export const PseudoLd = {
  /** A plain 64-bit constant. */
  IMM64: 0,
  /** imm = map fd; the register gets the map pointer. */
  MAP_FD: 1,
  /** imm = map fd, imm2 = offset into the map's value. */
  MAP_VALUE: 2,
  /** imm = BTF id of a kernel variable (ksym). */
  BTF_ID: 3,
  /** imm = instruction offset of a subprogram (callback pointer). */
  FUNC: 4,
  /** imm = index into the fd_array passed at load time. */
  MAP_IDX: 5,
  /** imm = fd_array index, imm2 = offset into the value. */
  MAP_IDX_VALUE: 6,
} as const;

/** Pseudo source registers of `call`: what the immediate names. */
export const PseudoCall = {
  /** imm = helper id. */
  HELPER: 0,
  /** imm = relative instruction offset of a BPF-to-BPF callee. */
  CALL: 1,
  /** imm = BTF id of a kernel function; off = fd_array index of module BTF (0 = vmlinux). */
  KFUNC_CALL: 2,
} as const;

/** The atomic operations, encoded in the immediate of `STX | ATOMIC`. */
export const AtomicOp = {
  ADD: 0x00,
  OR: 0x40,
  AND: 0x50,
  XOR: 0xa0,
  FETCH: 0x01,
  XCHG: 0xe0 | 0x01,
  CMPXCHG: 0xf0 | 0x01,
  LOAD_ACQ: 0x100,
  STORE_REL: 0x110,
} as const;

/** How an instruction's fields are used; everything not used must be zero. */
export type Kind =
  | 'alu' // dst op= src|imm
  | 'neg' // dst = -dst
  | 'end' // dst = le16/be32... dst (ALU class)
  | 'bswap' // dst = bswap16/32/64 dst (ALU64 class, v4)
  | 'movsx' // dst = (s8|s16|s32) src (v4)
  | 'addr_space_cast' // dst = addr_space_cast(src, a, b) (arena)
  | 'jmp' // if dst op src|imm goto off
  | 'ja' // goto off
  | 'gotol' // goto imm (JMP32 | JA, v4)
  | 'may_goto' // may_goto off
  | 'call' // call helper|func|kfunc
  | 'exit'
  | 'lddw' // dst = imm64 (two slots)
  | 'ldabs' // r0 = *(size *)skb[imm]
  | 'ldind' // r0 = *(size *)skb[src + imm]
  | 'ldx' // dst = *(size *)(src + off)
  | 'ldxsx' // dst = *(s8/s16/s32 *)(src + off) (v4)
  | 'st' // *(size *)(dst + off) = imm
  | 'stx' // *(size *)(dst + off) = src
  | 'atomic'; // atomic op on *(size *)(dst + off) with src

/** Width in bytes for each load/store size field. */
export const SIZE_BYTES: Readonly<Record<number, 1 | 2 | 4 | 8>> = { [Size.W]: 4, [Size.H]: 2, [Size.B]: 1, [Size.DW]: 8 };
/** The C type llvm-objdump and the kernel print for each size (`u32`). */
export const SIZE_TYPE: Readonly<Record<number, string>> = { [Size.W]: 'u32', [Size.H]: 'u16', [Size.B]: 'u8', [Size.DW]: 'u64' };
/** The size suffix the builder uses (`ldx.w`). */
export const SIZE_NAME: Readonly<Record<number, 'w' | 'h' | 'b' | 'dw'>> = { [Size.W]: 'w', [Size.H]: 'h', [Size.B]: 'b', [Size.DW]: 'dw' };

// ---------------------------------------------------------------------------------------------
// Operation tables. The disassembler's operator spellings live here, next to the encodings.

/** ALU operations (high nibble). `sym` is the compound-assignment operator both syntaxes print. */
export const ALU_OPS = [
  { name: 'add', op: 0x00, sym: '+=' },
  { name: 'sub', op: 0x10, sym: '-=' },
  { name: 'mul', op: 0x20, sym: '*=' },
  { name: 'div', op: 0x30, sym: '/=' },
  { name: 'sdiv', op: 0x30, sym: 's/=', off: 1 },
  { name: 'or', op: 0x40, sym: '|=' },
  { name: 'and', op: 0x50, sym: '&=' },
  { name: 'lsh', op: 0x60, sym: '<<=' },
  { name: 'rsh', op: 0x70, sym: '>>=' },
  { name: 'mod', op: 0x90, sym: '%=' },
  { name: 'smod', op: 0x90, sym: 's%=', off: 1 },
  { name: 'xor', op: 0xa0, sym: '^=' },
  { name: 'mov', op: 0xb0, sym: '=' },
  { name: 'arsh', op: 0xc0, sym: 's>>=' },
] as const;

/** ALU operation codes that are not binary operators. */
export const ALU_NEG = 0x80;
/** BPF_END: byte-order conversion (ALU: to_le/to_be by the source bit; ALU64: bswap). */
export const ALU_END = 0xd0;

/** Conditional jump operations (high nibble). `sym` is the comparison both syntaxes print. */
export const JMP_OPS = [
  { name: 'jeq', op: 0x10, sym: '==' },
  { name: 'jgt', op: 0x20, sym: '>' },
  { name: 'jge', op: 0x30, sym: '>=' },
  { name: 'jset', op: 0x40, sym: '&' },
  { name: 'jne', op: 0x50, sym: '!=' },
  { name: 'jsgt', op: 0x60, sym: 's>' },
  { name: 'jsge', op: 0x70, sym: 's>=' },
  { name: 'jlt', op: 0xa0, sym: '<' },
  { name: 'jle', op: 0xb0, sym: '<=' },
  { name: 'jslt', op: 0xc0, sym: 's<' },
  { name: 'jsle', op: 0xd0, sym: 's<=' },
] as const;

/** Non-conditional JMP operations. */
export const JMP_JA = 0x00;
export const JMP_CALL = 0x80;
export const JMP_EXIT = 0x90;
/** BPF_JCOND: `may_goto` (src_reg = 0). */
export const JMP_JCOND = 0xe0;

/** Atomic operations on memory, with their spellings in llvm's syntax. */
export const ATOMIC_OPS = [
  { name: 'add', imm: AtomicOp.ADD, sym: '+=' },
  { name: 'or', imm: AtomicOp.OR, sym: '|=' },
  { name: 'and', imm: AtomicOp.AND, sym: '&=' },
  { name: 'xor', imm: AtomicOp.XOR, sym: '^=' },
  { name: 'fetch_add', imm: AtomicOp.ADD | AtomicOp.FETCH, sym: 'add' },
  { name: 'fetch_or', imm: AtomicOp.OR | AtomicOp.FETCH, sym: 'or' },
  { name: 'fetch_and', imm: AtomicOp.AND | AtomicOp.FETCH, sym: 'and' },
  { name: 'fetch_xor', imm: AtomicOp.XOR | AtomicOp.FETCH, sym: 'xor' },
  { name: 'xchg', imm: AtomicOp.XCHG, sym: 'xchg' },
  { name: 'cmpxchg', imm: AtomicOp.CMPXCHG, sym: 'cmpxchg' },
  { name: 'load_acq', imm: AtomicOp.LOAD_ACQ, sym: 'load_acquire' },
  { name: 'store_rel', imm: AtomicOp.STORE_REL, sym: 'store_release' },
] as const;

/** Names of atomic operations. */
export type AtomicName = (typeof ATOMIC_OPS)[number]['name'];
/** Names of ALU operations. */
export type AluName = (typeof ALU_OPS)[number]['name'];
/** Names of conditional jumps. */
export type JmpName = (typeof JMP_OPS)[number]['name'];

// ---------------------------------------------------------------------------------------------
// The table.

/**
 * How each field of an encoding is used. `'zero'` means the kernel rejects a non-zero value
 * ("uses reserved fields"); other values say what the field carries.
 */
export interface FieldUse {
  readonly dst: 'reg' | 'zero';
  readonly src: 'reg' | 'zero' | 'pseudo';
  readonly off: 'zero' | 'jump' | 'mem' | 'fixed' | 'btf_fd_idx';
  readonly imm: 'zero' | 'value' | 'jump' | 'fixed' | 'helper_or_target';
}

/**
 * One valid encoding. Several entries may share an opcode byte; they are told apart by the
 * fixed `off`, `imm` or `src` value they require (`sdiv` is `div` with off = 1).
 */
export interface OpcodeEntry {
  /** Unique dotted name, also the builder path: `alu64.add.imm`, `ldx.w`, `atomic.dw.fetch_add`. */
  readonly name: string;
  /** The opcode byte. */
  readonly code: number;
  /** Class of the opcode. */
  readonly cls: number;
  /** What the instruction does. */
  readonly kind: Kind;
  /** Field usage; fields marked 'zero' must be zero. */
  readonly fields: FieldUse;
  /** Required offset value (discriminator), when fields.off === 'fixed'. */
  readonly off?: number;
  /** Required immediate value (discriminator), when fields.imm === 'fixed'. */
  readonly imm?: number;
  /** Required src register/pseudo value (discriminator), when fields.src === 'pseudo'. */
  readonly src?: number;
  /** 32 or 64: operand width of ALU/JMP entries. */
  readonly width?: 32 | 64;
  /** Access size in bytes for loads, stores and atomics; conversion width for end/bswap/movsx. */
  readonly bytes?: 1 | 2 | 4 | 8;
  /** Operation name within the family (`add`, `jgt`, `fetch_add`, `le`, `be`). */
  readonly op?: string;
  /** The operator both disassembly syntaxes print (`+=`, `s>`, `|=`). */
  readonly sym?: string;
  /** Minimum ISA version (llvm -mcpu) that introduced the encoding. */
  readonly cpu: 1 | 2 | 3 | 4;
}

function buildTable(): OpcodeEntry[] {
  const t: OpcodeEntry[] = [];
  const regOrImm = (src: number) => (src === Source.X ? 'reg' : 'imm');

  // ALU and ALU64: binary operators, both sources.
  for (const [cls, width, prefix] of [
    [Class.ALU64, 64, 'alu64'],
    [Class.ALU, 32, 'alu32'],
  ] as const) {
    for (const o of ALU_OPS) {
      const signed = 'off' in o;
      for (const src of [Source.K, Source.X]) {
        t.push({
          name: `${prefix}.${o.name}.${regOrImm(src)}`,
          code: o.op | src | cls,
          cls,
          kind: 'alu',
          fields: {
            dst: 'reg',
            src: src === Source.X ? 'reg' : 'zero',
            off: signed ? 'fixed' : 'zero',
            imm: src === Source.X ? 'zero' : 'value',
          },
          ...(signed ? { off: 1 } : {}),
          width,
          op: o.name,
          sym: o.sym,
          cpu: signed ? 4 : 1,
        });
      }
    }
    t.push({
      name: `${prefix}.neg`,
      code: ALU_NEG | Source.K | cls,
      cls,
      kind: 'neg',
      fields: { dst: 'reg', src: 'zero', off: 'zero', imm: 'zero' },
      width,
      op: 'neg',
      cpu: 1,
    });
    // Sign-extending moves (v4): MOV X with off = 8/16/32 (ALU: 8/16 only).
    for (const bits of width === 64 ? ([8, 16, 32] as const) : ([8, 16] as const)) {
      t.push({
        name: `${prefix}.movsx${bits}`,
        code: 0xb0 | Source.X | cls,
        cls,
        kind: 'movsx',
        fields: { dst: 'reg', src: 'reg', off: 'fixed', imm: 'zero' },
        off: bits,
        width,
        bytes: (bits / 8) as 1 | 2 | 4,
        op: 'movsx',
        cpu: 4,
      });
    }
  }
  // Arena address-space cast: ALU64 MOV X with off = 1; imm = (dst_as << 16) | src_as.
  t.push({
    name: 'alu64.addr_space_cast',
    code: 0xb0 | Source.X | Class.ALU64,
    cls: Class.ALU64,
    kind: 'addr_space_cast',
    fields: { dst: 'reg', src: 'reg', off: 'fixed', imm: 'value' },
    off: 1,
    width: 64,
    op: 'addr_space_cast',
    cpu: 4,
  });
  // Byte-order conversion: ALU class, source bit = to_le (0) / to_be (1); ALU64 = bswap (v4).
  for (const bits of [16, 32, 64] as const) {
    const bytes = (bits / 8) as 2 | 4 | 8;
    t.push({
      name: `end.le${bits}`,
      code: ALU_END | Source.K | Class.ALU,
      cls: Class.ALU,
      kind: 'end',
      fields: { dst: 'reg', src: 'zero', off: 'zero', imm: 'fixed' },
      imm: bits,
      bytes,
      op: 'le',
      cpu: 1,
    });
    t.push({
      name: `end.be${bits}`,
      code: ALU_END | Source.X | Class.ALU,
      cls: Class.ALU,
      kind: 'end',
      fields: { dst: 'reg', src: 'zero', off: 'zero', imm: 'fixed' },
      imm: bits,
      bytes,
      op: 'be',
      cpu: 1,
    });
    t.push({
      name: `alu64.bswap${bits}`,
      code: ALU_END | Source.K | Class.ALU64,
      cls: Class.ALU64,
      kind: 'bswap',
      fields: { dst: 'reg', src: 'zero', off: 'zero', imm: 'fixed' },
      imm: bits,
      bytes,
      op: 'bswap',
      cpu: 4,
    });
  }

  // JMP and JMP32: conditional jumps, both sources.
  for (const [cls, width, prefix] of [
    [Class.JMP, 64, 'jmp'],
    [Class.JMP32, 32, 'jmp32'],
  ] as const) {
    for (const o of JMP_OPS) {
      for (const src of [Source.K, Source.X]) {
        t.push({
          name: `${prefix}.${o.name}.${regOrImm(src)}`,
          code: o.op | src | cls,
          cls,
          kind: 'jmp',
          fields: { dst: 'reg', src: src === Source.X ? 'reg' : 'zero', off: 'jump', imm: src === Source.X ? 'zero' : 'value' },
          width,
          op: o.name,
          sym: o.sym,
          cpu: cls === Class.JMP32 ? 3 : o.name === 'jlt' || o.name === 'jle' || o.name === 'jslt' || o.name === 'jsle' ? 2 : 1,
        });
      }
    }
  }
  t.push({ name: 'jmp.ja', code: JMP_JA | Class.JMP, cls: Class.JMP, kind: 'ja', fields: { dst: 'zero', src: 'zero', off: 'jump', imm: 'zero' }, op: 'ja', cpu: 1 });
  t.push({ name: 'jmp32.ja', code: JMP_JA | Class.JMP32, cls: Class.JMP32, kind: 'gotol', fields: { dst: 'zero', src: 'zero', off: 'zero', imm: 'jump' }, op: 'gotol', cpu: 4 });
  t.push({
    name: 'jmp.may_goto',
    code: JMP_JCOND | Class.JMP,
    cls: Class.JMP,
    kind: 'may_goto',
    fields: { dst: 'zero', src: 'pseudo', off: 'jump', imm: 'zero' },
    src: 0,
    op: 'may_goto',
    cpu: 4,
  });
  for (const [name, src, off] of [
    ['call.helper', PseudoCall.HELPER, 'zero'],
    ['call.func', PseudoCall.CALL, 'zero'],
    ['call.kfunc', PseudoCall.KFUNC_CALL, 'btf_fd_idx'],
  ] as const) {
    t.push({
      name,
      code: JMP_CALL | Class.JMP,
      cls: Class.JMP,
      kind: 'call',
      fields: { dst: 'zero', src: 'pseudo', off, imm: 'helper_or_target' },
      src,
      op: name.slice(5),
      cpu: 1,
    });
  }
  t.push({ name: 'exit', code: JMP_EXIT | Class.JMP, cls: Class.JMP, kind: 'exit', fields: { dst: 'zero', src: 'zero', off: 'zero', imm: 'zero' }, op: 'exit', cpu: 1 });

  // LD: the 16-byte immediate load, one entry per pseudo source, and legacy packet loads.
  const lddwNames: Record<number, string> = {
    [PseudoLd.IMM64]: 'ld.imm64',
    [PseudoLd.MAP_FD]: 'ld.map_fd',
    [PseudoLd.MAP_VALUE]: 'ld.map_value',
    [PseudoLd.BTF_ID]: 'ld.btf_id',
    [PseudoLd.FUNC]: 'ld.func',
    [PseudoLd.MAP_IDX]: 'ld.map_idx',
    [PseudoLd.MAP_IDX_VALUE]: 'ld.map_idx_value',
  };
  for (const [src, name] of Object.entries(lddwNames)) {
    t.push({
      name,
      code: Mode.IMM | Size.DW | Class.LD,
      cls: Class.LD,
      kind: 'lddw',
      fields: { dst: 'reg', src: 'pseudo', off: 'zero', imm: 'value' },
      src: Number(src),
      bytes: 8,
      op: name.slice(3),
      cpu: 1,
    });
  }
  for (const size of [Size.W, Size.H, Size.B]) {
    const sn = SIZE_NAME[size]!;
    t.push({
      name: `ld.abs.${sn}`,
      code: Mode.ABS | size | Class.LD,
      cls: Class.LD,
      kind: 'ldabs',
      fields: { dst: 'zero', src: 'zero', off: 'zero', imm: 'value' },
      bytes: SIZE_BYTES[size],
      op: 'abs',
      cpu: 1,
    });
    t.push({
      name: `ld.ind.${sn}`,
      code: Mode.IND | size | Class.LD,
      cls: Class.LD,
      kind: 'ldind',
      fields: { dst: 'zero', src: 'reg', off: 'zero', imm: 'value' },
      bytes: SIZE_BYTES[size],
      op: 'ind',
      cpu: 1,
    });
  }

  // Memory loads and stores, every size; sign-extending loads (v4) for B/H/W.
  for (const size of [Size.W, Size.H, Size.B, Size.DW]) {
    const sn = SIZE_NAME[size]!;
    const bytes = SIZE_BYTES[size]!;
    t.push({ name: `ldx.${sn}`, code: Mode.MEM | size | Class.LDX, cls: Class.LDX, kind: 'ldx', fields: { dst: 'reg', src: 'reg', off: 'mem', imm: 'zero' }, bytes, cpu: 1 });
    if (size !== Size.DW) {
      t.push({ name: `ldxs.${sn}`, code: Mode.MEMSX | size | Class.LDX, cls: Class.LDX, kind: 'ldxsx', fields: { dst: 'reg', src: 'reg', off: 'mem', imm: 'zero' }, bytes, cpu: 4 });
    }
    t.push({ name: `st.${sn}`, code: Mode.MEM | size | Class.ST, cls: Class.ST, kind: 'st', fields: { dst: 'reg', src: 'zero', off: 'mem', imm: 'value' }, bytes, cpu: 1 });
    t.push({ name: `stx.${sn}`, code: Mode.MEM | size | Class.STX, cls: Class.STX, kind: 'stx', fields: { dst: 'reg', src: 'reg', off: 'mem', imm: 'zero' }, bytes, cpu: 1 });
    for (const a of ATOMIC_OPS) {
      const acqRel = a.name === 'load_acq' || a.name === 'store_rel';
      // Read-modify-write atomics exist for W and DW only; load-acquire/store-release for all sizes.
      if (!acqRel && size !== Size.W && size !== Size.DW) continue;
      t.push({
        name: `atomic.${sn}.${a.name}`,
        code: Mode.ATOMIC | size | Class.STX,
        cls: Class.STX,
        kind: 'atomic',
        fields: { dst: 'reg', src: 'reg', off: 'mem', imm: 'fixed' },
        imm: a.imm,
        bytes,
        op: a.name,
        sym: a.sym,
        cpu: acqRel ? 4 : a.name === 'add' ? 1 : 3,
      });
    }
  }
  return t;
}

/** Every valid encoding, in a stable order. */
export const OPCODES: readonly OpcodeEntry[] = Object.freeze(buildTable().map((e) => Object.freeze(e)));

/** Entries by unique name. */
export const OPCODE_BY_NAME: ReadonlyMap<string, OpcodeEntry> = new Map(OPCODES.map((e) => [e.name, e]));

/** Candidate entries for each opcode byte (index 0..255); empty for unknown opcodes. */
export const OPCODES_BY_CODE: readonly (readonly OpcodeEntry[])[] = (() => {
  const byCode: OpcodeEntry[][] = Array.from({ length: 256 }, () => []);
  for (const e of OPCODES) byCode[e.code]!.push(e);
  return byCode;
})();

/** Looks up an entry by its unique name; throws on an unknown name (a programming error). */
export function opcode(name: string): OpcodeEntry {
  const e = OPCODE_BY_NAME.get(name);
  if (!e) throw new Error(`unknown opcode entry '${name}'`);
  return e;
}

/**
 * Picks the table entry an encoding belongs to, from its opcode and the discriminating
 * fields, or undefined when no entry matches (an invalid instruction).
 */
export function matchEntry(code: number, src: number, off: number, imm: number): OpcodeEntry | undefined {
  const candidates = OPCODES_BY_CODE[code & 0xff]!;
  if (candidates.length === 0) return undefined;
  if (candidates.length === 1) {
    const only = candidates[0]!;
    return discriminatorsMatch(only, src, off, imm) ? only : undefined;
  }
  // Prefer an entry whose discriminator matches; an entry without discriminators is the default.
  let fallback: OpcodeEntry | undefined;
  for (const e of candidates) {
    const hasDisc = e.fields.off === 'fixed' || e.fields.imm === 'fixed' || e.fields.src === 'pseudo';
    if (hasDisc) {
      if (discriminatorsMatch(e, src, off, imm)) return e;
    } else {
      fallback = e;
    }
  }
  return fallback;
}

function discriminatorsMatch(e: OpcodeEntry, src: number, off: number, imm: number): boolean {
  if (e.fields.off === 'fixed' && e.off !== off) return false;
  if (e.fields.imm === 'fixed' && e.imm !== imm) return false;
  if (e.fields.src === 'pseudo' && e.src !== src) return false;
  return true;
}
