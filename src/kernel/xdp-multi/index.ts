// Several XDP programs on one interface: bpfkit's dispatcher (no freplace), libxdp's protocol where the kernel allows it.
export { BPFKIT_DISPATCHER_NAME, XDP_DISPATCHER_SLOTS, XdpMultiProg, XdpProgram, type XdpInterfaceStatus, type XdpMultiOptions, type XdpProgramStatus, type XdpProgramToLoad, type XdpUnloaded } from './xdp-multi-prog.js';
export { dispatcherInstructions, STATS_LAYOUT, type DispatcherSlot } from './dispatcher.js';
export { type XdpProgramStats } from './state.js';
export { nodeBpffs, type BpffsPort } from './bpffs.js';
export {
  decodeLibxdpConfig, encodeLibxdpConfig, freplaceFeature, inspectLibxdp, LIBXDP_DISPATCHER_NAME, libxdpDispatcherDir, libxdpPins, planLibxdpDispatcher, XDP_DISPATCHER_MAGIC, XDP_DISPATCHER_VERSION,
  type LibxdpDispatcherConfig, type LibxdpPlan, type LibxdpPlanProgram,
} from './libxdp.js';
export {
  defaultLibxdpPorts, LIBXDP_DISPATCHER_OBJECTS, LibxdpMultiProg, loadInstalledDispatcher,
  type LibxdpComponent, type LibxdpComponentToLoad, type LibxdpPorts, type LibxdpState, type LoadedLibxdpDispatcher,
} from './libxdp-load.js';
export { PlainXdpProgramError, TooManyXdpProgramsError, XdpBpffsError, XdpDispatcherVersionError, XdpModeMismatchError, XdpProgramNoBtfError, XdpProgramNotFoundError, XdpStateError } from './errors.js';
