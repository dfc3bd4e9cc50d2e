// Hints: one plain-language sentence saying why the verifier refused a program and how to fix it.
//
// The input is the rejection as the kernel words it (`R2 !read_ok`, `invalid access to packet,
// off=13 size=1, R2(id=0,off=0,r=0)`...) plus the program, so the hint can name the C source
// line (BTF line info) or the instruction. Each rule is a pattern over the message and a
// sentence built from what the pattern captured; the first rule that matches wins.

import { type Instruction, type SourceLine, slotOffsets } from '../isa/instruction.js';

/** What a hint needs to know about a rejection (a VerifyResult has these fields). */
export interface RejectionFacts {
  /** The verifier's reason line, kernel wording. */
  readonly message?: string;
  /** The line before it when the verifier explains in two lines (`invalid access to packet, ...`). */
  readonly detail?: string;
  /** Slot index (as the kernel counts: lddw takes 2) of the rejected instruction. */
  readonly insn?: number;
  /** Its C source line, when BTF line info is loaded. */
  readonly line?: SourceLine;
  /** The verifier log; the line before the message stands in for `detail` when that is absent. */
  readonly log?: string;
}

/** `detail`, or the log line just before the message. */
/** A tracing program's context refusal, from btf_ctx_access's line before it (`func 'x' size 4 must be 8`). */
function tracingCtxHint(m: RegExpExecArray, w: Where, detail: string | undefined): string | undefined {
  const d = detail && /^func '([^']+)' (.*)$/.exec(detail);
  if (!d) return undefined;
  const why = d[2]!;
  if (/size \d+ must be 8/.test(why)) return `argument ${Number(m[1]) / 8} of ${d[1]} is a pointer, read here as ${m[2]} bytes (${w.at}${w.code}): read pointer arguments whole, as 8-byte u64 slots`;
  if (/doesn't have/.test(why)) return `${d[1]} has no argument at offset ${m[1]} (${w.at}${w.code}): its context holds one u64 per argument of its prototype (tp_btf: of btf_trace_${d[1]}, after the first void *), fexit also the return value after them`;
  return `the tracing context is read at offset ${m[1]} as ${m[2]} bytes (${w.at}${w.code}), which ${d[1]}'s arguments do not allow (${why}): read each argument as its u64 slot, at a multiple of 8`;
}

function detailOf(f: RejectionFacts): string | undefined {
  if (f.detail) return f.detail;
  if (!f.log || !f.message) return undefined;
  const lines = f.log.split('\n');
  const i = lines.lastIndexOf(f.message);
  return i > 0 ? lines[i - 1] : undefined;
}

interface Where {
  /** "line 23" or "instruction 7". */
  readonly at: string;
  /** " (`if (x) ...`)" with the source text, or "". */
  readonly code: string;
  readonly insn: Instruction | undefined;
  /** The whole program (rules that look at another instruction: the acquiring call of a leak). */
  readonly insns: readonly Instruction[];
}

function locate(facts: RejectionFacts, insns: readonly Instruction[]): Where {
  let insn: Instruction | undefined;
  if (facts.insn !== undefined) {
    const slots = slotOffsets(insns);
    for (let i = 0; i < insns.length; i++) if (slots[i] === facts.insn) insn = insns[i];
  }
  const line = facts.line ?? insn?.source;
  if (line && line.line > 0) {
    const text = line.text.trim();
    return { at: `line ${line.line}`, code: text ? ` (\`${text}\`)` : '', insn, insns };
  }
  return { at: facts.insn === undefined ? 'this point' : `instruction ${facts.insn}`, code: '', insn, insns };
}

type Rule = (m: RegExpExecArray, w: Where, facts: RejectionFacts) => string;

/** `alloc_insn=N` of the first unreleased reference in the log. */
function acquiredAt(f: RejectionFacts): number | undefined {
  const m = /Unreleased reference id=\d+ alloc_insn=(\d+)/.exec(f.log ?? f.detail ?? '');
  return m ? Number(m[1]) : undefined;
}

/** The kfunc the leaked reference came from, when the acquiring instruction is a kfunc call. */
function acquiringKfunc(f: RejectionFacts, w: Where): string | undefined {
  const at = acquiredAt(f);
  const insns = w.insns;
  if (at === undefined) return undefined;
  const slots = slotOffsets(insns);
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i]!;
    if (slots[i] === at && insn.code === 0x85 && insn.src === 2) return insn.reference;
  }
  return undefined;
}

/** Where the attach-type-dependent cgroup helpers are available. */
const ATTACH_HELPERS: Readonly<Record<string, string>> = {
  bind: 'cgroup_sock_addr programs may call it at cgroup/connect4 and cgroup/connect6 only',
  setsockopt: 'cgroup_sockopt programs may call it at cgroup/setsockopt only (cgroup_sock_addr at every hook but the unix getpeername/getsockname ones)',
  getsockopt: 'cgroup_sockopt programs may call it at cgroup/setsockopt only (cgroup_sock_addr at every hook but the unix getpeername/getsockname ones)',
  get_retval: 'hooks whose result is not an errno (cgroup_skb ingress/egress, sock_ops, recvmsg, getpeername, getsockname) have no return value to read or set',
  set_retval: 'hooks whose result is not an errno (cgroup_skb ingress/egress, sock_ops, recvmsg, getpeername, getsockname) have no return value to read or set',
};

/** The hint for a call whose arguments do not match the global function's prototype, from the kernel's reason `why`. */
function globalArgHint(fn: string, why: string, w: Where): string {
  const at = `the call of ${fn}() at ${w.at}${w.code}`;
  const n = (s: string | undefined): number => Number(s ?? 0) + 1;
  let m: RegExpExecArray | null;
  if ((m = /^arg#(\d+) expects pointer to ctx/.exec(why))) return `argument ${n(m[1])} of ${fn}() is the program's context (declared as the type's context struct, or tagged __arg_ctx), and ${at} passes something else: pass the ctx pointer the program got`;
  if ((m = /^arg#(\d+) should be (?:`(struct \w+) \*`|void pointer)/.exec(why))) return `argument ${n(m[1])} of ${fn}() is tagged __arg_ctx but its type is not this program type's context: declare it as ${m[2] ? `${m[2]} *` : 'void *'} (or void *)`;
  if ((m = /^arg#(\d+) is expected to be non-NULL/.exec(why))) return `argument ${n(m[1])} of ${fn}() is tagged __arg_nonnull and ${at} passes a pointer that may be NULL: check it against NULL before the call`;
  if ((m = /^arg#(\d+) has (?:invalid combination of tags|unsupported set of tags|pointer tag, but is not a pointer type)/.exec(why))) return `the arg: tags of argument ${n(m[1])} of ${fn}() do not go together (__arg_nullable only with __arg_trusted, __arg_ctx alone, pointer tags only on pointers): fix the prototype`;
  if ((m = /^R(\d+) type=\w+ expected=ptr_, trusted_ptr_/.exec(why))) return `argument ${m[1]} of ${fn}() is tagged __arg_trusted and ${at} passes something else (or NULL without __arg_nullable): pass a trusted kernel pointer (a tp_btf/fentry argument, bpf_get_current_task_btf())`;
  if (/dynptr/.test(why)) return `${at} passes a struct bpf_dynptr that was never initialised: create it (bpf_dynptr_from_mem, bpf_ringbuf_reserve_dynptr...) before the call`;
  return `${at} passes arguments its prototype does not allow (${why || 'see the log'}): pass what each declared parameter type says`;
}

const RULES: [RegExp, Rule][] = [
  // Kfuncs (docs/kfuncs.md).
  [/(?:Unreleased reference|reference leak)/, (_m, w, f) => {
    const k = acquiringKfunc(f, w);
    const iter = k ? /^bpf_iter_(\w+)_new$/.exec(k) : null;
    if (iter) return `the iterator ${k}() created at instruction ${acquiredAt(f)} is not destroyed on every path reaching ${w.at}${w.code}: call bpf_iter_${iter[1]}_destroy() on it after the loop, on each path`;
    const obj = k ? /^bpf_(task|cgroup|cpumask)_/.exec(k) : null;
    if (obj) return `the ${obj[1]} reference ${k}() returned at instruction ${acquiredAt(f)} is not released on every path reaching ${w.at}${w.code}: call bpf_${obj[1]}_release() on it on each path where it is not NULL`;
    return k
      ? `the ${k.startsWith('bpf_dynptr') ? 'object' : 'conntrack entry'} ${k}() returned at instruction ${acquiredAt(f)} is not released on every path reaching ${w.at}${w.code}: call bpf_ct_release() on it (or insert it with bpf_ct_insert_entry()) on each path where it is not NULL`
      : `a ring buffer reservation (or another acquired reference) is not released on every path reaching ${w.at}${w.code}: call bpf_ringbuf_submit() or bpf_ringbuf_discard() on each path after a successful bpf_ringbuf_reserve()`;
  }],
  [/invalid mem access '(?:\w+_)?ptr_or_null_'/, (_m, w) => `the kfunc's result may be NULL and is dereferenced at ${w.at}${w.code}: check it against NULL first (if (!ct) ...)`],
  [/^Possibly NULL pointer passed to trusted arg(\d+)/, (m, w) => `argument ${Number(m[1]) + 1} of the kfunc called at ${w.at}${w.code} may be NULL: check it against NULL before the call (kfunc pointer arguments must be valid)`],
  [/^calling kernel function (\S+) is not allowed/, (m, w) => `${m[1]} is not available to this program type (${w.at}${w.code}): the conntrack kfuncs are for XDP and TC, bpf_dynptr_from_xdp for XDP, bpf_dynptr_from_skb for skb programs, the task and cgroup kfuncs for XDP, TC, cgroup, tracepoint, perf_event and syscall programs, the cpumask kfuncs for tracepoint, perf_event and syscall programs (docs/kfuncs.md)`],
  [/^metadata kfuncs require device-bound program/, () => 'XDP RX metadata kfuncs need a device-bound program: load it for one interface (BPF_F_XDP_DEV_BOUND_ONLY with its ifindex), as xdp-hints programs are'],
  [/^expected an initialized iter_(\w+) as arg #\d+/, (m, w) => `the iterator passed at ${w.at}${w.code} is not a live bpf_iter_${m[1]}: create it with bpf_iter_${m[1]}_new() first, do not use it after bpf_iter_${m[1]}_destroy(), and keep its stack slots untouched`],
  [/^expected uninitialized iter_(\w+) as arg #\d+/, (m, w) => `bpf_iter_${m[1]}_new() at ${w.at}${w.code} is given an iterator that is still live: destroy it with bpf_iter_${m[1]}_destroy() before creating it again, or use another stack variable`],
  [/^arg#\d+ expected pointer to an iterator on stack/, (_m, w) => `the iterator passed at ${w.at}${w.code} must be a variable on the BPF stack (struct bpf_iter_* it; then &it)`],
  [/^R(\d+) must be a rcu pointer/, (m, w) => `the pointer in r${m[1]} passed at ${w.at}${w.code} is neither trusted nor RCU-protected: pass one the kernel vouches for (bpf_get_current_task_btf(), a kfunc's result) or call the kfunc inside bpf_rcu_read_lock()`],
  [/^R(\d+) is of type (\w+) but sock_common is expected/, (m, w) => `r${m[1]} points to a struct ${m[2]}, which is no socket (${w.at}${w.code}): pass a socket pointer`],
  [/^release kernel function (\S+) expects refcounted PTR_TO_BTF_ID/, (m, w) => `${m[1]} at ${w.at}${w.code} releases a reference the program does not hold: pass only what an acquiring kfunc (bpf_*_acquire, bpf_task_from_pid, bpf_cgroup_from_id, bpf_cpumask_create) returned`],
  [/^Expected an initialized dynptr as arg #(\d+)/, (_m, w) => `the dynptr passed at ${w.at}${w.code} was never initialised (or was overwritten): create it with bpf_dynptr_from_xdp()/bpf_dynptr_from_skb() first and keep its stack slot untouched`],
  [/^no write support to nf_conn at off (\d+)|^write access at off \d+ with size \d+ beyond the member of nf_conn/, (_m, w) => `only ct->mark of a conntrack entry may be written (${w.at}${w.code}); use bpf_ct_change_status()/bpf_ct_change_timeout() for the rest`],
  [/^kernel function (\S+) args#(\d+) expected pointer to \w+ (\w+) but R\d+ has a pointer to \w+ (\w+)/, (m, w) =>
    m[3] === 'nf_conn' && m[4] === 'nf_conn___init'
      ? `${m[1]} takes an inserted entry (struct nf_conn *) and ${w.at}${w.code} passes an allocated one: insert it with bpf_ct_insert_entry() first, or use the bpf_ct_set_* kfuncs before insertion`
      : m[3] === 'nf_conn___init'
        ? `${m[1]} takes an entry from bpf_*_ct_alloc() (struct nf_conn___init *) and ${w.at}${w.code} passes a looked-up one: use bpf_ct_change_* on looked-up entries`
        : `${m[1]} expects a pointer to ${m[3]} and gets one to ${m[4]} at ${w.at}${w.code}`],
  [/^arg#\d+ arg#\d+ memory, len pair leads to invalid memory access/, (_m, w, f) =>
    /packet|pkt/.test(detailOf(f) ?? '')
      ? `the packet bytes passed with their size at ${w.at}${w.code} are not all known to be in the packet: compare the pointer plus that size with data_end first`
      : `the buffer passed at ${w.at}${w.code} is smaller than the size passed with it (or not initialised): pass sizeof() of the very buffer`],
  [/^R(\d+) must be referenced or trusted/, (m, w) => `the pointer in r${m[1]} passed to the kfunc at ${w.at}${w.code} is not one the kernel vouches for (a cast or a field loaded through another pointer): pass the program's context, or a pointer a kfunc returned`],
  [/^R(\d+) cannot write into rdonly_mem/, (_m, w) => `the memory written at ${w.at}${w.code} is read-only (bpf_dynptr_slice returns read-only slices): take a writable one with bpf_dynptr_slice_rdwr, or copy the bytes`],
  [/^only read is supported/, (_m, w) => `the store at ${w.at}${w.code} goes through a pointer to a kernel object (a tracing argument or a field read from one), which programs may only read: copy what you need to the stack or a map and change that`],
  [/^bpfkit: (?:tracepoint (\S+) is not in|attach target (\S+) is not a function in) the kernel's BTF/, (m) => `the section names ${m[1] ?? m[2]} as the attach target, which the kernel's BTF does not have: check the name (\`bpftool btf dump file /sys/kernel/btf/vmlinux | grep\`), or verify against the BTF of the kernel that has it`],
  [/^bpfkit: access to kernel 'struct (\w+)' needs the kernel's BTF/, (m) => `reading struct ${m[1]} needs the kernel's layout: verify with the kernel's BTF (VerifyOptions.kernelBtf, /sys/kernel/btf/vmlinux)`],
  [/^R0 !read_ok/, (_m, w) =>
    w.insn?.code === 0x95
      ? `the program returns without setting r0 (its return value) on this path: assign the return value before \`exit\` at ${w.at}${w.code}`
      : `r0 is read at ${w.at}${w.code} before anything was written to it on this path: set it first (a helper call's result is in r0 only after the call)`],
  [/^R([1-9]) !read_ok/, (m, w) =>
    `register r${m[1]} is read at ${w.at}${w.code} before anything was written to it on this path (helper and function calls clobber r1-r5): give it a value first, e.g. initialise the C variable where it is declared`],
  [/^R(\d+) offset is outside of the packet|^invalid access to packet/, (_m, w, f) => {
    const d = /invalid access to packet, off=(-?\d+) size=(\d+), R\d+\(id=\d+,off=(-?\d+),r=(\d+)\)/.exec(`${detailOf(f) ?? ''}\n${f.message ?? ''}`);
    if (d) {
      const end = Number(d[1]) + Number(d[2]);
      const checked = Number(d[4]);
      if (checked > 0) return `the packet access at ${w.at}${w.code} reads up to byte ${end}, but the comparison with data_end only proved ${checked} bytes: check \`if (data + ${end} > data_end) return XDP_DROP;\` (or a larger bound) before ${w.at}`;
      // Within the Ethernet header, the natural check is the whole header.
      const bound = end > 0 && end <= 14 ? 14 : end;
      const why = bound === end ? '' : ` (the whole Ethernet header; this access reads up to byte ${end})`;
      return `the packet pointer was dereferenced before it was compared with data_end: add \`if (data + ${bound} > data_end) return XDP_DROP;\`${why} before ${w.at}${w.code}`;
    }
    return `the packet pointer was dereferenced before it was compared with data_end: add \`if (data + N > data_end) return XDP_DROP;\` (N = bytes read) before ${w.at}${w.code}`;
  }],
  [/^R(\d+) invalid mem access '(map_value_or_null|ringbuf_mem_or_null|\w+_or_null)'/, (_m, w) =>
    `the pointer used at ${w.at}${w.code} may be NULL (bpf_map_lookup_elem and bpf_ringbuf_reserve return NULL on failure): add \`if (!ptr) return 0;\` before using it`],
  [/^R(\d+) invalid mem access 'scalar'/, (m, w) =>
    `r${m[1]} holds a number, not a pointer the verifier knows, at ${w.at}${w.code}: dereference only pointers from the context, the stack, a null-checked map lookup or a bounds-checked packet`],
  [/^R(\d+) invalid mem access 'pkt_end'/, (_m, w) => `data_end marks the end of the packet and cannot be dereferenced (${w.at}${w.code}): compare packet pointers with it instead`],
  [/^R(\d+) invalid mem access '(\w+)'/, (m, w) => `a ${m[2]} pointer cannot be dereferenced at ${w.at}${w.code}`],
  [/pointer arithmetic on (\w+)_or_null prohibited/, (m, w) =>
    `pointer arithmetic on a ${m[1]} that may be NULL at ${w.at}${w.code}: null-check the pointer first, then add offsets`],
  [/^R(\d+) (?:max|min) value is outside of the allowed memory range|^R(\d+) unbounded memory access|math between (?:map_value|fp|pkt|ctx) pointer and register with unbounded min value|min value is negative, either use unsigned index|value -?\d+ makes map_value pointer be out of bounds/, (_m, w, f) => {
    const d = /invalid access to map value, value_size=(\d+) off=(-?\d+) size=(\d+)/.exec(detailOf(f) ?? '');
    if (d && Number(d[2]) >= 0) {
      const [size, off, width] = [Number(d[1]), Number(d[2]), Number(d[3])];
      return `the access at ${w.at}${w.code} can reach bytes ${off}..${off + width - 1} of a ${size}-byte map value: the index is not checked tightly enough against the size; check it first, e.g. \`if (idx >= ${Math.max(1, Math.floor(size / width))}) return 0;\` for ${width}-byte elements`;
    }
    return `the offset added to the pointer at ${w.at}${w.code} is not bounded on both sides: check it with an unsigned comparison against the size, e.g. \`if (idx >= N) return 0;\` with an unsigned idx, before the access`;
  }],
  [/^invalid bpf_context access off=(-?\d+) size=(\d+)/, (m, w, f) => tracingCtxHint(m, w, detailOf(f)) ??
    `this program type's context has no field at offset ${m[1]} readable (or writable) as ${m[2]} bytes (${w.at}${w.code}): use the field through its declared type in the context struct, with its declared width, and write only fields the program type may change`],
  [/^R(\d+) invalid variable buffer offset/, (_m, w) => `the writable tracepoint buffer is accessed at a variable offset at ${w.at}${w.code}: use a constant offset (the kernel checks the largest one against the buffer's size at attach)`],
  [/^R(\d+) invalid tracepoint buffer access/, (_m, w) => `the writable tracepoint buffer is accessed before its start at ${w.at}${w.code}: use a non-negative constant offset`],
  [/^dereference of modified ctx ptr/, (_m, w) => `the context pointer was moved before the access at ${w.at}${w.code}: read context fields through the unmodified ctx pointer (ctx->field)`],
  [/^invalid (?:indirect )?read from stack|invalid read from stack|^invalid indirect read from stack/, (_m, w) =>
    `stack bytes are read at ${w.at}${w.code} before they were written: initialise the variable (e.g. \`= {}\` or __builtin_memset) before passing or reading it`],
  [/^invalid (?:variable-offset )?(?:write|read) to stack|^invalid (?:read|write) to stack/, (_m, w) => `the access at ${w.at}${w.code} is outside the 512-byte stack frame: use a smaller local buffer or a per-CPU array map`],
  [/^misaligned stack access/, (_m, w) => `the stack access at ${w.at}${w.code} is not aligned to its size: keep stack variables naturally aligned`],
  [/^misaligned (?:value |packet |context )?access off/, (_m, w) => `the access at ${w.at}${w.code} is not aligned to its size, and atomic operations (and strict-alignment programs) require it: put the field at an offset that is a multiple of its size (e.g. a __u64 counter at an 8-byte offset)`],
  [/^BPF_ATOMIC stores into R\d+ (\w+) is not allowed/, (m, w) => `atomic operations work on map values and the stack, not on ${m[1] === 'pkt' ? 'packet' : m[1] === 'ctx' ? 'context' : m[1]} memory (${w.at}${w.code}): copy the value into a map or onto the stack first`],
  [/^write into map forbidden/, (_m, w) => `the map is read-only for programs (BPF_F_RDONLY_PROG, e.g. .rodata or a frozen map) and ${w.at}${w.code} writes to it: write to a writable map instead, or create the map without that flag`],
  [/^read from map forbidden/, (_m, w) => `the map is write-only for programs (BPF_F_WRONLY_PROG) and ${w.at}${w.code} reads it: read from a map created without that flag`],
  [/^no direct value access support for this map type/, (_m, w) => `only array maps (global data such as .data, .bss, .rodata) can be addressed directly with ld.map_value (${w.at}): use bpf_map_lookup_elem for other map types`],
  [/^invalid access to map value pointer, value_size=(\d+) off=(\d+)/, (m, w) => `a direct map value address (ld.map_value, ${w.at}) must point inside the value of a one-entry array map: offset ${m[2]} with value size ${m[1]} (or the map has more than one entry)`],
  // Global functions' arguments (btf_prepare_func_args / btf_check_func_arg_match): the reason is the line before.
  [/^Caller passes invalid args into func#\d+ \('(\w+)'\)/, (m, w, f) => globalArgHint(m[1]!, detailOf(f) ?? '', w)],
  // Helpers a cgroup hook has only at some attach types.
  [/^program of this type cannot use helper bpf_(bind|setsockopt|getsockopt|get_retval|set_retval)#/, (m, w) => `bpf_${m[1]} is not available at this attach point (${w.at}${w.code}): ${ATTACH_HELPERS[m[1]!]}`],
  [/^R(\d+) type=(\w+) expected=(.+)/, (m, w) =>
    `argument r${m[1]} of the helper call at ${w.at}${w.code} is a ${m[2]}, but the helper expects ${m[3]!.split(', ').slice(0, 4).join(' or ')}: pass the right kind of pointer (for example a null-checked reservation, a map, the ctx)`],
  [/^cannot pass map_type (\d+) into func (\S+)/, (m, w) => `map type ${m[1]} cannot be used with ${m[2]!.replace(/#\d+$/, '')} (${w.at}${w.code}): use a map of a type that helper accepts`],
  [/^program of this type cannot use helper (\S+)/, (m, w) => `${m[1]!.replace(/#\d+$/, '')} is not available to this program type (${w.at}${w.code}): use a helper of the program's own type (XDP, TC, socket filter have different sets)`],
  [/^invalid func unknown#(\d+)/, (m, w) => `helper #${m[1]} does not exist (${w.at})`],
  [/^(?:BPF program is too large|The sequence of \d+ jumps is too complex)/, (_m, w) =>
    `the verifier had to explore more than 1,000,000 instructions (last at ${w.at}${w.code}): give every loop a constant upper bound or use bpf_loop()`],
  [/^infinite loop detected/, (_m, w) => `the loop ending at ${w.at}${w.code} never changes its exit condition: make the loop variable move towards a constant bound`],
  [/^back-edge from insn/, (_m, w) => `backward jumps (loops) at ${w.at} are not allowed here: unroll the loop or bound it`],
  [/^div by zero/, (_m, w) => `division or modulo by the constant zero at ${w.at}${w.code}`],
  [/^invalid shift (-?\d+)/, (m, w) => `a shift by ${m[1]} bits at ${w.at}${w.code} is undefined: shift by 0..63 (0..31 for 32-bit values)`],
  [/^frame pointer is read only/, (_m, w) => `r10 (the frame pointer) is written at ${w.at}: copy it to another register first`],
  [/^(?:R\d+ )?(?:\d+-bit )?pointer arithmetic (?:with [^ ]+ operator )?prohibited|bitwise operator \S+ on pointer prohibited|pointer arithmetic on (?:pkt_end|map_ptr) prohibited|pointer \+= pointer prohibited|subtraction from stack pointer prohibited|math between \w+ pointer and \d+ is not allowed/, (_m, w) =>
    `the operation at ${w.at}${w.code} is not allowed on this pointer: only add or subtract bounded 64-bit integers to pointers into memory (not to data_end or a map)`],
  [/^jump out of range from insn (\d+) to (-?\d+)/, (m) => `instruction ${m[1]} jumps to ${m[2]}, outside the program`],
  [/^jump into the middle of ldimm64/, (_m, w) => `a jump lands inside a 16-byte lddw instruction (${w.at})`],
  [/^unreachable insn (\d+)/, (m) => `instruction ${m[1]} can never run: remove the dead code (the kernel refuses unreachable instructions)`],
  [/^last insn is not an exit or jmp/, () => 'the program can run past its last instruction: end every path with `exit`'],
  [/^the call stack of (\d+) frames is too deep !/, (m, w) => `a BPF-to-BPF call chain reaches ${m[1]} frames deep (the call at ${w.at} or a function calling itself): the kernel walks every call chain without running it, so recursion is refused even when bounded; turn recursion into a loop, or inline some functions`],
  [/^the call stack of (\d+) frames is too deep/, (m) => `the BPF-to-BPF call chain is ${m[1]} frames deep, more than 8: inline some functions`],
  [/^combined stack size of (\d+) calls is (\d+)/, (m) => `the stack of ${m[1]} nested calls adds up to ${m[2]} bytes, more than 512: move large locals into a per-CPU array map`],
  [/^recursive call/, (_m, w) => `a function calls itself (${w.at}): BPF allows no recursion`],
  [/^At program exit the register R0 has.* should have been in \[(-?\d+), (-?\d+)\]/, (m, w) =>
    `the value returned at ${w.at}${w.code} may be outside what this program type (and attach point) allows: it must be in [${m[1]}, ${m[2]}]${m[1] === '1' && m[2] === '1' ? ' (recvmsg, getpeername and getsockname hooks must return 1)' : ''}; return a constant of that range on every path (mask or check a computed value first)`],
  [/^At program exit the register R0 is not a known value \((\w+)\)/, (m, w) => `the program returns a ${m[1]} pointer at ${w.at}${w.code}, but this program type must return a number in its range: return one of its action codes`],
  [/^At program exit the register R0 (?:has|is not)/, (_m, w) => `the return value at ${w.at} is outside what this program type may return: return one of its action codes`],
  [/leaks addr/, (_m, w) => `a pointer value would leave the program at ${w.at}${w.code}: return or store numbers only`],
  [/^invalid size of register (?:spill|fill)/, (_m, w) => `a pointer is spilled to or filled from the stack with less than 8 bytes at ${w.at}${w.code}: spill whole 64-bit registers`],
  [/^invalid zero-sized read|^R\d+ invalid zero-sized read|zero-sized/, (_m, w) => `a helper is given a size of 0 at ${w.at}${w.code}: pass a positive size`],
  [/^R\d+ min value is negative/, (_m, w) => `a size argument may be negative at ${w.at}${w.code}: make it unsigned and bound it`],
  [/^call to invalid destination/, (_m, w) => `the BPF-to-BPF call at ${w.at} targets no instruction of the program`],
  [/^cannot return stack pointer to the caller/, (_m, w) => `a function returns a pointer to its own stack (${w.at}), which is gone after it returns: return a value or write through a pointer the caller passed`],
  [/^R(\d+) is not a known constant/, (m, w) => `r${m[1]} must be a compile-time constant at ${w.at}${w.code} (bpf_ringbuf_reserve needs a constant size): use sizeof() of a fixed struct`],
  [/must have zero offset when passed to release func/, (_m, w) => `the pointer released at ${w.at}${w.code} was moved: pass bpf_ringbuf_submit/discard the exact pointer bpf_ringbuf_reserve returned`],
  // bpf_spin_lock rules (process_spin_lock, check_map_access, do_check).
  [/^(bpf_\w+) cannot be accessed directly by load\/store/, (m, w) => `the ${m[1]} inside the map value is touched by a load or store at ${w.at}${w.code}: leave it to bpf_spin_lock()/bpf_spin_unlock() (or its own helpers) and access only the other fields`],
  [/^function calls are not allowed while holding a lock/, (_m, w) => `a function is called at ${w.at}${w.code} between bpf_spin_lock() and bpf_spin_unlock(): only bpf_spin_unlock and static functions may be called there; move the call after the unlock`],
  [/^(.+) cannot be used inside bpf_spin_lock-ed region/, (m, w) => `${m[1]!.startsWith('BPF_EXIT') ? 'the program returns' : m[1]!.startsWith('BPF_LD') ? 'a legacy packet load (LD_ABS/LD_IND, load_byte()...) runs' : `${m[1]} runs`} at ${w.at}${w.code} while a bpf_spin_lock is held: call bpf_spin_unlock() first on every path`],
  [/^use static function instead/, (_m, w) => `a global function is called at ${w.at}${w.code} while a bpf_spin_lock is held: make it static (__attribute__((noinline)) static) or call it after the unlock`],
  [/^bpf_spin_unlock without taking a lock/, (_m, w) => `bpf_spin_unlock() at ${w.at}${w.code} is reached on a path that never called bpf_spin_lock(): unlock only what this path locked`],
  [/^bpf_spin_unlock of different lock/, (_m, w) => `bpf_spin_unlock() at ${w.at}${w.code} releases another lock than the one bpf_spin_lock() took (another map value, or another lookup of it): unlock through the same pointer that locked`],
  [/^Locking two bpf_spin_locks are not allowed/, (_m, w) => `a second bpf_spin_lock() is taken at ${w.at}${w.code} while one is held: a program holds one lock at a time`],
  [/^map '(.+)' has (?:no valid bpf_spin_lock|to have BTF)/, (m, w) => `map ${m[1]} has no struct bpf_spin_lock in its BTF value type (${w.at}${w.code}): declare the value with __type(value, struct ...) holding a struct bpf_spin_lock, compiled with -g`],
  [/doesn't point to 'struct bpf_spin_lock'|bpf_spin_lock has to be at the constant offset/, (_m, w) => `the pointer passed to bpf_spin_lock/unlock at ${w.at}${w.code} is not the address of the value's struct bpf_spin_lock: pass &value->lock`],
  // LD_ABS/LD_IND and registers.
  [/^(LD_ABS|tail_call) is only allowed in functions that return 'int'/, (m) => `a function using ${m[1] === 'LD_ABS' ? 'legacy packet loads (LD_ABS/LD_IND)' : 'bpf_tail_call'} may leave it returning 0, so it must be declared to return int, not void`],
  [/^cannot use BPF_LD_\[ABS\|IND\] within callback/, (_m, w) => `legacy packet loads (LD_ABS/LD_IND) cannot run in a bpf_loop/for_each callback (${w.at}): read the packet with bpf_skb_load_bytes()`],
  [/^R(1[1-5]) is invalid/, (m, w) => `the instruction at ${w.at} names register r${m[1]}; BPF has r0-r10 only (hand-written or corrupted bytecode)`],
  [/^R(\d+) invalid (sock|sock_common|tcp_sock) access off=(-?\d+) size=(\d+)/, (m, w) => `struct bpf_${m[2]} has no field readable at offset ${m[3]} as ${m[4]} bytes (${w.at}${w.code}): read its fields through their declared types`],
  [/^expected prog array map for tail call/, (_m, w) => `bpf_tail_call needs a BPF_MAP_TYPE_PROG_ARRAY map (${w.at}${w.code})`],
  [/tail_call is not allowed in subprogs without BTF|missing btf func_info/, () => 'this needs BTF function info: compile with clang -g so the object carries .BTF.ext'],
];

/**
 * One sentence of why the program was rejected and how to fix it, naming the C source line
 * (or the instruction) — e.g. "the packet pointer was dereferenced before it was compared
 * with data_end: add `if (data + 14 > data_end) return XDP_DROP;` before line 23". Undefined
 * when the message is unknown or absent.
 */
export function explainRejection(result: RejectionFacts, insns: readonly Instruction[]): string | undefined {
  const message = result.message;
  if (!message) return undefined;
  const w = locate(result, insns);
  for (const text of [message, detailOf(result)]) {
    if (!text) continue;
    for (const [re, rule] of RULES) {
      const m = re.exec(text);
      if (m) return rule(m, w, result);
    }
  }
  return undefined;
}
