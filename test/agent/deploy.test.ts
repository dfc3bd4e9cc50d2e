// deploy/: the kustomize bases rendered (own renderer, checked against `kubectl kustomize` where
// installed), every object validated offline against the Kubernetes OpenAPI schemas
// (kubernetes-models), the DaemonSet's capabilities and mounts, the ConfigMap's agent config, and
// the Grafana dashboard's queries against the metrics the agent exports.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { parseAgentConfig } from '../../src/agent/config.js';
import { agentFamilies } from '../../src/agent/metrics.js';
import { repoRoot } from '../support/fixtures.js';

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> } } & Record<string, unknown>;
type Kustomization = {
  resources?: string[];
  namespace?: string;
  labels?: { pairs: Record<string, string> }[];
  configMapGenerator?: { name: string; files: string[] }[];
  generatorOptions?: { disableNameSuffixHash?: boolean };
};

const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding']);

/**
 * The subset of kustomize the bases use: resources (files and directories), namespace, labels
 * (metadata only), configMapGenerator from files without a hash suffix.
 */
function render(dir: string): K8sObject[] {
  const k = parseYaml(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
  const out: K8sObject[] = [];
  for (const r of k.resources ?? []) {
    const p = join(dir, r);
    if (statSync(p).isDirectory()) out.push(...render(p));
    else out.push(...parseAllDocuments(readFileSync(p, 'utf8')).map((d) => d.toJSON() as K8sObject));
  }
  for (const g of k.configMapGenerator ?? []) {
    assert.equal(k.generatorOptions?.disableNameSuffixHash, true, 'the renderer does not do name hashes');
    out.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: g.name }, data: Object.fromEntries(g.files.map((f) => [basename(f), readFileSync(join(dir, f), 'utf8')])) });
  }
  for (const o of out) {
    if (k.namespace && !CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
    for (const l of k.labels ?? []) o.metadata.labels = { ...o.metadata.labels, ...l.pairs };
  }
  return out;
}

const BASE = join(repoRoot, 'deploy/kubernetes/base');
const OPERATOR = join(repoRoot, 'deploy/kubernetes/prometheus-operator');
const byKey = (objs: K8sObject[]) => new Map(objs.map((o) => [`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, o]));

const MODELS: Record<string, (o: K8sObject) => { validate(): void }> = {
  'v1/Namespace': (o) => new Namespace(o as never),
  'v1/ServiceAccount': (o) => new ServiceAccount(o as never),
  'v1/ConfigMap': (o) => new ConfigMap(o as never),
  'v1/Service': (o) => new Service(o as never),
  'apps/v1/DaemonSet': (o) => new DaemonSet(o as never),
  'monitoring.coreos.com/v1/ServiceMonitor': (o) => new ServiceMonitor(o as never),
};

for (const dir of [BASE, OPERATOR]) {
  const name = dir.slice(repoRoot.length + 1);
  test(`${name}: every object validates against its Kubernetes OpenAPI schema`, () => {
    const objs = render(dir);
    assert.ok(objs.length >= (dir === BASE ? 5 : 6));
    for (const o of objs) {
      const model = MODELS[`${o.apiVersion}/${o.kind}`];
      assert.ok(model, `no schema for ${o.apiVersion} ${o.kind}`);
      assert.doesNotThrow(() => model(o).validate(), `${o.kind}/${o.metadata.name}`);
    }
  });

  test(`${name}: the renderer agrees with kubectl kustomize`, (t) => {
    if (!existsSync('/usr/bin/kubectl')) {
      t.skip('kubectl is not installed: only the own renderer ran');
      return;
    }
    const theirs = parseAllDocuments(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' })).map((d) => d.toJSON() as K8sObject);
    assert.deepEqual(byKey(render(dir)), byKey(theirs));
  });
}

test('the schemas do reject: a DaemonSet with hostNetwork "yes" and a Service port that is a string', () => {
  const ds = render(BASE).find((o) => o.kind === 'DaemonSet')!;
  const broken = structuredClone(ds) as { spec: { template: { spec: Record<string, unknown> } } } & K8sObject;
  broken.spec.template.spec['hostNetwork'] = 'yes';
  assert.throws(() => new DaemonSet(broken as never).validate(), /hostNetwork must be boolean/);
  const svc = structuredClone(render(BASE).find((o) => o.kind === 'Service')!) as K8sObject & { spec: { ports: { port: unknown }[] } };
  svc.spec.ports[0]!.port = 'nine';
  assert.throws(() => new Service(svc as never).validate(), /port must be integer/);
});

test('the DaemonSet: exactly the capabilities and host mounts it needs, host network, probes on the agent\'s endpoints, the config where the args say', () => {
  const objs = render(BASE);
  const ds = objs.find((o) => o.kind === 'DaemonSet') as unknown as {
    spec: { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: Record<string, unknown> & { containers: Record<string, unknown>[]; volumes: { name: string; hostPath?: { path: string }; configMap?: { name: string } }[] } } };
  };
  const pod = ds.spec.template.spec;
  assert.equal(pod['hostNetwork'], true);
  assert.equal(pod['automountServiceAccountToken'], false);
  const c = pod.containers[0] as { args: string[]; securityContext: { capabilities: { add: string[]; drop: string[] }; allowPrivilegeEscalation: boolean; readOnlyRootFilesystem: boolean; privileged?: boolean }; volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[]; ports: { name: string; containerPort: number }[]; readinessProbe: { httpGet: { path: string; port: string } }; livenessProbe: { httpGet: { path: string } } };
  assert.deepEqual([...c.securityContext.capabilities.add].sort(), ['BPF', 'NET_ADMIN', 'PERFMON']);
  assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
  assert.equal(c.securityContext.privileged, undefined);
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  const hostPaths = pod.volumes.filter((v) => v.hostPath).map((v) => v.hostPath!.path).sort();
  assert.deepEqual(hostPaths, ['/sys/fs/bpf', '/sys/kernel/btf']);
  const mounts = new Map(c.volumeMounts.map((m) => [m.mountPath, m]));
  assert.equal(mounts.get('/sys/kernel/btf')?.readOnly, true);
  assert.ok(mounts.has('/sys/fs/bpf'));
  assert.equal(c.readinessProbe.httpGet.path, '/readyz');
  assert.equal(c.livenessProbe.httpGet.path, '/healthz');
  assert.equal(c.readinessProbe.httpGet.port, 'metrics');
  // The config file the args name is the ConfigMap's key, mounted where the args look.
  const cfgFile = c.args[c.args.indexOf('--config') + 1]!;
  const cfgVolume = pod.volumes.find((v) => v.configMap)!;
  const cfgMount = c.volumeMounts.find((m) => m.name === cfgVolume.name)!;
  const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === cfgVolume.configMap!.name) as K8sObject & { data: Record<string, string> };
  assert.ok(cm, 'the DaemonSet mounts a ConfigMap the base does not have');
  assert.ok(cfgFile.startsWith(`${cfgMount.mountPath}/`));
  const config = parseAgentConfig(cm.data[cfgFile.slice(cfgMount.mountPath.length + 1)]!, { baseDir: '/etc/bpfkit' });
  assert.equal(config.listen.port, c.ports.find((p) => p.name === 'metrics')!.containerPort);
  assert.ok(config.bpffs.startsWith('/sys/fs/bpf/'));
  // The Service finds the pods, on the named port, with the scrape annotations.
  const svc = objs.find((o) => o.kind === 'Service') as K8sObject & { spec: { selector: Record<string, string>; ports: { name: string; targetPort: string; port: number }[] } };
  for (const [k, v] of Object.entries(svc.spec.selector)) assert.equal(ds.spec.template.metadata.labels[k], v);
  assert.equal(svc.spec.ports[0]!.targetPort, 'metrics');
  assert.equal(svc.metadata.annotations?.['prometheus.io/scrape'], 'true');
  assert.equal(svc.metadata.annotations?.['prometheus.io/port'], String(svc.spec.ports[0]!.port));
  const sm = render(OPERATOR).find((o) => o.kind === 'ServiceMonitor') as K8sObject & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string }[] } };
  for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) assert.equal(svc.metadata.labels?.[k], v);
  assert.equal(sm.spec.endpoints[0]!.port, svc.spec.ports[0]!.name);
});

test('the Grafana dashboard queries only metrics the agent exports with the base config', () => {
  const dash = JSON.parse(readFileSync(join(repoRoot, 'deploy/grafana/bpfkit-agent-dashboard.json'), 'utf8')) as { panels: { targets: { expr: string }[] }[] };
  const cm = render(BASE).find((o) => o.kind === 'ConfigMap') as K8sObject & { data: Record<string, string> };
  const config = parseAgentConfig(cm.data['agent.yaml']!, { baseDir: '/etc/bpfkit' });
  const exported = new Set([...config.metrics.map((m) => m.name), ...agentFamilies({ entries: [], applies: { ok: 0, refused: 0, failed: 0 }, configInSync: true, lastApplySeconds: 0 }, 'n').map((f) => f.name)]);
  const used = new Set(dash.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/bpfkit_[a-z_]+/g) ?? [])));
  assert.ok(used.size >= 5);
  for (const m of used) assert.ok(exported.has(m), `the dashboard queries ${m}, which the agent does not export`);
  const keyLabel = config.metrics[0]!.keyLabel;
  for (const p of dash.panels) for (const t of p.targets) if (t.expr.includes('xdp_stats_map')) assert.match(t.expr, new RegExp(`\\b${keyLabel}\\b|field=`));
});

test('the Dockerfile: two node:20-slim stages, built dist and production modules only, a capability-bearing non-root user, the agent as default command', () => {
  const text = readFileSync(join(repoRoot, 'deploy/Dockerfile'), 'utf8');
  const froms = [...text.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
  assert.deepEqual(froms, ['node:20-slim', 'node:20-slim']);
  assert.match(text, /npm prune --omit=dev/);
  assert.match(text, /COPY --from=build \/src\/dist/);
  assert.match(text, /setcap cap_bpf,cap_net_admin,cap_perfmon\+ep/);
  assert.match(text, /^USER 10001$/m);
  assert.match(text, /^CMD \["agent", "--config", "\/etc\/bpfkit\/agent\.yaml"\]$/m);
  // Everything COPY takes from the repository exists.
  for (const m of text.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) for (const src of m[1]!.split(/\s+/)) assert.ok(existsSync(join(repoRoot, src)), src);
});
