// Debug Adapter Protocol wire format: `Content-Length: N\r\n\r\n` + N bytes of UTF-8 JSON, both ways.

import { DapProtocolError } from './errors.js';

/** Largest message body accepted (a client sending more is broken, not debugging). */
export const MAX_DAP_MESSAGE = 16 * 1024 * 1024;

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

/** Frames one message. */
export function encodeDapMessage(message: unknown): Uint8Array {
  const body = enc.encode(JSON.stringify(message));
  const head = enc.encode(`Content-Length: ${body.length}\r\n\r\n`);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/**
 * Splits a byte stream into messages. A header without a valid Content-Length or a body that is
 * not JSON yields a {@link DapProtocolError} in place of the message, and reading goes on after it.
 */
export class DapFramer {
  private buf = new Uint8Array(0);

  /** Adds bytes; returns the complete messages (or errors) they finish. */
  push(chunk: Uint8Array): (unknown | DapProtocolError)[] {
    const joined = new Uint8Array(this.buf.length + chunk.length);
    joined.set(this.buf);
    joined.set(chunk, this.buf.length);
    this.buf = joined;
    const out: (unknown | DapProtocolError)[] = [];
    for (;;) {
      const end = indexOfHeaderEnd(this.buf);
      if (end < 0) {
        if (this.buf.length > 8192) {
          out.push(new DapProtocolError('', 'a header longer than 8192 bytes without an empty line'));
          this.buf = new Uint8Array(0);
        }
        return out;
      }
      const header = new TextDecoder().decode(this.buf.subarray(0, end));
      const m = /(?:^|\r\n)Content-Length:\s*(\d+)\s*(?:\r\n|$)/i.exec(header);
      const length = m ? Number(m[1]) : NaN;
      if (!m || !Number.isSafeInteger(length) || length > MAX_DAP_MESSAGE) {
        out.push(new DapProtocolError('', m ? `Content-Length ${m[1]} is over the ${MAX_DAP_MESSAGE}-byte limit` : `header without Content-Length: '${header.slice(0, 80)}'`));
        this.buf = this.buf.slice(end + 4);
        continue;
      }
      if (this.buf.length < end + 4 + length) return out;
      const body = this.buf.subarray(end + 4, end + 4 + length);
      this.buf = this.buf.slice(end + 4 + length);
      try {
        out.push(JSON.parse(dec.decode(body)) as unknown);
      } catch (e) {
        out.push(new DapProtocolError('', `message body is not JSON: ${e instanceof Error ? e.message : String(e)}`));
      }
    }
  }
}

function indexOfHeaderEnd(b: Uint8Array): number {
  for (let i = 0; i + 3 < b.length; i++) if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  return -1;
}
