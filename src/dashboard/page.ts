// The dashboard's one self-contained HTML page: inline CSS and script, SVG bars and sparklines, no CDN.

/** The page's parts: the HTML, and the inline script (whose hash the server puts in its Content-Security-Policy). */
export interface DashboardPage {
  /** The whole document. */
  readonly html: string;
  /** The text of its one inline script, exactly as embedded. */
  readonly script: string;
  /** The text of its one inline style, exactly as embedded. */
  readonly style: string;
}

const STYLE = `
body{font:13px/1.4 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{background:#1d2330;color:#fff;padding:10px 16px;display:flex;gap:24px;align-items:baseline;flex-wrap:wrap}
header h1{font-size:16px;margin:0}
header a{color:#9cc3ff}
main{padding:12px 16px}
section{background:#fff;border:1px solid #dde1e8;border-radius:6px;margin-bottom:14px;padding:8px 12px;overflow-x:auto}
h2{font-size:14px;margin:4px 0 8px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eef0f4;white-space:nowrap}
th{font-weight:600;color:#555}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.warn{background:#fff4d6;border:1px solid #e8c66a;padding:6px 10px;border-radius:6px;margin-bottom:12px}
.err{background:#fde2e2;border:1px solid #e08c8c;padding:6px 10px;border-radius:6px;margin-bottom:12px}
.muted{color:#888}
svg{vertical-align:middle}
`;

const SCRIPT = `
"use strict";
const INTERVAL = Number(document.body.dataset.interval) || 1000;
const HISTORY = 60;
const SVGNS = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
let prev = null;
const hist = new Map();
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}
function svg(tag, attrs) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  return e;
}
function fmt(x) {
  if (x === null || x === undefined || Number.isNaN(x)) return "–";
  const a = Math.abs(x);
  if (a >= 1e9) return (x / 1e9).toFixed(2) + "G";
  if (a >= 1e6) return (x / 1e6).toFixed(2) + "M";
  if (a >= 1e4) return (x / 1e3).toFixed(1) + "k";
  return Number.isInteger(x) ? String(x) : x.toFixed(a < 10 ? 2 : 1);
}
function num(v) { return typeof v === "string" ? Number(v) : v; }
function push(key, v) {
  let h = hist.get(key);
  if (!h) hist.set(key, (h = []));
  h.push(v);
  if (h.length > HISTORY) h.shift();
  return h;
}
function sparkline(values) {
  const w = 120, hgt = 24, s = svg("svg", { width: w, height: hgt, viewBox: "0 0 " + w + " " + hgt, role: "img" });
  const pts = values.filter((v) => v !== null && !Number.isNaN(v));
  if (pts.length < 2) return s;
  const max = Math.max(...pts, 1e-9);
  const step = w / (HISTORY - 1);
  const off = HISTORY - values.length;
  const d = values.map((v, i) => ((off + i) * step).toFixed(1) + "," + (hgt - 1 - ((v || 0) / max) * (hgt - 2)).toFixed(1)).join(" ");
  s.append(svg("polyline", { points: d, fill: "none", stroke: "#2f6fde", "stroke-width": 1.5 }));
  const t = svg("title", {});
  t.textContent = "last " + values.length + " polls, max " + fmt(max) + "/s";
  s.append(t);
  return s;
}
function bars(perCpu) {
  const w = 160, bh = 10, gap = 2, vals = perCpu.map(num), max = Math.max(...vals, 1);
  const s = svg("svg", { width: w + 40, height: vals.length * (bh + gap), role: "img" });
  vals.forEach((v, cpu) => {
    const y = cpu * (bh + gap);
    s.append(svg("rect", { x: 28, y, width: Math.max(v > 0 ? 1 : 0, (v / max) * w), height: bh, fill: "#3ba776" }));
    const label = svg("text", { x: 0, y: y + bh - 1, "font-size": 9, fill: "#555" });
    label.textContent = "cpu" + cpu;
    s.append(label);
    const t = svg("title", {});
    t.textContent = "cpu " + cpu + ": " + v;
    s.append(t);
  });
  return s;
}
function programs(snap, dt) {
  const before = new Map((prev ? prev.programs : []).map((p) => [p.id, p]));
  const rows = snap.programs.map((p) => {
    const o = before.get(p.id);
    const dRuns = o && dt > 0 ? p.run_count - o.run_count : null;
    const rate = dRuns !== null ? dRuns / dt : null;
    const nsPerRun = dRuns ? (p.run_time_ns - o.run_time_ns) / dRuns : null;
    const h = push("p" + p.id, rate);
    return el("tr", {}, el("td", { class: "n" }, p.id), el("td", {}, p.name || "(unnamed)"), el("td", {}, p.type), el("td", { class: "muted" }, p.tag),
      el("td", { class: "n" }, fmt(rate)), el("td", { class: "n" }, fmt(nsPerRun)), el("td", { class: "n" }, fmt(p.run_count)),
      el("td", { class: "n" }, p.run_count ? fmt(p.run_time_ns / p.run_count) : "–"), el("td", {}, sparkline(h)));
  });
  const head = el("tr", {}, ...["id", "name", "type", "tag", "runs/s", "ns/run", "runs", "avg ns/run", "runs/s (history)"].map((t) => el("th", {}, t)));
  $("programs").replaceChildren(el("table", {}, head, ...rows));
}
function maps(snap) {
  const head = el("tr", {}, ...["id", "name", "type", "key", "value", "max entries", "memlock"].map((t) => el("th", {}, t)));
  const rows = snap.maps.map((m) => el("tr", {}, el("td", { class: "n" }, m.id), el("td", {}, m.name), el("td", {}, m.type), el("td", { class: "n" }, m.key_size + "B"),
    el("td", { class: "n" }, m.value_size + "B"), el("td", { class: "n" }, m.max_entries), el("td", { class: "n" }, m.bytes_memlock === undefined ? "–" : fmt(m.bytes_memlock) + "B")));
  $("maps").replaceChildren(el("table", {}, head, ...rows));
  $("mapcount").textContent = String(snap.maps.length);
}
function values(snap, dt) {
  const before = new Map((prev ? prev.values : []).map((v) => [v.id, v]));
  const out = snap.values.map((v) => {
    const o = before.get(v.id);
    const old = new Map(o ? o.rows.map((r) => [r.key, r]) : []);
    const head = el("tr", {}, ...["key", "field", "value", "per second", "history", v.per_cpu ? "per CPU" : ""].map((t) => el("th", {}, t)));
    const rows = [];
    for (const r of v.rows) {
      v.fields.forEach((f, i) => {
        const cur = num(r.values[i]);
        const was = old.get(r.key);
        const rate = was && dt > 0 ? (cur - num(was.values[i])) / dt : null;
        const h = push("m" + v.id + "/" + r.key + "/" + f, rate);
        rows.push(el("tr", {}, el("td", {}, r.key), el("td", {}, f || "(value)"), el("td", { class: "n" }, fmt(cur)), el("td", { class: "n" }, fmt(rate)),
          el("td", {}, sparkline(h)), el("td", {}, r.per_cpu ? bars(r.per_cpu[i]) : "")));
      });
    }
    if (v.error) return el("section", {}, el("h2", {}, "map " + v.name + " (id " + v.id + ")"), el("p", { class: "err" }, v.error));
    const note = v.droppedSeries ? el("p", { class: "warn" }, v.droppedSeries + " series over the limit are not shown (" + v.entries + " keys)") : "";
    return el("section", {}, el("h2", {}, "map " + v.name + " (id " + v.id + ", " + v.type + ", " + v.entries + " keys)"), note, el("table", {}, head, ...rows));
  });
  $("values").replaceChildren(...out);
}
async function poll() {
  try {
    const res = await fetch("api/snapshot", { cache: "no-store" });
    const snap = await res.json();
    if (!res.ok) throw new Error(snap.error || res.statusText);
    const dt = prev ? (snap.time - prev.time) / 1000 : 0;
    $("status").textContent = "updated " + new Date(snap.time).toLocaleTimeString() + " · scrape " + snap.duration_ms.toFixed(1) + " ms · " + snap.cpus + " CPUs";
    $("stats").hidden = snap.stats_enabled;
    $("error").hidden = true;
    const missing = Object.entries(snap.selectors).filter(([, n]) => n === 0).map(([s]) => s);
    $("missing").hidden = missing.length === 0;
    $("missing").textContent = "selected map not found: " + missing.join(", ");
    programs(snap, dt);
    maps(snap);
    values(snap, dt);
    if (dt > 0 || !prev) prev = snap;
  } catch (e) {
    $("error").hidden = false;
    $("error").textContent = "cannot read the snapshot: " + e.message;
  }
  setTimeout(poll, INTERVAL);
}
poll();
`;

/** The page, polling `api/snapshot` every `intervalMs`; rates (runs/s, ns/run, values per second) are computed between polls. */
export function dashboardPage(intervalMs: number): DashboardPage {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>bpfkit dashboard</title><style>${STYLE}</style></head>
<body data-interval="${Math.max(100, Math.floor(intervalMs))}">
<header><h1>bpfkit dashboard</h1><span id="status">loading…</span><a href="metrics">/metrics</a></header>
<main>
<div id="error" class="err" hidden></div>
<div id="stats" class="warn" hidden>Run statistics are off: run counts and times stay 0. Start with <code>--enable-stats</code> (BPF_ENABLE_STATS) or <code>sysctl kernel.bpf_stats_enabled=1</code>.</div>
<div id="missing" class="warn" hidden></div>
<section><h2>Programs</h2><div id="programs"></div></section>
<div id="values"></div>
<section><details><summary><b>Maps (<span id="mapcount">0</span>)</b></summary><div id="maps"></div></details></section>
</main>
<script>${SCRIPT}</script>
</body></html>
`;
  return { html, script: SCRIPT, style: STYLE };
}
