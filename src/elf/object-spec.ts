// The blueprint of a BPF object: plain, deterministic data that depends only on the ELF bytes.
//
// Nothing here knows about a kernel or a runtime: a backend (the userspace VM or the kernel)
// instantiates maps and programs from these specs. Parsing the same bytes twice yields
// deep-equal specs.

import type { Btf, BtfExt, CoreReloKind } from '../btf/index.js';
import type { ByteOrder } from '../isa/decode.js';
import type { Instruction } from '../isa/instruction.js';

/** How a map is pinned, from the BTF `pinning` attribute (`LIBBPF_PIN_*`) or iproute2's `PIN_GLOBAL_NS` (struct bpf_elf_map). */
export type PinType = 'none' | 'by_name';

/** An initial entry of a map: prog arrays and map-in-map name their values by symbol. */
export interface MapInitEntry {
  /** Key (the array index for prog arrays / array of maps). */
  readonly key: number;
  /** Name of the program (prog array) or map (map-in-map) stored at `key`. */
  readonly value: string;
}

/** Blueprint of one map. */
export interface MapSpec {
  /** Map name as written in the source (global data maps: `.data`, `.rodata`, `.bss`...). */
  readonly name: string;
  /** `enum bpf_map_type` value. */
  readonly type: number;
  /** Key size in bytes. */
  readonly keySize: number;
  /** Value size in bytes. */
  readonly valueSize: number;
  /** Maximum number of entries. */
  readonly maxEntries: number;
  /** `map_flags` (BPF_F_NO_PREALLOC, BPF_F_RDONLY_PROG, BPF_F_MMAPABLE...). */
  readonly flags: number;
  /** Pinning by name in bpffs (libbpf's LIBBPF_PIN_BY_NAME; iproute2's PIN_GLOBAL_NS, which tc pins in `<bpffs>/tc/globals`). */
  readonly pinning: PinType;
  /** NUMA node, when given. */
  readonly numaNode?: number;
  /** `map_extra` (bloom filter hash count, arena address). */
  readonly mapExtra?: number;
  /** BTF type id of the key, when the object has BTF for it. */
  readonly keyTypeId?: number;
  /** BTF type id of the value. */
  readonly valueTypeId?: number;
  /** BTF type id of the definition (the `.maps` VAR's struct, or the DATASEC of global data). */
  readonly btfTypeId?: number;
  /** Inner map template of an array_of_maps / hash_of_maps. */
  readonly innerMap?: MapSpec;
  /** Initial entries (prog array programs, map-in-map inner maps) from BTF `.values`. */
  readonly initEntries: readonly MapInitEntry[];
  /** Initial contents of a global-data map's single value (`.data`, `.rodata`); zeros for `.bss`. */
  readonly data?: Uint8Array;
  /** Global data that the program may not change (`.rodata`): frozen after being filled. */
  readonly readOnly: boolean;
  /** Name the map gets in the kernel when it differs from `name` (libbpf's `obj_name.rodata` for global data). */
  readonly kernelName?: string;
  /** The ELF section that defined the map (`.maps`, `maps`, `.data`, `.rodata.str1.1`...). */
  readonly section: string;
  /** What kind of definition produced it. */
  readonly origin: 'btf' | 'legacy' | 'global-data' | 'kconfig';
}

/** A BTF func_info record of a linked program: the function starting at instruction `insn`. */
export interface ProgramFuncInfo {
  /** Index into `ProgramSpec.instructions`. */
  readonly insn: number;
  /** BTF FUNC type id. */
  readonly typeId: number;
}

/** A CO-RE relocation of a linked program, for the kernel backend to apply against vmlinux. */
export interface ProgramCoreRelo {
  /** Index into `ProgramSpec.instructions`. */
  readonly insn: number;
  /** Root type id in the object's BTF. */
  readonly typeId: number;
  /** Access string (`0:1:2`). */
  readonly accessString: string;
  /** Relocation kind (`field_byte_offset`, `type_exists`...). */
  readonly kind: CoreReloKind;
}

/** An external symbol a program refers to, resolved by the backend. */
export interface ExternSpec {
  /** Symbol name (`LINUX_KERNEL_VERSION`, `bpf_xdp_metadata_rx_hash`). */
  readonly name: string;
  /** `kconfig`: a value in the `.kconfig` map; `ksym`: a kernel variable or kfunc (`__ksym`). */
  readonly kind: 'kconfig' | 'ksym';
  /** Whether the symbol is declared weak (missing is allowed). */
  readonly weak: boolean;
  /** BTF type id of its VAR or FUNC in the object's BTF, when present. */
  readonly btfTypeId?: number;
  /** For kconfig externs: offset inside the `.kconfig` map value. */
  readonly offset?: number;
  /** For kconfig externs: size in bytes. */
  readonly size?: number;
}

/** Blueprint of one program: its instructions with every subprogram it calls appended. */
export interface ProgramSpec {
  /** Function name of the entry point. */
  readonly name: string;
  /** ELF section name (`xdp`, `tc`, `tcx/ingress`, `socket`...), without libbpf's `?` prefix. */
  readonly section: string;
  /**
   * `false` for a program in `SEC("?xdp")`-style sections: libbpf opens it with autoload off, and
   * `loadKernelObject` (like `bpftool prog loadall`) loads it only when named in `programs`.
   * Absent (loaded) otherwise.
   */
  readonly autoload?: boolean;
  /** `enum bpf_prog_type`, from the section name; 0 (unspec) when the name is unknown. */
  readonly type: number;
  /** `enum bpf_attach_type` the kernel expects at load time, if any. */
  readonly expectedAttachType?: number;
  /** What follows the section prefix (`tracepoint/net/netif_rx` -> `net/netif_rx`). */
  readonly attachTo?: string;
  /** Load flags implied by the section (BPF_F_SLEEPABLE, BPF_F_XDP_HAS_FRAGS). */
  readonly flags: number;
  /** The object's license (`GPL`, `Dual BSD/GPL`). */
  readonly license: string;
  /** The object's `version` section (kprobes on old kernels); 0 when absent. */
  readonly kernelVersion: number;
  /**
   * The linked instructions: the entry function first, then each called subprogram. Function
   * starts carry `symbol`; BPF-to-BPF calls and jumps keep raw offsets or carry `reference`
   * (resolved by `encode`); map loads carry `reference` = map name for the backend to patch.
   */
  readonly instructions: readonly Instruction[];
  /** Number of instructions (slots) of the entry function alone, as libbpf counts them before linking. */
  readonly ownInsnCount: number;
  /** Byte offset of the entry function inside its section. */
  readonly sectionOffset: number;
  /** Func info records (one per function), when the object has .BTF.ext. */
  readonly funcInfo: readonly ProgramFuncInfo[];
  /** CO-RE relocations, when the object has them. */
  readonly coreRelos: readonly ProgramCoreRelo[];
  /** Names of the maps the program references (in first-use order). */
  readonly maps: readonly string[];
  /** Externs the program references. */
  readonly externs: readonly string[];
}

/** What the loader made of each ELF section, for `inspect`. */
export interface SectionSummary {
  /** Section index. */
  readonly index: number;
  /** Section name. */
  readonly name: string;
  /** ELF section type name (`PROGBITS`, `NOBITS`, `REL`...). */
  readonly type: string;
  /** Size in bytes. */
  readonly size: number;
  /** What bpfkit used it for. */
  readonly role:
    | 'program'
    | 'subprograms'
    | 'maps'
    | 'legacy-maps'
    | 'data'
    | 'rodata'
    | 'bss'
    | 'kconfig'
    | 'license'
    | 'version'
    | 'btf'
    | 'btf-ext'
    | 'relocations'
    | 'symbols'
    | 'strings'
    | 'debug'
    | 'skipped';
}

/** Blueprint of a whole object file. */
export interface ObjectSpec {
  /** Byte order of the object (`bpfel` / `bpfeb`). */
  readonly byteOrder: ByteOrder;
  /** Contents of the `license` section. */
  readonly license: string;
  /** Contents of the `version` section, 0 when absent. */
  readonly kernelVersion: number;
  /** Programs, in section order then offset order. */
  readonly programs: readonly ProgramSpec[];
  /** Maps: BTF-defined, legacy, then global data and kconfig, in section order. */
  readonly maps: readonly MapSpec[];
  /** External symbols (kconfig values, ksyms, kfuncs). */
  readonly externs: readonly ExternSpec[];
  /** The object's BTF, when it has a `.BTF` section. */
  readonly btf?: Btf;
  /** The object's BTF.ext, when it has a `.BTF.ext` section. */
  readonly btfExt?: BtfExt;
  /** One entry per ELF section. */
  readonly sections: readonly SectionSummary[];
  /** Things a user should know that did not stop loading (unknown section names...). */
  readonly warnings: readonly string[];
}
