// Start-up probe (bench/pipeline-64.ts runs it in a fresh process): object parse + verify + JIT compile + the first frame's verdict, in ms.
// Run: node --import tsx bench/pipeline-startup.ts CAPTURE   -> {"total": ms, "load": ms}

import { openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { load } from './code-under-test.js';

const root = join(import.meta.dirname, '..');
const { loadObject } = await load<typeof import('../src/elf/object-loader.js')>('elf/object-loader.js');
const { loadUserspace } = await load<typeof import('../src/runtime/userspace-object.js')>('runtime/userspace-object.js');
const { Pipeline } = await load<typeof import('../src/runtime/pipeline.js')>('runtime/pipeline.js');
const objectBytes = new Uint8Array(readFileSync(join(root, 'examples/xdp_flow_stats.o')));
const head = new Uint8Array(4096);
const fd = openSync(process.argv[2]!, 'r');
const got = readSync(fd, head, 0, head.length, 0);

const t0 = performance.now();
const spec = loadObject(objectBytes, { objectName: 'xdp_flow_stats' });
const obj = loadUserspace(spec, { cpus: 1 });
const t1 = performance.now();
const pipe = new Pipeline(obj.program('xdp_flow_stats'), { cpus: 1 });
pipe.push(head.subarray(0, got));
if (pipe.progress().packets === 0) throw new Error('no frame ran');
const t2 = performance.now();
console.log(JSON.stringify({ total: t2 - t0, load: t1 - t0 }));
