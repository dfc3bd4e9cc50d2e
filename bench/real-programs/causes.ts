// Failure causes of the real-programs harness: a typed error (or a mismatch) reduced to a group and a key.

/** The groups failures are reported in (the causes). */
export type CauseKind =
  | 'untyped section'
  | 'missing program type'
  | 'missing helper'
  | 'missing kfunc'
  | 'missing map type'
  | 'verifier disagrees'
  | 'tag differs'
  | 'test run differs'
  | 'map contents differ'
  | 'kernel refuses'
  | 'error';

/** One failure: its group, a key that identifies the cause within it, and an example. */
export interface Cause {
  readonly kind: CauseKind;
  /** The error code, helper, kfunc, map type or message that names the cause. */
  readonly key: string;
  /** A one-line message (the first occurrence's). */
  readonly message: string;
}

/** An error's stable `code` when it has one (BpfkitError), else its class name. */
export function errorCode(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') return (err as { code: string }).code;
  return err instanceof Error ? err.name : typeof err;
}

/** The first line of an error's message, without the object path prefix. */
export function errorMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return (text.split('\n')[0] ?? '').replace(/^\S+\.o: /, '').slice(0, 300);
}

/** Cuts a message to what identifies its cause: names and numbers of a program or an instance dropped. */
function normalise(message: string): string {
  return message
    .replace(/verifier rejected the program: insn \d+ \([^)]*\): /g, 'verifier: ')
    .replace(/program "[^"]*"/g, 'program "…"')
    .replace(/section "[^"]*"/g, 'section "…"')
    .replace(/map "[^"]*"/g, 'map "…"')
    .replace(/\/[\w./-]+\.o\b/g, 'OBJ')
    .replace(/(^|: )(program "…": )+/g, '$1')
    .replace(/\b\d{2,}\b/g, 'N');
}

/** Classifies an error thrown while setting a program up, verifying, loading or running it. */
export function classify(err: unknown): Cause {
  const code = errorCode(err);
  const message = errorMessage(err);
  let m: RegExpMatchArray | null;
  if (code === 'ERR_PROGRAM_UNTYPED' || /cannot tell the program type|does not say which program type|no program type|program type 0\b|unspec/i.test(message)) {
    return { kind: 'untyped section', key: code, message };
  }
  // A kernel object read through bpf_cast_to_kern_ctx that userspace does not model (skb->dev, xdp->rxq).
  if (code === 'ERR_KERN_CTX_FIELD' || /read through bpf_cast_to_kern_ctx/.test(message)) {
    const f = message.match(/struct (\w+) field (\w+)/);
    return { kind: 'missing kfunc', key: `bpf_cast_to_kern_ctx: struct ${f?.[1] ?? '?'} field ${f?.[2] ?? '?'} not modelled in userspace`, message };
  }
  // A kernel struct field behind bpf_get_current_task that userspace does not model (task->mm, task->flags).
  if (code === 'ERR_KERNEL_STRUCT_FIELD') {
    const f = message.match(/struct (\w+) field (\w+)/);
    return { kind: 'missing helper', key: `bpf_get_current_task: struct ${f?.[1] ?? '?'} field ${f?.[2] ?? '?'} not modelled in userspace`, message };
  }
  if ((m = message.match(/(bpf_\w+) \(\d+\) cannot run in userspace: ([^:]+)/))) {
    return { kind: 'missing helper', key: `${m[1]} refused in userspace: ${m[2]}`, message };
  }
  if ((m = message.match(/unknown func (?:bpf_)?(\w+)#\d+/)) || (m = message.match(/cannot (?:use|call) helper (?:bpf_)?(\w+)#\d+/))) {
    return { kind: 'missing helper', key: `bpf_${m[1]}`, message };
  }
  if ((m = message.match(/calling kernel function (\w+) is not allowed/))) return { kind: 'missing kfunc', key: m[1] ?? code, message };
  if ((m = message.match(/kfunc\s+"([A-Za-z_]\w*)"/i))) return { kind: 'missing kfunc', key: m[1] ?? code, message };
  if (/kfunc/i.test(message)) return { kind: 'missing kfunc', key: normalise(message), message };
  if ((m = message.match(/helper\s+(?:"|')?(?:bpf_)?([a-z_0-9]+)(?:"|')?(?:\s*\(\d+\))?[^;]*(?:not (?:implemented|supported|available|provided)|unknown|cannot|unimplemented)/i))) {
    return { kind: 'missing helper', key: `bpf_${m[1]}`, message };
  }
  if ((m = message.match(/(?:unknown|unimplemented|not implemented|no userspace).{0,20}helper\s+(?:"|')?([a-z_0-9]+)/i))) {
    return { kind: 'missing helper', key: m[1]?.startsWith('bpf_') ? m[1] : `bpf_${m[1]}`, message };
  }
  if (code === 'ERR_UNKNOWN_HELPER' || /helper/i.test(message) && /not|unknown/.test(message)) {
    const id = message.match(/helper\s+(?:#|id\s*)?(\w+)/i);
    return { kind: 'missing helper', key: id?.[1] ?? code, message };
  }
  if ((m = message.match(/map type\s+"?([\w-]+)"?[^;]*(?:not supported|unsupported|cannot)/i)) || (m = message.match(/(?:unsupported|unknown) map type\s+"?([\w-]+)/i))) {
    return { kind: 'missing map type', key: m[1] ?? code, message };
  }
  if (code === 'ERR_UNSUPPORTED_MAP_TYPE') return { kind: 'missing map type', key: normalise(message), message };
  if ((m = message.match(/program type\s+(\S+)\s+cannot run in userspace/i)) || (m = message.match(/program type\s+"?([\w/]+)"?[^;]*(?:not supported|cannot|no userspace)/i))) {
    return { kind: 'missing program type', key: m[1] ?? code, message };
  }
  return { kind: 'error', key: `${code}: ${normalise(message)}`, message };
}
