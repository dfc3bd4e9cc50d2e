// bpf_trace_printk's, bpf_trace_vprintk's and bpf_snprintf's formatter: the kernel's format subset (bpf_bprintf_prepare), checked the same way.
//
// Accepted: %% and up to three conversions %d %i %u %x %X (with l or ll), %c, %s, %p (plain,
// %px, %pK), each with optional flags [0 +-] and a width; anything else — precision, %n, %lc,
// a fourth argument, an ASCII control character, a byte above 0x7f right after % — makes the helper return -EINVAL, as does a
// format without a NUL inside fmt_size. The return value is the formatted length (bstr_printf).

import { BpfFuncId } from '../../isa/uapi.generated.js';
import type { HelperContext, HelperFn } from '../../vm/helpers.js';
import type { HelperEnv } from './env.js';
import { argU32, helperRead } from './memory.js';

/** Reads the string argument of a %s at a virtual address ('' when unreadable, as the kernel's nofault copy). */
export type StringReader = (address: bigint) => string;

/** The formatted line, or a negative errno. */
export type TracePrintkResult = { readonly line: string } | { readonly errno: number };

const EINVAL = 22;
/** MAX_BPRINTF_BUF: the formatted line is cut to this many bytes minus the NUL. */
export const MAX_BPRINTF_BUF = 1024;

/** isprint || isspace for ASCII; bytes >= 0x80 pass through (UTF-8 text), as bpf_bprintf_prepare lets them. */
const isPrint = (c: number): boolean => (c >= 0x20 && c < 0x7f) || (c >= 9 && c <= 13) || c >= 0x80;

function pad(body: string, flags: string, width: number, numeric: boolean): string {
  if (body.length >= width) return body;
  if (flags.includes('-')) return body + ' '.repeat(width - body.length);
  if (flags.includes('0') && numeric) {
    const sign = /^[-+ ]/.test(body) ? body[0]! : '';
    const prefix = body.startsWith('0x', sign.length) ? '0x' : '';
    const digits = body.slice(sign.length + prefix.length);
    return sign + prefix + '0'.repeat(width - body.length) + digits;
  }
  return ' '.repeat(width - body.length) + body;
}

/**
 * Formats `fmt` (the bytes the program passed, fmt_size long) with u64 arguments, exactly as far
 * as the kernel checks it: at most `maxArgs` conversions (3 for bpf_trace_printk; bpf_snprintf
 * passes data_len / 8).
 */
export function formatTracePrintk(fmt: Uint8Array, args: readonly bigint[], readString: StringReader, maxArgs = 3): TracePrintkResult {
  const nul = fmt.indexOf(0);
  if (nul < 0) return { errno: -EINVAL };
  const f = fmt.subarray(0, nul);
  let out = '';
  let argIndex = 0;
  for (let i = 0; i < f.length; i++) {
    const c = f[i]!;
    if (!isPrint(c)) return { errno: -EINVAL };
    if (c !== 0x25) {
      out += String.fromCharCode(c);
      continue;
    }
    i++;
    if (f[i] === 0x25) {
      out += '%';
      continue;
    }
    if (argIndex >= maxArgs) return { errno: -EINVAL };
    let flags = '';
    while (i < f.length && '0+- '.includes(String.fromCharCode(f[i]!))) flags += String.fromCharCode(f[i++]!);
    let width = 0;
    if (i < f.length && f[i]! >= 0x31 && f[i]! <= 0x39) {
      while (i < f.length && f[i]! >= 0x30 && f[i]! <= 0x39) width = width * 10 + (f[i++]! - 0x30);
    }
    const conv = i < f.length ? String.fromCharCode(f[i]!) : '';
    const arg = args[argIndex] ?? 0n;
    let body: string;
    let numeric = true;
    if (conv === 'p') {
      const next = i + 1 < f.length ? String.fromCharCode(f[i + 1]!) : '';
      if (next === 'x' || next === 'K') i++;
      else if (/[A-Za-z0-9]/.test(next)) return { errno: -EINVAL }; // %pI4, %pB... not modelled
      // %px: the raw value, 16 zero-padded hex digits; %pK: zeroes (kptr_restrict); %p: a hashed value, here the raw one.
      body = next === 'K' ? '0'.repeat(16) : BigInt.asUintN(64, arg).toString(16).padStart(16, '0');
    } else if (conv === 's') {
      body = readString(arg);
      numeric = false;
    } else if (conv === 'c') {
      body = String.fromCharCode(Number(arg & 0xffn));
      numeric = false;
    } else {
      let longs = 0;
      while (f[i] === 0x6c && longs < 2) {
        longs++;
        i++;
      }
      const k = i < f.length ? String.fromCharCode(f[i]!) : '';
      if (!'diuxX'.includes(k) || k === '') return { errno: -EINVAL };
      const bits = longs === 0 ? 32n : 64n;
      const unsigned = BigInt.asUintN(Number(bits), arg);
      if (k === 'd' || k === 'i') {
        const signed = BigInt.asIntN(Number(bits), arg);
        body = signed.toString();
        if (signed >= 0n && flags.includes('+')) body = `+${body}`;
        else if (signed >= 0n && flags.includes(' ')) body = ` ${body}`;
      } else if (k === 'u') body = unsigned.toString();
      else body = k === 'x' ? unsigned.toString(16) : unsigned.toString(16).toUpperCase();
    }
    out += pad(body, flags, width, numeric);
    argIndex++;
  }
  return { line: out };
}

/** MAX_BPRINTF_VARARGS: bpf_trace_vprintk and bpf_snprintf take at most 12 u64 arguments. */
export const MAX_BPRINTF_VARARGS = 12;

const TWO32 = 4294967296;

/** A %s argument read as the kernel's strncpy_from_kernel_nofault does: up to a NUL, '' when unreadable. */
function readString(vm: HelperContext, address: bigint): string {
  const a = Number(BigInt.asUintN(64, address));
  let s = '';
  for (let n = 0; n < MAX_BPRINTF_BUF; n++) {
    const at = vm.space.translate(Math.floor((a + n) / TWO32), (a + n) >>> 0, 1, false);
    if (at < 0) return s;
    const c = vm.space.memory.bytes[at]!;
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

/**
 * bpf_trace_vprintk(fmt, fmt_size, args, data_len): bpf_trace_printk with its arguments in an
 * array of u64 — data_len a multiple of 8, at most MAX_BPRINTF_VARARGS of them, args non-NULL
 * when data_len is not 0 (else -EINVAL); the format may use at most data_len / 8 conversions.
 * The line goes to the same sink as bpf_trace_printk's; the return value is its formatted length.
 */
export function tracePrintkHelpers(env: HelperEnv): Map<number, HelperFn> {
  return new Map<number, HelperFn>([
    [
      BpfFuncId.trace_vprintk,
      (vm, r1, _r2, r3) => {
        const size = argU32(vm, 2);
        const dataLen = argU32(vm, 4);
        if (dataLen % 8 !== 0 || dataLen > MAX_BPRINTF_VARARGS * 8 || (dataLen !== 0 && r3 === 0)) return -EINVAL;
        if (size === 0) return -EINVAL;
        const fmt = helperRead(vm, r1, size);
        const args: bigint[] = [];
        if (dataLen > 0) {
          const raw = helperRead(vm, r3, dataLen);
          const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
          for (let i = 0; i < dataLen; i += 8) args.push(view.getBigUint64(i, true));
        }
        const r = formatTracePrintk(fmt, args, (a) => readString(vm, a), dataLen / 8);
        if ('errno' in r) return r.errno;
        env.trace(r.line.slice(0, MAX_BPRINTF_BUF - 1));
        return r.line.length;
      },
    ],
  ]);
}
