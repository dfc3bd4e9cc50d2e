// Benchmark: what one Prometheus scrape costs — MetricsCollector.collect() + rendering vs the bpftool calls a shell exporter would make.
// Run: node --import tsx bench/dashboard.bench.ts [entries]   (needs root and bpftool; default a 10,000-entry hash map)
//
// Loaded for the run: every committed fixture that loads (programs and maps to list) and one
// BTF-less hash map (u32 key, u64 value) with ENTRIES keys. Measured in this process, best of 5
// rounds (mean per call inside a round):
//   (a) a scrape of programs and maps (no map values): collect(), render, and both;
//   (b) the hash map's values, under the default limit (1000 series: the rest walked with
//       get-next-key only) and with every entry exported;
// against bpftool as a process (wall time minus `bpftool version`, minimum of 5):
//   `bpftool prog show -j` + `bpftool map show -j`, and `bpftool map dump id X -j`.
// Ratio = bpftool / bpfkit (above 1: bpfkit is faster). bpftool also prints; bpfkit only renders in memory.

import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { snapshotFamilies } from '../src/dashboard/families.js';
import { MetricsCollector } from '../src/dashboard/metrics.js';
import { renderExposition } from '../src/dashboard/prometheus.js';
import { loadObject } from '../src/elf/object-loader.js';
import { MapType } from '../src/kernel/bpf/constants.js';
import { createMap } from '../src/kernel/bpf/map-create.js';
import { mapInfo } from '../src/kernel/bpf/obj-info.js';
import { KernelMap } from '../src/kernel/kernel-map.js';
import { createKernelSys } from '../src/kernel/koffi-sys.js';
import { loadKernelObject, type KernelObject } from '../src/kernel/object/load-object.js';

const ENTRIES = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 10_000);
const root = join(import.meta.dirname, '..');
const sys = createKernelSys();

/** Best of `rounds` rounds of mean ms per call, each round ~`budgetMs` long. */
function best(fn: () => void, rounds = 5, budgetMs = 300): number {
  fn();
  let bestMs = Infinity;
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < budgetMs || n < 3) {
      fn();
      n++;
      t = performance.now();
    }
    bestMs = Math.min(bestMs, (t - t0) / n);
  }
  return bestMs;
}

/** Minimum wall ms of `bpftool ARGS` over 5 runs. */
function tool(...args: string[]): number {
  let min = Infinity;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const r = spawnSync('bpftool', args, { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error(`bpftool ${args.join(' ')} failed`);
    min = Math.min(min, performance.now() - t0);
  }
  return min;
}

const objects: KernelObject[] = [];
for (const f of readdirSync(join(root, 'test/fixtures')).filter((f) => f.endsWith('.o') && !f.includes('bpfeb') && f !== 'legacy_maps.o')) {
  try {
    objects.push(loadKernelObject(sys, loadObject(readFileSync(join(root, 'test/fixtures', f)), { objectName: f.replace(/\.o$/, '') })));
  } catch {
    // a fixture this kernel refuses: fewer objects, same comparison
  }
}
const hash = createMap(sys, { type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: ENTRIES, name: 'bench_dash' });
const hashId = mapInfo(hash).id;
const km = new KernelMap(hash, 'bench_dash');
{
  const k = new Uint8Array(4);
  const v = new Uint8Array(8);
  for (let i = 0; i < ENTRIES; i++) {
    new DataView(k.buffer).setUint32(0, i, true);
    new DataView(v.buffer).setUint32(0, i * 3, true);
    km.set(k, v);
  }
}

try {
  const plain = new MetricsCollector(sys);
  const snap = plain.collect();
  const startup = tool('version');
  const collectMs = best(() => plain.collect());
  const renderMs = best(() => renderExposition(snapshotFamilies(snap)));
  const scrapeMs = best(() => renderExposition(snapshotFamilies(plain.collect())));
  const listMs = tool('prog', 'show', '-j') + tool('map', 'show', '-j') - 2 * startup;
  const capped = new MetricsCollector(sys, { maps: [{ id: hashId }] });
  const all = new MetricsCollector(sys, { maps: [{ id: hashId }], seriesLimit: ENTRIES });
  const cappedMs = best(() => renderExposition(snapshotFamilies(capped.collect()))) - scrapeMs;
  const allMs = best(() => renderExposition(snapshotFamilies(all.collect()))) - scrapeMs;
  const dumpMs = tool('map', 'dump', 'id', String(hashId), '-j') - startup;
  const series = renderExposition(snapshotFamilies(all.collect())).split('\n').filter((l) => l.startsWith('bpfkit_map_value_total')).length;

  const row = (name: string, ours: number, theirs?: number) =>
    console.log(`${name.padEnd(58)} ${ours.toFixed(3).padStart(9)} ms${theirs === undefined ? '' : `   bpftool ${theirs.toFixed(3).padStart(8)} ms   ratio ${(theirs / ours).toFixed(1)}x`}`);
  console.log(`${snap.programs.length} programs, ${snap.maps.length} maps in the kernel; hash map: ${ENTRIES} entries; bpftool start-up ${startup.toFixed(1)} ms (removed)`);
  row('(a) collect() programs + maps', collectMs);
  row('(a) render 0.0.4 text', renderMs);
  row('(a) scrape = collect + render  vs  prog show + map show', scrapeMs, listMs);
  row(`(b) hash values, default limit (1000 series, rest counted)`, cappedMs);
  row(`(b) hash values, all ${series} series  vs  map dump`, allMs, dumpMs);
  capped.close();
  all.close();
  plain.close();
} finally {
  km.close();
  for (const o of objects) o.close();
}
