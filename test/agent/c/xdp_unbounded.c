// SPDX-License-Identifier: GPL-2.0
/* xdp_unbounded: reads the packet without checking data_end — the verifier rejects it. The
 * agent's test uses it as a config that cannot be deployed. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int unbounded(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;

	return data[20] == 17 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
