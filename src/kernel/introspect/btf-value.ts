// Map keys and values formatted through BTF as bpftool's btf_dumper prints them: the pure core's formatter, re-exported.
export { ExactInt, formatBtfValue, stringifyFormatted, type Formatted } from '../../btf/value-format.js';
