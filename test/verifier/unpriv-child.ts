// Child of the unprivileged oracle: run as an unprivileged user, reads programs (JSON) on stdin,
// creates each program's maps itself, loads it and prints one JSON verdict per program on stdout.
import { readFileSync } from 'node:fs';
import type { Instruction } from '../../src/isa/index.js';
import { createKernelSys } from '../../src/kernel/koffi-sys.js';
import type { MapDef } from '../../src/maps/map-ops.js';
import { kernelVerifyFresh } from './kernel-oracle.js';

interface Request {
  readonly maps: MapDef[];
  readonly programs: { name: string; type: number; insns: Instruction[] }[];
}

const req = JSON.parse(readFileSync(0, 'utf8')) as Request;
const defs = new Map(req.maps.map((d) => [d.name, d]));
const sys = createKernelSys();
const out: unknown[] = [];
for (const p of req.programs) {
  try {
    const { log: _log, processedInsns: _p, timeUsec: _t, ...v } = kernelVerifyFresh(sys, p.type, p.insns, defs);
    out.push({ name: p.name, ...v });
  } catch (err) {
    out.push({ name: p.name, error: (err as Error).message });
  }
}
process.stdout.write(`${JSON.stringify({ uid: process.getuid?.(), results: out })}\n`);
