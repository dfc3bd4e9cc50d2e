// The agent's /metrics: exported maps (counter or gauge, per-CPU summed or per CPU) and the agent's own state, as Prometheus families.
import { btfNumericFields, readNumericFields, sizedNumericFields, addValues, type NumericField } from '../dashboard/map-values.js';
import type { MetricFamily, Sample, SampleValue } from '../dashboard/prometheus.js';
import type { MetricEntry } from './config.js';
import type { EntryState } from './commit.js';
import type { PreparedObject } from './prepare.js';
import { keyLabel } from './bytes.js';
import type { KernelMap } from '../kernel/kernel-map.js';

/** What the agent knows of itself for its own metrics. */
export interface AgentStatus {
  readonly entries: readonly EntryState[];
  /** Applies so far, by result. */
  readonly applies: Readonly<Record<'ok' | 'refused' | 'failed', number>>;
  /** 1 when the running config is the file's current one. */
  readonly configInSync: boolean;
  /** Unix time of the last successful apply. */
  readonly lastApplySeconds: number;
}

/** The numeric fields of a map's value: from BTF, else words by size. */
function fieldsOf(obj: PreparedObject, map: string, valueSize: number): NumericField[] {
  const spec = obj.spec.maps.find((m) => m.name === map);
  if (obj.spec.btf && spec?.valueTypeId) {
    const f = btfNumericFields(obj.spec.btf, spec.valueTypeId);
    if (f.length > 0) return f;
  }
  return sizedNumericFields(valueSize) ?? [];
}

/** The family of one exported map (labels: the key label, `field` when the value has several, `cpu` with perCpu: label). */
export function mapFamily(metric: MetricEntry, obj: PreparedObject, node: string | undefined, live?: KernelMap): MetricFamily {
  const map = live ?? obj.kobj.map(metric.map);
  const fields = fieldsOf(obj, metric.map, map.valueSize);
  const keyLayout = obj.schema?.maps.find((m) => m.name === metric.map)?.key;
  const samples: Sample[] = [];
  const base: Record<string, string> = node ? { node } : {};
  for (const [key, values] of map.dump()) {
    const k = keyLabel(key, keyLayout);
    const labels = { ...base, [metric.keyLabel]: metric.keyNames[k] ?? k };
    const per = values.map((v) => readNumericFields(v, fields));
    fields.forEach((f, i) => {
      const l = f.name === '' ? labels : { ...labels, field: f.name };
      if (map.perCpu && metric.perCpu === 'label') per.forEach((cpu, c) => samples.push({ labels: { ...l, cpu: String(c) }, value: cpu[i] as SampleValue }));
      else samples.push({ labels: l, value: per.reduce<SampleValue>((s, cpu) => addValues(s, cpu[i] as SampleValue), 0n) });
    });
  }
  return { name: metric.name, help: metric.help, type: metric.type, samples };
}

/** The agent's own families: deployed programs, applies, sync state. */
export function agentFamilies(status: AgentStatus, node: string | undefined): MetricFamily[] {
  const base: Record<string, string> = node ? { node } : {};
  const info: Sample[] = status.entries.map((e) => ({
    labels: { ...base, entry: e.name, program: e.program, attach: e.attach, status: e.status, prog_id: e.progId === undefined ? '' : String(e.progId), tag: e.tag ?? '' },
    value: 1,
  }));
  return [
    { name: 'bpfkit_agent_program_info', type: 'gauge', help: 'A program entry of the config (value 1), with its status, running program id and tag.', samples: info },
    {
      name: 'bpfkit_agent_programs',
      type: 'gauge',
      help: 'Program entries by status (attached, pending: waiting for an interface).',
      samples: (['attached', 'pending'] as const).map((s) => ({ labels: { ...base, status: s }, value: status.entries.filter((e) => e.status === s).length })),
    },
    {
      name: 'bpfkit_agent_applies_total',
      type: 'counter',
      help: 'Config applies by result: ok, refused (bad config, nothing changed), failed (commit error).',
      samples: (['ok', 'refused', 'failed'] as const).map((r) => ({ labels: { ...base, result: r }, value: status.applies[r] })),
    },
    { name: 'bpfkit_agent_config_in_sync', type: 'gauge', help: 'Whether the deployed state is the config file\'s current content (0 after a refused config).', samples: [{ labels: base, value: status.configInSync ? 1 : 0 }] },
    { name: 'bpfkit_agent_last_apply_timestamp_seconds', type: 'gauge', help: 'When the config was last applied successfully.', samples: [{ labels: base, value: status.lastApplySeconds }] },
  ];
}
