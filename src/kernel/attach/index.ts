// Attaching programs: XDP (link or netlink), TC (TCX or clsact + cls_bpf), tracing and cgroup links, queries.
export { AttachFlags, LinkType } from './constants.js';
export { AlreadyAttachedError, AttachNotSupportedError, InterfaceNotFoundError, WrongProgramTypeError, type Occupant } from './errors.js';
export { resolveInterface, type InterfaceRef } from './interface.js';
export { findLinks, findXdpLink } from './links.js';
export { attachXdp, detachXdp, queryXdp, XdpAttachment, XDP_MODE_BPFTOOL, XDP_MODE_FLAG, type AttachVia, type XdpAttached, type XdpAttachOptions, type XdpDetached, type XdpMode } from './xdp.js';
export { attachTc, detachTc, queryTc, queryTcx, TcAttachment, type TcAttached, type TcAttachOptions, type TcDetachOptions, type TcDirection, type TcxAnchor, type TcxQuery, type TcxRelative } from './tc.js';
export { queryNet, type NetAttachments } from './net-query.js';
export { progAttach, progDetach, type ProgAttachOptions } from './prog-attach.js';
export { tcxFeature } from './features.js';
export { CgroupNotFoundError, FunctionNotFoundError, TracefsNotMountedError, TracepointNotFoundError, TracingRefusedError } from './tracing-errors.js';
export { openKprobeEvent, openPerfEvent, openTracepointEvent, parseTracepoint, perfEventAttr, tracefsDir, tracepointId, type KprobeEvent, type KprobeTarget, type PerfAttrFields } from './perf-event.js';
export { attachKprobe, attachKprobeMulti, attachPerfEvent, attachRawTracepoint, attachTracepoint, attachTracing, tracingKind, tracingRefused, TracingLink, type TracingAttachOptions, type TracingTarget } from './tracing.js';
export { attachCgroup, cgroupHookProgramType, openCgroup } from './cgroup.js';
export { linkDetails, type LinkDetails } from './link-details.js';
