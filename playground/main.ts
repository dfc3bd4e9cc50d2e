// The playground page: open a .o (and a capture) or an example; programs, maps, disassembly with C lines, verdict, run, debugger — all in the browser.

import { BpfkitError } from '../src/errors.js';
import { loadObject } from '../src/elf/object-loader.js';
import type { ObjectSpec } from '../src/elf/object-spec.js';
import { mapTypeName } from '../src/isa/map-types.js';
import { programTypeName } from '../src/isa/program-types.js';
import { loadUserspace } from '../src/runtime/userspace-object.js';
import { runCapture } from '../src/runtime/pipeline.js';
import { summarizeMap, formatDecoded } from '../src/runtime/map-summary.js';
import { readCapture } from '../src/packet/capture-reader.js';
import { DebugSession } from '../src/debug/session.js';
import { ProgramInfo } from '../src/debug/source-map.js';
import { recordVerifierViews, type VerifierViews } from '../src/debug/verifier-view.js';
import { formatValue } from '../src/debug/expression.js';
import flowStatsObj from '../examples/xdp_flow_stats.o';
import trafficPcap from '../examples/traffic.pcap';
import demoObj from '../test/debug/c/debug_demo.o';

interface Example {
  readonly name: string;
  readonly object: Uint8Array;
  readonly objectName: string;
  readonly pcap: Uint8Array;
  readonly pcapName: string;
}

const EXAMPLES: readonly Example[] = [
  { name: 'xdp_flow_stats + traffic.pcap', object: flowStatsObj, objectName: 'xdp_flow_stats.o', pcap: trafficPcap, pcapName: 'traffic.pcap' },
  { name: 'debug_demo (BPF-to-BPF call, tail call) + traffic.pcap', object: demoObj, objectName: 'debug_demo.o', pcap: trafficPcap, pcapName: 'traffic.pcap' },
];

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

interface State {
  spec?: ObjectSpec;
  objectName: string;
  pcap?: Uint8Array;
  program?: string;
  views?: VerifierViews;
  info?: ProgramInfo;
  session?: DebugSession;
  breakpoints: Set<number>;
}
const state: State = { objectName: '', breakpoints: new Set() };

/** Shows an error as the CLI prints it: the message (with the file as context) and the code. */
function showError(where: string, e: unknown): void {
  const text = e instanceof BpfkitError ? `${e.message} [${e.code}]` : `internal error: ${e instanceof Error ? e.message : String(e)}`;
  const el = $('error');
  el.textContent = text;
  el.dataset['where'] = where;
  el.hidden = false;
}
function clearError(): void {
  $('error').hidden = true;
  $('error').textContent = '';
}

function openObject(bytes: Uint8Array, name: string): void {
  clearError();
  state.session?.close();
  state.session = undefined;
  state.breakpoints.clear();
  $('run-output').innerHTML = '';
  $('debug-output').innerHTML = '';
  try {
    state.spec = loadObject(bytes, { objectName: name.replace(/\.o$/, '') });
  } catch (e) {
    state.spec = undefined;
    showError('object', e instanceof BpfkitError ? e.withContext(name) : e);
    renderObject();
    return;
  }
  state.objectName = name;
  const runnable = state.spec.programs.filter((p) => p.type !== 0);
  const targets = new Set(state.spec.maps.flatMap((m) => m.initEntries.map((e) => String(e.value))));
  state.program = (runnable.find((p) => !targets.has(p.name)) ?? runnable[0] ?? state.spec.programs[0])?.name;
  renderObject();
}

function renderObject(): void {
  const spec = state.spec;
  const sel = $<HTMLSelectElement>('program');
  if (!spec) {
    $('object').innerHTML = '';
    sel.innerHTML = '';
    $('verdict').innerHTML = '';
    $('disasm').innerHTML = '';
    return;
  }
  sel.innerHTML = spec.programs.map((p) => `<option ${p.name === state.program ? 'selected' : ''}>${esc(p.name)}</option>`).join('');
  $('object').innerHTML =
    `<h3>Programs</h3><table><tr><th>name</th><th>section</th><th>type</th><th>insns</th></tr>${spec.programs.map((p) => `<tr><td>${esc(p.name)}</td><td>${esc(p.section)}</td><td>${programTypeName(p.type)}</td><td>${p.instructions.length}</td></tr>`).join('')}</table>` +
    `<h3>Maps</h3><table><tr><th>name</th><th>type</th><th>key</th><th>value</th><th>max</th></tr>${spec.maps.map((m) => `<tr><td>${esc(m.name)}</td><td>${mapTypeName(m.type)}</td><td>${m.keySize}</td><td>${m.valueSize}</td><td>${m.maxEntries}</td></tr>`).join('')}</table>`;
  renderProgram();
}

function renderProgram(): void {
  const spec = state.spec!;
  const p = spec.programs.find((x) => x.name === state.program);
  if (!p) return;
  state.info = new ProgramInfo(p);
  state.views = recordVerifierViews(p, spec);
  const r = state.views.result;
  $('verdict').innerHTML =
    r.verdict === 'accept'
      ? `<span class="ok" id="verdict-text">verifier: accept</span> (${r.processedInsns} instructions processed)`
      : `<span class="bad" id="verdict-text">verifier: reject</span> at instruction ${r.insn ?? '?'}${r.line ? ` (${esc(r.line.file.split('/').pop() ?? '')}:${r.line.line})` : ''}: <code>${esc(r.message ?? '')}</code>${r.hint ? `<p class="hint">${esc(r.hint)}</p>` : ''}`;
  renderDisasm();
}

function renderDisasm(): void {
  const info = state.info!;
  const reject = state.views?.result.verdict === 'reject' ? state.views.result : undefined;
  const badLine = reject?.line?.line;
  const stop = state.session?.stopped;
  let html = '';
  info.slots.forEach((insn, pc) => {
    if (!insn) return;
    const fn = info.functions.find((f) => f.start === pc);
    if (fn) html += `<tr class="fn"><td colspan="3">${esc(fn.name)}:</td></tr>`;
    const line = info.lineStart[pc] ? info.lines[pc] : undefined;
    if (line) html += `<tr class="src${line.line === badLine ? ' offending' : ''}"><td></td><td colspan="2">; ${esc(line.text.trim())} <span class="loc">${esc(line.file.split('/').pop() ?? '')}:${line.line}</span></td></tr>`;
    const cls = [state.breakpoints.has(pc) ? 'bp' : '', stop && stop.program === info.name && stop.pc === pc ? 'cur' : '', reject?.insn === pc ? 'offending' : ''].join(' ');
    html += `<tr class="insn ${cls}" data-pc="${pc}"><td class="pc">${pc}</td><td>${esc(info.text[pc]!)}</td><td class="vv">${stop ? '' : ''}</td></tr>`;
  });
  $('disasm').innerHTML = `<table>${html}</table>`;
}

function packetsOf(pcap: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const p of readCapture(pcap)) out.push(p.buffer.slice(p.offset, p.offset + p.caplen));
  return out;
}

function run(): void {
  clearError();
  const spec = state.spec;
  if (!spec || !state.pcap || !state.program) return showError('run', new BpfkitError('ERR_PLAYGROUND', 'open an object and a capture first'));
  const cpus = Number($<HTMLInputElement>('cpus').value) || 1;
  try {
    using obj = loadUserspace(spec, { cpus, programs: [state.program] });
    const prog = obj.program(state.program);
    const result = runCapture(prog, state.pcap);
    const verdicts = result.verdicts.map((v) => ({ verdict: v.verdict, retval: v.retval, packets: v.packets, bytes: v.bytes }));
    const maps = spec.maps.filter((m) => obj.mapOps.has(m.name)).map((m) => summarizeMap(obj.mapOps.get(m.name)!, m, spec.btf, 16));
    $('run-output').innerHTML =
      `<p>${result.packets} packets, ${result.refusedCount} not run, ${result.faultCount} faults</p>` +
      `<table id="verdicts"><tr><th>verdict</th><th>retval</th><th>packets</th><th>bytes</th></tr>${verdicts.map((v) => `<tr><td>${esc(v.verdict)}</td><td>${v.retval}</td><td>${v.packets}</td><td>${v.bytes}</td></tr>`).join('')}</table>` +
      `<pre id="verdicts-json" hidden>${esc(JSON.stringify(verdicts))}</pre>` +
      `<table><tr><th>cpu</th><th>packets</th><th>bytes</th></tr>${result.cpus.map((c) => `<tr><td>${c.cpu}</td><td>${c.packets}</td><td>${c.bytes}</td></tr>`).join('')}</table>` +
      maps
        .map(
          (s) =>
            `<h4>${esc(s.name)} (${s.type}${s.perCpu ? ', per CPU' : ''}): ${s.entries.length} non-zero</h4><table>${s.entries
              .map((e) => `<tr><td>${esc(e.key)}</td><td>${s.perCpu ? e.values.map((v, c) => `cpu${c}: ${esc(formatDecoded(v))}`).join('<br>') + (e.total !== undefined ? `<br>sum: ${esc(formatDecoded(e.total))}` : '') : esc(formatDecoded(e.values[0]!))}</td></tr>`)
              .join('')}</table>`,
        )
        .join('');
  } catch (e) {
    showError('run', e);
  }
}

function debugAction(action: 'start' | 'step' | 'next' | 'stepi' | 'finish' | 'continue'): void {
  clearError();
  const spec = state.spec;
  if (!spec || !state.program) return;
  try {
    if (action === 'start' || !state.session) {
      state.session?.close();
      const packets = state.pcap ? packetsOf(state.pcap) : [];
      state.session = new DebugSession(spec, { program: state.program, packets: packets.map((data) => ({ data })) });
      state.session.setInstructionBreakpoints([...state.breakpoints].map((pc) => ({ pc })));
      state.session.start(true);
    } else {
      const s = state.session;
      if (action === 'step') s.stepIn();
      else if (action === 'next') s.next();
      else if (action === 'stepi') s.stepIn('instruction');
      else if (action === 'finish') s.stepOut();
      else s.continue();
    }
  } catch (e) {
    showError('debug', e);
  }
  renderDebug();
}

function renderDebug(): void {
  const s = state.session;
  renderDisasm();
  if (!s) return;
  const stop = s.stopped;
  if (!stop) {
    $('debug-output').innerHTML = `<p id="debug-where">terminated: ${s.results.length} packets ran</p>`;
    return;
  }
  const info = s.info(stop.program);
  const line = info.lines[stop.pc];
  const f = s.frames()[0]!;
  const views = s.verifierViews(f.program).at[f.pc]?.regs;
  $('debug-output').innerHTML =
    `<p id="debug-where">${stop.reason} — packet ${stop.packet}, ${esc(info.functionAt(stop.pc).name)} at ${stop.program}:${stop.pc}${line ? ` (${esc(line.file.split('/').pop() ?? '')}:${line.line}: <code>${esc(line.text.trim())}</code>)` : ''}${stop.exception ? ` — ${esc(stop.exception.message)}` : ''}</p>` +
    `<p>frames: ${s.frames().map((x) => esc(x.function)).join(' ← ')}</p>` +
    `<table id="regs"><tr><th>reg</th><th>value</th><th>verifier</th></tr>${f.regs.map((v, i) => `<tr><td>r${i}</td><td>${formatValue(v)}</td><td>${esc(views?.[i]?.text ?? '—')}</td></tr>`).join('')}</table>` +
    (s.lastHelper ? `<p>last helper: ${esc(s.lastHelper.name)}(${s.lastHelper.args.map((a) => '0x' + a.toString(16)).join(', ')}) = ${s.lastHelper.result === undefined ? (s.lastHelper.tailCallTo ? 'tail call to ' + esc(s.lastHelper.tailCallTo) : '…') : '0x' + s.lastHelper.result.toString(16)}</p>` : '');
  document.querySelector('tr.cur')?.scrollIntoView({ block: 'center' });
}

async function fileBytes(input: HTMLInputElement): Promise<{ bytes: Uint8Array; name: string } | undefined> {
  const f = input.files?.[0];
  if (!f) return undefined;
  return { bytes: new Uint8Array(await f.arrayBuffer()), name: f.name };
}

function init(): void {
  const ex = $<HTMLSelectElement>('example');
  ex.innerHTML = `<option value="">— pick an example —</option>${EXAMPLES.map((e, i) => `<option value="${i}">${esc(e.name)}</option>`).join('')}`;
  ex.addEventListener('change', () => {
    const e = EXAMPLES[Number(ex.value)];
    if (!e || ex.value === '') return;
    state.pcap = e.pcap;
    $('pcap-name').textContent = e.pcapName;
    openObject(e.object, e.objectName);
  });
  $<HTMLInputElement>('file-object').addEventListener('change', async (ev) => {
    const f = await fileBytes(ev.target as HTMLInputElement);
    if (f) openObject(f.bytes, f.name);
  });
  $<HTMLInputElement>('file-pcap').addEventListener('change', async (ev) => {
    const f = await fileBytes(ev.target as HTMLInputElement);
    if (!f) return;
    clearError();
    try {
      readCapture(f.bytes);
      state.pcap = f.bytes;
      $('pcap-name').textContent = f.name;
    } catch (e) {
      showError('pcap', e instanceof BpfkitError ? e.withContext(f.name) : e);
    }
  });
  $<HTMLSelectElement>('program').addEventListener('change', (ev) => {
    state.program = (ev.target as HTMLSelectElement).value;
    state.session?.close();
    state.session = undefined;
    state.breakpoints.clear();
    renderProgram();
  });
  $('run').addEventListener('click', run);
  for (const a of ['start', 'step', 'next', 'stepi', 'finish', 'continue'] as const) $(`dbg-${a}`).addEventListener('click', () => debugAction(a));
  $('disasm').addEventListener('click', (ev) => {
    const row = (ev.target as HTMLElement).closest('tr.insn') as HTMLElement | null;
    if (!row) return;
    const pc = Number(row.dataset['pc']);
    if (state.breakpoints.has(pc)) state.breakpoints.delete(pc);
    else state.breakpoints.add(pc);
    state.session?.setInstructionBreakpoints([...state.breakpoints].map((x) => ({ pc: x })));
    renderDisasm();
  });
}

init();
