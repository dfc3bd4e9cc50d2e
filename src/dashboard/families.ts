// A snapshot as Prometheus metric families: the metric names and labels bpfkit exports (docs/dashboard.md lists them).
import { dropSamples } from './drops.js';
import type { Snapshot } from './metrics.js';
import type { MetricFamily, MetricType, Sample, SampleValue } from './prometheus.js';

/** The metric name prefix. */
export const METRIC_PREFIX = 'bpfkit_';

type Builder = (name: string, type: MetricType, help: string) => Sample[];

/**
 * The families of `snapshot`: programs (`bpfkit_prog_*`, labels `prog_id`, `prog`, `type`),
 * maps (`bpfkit_map_*`, labels `map_id`, `map`, `type`), selected maps' values
 * (`bpfkit_map_value_total` summed over CPUs and `bpfkit_map_value_percpu_total` per CPU,
 * labels `map_id`, `map`, `key`, `field`, and `cpu`), packet drops by reason
 * (`bpfkit_packet_drops_total`, label `reason`, from `bpfkit trace drops` counters), and the collector's own
 * (`bpfkit_bpf_stats_enabled`, `bpfkit_map_selector_matches`, `bpfkit_scrape_duration_seconds`).
 */
export function snapshotFamilies(snapshot: Snapshot): MetricFamily[] {
  const families: MetricFamily[] = [];
  const family: Builder = (name, type, help) => {
    const samples: Sample[] = [];
    families.push({ name: `${METRIC_PREFIX}${name}`, type, help, samples });
    return samples;
  };

  const progInfo = family('prog_info', 'gauge', 'A loaded BPF program (value 1), with its tag.');
  const runs = family('prog_run_count_total', 'counter', 'Runs of the program counted while run statistics were enabled (run_cnt).');
  const runTime = family('prog_run_time_seconds_total', 'counter', 'Time spent in the program while run statistics were enabled (run_time_ns), in seconds.');
  const xlated = family('prog_xlated_bytes', 'gauge', 'Size of the translated (xlated) instructions.');
  const jited = family('prog_jited_bytes', 'gauge', 'Size of the JIT-compiled code (0 when not JITed).');
  const progMem = family('prog_memlock_bytes', 'gauge', 'Memory charged to the program (fdinfo memlock).');
  const insns = family('prog_verified_insns', 'gauge', 'Instructions the verifier processed when loading the program.');
  const loaded = family('prog_load_time_seconds', 'gauge', 'When the program was loaded, seconds since the epoch.');
  for (const p of snapshot.programs) {
    const l = { prog_id: String(p.id), prog: p.name, type: p.type };
    progInfo.push({ labels: { ...l, tag: p.tag }, value: 1 });
    runs.push({ labels: l, value: p.runCount });
    runTime.push({ labels: l, value: p.runTimeNs / 1e9 });
    xlated.push({ labels: l, value: p.bytesXlated });
    jited.push({ labels: l, value: p.bytesJited });
    if (p.bytesMemlock !== undefined) progMem.push({ labels: l, value: p.bytesMemlock });
    insns.push({ labels: l, value: p.verifiedInsns });
    loaded.push({ labels: l, value: p.loadedAt });
  }

  const mapInfo = family('map_info', 'gauge', 'A BPF map (value 1), with its flags.');
  const maxEntries = family('map_max_entries', 'gauge', 'The map\'s max_entries.');
  const keyBytes = family('map_key_bytes', 'gauge', 'Key size of the map.');
  const valueBytes = family('map_value_bytes', 'gauge', 'Value size of the map (per CPU for per-CPU maps).');
  const mapMem = family('map_memlock_bytes', 'gauge', 'Memory charged to the map (fdinfo memlock).');
  for (const m of snapshot.maps) {
    const l = { map_id: String(m.id), map: m.name, type: m.type };
    mapInfo.push({ labels: { ...l, flags: `0x${m.flags.toString(16)}` }, value: 1 });
    maxEntries.push({ labels: l, value: m.maxEntries });
    keyBytes.push({ labels: l, value: m.keySize });
    valueBytes.push({ labels: l, value: m.valueSize });
    if (m.bytesMemlock !== undefined) mapMem.push({ labels: l, value: m.bytesMemlock });
  }

  const value = family('map_value_total', 'counter', 'A numeric field of a selected map\'s value per key; per-CPU maps: the sum over CPUs.');
  const perCpu = family('map_value_percpu_total', 'counter', 'A numeric field of a selected per-CPU map\'s value per key, on one CPU.');
  const entries = family('map_entries', 'gauge', 'Keys present in a selected map.');
  const dropped = family('map_series_dropped', 'gauge', 'Value series of a selected map left out of this scrape over the per-map series limit.');
  const failed = family('map_values_error', 'gauge', 'A selected map whose values could not be read in this scrape (1), with the reason.');
  for (const v of snapshot.values) {
    const l = { map_id: String(v.id), map: v.name };
    if (v.error !== undefined) {
      failed.push({ labels: { ...l, error: v.error }, value: 1 });
      continue;
    }
    entries.push({ labels: l, value: v.entries });
    dropped.push({ labels: l, value: v.droppedSeries });
    for (const row of v.rows) {
      v.fields.forEach((field, i) => {
        const labels: Record<string, string> = { ...l, key: row.key };
        if (field !== '') labels['field'] = field;
        value.push({ labels, value: row.values[i] as SampleValue });
        row.perCpu?.[i]?.forEach((x, cpu) => perCpu.push({ labels: { ...labels, cpu: String(cpu) }, value: x }));
      });
    }
  }

  family('packet_drops_total', 'counter', 'Packets the kernel dropped (skb:kfree_skb), by drop reason, counted by running or pinned `bpfkit trace drops`.').push(...dropSamples(snapshot.drops ?? []));
  family('bpf_stats_enabled', 'gauge', 'Whether program run statistics are known to be on (kernel.bpf_stats_enabled or a held BPF_ENABLE_STATS fd).').push({ labels: {}, value: snapshot.statsEnabled ? 1 : 0 });
  const sel = family('map_selector_matches', 'gauge', 'Maps matched by each map selector (0: the selected map is gone).');
  for (const [selector, n] of Object.entries(snapshot.selectors)) sel.push({ labels: { selector }, value: n });
  family('scrape_duration_seconds', 'gauge', 'How long collecting this snapshot took.').push({ labels: {}, value: Math.round(snapshot.durationMs * 1000) / 1e6 });
  return families;
}
