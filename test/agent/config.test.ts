// The agent config: the issue's JSON shape and the same in YAML, the schema file in sync, and every refusal naming its key and entry.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAgentConfig } from '../../src/agent/config.js';
import { encodeConfigBytes, keyLabel, ConfigBytesError } from '../../src/agent/bytes.js';
import { AgentConfigError } from '../../src/agent/errors.js';
import { AGENT_CONFIG_SCHEMA, validateSchema } from '../../src/agent/schema.js';
import { repoRoot } from '../support/fixtures.js';

const ISSUE_JSON = `{"bpffs": "/sys/fs/bpf/bpfkit-agent", "listen": "127.0.0.1:9477", "programs": [{"object":
  "/path/xdp_stats.o", "program": "xdp_stats_prog", "xdp": {"interface": "eth1", "mode": "native"}}],
  "metrics": [{"map": "xdp_stats_map"}]}`;

const ISSUE_YAML = `
bpffs: /sys/fs/bpf/bpfkit-agent
listen: 127.0.0.1:9477
programs:
  - object: /path/xdp_stats.o
    program: xdp_stats_prog
    xdp: { interface: eth1, mode: native }
metrics:
  - map: xdp_stats_map
`;

test('the issue\'s JSON shape parses, and the same document in YAML gives the same config', () => {
  const j = parseAgentConfig(ISSUE_JSON);
  const y = parseAgentConfig(ISSUE_YAML);
  assert.deepEqual(y, j);
  assert.equal(j.bpffs, '/sys/fs/bpf/bpfkit-agent');
  assert.deepEqual(j.listen, { host: '127.0.0.1', port: 9477 });
  assert.equal(j.onExit, 'keep');
  assert.equal(j.programs.length, 1);
  const p = j.programs[0]!;
  assert.equal(p.name, 'xdp_stats_prog@eth1');
  assert.deepEqual(p.attach, { kind: 'xdp', interface: 'eth1', mode: 'native', whenPresent: false });
  assert.equal(j.metrics[0]!.name, 'bpfkit_agent_map_xdp_stats_map_total');
  assert.equal(j.metrics[0]!.type, 'counter');
  assert.ok(j.objects.has('/path/xdp_stats.o'));
});

test('several XDP entries on one interface are accepted (they share a dispatcher), with their priorities', () => {
  const c = parseAgentConfig(base(`[${xdp('a', ', "priority": 10')}, {"name": "second", "object": "/y.o", "program": "q", "xdp": {"interface": "a", "priority": 20}}]`));
  assert.deepEqual(c.programs.map((p) => [p.name, p.attach.kind === 'xdp' ? p.attach.priority : -1]), [['p@a', 10], ['second', 20]]);
});

test('docs/agent.schema.json is the schema the agent validates with', () => {
  const file = JSON.parse(readFileSync(join(repoRoot, 'docs/agent.schema.json'), 'utf8')) as unknown;
  assert.deepEqual(file, JSON.parse(JSON.stringify(AGENT_CONFIG_SCHEMA)));
});

test('relative object and seed-file paths resolve against the config file; seeds from a file join the inline ones', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-agent-cfg-'));
  try {
    writeFileSync(join(dir, 'seeds.yaml'), '- { key: 1, value: "01 00 00 00 00 00 00 00" }\n- { key: [2, 0, 0, 0], value: 7 }\n');
    const cfgPath = join(dir, 'agent.yaml');
    const text = `programs:\n  - { object: obj/a.o, program: p, tc: { interface: eth0, direction: egress } }\nobjects:\n  - path: obj/a.o\n    globals: { limit: 5 }\n    maps:\n      - map: allow\n        entries: [{ key: 0, value: 1 }]\n        file: seeds.yaml\n`;
    writeFileSync(cfgPath, text);
    const c = parseAgentConfig(text, { file: cfgPath });
    const o = c.objects.get(join(dir, 'obj/a.o'));
    assert.ok(o);
    assert.deepEqual(o.globals, { limit: 5 });
    assert.equal(o.seeds[0]!.entries.length, 3);
    assert.equal(o.seeds[0]!.entries[2]!.path, `${join(dir, 'seeds.yaml')}[1]`);
    assert.equal(c.programs[0]!.name, 'p@egress-eth0');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const base = (programs: string, extra = ''): string => `{"programs": ${programs}${extra}}`;
const xdp = (iface = 'eth1', more = ''): string => `{"object": "/x.o", "program": "p", "xdp": {"interface": "${iface}"${more}}}`;

const refusals: [string, string, string, string | undefined, RegExp][] = [
  ['an unknown top-level key', '{"programs": [], "listn": "x"}', 'listn', undefined, /unknown key/],
  ['no programs', '{"bpffs": "/sys/fs/bpf/x"}', '', undefined, /missing required key "programs"/],
  ['a bad XDP mode', base(`[${xdp('eth1', ', "mode": "fast"')}]`), 'programs[0].xdp.mode', 'p@eth1', /must be one of skb, native, hw/],
  ['an interface name too long', base(`[${xdp('averyveryverylongname')}]`), 'programs[0].xdp.interface', 'p@averyveryverylongname', /does not match/],
  ['no attach point', base('[{"object": "/x.o", "program": "p"}]'), 'programs[0]', 'p', /needs an attach point/],
  ['two attach points', base('[{"object": "/x.o", "program": "p", "xdp": {"interface": "a"}, "tc": {"interface": "a", "direction": "ingress"}}]'), 'programs[0]', 'p@a', /several attach points/],
  ['a duplicate entry name', base(`[${xdp('a')}, {"object": "/y.o", "program": "p", "xdp": {"interface": "a"}}]`), 'programs[1]', 'p@a', /used twice/],
  ['two XDP entries on one interface asking for different modes', base(`[${xdp('a', ', "mode": "skb"')}, {"name": "second", "object": "/y.o", "program": "q", "xdp": {"interface": "a", "mode": "native"}}]`), 'programs[1].xdp.mode', 'second', /share one dispatcher and must ask for the same mode \("p@a" asks skb\)/],
  ['an XDP priority out of range', base(`[${xdp('a', ', "priority": 5000')}]`), 'programs[0].xdp.priority', 'p@a', /must be <= 1000/],
  ['a TC entry without direction', base('[{"object": "/x.o", "program": "p", "tc": {"interface": "a"}}]'), 'programs[0].tc', 'p@a', /missing required key "direction"/],
  ['a metric of an unknown type', base(`[${xdp()}]`, ', "metrics": [{"map": "m", "type": "histogram"}]'), 'metrics[0].type', 'metrics[0] (m)', /must be one of counter, gauge/],
  ['a seed without entries or file', base(`[${xdp()}]`, ', "objects": [{"path": "/x.o", "maps": [{"map": "m"}]}]'), 'objects[0].maps[0]', '/x.o', /needs "entries" or "file"/],
  ['a seed entry without a value', base(`[${xdp()}]`, ', "objects": [{"path": "/x.o", "maps": [{"map": "m", "entries": [{"key": 1}]}]}]'), 'objects[0].maps[0].entries[0]', '/x.o', /missing required key "value"/],
  ['an object no program uses', base(`[${xdp()}]`, ', "objects": [{"path": "/other.o"}]'), 'objects[0].path', '/other.o', /no program entry uses/],
  ['onExit other than keep/detach', base(`[${xdp()}]`, ', "onExit": "drop"'), 'onExit', undefined, /must be one of keep, detach/],
  ['a port out of range', base(`[${xdp()}]`, ', "listen": "127.0.0.1:70000"'), 'listen', undefined, /out of range/],
  ['two metrics with one name', base(`[${xdp()}]`, ', "metrics": [{"map": "a", "name": "x_total"}, {"map": "b", "name": "x"}]'), 'metrics[1].name', 'metrics[1]', /also used by metrics\[0\]/],
];

for (const [what, text, path, entry, message] of refusals) {
  test(`refused: ${what} (ERR_AGENT_CONFIG naming ${path || 'the document'})`, () => {
    assert.throws(
      () => parseAgentConfig(text, { file: 'agent.json' }),
      (err: unknown) => {
        assert.ok(err instanceof AgentConfigError, String(err));
        assert.equal(err.code, 'ERR_AGENT_CONFIG');
        assert.equal(err.path, path);
        assert.equal(err.entry, entry);
        assert.match(err.message, message);
        assert.ok(err.message.startsWith('agent.json: '));
        return true;
      },
    );
  });
}

test('refused: text that is neither JSON nor YAML, and YAML with a duplicate key', () => {
  assert.throws(() => parseAgentConfig('{"programs": [', { file: 'a.json' }), /a\.json: config: not valid JSON/);
  assert.throws(() => parseAgentConfig('programs: []\nprograms: []\n', { file: 'a.yaml' }), /a\.yaml: config: not valid YAML: .*[Mm]ap keys must be unique/);
});

test('the validator walks $refs and reports the first violation in document order', () => {
  const v = validateSchema(AGENT_CONFIG_SCHEMA, { programs: [{ object: '/x.o', program: 'p', xdp: { interface: 'a', mode: 'x' } }, { object: 3 }] });
  assert.deepEqual(v, { path: 'programs[0].xdp.mode', message: 'must be one of skb, native, hw, generic, driver, offload, got "x"' });
  assert.equal(validateSchema(AGENT_CONFIG_SCHEMA, JSON.parse(ISSUE_JSON)), undefined);
});

test('config bytes: integers little-endian, hex strings, byte arrays; sizes checked', () => {
  assert.deepEqual([...encodeConfigBytes(258, 4, undefined, 'k')], [2, 1, 0, 0]);
  assert.deepEqual([...encodeConfigBytes(-1, 2, undefined, 'k')], [255, 255]);
  assert.deepEqual([...encodeConfigBytes('0a 00 00 01', 4, undefined, 'k')], [10, 0, 0, 1]);
  assert.deepEqual([...encodeConfigBytes('hex 0a000001', 4, undefined, 'k')], [10, 0, 0, 1]);
  assert.deepEqual([...encodeConfigBytes([1, 2], 2, undefined, 'k')], [1, 2]);
  assert.throws(() => encodeConfigBytes('0a 00', 4, undefined, 'objects[0].maps[0].entries[1].key'), (e: unknown) => e instanceof ConfigBytesError && /entries\[1\]\.key: 2 bytes given, the map needs 4/.test(e.message));
  assert.throws(() => encodeConfigBytes(256, 1, undefined, 'v'), /256 does not fit in 1 bytes/);
  assert.throws(() => encodeConfigBytes(1, 16, undefined, 'v'), /cannot fill 16 bytes/);
  assert.throws(() => encodeConfigBytes({ a: 1 }, 4, undefined, 'v'), /needs BTF/);
  assert.equal(keyLabel(Uint8Array.of(2, 0, 0, 0), undefined), '2');
  assert.equal(keyLabel(new Uint8Array(12).fill(1), undefined), '01 01 01 01 01 01 01 01 01 01 01 01');
});
