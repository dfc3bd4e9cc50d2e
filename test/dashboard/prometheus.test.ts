// Prometheus text format 0.0.4: names, escaping, values, merging and duplicates, read back by our parser and by promtool.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { ExpositionParseError, parseExposition } from '../../src/dashboard/exposition-parse.js';
import { snapshotFamilies } from '../../src/dashboard/families.js';
import type { Snapshot } from '../../src/dashboard/metrics.js';
import {
  ConflictingFamilyError,
  DuplicateSeriesError,
  escapeHelp,
  escapeLabelValue,
  formatSampleValue,
  renderExposition,
  sanitizeLabelName,
  sanitizeMetricName,
  type MetricFamily,
} from '../../src/dashboard/prometheus.js';

test('metric and label names are sanitised to the allowed alphabets', () => {
  assert.equal(sanitizeMetricName('xdp.stats-map'), 'xdp_stats_map');
  assert.equal(sanitizeMetricName('1m:rate'), '_1m:rate');
  assert.equal(sanitizeMetricName('ok_name:sub'), 'ok_name:sub');
  assert.equal(sanitizeMetricName('é'), '_');
  assert.equal(sanitizeLabelName('a:b'), 'a_b');
  assert.equal(sanitizeLabelName('__reserved'), '_reserved');
  assert.equal(sanitizeLabelName('9lives'), '_9lives');
  assert.equal(sanitizeLabelName(''), '_');
});

test('label values escape backslash, double quote and newline, and nothing else', () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  assert.equal(escapeLabelValue('tab\there {x}=,'), 'tab\there {x}=,');
  assert.equal(escapeHelp('line1\nback\\slash "q"'), 'line1\\nback\\\\slash "q"');
});

test('values: integers exact (u64 past 2^53), floats shortest, NaN / +Inf / -Inf', () => {
  assert.equal(formatSampleValue(18446744073709551615n), '18446744073709551615');
  assert.equal(formatSampleValue(1.5e-7), '1.5e-7');
  assert.equal(formatSampleValue(0.1), '0.1');
  assert.equal(formatSampleValue(-0), '0');
  assert.equal(formatSampleValue(NaN), 'NaN');
  assert.equal(formatSampleValue(Infinity), '+Inf');
  assert.equal(formatSampleValue(-Infinity), '-Inf');
});

const tricky: MetricFamily[] = [
  {
    name: 'bpfkit_test_total',
    type: 'counter',
    help: 'A help with a \\ backslash\nand a newline',
    samples: [
      { labels: { key: 'a"b', field: 'x\\y' }, value: 1n },
      { labels: { key: 'line\nbreak', 'bad-name': 'v' }, value: 2 },
      { labels: { key: '{"proto":6,"dport":53}' }, value: 18446744073709551615n },
    ],
  },
  { name: 'bpfkit_ratio', type: 'gauge', help: 'plain', samples: [{ labels: {}, value: 0.25 }] },
  { name: 'bpfkit_test_total', type: 'counter', help: 'A help with a \\ backslash\nand a newline', samples: [{ labels: { key: 'merged' }, value: 3 }] },
  { name: 'bpfkit_empty', type: 'untyped', help: 'no samples', samples: [] },
];

test('renders exactly: HELP, TYPE, one sample per line, families merged, final newline', () => {
  const text = renderExposition(tricky);
  assert.equal(
    text,
    [
      '# HELP bpfkit_test_total A help with a \\\\ backslash\\nand a newline',
      '# TYPE bpfkit_test_total counter',
      'bpfkit_test_total{key="a\\"b",field="x\\\\y"} 1',
      'bpfkit_test_total{key="line\\nbreak",bad_name="v"} 2',
      'bpfkit_test_total{key="{\\"proto\\":6,\\"dport\\":53}"} 18446744073709551615',
      'bpfkit_test_total{key="merged"} 3',
      '# HELP bpfkit_ratio plain',
      '# TYPE bpfkit_ratio gauge',
      'bpfkit_ratio 0.25',
      '# HELP bpfkit_empty no samples',
      '# TYPE bpfkit_empty untyped',
      '',
    ].join('\n'),
  );
  assert.equal(renderExposition([]), '');
});

test('our parser reads the rendering back: labels unescaped, values, help', () => {
  const parsed = parseExposition(renderExposition(tricky));
  assert.deepEqual(
    parsed.map((f) => [f.name, f.type, f.samples.length]),
    [
      ['bpfkit_test_total', 'counter', 4],
      ['bpfkit_ratio', 'gauge', 1],
      ['bpfkit_empty', 'untyped', 0],
    ],
  );
  const t = parsed[0]!;
  assert.equal(t.help, 'A help with a \\ backslash\nand a newline');
  assert.deepEqual(t.samples[0]!.labels, { key: 'a"b', field: 'x\\y' });
  assert.deepEqual(t.samples[1]!.labels, { key: 'line\nbreak', bad_name: 'v' });
  assert.deepEqual(t.samples[2]!.labels, { key: '{"proto":6,"dport":53}' });
  assert.equal(t.samples[2]!.raw, '18446744073709551615');
});

test('duplicate series are refused, whatever the label order; conflicting families too', () => {
  assert.throws(
    () => renderExposition([{ name: 'm', type: 'gauge', help: 'h', samples: [{ labels: { a: '1', b: '2' }, value: 1 }, { labels: { b: '2', a: '1' }, value: 2 }] }]),
    (e: unknown) => e instanceof DuplicateSeriesError && e.code === 'ERR_DUPLICATE_SERIES' && e.metric === 'm',
  );
  // Two label names that sanitise alike.
  assert.throws(() => renderExposition([{ name: 'm', type: 'gauge', help: 'h', samples: [{ labels: { 'a-b': '1', a_b: '2' }, value: 1 }] }]), ConflictingFamilyError);
  assert.throws(
    () =>
      renderExposition([
        { name: 'm', type: 'gauge', help: 'h', samples: [] },
        { name: 'm', type: 'counter', help: 'h', samples: [] },
      ]),
    /declared as gauge and as counter/,
  );
  // Two names that sanitise alike merge into one family; their series must still differ.
  assert.throws(
    () =>
      renderExposition([
        { name: 'a.b', type: 'gauge', help: 'h', samples: [{ labels: {}, value: 1 }] },
        { name: 'a_b', type: 'gauge', help: 'h', samples: [{ labels: {}, value: 2 }] },
      ]),
    DuplicateSeriesError,
  );
});

test('the parser refuses what the format forbids', () => {
  const bad: [string, RegExp][] = [
    ['m 1', /does not end with a newline/],
    ['m{a="x} 1\n', /unterminated value/],
    ['m{a="\\t"} 1\n', /invalid escape/],
    ['m{__a="x"} 1\n', /reserved label/],
    ['m{a="x",a="y"} 1\n', /label a twice/],
    ['m one\n', /invalid value/],
    ['m 1\nm 2\n', /duplicate series/],
    ['m 1\nn 1\nm{a="b"} 2\n', /not together/],
    ['# TYPE m gauge\n# TYPE m gauge\n', /second TYPE/],
    ['# TYPE m wrong\n', /unknown type/],
    ['1m 1\n', /invalid metric name/],
    ['m 1 2 3\n', /trailing text/],
  ];
  for (const [text, why] of bad) assert.throws(() => parseExposition(text), (e: unknown) => e instanceof ExpositionParseError && why.test(e.message), text);
  assert.deepEqual(parseExposition('m{a="1"} +Inf 1700000000\n')[0]!.samples[0]!.value, Infinity);
});

const snapshot: Snapshot = {
  time: 0,
  durationMs: 1.5,
  statsEnabled: true,
  statsSource: 'fd',
  cpus: 2,
  programs: [{ id: 7, name: 'xdp_stats_prog', type: 'xdp', tag: 'ab45a1622440f658', runCount: 10, runTimeNs: 2500, bytesXlated: 232, bytesJited: 143, bytesMemlock: 4096, loadedAt: 1700000000, verifiedInsns: 12, mapIds: [3] }],
  maps: [{ id: 3, name: 'xdp_stats_map', type: 'percpu_array', flags: 0, keySize: 4, valueSize: 16, maxEntries: 5, bytesMemlock: 512 }],
  values: [
    {
      id: 3,
      name: 'xdp_stats_map',
      type: 'percpu_array',
      perCpu: true,
      cpus: 2,
      keyFormat: 'btf',
      fields: ['rx_packets', 'rx_bytes'],
      entries: 5,
      rows: [{ key: '2', values: [10n, 640n], perCpu: [[0n, 10n], [0n, 640n]] }],
      droppedSeries: 24,
    },
  ],
  selectors: { 'name xdp_stats_map': 1 },
};

test('a snapshot renders to valid families: per-CPU and summed values, labels as documented', () => {
  const text = renderExposition(snapshotFamilies(snapshot));
  const fams = new Map(parseExposition(text).map((f) => [f.name, f]));
  assert.deepEqual(fams.get('bpfkit_map_value_total')!.samples.map((s) => [s.labels, s.raw]), [
    [{ map_id: '3', map: 'xdp_stats_map', key: '2', field: 'rx_packets' }, '10'],
    [{ map_id: '3', map: 'xdp_stats_map', key: '2', field: 'rx_bytes' }, '640'],
  ]);
  assert.deepEqual(
    fams.get('bpfkit_map_value_percpu_total')!.samples.map((s) => `${s.labels['field']}@${s.labels['cpu']}=${s.raw}`),
    ['rx_packets@0=0', 'rx_packets@1=10', 'rx_bytes@0=0', 'rx_bytes@1=640'],
  );
  assert.equal(fams.get('bpfkit_prog_run_count_total')!.samples[0]!.raw, '10');
  assert.equal(fams.get('bpfkit_prog_run_time_seconds_total')!.samples[0]!.value, 2.5e-6);
  assert.deepEqual(fams.get('bpfkit_prog_info')!.samples[0]!.labels, { prog_id: '7', prog: 'xdp_stats_prog', type: 'xdp', tag: 'ab45a1622440f658' });
  assert.equal(fams.get('bpfkit_map_series_dropped')!.samples[0]!.value, 24);
  assert.equal(fams.get('bpfkit_map_selector_matches')!.samples[0]!.labels['selector'], 'name xdp_stats_map');
  assert.equal(fams.get('bpfkit_bpf_stats_enabled')!.samples[0]!.value, 1);
});

const promtool = spawnSync('promtool', ['--version']).status === 0;

test('promtool check metrics accepts the output (Prometheus\'s own parser and linter)', { skip: promtool ? false : 'promtool not installed (Debian package prometheus)' }, () => {
  for (const text of [renderExposition(tricky.filter((f) => f.name !== 'bpfkit_empty')), renderExposition(snapshotFamilies(snapshot))]) {
    // Exit status 0: parsed and no lint problem (non-zero prints the problems).
    const out = execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(out.trim(), '');
  }
});
