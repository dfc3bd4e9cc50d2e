/* Chain-call actions beyond XDP_PASS: priority 5, XDP_DROP continues the chain; drops UDP to port 5555, passes the rest. */
#include "xdp_mp_common.h"

struct {
	__uint(priority, 5);
	__uint(XDP_PASS, 1);
	__uint(XDP_DROP, 1);
} XDP_RUN_CONFIG(mp_soft_drop);

SEC("xdp")
int mp_soft_drop(struct xdp_md *ctx)
{
	return udp_dport(ctx) == 5555 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
