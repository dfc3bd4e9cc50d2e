// The guardian of `bpfkit xdp dump`: a detached child that puts the original XDP program back if the dump process dies.
//
// Started with: IFINDEX MODE ORIGINAL_ID RECORDER_ID. It opens both programs by id at once (so the
// original stays alive even when nothing else holds it), says "ready" on stdout, then reads its
// stdin — a pipe from the dump process. "done" means the dump restored the program itself; end of
// file without it means the dump died (kill -9, a crash): the guardian swaps the original back,
// atomically and only if the recorder is still attached, then exits.
import { fdById } from '../kernel/bpf/obj-id.js';
import { createKernelSys } from '../kernel/koffi-sys.js';
import { restoreXdp } from '../kernel/trace/xdp-capture.js';
import type { XdpMode } from '../kernel/attach/xdp.js';

const [ifindexText, mode, origText, recorderText] = process.argv.slice(2);
const sys = createKernelSys();
const orig = fdById(sys, 'prog', Number(origText));
const recorder = fdById(sys, 'prog', Number(recorderText));
process.stdout.write('ready\n');
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d: string) => (input += d));
process.stdin.on('end', () => {
  if (!input.includes('done')) {
    try {
      restoreXdp(sys, Number(ifindexText), mode as XdpMode, orig, recorder);
    } catch {
      // Nothing more a guardian can do.
    }
  }
  orig.close();
  recorder.close();
  process.exit(0);
});
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => undefined);
