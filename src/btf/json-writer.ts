// A JSON writer that prints byte for byte what bpftool's json_writer prints (compact, or "pretty" with its quirks).

/**
 * Streaming JSON text in bpftool's exact layout. Compact mode is plain JSON. Pretty mode
 * indents by four spaces and puts each object member on its own line, but writes array
 * elements on the line of the `[` and closes the array on a new line (`[1,2,3\n    ]`), as
 * bpftool's `json_writer.c` does. `raw` writes a token verbatim (bpftool prints some values
 * with printf — `0x5`, `(nil)` — that are not JSON), so the text is not always valid JSON.
 */
export class BpftoolJsonWriter {
  private out = '';
  private depth = 0;
  private sep = '';

  /** `pretty`: bpftool's `-p` layout (and the layout of its plain-text BTF map dumps). */
  constructor(private readonly pretty = false) {}

  /** The text written so far. */
  text(): string {
    return this.out;
  }

  /** Current nesting depth (0 when every object and array is closed). */
  get nesting(): number {
    return this.depth;
  }

  private eor(): void {
    if (this.sep !== '') this.out += this.sep;
    this.sep = ',';
  }

  private eol(): void {
    if (!this.pretty) return;
    this.out += `\n${'    '.repeat(this.depth)}`;
  }

  /** Opens an object (`{`). */
  startObject(): this {
    return this.begin('{');
  }

  /** Closes an object. */
  endObject(): this {
    return this.end('}');
  }

  /** Opens an array (`[`). */
  startArray(): this {
    return this.begin('[');
  }

  /** Closes an array. */
  endArray(): this {
    return this.end(']');
  }

  private begin(c: string): this {
    this.eor();
    this.out += c;
    this.depth++;
    this.sep = '';
    return this;
  }

  private end(c: string): this {
    if (this.depth === 0) throw new RangeError('BpftoolJsonWriter: nothing open to close');
    this.depth--;
    if (this.sep !== '') this.eol();
    this.out += c;
    this.sep = ',';
    return this;
  }

  /** An object member's name; the value follows. */
  name(name: string): this {
    this.eor();
    this.eol();
    this.sep = '';
    this.out += `${quote(name)}:${this.pretty ? ' ' : ''}`;
    return this;
  }

  /** A string value, escaped as bpftool escapes (only \t \n \r \f \b \\ and "). */
  string(s: string): this {
    this.eor();
    this.out += quote(s);
    return this;
  }

  /** A token written as is (a number, `true`, or one of bpftool's printf outputs). */
  raw(token: string): this {
    this.eor();
    this.out += token;
    return this;
  }

  /** Text appended outside the JSON structure (bpftool's printf to the same stream), separators untouched. */
  verbatim(text: string): this {
    this.out += text;
    return this;
  }

  /** `"name": value` with a raw token value. */
  field(name: string, token: string | number | bigint | boolean): this {
    return this.name(name).raw(String(token));
  }

  /** `"name": "value"`. */
  stringField(name: string, value: string): this {
    return this.name(name).string(value);
  }
}

const ESCAPES: Readonly<Record<string, string>> = { '\t': '\\t', '\n': '\\n', '\r': '\\r', '\f': '\\f', '\b': '\\b', '\\': '\\\\', '"': '\\"' };

/** bpftool's jsonw_puts: quotes `s`, escaping only the characters it escapes. */
function quote(s: string): string {
  return `"${s.replace(/[\t\n\r\f\b\\"]/g, (c) => ESCAPES[c] ?? c)}"`;
}
