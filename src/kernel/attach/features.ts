// Attach features the kernel may lack, probed once per Sys (see kernel/feature-probe.ts).
import { PROG_QUERY_ATTR } from '../bpf-attr.generated.js';
import { AttachType, BpfCmd } from '../bpf/constants.js';
import { isUnsupportedErrno } from '../feature-probe.js';
import type { Feature } from '../feature-probe.js';
import { StructWriter } from '../struct-codec.js';

/** Probes TCX with a harmless BPF_PROG_QUERY of lo's (ifindex 1) TCX ingress hook. */
export const tcxFeature: Feature = {
  name: 'TCX (BPF_TCX_INGRESS/EGRESS hooks)',
  minKernel: '6.6',
  probe(sys) {
    const attr = new StructWriter(PROG_QUERY_ATTR).u32('target_ifindex', 1).u32('attach_type', AttachType.TCX_INGRESS);
    try {
      sys.bpf(BpfCmd.PROG_QUERY, attr.bytes, attr.pointers);
      return true;
    } catch (err) {
      if (isUnsupportedErrno(err)) return false;
      throw err;
    }
  },
};
