// The agent config's JSON Schema (published as docs/agent.schema.json) and the small validator that applies it.

/** A JSON Schema node, the subset this validator understands. */
export interface SchemaNode {
  readonly $schema?: string;
  readonly $id?: string;
  readonly $ref?: string;
  readonly $defs?: Readonly<Record<string, SchemaNode>>;
  readonly title?: string;
  readonly description?: string;
  readonly type?: SchemaType | readonly SchemaType[];
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | SchemaNode;
  readonly items?: SchemaNode;
  readonly enum?: readonly (string | number | boolean)[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly minItems?: number;
  readonly pattern?: string;
  readonly default?: unknown;
}

/** JSON types. */
export type SchemaType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean' | 'null';

const ENTRY_NAME = '^[A-Za-z0-9_][A-Za-z0-9_@-]{0,62}$';

const byteValue: SchemaNode = {
  description:
    'Bytes of a key or value: an integer (little-endian, the map\'s key/value size), a string of hex bytes ("0a 00 00 01", "hex 0a000001"), an array of byte values, or an object by field name (maps with BTF).',
  type: ['integer', 'string', 'array', 'object'],
};

const iface: SchemaNode = { type: 'string', minLength: 1, pattern: '^[^/\\s]{1,15}$', description: 'Interface name (at most 15 characters).' };

/** The agent config's JSON Schema (draft 2020-12). */
export const AGENT_CONFIG_SCHEMA: SchemaNode = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'urn:bpfkit:agent-config',
  title: 'bpfkit agent config',
  description: 'What `bpfkit agent --config FILE` keeps deployed: objects, programs and their attach points, map seeds, global data and the maps exported as metrics.',
  type: 'object',
  additionalProperties: false,
  required: ['programs'],
  properties: {
    bpffs: { type: 'string', pattern: '^/', default: '/sys/fs/bpf/bpfkit-agent', description: 'Root directory in a bpffs for the agent\'s pins (links/, maps/).' },
    listen: { type: 'string', pattern: '^(\\[[0-9a-fA-F:.]+\\]|[^:\\s]+):[0-9]{1,5}$', default: '127.0.0.1:9477', description: 'HOST:PORT of the HTTP server (/metrics, /healthz, /readyz, /api/state); port 0 picks a free one.' },
    onExit: { enum: ['keep', 'detach'], default: 'keep', description: 'On SIGTERM/SIGINT: keep the programs attached (pinned links) or detach them and remove the pins.' },
    watch: { type: 'boolean', default: true, description: 'Re-apply the config when the file changes (SIGHUP always does).' },
    objects: {
      type: 'array',
      description: 'Options per object file: global data and map seeds. Programs name their object by the same path.',
      items: { $ref: '#/$defs/object' },
    },
    programs: { type: 'array', items: { $ref: '#/$defs/program' } },
    metrics: { type: 'array', items: { $ref: '#/$defs/metric' } },
  },
  $defs: {
    object: {
      type: 'object',
      additionalProperties: false,
      required: ['path'],
      properties: {
        path: { type: 'string', minLength: 1, description: 'The ELF object (relative paths are relative to the config file).' },
        globals: {
          type: 'object',
          description: 'Initial values of global variables (.data, .bss, .rodata) by name; .rodata values are frozen.',
          additionalProperties: { type: ['integer', 'string', 'array', 'object', 'boolean'] },
        },
        maps: { type: 'array', items: { $ref: '#/$defs/seed' }, description: 'Map seeds: entries written when the config is applied.' },
      },
    },
    seed: {
      type: 'object',
      additionalProperties: false,
      required: ['map'],
      properties: {
        map: { type: 'string', minLength: 1 },
        entries: { type: 'array', items: { $ref: '#/$defs/entry' } },
        file: { type: 'string', minLength: 1, description: 'A JSON or YAML file holding a list of {key, value} entries.' },
      },
    },
    entry: {
      type: 'object',
      additionalProperties: false,
      required: ['key', 'value'],
      properties: { key: byteValue, value: byteValue },
    },
    program: {
      type: 'object',
      additionalProperties: false,
      required: ['object', 'program'],
      properties: {
        name: { type: 'string', pattern: ENTRY_NAME, description: 'Entry name (pin name of its link); default PROGRAM@INTERFACE / PROGRAM@ingress-IFACE / PROGRAM@cgroup...' },
        object: { type: 'string', minLength: 1 },
        program: { type: 'string', minLength: 1 },
        type: { type: 'string', minLength: 1, description: 'Program type for sections libbpf cannot type (as bpftool\'s `type`).' },
        xdp: {
          type: 'object',
          additionalProperties: false,
          required: ['interface'],
          properties: {
            interface: iface,
            mode: { enum: ['skb', 'native', 'hw', 'generic', 'driver', 'offload'], description: 'XDP mode; default: what the driver offers.' },
            whenPresent: { type: 'boolean', description: 'Attach when the interface appears instead of refusing the config while it is missing.' },
            priority: { type: 'integer', minimum: 0, maximum: 1000, description: 'Run order on a shared interface (lower first); default the object\'s .xdp_run_config, else 50. Several XDP entries on one interface run on bpfkit\'s dispatcher (XdpMultiProg).' },
          },
        },
        tc: {
          type: 'object',
          additionalProperties: false,
          required: ['interface', 'direction'],
          properties: {
            interface: iface,
            direction: { enum: ['ingress', 'egress'] },
            whenPresent: { type: 'boolean' },
          },
        },
        cgroup: {
          type: 'object',
          additionalProperties: false,
          required: ['path', 'attach'],
          properties: {
            path: { type: 'string', pattern: '^/' },
            attach: { enum: ['ingress', 'egress', 'sock_create', 'sock_ops', 'connect4', 'connect6', 'bind4', 'bind6', 'sendmsg4', 'recvmsg4', 'device', 'sysctl'] },
          },
        },
        rawTracepoint: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: { name: { type: 'string', pattern: '^[A-Za-z0-9_]+$' } },
        },
        tracepoint: {
          type: 'object',
          additionalProperties: false,
          required: ['category', 'name'],
          description: 'A tracepoint (tracefs events/CATEGORY/NAME) through a perf event and a BPF link.',
          properties: { category: { type: 'string', pattern: '^[A-Za-z0-9_]+$' }, name: { type: 'string', pattern: '^[A-Za-z0-9_]+$' } },
        },
      },
    },
    metric: {
      type: 'object',
      additionalProperties: false,
      required: ['map'],
      properties: {
        map: { type: 'string', minLength: 1 },
        object: { type: 'string', minLength: 1, description: 'The object path, when several objects have a map of that name.' },
        name: { type: 'string', pattern: '^[a-zA-Z_:][a-zA-Z0-9_:]*$', description: 'Metric name; default bpfkit_agent_map_MAP (counters get _total).' },
        type: { enum: ['counter', 'gauge'], default: 'counter' },
        help: { type: 'string' },
        perCpu: { enum: ['sum', 'label'], default: 'sum', description: 'Per-CPU maps: one series summed over CPUs, or one per CPU with a cpu label.' },
        keyLabel: { type: 'string', pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$', default: 'key' },
        keyNames: { type: 'object', additionalProperties: { type: 'string' }, description: 'Label values for keys (integer keys written as decimal strings).' },
      },
    },
  },
};

/** Where a value broke the schema, and how. */
export interface SchemaViolation {
  /** JSON path (`programs[0].xdp.mode`). */
  readonly path: string;
  /** What is wrong. */
  readonly message: string;
}

function typeOf(v: unknown): SchemaType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v as SchemaType;
}

function resolve(root: SchemaNode, node: SchemaNode): SchemaNode {
  if (!node.$ref) return node;
  const m = /^#\/\$defs\/(.+)$/.exec(node.$ref);
  const target = m ? root.$defs?.[m[1] as string] : undefined;
  if (!target) throw new Error(`schema: unresolved $ref ${node.$ref}`);
  return target;
}

const join = (path: string, key: string | number): string => (typeof key === 'number' ? `${path}[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key)}]`);

/**
 * Checks `value` against `schema` (type, properties, required, additionalProperties, items,
 * enum, minimum/maximum, minLength, minItems, pattern, local `$ref`s). Returns the first
 * violation in document order, or undefined when the value conforms.
 */
export function validateSchema(schema: SchemaNode, value: unknown, root: SchemaNode = schema, path = ''): SchemaViolation | undefined {
  const node = resolve(root, schema);
  const t = typeOf(value);
  if (node.type !== undefined) {
    const types = typeof node.type === 'string' ? [node.type] : node.type;
    const ok = types.includes(t) || (t === 'integer' && types.includes('number'));
    if (!ok) return { path, message: `must be ${types.map((x) => (x === 'object' ? 'an object' : x === 'array' ? 'an array' : x === 'integer' ? 'an integer' : `a ${x}`)).join(' or ')}, got ${t === 'object' ? 'an object' : t === 'array' ? 'an array' : JSON.stringify(value)}` };
  }
  if (node.enum && !node.enum.includes(value as string)) return { path, message: `must be one of ${node.enum.join(', ')}, got ${JSON.stringify(value)}` };
  if (typeof value === 'number') {
    if (node.minimum !== undefined && value < node.minimum) return { path, message: `must be >= ${node.minimum}, got ${value}` };
    if (node.maximum !== undefined && value > node.maximum) return { path, message: `must be <= ${node.maximum}, got ${value}` };
  }
  if (typeof value === 'string') {
    if (node.minLength !== undefined && value.length < node.minLength) return { path, message: value.length === 0 ? 'must not be empty' : `must have at least ${node.minLength} characters` };
    if (node.pattern !== undefined && !new RegExp(node.pattern).test(value)) return { path, message: `${JSON.stringify(value)} does not match ${node.pattern}` };
  }
  if (Array.isArray(value)) {
    if (node.minItems !== undefined && value.length < node.minItems) return { path, message: `needs at least ${node.minItems} items` };
    if (node.items) {
      for (let i = 0; i < value.length; i++) {
        const v = validateSchema(node.items, value[i], root, join(path, i));
        if (v) return v;
      }
    }
  }
  if (t === 'object') {
    const obj = value as Record<string, unknown>;
    for (const key of node.required ?? []) if (!(key in obj)) return { path, message: `missing required key "${key}"` };
    for (const [key, v] of Object.entries(obj)) {
      const prop = node.properties?.[key];
      if (prop) {
        const bad = validateSchema(prop, v, root, join(path, key));
        if (bad) return bad;
      } else if (node.additionalProperties === false) {
        const known = Object.keys(node.properties ?? {});
        return { path: join(path, key), message: `unknown key${known.length ? ` (expected one of ${known.join(', ')})` : ''}` };
      } else if (typeof node.additionalProperties === 'object') {
        const bad = validateSchema(node.additionalProperties, v, root, join(path, key));
        if (bad) return bad;
      }
    }
  }
  return undefined;
}
