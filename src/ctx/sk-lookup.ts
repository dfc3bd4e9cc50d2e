// The sk_lookup program type: struct bpf_sk_lookup access rules (sk_lookup_is_valid_access), helper set, and test run (bpf_prog_test_run_sk_lookup).
//
// A test run takes no packet: ctx_in is a struct bpf_sk_lookup naming the connection (family,
// protocol, remote/local addresses and ports); the program may pick a socket with
// bpf_sk_assign. The result is the run array's verdict (SK_PASS unless the program dropped)
// and ctx_out: ctx_in with `cookie` set to the selected socket's cookie, 0 when none. The
// sockets a program can select are those of the socket model (`sockets` of loadUserspace,
// `"sockets"` of --model), reached through a sockmap/sockhash the user filled with their
// indexes (src/maps/sockmap.ts); bpf_sk_assign checks them as bpf_sk_lookup_assign does.

import { NotSupportedError } from '../errors.js';
import { helperAllowed } from '../isa/helpers.js';
import { BpfAttachType, BpfProgType } from '../isa/uapi.generated.js';
import type { AddressSpace, Region } from '../vm/address-space.js';
import { InvalidContextError } from '../vm/errors.js';
import type { HelperContext } from '../vm/helpers.js';
import type { HelperEnv } from './helpers/env.js';
import { modelSocketIndex } from './helpers/socket-lookup.js';
import { ipv6Only, socketCookie, socketState, type ModelSocket } from './socket-model.js';
import type { ContextInstance, CtxAccessCheck, RunInput, RunnableProgramType } from './program-type-ops.js';
import { invalidCtxAccess } from './sk-buff.js';

/** sizeof(struct bpf_sk_lookup). */
export const BPF_SK_LOOKUP_SIZE = 72;

/** Field offsets of struct bpf_sk_lookup (include/uapi/linux/bpf.h). */
export const BpfSkLookup = {
  sk: 0,
  cookie: 0,
  family: 8,
  protocol: 12,
  remote_ip4: 16,
  remote_ip6: 20,
  remote_port: 36,
  local_ip4: 40,
  local_ip6: 44,
  local_port: 60,
  ingress_ifindex: 64,
} as const;

/** `BPF_SK_LOOKUP_F_*`: flags of bpf_sk_assign in sk_lookup programs. */
export const SkLookupFlags = { REPLACE: 1, NO_REUSEPORT: 2 } as const;

const AF_INET = 2;
const AF_INET6 = 10;
const EINVAL = 22;
const EEXIST = 17;
const ESOCKTNOSUPPORT = 94;
const EPROTOTYPE = 91;
const EAFNOSUPPORT = 97;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

const FIELD_NAMES: readonly (readonly [number, number, string])[] = [
  [BpfSkLookup.family, 4, 'family'],
  [BpfSkLookup.protocol, 4, 'protocol'],
  [BpfSkLookup.remote_ip4, 4, 'remote_ip4'],
  [BpfSkLookup.remote_ip6, 16, 'remote_ip6'],
  [BpfSkLookup.local_ip4, 4, 'local_ip4'],
  [BpfSkLookup.local_ip6, 16, 'local_ip6'],
  [BpfSkLookup.local_port, 4, 'local_port'],
  [BpfSkLookup.ingress_ifindex, 4, 'ingress_ifindex'],
];

/** bpf_ctx_narrow_access_ok: a power-of-two size no wider than the field. */
const narrowOk = (size: number, fieldSize: number): boolean => size <= fieldSize && (size & (size - 1)) === 0;

/**
 * sk_lookup_is_valid_access: loads only; `sk` as an 8-byte socket pointer that may be NULL;
 * the u32 fields with narrow loads; remote_port as 4 bytes (compatibility) or narrow within its
 * __be16, the 2 bytes of padding after it likewise (they read 0); nothing past ingress_ifindex.
 */
export function skLookupCheckAccess(off: number, size: number, write: boolean): CtxAccessCheck {
  const deny = invalidCtxAccess(off, size);
  if (off < 0 || off >= BPF_SK_LOOKUP_SIZE || off % size !== 0 || write) return deny;
  if (off < 8) return size === 8 ? { field: 'sk', type: 'sock' } : deny;
  for (const [start, width, name] of FIELD_NAMES) {
    if (off >= start && off < start + width) {
      if (!narrowOk(size, 4)) return deny;
      return { field: width === 16 ? `${name}[${(off - start) >> 2}]` : name, type: 'scalar' };
    }
  }
  if (off >= BpfSkLookup.remote_port && off < BpfSkLookup.remote_port + 2) {
    return size === 4 || narrowOk(size, 2) ? { field: 'remote_port', type: 'scalar' } : deny;
  }
  if (off >= BpfSkLookup.remote_port + 2 && off < BpfSkLookup.local_ip4) return narrowOk(size, 2) ? { field: 'remote_port (padding)', type: 'scalar' } : deny;
  return deny;
}

/** The u32 fields the kernel keeps as u16 (bpf_sk_lookup_kern): a narrow load no narrower than 2 bytes reads them whole. */
const U16_FIELDS: ReadonlySet<number> = new Set([BpfSkLookup.family, BpfSkLookup.protocol, BpfSkLookup.local_port]);

/** The sk_lookup context of one address space. */
export class SkLookupContext implements ContextInstance {
  /** The struct bpf_sk_lookup region (read-only to the program). */
  readonly ctx: Region;
  private ctxIn = new Uint8Array(BPF_SK_LOOKUP_SIZE);
  /** The struct bpf_sock address of the socket bpf_sk_assign selected (0: none), its socket, and the no_reuseport flag. */
  selected = 0;
  selectedSocket: { readonly cookie: bigint; readonly reuseport: boolean } | undefined;
  noReuseport = false;

  constructor(private readonly space: AddressSpace) {
    this.ctx = space.addRegion('ctx', BPF_SK_LOOKUP_SIZE, { kind: 'ctx', writable: false });
    space.setLoadHook(this.ctx, (offset, size, out) => {
      if (offset === BpfSkLookup.sk && size === 8) {
        out[0] = this.selected | 0;
        out[1] = Math.floor(this.selected / 4294967296) | 0;
        return true;
      }
      const field = offset & ~3;
      if (!U16_FIELDS.has(field) || size > 4) return false;
      let v = this.space.memory.view.getUint16(this.ctx.start + field, true);
      if (size < 2) v = (v >>> ((offset - field) * 8)) & 0xff;
      out[0] = v;
      out[1] = 0;
      return true;
    });
  }

  /**
   * Sets up a run as bpf_prog_test_run_sk_lookup does: no data_in; a ctx_in (zeroes if none), with
   * sk/cookie 0, nothing past local_port, local_port <= 65535 (ERANGE) and family (as a u16)
   * AF_INET or AF_INET6 (EAFNOSUPPORT). Throws InvalidContextError otherwise.
   */
  setup(input: RunInput): number {
    if (input.data.length > 0) throw new InvalidContextError('data', 'an sk_lookup test run takes no data_in');
    // Without ctx_in the kernel refuses the run (EINVAL) unless ctx_out is asked for, when it
    // reads a zeroed struct (family 0: EAFNOSUPPORT). bpfkit always gives ctx_out: the latter.
    const given = input.ctxIn ?? new Uint8Array(BPF_SK_LOOKUP_SIZE);
    if (given.length > BPF_SK_LOOKUP_SIZE && given.subarray(BPF_SK_LOOKUP_SIZE).some((x) => x !== 0)) {
      throw new InvalidContextError('(tail)', `bytes past sizeof(struct bpf_sk_lookup) = ${BPF_SK_LOOKUP_SIZE} must be zero (E2BIG)`);
    }
    const ctxIn = new Uint8Array(BPF_SK_LOOKUP_SIZE);
    ctxIn.set(given.subarray(0, BPF_SK_LOOKUP_SIZE));
    const v = new DataView(ctxIn.buffer);
    if (ctxIn.subarray(0, 8).some((x) => x !== 0)) throw new InvalidContextError('sk', 'must be zero in ctx_in');
    if (ctxIn.subarray(BpfSkLookup.local_port + 4).some((x) => x !== 0)) throw new InvalidContextError('ingress_ifindex', 'must be zero in ctx_in');
    const localPort = v.getUint32(BpfSkLookup.local_port, true);
    if (localPort > 0xffff) throw new InvalidContextError('local_port', `${localPort} exceeds 65535 (ERANGE)`);
    const family = v.getUint32(BpfSkLookup.family, true) & 0xffff;
    if (family !== AF_INET && family !== AF_INET6) throw new InvalidContextError('family', `${family} is neither AF_INET nor AF_INET6${input.ctxIn ? '' : ' (no ctx_in was given)'} (EAFNOSUPPORT)`);
    this.ctxIn = ctxIn;
    this.selected = 0;
    this.selectedSocket = undefined;
    this.noReuseport = false;

    // bpf_sk_lookup_kern as the program reads it through the converted loads.
    const mem = this.space.memory.bytes;
    const at = this.ctx.start;
    mem.fill(0, at, at + BPF_SK_LOOKUP_SIZE);
    const out = this.space.memory.view;
    out.setUint32(at + BpfSkLookup.family, family, true);
    out.setUint32(at + BpfSkLookup.protocol, v.getUint32(BpfSkLookup.protocol, true) & 0xffff, true);
    out.setUint32(at + BpfSkLookup.remote_port, v.getUint32(BpfSkLookup.remote_port, true) & 0xffff, true);
    out.setUint32(at + BpfSkLookup.local_port, localPort, true);
    if (family === AF_INET) {
      mem.set(ctxIn.subarray(BpfSkLookup.remote_ip4, BpfSkLookup.remote_ip4 + 4), at + BpfSkLookup.remote_ip4);
      mem.set(ctxIn.subarray(BpfSkLookup.local_ip4, BpfSkLookup.local_ip4 + 4), at + BpfSkLookup.local_ip4);
    } else {
      mem.set(ctxIn.subarray(BpfSkLookup.remote_ip6, BpfSkLookup.remote_ip6 + 16), at + BpfSkLookup.remote_ip6);
      mem.set(ctxIn.subarray(BpfSkLookup.local_ip6, BpfSkLookup.local_ip6 + 16), at + BpfSkLookup.local_ip6);
    }
    return this.ctx.address();
  }

  /** data_out: none (an sk_lookup test run has no packet). */
  dataOut(): Uint8Array {
    return new Uint8Array(0);
  }

  /**
   * ctx_out: ctx_in with `cookie` = the selected socket's cookie (0: none selected). A selected
   * socket in a SO_REUSEPORT group without BPF_SK_LOOKUP_F_NO_REUSEPORT fails the test run, as
   * the kernel's does (EOPNOTSUPP: a test run cannot pick from the group). A program that
   * returned SK_DROP (`retval` 0) selected nothing: the run array drops its selection.
   */
  ctxOut(retval?: number): Uint8Array {
    const out = this.ctxIn.slice();
    const s = retval === 0 ? undefined : this.selectedSocket;
    if (s) {
      if (s.reuseport && !this.noReuseport) throw new InvalidContextError('sk', 'the selected socket is in a SO_REUSEPORT group and bpf_sk_assign was not given BPF_SK_LOOKUP_F_NO_REUSEPORT: the kernel fails the test run (EOPNOTSUPP)');
      new DataView(out.buffer).setBigUint64(BpfSkLookup.cookie, s.cookie, true);
    }
    return out;
  }
}

/**
 * bpf_sk_assign in an sk_lookup program (bpf_sk_lookup_assign): flags other than REPLACE and
 * NO_REUSEPORT give -EINVAL; a socket the kernel would not select -ESOCKTNOSUPPORT (an
 * established TCP socket: refcounted, or a TCP socket not listening, a connected UDP one),
 * -EPROTOTYPE (its protocol is not the lookup's), -EAFNOSUPPORT (an AF_INET socket, or a v6only
 * one, for a lookup of the other family); a second selection without REPLACE -EEXIST. NULL
 * clears the selection. The socket is one of the socket model's (a sockmap lookup gave it).
 */
export function skLookupAssign(vm: HelperContext, env: HelperEnv): number {
  const ctx = env.context;
  if (!(ctx instanceof SkLookupContext)) throw new NotSupportedError('bpf_sk_assign outside an sk_lookup context');
  const sk = vm.reg(2);
  const flags = vm.reg(3);
  if ((flags & ~BigInt(SkLookupFlags.REPLACE | SkLookupFlags.NO_REUSEPORT)) !== 0n) return -EINVAL;
  let socket: ModelSocket | undefined;
  let index = -1;
  if (sk !== 0n) {
    const table = env.sockets;
    index = table ? (modelSocketIndex(vm.space, table, Number(sk)) ?? -1) : -1;
    if (!table || index < 0) throw new NotSupportedError('bpf_sk_assign of a socket that is not in the socket model', undefined, 'sk_lookup programs select sockets of the socket model (`sockets`), found through a socket map');
    socket = table.sockets[index]!;
    const state = socketState(socket);
    if (socket.protocol === 'tcp' && state !== 'listen') return -ESOCKTNOSUPPORT;
    if (socket.protocol === 'udp' && state !== 'close') return -ESOCKTNOSUPPORT;
    const protocol = vm.space.memory.view.getUint32(ctx.ctx.start + BpfSkLookup.protocol, true);
    if ((socket.protocol === 'tcp' ? IPPROTO_TCP : IPPROTO_UDP) !== protocol) return -EPROTOTYPE;
    const family = socket.local.length === 4 ? AF_INET : AF_INET6;
    const want = vm.space.memory.view.getUint32(ctx.ctx.start + BpfSkLookup.family, true);
    if (family !== want && (family === AF_INET || ipv6Only(socket))) return -EAFNOSUPPORT;
  }
  if (ctx.selected !== 0 && (flags & BigInt(SkLookupFlags.REPLACE)) === 0n) return -EEXIST;
  ctx.selected = Number(sk);
  ctx.selectedSocket = socket ? { cookie: socketCookie(socket, index), reuseport: socket.reuseport === true } : undefined;
  ctx.noReuseport = (flags & BigInt(SkLookupFlags.NO_REUSEPORT)) !== 0n;
  return 0;
}

/** BPF_PROG_TYPE_SK_LOOKUP (loaded with expected attach type BPF_SK_LOOKUP). */
export const skLookupOps: RunnableProgramType & { createContext(space: AddressSpace): SkLookupContext } = {
  type: BpfProgType.SK_LOOKUP,
  name: 'sk_lookup',
  ctxSize: BPF_SK_LOOKUP_SIZE,
  expectedAttachType: BpfAttachType.SK_LOOKUP,
  checkAccess: skLookupCheckAccess,
  helperAllowed: (id) => helperAllowed(id, 'sk_lookup'),
  createContext: (space) => new SkLookupContext(space),
};
