// Network observability on the kernel backend: drop reasons and locations (trace drops), XDP capture, event pipes.
export { KernelTypeError, memberOffset, rawTracepointArgs } from './btf-offsets.js';
export { Kallsyms } from './kallsyms.js';
export { dropReasonCode, dropReasonNames } from './drop-reasons.js';
export { dropProgram, dropProgramLayout, DROP_KEY_SIZE, DropKey, type DropProgramLayout } from './drop-program.js';
export { decodeDrop, DROP_MAP_NAME, DROP_PROG_NAME, DropWatch, NotADropMapError, readDropMap, type DropRecord, type DropWatchOptions } from './drop-watch.js';
export { callingWrapper, CAPTURE_META_SIZE, CapturePoint, decodeCaptureSample, entryWrapper, type XdpCaptureRecord } from './xdp-capture-program.js';
export { ExitCaptureError, NoXdpProgramError, restoreXdp, XdpCapture, type CapturedProgram, type XdpCaptureOptions } from './xdp-capture.js';
